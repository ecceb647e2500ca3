//! The DenyPolicy reconciler (leader only): validates every DenyPolicy with the same
//! rules as admission and `bgctl validate` and writes `status.conditions[Ready]` and
//! `status.observedGeneration`, so operators see a policy the hub considers broken.

use breakglass_api::deny_policy::DenyPolicy;
use breakglass_core::condition;
use breakglass_core::validation::validate_deny_policy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::PatchParams;
use kube::{Api, Client};
use tokio::sync::broadcast::error::RecvError;

use crate::store::Stores;

/// Reason of `Ready=True`.
pub const REASON_VALID: &str = "Valid";
/// Reason of `Ready=False`.
pub const REASON_INVALID: &str = "ValidationFailed";

/// The status conditions `policy` should carry, merged into what it carries now
/// (transition times of unchanged conditions are kept). `None` when nothing but the
/// clock would change, so no write is needed.
pub fn desired_conditions(policy: &DenyPolicy, now: jiff::Timestamp) -> Option<Vec<Condition>> {
    let errors: Vec<String> = validate_deny_policy(policy)
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut ready = if errors.is_empty() {
        condition::new(
            "Ready",
            condition::TRUE,
            REASON_VALID,
            "deny policy is valid",
            now,
        )
    } else {
        condition::new(
            "Ready",
            condition::FALSE,
            REASON_INVALID,
            errors.join("; "),
            now,
        )
    };
    ready.observed_generation = policy.metadata.generation;
    let current = policy
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut merged = current.clone();
    condition::set(&mut merged, ready);
    let observed = policy.status.as_ref().and_then(|s| s.observed_generation);
    if merged == current && observed == policy.metadata.generation {
        None
    } else {
        Some(merged)
    }
}

/// Runs until aborted: reconciles every DenyPolicy at start and on each change.
pub async fn run(hub: Client, stores: Stores) {
    let mut changes = stores.deny_policies.subscribe();
    stores.deny_policies.wait_synced().await;
    let api: Api<DenyPolicy> = Api::all(hub);
    loop {
        for policy in stores.deny_policies.all() {
            reconcile(&api, &policy).await;
        }
        match changes.recv().await {
            Err(RecvError::Closed) => return,
            Ok(_) | Err(RecvError::Lagged(_)) => {}
        }
        // Coalesce a burst of changes into one pass.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        while changes.try_recv().is_ok() {}
    }
}

async fn reconcile(api: &Api<DenyPolicy>, policy: &DenyPolicy) {
    let Some(conditions) = desired_conditions(policy, jiff::Timestamp::now()) else {
        return;
    };
    let name = policy.metadata.name.clone().unwrap_or_default();
    let ready = condition::find(&conditions, "Ready").map(|c| c.status.clone());
    let patch = crate::session_writes::conditional_status_patch(
        policy.metadata.resource_version.as_deref(),
        serde_json::json!({
            "observedGeneration": policy.metadata.generation,
            "conditions": conditions,
        }),
    );
    match api
        .patch_status(&name, &PatchParams::default(), &patch)
        .await
    {
        Ok(_) => tracing::info!(policy = %name, ready = ?ready, "deny policy status updated"),
        // Changed since we read it: its change event brings it back here.
        Err(e) if crate::hub_answer::is_conflict(&e) => {
            tracing::debug!(policy = %name, "deny policy changed meanwhile; status not written")
        }
        Err(e) => tracing::warn!(policy = %name, error = %e, "writing deny policy status failed"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use breakglass_api::deny_policy::DenyPolicyStatus;

    fn policy(spec: serde_json::Value) -> DenyPolicy {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "DenyPolicy",
            "metadata": {"name": "p", "generation": 3},
            "spec": spec,
        }))
        .unwrap()
    }

    fn valid() -> DenyPolicy {
        policy(
            serde_json::json!({"rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["secrets"]}]}),
        )
    }

    #[test]
    fn a_valid_policy_becomes_ready_with_its_generation() {
        let now = jiff::Timestamp::now();
        let c = desired_conditions(&valid(), now).expect("a first write");
        let ready = condition::find(&c, "Ready").unwrap();
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason, REASON_VALID);
        assert_eq!(ready.observed_generation, Some(3));
    }

    #[test]
    fn an_invalid_policy_is_not_ready_and_says_why() {
        let now = jiff::Timestamp::now();
        let c = desired_conditions(&policy(serde_json::json!({})), now).expect("a first write");
        let ready = condition::find(&c, "Ready").unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, REASON_INVALID);
        assert!(ready.message.contains("spec"), "{}", ready.message);
    }

    #[test]
    fn an_up_to_date_status_is_not_written_again() {
        let t1 = jiff::Timestamp::now();
        let mut p = valid();
        let c = desired_conditions(&p, t1).unwrap();
        p.status = Some(DenyPolicyStatus {
            observed_generation: Some(3),
            conditions: Some(c),
        });
        let t2 = t1 + jiff::SignedDuration::from_secs(60);
        assert_eq!(desired_conditions(&p, t2), None);
        // A new generation is written even when the condition is the same.
        p.metadata.generation = Some(4);
        let c = desired_conditions(&p, t2).unwrap();
        let ready = condition::find(&c, "Ready").unwrap();
        assert_eq!(ready.observed_generation, Some(4));
        assert_eq!(ready.last_transition_time.0, t1, "no transition, time kept");
    }
}
