//! End-to-end: debug-session discovery (`/api/debugSessions/templates…`,
//! `…/podTemplates…`) and requests (`POST /api/debugSessions`), as real Dex users
//! against the testenv hub.

use std::time::Duration;

use breakglass_api::debug_session::DebugSession;
use breakglass_api::rest::debug::catalogue::{
    ClustersQuery, TemplateList, TemplateView, TemplatesQuery,
};
use breakglass_api::{DebugPodTemplate, DebugSessionClusterBinding, DebugSessionTemplate, labels};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const SESSIONS_NS: &str = "breakglass-system";

/// The cluster-scoped objects and sessions a test creates, removed at the end (and
/// from `Drop` when the test failed first).
struct Debug {
    fx: Option<Fixture>,
    env: breakglass_testenv::TestEnv,
    hub: kube::Client,
    templates: Vec<String>,
    pod_templates: Vec<String>,
}

impl Debug {
    async fn new(env: &breakglass_testenv::TestEnv, prefix: &str) -> anyhow::Result<Self> {
        let fx = Fixture::new(env, prefix).await?;
        Ok(Self {
            hub: fx.hub(),
            fx: Some(fx),
            env: env.clone(),
            templates: Vec::new(),
            pod_templates: Vec::new(),
        })
    }

    fn id(&self) -> String {
        self.fx.as_ref().map(|f| f.id.clone()).unwrap_or_default()
    }

    fn ns(&self) -> String {
        self.fx.as_ref().map(|f| f.ns.clone()).unwrap_or_default()
    }

    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.id())
    }

    async fn pod_template(&mut self, base: &str, spec: Value) -> anyhow::Result<String> {
        let name = self.name(base);
        let obj: DebugPodTemplate = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugPodTemplate",
            "metadata": {"name": name}, "spec": spec}))?;
        Api::<DebugPodTemplate>::all(self.hub.clone())
            .create(&PostParams::default(), &obj)
            .await?;
        self.pod_templates.push(name.clone());
        Ok(name)
    }

    async fn template(&mut self, base: &str, spec: Value) -> anyhow::Result<String> {
        let name = self.name(base);
        let obj: DebugSessionTemplate = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugSessionTemplate",
            "metadata": {"name": name, "labels": {"e2e": self.id()}}, "spec": spec}))?;
        Api::<DebugSessionTemplate>::all(self.hub.clone())
            .create(&PostParams::default(), &obj)
            .await?;
        self.templates.push(name.clone());
        Ok(name)
    }

    async fn binding(&self, base: &str, spec: Value) -> anyhow::Result<String> {
        let name = self.name(base);
        let ns = self.ns();
        let obj: DebugSessionClusterBinding = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugSessionClusterBinding",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}))?;
        Api::<DebugSessionClusterBinding>::namespaced(self.hub.clone(), &ns)
            .create(&PostParams::default(), &obj)
            .await?;
        Ok(name)
    }

    /// Waits until the server lists `template` to `user` (the mirrors have caught up).
    async fn visible(
        &self,
        api: &RestClient,
        user_token: &str,
        template: &str,
    ) -> anyhow::Result<()> {
        let path = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
        wait_for(Duration::from_secs(20), "template visible", || async {
            Ok(template_names(&api.get(path, user_token).await?).contains(&template.to_owned()))
        })
        .await
    }

    async fn cleanup(mut self) -> anyhow::Result<()> {
        remove(&self.hub, &self.templates, &self.pod_templates).await;
        self.templates.clear();
        self.pod_templates.clear();
        if let Some(fx) = self.fx.take() {
            fx.cleanup().await?;
        }
        Ok(())
    }
}

async fn remove(hub: &kube::Client, templates: &[String], pod_templates: &[String]) {
    let sessions: Api<DebugSession> = Api::namespaced(hub.clone(), SESSIONS_NS);
    for t in templates {
        let selector = format!("{}={t}", labels::DEBUG_TEMPLATE);
        let _ = sessions
            .delete_collection(
                &DeleteParams::default(),
                &ListParams::default().labels(&selector),
            )
            .await;
        let _ = Api::<DebugSessionTemplate>::all(hub.clone())
            .delete(t, &DeleteParams::default())
            .await;
    }
    for p in pod_templates {
        let _ = Api::<DebugPodTemplate>::all(hub.clone())
            .delete(p, &DeleteParams::default())
            .await;
    }
}

impl Drop for Debug {
    fn drop(&mut self) {
        if self.templates.is_empty() && self.pod_templates.is_empty() {
            return;
        }
        let env = self.env.clone();
        let (t, p) = (self.templates.clone(), self.pod_templates.clone());
        run_detached(move || async move {
            if let Ok(hub) = env.hub_client().await {
                remove(&hub, &t, &p).await;
            }
        });
    }
}

fn template_names(r: &Reply) -> Vec<String> {
    r.body["templates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

fn structured_pod() -> Value {
    json!({"template": {"spec": {"containers": [{"name": "debug", "image": "busybox:stable"}]}}})
}

async fn create(api: &RestClient, token: &str, body: Value) -> anyhow::Result<Reply> {
    api.post("/api/debugSessions", token, body).await
}

#[tokio::test]
async fn discovery_differs_per_user() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "dbgdisc").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let nobody = token(&env, "nobody").await?;

    let pod = d.pod_template("pod", structured_pod()).await?;
    let pod_str = d
        .pod_template(
            "podstr",
            json!({"templateString": "containers:\n- name: x\n  image: busybox\n"}),
        )
        .await?;
    let dev = d
        .template(
            "dev",
            json!({"displayName": "Dev tools", "podTemplateRef": {"name": pod}, "priority": 5,
            "allowed": {"groups": ["developers"]},
            "schedulingOptions": {"options": [
                {"name": "std", "displayName": "Standard"},
                {"name": "big", "displayName": "Big nodes", "allowedGroups": ["sre-leads"]}]}}),
        )
        .await?;
    let sre = d
        .template(
            "sre",
            json!({"podTemplateRef": {"name": pod}, "allowed": {"groups": ["sre-leads"]},
            "approvers": {"groups": ["sre-leads"]}}),
        )
        .await?;
    let hidden = d
        .template(
            "hidden",
            json!({"podTemplateRef": {"name": pod}, "hidden": true,
            "allowed": {"groups": ["developers"]}}),
        )
        .await?;
    let b_dev = d
        .binding(
            "dev",
            json!({"templateRef": {"name": dev}, "clusters": ["target-*"]}),
        )
        .await?;
    d.binding(
        "sre",
        json!({"templateRef": {"name": sre}, "clusters": ["target-a"]}),
    )
    .await?;
    d.binding(
        "hidden",
        json!({"templateRef": {"name": hidden}, "clusters": ["target-b"]}),
    )
    .await?;
    d.visible(&api, &requester, &dev).await?;
    d.visible(&api, &approver, &sre).await?;
    let requester_c = client(&server.url, &requester)?;
    let approver_c = client(&server.url, &approver)?;
    let nobody_c = client(&server.url, &nobody)?;
    let names_of = |list: &TemplateList| -> Vec<String> {
        list.templates.iter().map(|t| t.name.clone()).collect()
    };
    let find_in = |list: &TemplateList, name: &str| -> Option<TemplateView> {
        list.templates.iter().find(|t| t.name == name).cloned()
    };

    // The requester (developers): the dev template on both targets (glob), only the
    // standard scheduling option; the hidden one only on request.
    let mine = requester_c
        .list_debug_templates(&TemplatesQuery::default())
        .await?;
    let names = names_of(&mine);
    assert!(names.contains(&dev), "{names:?}");
    assert!(
        !names.contains(&sre) && !names.contains(&hidden),
        "{names:?}"
    );
    let t = find_in(&mine, &dev).unwrap();
    assert_eq!(t.available_cluster_count, 2, "{t:?}");
    assert!(t.has_available_clusters);
    assert_eq!(t.display_name, "Dev tools");
    assert_eq!(
        t.scheduling_options.as_ref().map(|o| o.options.len()),
        Some(1),
        "{t:?}"
    );
    assert_eq!(mine.total, names.len());
    let with_hidden = requester_c
        .list_debug_templates(&TemplatesQuery {
            include_hidden: Some(true),
            include_unavailable: None,
        })
        .await?;
    assert!(names_of(&with_hidden).contains(&hidden));
    // The alias serves the same handler.
    let alias = api
        .get("/api/v1/debug-session-templates", &requester)
        .await?;
    // (Other tests add templates meanwhile: compare this test's own.)
    let own = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter(|n| [&dev, &sre, &hidden].contains(&n))
            .collect()
    };
    assert_eq!(own(template_names(&alias)), own(names));

    // The approver (sre-leads): the SRE template on target-a only.
    let theirs = approver_c
        .list_debug_templates(&TemplatesQuery::default())
        .await?;
    let names = names_of(&theirs);
    assert!(names.contains(&sre) && !names.contains(&dev), "{names:?}");
    let t = find_in(&theirs, &sre).unwrap();
    assert_eq!(t.available_cluster_count, 1);
    assert!(t.requires_approval);

    // Nobody: none of them.
    let none = nobody_c
        .list_debug_templates(&TemplatesQuery {
            include_hidden: Some(true),
            include_unavailable: Some(true),
        })
        .await?;
    let names = names_of(&none);
    assert!(
        ![&dev, &sre, &hidden].iter().any(|n| names.contains(n)),
        "{names:?}"
    );

    // Clusters of the dev template: both targets through the glob binding.
    let clusters = requester_c
        .debug_template_clusters(&dev, &ClustersQuery::default())
        .await?;
    let cnames: Vec<&str> = clusters.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cnames, ["target-a", "target-b"]);
    for c in &clusters.clusters {
        assert_eq!(
            c.binding_ref.as_ref().map(|b| b.name.as_str()),
            Some(b_dev.as_str()),
            "{c:?}"
        );
        assert!(c.status.healthy);
        assert_eq!(
            c.tenant.as_deref(),
            Some(c.name.replace("target", "tenant").as_str())
        );
        assert_eq!(c.details.as_ref().map(|d| d.approval.required), Some(false));
    }
    // The alias, with a filter that matches no binding.
    let filtered = api
        .get(
            &format!("/api/v1/debug-session-templates/{dev}/clusters?bindingName=nope"),
            &requester,
        )
        .await?;
    assert_eq!(filtered.body["clusters"].as_array().map(Vec::len), Some(0));
    let filtered = requester_c
        .debug_template_clusters(
            &dev,
            &ClustersQuery {
                binding_name: Some("nope".to_owned()),
                ..ClustersQuery::default()
            },
        )
        .await?;
    assert!(filtered.clusters.is_empty());
    for (template, who) in [
        (dev.as_str(), &nobody_c),
        (sre.as_str(), &requester_c),
        ("no-such-template", &requester_c),
    ] {
        let r = who
            .debug_template_clusters(template, &ClustersQuery::default())
            .await;
        assert_eq!(status_of(&r), Some(404), "{template}: {r:?}");
    }

    // Pod templates: structured with containers, templateString without (no panic).
    let pods = nobody_c.list_debug_pod_templates().await?;
    let p = pods.templates.iter().find(|p| p.name == pod).unwrap();
    assert_eq!(p.kind, "structured");
    assert_eq!(p.containers[0].image.as_deref(), Some("busybox:stable"));
    let ps = pods.templates.iter().find(|p| p.name == pod_str).unwrap();
    assert_eq!(ps.kind, "templateString");
    let one = api
        .get(&format!("/api/v1/debug-pod-templates/{pod}"), &requester)
        .await?;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body["name"], pod.as_str());
    assert_eq!(requester_c.get_debug_pod_template(&pod).await?.name, pod);
    let missing = requester_c.get_debug_pod_template("no-such-pod").await;
    assert_eq!(status_of(&missing), Some(404));

    // Every route needs a token.
    for (method, path) in [
        ("GET", "/api/debugSessions/templates".to_owned()),
        ("GET", "/api/v1/debug-session-templates".to_owned()),
        (
            "GET",
            format!("/api/debugSessions/templates/{dev}/clusters"),
        ),
        ("GET", "/api/debugSessions/podTemplates".to_owned()),
        ("GET", format!("/api/debugSessions/podTemplates/{pod}")),
        ("POST", "/api/debugSessions".to_owned()),
        ("POST", "/api/v1/debug-sessions".to_owned()),
    ] {
        let r = api
            .call(
                method,
                &path,
                None,
                Some(json!({"templateRef": dev, "cluster": "target-a"})),
            )
            .await?;
        assert_eq!(r.status, 401, "{method} {path}: {}", r.text);
    }
    d.cleanup().await
}

#[tokio::test]
async fn requests_choose_bindings_by_priority_and_glob() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "dbgprio").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let pod = d.pod_template("pod", structured_pod()).await?;
    let t = d
        .template(
            "t",
            json!({"podTemplateRef": {"name": pod}, "allowed": {"groups": ["developers"]},
            "approvers": {"groups": ["sre-leads"]}}),
        )
        .await?;
    let low = d
        .binding(
            "low",
            json!({"templateRef": {"name": t}, "clusters": ["target-*"], "priority": 1,
            "approvers": {}}),
        )
        .await?;
    let high = d
        .binding(
            "high",
            json!({"templateRef": {"name": t}, "clusters": ["target-a"], "priority": 10,
            "labels": {"team": "sre"}}),
        )
        .await?;
    // A higher binding the requester is not admitted by is skipped, not a refusal.
    d.binding(
        "top",
        json!({"templateRef": {"name": t}, "clusters": ["*"], "priority": 100,
        "allowed": {"groups": ["sre-leads"]}}),
    )
    .await?;
    d.visible(&api, &requester, &t).await?;
    let ns = d.ns();
    // Every binding has reached the server: target-a offers high, then low.
    let view_path = format!("/api/debugSessions/templates/{t}/clusters");
    wait_for(Duration::from_secs(20), "bindings mirrored", || async {
        let r = api.get(&view_path, &requester).await?;
        let a = r.body["clusters"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "target-a"))
            .cloned()
            .unwrap_or_default();
        Ok(a["bindingOptions"].as_array().map(Vec::len) == Some(2))
    })
    .await?;

    let on_a = create(
        &api,
        &requester,
        json!({"templateRef": t, "cluster": "target-a", "reason": "check the node"}),
    )
    .await?;
    assert_eq!(on_a.status, 201, "{}", on_a.text);
    let body = &on_a.body;
    assert_eq!(
        body["spec"]["bindingRef"],
        json!({"name": high, "namespace": ns})
    );
    assert_eq!(body["spec"]["requestedBy"], "requester@example.com");
    assert_eq!(body["spec"]["cluster"], "target-a");
    assert_eq!(body["spec"]["targetNamespace"], "breakglass-debug");
    assert!(
        body["spec"]["userGroups"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("developers"))),
        "{body}"
    );
    assert_eq!(body["metadata"]["namespace"], SESSIONS_NS);
    assert!(
        body.get("status").is_none_or(Value::is_null),
        "create writes no status: {body}"
    );
    let name = on_a.name();
    assert!(
        name.starts_with("debug-requester-example-com-target-a-") && name.len() <= 63,
        "{name}"
    );
    assert_eq!(
        body["metadata"]["labels"][labels::DEBUG_SESSION],
        name.as_str()
    );
    assert_eq!(
        body["metadata"]["labels"][labels::DEBUG_TEMPLATE],
        t.as_str()
    );
    assert_eq!(
        body["metadata"]["labels"][labels::DEBUG_CLUSTER],
        "target-a"
    );
    assert_eq!(
        body["warnings"],
        json!(["Target namespace defaulted to 'breakglass-debug'"])
    );
    // The object is on the hub as answered.
    let stored = Api::<DebugSession>::namespaced(d.hub.clone(), SESSIONS_NS)
        .get(&name)
        .await?;
    assert_eq!(stored.spec.binding_ref.map(|b| b.name), Some(high.clone()));

    // target-b: only the low-priority glob binding grants it. The tenant names it too.
    let on_b = create(
        &api,
        &requester,
        json!({"templateRef": t, "cluster": "tenant-b"}),
    )
    .await?;
    assert_eq!(on_b.status, 201, "{}", on_b.text);
    assert_eq!(on_b.body["spec"]["bindingRef"]["name"], low.as_str());
    assert_eq!(on_b.body["spec"]["cluster"], "target-b");

    // An explicit bindingRef wins over priority.
    let explicit = create(
        &api,
        &requester,
        json!({"templateRef": t, "cluster": "target-a",
        "bindingRef": format!("{ns}/{low}")}),
    )
    .await?;
    assert_eq!(explicit.status, 201, "{}", explicit.text);
    assert_eq!(explicit.body["spec"]["bindingRef"]["name"], low.as_str());

    // The clusters view shows the same choice, and the approval each option implies.
    let view = api
        .get(
            &format!("/api/debugSessions/templates/{t}/clusters"),
            &requester,
        )
        .await?;
    let a = view.body["clusters"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "target-a"))
        .cloned()
        .unwrap();
    assert_eq!(a["bindingRef"]["name"], high.as_str());
    let opts: Vec<_> = a["bindingOptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["bindingRef"]["name"].clone())
        .collect();
    assert_eq!(opts, vec![json!(high), json!(low)]);
    assert_eq!(a["bindingOptions"][0]["approval"]["required"], true);
    assert_eq!(
        a["bindingOptions"][1]["approval"]["required"], false,
        "present-but-empty approvers"
    );
    d.cleanup().await
}

#[tokio::test]
async fn create_refusal_matrix() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "dbgmatrix").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let nobody = token(&env, "nobody").await?;
    let pod = d.pod_template("pod", structured_pod()).await?;
    let t = d
        .template("t", json!({"podTemplateRef": {"name": pod}, "allowed": {"groups": ["developers"]},
            "constraints": {"maxDuration": "2h"},
            "requestReason": {"mandatory": true, "minLength": 5},
            "namespaceConstraints": {"allowedNamespaces": {"patterns": ["debug-*"]}, "defaultNamespace": "debug-main",
                                     "allowUserNamespace": true},
            "schedulingOptions": {"options": [{"name": "std", "displayName": "Standard", "default": true},
                                              {"name": "sre", "displayName": "SRE", "allowedGroups": ["sre-leads"]}]},
            "extraDeployVariables": [{"name": "size"}]}))
        .await?;
    let other = d
        .template(
            "other",
            json!({"podTemplateRef": {"name": pod}, "allowed": {"groups": ["developers"]}}),
        )
        .await?;
    d.binding(
        "a",
        json!({"templateRef": {"name": t}, "clusters": ["target-a"]}),
    )
    .await?;
    let b_other = d
        .binding(
            "other",
            json!({"templateRef": {"name": other}, "clusters": ["target-a"]}),
        )
        .await?;
    let b_off = d
        .binding(
            "off",
            json!({"templateRef": {"name": t}, "clusters": ["target-a"], "disabled": true}),
        )
        .await?;
    // Two ClusterConfigs of one name (in two namespaces): ambiguous.
    let dup = d.name("dup");
    let fx2 = Fixture::new(&env, "dbgdup").await?;
    for ns in [d.ns(), fx2.ns.clone()] {
        let cc: breakglass_api::ClusterConfig = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
            "metadata": {"name": dup, "namespace": ns},
            "spec": {"kubeconfigSecretRef": {"name": "none", "namespace": ns, "key": "value"}}}))?;
        Api::<breakglass_api::ClusterConfig>::namespaced(d.hub.clone(), &ns)
            .create(&PostParams::default(), &cc)
            .await?;
    }
    // A uniquely named ClusterConfig that never becomes Ready (its Secret is missing).
    let not_ready = d.name("nr");
    let nr: breakglass_api::ClusterConfig = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
        "metadata": {"name": not_ready, "namespace": d.ns()},
        "spec": {"kubeconfigSecretRef": {"name": "none", "namespace": d.ns(), "key": "value"}}}))?;
    Api::<breakglass_api::ClusterConfig>::namespaced(d.hub.clone(), &d.ns())
        .create(&PostParams::default(), &nr)
        .await?;
    d.binding(
        "dup",
        json!({"templateRef": {"name": t}, "clusters": [dup, not_ready]}),
    )
    .await?;
    d.visible(&api, &requester, &t).await?;
    d.visible(&api, &requester, &other).await?;
    // The server sees the three new ClusterConfigs (two named alike).
    let path = format!("/api/debugSessions/templates/{t}/clusters");
    wait_for(Duration::from_secs(20), "clusters mirrored", || async {
        let r = api.get(&path, &requester).await?;
        let names: Vec<String> = r.body["clusters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect();
        Ok(names.iter().filter(|n| **n == dup).count() == 2 && names.contains(&not_ready))
    })
    .await?;
    let ns = d.ns();
    let ok = || json!({"templateRef": t, "cluster": "target-a", "reason": "node is down"});
    let patch = |p: Value| with(ok(), p);

    let cases: Vec<(&str, &String, Value, u16, &str)> = vec![
        (
            "missing templateRef",
            &requester,
            json!({"cluster": "target-a"}),
            400,
            "templateRef",
        ),
        (
            "missing cluster",
            &requester,
            json!({"templateRef": t}),
            400,
            "cluster",
        ),
        (
            "unknown field",
            &requester,
            patch(json!({"user": "someone"})),
            400,
            "user",
        ),
        (
            "duration over max",
            &requester,
            patch(json!({"requestedDuration": "3h"})),
            400,
            "requestedDuration",
        ),
        (
            "bad duration",
            &requester,
            patch(json!({"requestedDuration": "soon"})),
            400,
            "requestedDuration",
        ),
        (
            "reason missing",
            &requester,
            json!({"templateRef": t, "cluster": "target-a"}),
            400,
            "reason",
        ),
        (
            "reason short",
            &requester,
            patch(json!({"reason": "abc"})),
            400,
            "reason",
        ),
        (
            "namespace not allowed",
            &requester,
            patch(json!({"targetNamespace": "kube-system"})),
            400,
            "targetNamespace",
        ),
        (
            "alias disagrees",
            &requester,
            patch(json!({"targetNamespace": "debug-a", "namespace": "debug-b"})),
            400,
            "namespace",
        ),
        (
            "unknown option",
            &requester,
            patch(json!({"selectedSchedulingOption": "huge"})),
            400,
            "selectedSchedulingOption",
        ),
        (
            "undeclared variable",
            &requester,
            patch(json!({"extraDeployValues": {"colour": "red"}})),
            400,
            "extraDeployValues.colour",
        ),
        (
            "unknown binding",
            &requester,
            patch(json!({"bindingRef": format!("{ns}/nope")})),
            400,
            "bindingRef",
        ),
        (
            "malformed binding",
            &requester,
            patch(json!({"bindingRef": "nope"})),
            400,
            "bindingRef",
        ),
        (
            "too many invitations",
            &requester,
            patch(
                json!({"invitedParticipants": (0..33).map(|i| format!("u{i}")).collect::<Vec<_>>()}),
            ),
            400,
            "invitedParticipants",
        ),
        ("not admitted", &nobody, ok(), 403, "not allowed"),
        (
            "option for sre only",
            &requester,
            patch(json!({"selectedSchedulingOption": "sre"})),
            403,
            "selectedSchedulingOption",
        ),
        (
            "cluster not granted",
            &requester,
            patch(json!({"cluster": "target-b"})),
            403,
            "not available",
        ),
        (
            "unknown cluster",
            &requester,
            patch(json!({"cluster": "no-such-cluster"})),
            403,
            "not configured",
        ),
        (
            "cluster not ready",
            &requester,
            patch(json!({"cluster": not_ready})),
            403,
            "not ready",
        ),
        (
            "binding of another template",
            &requester,
            patch(json!({"bindingRef": format!("{ns}/{b_other}")})),
            403,
            "does not apply",
        ),
        (
            "disabled binding",
            &requester,
            patch(json!({"bindingRef": format!("{ns}/{b_off}")})),
            403,
            "not active",
        ),
        (
            "unknown template",
            &requester,
            patch(json!({"templateRef": "no-such-template"})),
            404,
            "not found",
        ),
        (
            "ambiguous cluster name",
            &requester,
            patch(json!({"cluster": dup})),
            409,
            "ambiguous",
        ),
    ];
    for (what, who, body, status, fragment) in cases {
        // The server's mirrors may trail the objects just created: retry a while
        // before judging (a wrong answer still fails, only later).
        let mut r = create(&api, who, body.clone()).await?;
        let started = std::time::Instant::now();
        while (r.status != status || !r.text.contains(fragment))
            && started.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
            r = create(&api, who, body.clone()).await?;
        }
        assert_eq!(r.status, status, "{what}: {}", r.text);
        let error = r.body["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(fragment),
            "{what}: {error:?} lacks {fragment:?}"
        );
    }
    // The same request, corrected, is accepted: the default option, the allowed namespace.
    let good = create(
        &api,
        &requester,
        patch(
            json!({"targetNamespace": "debug-x", "requestedDuration": "90m",
        "extraDeployValues": {"size": "10Gi"}, "invitedParticipants": ["requester2@example.com"]}),
        ),
    )
    .await?;
    assert_eq!(good.status, 201, "{}", good.text);
    assert_eq!(good.body["spec"]["targetNamespace"], "debug-x");
    assert_eq!(good.body["spec"]["selectedSchedulingOption"], "std");
    assert_eq!(good.body["spec"]["requestedDuration"], "90m");
    assert_eq!(
        good.body["spec"]["extraDeployValues"],
        json!({"size": "10Gi"})
    );
    assert_eq!(good.body["warnings"], json!([]));
    let defaulted = create(&api, &requester, ok()).await?;
    assert_eq!(defaulted.body["spec"]["targetNamespace"], "debug-main");
    assert_eq!(
        defaulted.body["warnings"],
        json!(["Target namespace defaulted to 'debug-main'"])
    );
    fx2.cleanup().await?;
    d.cleanup().await
}

#[tokio::test]
async fn limits_are_enforced_at_creation() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Debug::new(&env, "dbglimit").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let requester2 = token(&env, "requester2").await?;
    let pod = d.pod_template("pod", structured_pod()).await?;
    let t = d
        .template(
            "t",
            // Approvers keep the sessions waiting (non-terminal) whatever the
            // reconciler does meanwhile.
            json!({"podTemplateRef": {"name": pod}, "allowed": {"groups": ["developers"]},
            "approvers": {"groups": ["sre-leads"]},
            "constraints": {"maxConcurrentSessions": 3}}),
        )
        .await?;
    d.binding(
        "b",
        json!({"templateRef": {"name": t}, "clusters": ["target-a", "target-b"],
        "maxActiveSessionsPerUser": 2}),
    )
    .await?;
    d.visible(&api, &requester, &t).await?;
    let body = |cluster: &str| json!({"templateRef": t, "cluster": cluster});

    // Per user: the third request of one user through the binding is refused.
    for cluster in ["target-a", "target-b"] {
        let r = create(&api, &requester, body(cluster)).await?;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let third = create(&api, &requester, body("target-a")).await?;
    assert_eq!(third.status, 403, "{}", third.text);
    assert!(
        third.text.contains("maxActiveSessionsPerUser"),
        "{}",
        third.text
    );

    // Per template, under concurrency: of four simultaneous requests by another user
    // only one fits (3 concurrent sessions at most, two exist).
    let attempts = (0..4).map(|_| {
        let api = api.clone();
        let token = requester2.clone();
        let b = body("target-a");
        tokio::spawn(async move { create(&api, &token, b).await })
    });
    let mut created = 0;
    let mut refused = Vec::new();
    for a in attempts {
        let r = a.await??;
        match r.status {
            201 => created += 1,
            _ => refused.push((r.status, r.text)),
        }
    }
    assert_eq!(created, 1, "refusals: {refused:?}");
    assert!(
        refused
            .iter()
            .all(|(s, t)| *s == 403 && t.contains("maxConcurrentSessions")),
        "{refused:?}"
    );
    let live = Api::<DebugSession>::namespaced(d.hub.clone(), SESSIONS_NS)
        .list(&ListParams::default().labels(&format!("{}={t}", labels::DEBUG_TEMPLATE)))
        .await?;
    assert_eq!(live.items.len(), 3);
    d.cleanup().await
}
