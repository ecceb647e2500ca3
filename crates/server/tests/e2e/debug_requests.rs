//! End-to-end: the request-time rules of `POST /api/debugSessions` as real Dex users
//! against testenv — typed extra deploy variables (stored normalised with defaults,
//! refused per type, per group), namespace selector terms judged by the live labels
//! of namespaces on target-a, and scheduling options (default applied, required
//! without default refused, the `highmem` option placing pods only on
//! `target-a-worker2`).

use std::time::Duration;

use breakglass_api::debug_session::DebugSession;
use breakglass_api::{DebugPodTemplate, DebugSessionTemplate, labels};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::support::*;

const TARGET: &str = "target-a";
const SESSIONS_NS: &str = "breakglass-system";
const SESSION_LABEL: &str = "breakglass.telekom.com/debug-session";

/// Per-test objects, removed at the end (and from `Drop` when the test failed first):
/// cluster-scoped templates, the sessions made from them, target namespaces.
struct Requests {
    fx: Option<Fixture>,
    env: breakglass_testenv::TestEnv,
    hub: Client,
    target: Client,
    templates: Vec<String>,
    pod_templates: Vec<String>,
    namespaces: Vec<String>,
}

impl Requests {
    async fn new(env: &breakglass_testenv::TestEnv, prefix: &str) -> anyhow::Result<Self> {
        let fx = Fixture::new(env, prefix).await?;
        Ok(Self {
            hub: fx.hub(),
            target: env.target_client(TARGET).await?,
            fx: Some(fx),
            env: env.clone(),
            templates: Vec::new(),
            pod_templates: Vec::new(),
            namespaces: Vec::new(),
        })
    }

    fn name(&self, base: &str) -> String {
        format!(
            "{base}-{}",
            self.fx.as_ref().map(|f| f.id.clone()).unwrap_or_default()
        )
    }

    /// A namespace on target-a with `labels`.
    async fn target_namespace(&mut self, base: &str, labels: Value) -> anyhow::Result<String> {
        let name = self.name(base);
        Api::<Namespace>::all(self.target.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?,
            )
            .await?;
        self.namespaces.push(name.clone());
        Ok(name)
    }

    /// A structured busybox pod template.
    async fn pod_template(&mut self) -> anyhow::Result<String> {
        let name = self.name("rq-pod");
        let obj: DebugPodTemplate = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugPodTemplate",
            "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [
                {"name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"]}]}}}}))?;
        Api::<DebugPodTemplate>::all(self.hub.clone())
            .create(&PostParams::default(), &obj)
            .await?;
        self.pod_templates.push(name.clone());
        Ok(name)
    }

    /// A session template requestable by `developers` and `sre-leads` on target-a,
    /// deploying `pod`; `extra` is merged into its spec (top level).
    async fn template(&mut self, base: &str, pod: &str, extra: Value) -> anyhow::Result<String> {
        let name = self.name(base);
        let spec = with(
            json!({
                "podTemplateRef": {"name": pod},
                "allowed": {"clusters": [TARGET], "groups": ["developers", "sre-leads"]},
                "constraints": {"maxConcurrentSessions": 50},
            }),
            extra,
        );
        let obj: DebugSessionTemplate = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugSessionTemplate",
            "metadata": {"name": name}, "spec": spec}))?;
        Api::<DebugSessionTemplate>::all(self.hub.clone())
            .create(&PostParams::default(), &obj)
            .await?;
        self.templates.push(name.clone());
        Ok(name)
    }

    async fn cleanup(mut self) -> anyhow::Result<()> {
        let (t, p, n) = (
            std::mem::take(&mut self.templates),
            std::mem::take(&mut self.pod_templates),
            std::mem::take(&mut self.namespaces),
        );
        remove(&self.hub, &self.target, &t, &p, &n).await;
        if let Some(fx) = self.fx.take() {
            fx.cleanup().await?;
        }
        Ok(())
    }
}

async fn remove(
    hub: &Client,
    target: &Client,
    templates: &[String],
    pod_templates: &[String],
    namespaces: &[String],
) {
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
    for n in namespaces {
        let _ = Api::<Namespace>::all(target.clone())
            .delete(n, &DeleteParams::background())
            .await;
    }
}

impl Drop for Requests {
    fn drop(&mut self) {
        if self.templates.is_empty() && self.pod_templates.is_empty() && self.namespaces.is_empty()
        {
            return;
        }
        let env = self.env.clone();
        let (t, p, n) = (
            self.templates.clone(),
            self.pod_templates.clone(),
            self.namespaces.clone(),
        );
        run_detached(move || async move {
            if let (Ok(hub), Ok(target)) = (env.hub_client().await, env.target_client(TARGET).await)
            {
                remove(&hub, &target, &t, &p, &n).await;
            }
        });
    }
}

/// Waits until the server offers `template` to the holder of `token`.
async fn visible(api: &RestClient, token: &str, template: &str) -> anyhow::Result<()> {
    let path = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
    wait_for(Duration::from_secs(20), "template visible", || async {
        let r = api.get(path, token).await?;
        Ok(catalogue_entry(&r, template).is_some())
    })
    .await
}

fn catalogue_entry(r: &Reply, template: &str) -> Option<Value> {
    r.body["templates"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == template)
        .cloned()
}

async fn create(api: &RestClient, token: &str, body: Value) -> anyhow::Result<Reply> {
    api.post("/api/debugSessions", token, body).await
}

/// Asserts a refusal: status and the start of the message.
fn refused(r: &Reply, status: u16, starts: &str, case: &str) {
    let message = r.body["error"]
        .as_str()
        .or_else(|| r.body["message"].as_str())
        .unwrap_or(&r.text);
    assert_eq!(r.status, status, "{case}: {}", r.text);
    assert!(
        message.starts_with(starts),
        "{case}: {message:?} should start with {starts:?}"
    );
}

fn variables() -> Value {
    json!([
        {"name": "enableDebug", "inputType": "boolean", "default": true},
        {"name": "replicas", "inputType": "number", "default": "2", "validation": {"min": "1", "max": "5"}},
        {"name": "debugLabel", "required": true,
         "validation": {"pattern": "^[a-z][a-z0-9-]*$", "patternError": "lower-case letters, digits and dashes", "minLength": 3}},
        {"name": "scratch", "inputType": "storageSize", "default": "1Gi", "validation": {"minStorage": "1Gi", "maxStorage": "10Gi"}},
        {"name": "logLevel", "inputType": "select", "default": "info",
         "options": [{"value": "info"}, {"value": "debug"}, {"value": "trace", "allowedGroups": ["sre-leads"]}]},
        {"name": "tools", "inputType": "multiSelect", "validation": {"minItems": 1, "maxItems": 2},
         "options": [{"value": "tcpdump"}, {"value": "strace"}, {"value": "gdb"}]},
        {"name": "privileged", "inputType": "boolean", "allowedGroups": ["sre-leads"]},
    ])
}

#[tokio::test]
async fn typed_variables_are_checked_and_stored_normalised() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Requests::new(&env, "rqvars").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let pod = d.pod_template().await?;
    // Approvers keep the sessions waiting: nothing is deployed by this test.
    let t = d
        .template(
            "rqvars",
            &pod,
            json!({"extraDeployVariables": variables(), "approvers": {"groups": ["nobody-approves"]}}),
        )
        .await?;
    visible(&api, &requester, &t).await?;

    // The catalogue shows the caller only what they may set.
    let path = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
    let mine = catalogue_entry(&api.get(path, &requester).await?, &t).unwrap_or_default();
    let names: Vec<&str> = mine["extraDeployVariables"]
        .as_array()
        .map(|v| v.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(!names.contains(&"privileged"), "{names:?}");
    assert_eq!(names.len(), 6, "{names:?}");
    let levels = |entry: &Value| -> Vec<String> {
        entry["extraDeployVariables"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["name"] == "logLevel"))
            .and_then(|x| x["options"].as_array())
            .map(|o| {
                o.iter()
                    .filter_map(|x| x["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(levels(&mine), ["info", "debug"]);
    let theirs = catalogue_entry(&api.get(path, &approver).await?, &t).unwrap_or_default();
    assert_eq!(levels(&theirs), ["info", "debug", "trace"]);
    assert_eq!(
        theirs["extraDeployVariables"].as_array().map(Vec::len),
        Some(7)
    );

    let body = |values: Value| json!({"templateRef": t, "cluster": TARGET, "reason": "typed variables", "extraDeployValues": values});
    // Valid values of every type, normalised; defaults fill the rest.
    let r = create(
        &api,
        &requester,
        body(
            json!({"debugLabel": "app-x", "replicas": "4", "tools": "tcpdump, gdb",
                    "scratch": " 5Gi ", "enableDebug": "false"}),
        ),
    )
    .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let want = json!({"debugLabel": "app-x", "enableDebug": false, "logLevel": "info",
                      "replicas": 4, "scratch": "5Gi", "tools": ["tcpdump", "gdb"]});
    assert_eq!(r.body["spec"]["extraDeployValues"], want);
    // The session on the hub records exactly that.
    let stored = Api::<DebugSession>::namespaced(d.hub.clone(), SESSIONS_NS)
        .get(&r.name())
        .await?;
    assert_eq!(serde_json::to_value(stored.spec.extra_deploy_values)?, want);

    // Each type's refusal names the field.
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "required missing",
            json!({}),
            400,
            "extraDeployValues.debugLabel: a value is required",
        ),
        (
            "boolean",
            json!({"debugLabel": "abc", "enableDebug": "yes"}),
            400,
            "extraDeployValues.enableDebug: must be true or false",
        ),
        (
            "number type",
            json!({"debugLabel": "abc", "replicas": "many"}),
            400,
            "extraDeployValues.replicas: must be a number",
        ),
        (
            "number max",
            json!({"debugLabel": "abc", "replicas": 6}),
            400,
            "extraDeployValues.replicas: must be at most 5",
        ),
        (
            "text pattern",
            json!({"debugLabel": "App_1"}),
            400,
            "extraDeployValues.debugLabel: lower-case letters, digits and dashes",
        ),
        (
            "text length",
            json!({"debugLabel": "ab"}),
            400,
            "extraDeployValues.debugLabel: must be at least 3 characters long",
        ),
        (
            "storage",
            json!({"debugLabel": "abc", "scratch": "20Gi"}),
            400,
            "extraDeployValues.scratch: must be at most 10Gi",
        ),
        (
            "select",
            json!({"debugLabel": "abc", "logLevel": "verbose"}),
            400,
            "extraDeployValues.logLevel: \"verbose\" is not one of the options",
        ),
        (
            "multiSelect bounds",
            json!({"debugLabel": "abc", "tools": ["tcpdump", "strace", "gdb"]}),
            400,
            "extraDeployValues.tools: choose at most 2 of the options",
        ),
        (
            "multiSelect duplicate",
            json!({"debugLabel": "abc", "tools": ["gdb", "gdb"]}),
            400,
            "extraDeployValues.tools: option \"gdb\" is selected twice",
        ),
        (
            "unknown key",
            json!({"debugLabel": "abc", "debuglabel": "abc"}),
            400,
            "extraDeployValues.debuglabel: not a variable this template declares",
        ),
        (
            "variable restricted by group",
            json!({"debugLabel": "abc", "privileged": true}),
            403,
            "extraDeployValues.privileged: you may not set this variable",
        ),
        (
            "option restricted by group",
            json!({"debugLabel": "abc", "logLevel": "trace"}),
            403,
            "extraDeployValues.logLevel: you may not choose option \"trace\"",
        ),
    ];
    for (case, values, status, starts) in cases {
        let r = create(&api, &requester, body(values)).await?;
        refused(&r, status, starts, case);
    }
    // Members of the group may set both.
    let r = create(
        &api,
        &approver,
        body(json!({"debugLabel": "abc", "privileged": "true", "logLevel": "trace"})),
    )
    .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["spec"]["extraDeployValues"]["privileged"], true);
    assert_eq!(r.body["spec"]["extraDeployValues"]["logLevel"], "trace");
    d.cleanup().await
}

#[tokio::test]
async fn namespace_selector_terms_judge_live_labels() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Requests::new(&env, "rqns").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let pod = d.pod_template().await?;
    let opted_in = d
        .target_namespace("rq-in", json!({"debug-enabled": "true"}))
        .await?;
    let plain = d.target_namespace("rq-plain", json!({})).await?;
    let protected = d
        .target_namespace(
            "rq-prot",
            json!({"debug-enabled": "true", "protected": "true"}),
        )
        .await?;
    let missing = d.name("rq-missing");
    let rules = |create: bool| {
        json!({
            "approvers": {"groups": ["nobody-approves"]},
            "namespaceConstraints": {
                "allowUserNamespace": true,
                "defaultNamespace": "breakglass-debug",
                "allowedNamespaces": {"selectorTerms": [{"matchLabels": {"debug-enabled": "true"}}]},
                "deniedNamespaces": {"patterns": ["kube-*"],
                                     "selectorTerms": [{"matchExpressions": [{"key": "protected", "operator": "Exists"}]}]},
                "createIfNotExists": create,
                "namespaceLabels": {"debug-enabled": "true"},
            }
        })
    };
    let t = d.template("rqns", &pod, rules(false)).await?;
    let t_create = d.template("rqnsc", &pod, rules(true)).await?;
    // Its default is a namespace that carries a denied label.
    let mut protected_default = rules(false);
    protected_default["namespaceConstraints"]["defaultNamespace"] = json!(protected);
    let t_default = d.template("rqnsd", &pod, protected_default).await?;
    visible(&api, &requester, &t).await?;
    visible(&api, &requester, &t_create).await?;
    visible(&api, &requester, &t_default).await?;
    let ask = |template: &str, ns: &str| json!({"templateRef": template, "cluster": TARGET, "reason": "namespace rules", "targetNamespace": ns});

    let r = create(&api, &requester, ask(&t, &opted_in)).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["spec"]["targetNamespace"], opted_in.as_str());
    let r = create(&api, &requester, ask(&t, &plain)).await?;
    refused(
        &r,
        400,
        &format!("targetNamespace: namespace {plain:?} is not allowed"),
        "no matching term",
    );
    let r = create(&api, &requester, ask(&t, &protected)).await?;
    refused(
        &r,
        400,
        &format!("targetNamespace: namespace {protected:?} is denied by its labels"),
        "deny term wins",
    );
    let r = create(&api, &requester, ask(&t, "kube-system")).await?;
    refused(&r, 400, "targetNamespace:", "deny pattern");
    let r = create(&api, &requester, ask(&t, &missing)).await?;
    refused(
        &r,
        400,
        &format!("targetNamespace: namespace {missing:?} does not exist on cluster \"target-a\""),
        "missing without createIfNotExists",
    );
    // The labels are read live: labelling the namespace admits it at once.
    Api::<Namespace>::all(d.target.clone())
        .patch(
            &plain,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": {"debug-enabled": "true"}}})),
        )
        .await?;
    let r = create(&api, &requester, ask(&t, &plain)).await?;
    assert_eq!(r.status, 201, "after labelling: {}", r.text);
    // With createIfNotExists the labels it would be created with decide.
    let r = create(&api, &requester, ask(&t_create, &missing)).await?;
    assert_eq!(r.status, 201, "createIfNotExists: {}", r.text);
    assert_eq!(r.body["spec"]["targetNamespace"], missing.as_str());
    // The default namespace needs no allow rule (it has no protected label).
    let r = create(
        &api,
        &requester,
        json!({"templateRef": t, "cluster": TARGET, "reason": "namespace rules"}),
    )
    .await?;
    assert_eq!(r.status, 201, "default: {}", r.text);
    assert_eq!(r.body["spec"]["targetNamespace"], "breakglass-debug");
    // The default skips the allow lists but not the deny terms: labels are live state.
    let r = create(
        &api,
        &requester,
        json!({"templateRef": t_default, "cluster": TARGET, "reason": "namespace rules"}),
    )
    .await?;
    refused(
        &r,
        400,
        &format!("targetNamespace: namespace {protected:?} is denied by its labels"),
        "default with a denied label",
    );
    d.cleanup().await
}

/// The nodes of the running pods of `session` on the target.
async fn pod_nodes(target: &Client, ns: &str, session: &str) -> anyhow::Result<Vec<String>> {
    let pods = Api::<Pod>::namespaced(target.clone(), ns)
        .list(&ListParams::default().labels(&format!("{SESSION_LABEL}={session}")))
        .await?;
    let mut nodes: Vec<String> = pods
        .items
        .iter()
        .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
        .collect();
    nodes.sort();
    Ok(nodes)
}

#[tokio::test]
async fn scheduling_options_default_required_and_highmem_placement() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Requests::new(&env, "rqsched").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let pod = d.pod_template().await?;
    let ns = d.target_namespace("rq-sched", json!({})).await?;
    let pool = |p: &str| json!({"nodeSelector": {"node-pool": p}});
    let t = d
        .template(
            "rqsched",
            &pod,
            json!({
                "targetNamespace": ns,
                "schedulingConstraints": {"tolerations": [{"key": "base", "operator": "Exists"}]},
                "schedulingOptions": {"required": true, "options": [
                    {"name": "standard", "displayName": "Standard", "default": true, "schedulingConstraints": pool("general")},
                    {"name": "highmem", "displayName": "High memory", "schedulingConstraints": pool("highmem")},
                    {"name": "gpu", "displayName": "GPU", "allowedGroups": ["sre-leads"], "schedulingConstraints": pool("gpu")},
                ]},
            }),
        )
        .await?;
    let t_strict = d
        .template(
            "rqstrict",
            &pod,
            json!({
                "targetNamespace": ns,
                "schedulingOptions": {"required": true, "options": [
                    {"name": "highmem", "displayName": "High memory", "schedulingConstraints": pool("highmem")}]},
            }),
        )
        .await?;
    visible(&api, &requester, &t).await?;
    visible(&api, &requester, &t_strict).await?;
    // The catalogue offers each caller only the options they may choose.
    let approver = token(&env, "approver").await?;
    visible(&api, &approver, &t).await?;
    let path = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
    let offered = |r: &Reply| -> Vec<String> {
        catalogue_entry(r, &t)
            .and_then(|e| e["schedulingOptions"]["options"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        offered(&api.get(path, &requester).await?),
        ["standard", "highmem"]
    );
    assert_eq!(
        offered(&api.get(path, &approver).await?),
        ["standard", "highmem", "gpu"]
    );
    let ask = |template: &str, option: Option<&str>| {
        let mut b = json!({"templateRef": template, "cluster": TARGET, "reason": "scheduling"});
        if let Some(o) = option {
            b["selectedSchedulingOption"] = json!(o);
        }
        b
    };

    // Required without a default: 400; unknown: 400; restricted: 403.
    let r = create(&api, &requester, ask(&t_strict, None)).await?;
    refused(
        &r,
        400,
        "selectedSchedulingOption: this template requires choosing a scheduling option",
        "required, no default",
    );
    let r = create(&api, &requester, ask(&t, Some("huge"))).await?;
    refused(
        &r,
        400,
        "selectedSchedulingOption: unknown",
        "unknown option",
    );
    let r = create(&api, &requester, ask(&t, Some("gpu"))).await?;
    refused(&r, 403, "selectedSchedulingOption:", "restricted option");

    // Required with a default: the default is applied and recorded.
    let r = create(&api, &requester, ask(&t, None)).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let standard = r.name();
    assert_eq!(r.body["spec"]["selectedSchedulingOption"], "standard");
    let resolved = &r.body["spec"]["resolvedSchedulingConstraints"];
    assert_eq!(resolved["nodeSelector"], json!({"node-pool": "general"}));
    assert_eq!(resolved["tolerations"][0]["key"], "base", "template's kept");

    let r = create(&api, &requester, ask(&t, Some("highmem"))).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let highmem = r.name();
    assert_eq!(r.body["spec"]["selectedSchedulingOption"], "highmem");
    assert_eq!(
        r.body["spec"]["resolvedSchedulingConstraints"]["nodeSelector"],
        json!({"node-pool": "highmem"})
    );

    // Both become Active (no approvers); their DaemonSets' pods run only on the
    // nodes of their pools.
    let target = d.target.clone();
    for (session, node) in [
        (&highmem, "target-a-worker2"),
        (&standard, "target-a-worker"),
    ] {
        wait_for(
            Duration::from_secs(60),
            &format!("pods of {session} on {node}"),
            || async {
                let nodes = pod_nodes(&target, &ns, session).await?;
                Ok(!nodes.is_empty())
            },
        )
        .await?;
        // Give the DaemonSet controller time to create a pod anywhere else too.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let nodes = pod_nodes(&target, &ns, session).await?;
        assert_eq!(nodes, [node], "{session}");
    }
    let s = Api::<DebugSession>::namespaced(d.hub.clone(), SESSIONS_NS)
        .get(&highmem)
        .await?;
    assert_eq!(
        s.status.and_then(|st| st.state).map(|st| st.to_string()),
        Some("Active".to_owned())
    );
    for session in [&highmem, &standard] {
        let r = api
            .post_empty(
                &format!("/api/debugSessions/{session}/terminate"),
                &requester,
            )
            .await?;
        assert_eq!(r.status, 200, "terminate {session}: {}", r.text);
    }
    wait_for(Duration::from_secs(30), "pods removed", || async {
        Ok(pod_nodes(&target, &ns, &highmem).await?.is_empty()
            && pod_nodes(&target, &ns, &standard).await?.is_empty())
    })
    .await?;
    d.cleanup().await
}

#[tokio::test]
async fn an_unreachable_target_refuses_label_decisions() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let mut d = Requests::new(&env, "rqcut").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let ns = d.fx.as_ref().map(|f| f.ns.clone()).unwrap_or_default();
    // A cluster reaching target-a through a proxy the test can freeze.
    let upstream: std::net::SocketAddr = env
        .server_url(TARGET)?
        .trim_start_matches("https://")
        .parse()?;
    let proxy = FreezableProxy::start(upstream).await?;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(d.hub.clone(), SYSTEM_NS);
    let original = secrets.get("target-a-kubeconfig").await?;
    let text = original
        .data
        .as_ref()
        .and_then(|m| m.get("value"))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .unwrap_or_default();
    let cluster = d.name("rq-cut");
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(d.hub.clone(), &ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": cluster},
                "stringData": {"value": proxy.rewrite(&text)}}))?,
        )
        .await?;
    let cc: breakglass_api::ClusterConfig = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
        "metadata": {"name": cluster, "namespace": ns},
        "spec": {"kubeconfigSecretRef": {"name": cluster, "namespace": ns, "key": "value"}}}))?;
    let configs: Api<breakglass_api::ClusterConfig> = Api::namespaced(d.hub.clone(), &ns);
    configs.create(&PostParams::default(), &cc).await?;
    wait_for(Duration::from_secs(30), "proxied cluster Ready", || async {
        let cc = configs.get(&cluster).await?;
        Ok(cc
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True"))
    })
    .await?;
    let pod = d.pod_template().await?;
    let t = d
        .template(
            "rqcut",
            &pod,
            json!({
                "allowed": {"clusters": [cluster], "groups": ["developers"]},
                "approvers": {"groups": ["nobody-approves"]},
                "namespaceConstraints": {
                    "allowUserNamespace": true,
                    "allowedNamespaces": {"selectorTerms": [{"matchLabels": {"debug-enabled": "true"}}]},
                }
            }),
        )
        .await?;
    visible(&api, &requester, &t).await?;
    let ask = json!({"templateRef": t, "cluster": cluster, "reason": "cut off", "targetNamespace": "kube-public"});
    // Reachable: the labels are read and decide.
    let r = create(&api, &requester, ask.clone()).await?;
    refused(
        &r,
        400,
        "targetNamespace: namespace \"kube-public\" is not allowed",
        "reachable",
    );
    // Cut off (the cluster is still Ready): refused within the read timeout, naming
    // the namespace and the reason.
    proxy.freeze();
    let started = std::time::Instant::now();
    let r = create(&api, &requester, ask).await?;
    let took = started.elapsed();
    proxy.thaw();
    refused(
        &r,
        400,
        &format!(
            "targetNamespace: cannot read namespace \"kube-public\" on cluster {cluster:?} to check its labels"
        ),
        "unreachable",
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    d.cleanup().await
}
