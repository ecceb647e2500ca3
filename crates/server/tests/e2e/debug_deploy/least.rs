//! The server with exactly the rights of `config/rbac/` (hub.yaml on the hub,
//! target.yaml on target-a, both as ServiceAccounts) deploys a full plan — created
//! namespace, quota, budget, auxiliary ConfigMap — and an impersonated one, and
//! removes both completely; a Role granting more than the server holds is refused (no
//! escalate/bind). A starting leader sweeps leftovers of every kind.

use std::time::Duration;

use breakglass_api::cluster_config::ClusterConfig;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::json;

use super::sessions::*;
use crate::rbac::{apply_roles, service_account_kubeconfig};
use crate::support::*;

const SYSTEM_NS: &str = "breakglass-system";

fn config() -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}})
}

#[tokio::test]
async fn the_documented_target_rights_are_enough_for_deploy_plans() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _exclusive = exclusive().await?;
    let hub = env.hub_client().await?;
    apply_roles(&hub, "hub.yaml").await?;
    apply_roles(&env.target_client("target-a").await?, "target.yaml").await?;
    let mut d = Deploy::new(&env, "lp").await?;
    let id = d.id().to_owned();
    let hub_kubeconfig = service_account_kubeconfig(
        &env,
        "hub",
        (SYSTEM_NS, "breakglass-e2e-hub"),
        "breakglass-hub",
        Some("breakglass-leader-election"),
    )
    .await?;
    let hub_path = work_dir().join(format!("hub-sa-dd-{id}.kubeconfig"));
    std::fs::write(&hub_path, hub_kubeconfig)?;
    let cluster = format!("dd-lp-{id}");
    let target_kubeconfig = service_account_kubeconfig(
        &env,
        "target-a",
        ("default", "breakglass-e2e-target"),
        "breakglass-target",
        None,
    )
    .await?;
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), SYSTEM_NS);
    secrets
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": format!("{cluster}-kubeconfig")}, "stringData": {"value": target_kubeconfig}}))?)
        .await?;
    let ccs: Api<ClusterConfig> = Api::namespaced(hub.clone(), SYSTEM_NS);
    ccs.create(&PostParams::default(), &serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
        "metadata": {"name": cluster, "namespace": SYSTEM_NS},
        "spec": {"tenant": format!("tenant-{cluster}"), "kubeconfigSecretRef": {"name": format!("{cluster}-kubeconfig"), "namespace": SYSTEM_NS}}}))?)
        .await?;
    let lease = format!("dd-lp-{id}");
    let mut spec = ServerSpec::on_free_port(&lease, "dd-least-privilege")?;
    spec.kubeconfig = Some(hub_path);
    let server = ServerProcess::start(&env, spec).await?;
    wait_leader(&env, &lease, "dd-least-privilege", Duration::from_secs(40)).await?;

    let result = async {
        let allowed = json!({"clusters": [cluster], "groups": ["developers"]});
        let fresh = format!("dd-lp-fresh-{id}");
        let full = d
            .templates("lpfull", busybox(), json!({
                "allowed": allowed, "targetNamespace": fresh,
                "namespaceConstraints": {"defaultNamespace": fresh, "createIfNotExists": true},
                "resourceQuota": {"maxPods": 3},
                "podDisruptionBudget": {"enabled": true, "minAvailable": 1},
                "auxiliaryResources": [aux("settings", "config", config(), "fail")],
                "requiredAuxiliaryResourceCategories": ["config"],
            }))
            .await?;
        let name = d.session("lpfull", &full, json!({"cluster": cluster})).await?;
        d.wait_state(&name, "Active").await?;
        let created = Api::<Namespace>::all(d.target.clone()).get(&fresh).await?;
        anyhow::ensure!(created.metadata.deletion_timestamp.is_none());
        d.terminate(&name).await?;
        d.wait_clean(&name).await?;

        // No escalate/bind: a Role granting what the server does not hold is refused
        // by the target (impersonation is the way to deploy such RBAC objects).
        let exec_role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "exec"},
            "rules": [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]});
        let escalating = d
            .templates("lpesc", busybox(), json!({
                "allowed": allowed,
                "auxiliaryResources": [aux("exec", "rbac", exec_role, "fail")],
                "requiredAuxiliaryResourceCategories": ["rbac"],
            }))
            .await?;
        let name = d.session("lpesc", &escalating, json!({"cluster": cluster})).await?;
        let s = d.wait_state(&name, "Failed").await?;
        let msg = s.status.and_then(|st| st.message).unwrap_or_default();
        anyhow::ensure!(
            msg.starts_with("failed to deploy resources: auxiliary resource exec:")
                && msg.contains("attempting to grant RBAC permissions not currently held"),
            "{msg}"
        );
        d.wait_clean(&name).await?;

        // Impersonated: the server's identity needs only `impersonate`.
        let ns = d.ns.clone();
        let admin = |doc: serde_json::Value| {
            let target = d.target.clone();
            let ns = ns.clone();
            async move {
                let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
                let (group, plural) = match kind.as_str() {
                    "ServiceAccount" => ("", "serviceaccounts"),
                    "Role" => ("rbac.authorization.k8s.io", "roles"),
                    _ => ("rbac.authorization.k8s.io", "rolebindings"),
                };
                let ar = kube::api::ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", &kind), plural);
                Api::<DynamicObject>::namespaced_with(target, &ns, &ar)
                    .patch(doc["metadata"]["name"].as_str().unwrap_or_default(), &PatchParams::apply("e2e"), &Patch::Apply(&doc))
                    .await
                    .map(|_| ())
            }
        };
        admin(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}})).await?;
        admin(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer"},
            "rules": [{"apiGroups": ["", "apps"], "resources": ["configmaps", "daemonsets"], "verbs": ["create", "patch"]}]})).await?;
        admin(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "deployer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]})).await?;
        let imp = d
            .templates("lpimp", busybox(), json!({
                "allowed": allowed,
                "impersonation": {"serviceAccountRef": {"name": "deployer", "namespace": ns}},
                "auxiliaryResources": [aux("settings", "config", config(), "fail")],
                "requiredAuxiliaryResourceCategories": ["config"],
            }))
            .await?;
        let name = d.session("lpimp", &imp, json!({"cluster": cluster})).await?;
        d.wait_state(&name, "Active").await?;
        d.terminate(&name).await?;
        d.wait_clean(&name).await
    }
    .await;
    if let Err(e) = result {
        anyhow::bail!("{e}; server log:\n{}", server.log_text());
    }
    server.stop()?;
    let _ = ccs.delete(&cluster, &DeleteParams::default()).await;
    let _ = secrets
        .delete(&format!("{cluster}-kubeconfig"), &DeleteParams::default())
        .await;
    d.cleanup().await
}

/// What a crashed leader may leave — objects of every kind and a namespace it created,
/// labelled with a session that no longer exists — is found by label and deleted when
/// a leader starts; an object marked to outlive its session stays.
#[tokio::test]
async fn leftovers_of_every_kind_are_swept_when_a_leader_starts() -> anyhow::Result<()> {
    use breakglass_core::debug::workload;

    let Some(env) = env()? else { return Ok(()) };
    let _exclusive = exclusive().await?;
    let mut d = Deploy::new(&env, "sweep").await?;
    let ghost = format!("ghost-{}", d.id());
    let session: breakglass_api::debug_session::DebugSession = serde_json::from_value(json!({
        "metadata": {"name": ghost, "namespace": "e2e-gone"},
        "spec": {"cluster": "target-a", "templateRef": "gone", "requestedBy": "requester@example.com"},
    }))?;
    let labels = workload::session_labels(&session);
    let created_ns = format!("dd-sweep-ns-{}", d.id());
    d.namespace(&created_ns, json!(labels)).await?;
    let ns = d.ns.clone();
    let mut kept = labels.clone();
    kept.insert(workload::DEBUG_KEEP.to_owned(), "true".to_owned());
    let docs = [
        (
            "",
            "ConfigMap",
            "configmaps",
            json!({"metadata": {"name": "left", "labels": labels}, "data": {"a": "b"}}),
        ),
        (
            "",
            "ConfigMap",
            "configmaps",
            json!({"metadata": {"name": "kept", "labels": kept}, "data": {"a": "b"}}),
        ),
        (
            "networking.k8s.io",
            "NetworkPolicy",
            "networkpolicies",
            json!({"metadata": {"name": "left", "labels": labels}, "spec": {"podSelector": {}}}),
        ),
        (
            "",
            "ResourceQuota",
            "resourcequotas",
            json!({"metadata": {"name": "left", "labels": labels}, "spec": {"hard": {"pods": "1"}}}),
        ),
    ];
    for (group, kind, plural, mut doc) in docs {
        doc["apiVersion"] = json!(if group.is_empty() {
            "v1".to_owned()
        } else {
            format!("{group}/v1")
        });
        doc["kind"] = json!(kind);
        let ar = kube::api::ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, "v1", kind),
            plural,
        );
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Api::<DynamicObject>::namespaced_with(d.target.clone(), &ns, &ar)
            .patch(
                &name,
                &PatchParams::apply("crashed-leader"),
                &Patch::Apply(&doc),
            )
            .await?;
    }
    let left = d.labelled(&ghost).await?;
    anyhow::ensure!(left.len() == 5, "{left:?}");

    let lease = format!("dd-sweep-{}", d.id());
    let server = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "dd-sweep")?).await?;
    wait_leader(&env, &lease, "dd-sweep", Duration::from_secs(40)).await?;
    let result = wait_for(Duration::from_secs(30), "leftovers swept", || async {
        let left = d.labelled(&ghost).await?;
        Ok(left == [format!("ConfigMap/{ns}/kept")])
    })
    .await;
    if let Err(e) = result {
        anyhow::bail!(
            "{e}: {:?}; server log:\n{}",
            d.labelled(&ghost).await?,
            server.log_text()
        );
    }
    server.stop()?;
    d.cleanup().await
}
