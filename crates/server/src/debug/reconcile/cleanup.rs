//! The reconciler's target side after activation: pod watches feeding
//! `status.allowedPods`, cleanup of ended or deleted sessions, and the sweep for
//! leftovers at start.

use std::collections::BTreeSet;
use std::sync::Arc;

use breakglass_api::debug_session::{
    AllowedPodRef, DebugSession, DebugSessionState as State, DebugSessionStatus,
    RenderedResourceStatus,
};
use breakglass_core::debug::pod_changes::{self, PodChangeKind};
use breakglass_core::debug::workload;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::{Context, Key, Reconciler, key_of, patch_status, state};
use crate::clusters::ConnectError;
use crate::debug::target;
use crate::events::{DebugEventKind, Details, SYSTEM};
use crate::session_writes::WriteError;

impl Reconciler {
    /// Starts (or keeps) the pod watch of `cluster` and refreshes its sessions' pods;
    /// false when its client could not be built for a passing reason (the caller retries).
    pub(super) async fn watch_pods(&mut self, cluster: &str) -> bool {
        match self.ctx.clusters.get_versioned(cluster).await {
            Ok((client, epoch)) => {
                self.pods.ensure(cluster, &client, epoch);
                self.refresh_pods(cluster).await;
                true
            }
            Err(e) => {
                tracing::warn!(cluster, error = %e, "cannot watch debug pods on the cluster");
                // Only a hub hiccup is worth retrying soon; a missing or broken
                // ClusterConfig stays so until someone fixes it.
                !matches!(e, ConnectError::Hub { .. })
            }
        }
    }

    /// Brings `allowedPods` of every active session on `cluster` up to date.
    pub(super) async fn refresh_pods(&mut self, cluster: &str) {
        let Some(pods) = self.pods.pods(cluster) else {
            return;
        };
        let sessions = self
            .ctx
            .stores
            .debug_sessions
            .filter(|s| s.spec.cluster == cluster && state(s) == State::Active);
        for s in sessions {
            let selector = workload::selector_labels(&s);
            let mine = pods.iter().filter(|p| {
                let labels = p.labels();
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            });
            let want = breakglass_core::debug::kubectl::with_injected_pods(
                s.status.as_ref(),
                workload::allowed_pods(mine.map(AsRef::as_ref)),
            );
            let have = s
                .status
                .as_ref()
                .and_then(|st| st.allowed_pods.clone())
                .unwrap_or_default();
            if want == have {
                continue;
            }
            let fields = serde_json::json!({ "allowedPods": want });
            match patch_status(&self.ctx.hub, &s, fields).await {
                Ok(()) => {
                    tracing::info!(debug_session = %s.name_any(), cluster, pods = want.len(), "debug session pods updated");
                    // Told from the record just replaced, after the write: a re-list
                    // or a new leader finds the record already saying so.
                    self.emit_pod_changes(&s, &have, want, &pods);
                }
                Err(WriteError::NotFound) => {}
                Err(e) => {
                    // Changed meanwhile (or the hub failed): its change event or the
                    // retry brings it back here.
                    tracing::debug!(debug_session = %s.name_any(), error = %e, "allowedPods not written");
                    self.retry_later(super::key_of(&s));
                }
            }
        }
    }

    /// Publishes `pod_failed` / `pod_restarted` for what changed from `have` to `want`
    /// (`allowedPods` before and as just written).
    fn emit_pod_changes(
        &self,
        s: &DebugSession,
        have: &[AllowedPodRef],
        want: Vec<AllowedPodRef>,
        pods: &[Arc<Pod>],
    ) {
        let changes = pod_changes::pod_changes(have, &want);
        if changes.is_empty() {
            return;
        }
        let mut written = s.clone();
        written
            .status
            .get_or_insert_with(Default::default)
            .allowed_pods = Some(want);
        for c in changes {
            let (kind, previous) = match c.kind {
                PodChangeKind::Failed => (DebugEventKind::PodFailed, None),
                PodChangeKind::Restarted { previous } => {
                    (DebugEventKind::PodRestarted, Some(previous))
                }
            };
            let live = pods.iter().find(|p| {
                p.metadata.namespace.as_deref() == Some(c.namespace.as_str())
                    && p.metadata.name.as_deref() == Some(c.name.as_str())
            });
            let status = live.and_then(|p| p.status.as_ref());
            // `allowedPods` follows the first container; name it.
            let container = status
                .and_then(|st| st.container_statuses.as_ref())
                .and_then(|cs| cs.first())
                .map(|c| c.name.clone())
                .unwrap_or_default();
            let mut details = Details::new();
            details.insert("podNamespace".to_owned(), c.namespace.clone().into());
            details.insert("pod".to_owned(), c.name.clone().into());
            details.insert("container".to_owned(), container.into());
            details.insert("restartCount".to_owned(), c.restart_count.into());
            if let Some(previous) = previous {
                details.insert("previousRestartCount".to_owned(), previous.into());
            }
            details.insert("reason".to_owned(), c.reason.clone().into());
            if let Some(node) = live
                .and_then(|p| p.spec.as_ref())
                .and_then(|sp| sp.node_name.clone())
            {
                details.insert("node".to_owned(), node.into());
            }
            let message = format!(
                "pod {}/{} {}: {}",
                c.namespace,
                c.name,
                if previous.is_some() {
                    "restarted"
                } else {
                    "failed"
                },
                if c.reason.is_empty() {
                    "no reason given"
                } else {
                    &c.reason
                }
            );
            tracing::warn!(debug_session = %s.name_any(), cluster = %s.spec.cluster, pod = %c.name, namespace = %c.namespace, restarts = c.restart_count, reason = %c.reason, "{message}");
            self.ctx
                .bus
                .emit_debug_details(kind, SYSTEM, Some(&message), details, &written);
        }
    }

    /// Deletes everything labelled with an ended session on its target (once per
    /// leader, and again until it succeeds), then clears `allowedPods`.
    pub(super) async fn clean(&mut self, s: &DebugSession) -> Result<(), WriteError> {
        self.copy_wakes.remove(&key_of(s));
        let uid = s.uid().unwrap_or_default();
        if self.cleaned.contains(&uid) {
            return Ok(());
        }
        match self.ctx.clusters.get(&s.spec.cluster).await {
            Ok(client) => match target::delete_labelled(&client, &selector(s)).await {
                Ok(n) => {
                    tracing::info!(debug_session = %s.name_any(), cluster = %s.spec.cluster, deleted = n.total(), state = %state(s), "debug session removed from its target");
                    // Nothing deleted is no cleanup to record: a new leader passes
                    // over every ended session once more.
                    if n.total() > 0 {
                        self.emit_cleanup(s, Ok(&n));
                    }
                }
                Err(e) => {
                    tracing::warn!(debug_session = %s.name_any(), error = %e, "debug cleanup failed; retrying");
                    self.cleanup_failed_once(s, &uid, &e.to_string());
                    self.retry_later(super::key_of(s));
                    return Ok(());
                }
            },
            Err(e @ (ConnectError::NotRegistered(_) | ConnectError::Ambiguous(_))) => {
                tracing::warn!(debug_session = %s.name_any(), error = %e, "debug cleanup impossible: the cluster is gone");
                self.cleanup_failed_once(s, &uid, &e.to_string());
            }
            Err(e) => {
                tracing::warn!(debug_session = %s.name_any(), error = %e, "debug cleanup cannot reach the cluster; retrying");
                self.cleanup_failed_once(s, &uid, &e.to_string());
                self.retry_later(super::key_of(s));
                return Ok(());
            }
        }
        let mut fields = serde_json::Map::new();
        if let Some(st) = s.status.as_ref() {
            if st.allowed_pods.is_some() {
                fields.insert("allowedPods".to_owned(), serde_json::Value::Null);
            }
            fields.extend(mark_deleted(st, Timestamp::now()));
        }
        if !fields.is_empty() {
            patch_status(&self.ctx.hub, s, serde_json::Value::Object(fields)).await?;
        }
        self.cleaned.insert(uid);
        Ok(())
    }

    /// Records a failed cleanup of `s` once per leader (it is retried every few
    /// seconds until it succeeds, which is recorded too).
    fn cleanup_failed_once(&mut self, s: &DebugSession, uid: &str, message: &str) {
        if self.cleanup_failed.insert(uid.to_owned()) {
            self.emit_cleanup(s, Err(message));
        }
    }

    /// Publishes `resource_cleanup`: what was deleted, or why nothing could be.
    fn emit_cleanup(&self, s: &DebugSession, outcome: Result<&target::Deleted, &str>) {
        let (details, message) = cleanup_details(outcome);
        self.ctx.bus.emit_debug_details(
            DebugEventKind::ResourceCleanup,
            SYSTEM,
            message.as_deref(),
            details,
            s,
        );
    }

    /// A session object was deleted: remove what it left on its target.
    pub(super) async fn deleted(&mut self, key: Key) {
        self.copy_wakes.remove(&key);
        let Some(cluster) = self.clusters_of.remove(&key) else {
            return;
        };
        let selector = target::owner_selector(
            &workload::label_value(&key.0),
            &workload::label_value(&key.1),
        );
        match self.ctx.clusters.get(&cluster).await {
            Ok(client) => match target::delete_labelled(&client, &selector).await {
                Ok(n) => {
                    tracing::info!(debug_session = %key.1, namespace = %key.0, cluster, deleted = n.total(), "deleted debug session removed from its target");
                }
                Err(e) => {
                    tracing::warn!(debug_session = %key.1, error = %e, "cleanup of a deleted debug session failed; the next start sweeps it");
                }
            },
            Err(e) => {
                tracing::warn!(debug_session = %key.1, error = %e, "cleanup of a deleted debug session cannot reach its cluster");
            }
        }
    }
}

/// The details of `resource_cleanup` (`outcome` `ok` with `count` and `kinds`, or
/// `failed`) and its message.
fn cleanup_details(outcome: Result<&target::Deleted, &str>) -> (Details, Option<String>) {
    let mut details = Details::new();
    match outcome {
        Ok(deleted) => {
            details.insert("outcome".to_owned(), "ok".into());
            details.insert("count".to_owned(), deleted.total().into());
            let kinds: serde_json::Map<String, serde_json::Value> = deleted
                .0
                .iter()
                .map(|(k, n)| ((*k).to_owned(), (*n).into()))
                .collect();
            details.insert("kinds".to_owned(), kinds.into());
            let message = format!("{} object(s) deleted on the target", deleted.total());
            (details, Some(message))
        }
        Err(e) => {
            details.insert("outcome".to_owned(), "failed".into());
            details.insert("error".to_owned(), e.into());
            (details, Some(format!("cleanup failed: {e}")))
        }
    }
}

/// The selector cleanup deletes by for a session: everything labelled with it except
/// auxiliary resources kept after the session (`deleteAfter: false`).
pub(super) fn selector(s: &DebugSession) -> String {
    workload::cleanup_selector(s)
}

/// Status fields marking the session's deployed auxiliary and pod-template resources
/// deleted (those with `deleteAfter: false` stay); empty when nothing changes.
fn mark_deleted(
    st: &DebugSessionStatus,
    now: Timestamp,
) -> serde_json::Map<String, serde_json::Value> {
    let at = Time(now);
    let kept: BTreeSet<&str> = st
        .resolved_template
        .as_ref()
        .and_then(|t| t.auxiliary_resources.as_ref())
        .into_iter()
        .flatten()
        .filter(|r| !r.delete_after())
        .map(|r| r.name.as_str())
        .collect();
    let mut out = serde_json::Map::new();
    let mark = |r: &mut RenderedResourceStatus| {
        let due = r.created == Some(true) && r.deleted != Some(true);
        if due {
            r.deleted = Some(true);
            r.deleted_at = Some(at.clone());
        }
        due
    };
    if let Some(aux) = &st.auxiliary_resource_statuses {
        let mut aux = aux.clone();
        let mut changed = false;
        for a in aux.iter_mut().filter(|a| !kept.contains(a.name.as_str())) {
            if a.created == Some(true) && a.deleted != Some(true) {
                a.deleted = Some(true);
                a.deleted_at = Some(at.clone());
                changed = true;
            }
            for r in a.additional_resources.iter_mut().flatten() {
                changed |= mark(r);
            }
        }
        if changed {
            out.insert(
                "auxiliaryResourceStatuses".to_owned(),
                serde_json::json!(aux),
            );
        }
    }
    if let Some(pt) = &st.pod_template_resource_statuses {
        let mut pt = pt.clone();
        let mut changed = false;
        for r in &mut pt {
            changed |= mark(r);
        }
        if changed {
            out.insert(
                "podTemplateResourceStatuses".to_owned(),
                serde_json::json!(pt),
            );
        }
    }
    out
}

/// Deletes, on every registered target, labelled objects whose session is missing or
/// ended (what a crashed leader left behind).
pub(super) async fn sweep(ctx: &Context) {
    let live: BTreeSet<(String, String)> = ctx
        .stores
        .debug_sessions
        .filter(|s| !state(s).is_terminal())
        .iter()
        .map(|s| {
            (
                workload::label_value(&s.namespace().unwrap_or_default()),
                workload::label_value(&s.name_any()),
            )
        })
        .collect();
    let clusters: BTreeSet<String> = ctx
        .stores
        .clusters
        .all()
        .iter()
        .map(|c| c.name_any())
        .collect();
    for cluster in clusters {
        let client = match ctx.clusters.get(&cluster).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(cluster, error = %e, "debug leftover sweep skipped the cluster");
                continue;
            }
        };
        let owners = match target::owners(&client).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(cluster, error = %e, "debug leftover sweep could not list the cluster");
                continue;
            }
        };
        for owner in owners.difference(&live) {
            let selector = target::owner_selector(&owner.0, &owner.1);
            match target::delete_labelled(&client, &selector).await {
                Ok(n) => {
                    tracing::info!(cluster, debug_session = %owner.1, namespace = %owner.0, deleted = n.total(), "deleted leftovers of an ended or missing debug session");
                }
                Err(e) => {
                    tracing::warn!(cluster, debug_session = %owner.1, error = %e, "deleting debug leftovers failed");
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_details_say_what_was_deleted_or_why_not() {
        let deleted = target::Deleted([("Deployment", 1), ("Pod", 2)].into());
        let (details, message) = cleanup_details(Ok(&deleted));
        assert_eq!(
            serde_json::Value::Object(details),
            serde_json::json!({"outcome": "ok", "count": 3, "kinds": {"Deployment": 1, "Pod": 2}})
        );
        assert_eq!(
            message.as_deref(),
            Some("3 object(s) deleted on the target")
        );
        let (details, message) = cleanup_details(Err("no answer"));
        assert_eq!(details["outcome"], "failed");
        assert_eq!(details["error"], "no answer");
        assert_eq!(message.as_deref(), Some("cleanup failed: no answer"));
    }

    #[test]
    fn cleanup_marks_created_resources_deleted_except_those_kept() {
        let status: DebugSessionStatus = serde_json::from_value(serde_json::json!({
            "resolvedTemplate": {"auxiliaryResources": [
                {"name": "gone"}, {"name": "kept", "deleteAfter": false}, {"name": "failed"}]},
            "auxiliaryResourceStatuses": [
                {"name": "gone", "created": true, "additionalResources": [
                    {"apiVersion": "v1", "kind": "Secret", "name": "s", "created": true}]},
                {"name": "kept", "created": true},
                {"name": "failed", "created": false, "error": "no"}],
            "podTemplateResourceStatuses": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "created": true}],
        }))
        .unwrap();
        let now = Timestamp::UNIX_EPOCH;
        let fields = mark_deleted(&status, now);
        let aux = fields["auxiliaryResourceStatuses"].as_array().unwrap();
        let deleted: Vec<(&str, bool)> = aux
            .iter()
            .map(|a| (a["name"].as_str().unwrap(), a["deleted"] == true))
            .collect();
        assert_eq!(
            deleted,
            [("gone", true), ("kept", false), ("failed", false)]
        );
        assert_eq!(aux[0]["additionalResources"][0]["deleted"], true);
        assert!(aux[0]["deletedAt"].is_string());
        assert_eq!(fields["podTemplateResourceStatuses"][0]["deleted"], true);

        // Marked once: nothing left to change.
        let mut again = status.clone();
        again.auxiliary_resource_statuses =
            serde_json::from_value(fields["auxiliaryResourceStatuses"].clone()).unwrap();
        again.pod_template_resource_statuses =
            serde_json::from_value(fields["podTemplateResourceStatuses"].clone()).unwrap();
        assert!(mark_deleted(&again, now).is_empty());
    }
}
