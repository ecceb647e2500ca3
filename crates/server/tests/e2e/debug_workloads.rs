//! End-to-end: debug workloads. DebugSessions are created directly on the hub (spec
//! only, as the REST create writes them) against templates, bindings and pod templates
//! made per test; the leader's reconciler resolves, deploys on target-a (kwok nodes,
//! control-plane tainted), follows the pods into `status.allowedPods`, ends sessions on
//! their timers and removes everything labelled with them — also after a crash.

use std::time::Duration;

use breakglass_api::debug_session::DebugSession;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::support::*;

const TARGET: &str = "target-a";
const SESSION_LABEL: &str = "breakglass.telekom.com/debug-session";

/// Per-test objects: a hub namespace for sessions, a target namespace for workloads,
/// and cluster-scoped templates named after the test.
struct Debug {
    fx: Fixture,
    target: Client,
    target_ns: String,
    names: Vec<(&'static str, String)>,
}

impl Debug {
    async fn new(env: &TestEnv, prefix: &str) -> anyhow::Result<Self> {
        let fx = Fixture::new(env, prefix).await?;
        let target = env.target_client(TARGET).await?;
        let target_ns = format!("dbg-{prefix}-{}", fx.id);
        Api::<Namespace>::all(target.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": target_ns}}))?,
            )
            .await?;
        Ok(Self {
            fx,
            target,
            target_ns,
            names: Vec::new(),
        })
    }

    async fn create(
        &mut self,
        kind: &'static str,
        plural: &str,
        name: &str,
        spec: Value,
    ) -> anyhow::Result<()> {
        create_cluster_object(&self.fx.hub(), kind, plural, name, spec).await?;
        self.names.push((plural_static(plural), name.to_owned()));
        Ok(())
    }

    /// A structured pod template and a session template deploying it into the test's
    /// target namespace; `extra` is merged into the session template's spec.
    async fn templates(&mut self, extra: Value) -> anyhow::Result<String> {
        let name = format!("wl-{}", self.fx.id);
        self.create("DebugPodTemplate", "debugpodtemplates", &name, json!({
            "displayName": "busybox",
            "template": {"spec": {"containers": [{"name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"]}]}},
        }))
        .await?;
        let spec = with(
            json!({
                "podTemplateRef": {"name": name},
                "targetNamespace": self.target_ns,
                "allowed": {"clusters": [TARGET], "groups": ["developers"]},
            }),
            extra,
        );
        self.create("DebugSessionTemplate", "debugsessiontemplates", &name, spec)
            .await?;
        Ok(name)
    }

    /// Creates a DebugSession as the REST create does (spec only).
    async fn session(&self, name: &str, template: &str, extra: Value) -> anyhow::Result<String> {
        let name = format!("{name}-{}", self.fx.id);
        let spec = with(
            json!({
                "cluster": TARGET,
                "templateRef": template,
                "requestedBy": "requester@example.com",
                "userGroups": ["developers"],
            }),
            extra,
        );
        let s: DebugSession = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "DebugSession",
            "metadata": {"name": name, "namespace": self.fx.ns},
            "spec": spec,
        }))?;
        self.sessions().create(&PostParams::default(), &s).await?;
        Ok(name)
    }

    fn sessions(&self) -> Api<DebugSession> {
        Api::namespaced(self.fx.hub(), &self.fx.ns)
    }

    async fn wait_state(
        &self,
        name: &str,
        state: &str,
        timeout: Duration,
    ) -> anyhow::Result<DebugSession> {
        let api = self.sessions();
        wait_for(
            timeout,
            &format!("debug session {name} {state}"),
            || async {
                let s = api.get(name).await?;
                let now = s
                    .status
                    .as_ref()
                    .and_then(|st| st.state)
                    .map(|st| st.to_string());
                if now.as_deref() != Some(state)
                    && now
                        .as_deref()
                        .is_some_and(|n| n != "Pending" && n != "PendingApproval" && n != "Active")
                {
                    anyhow::bail!(
                        "session {name} ended in {now:?}: {:?}",
                        s.status.as_ref().and_then(|st| st.message.clone())
                    );
                }
                Ok(now.as_deref() == Some(state))
            },
        )
        .await?;
        Ok(api.get(name).await?)
    }

    /// Pods, DaemonSets and Deployments labelled with the session on the target.
    async fn labelled(&self, session: &str) -> anyhow::Result<usize> {
        let lp = ListParams::default().labels(&format!("{SESSION_LABEL}={session}"));
        let pods = Api::<Pod>::all(self.target.clone())
            .list_metadata(&lp)
            .await?
            .items
            .len();
        let ds = Api::<DaemonSet>::all(self.target.clone())
            .list_metadata(&lp)
            .await?
            .items
            .len();
        let dep = Api::<Deployment>::all(self.target.clone())
            .list_metadata(&lp)
            .await?
            .items
            .len();
        Ok(pods + ds + dep)
    }

    async fn wait_gone(&self, session: &str, timeout: Duration) -> anyhow::Result<()> {
        wait_for(
            timeout,
            &format!("every object of {session} gone"),
            || async { Ok(self.labelled(session).await? == 0) },
        )
        .await
    }

    /// Waits until `status.allowedPods` lists `count` Running, ready pods; returns their nodes.
    async fn wait_pods(&self, name: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let api = self.sessions();
        wait_for(
            Duration::from_secs(45),
            &format!("{count} running pods of {name}"),
            || async {
                let s = api.get(name).await?;
                let pods = s.status.and_then(|st| st.allowed_pods).unwrap_or_default();
                Ok(pods.len() == count
                    && pods
                        .iter()
                        .all(|p| p.phase.as_deref() == Some("Running") && p.ready == Some(true)))
            },
        )
        .await?;
        let s = api.get(name).await?;
        let mut nodes: Vec<String> = s
            .status
            .and_then(|st| st.allowed_pods)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.node_name)
            .collect();
        nodes.sort();
        Ok(nodes)
    }

    async fn cleanup(self) -> anyhow::Result<()> {
        let hub = self.fx.hub();
        for (plural, name) in &self.names {
            let kind = match *plural {
                "debugpodtemplates" => "DebugPodTemplate",
                "debugsessiontemplates" => "DebugSessionTemplate",
                _ => continue,
            };
            let gvk =
                kube::api::GroupVersionKind::gvk("breakglass.t-caas.telekom.com", "v1alpha1", kind);
            let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
            let api: Api<kube::api::DynamicObject> = Api::all_with(hub.clone(), &ar);
            let _ = api.delete(name, &DeleteParams::default()).await;
        }
        let _ = Api::<Namespace>::all(self.target.clone())
            .delete(&self.target_ns, &DeleteParams::background())
            .await;
        self.fx.cleanup().await
    }
}

fn plural_static(plural: &str) -> &'static str {
    match plural {
        "debugpodtemplates" => "debugpodtemplates",
        "debugsessiontemplates" => "debugsessiontemplates",
        _ => "other",
    }
}

#[tokio::test]
async fn auto_approved_daemonset_avoids_the_control_plane_and_lists_its_pods() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "ds").await?;
    let template = d.templates(json!({})).await?;
    let name = d.session("ds", &template, json!({})).await?;
    let s = d
        .wait_state(&name, "Active", Duration::from_secs(30))
        .await?;
    let status = s.status.clone().unwrap();
    assert_eq!(
        status.approval.as_ref().and_then(|a| a.required),
        Some(false)
    );
    assert!(status.resolved_template.is_some());
    let participants = status.participants.clone().unwrap();
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0].user, "requester@example.com");
    let ops = status.allowed_pod_operations.unwrap();
    assert_eq!((ops.exec, ops.logs), (Some(true), Some(false)));
    let deployed = status.deployed_resources.unwrap();
    assert_eq!(deployed.len(), 1);
    assert_eq!(deployed[0].kind, "DaemonSet");
    assert_eq!(deployed[0].name, name);

    let nodes = d.wait_pods(&name, 2).await?;
    assert_eq!(nodes, ["target-a-worker", "target-a-worker2"]);
    let ds = Api::<DaemonSet>::namespaced(d.target.clone(), &d.target_ns)
        .get(&name)
        .await?;
    let labels = ds.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get(SESSION_LABEL), Some(&name));
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("breakglass")
    );
    assert_eq!(
        labels
            .get("breakglass.telekom.com/debug-cluster")
            .map(String::as_str),
        Some(TARGET)
    );
    // No pod on the tainted control-plane node.
    let pods = Api::<Pod>::namespaced(d.target.clone(), &d.target_ns)
        .list(&ListParams::default().labels(&format!("{SESSION_LABEL}={name}")))
        .await?;
    assert!(
        pods.items
            .iter()
            .all(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref())
                != Some("target-a-control-plane"))
    );

    // Deleting a pod is seen at once: it leaves allowedPods, the DaemonSet's
    // replacement enters it.
    let victim = pods.items[0].metadata.name.clone().unwrap();
    Api::<Pod>::namespaced(d.target.clone(), &d.target_ns)
        .delete(
            &victim,
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..DeleteParams::default()
            },
        )
        .await?;
    let api = d.sessions();
    wait_for(
        Duration::from_secs(30),
        "the deleted pod replaced in allowedPods",
        || async {
            let pods = api
                .get(&name)
                .await?
                .status
                .and_then(|s| s.allowed_pods)
                .unwrap_or_default();
            Ok(pods.len() == 2 && pods.iter().all(|p| p.name != victim))
        },
    )
    .await?;

    // Ending the session removes everything labelled with it.
    patch_debug_status(
        &d.fx.hub(),
        &d.fx.ns,
        &name,
        json!({"state": "Terminated", "message": "Terminated by test"}),
    )
    .await?;
    d.wait_gone(&name, Duration::from_secs(10)).await?;
    wait_for(Duration::from_secs(10), "allowedPods cleared", || async {
        Ok(api
            .get(&name)
            .await?
            .status
            .and_then(|s| s.allowed_pods)
            .is_none())
    })
    .await?;
    d.cleanup().await
}

#[tokio::test]
async fn deployment_gets_its_replicas_respects_denied_nodes_and_is_removed_after_expiry()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "dep").await?;
    let template = d
        .templates(json!({
            "workloadType": "Deployment",
            "replicas": 3,
            "schedulingConstraints": {"deniedNodes": ["*-worker2"]},
            "gracePeriodBeforeExpiry": "30s",
        }))
        .await?;
    let name = d
        .session("dep", &template, json!({"requestedDuration": "1m"}))
        .await?;
    let s = d
        .wait_state(&name, "Active", Duration::from_secs(30))
        .await?;
    let nodes = d.wait_pods(&name, 3).await?;
    assert_eq!(
        nodes,
        ["target-a-worker", "target-a-worker", "target-a-worker"]
    );
    let dep = Api::<Deployment>::namespaced(d.target.clone(), &d.target_ns)
        .get(&name)
        .await?;
    assert_eq!(dep.spec.and_then(|s| s.replicas), Some(3));

    // The grace-period notice comes 30 s before expiry.
    let api = d.sessions();
    wait_for(Duration::from_secs(45), "expiring-soon notice", || async {
        let st = api.get(&name).await?.status.unwrap_or_default();
        Ok(st.message.as_deref() == Some("Session expiring soon"))
    })
    .await?;
    // At expiry (1 minute after activation) the session ends and within 10 s every
    // labelled object is gone.
    let expires = s.status.and_then(|st| st.expires_at).unwrap().0;
    let wait = expires.duration_since(jiff::Timestamp::now());
    let wait = Duration::try_from(wait).unwrap_or_default();
    d.wait_state(&name, "Expired", wait + Duration::from_secs(5))
        .await?;
    d.wait_gone(&name, Duration::from_secs(10)).await?;
    crate::mail::expect_exactly(
        &env.mailbox(),
        &format!("[Breakglass] Debug Session Expired: {name}"),
        &["requester@example.com"],
    )
    .await?;
    d.cleanup().await
}

#[tokio::test]
async fn approval_path_and_deployment_failures() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "appr").await?;
    let template = d
        .templates(json!({"approvers": {"groups": ["sre-leads"]}, "workloadType": "Deployment"}))
        .await?;
    let name = d.session("appr", &template, json!({})).await?;
    let s = d
        .wait_state(&name, "PendingApproval", Duration::from_secs(30))
        .await?;
    assert_eq!(
        s.status
            .as_ref()
            .and_then(|st| st.approval.as_ref())
            .and_then(|a| a.required),
        Some(true)
    );
    assert_eq!(
        d.labelled(&name).await?,
        0,
        "nothing deployed before approval"
    );
    // Approve as the REST approve does: record the decision; the reconciler activates.
    patch_debug_status(&d.fx.hub(), &d.fx.ns, &name, json!({"approval": {
        "required": true, "approvedBy": "approver@example.com", "approvedAt": jiff::Timestamp::now().to_string(),
    }}))
    .await?;
    d.wait_state(&name, "Active", Duration::from_secs(30))
        .await?;
    d.wait_pods(&name, 1).await?;

    // A missing template, a missing binding and a missing namespace fail with a message.
    let missing = d.session("notpl", "no-such-template", json!({})).await?;
    let s = d
        .wait_state(&missing, "Failed", Duration::from_secs(30))
        .await?;
    assert_eq!(
        s.status.and_then(|st| st.message).as_deref(),
        Some("template not found: no-such-template")
    );
    let nobind = d
        .session(
            "nobind",
            &template,
            json!({"bindingRef": {"name": "nope", "namespace": d.fx.ns}}),
        )
        .await?;
    let s = d
        .wait_state(&nobind, "Failed", Duration::from_secs(30))
        .await?;
    assert!(
        s.status
            .and_then(|st| st.message)
            .unwrap_or_default()
            .contains("binding not found")
    );
    let tpl2 = format!("{template}-nons");
    d.create(
        "DebugSessionTemplate",
        "debugsessiontemplates",
        &tpl2,
        json!({
            "podTemplateRef": {"name": template}, "targetNamespace": "does-not-exist",
        }),
    )
    .await?;
    let nons = d.session("nons", &tpl2, json!({})).await?;
    let s = d
        .wait_state(&nons, "Failed", Duration::from_secs(30))
        .await?;
    let msg = s.status.and_then(|st| st.message).unwrap_or_default();
    assert!(
        msg.contains("does-not-exist") && msg.starts_with("failed to deploy resources"),
        "{msg}"
    );
    // The requester is told, with the reason.
    let failed = crate::mail::expect_exactly(
        &env.mailbox(),
        &format!("[Breakglass] Debug Session Failed: {nons}"),
        &["requester@example.com"],
    )
    .await?;
    assert!(failed.text.contains("does-not-exist"), "{}", failed.text);

    // failMode open: Active without a workload, saying why; kubectl-debug mode deploys nothing.
    let open = format!("{template}-open");
    d.create("DebugSessionTemplate", "debugsessiontemplates", &open, json!({
        "podTemplateRef": {"name": template}, "targetNamespace": "does-not-exist", "failMode": "open",
    }))
    .await?;
    let kd = format!("{template}-kd");
    d.create(
        "DebugSessionTemplate",
        "debugsessiontemplates",
        &kd,
        json!({"mode": "kubectl-debug"}),
    )
    .await?;
    for (session, tpl, want) in [("open", &open, Some("failMode open")), ("kd", &kd, None)] {
        let n = d.session(session, tpl, json!({})).await?;
        let s = d.wait_state(&n, "Active", Duration::from_secs(30)).await?;
        let st = s.status.unwrap_or_default();
        assert_eq!(st.deployed_resources, None, "{session}");
        let msg = st.message.unwrap_or_default();
        match want {
            Some(w) => assert!(msg.contains(w) && msg.contains("does-not-exist"), "{msg}"),
            None => assert_eq!(msg, ""),
        }
        assert_eq!(d.labelled(&n).await?, 0);
    }
    d.cleanup().await
}

/// Patches a DebugSession's status on the hub.
async fn patch_debug_status(
    hub: &Client,
    ns: &str,
    name: &str,
    status: Value,
) -> anyhow::Result<()> {
    Api::<DebugSession>::namespaced(hub.clone(), ns)
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": status})),
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn approval_timeout_retention_and_crash_leftovers() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _exclusive = exclusive().await?;
    let lease = format!("dbg-wl-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let mut spec = ServerSpec::on_free_port(&lease, "wl-a")?;
    spec.extra_server_config =
        "debugSessions:\n  approvalTimeout: 5s\n  retentionPeriod: 20s\n".to_owned();
    let server = ServerProcess::start(&env, spec.clone()).await?;
    wait_leader(&env, &lease, "wl-a", Duration::from_secs(40)).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "crash").await?;
    let approval = d
        .templates(json!({"approvers": {"users": ["approver@example.com"]}}))
        .await?;

    // Approval timeout, then retention.
    let waiting = d.session("wait", &approval, json!({})).await?;
    let s = d
        .wait_state(&waiting, "Failed", Duration::from_secs(30))
        .await;
    let s = match s {
        Ok(s) => s,
        Err(e) => anyhow::bail!("{e}; server log:\n{}", server.log_text()),
    };
    assert_eq!(
        s.status.and_then(|st| st.message).as_deref(),
        Some("Approval timed out after 5s")
    );
    let api = d.sessions();
    wait_for(
        Duration::from_secs(40),
        "the failed session deleted after retention",
        || async { Ok(api.get_opt(&waiting).await?.is_none()) },
    )
    .await?;

    // Two active sessions; the server dies; one session is ended and the other deleted
    // while it is down; after the restart nothing of either is left.
    let tpl = format!("{approval}-auto");
    d.create(
        "DebugSessionTemplate",
        "debugsessiontemplates",
        &tpl,
        json!({
            "podTemplateRef": {"name": approval}, "targetNamespace": d.target_ns,
        }),
    )
    .await?;
    let ended = d.session("ended", &tpl, json!({})).await?;
    let gone = d.session("gone", &tpl, json!({})).await?;
    for n in [&ended, &gone] {
        d.wait_state(n, "Active", Duration::from_secs(30)).await?;
        d.wait_pods(n, 2).await?;
    }
    server.kill()?;
    patch_debug_status(
        &d.fx.hub(),
        &d.fx.ns,
        &ended,
        json!({"state": "Terminated", "message": "ended while the server was down"}),
    )
    .await?;
    api.delete(&gone, &DeleteParams::default()).await?;
    assert!(d.labelled(&ended).await? > 0 && d.labelled(&gone).await? > 0);
    let mut spec2 = ServerSpec::on_free_port(&lease, "wl-b")?;
    spec2.extra_server_config = spec.extra_server_config.clone();
    let server = ServerProcess::start(&env, spec2).await?;
    wait_leader(&env, &lease, "wl-b", Duration::from_secs(40)).await?;
    d.wait_gone(&ended, Duration::from_secs(20)).await?;
    d.wait_gone(&gone, Duration::from_secs(20)).await?;
    server.stop()?;
    d.cleanup().await
}

/// The server with exactly the rights of `config/rbac/` (hub.yaml on the hub,
/// target.yaml on target-a, both as ServiceAccounts) deploys, follows and removes a
/// debug workload.
#[tokio::test]
async fn the_documented_target_rights_are_enough_for_debug_workloads() -> anyhow::Result<()> {
    use crate::rbac::{apply_roles, service_account_kubeconfig};
    use breakglass_api::cluster_config::ClusterConfig;
    use k8s_openapi::api::core::v1::Secret;

    let Some(env) = env()? else { return Ok(()) };
    let _exclusive = exclusive().await?;
    let hub = env.hub_client().await?;
    apply_roles(&hub, "hub.yaml").await?;
    apply_roles(&env.target_client(TARGET).await?, "target.yaml").await?;
    let mut d = Debug::new(&env, "lp").await?;
    let id = d.fx.id.clone();
    let hub_kubeconfig = service_account_kubeconfig(
        &env,
        "hub",
        (SYSTEM_NS, "breakglass-e2e-hub"),
        "breakglass-hub",
        Some("breakglass-leader-election"),
    )
    .await?;
    let hub_path = work_dir().join(format!("hub-sa-dbg-{id}.kubeconfig"));
    std::fs::write(&hub_path, hub_kubeconfig)?;
    let cluster = format!("dbg-lp-{id}");
    let target_kubeconfig = service_account_kubeconfig(
        &env,
        TARGET,
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

    let lease = format!("dbg-lp-{id}");
    let mut spec = ServerSpec::on_free_port(&lease, "dbg-least-privilege")?;
    spec.kubeconfig = Some(hub_path);
    let server = ServerProcess::start(&env, spec).await?;
    wait_leader(&env, &lease, "dbg-least-privilege", Duration::from_secs(40)).await?;

    // Glob deniedNodes need the node list; the DaemonSet then runs on one worker.
    let template = d
        .templates(json!({"schedulingConstraints": {"deniedNodes": ["*-worker2"]}}))
        .await?;
    let name = d
        .session("lp", &template, json!({"cluster": cluster}))
        .await?;
    let result = async {
        d.wait_state(&name, "Active", Duration::from_secs(30))
            .await?;
        let nodes = d.wait_pods(&name, 1).await?;
        anyhow::ensure!(nodes == ["target-a-worker"], "{nodes:?}");
        patch_debug_status(&d.fx.hub(), &d.fx.ns, &name, json!({"state": "Terminated"})).await?;
        d.wait_gone(&name, Duration::from_secs(10)).await
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

/// A node added after deployment that matches a glob `deniedNodes` pattern is excluded
/// too: the leader watches the target's nodes and re-applies the workload.
#[tokio::test]
async fn a_new_node_matching_a_denied_glob_gets_no_debug_pod() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Node;

    let Some(env) = env()? else { return Ok(()) };
    // Exclusive: a new node would otherwise receive other tests' DaemonSet pods.
    let _exclusive = exclusive().await?;
    let lease = format!(
        "dbg-nodes-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let server = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "wl-nodes")?).await?;
    wait_leader(&env, &lease, "wl-nodes", Duration::from_secs(40)).await?;
    let mut d = Debug::new(&env, "nodes").await?;
    let template = d
        .templates(json!({"schedulingConstraints": {"deniedNodes": ["*-extra-*"]}}))
        .await?;
    let name = d.session("nodes", &template, json!({})).await?;
    d.wait_state(&name, "Active", Duration::from_secs(30))
        .await?;
    d.wait_pods(&name, 2).await?;

    let node_name = format!("{TARGET}-extra-{}", d.fx.id);
    let nodes: Api<Node> = Api::all(d.target.clone());
    nodes
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {
                "name": node_name,
                "labels": {"kubernetes.io/hostname": node_name, "kubernetes.io/os": "linux", "type": "kwok"},
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            },
        }))?)
        .await?;
    let result = async {
        let dss = Api::<DaemonSet>::namespaced(d.target.clone(), &d.target_ns);
        wait_for(
            Duration::from_secs(20),
            "the DaemonSet excludes the new node",
            || async {
                let ds = dss.get(&name).await?;
                let text = serde_json::to_string(&ds.spec)?;
                Ok(text.contains(&node_name))
            },
        )
        .await?;
        let pods = Api::<Pod>::namespaced(d.target.clone(), &d.target_ns);
        let api = d.sessions();
        wait_for(
            Duration::from_secs(30),
            "no debug pod on the new node, two on the workers",
            || async {
                let on_new = pods
                    .list(&ListParams::default().labels(&format!("{SESSION_LABEL}={name}")))
                    .await?
                    .items
                    .iter()
                    .any(|p| {
                        p.spec.as_ref().and_then(|s| s.node_name.as_deref())
                            == Some(node_name.as_str())
                    });
                let listed = api
                    .get(&name)
                    .await?
                    .status
                    .and_then(|s| s.allowed_pods)
                    .unwrap_or_default();
                Ok(!on_new
                    && listed.len() == 2
                    && listed
                        .iter()
                        .all(|p| p.node_name.as_deref() != Some(node_name.as_str())))
            },
        )
        .await
    }
    .await;
    let _ = nodes.delete(&node_name, &DeleteParams::default()).await;
    if let Err(e) = result {
        anyhow::bail!("{e}; server log:\n{}", server.log_text());
    }
    server.stop()?;
    d.cleanup().await
}
