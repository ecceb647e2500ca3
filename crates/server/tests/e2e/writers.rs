//! Leader-only writers that keep the hub tidy and informative: DenyPolicy status, and
//! garbage collection of session creation locks.

use std::time::Duration;

use breakglass_api::deny_policy::DenyPolicy;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;

use crate::support::*;

const A: &str = "target-a";

async fn ready_of(
    api: &Api<DenyPolicy>,
    name: &str,
) -> anyhow::Result<Option<(String, String, Option<i64>)>> {
    let p = api.get(name).await?;
    let generation = p.metadata.generation;
    let status = p.status.unwrap_or_default();
    Ok(status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .filter(|c| c.observed_generation == generation && status.observed_generation == generation)
        .map(|c| (c.status, c.reason, c.observed_generation)))
}

#[tokio::test]
async fn deny_policies_get_a_ready_condition() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    let api: Api<DenyPolicy> = Api::all(env.hub_client().await?);
    let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    // Scoped to a cluster that does not exist, so it never changes a decision.
    let valid = format!("dp-status-ok-{id}");
    let policy: DenyPolicy = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DenyPolicy",
        "metadata": {"name": valid},
        "spec": {"appliesTo": {"clusters": ["no-such-cluster-e2e"]},
                 "rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["secrets"]}]},
    }))?;
    api.create(&PostParams::default(), &policy).await?;
    let invalid = format!("dp-status-bad-{id}");
    let policy: DenyPolicy = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DenyPolicy",
        "metadata": {"name": invalid},
        // The CRD schema accepts an empty verb list; our validation does not.
        "spec": {"appliesTo": {"clusters": ["no-such-cluster-e2e"]},
                 "rules": [{"verbs": [], "apiGroups": [""], "resources": ["secrets"]}]},
    }))?;
    api.create(&PostParams::default(), &policy).await?;
    let result = async {
        wait_for(
            Duration::from_secs(20),
            "valid policy Ready=True",
            || async {
                Ok(ready_of(&api, &valid)
                    .await?
                    .is_some_and(|(s, r, _)| s == "True" && r == "Valid"))
            },
        )
        .await?;
        wait_for(
            Duration::from_secs(20),
            "invalid policy Ready=False",
            || async {
                Ok(ready_of(&api, &invalid)
                    .await?
                    .is_some_and(|(s, r, _)| s == "False" && r == "ValidationFailed"))
            },
        )
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = api.delete(&valid, &DeleteParams::default()).await;
    let _ = api.delete(&invalid, &DeleteParams::default()).await;
    result
}

#[tokio::test]
async fn creation_locks_do_not_pile_up() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    let fx = Fixture::new(&env, "locks").await?;
    let leases: Api<Lease> = Api::namespaced(fx.hub(), SYSTEM_NS);
    let selector = "app.kubernetes.io/component=session-creation-lock";
    // A lock left behind by a replica that crashed two minutes ago.
    let stale = format!("breakglass-create-e2e{}", fx.id);
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": stale, "namespace": SYSTEM_NS, "labels": {"app.kubernetes.io/component": "session-creation-lock"}},
        "spec": {"holderIdentity": "crashed-replica", "leaseDurationSeconds": 30,
                 "acquireTime": (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(120)).strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()},
    }))?;
    leases.create(&PostParams::default(), &lease).await?;
    // Creations through the API leave no lock behind.
    let group = fx.group("locks");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    for user in ["requester", "requester2"] {
        let t = token(&env, user).await?;
        let r = api.request(&t, A, &group, json!({})).await?;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let mine = |l: &Lease| {
        l.metadata
            .name
            .as_deref()
            .is_some_and(|n| n == stale || lock_is_old(l))
    };
    wait_for(
        Duration::from_secs(30),
        "no stale creation locks",
        || async {
            let left: Vec<String> = leases
                .list(&ListParams::default().labels(selector))
                .await?
                .items
                .iter()
                .filter(|l| mine(l))
                .filter_map(|l| l.metadata.name.clone())
                .collect();
            if !left.is_empty() {
                note(&format!("locks left: {left:?}"));
            }
            Ok(left.is_empty())
        },
    )
    .await?;
    fx.cleanup().await
}

/// A lock older than its validity (30 s) plus one collection period.
fn lock_is_old(l: &Lease) -> bool {
    l.spec
        .as_ref()
        .and_then(|s| s.acquire_time.as_ref())
        .is_none_or(|t| jiff::Timestamp::now().duration_since(t.0).as_secs() > 45)
}

/// Status writes of the reconcilers carry the resourceVersion they were computed from:
/// the hub refuses one computed from an older version (a stale leader's late write).
#[tokio::test]
async fn status_patches_from_an_older_version_are_refused() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let api: Api<DenyPolicy> = Api::all(env.hub_client().await?);
    let name = format!(
        "dp-stale-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let policy: DenyPolicy = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DenyPolicy",
        "metadata": {"name": name},
        "spec": {"appliesTo": {"clusters": ["no-such-cluster-e2e"]},
                 "rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["secrets"]}]},
    }))?;
    api.create(&PostParams::default(), &policy).await?;
    let result = async {
        // Let the leader's reconciler write its status first, so only our writes race.
        wait_for(Duration::from_secs(20), "policy Ready", || async {
            Ok(ready_of(&api, &name).await?.is_some())
        })
        .await?;
        let old = api.get(&name).await?;
        // Someone else writes the object after we read it.
        api.patch(
            &name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
        )
        .await?;
        let stale = breakglass_server::session_writes::conditional_status_patch(
            old.metadata.resource_version.as_deref(),
            json!({"observedGeneration": 99}),
        );
        let err = api
            .patch_status(&name, &kube::api::PatchParams::default(), &stale)
            .await
            .expect_err("a patch from an older version must be refused");
        assert!(
            breakglass_server::hub_answer::is_conflict(&err),
            "expected 409, got {err}"
        );
        assert_ne!(
            api.get(&name)
                .await?
                .status
                .and_then(|s| s.observed_generation),
            Some(99)
        );
        // From the current version it applies (retried only if the reconciler wrote in
        // between, which is the refusal working as intended).
        for attempt in 1..=5 {
            let current = api.get(&name).await?;
            let fresh = breakglass_server::session_writes::conditional_status_patch(
                current.metadata.resource_version.as_deref(),
                json!({"observedGeneration": 99}),
            );
            match api
                .patch_status(&name, &kube::api::PatchParams::default(), &fresh)
                .await
            {
                Ok(_) => return anyhow::Ok(()),
                Err(e) if attempt < 5 && breakglass_server::hub_answer::is_conflict(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::Ok(())
    }
    .await;
    let _ = api.delete(&name, &DeleteParams::default()).await;
    result
}
