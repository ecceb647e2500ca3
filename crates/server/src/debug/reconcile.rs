//! The debug-session reconciler (leader only), driven by the DebugSession mirror's
//! change feed (and a full pass at start and after every re-list):
//!
//! * `Pending`: resolve the template (`spec.templateRef`) and binding
//!   (`spec.bindingRef`) into the effective configuration, record it
//!   (`status.resolvedTemplate`, `resolvedBinding`, `approval.required`), then wait for
//!   approval (`PendingApproval`) or deploy and activate;
//! * `PendingApproval` with the approval recorded (`approval.approvedBy` and
//!   `approvedAt`, as the state machine's `Approve` writes them): deploy and activate;
//! * `Active`: keep `status.allowedPods` equal to the session's pods on the target
//!   (a pod watch per cluster, [`super::pods`]);
//! * `Expired`/`Terminated`/`Failed`, or the object deleted: delete everything
//!   labelled with the session on the target and clear `allowedPods`.
//!
//! At start (leadership won) every registered target is searched for labelled objects
//! whose session is gone or ended — leftovers of a crash — and they are deleted.
//! Every status write is conditional on the resourceVersion it was computed from; a
//! conflict means the session changed meanwhile, and its change event brings it back.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use breakglass_api::common::FailMode;
use breakglass_api::debug_session::{
    DebugSession, DebugSessionConditionType, DebugSessionState as State, DebugSessionStatus,
    DeployedResourceRef,
};
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use breakglass_core::condition;
use breakglass_core::debug::session::{self as machine, DebugSessionEvent, DebugTimers};
use breakglass_core::debug::workload::{self, WorkloadInput, plan, scheduling};
use jiff::Timestamp;
use kube::api::PatchParams;
use kube::{Client, ResourceExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::pods::PodWatches;
use super::target::{self, TargetError};
use crate::clusters::{ClusterClients, ConnectError};
use crate::session_writes::{self, WriteError};
use crate::store::Stores;

mod cleanup;

use cleanup::sweep;

/// How long to wait before retrying after a target or hub error.
const RETRY: Duration = Duration::from_secs(3);

type Key = (String, String);

/// What the reconciler needs.
#[derive(Clone)]
pub struct Context {
    /// The hub.
    pub hub: Client,
    /// The mirrors.
    pub stores: Stores,
    /// Clients of the target clusters.
    pub clusters: ClusterClients,
    /// Server-wide debug timers (approval window checks).
    pub timers: DebugTimers,
}

/// Why a deployment did not happen.
enum DeployFailure {
    /// For good: the session fails with this message.
    Fail(String),
    /// For now (the target or hub did not answer): try again later.
    Retry(String),
}

struct Reconciler {
    ctx: Context,
    pods: PodWatches,
    retry: mpsc::UnboundedSender<Key>,
    /// The cluster of every session seen, to clean up after a deleted session.
    clusters_of: HashMap<Key, String>,
    /// Terminal sessions (by UID) whose target objects were deleted by this leader.
    cleaned: HashSet<String>,
}

/// Runs until aborted (when leadership ends; the pod watches stop with it).
pub async fn run(ctx: Context) {
    let mut changes = ctx.stores.debug_sessions.subscribe();
    ctx.stores.debug_sessions.wait_synced().await;
    ctx.stores.debug_templates.wait_synced().await;
    ctx.stores.debug_pod_templates.wait_synced().await;
    ctx.stores.debug_bindings.wait_synced().await;
    ctx.stores.clusters.wait_synced().await;
    sweep(&ctx).await;
    let (retry, mut retries) = mpsc::unbounded_channel::<Key>();
    let (dirty, mut dirty_clusters) = mpsc::unbounded_channel::<String>();
    let (nodes, mut node_changes) = mpsc::unbounded_channel::<String>();
    let mut r = Reconciler {
        ctx,
        pods: PodWatches::new(dirty, nodes),
        retry,
        clusters_of: HashMap::new(),
        cleaned: HashSet::new(),
    };
    r.rescan().await;
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Ok(c) if c.name.is_empty() => r.rescan().await,
                Ok(c) if c.deleted => r.deleted((c.namespace, c.name)).await,
                Ok(c) => r.reconcile_key(&(c.namespace, c.name)).await,
                Err(RecvError::Lagged(_)) => r.rescan().await,
                Err(RecvError::Closed) => return,
            },
            Some(key) = retries.recv() => r.reconcile_key(&key).await,
            Some(cluster) = node_changes.recv() => r.nodes_changed(&cluster).await,
            Some(cluster) = dirty_clusters.recv() => {
                // Coalesce a burst of pod events into one pass per cluster.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let mut burst = HashSet::from([cluster]);
                while let Ok(c) = dirty_clusters.try_recv() {
                    burst.insert(c);
                }
                for c in burst {
                    r.refresh_pods(&c).await;
                }
            }
        }
    }
}

fn key_of(s: &DebugSession) -> Key {
    (s.namespace().unwrap_or_default(), s.name_any())
}

fn state(s: &DebugSession) -> State {
    s.status
        .as_ref()
        .and_then(|st| st.state)
        .unwrap_or(State::Pending)
}

impl Reconciler {
    async fn rescan(&mut self) {
        for s in self.ctx.stores.debug_sessions.all() {
            self.reconcile(&s).await;
        }
    }

    async fn reconcile_key(&mut self, key: &Key) {
        if let Some(s) = self.ctx.stores.debug_sessions.get(Some(&key.0), &key.1) {
            self.reconcile(&s).await;
        }
    }

    fn retry_later(&self, key: Key) {
        let tx = self.retry.clone();
        tokio::spawn(async move {
            tokio::time::sleep(RETRY).await;
            let _ = tx.send(key);
        });
    }

    async fn reconcile(&mut self, s: &DebugSession) {
        let key = key_of(s);
        self.clusters_of.insert(key.clone(), s.spec.cluster.clone());
        if s.metadata.deletion_timestamp.is_some() {
            return;
        }
        let approved = s
            .status
            .as_ref()
            .and_then(|st| st.approval.as_ref())
            .is_some_and(|a| a.approved_at.is_some());
        let result = match state(s) {
            State::Pending => self.pending(s).await,
            State::PendingApproval if approved => {
                let staged = s.clone();
                self.activate(s, staged).await
            }
            State::PendingApproval => Ok(()),
            State::Active => {
                if !self.watch_pods(&s.spec.cluster).await {
                    self.retry_later(key.clone());
                }
                Ok(())
            }
            State::Expired | State::Terminated | State::Failed => self.clean(s).await,
        };
        match result {
            Ok(()) => {}
            Err(WriteError::NotFound) => {}
            Err(WriteError::Conflict) => {
                tracing::debug!(debug_session = %key.1, "debug session changed meanwhile; deciding again");
                self.retry_later(key);
            }
            Err(e) => {
                tracing::warn!(debug_session = %key.1, error = %e, "reconciling debug session failed; retrying");
                self.retry_later(key);
            }
        }
    }

    async fn pending(&mut self, s: &DebugSession) -> Result<(), WriteError> {
        let stores = &self.ctx.stores;
        let template = stores.debug_templates.get(None, &s.spec.template_ref);
        let binding = s
            .spec
            .binding_ref
            .as_ref()
            .and_then(|r| stores.debug_bindings.get(Some(&r.namespace), &r.name));
        let found = binding.as_deref().map(|b| plan::FoundBinding {
            namespace: b.metadata.namespace.as_deref().unwrap_or_default(),
            name: b.metadata.name.as_deref().unwrap_or_default(),
            spec: &b.spec,
        });
        let now = Timestamp::now();
        let resolved = match plan::resolve(s, template.as_deref().map(|t| &t.spec), found, now) {
            Ok(r) => r,
            Err(message) => return self.fail(s, s.status.clone(), message).await,
        };
        let mut status = s.status.clone().unwrap_or_default();
        plan::record(&mut status, &resolved);
        let staged = DebugSession {
            status: Some(status),
            ..s.clone()
        };
        if !resolved.approval_required {
            return self.activate(s, staged).await;
        }
        let t = match machine::apply(
            &staged,
            DebugSessionEvent::RequireApproval,
            now,
            &self.ctx.timers,
        ) {
            Ok(t) => t,
            Err(e) => return self.fail(s, staged.status, e.to_string()).await,
        };
        session_writes::write_status(&self.ctx.hub, s, t.status).await?;
        tracing::info!(debug_session = %s.name_any(), namespace = %s.namespace().unwrap_or_default(), cluster = %s.spec.cluster, user = %s.spec.requested_by, "debug session awaits approval");
        Ok(())
    }

    /// Deploys `staged` (the session with its resolution recorded) and writes it Active
    /// on `original`'s resourceVersion; a failed deployment fails the session.
    async fn activate(
        &mut self,
        original: &DebugSession,
        staged: DebugSession,
    ) -> Result<(), WriteError> {
        let Some(effective) = staged
            .status
            .as_ref()
            .and_then(|st| st.resolved_template.clone())
        else {
            return self
                .fail(
                    original,
                    staged.status,
                    "session has no resolved template".to_owned(),
                )
                .await;
        };
        let (deployed, message) = match self.deploy(&staged, &effective).await {
            Ok(d) => d,
            Err(DeployFailure::Retry(e)) => {
                tracing::warn!(debug_session = %original.name_any(), error = %e, "deploying debug workload failed for now; retrying");
                self.retry_later(key_of(original));
                return Ok(());
            }
            Err(DeployFailure::Fail(e)) => {
                self.remove_from_target(&staged).await;
                let message = format!("failed to deploy resources: {e}");
                return self.fail(original, staged.status, message).await;
            }
        };
        let now = Timestamp::now();
        let t = match machine::apply(&staged, DebugSessionEvent::Activate, now, &self.ctx.timers) {
            Ok(t) => t,
            Err(e) => return self.fail(original, staged.status, e.to_string()).await,
        };
        let mut status = t.status;
        let deployed_count = deployed.len();
        plan::activated(&staged, &mut status, deployed, now);
        set_deployed(&mut status, deployed_count, message.as_deref(), now);
        status.message = message;
        session_writes::write_status(&self.ctx.hub, original, status).await?;
        tracing::info!(
            debug_session = %original.name_any(),
            namespace = %original.namespace().unwrap_or_default(),
            cluster = %original.spec.cluster,
            user = %original.spec.requested_by,
            approved_by = ?staged.status.as_ref().and_then(|s| s.approval.as_ref()).and_then(|a| a.approved_by.clone()),
            deployed = deployed_count,
            "debug session activated: access granted to its owner"
        );
        // A failure here is retried by the session's own change event (it is Active now).
        let _ = self.watch_pods(&original.spec.cluster).await;
        Ok(())
    }

    async fn deploy(
        &self,
        session: &DebugSession,
        effective: &DebugSessionTemplateSpec,
    ) -> Result<(Vec<DeployedResourceRef>, Option<String>), DeployFailure> {
        self.deploy_with(session, effective, false).await
    }

    /// Builds and creates the workload; `reapply` updates an existing one of the session.
    async fn deploy_with(
        &self,
        session: &DebugSession,
        effective: &DebugSessionTemplateSpec,
        reapply: bool,
    ) -> Result<(Vec<DeployedResourceRef>, Option<String>), DeployFailure> {
        if !workload::deploys_workload(effective) {
            return Ok((Vec::new(), None));
        }
        let cluster = &session.spec.cluster;
        let client = self
            .ctx
            .clusters
            .get(cluster)
            .await
            .map_err(connect_failure)?;
        let ns = workload::target_namespace(session, effective);
        if !target::namespace_exists(&client, &ns)
            .await
            .map_err(target_failure)?
        {
            let missing = format!("target namespace {ns} does not exist on cluster {cluster}");
            return match effective.fail_mode {
                Some(FailMode::Open) => Ok((
                    Vec::new(),
                    Some(format!(
                        "{missing}; failMode open: active without a workload"
                    )),
                )),
                _ => Err(DeployFailure::Fail(missing)),
            };
        }
        let pod_template = match &effective.pod_template_ref {
            Some(r) => match self.ctx.stores.debug_pod_templates.get(None, &r.name) {
                Some(p) => Some(p),
                None => {
                    return Err(DeployFailure::Fail(format!(
                        "pod template not found: {}",
                        r.name
                    )));
                }
            },
            None => None,
        };
        let mut input = WorkloadInput {
            session,
            effective,
            pod_template: pod_template
                .as_deref()
                .map(|p| (p.metadata.name.as_deref().unwrap_or_default(), &p.spec)),
            node_names: &[],
        };
        let nodes = if scheduling::depends_on_nodes(&input) {
            target::node_names(&client).await.map_err(target_failure)?
        } else {
            Vec::new()
        };
        input.node_names = &nodes;
        let built = workload::build(&input).map_err(|e| DeployFailure::Fail(e.to_string()))?;
        let deployed = target::deploy(&client, session, &built, reapply)
            .await
            .map_err(target_failure)?;
        tracing::info!(debug_session = %session.name_any(), cluster, kind = built.kind(), namespace = %ns, "debug workload deployed");
        Ok((vec![deployed], None))
    }

    async fn fail(
        &self,
        original: &DebugSession,
        status: Option<DebugSessionStatus>,
        message: String,
    ) -> Result<(), WriteError> {
        let staged = DebugSession {
            status,
            ..original.clone()
        };
        let event = DebugSessionEvent::Fail {
            message: message.clone(),
        };
        let t = match machine::apply(&staged, event, Timestamp::now(), &self.ctx.timers) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(debug_session = %original.name_any(), error = %e, "cannot fail debug session");
                return Ok(());
            }
        };
        session_writes::write_status(&self.ctx.hub, original, t.status).await?;
        tracing::warn!(debug_session = %original.name_any(), namespace = %original.namespace().unwrap_or_default(), cluster = %original.spec.cluster, reason = %message, "debug session failed");
        Ok(())
    }

    /// The target's nodes changed: workloads whose glob `deniedNodes` depend on the node
    /// names are rebuilt and applied again.
    async fn nodes_changed(&mut self, cluster: &str) {
        let sessions = self
            .ctx
            .stores
            .debug_sessions
            .filter(|s| s.spec.cluster == cluster && state(s) == State::Active);
        for s in sessions {
            let Some(effective) = s
                .status
                .as_ref()
                .and_then(|st| st.resolved_template.clone())
            else {
                continue;
            };
            let probe = WorkloadInput {
                session: &s,
                effective: &effective,
                pod_template: None,
                node_names: &[],
            };
            if !workload::deploys_workload(&effective) || !scheduling::depends_on_nodes(&probe) {
                continue;
            }
            match self.deploy_with(&s, &effective, true).await {
                Ok(_) => {
                    tracing::info!(debug_session = %s.name_any(), cluster, "debug workload re-applied after a node change")
                }
                Err(DeployFailure::Fail(e) | DeployFailure::Retry(e)) => {
                    tracing::warn!(debug_session = %s.name_any(), cluster, error = %e, "re-applying a debug workload after a node change failed");
                }
            }
        }
    }

    /// Best effort: removes whatever a failed deployment left.
    async fn remove_from_target(&self, s: &DebugSession) {
        if let Ok(client) = self.ctx.clusters.get(&s.spec.cluster).await
            && let Err(e) = target::delete_labelled(&client, &workload::session_selector(s)).await
        {
            tracing::warn!(debug_session = %s.name_any(), error = %e, "removing a failed deployment failed; the terminal cleanup retries");
        }
    }
}

fn set_deployed(
    status: &mut DebugSessionStatus,
    count: usize,
    message: Option<&str>,
    now: Timestamp,
) {
    let (value, reason, text) = match (count, message) {
        (0, Some(m)) => (condition::FALSE, "NotDeployed", m.to_owned()),
        (0, None) => (
            condition::TRUE,
            "NothingToDeploy",
            "The template deploys no workload".to_owned(),
        ),
        (n, _) => (
            condition::TRUE,
            "Deployed",
            format!("{n} resource(s) deployed"),
        ),
    };
    let c = condition::new(
        DebugSessionConditionType::ResourcesDeployed.as_str(),
        value,
        reason,
        &text,
        now,
    );
    condition::set(status.conditions.get_or_insert_with(Vec::new), c);
}

fn connect_failure(e: ConnectError) -> DeployFailure {
    match e {
        ConnectError::Hub { .. } => DeployFailure::Retry(e.to_string()),
        other => DeployFailure::Fail(other.to_string()),
    }
}

fn target_failure(e: TargetError) -> DeployFailure {
    match &e {
        TargetError::Foreign { .. } => DeployFailure::Fail(e.to_string()),
        TargetError::Kube {
            source: kube::Error::Api(a),
            ..
        } if matches!(a.code, 400 | 403 | 404 | 422) => DeployFailure::Fail(e.to_string()),
        TargetError::Kube { .. } | TargetError::Timeout { .. } => {
            DeployFailure::Retry(e.to_string())
        }
    }
}

/// Patches `allowedPods` (or other status fields) conditionally on `s`'s version.
async fn patch_status(
    hub: &Client,
    s: &DebugSession,
    fields: serde_json::Value,
) -> Result<(), WriteError> {
    let patch =
        session_writes::conditional_status_patch(s.metadata.resource_version.as_deref(), fields);
    session_writes::api_of(hub, s)
        .patch_status(&s.name_any(), &PatchParams::default(), &patch)
        .await?;
    Ok(())
}
