//! Deploying a session: plan (pure, `core::debug::deploy`), impersonation, apply on
//! the target, and what a failure does.
//!
//! Policy refusals (the plan refuses, impersonation cannot work, an object is foreign,
//! the target forbids or rejects a write) fail the session whatever its `failMode`.
//! Infrastructure failures (the namespace is missing, the cluster cannot be reached,
//! the target errs or does not answer — transient ones after [`MAX_ATTEMPTS`]) follow
//! `failMode`: `closed` fails the session, `open` makes it Active without a workload.
//! Either way whatever was created is removed first, with the controller's identity.

use breakglass_api::common::FailMode;
use breakglass_api::debug_session::{
    DebugSession, DebugSessionState as State, DebugSessionStatus, DeployedResourceRef,
};
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use breakglass_core::debug::deploy::{self, DeployInput};
use breakglass_core::debug::session::{self as machine, DebugSessionEvent};
use breakglass_core::debug::workload::{self, WorkloadInput, plan, scheduling, terminal};
use jiff::Timestamp;
use kube::ResourceExt;

use super::{Reconciler, key_of, set_deployed, state};
use crate::clusters::ConnectError;
use crate::debug::apply::{self, Applied, ApplyError, Target};
use crate::debug::{impersonation, target};
use crate::events::{DebugEventKind, Details, SYSTEM};
use crate::session_writes::{self, WriteError};

/// Deployment attempts that end in a transient failure before `failMode` decides.
pub(super) const MAX_ATTEMPTS: u32 = 3;

/// Why a deployment did not happen.
pub(super) enum DeployFailure {
    /// A policy refusal: the session fails.
    Refused(String),
    /// The target could not do it: `failMode` decides (transient ones after retries).
    Infra {
        /// What failed.
        message: String,
        /// Worth retrying.
        transient: bool,
    },
    /// The hub did not answer (reading a kubeconfig Secret): try again later.
    Retry(String),
}

impl DeployFailure {
    fn message(&self) -> &str {
        match self {
            Self::Refused(m) | Self::Retry(m) | Self::Infra { message: m, .. } => m,
        }
    }
}

impl From<ApplyError> for DeployFailure {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Refused(m) => Self::Refused(m),
            ApplyError::Infra { message, transient } => Self::Infra { message, transient },
        }
    }
}

fn connect_failure(e: ConnectError) -> DeployFailure {
    match e {
        ConnectError::Hub { .. } => DeployFailure::Retry(e.to_string()),
        other => DeployFailure::Infra {
            message: other.to_string(),
            transient: false,
        },
    }
}

fn target_failure(e: target::TargetError) -> DeployFailure {
    DeployFailure::Infra {
        message: e.to_string(),
        transient: true,
    }
}

/// How a failed deployment ends.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Try again later (nothing removed).
    Retry,
    /// Fail the session with this message.
    Fail(String),
    /// `failMode: open`: Active without a workload, with this message.
    Open(String),
}

impl Reconciler {
    /// Deploys `staged` (the session with its resolution recorded) and writes it Active
    /// on `original`'s resourceVersion; a failed deployment fails the session or, under
    /// `failMode: open`, activates it without a workload.
    pub(super) async fn activate(
        &mut self,
        original: &DebugSession,
        staged: DebugSession,
    ) -> Result<(), WriteError> {
        let Some(effective) = staged
            .status
            .as_ref()
            .and_then(|st| st.resolved_template.clone())
        else {
            let message = "session has no resolved template".to_owned();
            return self.fail(original, staged.status, message).await;
        };
        let uid = original.uid().unwrap_or_default();
        let mut applied = Applied::default();
        let (applied, message) = match self.deploy(&staged, &effective, &mut applied).await {
            Ok(()) => {
                self.attempts.remove(&uid);
                let message = (!applied.notes.is_empty()).then(|| applied.notes.join("; "));
                (applied, message)
            }
            Err(failure) => match self.outcome(&uid, &effective, failure) {
                Outcome::Retry => {
                    self.retry_later(key_of(original));
                    return Ok(());
                }
                Outcome::Fail(reason) => {
                    self.attempts.remove(&uid);
                    self.remove_from_target(&staged).await;
                    let mut status = staged.status.clone().unwrap_or_default();
                    record_statuses(&mut status, &applied);
                    let message = format!("failed to deploy resources: {reason}");
                    return self.fail(original, Some(status), message).await;
                }
                Outcome::Open(reason) => {
                    self.attempts.remove(&uid);
                    self.remove_from_target(&staged).await;
                    tracing::warn!(debug_session = %original.name_any(), reason = %reason, "deployment failed; failMode open activates the session without a workload");
                    let message = format!("failMode open: active without a workload: {reason}");
                    (Applied::default(), Some(message))
                }
            },
        };
        self.write_active(original, &staged, applied, message).await
    }

    /// Decides what a failed deployment does, counting the session's attempts.
    fn outcome(
        &mut self,
        uid: &str,
        effective: &DebugSessionTemplateSpec,
        failure: DeployFailure,
    ) -> Outcome {
        let attempts = self.attempts.entry(uid.to_owned()).or_insert(0);
        let fail_mode = effective.fail_mode.unwrap_or(FailMode::Closed);
        let error = failure.message().to_owned();
        let outcome = decide(attempts, fail_mode, failure);
        if matches!(outcome, Outcome::Retry) {
            tracing::warn!(attempt = *attempts, error = %error, "deploying a debug session failed for now; retrying");
        }
        outcome
    }

    async fn write_active(
        &mut self,
        original: &DebugSession,
        staged: &DebugSession,
        applied: Applied,
        message: Option<String>,
    ) -> Result<(), WriteError> {
        let now = Timestamp::now();
        let t = match machine::apply(staged, DebugSessionEvent::Activate, now, &self.ctx.timers) {
            Ok(t) => t,
            Err(e) => {
                return self
                    .fail(original, staged.status.clone(), e.to_string())
                    .await;
            }
        };
        let mut status = t.status;
        let deployed_count = applied.deployed.len();
        let deployed = (deployed_count > 0).then(|| deployed_details(&applied.deployed));
        let workload_deployed = applied
            .deployed
            .iter()
            .any(|r| matches!(r.kind.as_str(), "DaemonSet" | "Deployment"));
        record_statuses(&mut status, &applied);
        plan::activated(staged, &mut status, applied.deployed, now);
        if let Some(effective) = status.resolved_template.as_ref() {
            status.terminal_sharing = terminal::status(staged, effective, workload_deployed);
        }
        set_deployed(&mut status, deployed_count, message.as_deref(), now);
        status.message = message.clone();
        let written = session_writes::write_status(&self.ctx.hub, original, status).await?;
        // After the write, so a conflict (which deploys again, idempotently) does not
        // record the deployment twice; re-applies after node changes are not recorded.
        if let Some(details) = deployed {
            let text = format!("{deployed_count} resource(s) deployed on the target");
            self.ctx.bus.emit_debug_details(
                DebugEventKind::ResourceDeployed,
                SYSTEM,
                Some(&text),
                details,
                &written,
            );
        }
        self.ctx
            .bus
            .emit_debug_notices(&t.notices, SYSTEM, message.as_deref(), &written);
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

    /// Plans the session's deployment and applies it on its target (again, for a
    /// session already deployed: every write is an idempotent server-side apply).
    /// `kubectl-debug` templates plan no workload, but may deploy auxiliary resources.
    pub(super) async fn deploy(
        &self,
        session: &DebugSession,
        effective: &DebugSessionTemplateSpec,
        applied: &mut Applied,
    ) -> Result<(), DeployFailure> {
        let cluster = &session.spec.cluster;
        let clusters = &self.ctx.clusters;
        let client = clusters.get(cluster).await.map_err(connect_failure)?;
        let pod_template = match &effective.pod_template_ref {
            Some(r) => match self.ctx.stores.debug_pod_templates.get(None, &r.name) {
                Some(p) => Some(p),
                None => {
                    let message = format!("pod template not found: {}", r.name);
                    return Err(DeployFailure::Refused(message));
                }
            },
            None => None,
        };
        let nodes = target::node_names(&client).await.map_err(target_failure)?;
        let now = Timestamp::now();
        let input = DeployInput {
            session,
            effective,
            pod_template: pod_template
                .as_deref()
                .map(|p| (p.metadata.name.as_deref().unwrap_or_default(), &p.spec)),
            node_names: &nodes,
            now,
        };
        let plan = deploy::plan(&input).map_err(|e| DeployFailure::Refused(e.to_string()))?;
        if plan.objects.is_empty() && plan.skipped.is_empty() {
            // kubectl-debug templates without auxiliary resources: nothing to deploy,
            // so nothing the namespace or the target could fail.
            return Ok(());
        }
        let (writer, identity) = match &plan.impersonate {
            Some(sa) => {
                impersonation::require_service_account(&client, sa, cluster).await?;
                let user = impersonation::user_name(sa);
                let writer = clusters
                    .impersonating(cluster, &user)
                    .await
                    .map_err(connect_failure)?;
                (writer, Some(user))
            }
            None => (client.clone(), None),
        };
        let target = Target {
            cluster,
            controller: &client,
            writer: &writer,
            identity: identity.as_deref(),
        };
        apply::apply(&target, session, &plan, applied, now).await?;
        tracing::info!(debug_session = %session.name_any(), cluster, namespace = %plan.namespace.name, objects = plan.objects.len(), impersonating = ?identity, "debug session deployed");
        Ok(())
    }

    /// The target's nodes changed: sessions whose glob `deniedNodes` depend on the node
    /// names are planned and applied again.
    pub(super) async fn nodes_changed(&mut self, cluster: &str) {
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
            let deployed = s
                .status
                .as_ref()
                .is_some_and(|st| st.deployed_resources.is_some());
            if !deployed || !scheduling::depends_on_nodes(&probe) {
                continue;
            }
            match self.deploy(&s, &effective, &mut Applied::default()).await {
                Ok(()) => {
                    tracing::info!(debug_session = %s.name_any(), cluster, "debug session re-applied after a node change");
                }
                Err(
                    DeployFailure::Refused(e)
                    | DeployFailure::Retry(e)
                    | DeployFailure::Infra { message: e, .. },
                ) => {
                    tracing::warn!(debug_session = %s.name_any(), cluster, error = %e, "re-applying a debug session after a node change failed");
                }
            }
        }
    }

    /// Best effort: removes whatever a failed deployment left (controller identity) —
    /// everything, `deleteAfter: false` resources too: they outlive a session that ran,
    /// not one that never started.
    pub(super) async fn remove_from_target(&self, s: &DebugSession) {
        if let Ok(client) = self.ctx.clusters.get(&s.spec.cluster).await
            && let Err(e) = target::delete_labelled(&client, &workload::session_selector(s)).await
        {
            tracing::warn!(debug_session = %s.name_any(), error = %e, "removing a failed deployment failed; the terminal cleanup retries");
        }
    }
}

/// What a failed deployment does: the hub not answering is retried without limit;
/// refusals fail; infrastructure failures follow `fail_mode`, transient ones only after
/// [`MAX_ATTEMPTS`] (counted in `attempts`).
fn decide(attempts: &mut u32, fail_mode: FailMode, failure: DeployFailure) -> Outcome {
    match failure {
        DeployFailure::Retry(_) => Outcome::Retry,
        DeployFailure::Refused(m) => Outcome::Fail(m),
        DeployFailure::Infra { message, transient } => {
            *attempts += 1;
            if transient && *attempts < MAX_ATTEMPTS {
                return Outcome::Retry;
            }
            match fail_mode {
                FailMode::Open => Outcome::Open(message),
                FailMode::Closed => Outcome::Fail(message),
            }
        }
    }
}

/// The details of `resource_deployed`: how many objects, how many of each kind, and
/// each as `Kind namespace/name` (`Kind name` when cluster-scoped).
fn deployed_details(deployed: &[DeployedResourceRef]) -> Details {
    let mut kinds = serde_json::Map::new();
    for r in deployed {
        let n = kinds
            .get(&r.kind)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        kinds.insert(r.kind.clone(), (n + 1).into());
    }
    let names: Vec<serde_json::Value> = deployed
        .iter()
        .map(|r| match r.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => format!("{} {ns}/{}", r.kind, r.name),
            _ => format!("{} {}", r.kind, r.name),
        })
        .map(Into::into)
        .collect();
    let mut details = Details::new();
    details.insert("count".to_owned(), deployed.len().into());
    details.insert("kinds".to_owned(), kinds.into());
    details.insert("resources".to_owned(), names.into());
    details
}

/// Writes the per-resource statuses of `applied` into `status`.
fn record_statuses(status: &mut DebugSessionStatus, applied: &Applied) {
    status.auxiliary_resource_statuses =
        (!applied.auxiliary.is_empty()).then(|| applied.auxiliary.clone());
    status.pod_template_resource_statuses =
        (!applied.pod_template.is_empty()).then(|| applied.pod_template.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infra(transient: bool) -> DeployFailure {
        DeployFailure::Infra {
            message: "no answer".to_owned(),
            transient,
        }
    }

    #[test]
    fn deployed_details_count_kinds_and_name_each_object() {
        let r = |kind: &str, ns: Option<&str>, name: &str| DeployedResourceRef {
            api_version: "v1".to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: ns.map(str::to_owned),
            source: None,
            uid: None,
        };
        let details = deployed_details(&[
            r("Namespace", None, "dbg"),
            r("DaemonSet", Some("dbg"), "s-1"),
            r("ConfigMap", Some("dbg"), "a"),
            r("ConfigMap", Some("dbg"), "b"),
        ]);
        assert_eq!(
            serde_json::Value::Object(details),
            serde_json::json!({
                "count": 4,
                "kinds": {"Namespace": 1, "DaemonSet": 1, "ConfigMap": 2},
                "resources": ["Namespace dbg", "DaemonSet dbg/s-1", "ConfigMap dbg/a", "ConfigMap dbg/b"],
            })
        );
    }

    #[test]
    fn refusals_fail_whatever_the_fail_mode() {
        for mode in [FailMode::Open, FailMode::Closed] {
            let refused = DeployFailure::Refused("foreign".to_owned());
            assert_eq!(
                decide(&mut 0, mode, refused),
                Outcome::Fail("foreign".to_owned())
            );
        }
    }

    #[test]
    fn infrastructure_failures_follow_the_fail_mode_transient_ones_after_retries() {
        assert_eq!(
            decide(&mut 0, FailMode::Open, infra(false)),
            Outcome::Open("no answer".to_owned())
        );
        assert_eq!(
            decide(&mut 0, FailMode::Closed, infra(false)),
            Outcome::Fail("no answer".to_owned())
        );
        let mut attempts = 0;
        for _ in 1..MAX_ATTEMPTS {
            assert_eq!(
                decide(&mut attempts, FailMode::Open, infra(true)),
                Outcome::Retry
            );
        }
        assert_eq!(
            decide(&mut attempts, FailMode::Open, infra(true)),
            Outcome::Open("no answer".to_owned())
        );
        let hub = DeployFailure::Retry("hub".to_owned());
        assert_eq!(decide(&mut attempts, FailMode::Closed, hub), Outcome::Retry);
    }
}
