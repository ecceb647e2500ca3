//! The server runs with exactly the rights of `config/rbac/`: on the hub as a
//! ServiceAccount bound to `hub.yaml`, on a target as a ServiceAccount bound to
//! `target.yaml`. Every writer and the webhook's target questions are exercised.

use std::time::Duration;

use breakglass_api::cluster_config::ClusterConfig;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

/// Applies the ClusterRoles and Roles of a file in `config/rbac/`.
pub(crate) async fn apply_roles(client: &kube::Client, file: &str) -> anyhow::Result<Vec<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/rbac")
        .join(file);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(&path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let pp = PatchParams::apply("breakglass-e2e").force();
    let mut names = Vec::new();
    for doc in docs {
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match doc["kind"].as_str() {
            Some("ClusterRole") => {
                Api::<ClusterRole>::all(client.clone())
                    .patch(&name, &pp, &Patch::Apply(&doc))
                    .await?;
                names.push(format!("ClusterRole/{name}"));
            }
            Some("Role") => {
                let ns = doc["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_owned();
                Api::<Role>::namespaced(client.clone(), &ns)
                    .patch(&name, &pp, &Patch::Apply(&doc))
                    .await?;
                names.push(format!("Role/{ns}/{name}"));
            }
            other => anyhow::bail!("{file}: unexpected kind {other:?}"),
        }
    }
    Ok(names)
}

/// A ServiceAccount bound to `cluster_role` (and to `role` in the ServiceAccount's namespace), and a
/// kubeconfig with a token of it.
pub(crate) async fn service_account_kubeconfig(
    env: &TestEnv,
    cluster: &str,
    (sa_ns, name): (&str, &str),
    cluster_role: &str,
    role: Option<&str>,
) -> anyhow::Result<String> {
    let client = env.client(cluster).await?;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), sa_ns);
    if sas.get_opt(name).await?.is_none() {
        sas.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}}))?,
        )
        .await?;
    }
    let pp = PatchParams::apply("breakglass-e2e").force();
    let subject = json!([{"kind": "ServiceAccount", "name": name, "namespace": sa_ns}]);
    Api::<ClusterRoleBinding>::all(client.clone())
        .patch(name, &pp, &Patch::Apply(&json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": subject,
        })))
        .await?;
    if let Some(role) = role {
        Api::<RoleBinding>::namespaced(client.clone(), sa_ns)
            .patch(name, &pp, &Patch::Apply(&json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": sa_ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": subject,
            })))
            .await?;
    }
    let token = sas
        .create_token_request(
            name,
            &PostParams::default(),
            &TokenRequest {
                spec: Some(TokenRequestSpec {
                    expiration_seconds: Some(3600),
                    ..TokenRequestSpec::default()
                }),
                ..TokenRequest::default()
            },
        )
        .await?
        .status
        .and_then(|s| s.token)
        .unwrap_or_default();
    anyhow::ensure!(!token.is_empty(), "no token for {name}");
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": env.server_url(cluster)?,
            "certificate-authority": env.ca_file().display().to_string()}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": cluster, "user": name}}],
        "current-context": "sa",
    });
    Ok(serde_json::to_string_pretty(&kubeconfig)?)
}

#[tokio::test]
async fn the_documented_rights_are_enough() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _hub_for_us = exclusive().await?;
    let hub = env.hub_client().await?;
    let target = env.target_client("target-a").await?;
    apply_roles(&hub, "hub.yaml").await?;
    apply_roles(&target, "target.yaml").await?;
    let id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();

    // The server as a hub ServiceAccount with only hub.yaml.
    let hub_kubeconfig = service_account_kubeconfig(
        &env,
        "hub",
        (SYSTEM_NS, "breakglass-e2e-hub"),
        "breakglass-hub",
        Some("breakglass-leader-election"),
    )
    .await?;
    let hub_path = work_dir().join(format!("hub-sa-{id}.kubeconfig"));
    std::fs::write(&hub_path, hub_kubeconfig)?;
    // A ClusterConfig reaching target-a as a ServiceAccount with only target.yaml.
    let cluster = format!("lp-{id}");
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
        "spec": {"tenant": "tenant-lp", "kubeconfigSecretRef": {"name": format!("{cluster}-kubeconfig"), "namespace": SYSTEM_NS}}}))?)
        .await?;

    let lease = format!("bg-e2e-rbac-{id}");
    let mut spec = ServerSpec::on_free_port(&lease, "least-privilege")?;
    spec.kubeconfig = Some(hub_path.clone());
    let server = ServerProcess::start(&env, spec).await?;
    wait_leader(&env, &lease, "least-privilege", Duration::from_secs(30)).await?;
    // The ClusterConfig reconciler read the Secret, reached the target, wrote status.
    wait_for(
        Duration::from_secs(20),
        &format!("{cluster} Ready"),
        || async {
            let cc = ccs.get(&cluster).await?;
            Ok(cc
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True"))
        },
    )
    .await?;
    // The escalation reconciler writes status; the API creates and decides sessions.
    let fx = Fixture::new(&env, "rbac").await?;
    let group = fx.group("lp");
    fx.escalation(
        "esc",
        with(
            spec_for(&cluster, &group),
            json!({"maxValidFor": "6s", "approvalTimeout": "6s"}),
        ),
    )
    .await?;
    let api = RestClient::new(&server.url());
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let r = api.request(&requester, &cluster, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();
    assert_eq!(
        api.act(&name, "approve", &approver, None).await?.status,
        200
    );

    // The webhook's questions to the target: group check, namespace labels, pods.
    let ns = format!("lp-{id}");
    let namespaces: Api<Namespace> = Api::all(target.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": ns, "labels": {"tier": format!("critical-{id}")}}}),
            )?,
        )
        .await?;
    let role = format!("lp-{id}");
    Api::<ClusterRole>::all(target.clone())
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": role},
            "rules": [{"apiGroups": [""], "resources": ["pods", "pods/exec", "configmaps"], "verbs": ["*"]}]}))?)
        .await?;
    Api::<RoleBinding>::namespaced(target.clone(), &ns)
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("{}{group}", env.group_prefix())}]}))?)
        .await?;
    Api::<Pod>::namespaced(target.clone(), &ns)
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "privileged"},
            "spec": {"containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"privileged": true}}]}}))?)
        .await?;
    let policy = format!("e2e-lp-{id}");
    let policies: Api<breakglass_api::deny_policy::DenyPolicy> = Api::all(hub.clone());
    policies
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DenyPolicy", "metadata": {"name": policy},
            "spec": {"appliesTo": {"clusters": [cluster]},
                "rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["configmaps"],
                    "namespaces": {"selectorTerms": [{"matchLabels": {"tier": format!("critical-{id}")}}]}}],
                "podSecurityRules": {"riskFactors": {"privilegedContainer": 100}, "thresholds": [{"maxScore": 50, "action": "allow"}]}}}))?)
        .await?;
    let sar = |verb: &str, resource: &str, subresource: &str, name: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "requester@example.com", "groups": [format!("{}developers", env.group_prefix()), "system:authenticated"],
                "resourceAttributes": {"verb": verb, "resource": resource, "subresource": subresource, "name": name,
                    "namespace": ns, "version": "v1"}}})
    };
    let path = format!("/api/breakglass/webhook/authorize/{cluster}");
    let decide = |body: Value| {
        let api = api.clone();
        let path = path.clone();
        async move {
            let r = api.call("POST", &path, None, Some(body)).await?;
            anyhow::ensure!(r.status == 200, "{}", r.text);
            Ok::<(bool, String), anyhow::Error>((
                r.body["status"]["allowed"].as_bool().unwrap_or(false),
                r.body["status"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ))
        }
    };
    wait_for(Duration::from_secs(10), "policy seen", || async {
        Ok(!decide(sar("delete", "configmaps", "", "")).await?.0)
    })
    .await?;
    let (allowed, reason) = decide(sar("list", "pods", "", "")).await?;
    assert!(
        allowed,
        "group check through the target ServiceAccount: {reason}"
    );
    let (allowed, reason) = decide(sar("delete", "configmaps", "", "")).await?;
    assert!(
        !allowed && reason.contains(&format!("Denied by policy {policy}")),
        "namespace labels: {reason}"
    );
    let (allowed, reason) = decide(sar("create", "pods", "exec", "privileged")).await?;
    assert!(
        !allowed && !reason.contains("unavailable"),
        "pod read: {reason}"
    );
    // The timers write as this identity too.
    fx.wait_state(&name, "Expired", Duration::from_secs(20))
        .await?;
    let log = server.log_text();
    assert!(
        !log.contains("is forbidden"),
        "the server hit a missing right:\n{}",
        log.lines()
            .filter(|l| l.contains("forbidden"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    server.stop()?;

    let _ = policies.delete(&policy, &DeleteParams::default()).await;
    let _ = ccs.delete(&cluster, &DeleteParams::default()).await;
    let _ = secrets
        .delete(&format!("{cluster}-kubeconfig"), &DeleteParams::default())
        .await;
    let _ = namespaces.delete(&ns, &DeleteParams::background()).await;
    let _ = Api::<ClusterRole>::all(target)
        .delete(&role, &DeleteParams::default())
        .await;
    fx.cleanup().await
}

fn spec_for(cluster: &str, group: &str) -> Value {
    spec(&[cluster], group)
}
