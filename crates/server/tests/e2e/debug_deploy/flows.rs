//! Session flows against the real server (see `sessions.rs` for the helpers).

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use super::sessions::*;
use crate::support::*;

/// A rendered pod template with a second document: the ConfigMap, rendered from the
/// session's name and a user variable, exists (labelled) before the pods and is gone
/// after the session ends.
#[tokio::test]
async fn a_rendered_config_map_exists_before_the_pods_and_goes_with_the_session()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "render").await?;
    let pod = json!({"templateString": r#"containers:
- name: debug
  image: busybox:stable
  command: ["sleep", "infinity"]
  resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg-{{ .session.name }}
data:
  session: {{ .session.name }}
  greeting: {{ .vars.greeting | quote }}
"#});
    let extra = json!({"extraDeployVariables": [{"name": "greeting", "inputType": "text", "default": "hi"}]});
    let template = d.templates("render", pod, extra).await?;
    let name = d
        .session(
            "render",
            &template,
            json!({"extraDeployValues": {"greeting": "hello: {world}"}}),
        )
        .await?;
    let s = d.wait_state(&name, "Active").await?;
    let cm = d.one(&name, "ConfigMap").await?;
    assert_eq!(cm["metadata"]["name"], format!("cfg-{name}"));
    assert_eq!(cm["data"]["session"], name.as_str());
    assert_eq!(
        cm["data"]["greeting"], "hello: {world}",
        "a value stays one scalar"
    );
    assert_eq!(
        labels_of(&cm)
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("breakglass")
    );
    let first_pod = d.first_pod_created(&name).await?;
    assert!(created(&cm) <= first_pod, "ConfigMap before the pods");
    let st = s.status.unwrap_or_default();
    let pt = st.pod_template_resource_statuses.unwrap_or_default();
    assert_eq!(pt.len(), 1);
    assert_eq!(
        (pt[0].kind.as_str(), pt[0].created),
        ("ConfigMap", Some(true))
    );
    let sources: Vec<String> = st
        .deployed_resources
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.source.clone())
        .collect();
    assert!(
        sources.contains(&"podTemplateResource".to_owned())
            && sources.contains(&"workload".to_owned()),
        "{sources:?}"
    );

    d.terminate(&name).await?;
    d.wait_clean(&name).await?;
    let api = d.sessions();
    wait_for(
        Duration::from_secs(10),
        "pod-template resource marked deleted",
        || async {
            let st = api.get(&name).await?.status.unwrap_or_default();
            Ok(st
                .pod_template_resource_statuses
                .unwrap_or_default()
                .iter()
                .all(|r| r.deleted == Some(true)))
        },
    )
    .await?;
    d.cleanup().await
}

/// A rendered DaemonSet under `workloadType: Deployment` fails naming both; missing
/// resource requests under enforcement fail; neither leaves anything behind.
#[tokio::test]
async fn plan_refusals_fail_the_session_and_leave_nothing() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "refuse").await?;
    let ds = json!({"templateString": r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: x
spec:
  template:
    spec:
      containers:
      - name: debug
        image: busybox:stable
        resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}
"#});
    let kind = d
        .templates("kind", ds, json!({"workloadType": "Deployment"}))
        .await?;
    let name = d.session("kind", &kind, json!({})).await?;
    let s = d.wait_state(&name, "Failed").await?;
    let msg = s.status.and_then(|st| st.message).unwrap_or_default();
    assert!(
        msg.contains("DaemonSet") && msg.contains("Deployment"),
        "{msg}"
    );
    assert!(d.labelled(&name).await?.is_empty());

    let bare = json!({"template": {"spec": {"containers": [{"name": "bare", "image": "busybox:stable"}]}}});
    let quota = json!({"resourceQuota": {"maxPods": 4, "enforceResourceRequests": true}});
    let enforced = d.templates("req", bare, quota).await?;
    let name = d.session("req", &enforced, json!({})).await?;
    let s = d.wait_state(&name, "Failed").await?;
    let msg = s.status.and_then(|st| st.message).unwrap_or_default();
    assert!(
        msg.starts_with("failed to deploy resources") && msg.contains("bare"),
        "{msg}"
    );
    assert!(d.labelled(&name).await?.is_empty());

    // An extra pod-template document the target rejects fails the session, and what
    // was applied before it is removed.
    let bad_doc = json!({"templateString": r#"containers:
- name: debug
  image: busybox:stable
  resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
data: {a: b}
---
apiVersion: v1
kind: Service
metadata:
  name: broken
spec:
  ports:
  - port: 0
"#});
    let t = d.templates("baddoc", bad_doc, json!({})).await?;
    let name = d.session("baddoc", &t, json!({})).await?;
    let s = d.wait_state(&name, "Failed").await?;
    let st = s.status.unwrap_or_default();
    let msg = st.message.clone().unwrap_or_default();
    assert!(
        msg.starts_with(
            "failed to deploy resources: pod template resource: applying Service broken"
        ),
        "{msg}"
    );
    let docs: Vec<(String, Option<bool>)> = st
        .pod_template_resource_statuses
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.name, r.created))
        .collect();
    assert_eq!(
        docs,
        [
            ("fine".to_owned(), Some(true)),
            ("broken".to_owned(), Some(false))
        ]
    );
    d.wait_clean(&name).await?;

    // An object of the plan's name that someone else owns is never applied over.
    Api::<DynamicObject>::namespaced_with(
        d.target.clone(),
        &d.ns,
        &kube::api::ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "ConfigMap"), "configmaps"),
    )
    .patch("theirs", &PatchParams::apply("someone-else"), &Patch::Apply(&json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}, "data": {"owner": "them"}})))
    .await?;
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}, "data": {"owner": "us"}});
    let extra = json!({"auxiliaryResources": [aux("theirs", "config", theirs, "fail")], "requiredAuxiliaryResourceCategories": ["config"]});
    let t = d.templates("foreign", busybox(), extra).await?;
    let name = d.session("foreign", &t, json!({})).await?;
    let s = d.wait_state(&name, "Failed").await?;
    let msg = s.status.and_then(|st| st.message).unwrap_or_default();
    let ns = &d.ns;
    assert_eq!(
        msg,
        format!(
            "failed to deploy resources: auxiliary resource theirs: ConfigMap {ns}/theirs already exists and does not belong to this session"
        )
    );
    d.cleanup().await
}

/// The quota and the budget exist with the computed values, before the pods.
#[tokio::test]
async fn quota_and_budget_exist_with_the_computed_values() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "quota").await?;
    let extra = json!({
        "workloadType": "Deployment", "replicas": 2,
        "resourceQuota": {"maxPods": 3, "maxCPU": "2", "maxMemory": "1Gi"},
        "podDisruptionBudget": {"enabled": true, "minAvailable": 1},
    });
    let template = d.templates("quota", busybox(), extra).await?;
    let name = d.session("quota", &template, json!({})).await?;
    d.wait_state(&name, "Active").await?;
    let rq = d.one(&name, "ResourceQuota").await?;
    let hard = &rq["spec"]["hard"];
    assert_eq!(hard["pods"], "3", "{hard}");
    let values: Vec<&str> = hard
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| v.as_str())
        .collect();
    assert!(values.contains(&"2") && values.contains(&"1Gi"), "{hard}");
    let pdb = d.one(&name, "PodDisruptionBudget").await?;
    assert_eq!(pdb["spec"]["minAvailable"], 1, "{pdb}");
    let first_pod = d.first_pod_created(&name).await?;
    assert!(created(&rq) <= first_pod && created(&pdb) <= first_pod);
    d.terminate(&name).await?;
    d.wait_clean(&name).await?;
    d.cleanup().await
}

fn netpol() -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "deny-ingress"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
}

/// Not ready until the disruption controller has observed it.
fn budget() -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "aux-budget"},
        "spec": {"minAvailable": 0, "selector": {"matchLabels": {"app": "none"}}}})
}

/// Port 0 is invalid: the apiserver rejects the Service (422).
fn bad_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"},
        "spec": {"ports": [{"port": 0}]}})
}

/// A required NetworkPolicy exists before the pods and is reported ready; an auxiliary
/// resource the target rejects is recorded and ignored under `ignore`, and under `fail`
/// fails the session with nothing of it left on the target.
#[tokio::test]
async fn auxiliary_resources_come_first_and_follow_their_failure_policy() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "aux").await?;
    let spec = |policy: &str| {
        json!({
            "auxiliaryResources": [
                aux("netpol", "network", netpol(), "fail"),
                aux("budget", "network", budget(), "fail"),
                aux("svc", "service", bad_service(), policy),
            ],
            "requiredAuxiliaryResourceCategories": ["network", "service"],
        })
    };
    let ignore = d.templates("ign", busybox(), spec("ignore")).await?;
    let name = d.session("ign", &ignore, json!({})).await?;
    let s = d.wait_state(&name, "Active").await?;
    let np = d.one(&name, "NetworkPolicy").await?;
    assert!(
        created(&np) <= d.first_pod_created(&name).await?,
        "NetworkPolicy before the pods"
    );
    let st = s.status.unwrap_or_default();
    let aux = st.auxiliary_resource_statuses.unwrap_or_default();
    let netpol = aux
        .iter()
        .find(|a| a.name == "netpol")
        .expect("netpol status");
    assert_eq!(
        (netpol.created, netpol.ready, netpol.kind.as_deref()),
        (Some(true), Some(true), Some("NetworkPolicy"))
    );
    let svc = aux.iter().find(|a| a.name == "svc").expect("svc status");
    assert_eq!(svc.created, Some(false));
    assert!(
        svc.error.as_deref().is_some_and(|e| e.contains("Invalid")),
        "{svc:?}"
    );
    // Readiness is read again while the session is Active: the budget becomes Current.
    let api = d.sessions();
    wait_for(
        Duration::from_secs(40),
        "the budget reported ready",
        || async {
            let st = api.get(&name).await?.status.unwrap_or_default();
            let aux = st.auxiliary_resource_statuses.unwrap_or_default();
            Ok(aux.iter().any(|a| {
                a.name == "budget"
                    && a.ready == Some(true)
                    && a.ready_status.as_deref() == Some("Current")
            }))
        },
    )
    .await?;
    d.terminate(&name).await?;
    d.wait_clean(&name).await?;
    wait_for(
        Duration::from_secs(10),
        "created auxiliary resources marked deleted",
        || async {
            let st = api.get(&name).await?.status.unwrap_or_default();
            let aux = st.auxiliary_resource_statuses.unwrap_or_default();
            Ok(aux
                .iter()
                .all(|a| (a.created == Some(true)) == (a.deleted == Some(true))))
        },
    )
    .await?;

    // warn: Active, the error recorded and in the session's message.
    let warn = d.templates("warn", busybox(), spec("warn")).await?;
    let name = d.session("warn", &warn, json!({})).await?;
    let s = d.wait_state(&name, "Active").await?;
    let st = s.status.unwrap_or_default();
    let msg = st.message.unwrap_or_default();
    assert!(
        msg.contains("auxiliary resource svc failed: ") && msg.contains("Invalid"),
        "{msg}"
    );
    let svc = st
        .auxiliary_resource_statuses
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.name == "svc");
    assert!(svc.is_some_and(|a| a.error.is_some() && a.created == Some(false)));
    d.terminate(&name).await?;
    d.wait_clean(&name).await?;

    let fail = d.templates("fail", busybox(), spec("fail")).await?;
    let name = d.session("fail", &fail, json!({})).await?;
    let s = d.wait_state(&name, "Failed").await?;
    let msg = s
        .status
        .as_ref()
        .and_then(|st| st.message.clone())
        .unwrap_or_default();
    assert!(
        msg.starts_with("failed to deploy resources: auxiliary resource svc:"),
        "{msg}"
    );
    d.wait_clean(&name).await?;
    d.cleanup().await
}

/// `createIfNotExists` creates the namespace with `namespaceLabels` (and the session's
/// labels) and removes it when the session ends; `failMode: open` with a missing
/// namespace activates without a workload.
#[tokio::test]
async fn a_created_namespace_goes_with_the_session_and_fail_mode_open_activates_without_workload()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "ns").await?;
    let fresh = format!("dd-fresh-{}", d.id());
    let extra = json!({
        "targetNamespace": fresh,
        "namespaceConstraints": {"defaultNamespace": fresh, "createIfNotExists": true, "namespaceLabels": {"team": "sre"}},
    });
    let template = d.templates("create", busybox(), extra).await?;
    let name = d.session("create", &template, json!({})).await?;
    let s = d.wait_state(&name, "Active").await?;
    let st = s.status.unwrap_or_default();
    let deployed = st.deployed_resources.unwrap_or_default();
    assert_eq!(
        (
            deployed[0].kind.as_str(),
            deployed[0].name.as_str(),
            deployed[0].source.as_deref()
        ),
        ("Namespace", fresh.as_str(), Some("namespace")),
        "{deployed:?}"
    );
    let ns = Api::<Namespace>::all(d.target.clone()).get(&fresh).await?;
    let labels = ns.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("sre"));
    assert_eq!(
        labels.get("breakglass.telekom.com/debug-session"),
        Some(&name)
    );
    d.terminate(&name).await?;
    wait_for(
        Duration::from_secs(30),
        "the created namespace deleted",
        || async {
            let n = Api::<Namespace>::all(d.target.clone())
                .get_opt(&fresh)
                .await?;
            Ok(n.is_none_or(|n| n.metadata.deletion_timestamp.is_some()))
        },
    )
    .await?;
    // The test's own namespace (not created by the server) is never deleted.
    let own = Api::<Namespace>::all(d.target.clone()).get(&d.ns).await?;
    assert!(own.metadata.deletion_timestamp.is_none());

    let missing = format!("dd-missing-{}", d.id());
    let open = d
        .templates(
            "open",
            busybox(),
            json!({"targetNamespace": missing, "failMode": "open"}),
        )
        .await?;
    let name = d.session("open", &open, json!({})).await?;
    let s = d.wait_state(&name, "Active").await?;
    let st = s.status.unwrap_or_default();
    assert_eq!(st.deployed_resources, None);
    assert_eq!(
        st.message.as_deref(),
        Some(format!("failMode open: active without a workload: target namespace {missing} does not exist on cluster target-a").as_str())
    );
    assert!(d.labelled(&name).await?.is_empty());
    d.cleanup().await
}

async fn admin_apply(d: &Deploy, ns: &str, doc: Value) -> anyhow::Result<()> {
    let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
    let (group, plural) = match kind.as_str() {
        "ServiceAccount" => ("", "serviceaccounts"),
        "Role" => ("rbac.authorization.k8s.io", "roles"),
        _ => ("rbac.authorization.k8s.io", "rolebindings"),
    };
    let ar = kube::api::ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, "v1", &kind),
        plural,
    );
    Api::<DynamicObject>::namespaced_with(d.target.clone(), ns, &ar)
        .patch(
            doc["metadata"]["name"].as_str().unwrap_or_default(),
            &PatchParams::apply("e2e"),
            &Patch::Apply(&doc),
        )
        .await?;
    Ok(())
}

/// Impersonation: a missing ServiceAccount fails the session naming it; an account
/// without rights fails it with the apiserver's refusal of that account (the proof the
/// writes were the account's: the server's own identity could have made them) and
/// leaves nothing; with rights in the namespace the session is Active and its objects
/// were server-side applied by our field manager.
#[tokio::test]
async fn impersonated_sessions_deploy_as_the_service_account() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "imp").await?;
    let ns = d.ns.clone();
    let extra = json!({
        "impersonation": {"serviceAccountRef": {"name": "deployer", "namespace": ns}},
        "auxiliaryResources": [aux("netpol", "network", netpol(), "fail")],
        "requiredAuxiliaryResourceCategories": ["network"],
    });
    let template = d.templates("imp", busybox(), extra).await?;
    let name = d.session("nosa", &template, json!({})).await?;
    let s = d.wait_state(&name, "Failed").await?;
    assert_eq!(
        s.status.and_then(|st| st.message).as_deref(),
        Some(format!("failed to deploy resources: impersonation: ServiceAccount {ns}/deployer not found on cluster target-a").as_str())
    );

    admin_apply(
        &d,
        &ns,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}}),
    )
    .await?;
    let user = format!("system:serviceaccount:{ns}:deployer");
    let name = d.session("norights", &template, json!({})).await?;
    let s = d.wait_state(&name, "Failed").await?;
    let msg = s.status.and_then(|st| st.message).unwrap_or_default();
    assert!(
        msg.contains(&format!("impersonation: {user} may not create"))
            && msg.contains(&format!("User \"{user}\" cannot")),
        "{msg}"
    );
    d.wait_clean(&name).await?;

    admin_apply(&d, &ns, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer"},
        "rules": [{"apiGroups": ["", "apps", "networking.k8s.io", "policy"],
            "resources": ["configmaps", "daemonsets", "deployments", "networkpolicies", "resourcequotas", "poddisruptionbudgets"],
            "verbs": ["create", "patch"]}]})).await?;
    admin_apply(&d, &ns, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "deployer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]})).await?;
    let name = d.session("rights", &template, json!({})).await?;
    d.wait_state(&name, "Active").await?;
    let np = d.one(&name, "NetworkPolicy").await?;
    let managers: Vec<(&str, &str)> = np["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or_default(),
                m["operation"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    // The managed fields name the account whose rights made the write.
    let manager = format!("breakglass as {user}");
    assert_eq!(managers, [(manager.as_str(), "Apply")]);
    d.terminate(&name).await?;
    d.wait_clean(&name).await?;
    d.cleanup().await
}

/// An auxiliary resource with `deleteAfter: false` outlives its session, and so does
/// the namespace created for the session while it holds one; everything else goes.
#[tokio::test]
async fn kept_resources_and_their_namespace_outlive_the_session() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "keep").await?;
    let fresh = format!("dd-keep-fresh-{}", d.id());
    let mut kept = aux(
        "notes",
        "notes",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes"}, "data": {"k": "v"}}),
        "fail",
    );
    kept["deleteAfter"] = json!(false);
    let extra = json!({
        "targetNamespace": fresh,
        "namespaceConstraints": {"defaultNamespace": fresh, "createIfNotExists": true},
        "auxiliaryResources": [kept],
        "requiredAuxiliaryResourceCategories": ["notes"],
    });
    let template = d.templates("keep", busybox(), extra).await?;
    let name = d.session("keep", &template, json!({})).await?;
    d.wait_state(&name, "Active").await?;
    d.terminate(&name).await?;
    wait_for(
        Duration::from_secs(20),
        "everything but the kept objects gone",
        || async {
            let left = d.labelled(&name).await?;
            Ok(left
                == [
                    format!("ConfigMap/{fresh}/notes"),
                    format!("Namespace/{fresh}"),
                ])
        },
    )
    .await?;
    let api = d.sessions();
    wait_for(Duration::from_secs(10), "cleanup recorded", || async {
        let st = api.get(&name).await?.status.unwrap_or_default();
        Ok(st.allowed_pods.is_none())
    })
    .await?;
    let st = api.get(&name).await?.status.unwrap_or_default();
    let notes = st.auxiliary_resource_statuses.unwrap_or_default();
    assert_eq!(
        notes[0].deleted, None,
        "a kept resource is not marked deleted"
    );
    d.namespace_to_remove(&fresh);
    d.cleanup().await
}

/// A target that does not answer (a registered cluster whose apiserver is down) is an
/// infrastructure failure: retried, then `failMode` decides — `open` activates without
/// a workload, `closed` fails.
#[tokio::test]
async fn an_unreachable_target_is_retried_then_fail_mode_decides() -> anyhow::Result<()> {
    use breakglass_api::cluster_config::ClusterConfig;
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{DeleteParams, PostParams};

    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Deploy::new(&env, "down").await?;
    let cluster = format!("dd-down-{}", d.id());
    // target-a's kubeconfig, pointing at a port nothing listens on.
    let text = std::fs::read_to_string(env.kubeconfig("target-a")?)?;
    let down = text.replace(&env.server_url("target-a")?, "https://127.0.0.1:1");
    anyhow::ensure!(down != text, "server URL not found in the kubeconfig");
    let hub = env.hub_client().await?;
    let system = "breakglass-system";
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), system);
    let secret = format!("{cluster}-kubeconfig");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "metadata": {"name": secret}, "stringData": {"value": down}}))?,
        )
        .await?;
    let ccs: Api<ClusterConfig> = Api::namespaced(hub.clone(), system);
    ccs.create(&PostParams::default(), &serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
        "metadata": {"name": cluster, "namespace": system},
        "spec": {"tenant": format!("tenant-{cluster}"), "kubeconfigSecretRef": {"name": secret, "namespace": system}}}))?)
        .await?;
    let result = async {
        let allowed = json!({"clusters": [cluster], "groups": ["developers"]});
        for (mode, state, prefix) in [
            (
                "open",
                "Active",
                "failMode open: active without a workload: ",
            ),
            ("closed", "Failed", "failed to deploy resources: "),
        ] {
            let t = d
                .templates(
                    mode,
                    busybox(),
                    json!({"allowed": allowed, "failMode": mode}),
                )
                .await?;
            let name = d.session(mode, &t, json!({"cluster": cluster})).await?;
            let s = d.wait_state(&name, state).await?;
            let msg = s.status.and_then(|st| st.message).unwrap_or_default();
            anyhow::ensure!(
                msg.starts_with(prefix) && msg.contains("listing nodes"),
                "{mode}: {msg}"
            );
        }
        Ok(())
    }
    .await;
    let _ = ccs.delete(&cluster, &DeleteParams::default()).await;
    let _ = secrets.delete(&secret, &DeleteParams::default()).await;
    result?;
    d.cleanup().await
}
