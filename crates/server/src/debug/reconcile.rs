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
//! At start (leadership won), and every ten minutes, every registered target is
//! searched for labelled objects whose session is gone or ended — leftovers of a crash
//! or of a failed cleanup — and they are deleted.
//! Every status write is conditional on the resourceVersion it was computed from; a
//! conflict means the session changed meanwhile, and its change event brings it back.
//!
//! What happens on the target is put on the event bus for audit (mail ignores it):
//! `binding_unresolved`, `resource_deployed`, `pod_failed`/`pod_restarted` and
//! `resource_cleanup`, each after the status write or deletion it reports, so a
//! conflict that repeats the decision does not repeat the record — and only the leader
//! runs this, so each is recorded once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use breakglass_api::debug_session::{
    DebugSession, DebugSessionConditionType, DebugSessionState as State, DebugSessionStatus,
};
use breakglass_core::condition;
use breakglass_core::debug::session::{self as machine, DebugSessionEvent, DebugTimers};
use breakglass_core::debug::workload::plan;
use jiff::Timestamp;
use kube::api::PatchParams;
use kube::{Client, ResourceExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::pods::PodWatches;
use crate::clusters::ClusterClients;
use crate::events::{DebugEventKind, Details, EventBus, SYSTEM};
use crate::metrics::ClusterReasonLabel;
use crate::session_writes::{self, WriteError};
use crate::store::Stores;

mod cleanup;
mod copies;
mod deploy;
mod readiness;

use cleanup::sweep;

/// How long to wait before retrying after a target or hub error.
const RETRY: Duration = Duration::from_secs(3);
/// How often every registered target is swept again for leftovers of ended or
/// deleted sessions (a cleanup that failed when the session ended or was deleted).
const SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// How often the readiness of auxiliary and pod-template resources not yet ready is
/// read again.
const READINESS_REFRESH: Duration = Duration::from_secs(10);

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
    /// Lifecycle events (mail, audit).
    pub bus: EventBus,
    /// Counters (unresolvable bindings).
    pub metrics: crate::metrics::Metrics,
}

struct Reconciler {
    ctx: Context,
    pods: PodWatches,
    retry: mpsc::UnboundedSender<Key>,
    /// The cluster of every session seen, to clean up after a deleted session.
    clusters_of: HashMap<Key, String>,
    /// Terminal sessions (by UID) whose target objects were deleted by this leader.
    cleaned: HashSet<String>,
    /// Terminal sessions (by UID) whose failed cleanup this leader has put on record
    /// (it is retried every few seconds; the record is made once).
    cleanup_failed: HashSet<String>,
    /// Failed deployment attempts by session UID (transient target failures are
    /// retried a few times before `failMode` decides).
    attempts: HashMap<String, u32>,
    /// The pod-copy expiry each session has a wake-up scheduled for.
    copy_wakes: HashMap<Key, Timestamp>,
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
        cleanup_failed: HashSet::new(),
        attempts: HashMap::new(),
        copy_wakes: HashMap::new(),
    };
    let mut readiness = tokio::time::interval(READINESS_REFRESH);
    readiness.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweeps =
        tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_INTERVAL, SWEEP_INTERVAL);
    sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
            _ = readiness.tick() => r.refresh_readiness().await,
            _ = sweeps.tick() => {
                r.forget_gone();
                sweep(&r.ctx).await;
            }
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

/// Keeps the per-session entries (by UID) of the sessions in `live` only.
fn retain_live(
    live: &HashSet<String>,
    cleaned: &mut HashSet<String>,
    cleanup_failed: &mut HashSet<String>,
    attempts: &mut HashMap<String, u32>,
) {
    cleaned.retain(|uid| live.contains(uid));
    cleanup_failed.retain(|uid| live.contains(uid));
    attempts.retain(|uid, _| live.contains(uid));
}

impl Reconciler {
    /// Forgets what is kept by UID for sessions no longer on the hub (deleted when their
    /// retention ended), so this leader's memory follows the sessions that exist rather
    /// than every session it has seen.
    fn forget_gone(&mut self) {
        let live: HashSet<String> = self
            .ctx
            .stores
            .debug_sessions
            .all()
            .iter()
            .filter_map(|s| s.uid())
            .collect();
        retain_live(
            &live,
            &mut self.cleaned,
            &mut self.cleanup_failed,
            &mut self.attempts,
        );
    }

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
                self.expire_copies(s).await
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
            Err(e) => return self.unresolved(s, &e).await,
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
        let written = session_writes::write_status(&self.ctx.hub, s, t.status).await?;
        self.ctx
            .bus
            .emit_debug_notices(&t.notices, SYSTEM, None, &written);
        tracing::info!(debug_session = %s.name_any(), namespace = %s.namespace().unwrap_or_default(), cluster = %s.spec.cluster, user = %s.spec.requested_by, "debug session awaits approval");
        Ok(())
    }

    /// Fails a session that cannot be resolved; a binding that cannot be used is put
    /// on record (`binding_unresolved`, before the `failed` it leads to) and counted.
    /// The reference leaves such a session pending and retries; we fail closed.
    async fn unresolved(&self, s: &DebugSession, e: &plan::ResolveError) -> Result<(), WriteError> {
        let message = e.to_string();
        let Some((binding, reason)) = e.unresolved_binding() else {
            return self.fail(s, s.status.clone(), message).await;
        };
        let mut details = Details::new();
        details.insert("bindingRef".to_owned(), binding.into());
        details.insert("reason".to_owned(), reason.into());
        let note = (DebugEventKind::BindingUnresolved, details);
        let failed = self
            .fail_noting(s, s.status.clone(), message, Some(note))
            .await?;
        if failed {
            self.ctx
                .metrics
                .debug_binding_unresolved
                .get_or_create(&ClusterReasonLabel {
                    cluster: s.spec.cluster.clone(),
                    reason: reason.to_owned(),
                })
                .inc();
        }
        Ok(())
    }

    async fn fail(
        &self,
        original: &DebugSession,
        status: Option<DebugSessionStatus>,
        message: String,
    ) -> Result<(), WriteError> {
        self.fail_noting(original, status, message, None)
            .await
            .map(drop)
    }

    /// Writes the session `Failed`; once written, `note` (if any) is published, then
    /// the transition's events. True when the session was failed.
    async fn fail_noting(
        &self,
        original: &DebugSession,
        status: Option<DebugSessionStatus>,
        message: String,
        note: Option<(DebugEventKind, Details)>,
    ) -> Result<bool, WriteError> {
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
                return Ok(false);
            }
        };
        let written = session_writes::write_status(&self.ctx.hub, original, t.status).await?;
        // Published only after the write: a conflict retries the whole decision, and
        // the record must not be made twice.
        if let Some((kind, details)) = note {
            self.ctx
                .bus
                .emit_debug_details(kind, SYSTEM, Some(&message), details, &written);
        }
        self.ctx
            .bus
            .emit_debug_notices(&t.notices, SYSTEM, Some(&message), &written);
        tracing::warn!(debug_session = %original.name_any(), namespace = %original.namespace().unwrap_or_default(), cluster = %original.spec.cluster, reason = %message, "debug session failed");
        Ok(true)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_deleted_sessions_are_forgotten() {
        let live: HashSet<String> = ["a".to_owned(), "b".to_owned()].into();
        let mut cleaned: HashSet<String> = ["a".to_owned(), "gone".to_owned()].into();
        let mut failed: HashSet<String> = ["b".to_owned(), "gone".to_owned()].into();
        let mut attempts: HashMap<String, u32> =
            [("b".to_owned(), 2), ("old".to_owned(), 1)].into();
        retain_live(&live, &mut cleaned, &mut failed, &mut attempts);
        assert_eq!(cleaned, HashSet::from(["a".to_owned()]));
        assert_eq!(failed, HashSet::from(["b".to_owned()]));
        assert_eq!(attempts, HashMap::from([("b".to_owned(), 2)]));
    }
}
