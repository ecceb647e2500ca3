//! What happened to a session's pods between two versions of its `status.allowedPods`,
//! for the `debug_session.pod_failed` and `debug_session.pod_restarted` audit events.
//!
//! The comparison is against what the status already records, not against the pod
//! watch's memory: the status survives a re-list of the watch and a change of leader,
//! so a failure or a restart is reported once — when the `allowedPods` that shows it is
//! written — and never again for the same recorded state.
//!
//! * **Failed**: a pod whose phase is `Failed`, or whose (first) container waits in
//!   `CrashLoopBackOff`, and was not failing in the previous record (or was not recorded
//!   at all). Debug workloads restart their containers (`restartPolicy: Always`), so a
//!   container exiting with an error shows as a restart, and as `CrashLoopBackOff` once
//!   the kubelet backs off.
//! * **Restarted**: the container's `restartCount` is higher than recorded — one change
//!   per observed increase, however many restarts it covers. A pod seen for the first
//!   time counts from zero (every pod starts without restarts); one without restarts is
//!   not reported.

use std::collections::HashMap;

use breakglass_api::debug_session::AllowedPodRef;

/// The waiting reason of a container the kubelet keeps restarting.
pub const CRASH_LOOP: &str = "CrashLoopBackOff";
/// The phase of a pod whose containers ended and will not restart.
pub const PHASE_FAILED: &str = "Failed";

/// What happened to one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodChangeKind {
    /// It newly failed (phase `Failed` or `CrashLoopBackOff`).
    Failed,
    /// Its container restarted since the previous record.
    Restarted {
        /// The restart count recorded before (0 for a pod not recorded before).
        previous: i32,
    },
}

/// One change of a session pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodChange {
    /// What happened.
    pub kind: PodChangeKind,
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
    /// The container's restart count now.
    pub restart_count: i32,
    /// Why: `CrashLoopBackOff`, the last termination's reason (`Error`, `OOMKilled`, …),
    /// or `Failed`; empty when the pod does not say.
    pub reason: String,
}

/// The changes from `before` to `after` (both `allowedPods` lists), pod by pod in the
/// order of `after`, a restart before the failure it led to.
pub fn pod_changes(before: &[AllowedPodRef], after: &[AllowedPodRef]) -> Vec<PodChange> {
    let previous: HashMap<(&str, &str), &AllowedPodRef> = before
        .iter()
        .map(|p| ((p.namespace.as_str(), p.name.as_str()), p))
        .collect();
    let mut out = Vec::new();
    for pod in after {
        let was = previous
            .get(&(pod.namespace.as_str(), pod.name.as_str()))
            .copied();
        let now = restart_count(pod);
        let then = was.map_or(0, restart_count);
        let change = |kind| PodChange {
            kind,
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
            restart_count: now,
            reason: String::new(),
        };
        if now > then {
            out.push(PodChange {
                reason: last_termination(pod).to_owned(),
                ..change(PodChangeKind::Restarted { previous: then })
            });
        }
        if let Some(reason) = failure(pod)
            && was.and_then(failure).is_none()
        {
            out.push(PodChange {
                reason,
                ..change(PodChangeKind::Failed)
            });
        }
    }
    out
}

fn restart_count(pod: &AllowedPodRef) -> i32 {
    pod.container_status
        .as_ref()
        .and_then(|c| c.restart_count)
        .unwrap_or(0)
}

fn last_termination(pod: &AllowedPodRef) -> &str {
    pod.container_status
        .as_ref()
        .and_then(|c| c.last_termination_reason.as_deref())
        .unwrap_or_default()
}

/// Why the pod is failing, if it is.
fn failure(pod: &AllowedPodRef) -> Option<String> {
    if pod.phase.as_deref() == Some(PHASE_FAILED) {
        let last = last_termination(pod);
        return Some(if last.is_empty() { PHASE_FAILED } else { last }.to_owned());
    }
    let waiting = pod
        .container_status
        .as_ref()
        .and_then(|c| c.waiting_reason.as_deref());
    (waiting == Some(CRASH_LOOP)).then(|| CRASH_LOOP.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use breakglass_api::debug_session::PodContainerStatus;

    use super::*;

    fn pod(name: &str, phase: &str, restarts: i32, waiting: Option<&str>) -> AllowedPodRef {
        AllowedPodRef {
            namespace: "dbg".to_owned(),
            name: name.to_owned(),
            node_name: Some("node-1".to_owned()),
            ready: Some(phase == "Running" && waiting.is_none()),
            phase: Some(phase.to_owned()),
            container_status: Some(PodContainerStatus {
                waiting_reason: waiting.map(str::to_owned),
                waiting_message: None,
                restart_count: Some(restarts),
                last_termination_reason: (restarts > 0).then(|| "Error".to_owned()),
            }),
        }
    }

    fn kinds(changes: &[PodChange]) -> Vec<(String, PodChangeKind)> {
        changes
            .iter()
            .map(|c| (c.name.clone(), c.kind.clone()))
            .collect()
    }

    #[test]
    fn first_sight_of_healthy_pods_and_unchanged_pods_report_nothing() {
        let healthy = [pod("a", "Running", 0, None), pod("b", "Pending", 0, None)];
        assert_eq!(pod_changes(&[], &healthy), []);
        assert_eq!(pod_changes(&healthy, &healthy), []);
        // A pod without container statuses yet is healthy too.
        let bare = AllowedPodRef {
            namespace: "dbg".to_owned(),
            name: "c".to_owned(),
            ..Default::default()
        };
        assert_eq!(pod_changes(&[], std::slice::from_ref(&bare)), []);
        // A pod that went away is no change of a pod.
        assert_eq!(pod_changes(&healthy, &healthy[..1]), []);
    }

    #[test]
    fn a_restart_is_reported_once_per_observed_increase() {
        let before = [pod("a", "Running", 0, None)];
        let after = [pod("a", "Running", 1, None)];
        let changes = pod_changes(&before, &after);
        assert_eq!(
            changes,
            [PodChange {
                kind: PodChangeKind::Restarted { previous: 0 },
                namespace: "dbg".to_owned(),
                name: "a".to_owned(),
                restart_count: 1,
                reason: "Error".to_owned(),
            }]
        );
        // The record now says 1: the same state again (a re-list, a new leader) is no
        // change; several restarts between two records are one change.
        assert_eq!(pod_changes(&after, &after), []);
        let later = [pod("a", "Running", 4, None)];
        assert_eq!(
            kinds(&pod_changes(&after, &later)),
            [("a".to_owned(), PodChangeKind::Restarted { previous: 1 })]
        );
    }

    #[test]
    fn entering_crash_loop_or_phase_failed_is_reported_once() {
        let before = [pod("a", "Running", 1, None), pod("b", "Running", 0, None)];
        let after = [
            pod("a", "Running", 2, Some(CRASH_LOOP)),
            pod("b", PHASE_FAILED, 0, None),
        ];
        let changes = pod_changes(&before, &after);
        assert_eq!(
            kinds(&changes),
            [
                ("a".to_owned(), PodChangeKind::Restarted { previous: 1 }),
                ("a".to_owned(), PodChangeKind::Failed),
                ("b".to_owned(), PodChangeKind::Failed),
            ]
        );
        assert_eq!(changes[1].reason, CRASH_LOOP);
        assert_eq!(changes[2].reason, PHASE_FAILED);
        // Still failing: nothing new.
        assert_eq!(pod_changes(&after, &after), []);
        // From one failure to another (crash loop, then the pod fails) is no new failure.
        let worse = [
            pod("a", PHASE_FAILED, 2, None),
            pod("b", PHASE_FAILED, 0, None),
        ];
        assert_eq!(pod_changes(&after, &worse), []);
        // Recovered, then crash-looping again: a new failure.
        let recovered = [pod("a", "Running", 2, None)];
        let again = [pod("a", "Running", 2, Some(CRASH_LOOP))];
        assert_eq!(pod_changes(&after[..1], &recovered), []);
        assert_eq!(
            kinds(&pod_changes(&recovered, &again)),
            [("a".to_owned(), PodChangeKind::Failed)]
        );
    }

    #[test]
    fn a_pod_first_seen_failing_or_restarted_is_reported() {
        let after = [pod("new", "Running", 2, Some(CRASH_LOOP))];
        assert_eq!(
            kinds(&pod_changes(&[], &after)),
            [
                ("new".to_owned(), PodChangeKind::Restarted { previous: 0 }),
                ("new".to_owned(), PodChangeKind::Failed),
            ]
        );
    }

    #[test]
    fn pods_are_matched_by_namespace_and_name() {
        let before = [pod("a", "Running", 3, None)];
        let mut other = pod("a", "Running", 3, None);
        other.namespace = "elsewhere".to_owned();
        assert_eq!(
            kinds(&pod_changes(&before, &[other])),
            [("a".to_owned(), PodChangeKind::Restarted { previous: 0 })]
        );
        // A phase Failed pod without a termination reason is reported as `Failed`.
        let mut failed = pod("a", PHASE_FAILED, 0, None);
        if let Some(c) = failed.container_status.as_mut() {
            c.last_termination_reason = None;
        }
        let changes = pod_changes(&[], &[failed]);
        assert_eq!(changes.first().unwrap().reason, PHASE_FAILED);
    }
}
