//! Whether an object a session deployed is ready, judged from the object alone (no I/O),
//! in the spirit of kstatus: `Current` when the object has reached what it asks for,
//! `InProgress` while it is getting there, `Failed` when it cannot, `Terminating` while
//! it is being deleted.
//!
//! Kinds without a meaningful status (ConfigMap, Secret, ServiceAccount, RBAC objects,
//! NetworkPolicy, LimitRange, a ClusterIP Service) are `Current` once they exist. Kinds
//! we do not know are judged by the conventions most controllers follow
//! (`status.observedGeneration`, a `Ready` condition).

use serde_json::Value;

/// How far an object is from its desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Reconciled: the object does what it asks for.
    Current,
    /// Not there yet (a controller is still working on it).
    InProgress,
    /// It will not get there without a change.
    Failed,
    /// Being deleted.
    Terminating,
}

impl Readiness {
    /// The kstatus name (`Current`, `InProgress`, `Failed`, `Terminating`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "Current",
            Self::InProgress => "InProgress",
            Self::Failed => "Failed",
            Self::Terminating => "Terminating",
        }
    }

    /// `ready` as the session's status reports it.
    pub fn is_ready(self) -> bool {
        self == Self::Current
    }
}

impl std::fmt::Display for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Judges `object` (a full object as the apiserver returns it) of `kind`.
pub fn assess(kind: &str, object: &Value) -> Readiness {
    if object.pointer("/metadata/deletionTimestamp").is_some() {
        return Readiness::Terminating;
    }
    let status = object.get("status").unwrap_or(&Value::Null);
    let int = |path: &str| status.pointer(path).and_then(Value::as_i64);
    match kind {
        "ConfigMap" | "Secret" | "ServiceAccount" | "Role" | "RoleBinding" | "ClusterRole"
        | "ClusterRoleBinding" | "NetworkPolicy" | "LimitRange" | "Namespace" => Readiness::Current,
        "Service" => service(object, status),
        "PersistentVolumeClaim" => match status.get("phase").and_then(Value::as_str) {
            Some("Bound") => Readiness::Current,
            Some("Lost") => Readiness::Failed,
            _ => Readiness::InProgress,
        },
        "ResourceQuota" => {
            if status.get("hard").is_some() {
                Readiness::Current
            } else {
                Readiness::InProgress
            }
        }
        "Pod" => pod(status),
        "Job" => job(status),
        "Deployment" => deployment(object, status),
        "DaemonSet" => {
            if !observed(object, status) {
                return Readiness::InProgress;
            }
            let desired = int("/desiredNumberScheduled").unwrap_or(0);
            let updated = int("/updatedNumberScheduled").unwrap_or(0);
            let available = int("/numberAvailable").unwrap_or(0);
            if updated >= desired && available >= desired {
                Readiness::Current
            } else {
                Readiness::InProgress
            }
        }
        "StatefulSet" => {
            let want = object
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if observed(object, status) && int("/readyReplicas").unwrap_or(0) >= want {
                Readiness::Current
            } else {
                Readiness::InProgress
            }
        }
        _ => generic(object, status),
    }
}

/// `status.observedGeneration` has caught up with `metadata.generation` (true when the
/// object has no generation to observe).
fn observed(object: &Value, status: &Value) -> bool {
    match object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
    {
        None => true,
        Some(generation) => status
            .get("observedGeneration")
            .and_then(Value::as_i64)
            .is_some_and(|o| o >= generation),
    }
}

/// The status of condition `kind` (`"True"`, `"False"`, …) with its reason.
fn condition<'a>(status: &'a Value, kind: &str) -> Option<(&'a str, &'a str)> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        .map(|c| {
            (
                c.get("status").and_then(Value::as_str).unwrap_or_default(),
                c.get("reason").and_then(Value::as_str).unwrap_or_default(),
            )
        })
}

fn service(object: &Value, status: &Value) -> Readiness {
    let lb = object.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer");
    let has_ingress = status
        .pointer("/loadBalancer/ingress")
        .and_then(Value::as_array)
        .is_some_and(|i| !i.is_empty());
    if lb && !has_ingress {
        Readiness::InProgress
    } else {
        Readiness::Current
    }
}

fn pod(status: &Value) -> Readiness {
    match status.get("phase").and_then(Value::as_str) {
        Some("Succeeded") => Readiness::Current,
        Some("Failed") => Readiness::Failed,
        _ if condition(status, "Ready").is_some_and(|(s, _)| s == "True") => Readiness::Current,
        _ => Readiness::InProgress,
    }
}

fn job(status: &Value) -> Readiness {
    if condition(status, "Failed").is_some_and(|(s, _)| s == "True") {
        Readiness::Failed
    } else if condition(status, "Complete").is_some_and(|(s, _)| s == "True") {
        Readiness::Current
    } else {
        Readiness::InProgress
    }
}

fn deployment(object: &Value, status: &Value) -> Readiness {
    if condition(status, "Progressing").is_some_and(|(_, r)| r == "ProgressDeadlineExceeded") {
        return Readiness::Failed;
    }
    let want = object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let int = |k: &str| status.get(k).and_then(Value::as_i64).unwrap_or(0);
    if observed(object, status)
        && int("updatedReplicas") >= want
        && int("availableReplicas") >= want
    {
        Readiness::Current
    } else {
        Readiness::InProgress
    }
}

fn generic(object: &Value, status: &Value) -> Readiness {
    if !observed(object, status) {
        return Readiness::InProgress;
    }
    match condition(status, "Ready") {
        Some(("True", _)) | None => Readiness::Current,
        Some(_) => Readiness::InProgress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_without_status_are_current_once_they_exist() {
        for kind in [
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "NetworkPolicy",
            "LimitRange",
        ] {
            assert_eq!(
                assess(kind, &json!({"metadata": {}})),
                Readiness::Current,
                "{kind}"
            );
        }
        assert_eq!(
            assess("Service", &json!({"spec": {"type": "ClusterIP"}})),
            Readiness::Current
        );
        assert_eq!(
            assess("Service", &json!({"spec": {"type": "LoadBalancer"}})),
            Readiness::InProgress
        );
    }

    #[test]
    fn a_deleted_object_is_terminating() {
        let o = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}});
        assert_eq!(assess("ConfigMap", &o), Readiness::Terminating);
        assert!(!Readiness::Terminating.is_ready());
    }

    #[test]
    fn claims_are_current_when_bound_and_failed_when_lost() {
        let pvc = |phase: &str| json!({"status": {"phase": phase}});
        assert_eq!(
            assess("PersistentVolumeClaim", &pvc("Bound")),
            Readiness::Current
        );
        assert_eq!(
            assess("PersistentVolumeClaim", &pvc("Pending")),
            Readiness::InProgress
        );
        assert_eq!(
            assess("PersistentVolumeClaim", &pvc("Lost")),
            Readiness::Failed
        );
        assert_eq!(
            assess("PersistentVolumeClaim", &json!({})),
            Readiness::InProgress
        );
    }

    #[test]
    fn budgets_and_unknown_kinds_wait_for_the_observed_generation() {
        let pdb = |observed: Option<i64>| json!({"metadata": {"generation": 2}, "status": {"observedGeneration": observed}});
        assert_eq!(
            assess("PodDisruptionBudget", &pdb(Some(2))),
            Readiness::Current
        );
        assert_eq!(
            assess("PodDisruptionBudget", &pdb(Some(1))),
            Readiness::InProgress
        );
        assert_eq!(
            assess("PodDisruptionBudget", &pdb(None)),
            Readiness::InProgress
        );
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert_eq!(assess("Widget", &not_ready), Readiness::InProgress);
        assert_eq!(assess("Widget", &json!({})), Readiness::Current);
    }

    #[test]
    fn quotas_are_current_once_the_quota_controller_filled_in_the_status() {
        assert_eq!(assess("ResourceQuota", &json!({})), Readiness::InProgress);
        assert_eq!(
            assess("ResourceQuota", &json!({"status": {"hard": {"pods": "2"}}})),
            Readiness::Current
        );
    }

    #[test]
    fn workloads_are_current_when_every_replica_is_updated_and_available() {
        let dep = |updated: i64, available: i64, reason: &str| {
            json!({
                "metadata": {"generation": 1},
                "spec": {"replicas": 2},
                "status": {"observedGeneration": 1, "updatedReplicas": updated,
                    "availableReplicas": available,
                    "conditions": [{"type": "Progressing", "status": "True", "reason": reason}]},
            })
        };
        assert_eq!(
            assess("Deployment", &dep(2, 2, "NewReplicaSetAvailable")),
            Readiness::Current
        );
        assert_eq!(
            assess("Deployment", &dep(2, 1, "ReplicaSetUpdated")),
            Readiness::InProgress
        );
        assert_eq!(
            assess("Deployment", &dep(1, 1, "ProgressDeadlineExceeded")),
            Readiness::Failed
        );
        let ds = |available: i64| {
            json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
                "desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": available}})
        };
        assert_eq!(assess("DaemonSet", &ds(2)), Readiness::Current);
        assert_eq!(assess("DaemonSet", &ds(1)), Readiness::InProgress);
    }

    #[test]
    fn pods_and_jobs_follow_their_phase_and_conditions() {
        let ready = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(assess("Pod", &ready), Readiness::Current);
        assert_eq!(
            assess("Pod", &json!({"status": {"phase": "Pending"}})),
            Readiness::InProgress
        );
        assert_eq!(
            assess("Pod", &json!({"status": {"phase": "Failed"}})),
            Readiness::Failed
        );
        let job =
            |kind: &str| json!({"status": {"conditions": [{"type": kind, "status": "True"}]}});
        assert_eq!(assess("Job", &job("Complete")), Readiness::Current);
        assert_eq!(assess("Job", &job("Failed")), Readiness::Failed);
        assert_eq!(assess("Job", &json!({})), Readiness::InProgress);
    }
}
