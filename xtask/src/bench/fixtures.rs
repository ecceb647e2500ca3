//! The bench's objects: escalations, approved sessions and DenyPolicies on the hub; the
//! escalated groups' RBAC and namespaces on the targets. Everything carries
//! [`corpus::LABEL`] so a run (or an interrupted one) is cleaned up by label.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::deny_policy::DenyPolicy;
use breakglass_testenv::TestEnv;
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::corpus::{self, HUB_NS, LABEL, Sizes, TARGETS};

/// Requests in flight while creating objects.
const PARALLEL: usize = 16;

fn selector() -> ListParams {
    ListParams::default().labels(&format!("{LABEL}=webhook"))
}

/// Removes every bench object (hub and targets); waits until the hub's are gone.
pub async fn remove(env: &TestEnv) -> anyhow::Result<()> {
    let hub = env.hub_client().await?;
    let dp = DeleteParams::background();
    let sessions: Api<BreakglassSession> = Api::namespaced(hub.clone(), HUB_NS);
    let escalations: Api<BreakglassEscalation> = Api::namespaced(hub.clone(), HUB_NS);
    let policies: Api<DenyPolicy> = Api::all(hub.clone());
    // The namespace may not exist yet: a 404 on a collection delete is fine.
    let _ = sessions.delete_collection(&dp, &selector()).await;
    let _ = escalations.delete_collection(&dp, &selector()).await;
    policies.delete_collection(&dp, &selector()).await?;
    for cluster in TARGETS {
        let c = env.target_client(cluster).await?;
        Api::<ClusterRoleBinding>::all(c.clone())
            .delete_collection(&dp, &selector())
            .await?;
        Api::<ClusterRole>::all(c.clone())
            .delete_collection(&dp, &selector())
            .await?;
        // RoleBindings go with their namespaces (which have no collection delete); the
        // next run recreates them, so the end of their deletion is waited for below.
        let namespaces: Api<Namespace> = Api::all(c.clone());
        for ns in namespaces.list(&selector()).await?.items {
            if let Some(name) = ns.metadata.name {
                namespaces.delete(&name, &dp).await?;
            }
        }
    }
    let started = Instant::now();
    loop {
        let mut left = sessions
            .list(&selector())
            .await
            .map_or(0, |l| l.items.len());
        left += escalations
            .list(&selector())
            .await
            .map_or(0, |l| l.items.len());
        left += policies.list(&selector()).await?.items.len();
        for cluster in TARGETS {
            let c = env.target_client(cluster).await?;
            left += Api::<Namespace>::all(c)
                .list(&selector())
                .await?
                .items
                .len();
        }
        if left == 0 {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("{left} bench objects still there after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn create_all<T, F>(api: &Api<T>, objects: Vec<Value>, then: F) -> anyhow::Result<()>
where
    T: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    F: Fn(T) -> futures::future::BoxFuture<'static, anyhow::Result<()>>,
{
    futures::stream::iter(objects)
        .map(|o| async {
            let obj: T = serde_json::from_value(o)?;
            let created = api.create(&PostParams::default(), &obj).await?;
            then(created).await
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

fn done<T>(_: T) -> futures::future::BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(async { Ok(()) })
}

/// Creates the bench's state for `sizes`.
pub async fn create(env: &TestEnv, sizes: &Sizes) -> anyhow::Result<()> {
    let started = Instant::now();
    let prefix = env.group_prefix().to_owned();
    for cluster in TARGETS {
        let c = env.target_client(cluster).await?;
        let namespaces: Vec<Value> = (0..corpus::TARGET_NAMESPACES)
            .map(|k| json!({"metadata": {"name": corpus::namespace(k), "labels": {LABEL: "webhook"}}}))
            .collect();
        create_all(&Api::<Namespace>::all(c.clone()), namespaces, done).await?;
        let (roles, bindings): (Vec<Value>, Vec<Value>) = (0..sizes.escalations)
            .map(|i| corpus::rbac(i, &prefix))
            .unzip();
        create_all(&Api::<ClusterRole>::all(c.clone()), roles, done).await?;
        for b in bindings {
            if b["kind"] == "RoleBinding" {
                let ns = b["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                create_all(
                    &Api::<RoleBinding>::namespaced(c.clone(), &ns),
                    vec![b],
                    done,
                )
                .await?;
            } else {
                create_all(&Api::<ClusterRoleBinding>::all(c.clone()), vec![b], done).await?;
            }
        }
    }
    let hub = env.hub_client().await?;
    let ns_api: Api<Namespace> = Api::all(hub.clone());
    if ns_api.get_opt(HUB_NS).await?.is_none() {
        ns_api
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": HUB_NS}}))?,
            )
            .await?;
    }
    let escalations: Api<BreakglassEscalation> = Api::namespaced(hub.clone(), HUB_NS);
    create_all(
        &escalations,
        (0..sizes.escalations).map(corpus::escalation).collect(),
        done,
    )
    .await?;
    let policies: Api<DenyPolicy> = Api::all(hub.clone());
    create_all(
        &policies,
        (0..sizes.deny_policies).map(corpus::deny_policy).collect(),
        done,
    )
    .await?;
    create_sessions(&hub, sizes).await?;
    eprintln!(
        "==> bench state created in {:.1?}: {} sessions of {} users, {} escalations, {} DenyPolicies, RBAC on {} targets",
        started.elapsed(),
        sizes.sessions,
        sizes.users,
        sizes.escalations,
        sizes.deny_policies,
        TARGETS.len()
    );
    Ok(())
}

/// Sessions are written as another tool would: created, then their status set to
/// Approved (the approval flow is not what is measured).
async fn create_sessions(hub: &kube::Client, sizes: &Sizes) -> anyhow::Result<()> {
    let api: Api<BreakglassSession> = Api::namespaced(hub.clone(), HUB_NS);
    let now = jiff::Timestamp::now();
    let expires = now
        .checked_add(jiff::SignedDuration::from_hours(12))
        .context("time overflow")?;
    let status = json!({"status": {"state": "Approved", "approvedAt": now.to_string(), "expiresAt": expires.to_string(), "approver": "bench@bench.example"}});
    let objects: Vec<Value> = corpus::sessions(sizes)
        .iter()
        .enumerate()
        .map(|(n, s)| {
            json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
                "kind": "BreakglassSession",
                "metadata": {"name": format!("bench-s{n:04}"), "namespace": HUB_NS, "labels": {LABEL: "webhook"}},
                "spec": {"cluster": s.cluster, "user": corpus::user(s.user), "grantedGroup": corpus::group(s.group), "maxValidFor": "12h"},
            })
        })
        .collect();
    let patcher = api.clone();
    create_all(&api, objects, move |created: BreakglassSession| {
        let api = patcher.clone();
        let status = status.clone();
        Box::pin(async move {
            let name = created.metadata.name.unwrap_or_default();
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                .await?;
            Ok(())
        })
    })
    .await
}

/// Waits until the server reports every bench escalation Ready.
pub async fn wait_escalations_ready(env: &TestEnv, sizes: &Sizes) -> anyhow::Result<()> {
    let api: Api<BreakglassEscalation> = Api::namespaced(env.hub_client().await?, HUB_NS);
    let started = Instant::now();
    loop {
        let ready = api
            .list(&selector())
            .await?
            .items
            .iter()
            .filter(|e| {
                e.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        if ready >= sizes.escalations {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "{ready} of {} escalations Ready after 60 s",
                sizes.escalations
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
