//! Audit against the real server: a webhook sink (an HTTP receiver in this test) gets
//! the envelopes of a session's and a debug session's lifecycle and of webhook
//! decisions, with the AuditConfig's filters honoured; Kubernetes Events appear on the
//! hub; a workload debug session's deployment, pod crashes and cleanup, and a session
//! with an unresolvable binding, are on record; the leader writes the status; a sink
//! that is down or slow trips its breaker without slowing the API or the webhook; the
//! Kafka sink delivers to a real broker.
//!
//! The shared server serves every test at once, so each AuditConfig here includes only
//! its own namespaces (and the debug-session namespace, whose events are told apart by
//! session name).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breakglass_api::AuditConfig;
use breakglass_api::debug_session::DebugSession;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::events::v1::Event as KubeEvent;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const A: &str = "target-a";
/// Namespace of debug sessions created through the REST API.
const DEBUG_NS: &str = "breakglass-system";
/// The server's namespace (`--pod-namespace`), where sink Secrets live.
const SERVER_NS: &str = "breakglass-system";

/// An HTTP receiver on loopback that records every JSON body posted to it (batches are
/// split into their events).
struct Receiver {
    url: String,
    events: Arc<Mutex<Vec<Value>>>,
    /// The `Authorization` header of each request.
    auth: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> anyhow::Result<Self> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let seen = auth.clone();
        let app = axum::Router::new().route(
            "/audit",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, axum::Json(v): axum::Json<Value>| {
                    let sink = sink.clone();
                    let seen = seen.clone();
                    async move {
                        seen.lock().unwrap().push(
                            headers
                                .get("authorization")
                                .and_then(|h| h.to_str().ok())
                                .unwrap_or_default()
                                .to_owned(),
                        );
                        let mut got = sink.lock().unwrap();
                        match v.get("events").and_then(Value::as_array) {
                            Some(batch) => got.extend(batch.iter().cloned()),
                            None => got.push(v),
                        }
                        "ok"
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url: format!("http://{addr}/audit"),
            events,
            auth,
            task,
        })
    }

    fn all(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    /// Types received for objects named `name`, in arrival order.
    fn types_for(&self, name: &str) -> Vec<String> {
        self.all()
            .iter()
            .filter(|e| e["target"]["name"] == name)
            .filter_map(|e| e["type"].as_str().map(str::to_owned))
            .collect()
    }

    async fn wait_types(&self, name: &str, want: &[&str]) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let got = self.types_for(name);
            if want.iter().all(|w| got.iter().any(|g| g == w)) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("{name}: wanted {want:?}, received {got:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn create_config(hub: &kube::Client, name: &str, spec: Value) -> anyhow::Result<()> {
    let api: Api<AuditConfig> = Api::all(hub.clone());
    let obj: AuditConfig = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "AuditConfig",
        "metadata": {"name": name},
        "spec": spec,
    }))?;
    api.create(&PostParams::default(), &obj).await?;
    Ok(())
}

async fn delete_config(hub: &kube::Client, name: &str) {
    let api: Api<AuditConfig> = Api::all(hub.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
}

/// Binds `oidc:<group>` to the `view` ClusterRole on `cluster`, so a session for the
/// group lets its holder read pods there.
async fn view_binding(env: &TestEnv, cluster: &str, name: &str, group: &str) -> anyhow::Result<()> {
    let api: Api<ClusterRoleBinding> = Api::all(env.target_client(cluster).await?);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("oidc:{group}")}],
        }))?,
    )
    .await?;
    Ok(())
}

async fn delete_binding(env: &TestEnv, cluster: &str, name: &str) {
    if let Ok(c) = env.target_client(cluster).await {
        let api: Api<ClusterRoleBinding> = Api::all(c);
        let _ = api.delete(name, &DeleteParams::default()).await;
    }
}

/// A webhook SAR posted straight to the server: `get pods` in `ns` of target-a.
fn review(user: &str, groups: &[&str], ns: &str) -> Value {
    json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": groups,
            "resourceAttributes": {"verb": "get", "resource": "pods", "version": "v1", "namespace": ns}}})
}

/// Waits until the AuditConfig's status satisfies `check`.
async fn wait_status(
    hub: &kube::Client,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let api: Api<AuditConfig> = Api::all(hub.clone());
    let started = Instant::now();
    loop {
        let c = api.get(name).await?;
        let status = serde_json::to_value(&c.status)?;
        if check(&status) {
            return Ok(status);
        }
        if started.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("status of {name}: {what}: {status:#}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ready(status: &Value) -> Option<&str> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?["status"]
        .as_str()
}

/// The value of a metric line of the server's `/metrics` that contains every label.
async fn metric(url: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .find_map(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
}

#[tokio::test]
async fn webhook_sink_gets_session_debug_and_access_envelopes_with_filters() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "audit").await?;
    let hub = fx.hub();
    let receiver = Receiver::start().await?;
    let config = format!("e2e-audit-{}", fx.id);
    let group = fx.group("audit-view");
    let tns = format!("audit-{}", fx.id);
    let binding = format!("e2e-audit-{}", fx.id);
    let template = format!("e2e-audit-{}", fx.id);
    create_config(
        &hub,
        &config,
        json!({
            "sinks": [
                {"name": "receiver", "type": "webhook", "webhook": {"url": receiver.url, "timeoutSeconds": 2}},
                {"name": "hub-events", "type": "kubernetes", "eventTypes": ["session.*"]},
            ],
            "filtering": {
                "includeNamespaces": {"patterns": [fx.ns, tns, DEBUG_NS]},
                "excludeEventTypes": ["session.withdrawn"],
            },
        }),
    )
    .await?;
    let result = async {
        view_binding(&env, A, &binding, &group).await?;
        fx.escalation("esc", spec(&[A], &group)).await?;
        let api = RestClient::new(&server.url);
        let requester = token(&env, "requester").await?;
        let approver = token(&env, "approver").await?;
        // The pipeline is built within a moment of the AuditConfig appearing; a session
        // requested before that would not be recorded.
        wait_status(&hub, &config, "both sinks active", |s| {
            s["activeSinks"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await?;

        // A full lifecycle: requested, approved, activated, a grant, dropped.
        let s1 = api.request(&requester, A, &group, json!({})).await?.name();
        assert_eq!(api.act(&s1, "approve", &approver, None).await?.status, 200);
        let list = ["get", "pods", "-n", tns.as_str()];
        let out = env.kubectl(A, Some(&requester), &list).await?;
        assert!(out.success(), "{}", out.stderr);
        assert_eq!(api.act(&s1, "drop", &requester, None).await?.status, 200);
        // Withdrawn: excluded by the filter; rejected: recorded as session.denied.
        let s2 = api.request(&requester, A, &group, json!({})).await?.name();
        assert_eq!(
            api.act(&s2, "withdraw", &requester, None).await?.status,
            200
        );
        let s3 = api.request(&requester, A, &group, json!({})).await?.name();
        assert_eq!(api.act(&s3, "reject", &approver, None).await?.status, 200);

        receiver
            .wait_types(
                &s1,
                &[
                    "session.requested",
                    "session.approved",
                    "session.activated",
                    "session.dropped",
                ],
            )
            .await?;
        receiver
            .wait_types(&s3, &["session.requested", "session.denied"])
            .await?;
        receiver.wait_types(&s2, &["session.requested"]).await?;
        let grants: Vec<Value> = receiver
            .all()
            .into_iter()
            .filter(|e| e["type"] == "access.granted" && e["target"]["namespace"] == tns.as_str())
            .collect();
        assert!(!grants.is_empty(), "no access.granted for {tns}");
        let g = &grants[0];
        assert_eq!(g["actor"]["user"], "requester@example.com");
        assert_eq!(g["target"]["cluster"], A);
        assert_eq!(g["target"]["kind"], "pods");
        assert_eq!(g["details"]["verb"], "list");
        assert_eq!(g["details"]["session"], format!("{}/{s1}", fx.ns));
        let grant = g["details"]["grantId"].as_str().unwrap_or_default();
        assert!(
            grant.starts_with("[grant v1 kind=session") && grant.contains(&s1),
            "{grant}"
        );
        assert!(
            g["actor"]["groups"]
                .as_array()
                .is_some_and(|gs| gs.iter().any(|x| x == "oidc:developers")),
            "{g}"
        );

        // The envelope, as the reference names it.
        let all = receiver.all();
        let approved = all
            .iter()
            .find(|e| e["type"] == "session.approved" && e["target"]["name"] == s1.as_str())
            .unwrap();
        assert_eq!(approved["actor"]["user"], "approver@example.com");
        assert_eq!(approved["severity"], "info");
        assert_eq!(approved["target"]["kind"], "BreakglassSession");
        assert_eq!(approved["target"]["namespace"], fx.ns.as_str());
        assert_eq!(approved["details"]["grantedGroup"], group.as_str());
        assert_eq!(approved["details"]["requester"], "requester@example.com");
        assert!(uuid::Uuid::parse_str(approved["id"].as_str().unwrap()).is_ok());
        assert!(
            approved["timestamp"]
                .as_str()
                .unwrap_or_default()
                .parse::<jiff::Timestamp>()
                .is_ok()
        );
        let denied = all.iter().find(|e| e["type"] == "session.denied").unwrap();
        assert_eq!(denied["severity"], "warning");

        // Filters: nothing withdrawn, nothing from other tests' namespaces.
        assert!(
            all.iter().all(|e| e["type"] != "session.withdrawn"),
            "withdrawn was recorded"
        );
        for e in &all {
            let ns = e["target"]["namespace"].as_str().unwrap_or_default();
            assert!(
                ns.is_empty() || ns == fx.ns || ns == tns || ns == DEBUG_NS,
                "an event outside the included namespaces: {e}"
            );
        }

        // Kubernetes Events on the hub, regarding the session.
        let events: Api<KubeEvent> = Api::namespaced(hub.clone(), &fx.ns);
        wait_for(Duration::from_secs(20), "Events for the session", || {
            let events = events.clone();
            let s1 = s1.clone();
            async move {
                let list = events.list(&ListParams::default()).await?;
                let reasons: Vec<String> = list
                    .items
                    .iter()
                    .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(&s1))
                    .filter_map(|e| e.reason.clone())
                    .collect();
                Ok(["SessionRequested", "SessionApproved", "SessionDropped"]
                    .iter()
                    .all(|r| reasons.iter().any(|x| x == r)))
            }
        })
        .await?;
        let list = events.list(&ListParams::default()).await?;
        let rejected = list
            .items
            .iter()
            .find(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(s3.as_str())
                    && e.reason.as_deref() == Some("SessionDenied")
            })
            .expect("an Event for the rejection");
        assert_eq!(rejected.type_.as_deref(), Some("Warning"));
        assert_eq!(
            rejected.regarding.as_ref().and_then(|r| r.kind.as_deref()),
            Some("BreakglassSession")
        );

        // A debug session's lifecycle.
        kubectl_debug_template(&hub, &template, &tns, json!({})).await?;
        let d = rest_debug_lifecycle(&api, &receiver, &template, &requester, &approver).await?;
        let dbg: Vec<Value> = receiver
            .all()
            .into_iter()
            .filter(|e| e["target"]["name"] == d.as_str())
            .collect();
        assert!(dbg.iter().all(|e| e["target"]["kind"] == "DebugSession"));
        let terminated = dbg
            .iter()
            .find(|e| e["type"] == "debug_session.terminated")
            .unwrap();
        assert_eq!(terminated["actor"]["user"], "requester@example.com");
        assert_eq!(terminated["details"]["template"], template.as_str());
        note(&format!(
            "audit: {} envelopes received; debug session {d}: {:?}",
            receiver.all().len(),
            receiver.types_for(&d)
        ));

        // The leader's status: both sinks, counts, Ready.
        let status = wait_status(&hub, &config, "events counted and Ready", |s| {
            s["eventsProcessed"].as_i64().unwrap_or(0) >= 10 && ready(s) == Some("True")
        })
        .await?;
        let sinks = status["sinkStatuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let receiver_status = sinks.iter().find(|s| s["name"] == "receiver").unwrap();
        assert_eq!(receiver_status["ready"], true);
        assert!(receiver_status["eventsWritten"].as_i64().unwrap_or(0) >= 10);
        assert!(receiver_status["lastSuccessTime"].is_string());
        assert_eq!(status["eventsDropped"], 0);
        anyhow::Ok(())
    }
    .await;
    templates_cleanup(&hub, &template).await;
    delete_config(&hub, &config).await;
    delete_binding(&env, A, &binding).await;
    fx.cleanup().await?;
    result
}

/// Creates a DebugSession on the hub as the REST create writes it (spec only).
async fn debug_session(
    hub: &kube::Client,
    ns: &str,
    name: &str,
    spec: Value,
) -> anyhow::Result<()> {
    let s: DebugSession = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugSession",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }))?;
    Api::<DebugSession>::namespaced(hub.clone(), ns)
        .create(&PostParams::default(), &s)
        .await?;
    Ok(())
}

/// The envelopes of `type_` received for objects named `name`.
fn envelopes(receiver: &Receiver, name: &str, type_: &str) -> Vec<Value> {
    receiver
        .all()
        .into_iter()
        .filter(|e| e["target"]["name"] == name && e["type"] == type_)
        .collect()
}

/// A workload debug session's target side on record: `resource_deployed` once deployed,
/// `pod_restarted` and `pod_failed` once each when its pod crash-loops (a status kwok
/// keeps, patched by the test), nothing more on later passes, `resource_cleanup` after
/// it ends; and a session whose `bindingRef` names no binding yields
/// `binding_unresolved` before `failed`, and is counted.
#[tokio::test]
async fn debug_workload_target_events_and_unresolved_bindings_reach_the_sink() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "auditdbg").await?;
    let hub = fx.hub();
    let target = env.target_client(A).await?;
    let receiver = Receiver::start().await?;
    let config = format!("e2e-auditdbg-{}", fx.id);
    let template = format!("e2e-auditdbg-{}", fx.id);
    let tns = format!("auditdbg-{}", fx.id);
    Api::<Namespace>::all(target.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": tns}}))?,
        )
        .await?;
    create_config(
        &hub,
        &config,
        json!({
            "sinks": [{"name": "receiver", "type": "webhook", "webhook": {"url": receiver.url, "timeoutSeconds": 2}}],
            "filtering": {"includeNamespaces": {"patterns": [fx.ns]}},
        }),
    )
    .await?;
    let result = async {
        wait_status(&hub, &config, "the sink active", |s| {
            s["activeSinks"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await?;
        create_cluster_object(&hub, "DebugPodTemplate", "debugpodtemplates", &template, json!({
            "template": {"spec": {"containers": [{"name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"]}]}},
        }))
        .await?;
        create_cluster_object(&hub, "DebugSessionTemplate", "debugsessiontemplates", &template, json!({
            "podTemplateRef": {"name": template},
            "workloadType": "Deployment",
            "replicas": 1,
            "targetNamespace": tns,
            "allowed": {"clusters": [A], "groups": ["developers"]},
        }))
        .await?;
        let spec = |extra: Value| {
            with(
                json!({
                    "cluster": A,
                    "templateRef": template,
                    "requestedBy": "requester@example.com",
                    "userGroups": ["developers"],
                }),
                extra,
            )
        };

        // Deployed: one record of what was created.
        let d = format!("wl-{}", fx.id);
        debug_session(&hub, &fx.ns, &d, spec(json!({}))).await?;
        receiver
            .wait_types(&d, &["debug_session.resource_deployed", "debug_session.started"])
            .await?;
        let deployed = envelopes(&receiver, &d, "debug_session.resource_deployed");
        assert_eq!(deployed.len(), 1, "{deployed:?}");
        let deployed = &deployed[0];
        assert_eq!(deployed["severity"], "info");
        assert_eq!(deployed["actor"]["user"], "system");
        assert_eq!(deployed["target"]["kind"], "DebugSession");
        assert_eq!(deployed["target"]["namespace"], fx.ns.as_str());
        assert_eq!(deployed["details"]["kinds"]["Deployment"], 1, "{deployed}");
        let names = deployed["details"]["resources"].to_string();
        assert!(names.contains(&format!("Deployment {tns}/{d}")), "{names}");

        // The pod, once listed in allowedPods, crash-loops: kwok keeps a status patched
        // onto a running pod, as a kubelet would report it.
        let sessions: Api<DebugSession> = Api::namespaced(hub.clone(), &fx.ns);
        wait_for(Duration::from_secs(45), "the pod listed, running", || async {
            let pods = sessions
                .get(&d)
                .await?
                .status
                .and_then(|st| st.allowed_pods)
                .unwrap_or_default();
            Ok(pods.len() == 1 && pods[0].phase.as_deref() == Some("Running"))
        })
        .await?;
        let pods: Api<Pod> = Api::namespaced(target.clone(), &tns);
        let pod = pods
            .list(&ListParams::default().labels(&format!("breakglass.telekom.com/debug-session={d}")))
            .await?
            .items
            .into_iter()
            .next()
            .and_then(|p| p.metadata.name)
            .unwrap_or_default();
        let crash = json!({"status": {"containerStatuses": [{
            "name": "debug",
            "image": "busybox:stable",
            "imageID": "",
            "ready": false,
            "started": false,
            "restartCount": 1,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
        }]}});
        pods.patch_status(&pod, &PatchParams::default(), &Patch::Strategic(&crash))
            .await?;
        receiver
            .wait_types(&d, &["debug_session.pod_restarted", "debug_session.pod_failed"])
            .await?;
        // Another pass over the same pod state (a label change is a pod event) records
        // nothing new.
        pods.patch(
            &pod,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": {"e2e-touched": "yes"}}})),
        )
        .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let restarted = envelopes(&receiver, &d, "debug_session.pod_restarted");
        let failed = envelopes(&receiver, &d, "debug_session.pod_failed");
        assert_eq!((restarted.len(), failed.len()), (1, 1), "{:?}", receiver.types_for(&d));
        let r = &restarted[0];
        assert_eq!(r["severity"], "warning");
        assert_eq!(r["details"]["pod"], pod.as_str());
        assert_eq!(r["details"]["podNamespace"], tns.as_str());
        assert_eq!(r["details"]["container"], "debug");
        assert_eq!(r["details"]["restartCount"], 1);
        assert_eq!(r["details"]["reason"], "Error");
        assert_eq!(failed[0]["details"]["reason"], "CrashLoopBackOff");
        // A second crash is one more restart.
        let mut again = crash.clone();
        again["status"]["containerStatuses"][0]["restartCount"] = json!(2);
        pods.patch_status(&pod, &PatchParams::default(), &Patch::Strategic(&again))
            .await?;
        wait_for(Duration::from_secs(20), "the second restart on record", || async {
            Ok(envelopes(&receiver, &d, "debug_session.pod_restarted").len() == 2)
        })
        .await?;
        assert_eq!(envelopes(&receiver, &d, "debug_session.pod_failed").len(), 1);

        // Ended: the cleanup is on record with what it deleted.
        sessions
            .patch_status(
                &d,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": {"state": "Terminated", "message": "Terminated by test"}})),
            )
            .await?;
        receiver
            .wait_types(&d, &["debug_session.resource_cleanup"])
            .await?;
        let cleanup = envelopes(&receiver, &d, "debug_session.resource_cleanup");
        assert_eq!(cleanup.len(), 1, "{cleanup:?}");
        assert_eq!(cleanup[0]["details"]["outcome"], "ok", "{}", cleanup[0]);
        assert!(cleanup[0]["details"]["count"].as_u64().unwrap_or(0) >= 1);
        assert_eq!(cleanup[0]["details"]["kinds"]["Deployment"], 1, "{}", cleanup[0]);

        // A bindingRef to a binding that does not exist: failed closed, and on record.
        let u = format!("unbound-{}", fx.id);
        let missing = format!("missing-{}", fx.id);
        debug_session(
            &hub,
            &fx.ns,
            &u,
            spec(json!({"bindingRef": {"name": missing, "namespace": fx.ns}})),
        )
        .await?;
        receiver
            .wait_types(&u, &["debug_session.binding_unresolved", "debug_session.failed"])
            .await?;
        let types = receiver.types_for(&u);
        let first = |t: &str| types.iter().position(|x| x == t);
        assert!(
            first("debug_session.binding_unresolved") < first("debug_session.failed"),
            "{types:?}"
        );
        let unresolved = &envelopes(&receiver, &u, "debug_session.binding_unresolved")[0];
        assert_eq!(unresolved["severity"], "warning");
        assert_eq!(
            unresolved["details"]["bindingRef"],
            format!("{}/{missing}", fx.ns)
        );
        assert_eq!(unresolved["details"]["reason"], "not_found");
        assert!(
            unresolved["details"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("binding not found")),
            "{unresolved}"
        );
        let counted = metric(
            &server.url,
            "breakglass_debug_session_binding_unresolved_total",
            &[&format!("cluster=\"{A}\""), "reason=\"not_found\""],
        )
        .await;
        assert!(counted.is_some_and(|n| n >= 1.0), "{counted:?}");
        note(&format!(
            "audit: debug session {d}: {:?}; {u}: {:?}",
            receiver.types_for(&d),
            receiver.types_for(&u)
        ));
        anyhow::Ok(())
    }
    .await;
    delete_cluster_object(
        &hub,
        "DebugSessionTemplate",
        "debugsessiontemplates",
        &template,
    )
    .await;
    delete_cluster_object(&hub, "DebugPodTemplate", "debugpodtemplates", &template).await;
    let _ = Api::<Namespace>::all(target.clone())
        .delete(&tns, &DeleteParams::background())
        .await;
    delete_config(&hub, &config).await;
    fx.cleanup().await?;
    result
}

/// Creates the kubectl-debug template both REST lifecycles below use: approval by
/// `approver@example.com`, ephemeral containers in `tns`; `extra` is merged into the spec.
async fn kubectl_debug_template(
    hub: &kube::Client,
    name: &str,
    tns: &str,
    extra: Value,
) -> anyhow::Result<()> {
    let spec = json!({
        "mode": "kubectl-debug",
        "targetNamespace": tns,
        "allowed": {"clusters": [A]},
        "approvers": {"users": ["approver@example.com"]},
        "kubectlDebug": {"ephemeralContainers": {
            "enabled": true,
            "allowedNamespaces": {"patterns": [tns]},
            "allowedImages": ["busybox:*"],
        }},
    });
    create_cluster_object(
        hub,
        "DebugSessionTemplate",
        "debugsessiontemplates",
        name,
        with(spec, extra),
    )
    .await
}

/// A debug session of `template` through the REST API — created by the requester,
/// approved, active, terminated by the requester — waiting at each step until
/// `receiver` has the step's envelopes; returns the session's name.
async fn rest_debug_lifecycle(
    api: &RestClient,
    receiver: &Receiver,
    template: &str,
    requester: &str,
    approver: &str,
) -> anyhow::Result<String> {
    wait_template_listed(api, template, requester).await?;
    let r = api
        .post(
            "/api/debugSessions",
            requester,
            json!({"templateRef": template, "cluster": A, "reason": "audit e2e"}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let d = r.body["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!d.is_empty(), "{}", r.text);
    receiver
        .wait_types(
            &d,
            &["debug_session.created", "debug_session.approval_requested"],
        )
        .await?;
    let r = api
        .post(
            &format!("/api/debugSessions/{d}/approve"),
            approver,
            json!({}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    receiver
        .wait_types(&d, &["debug_session.approved", "debug_session.started"])
        .await?;
    let r = api
        .post_empty(&format!("/api/debugSessions/{d}/terminate"), requester)
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    receiver
        .wait_types(&d, &["debug_session.terminated"])
        .await?;
    Ok(d)
}

/// Waits until the server's catalogue lists `template` (its mirror has it).
async fn wait_template_listed(api: &RestClient, template: &str, token: &str) -> anyhow::Result<()> {
    let catalogue = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
    wait_for(
        Duration::from_secs(20),
        "the server has the template",
        || async {
            Ok(api
                .get(catalogue, token)
                .await?
                .text
                .contains(&format!("\"{template}\"")))
        },
    )
    .await
}

async fn templates_cleanup(hub: &kube::Client, name: &str) {
    delete_cluster_object(hub, "DebugSessionTemplate", "debugsessiontemplates", name).await;
}

/// Latencies of `n` webhook reviews posted straight to the server.
async fn webhook_latencies(url: &str, ns: &str, n: usize) -> anyhow::Result<Vec<Duration>> {
    let http = reqwest::Client::new();
    let body = review("requester@example.com", &["oidc:developers"], ns);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let r = http
            .post(format!("{url}/api/breakglass/webhook/authorize/{A}"))
            .json(&body)
            .send()
            .await?;
        assert!(r.status().is_success());
        let _ = r.bytes().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

fn p(times: &[Duration], q: f64) -> Duration {
    times[((times.len() - 1) as f64 * q) as usize]
}

#[tokio::test]
async fn a_sink_that_is_down_or_slow_trips_its_breaker_without_slowing_anything()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "auditdown").await?;
    let hub = fx.hub();
    let config = format!("e2e-audit-down-{}", fx.id);
    let tns = format!("audit-down-{}", fx.id);
    // Down: nothing listens. Slow: accepts connections and never answers.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let down_url = format!("http://{}/audit", closed.local_addr()?);
    drop(closed);
    let slow = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let slow_url = format!("http://{}/audit", slow.local_addr()?);
    let slow_task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = slow.accept().await {
            held.push(conn);
        }
    });
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    // Before: the webhook's and the API's latency without this config.
    let before = webhook_latencies(&server.url, &tns, 200).await?;
    create_config(
        &hub,
        &config,
        json!({
            "sinks": [
                {"name": "down", "type": "webhook", "webhook": {"url": down_url, "timeoutSeconds": 1}},
                {"name": "slow", "type": "webhook", "webhook": {"url": slow_url, "timeoutSeconds": 1}},
            ],
            "filtering": {"includeNamespaces": {"patterns": [tns, fx.ns]}},
        }),
    )
    .await?;
    let result = async {
        wait_status(&hub, &config, "both sinks active", |s| {
            s["activeSinks"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await?;
        // Every denied review is an access.denied event for both sinks.
        let started = Instant::now();
        let during = webhook_latencies(&server.url, &tns, 200).await?;
        let label = format!("config=\"{config}\"");
        wait_for(Duration::from_secs(40), "both breakers open", || {
            let url = server.url.clone();
            let label = label.clone();
            let tns = tns.clone();
            async move {
                // Keep events coming so that the slow sink keeps failing.
                let _ = webhook_latencies(&url, &tns, 5).await?;
                let down = metric(&url, "breakglass_audit_sink_circuit_breaker_state", &[&label, "sink=\"down\""]).await;
                let slow = metric(&url, "breakglass_audit_sink_circuit_breaker_state", &[&label, "sink=\"slow\""]).await;
                Ok(down == Some(1.0) && slow == Some(1.0))
            }
        })
        .await?;
        note(&format!("audit: both breakers open {:?} after the load began", started.elapsed()));
        let after = webhook_latencies(&server.url, &tns, 200).await?;
        // The API too: a session request and its withdrawal (both audited).
        fx.escalation("esc", spec(&[A], &fx.group("down"))).await?;
        let t = Instant::now();
        let s = api.request(&requester, A, &fx.group("down"), json!({})).await?.name();
        assert_eq!(api.act(&s, "withdraw", &requester, None).await?.status, 200);
        let api_took = t.elapsed();
        note(&format!(
            "audit: webhook p50/p99 before {:?}/{:?}, while failing {:?}/{:?}, breakers open {:?}/{:?}; request+withdraw {api_took:?}",
            p(&before, 0.5), p(&before, 0.99), p(&during, 0.5), p(&during, 0.99), p(&after, 0.5), p(&after, 0.99)
        ));
        // A slow sink times out after 1 s per attempt and a delivery makes three: a
        // decision that waited for a sink would take over a second. The bound leaves room
        // for a machine shared with other builds.
        let bound = Duration::from_millis(500);
        assert!(p(&during, 0.99) < bound, "webhook p99 {:?} while sinks fail", p(&during, 0.99));
        assert!(p(&after, 0.99) < bound, "webhook p99 {:?} with breakers open", p(&after, 0.99));
        assert!(api_took < Duration::from_secs(2), "API took {api_took:?}");
        let failed = metric(&server.url, "breakglass_audit_sink_events_failed_total", &[&label, "sink=\"down\""])
            .await
            .unwrap_or(0.0);
        assert!(failed >= 5.0, "down sink failed {failed}");
        let status = wait_status(&hub, &config, "not Ready, both sinks failing", |s| {
            ready(s) == Some("False")
                && s["sinkStatuses"]
                    .as_array()
                    .is_some_and(|a| a.iter().all(|x| x["ready"] == false && x["lastError"].is_string()))
        })
        .await?;
        note(&format!("audit: status of a failing config: {}", status["conditions"][0]["message"]));
        anyhow::Ok(())
    }
    .await;
    slow_task.abort();
    delete_config(&hub, &config).await;
    fx.cleanup().await?;
    result
}

/// Needs testenv's Kafka (`cargo xtask testenv up --with kafka`; `cargo xtask test`
/// starts it); without it the test says so and passes.
#[tokio::test]
async fn kafka_sink_delivers_to_a_real_broker() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let bootstrap = match env.kafka_bootstrap() {
        Ok(b) => b,
        Err(e) => {
            note(&format!("kafka: skipped: {e}"));
            return Ok(());
        }
    };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "auditkafka").await?;
    let hub = fx.hub();
    let config = format!("e2e-audit-kafka-{}", fx.id);
    let topic = format!("breakglass-audit-{}", fx.id);
    let client = rskafka::client::ClientBuilder::new(vec![bootstrap.clone()])
        .build()
        .await?;
    client
        .controller_client()?
        .create_topic(&topic, 1, 1, 10_000)
        .await?;
    create_config(
        &hub,
        &config,
        json!({
            "sinks": [{"name": "kafka", "type": "kafka", "kafka": {
                "brokers": [bootstrap], "topic": topic, "batchSize": 10,
                "batchTimeoutSeconds": 1, "compression": "gzip"}}],
            "filtering": {"includeNamespaces": {"patterns": [fx.ns]}},
        }),
    )
    .await?;
    let result = async {
        wait_status(&hub, &config, "the sink active", |s| {
            s["activeSinks"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await?;
        let group = fx.group("kafka");
        fx.escalation("esc", spec(&[A], &group)).await?;
        let api = RestClient::new(&server.url);
        let requester = token(&env, "requester").await?;
        let approver = token(&env, "approver").await?;
        let s = api.request(&requester, A, &group, json!({})).await?.name();
        assert_eq!(api.act(&s, "approve", &approver, None).await?.status, 200);
        assert_eq!(api.act(&s, "drop", &requester, None).await?.status, 200);
        let partition = client
            .partition_client(
                topic.clone(),
                0,
                rskafka::client::partition::UnknownTopicHandling::Retry,
            )
            .await?;
        let want = [
            "session.requested",
            "session.approved",
            "session.activated",
            "session.dropped",
        ];
        let started = Instant::now();
        let records = loop {
            let (records, _) = partition.fetch_records(0, 1..1_000_000, 1_000).await?;
            let types: Vec<String> = records
                .iter()
                .filter_map(|r| r.record.value.as_ref())
                .filter_map(|v| serde_json::from_slice::<Value>(v).ok())
                .filter_map(|v| v["type"].as_str().map(str::to_owned))
                .collect();
            if want.iter().all(|w| types.iter().any(|t| t == w)) {
                break records;
            }
            if started.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("topic {topic}: wanted {want:?}, got {types:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let first = &records[0].record;
        let key = String::from_utf8(first.key.clone().unwrap_or_default())?;
        assert_eq!(
            key,
            format!("{}/{s}", fx.ns),
            "messages are keyed by session"
        );
        let v: Value = serde_json::from_slice(first.value.as_deref().unwrap_or_default())?;
        assert_eq!(v["target"]["name"], s.as_str());
        assert!(first.headers.contains_key("type"));
        note(&format!(
            "kafka: {} audit messages on {topic}",
            records.len()
        ));
        anyhow::Ok(())
    }
    .await;
    delete_config(&hub, &config).await;
    fx.cleanup().await?;
    result
}

async fn put_secret(hub: &kube::Client, name: &str, token: &str) -> anyhow::Result<()> {
    let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(hub.clone(), SERVER_NS);
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": SERVER_NS},
        "stringData": {"token": token}});
    api.patch(
        name,
        &kube::api::PatchParams::apply("e2e-audit").force(),
        &kube::api::Patch::Apply(&secret),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn webhook_sink_credentials_come_from_a_secret_and_follow_its_rotation() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "auditsecret").await?;
    let hub = fx.hub();
    let receiver = Receiver::start().await?;
    let config = format!("e2e-audit-secret-{}", fx.id);
    let secret = format!("e2e-audit-{}", fx.id);
    put_secret(&hub, &secret, "first-token").await?;
    create_config(
        &hub,
        &config,
        json!({
            "sinks": [{"name": "receiver", "type": "webhook", "webhook": {
                "url": receiver.url, "authSecretRef": {"name": secret},
                "headers": {"X-Audit-Source": "breakglass"}}}],
            "filtering": {"includeNamespaces": {"patterns": [fx.ns]}},
        }),
    )
    .await?;
    let result = async {
        wait_status(&hub, &config, "the sink active", |s| {
            s["activeSinks"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await?;
        let group = fx.group("secret");
        fx.escalation("esc", spec(&[A], &group)).await?;
        let api = RestClient::new(&server.url);
        let requester = token(&env, "requester").await?;
        let s1 = api.request(&requester, A, &group, json!({})).await?.name();
        receiver.wait_types(&s1, &["session.requested"]).await?;
        assert_eq!(
            receiver
                .auth
                .lock()
                .unwrap()
                .last()
                .cloned()
                .unwrap_or_default(),
            "Bearer first-token"
        );
        assert_eq!(
            api.act(&s1, "withdraw", &requester, None).await?.status,
            200
        );
        // Rotated: the pipeline is rebuilt with the new credentials.
        put_secret(&hub, &secret, "second-token").await?;
        let started = Instant::now();
        wait_for(Duration::from_secs(20), "the rotated token in use", || {
            let (api, requester, group, receiver) = (&api, &requester, &group, &receiver);
            async move {
                let s = api.request(requester, A, group, json!({})).await?.name();
                receiver.wait_types(&s, &["session.requested"]).await?;
                anyhow::ensure!(api.act(&s, "withdraw", requester, None).await?.status == 200);
                let last = receiver.auth.lock().unwrap().last().cloned();
                Ok(last.as_deref() == Some("Bearer second-token"))
            }
        })
        .await?;
        note(&format!(
            "audit: rotated credentials in use after {:?}",
            started.elapsed()
        ));
        anyhow::Ok(())
    }
    .await;
    delete_config(&hub, &config).await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(hub.clone(), SERVER_NS);
    let _ = secrets.delete(&secret, &DeleteParams::default()).await;
    fx.cleanup().await?;
    result
}

/// Pod-security evaluations and impersonation requests reach the sink as the reference
/// names them: kubectl on target-a with real tokens, a DenyPolicy scoring real pods, and
/// an escalation whose override covers a privileged pod.
#[tokio::test]
async fn pod_security_and_impersonation_are_audited() -> anyhow::Result<()> {
    use crate::webhook::{Target, approved_session, broad_rules, can_i, pod, until_can_i};
    use k8s_openapi::api::core::v1::Pod;

    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "auditps").await?;
    let hub = fx.hub();
    let group = fx.group("exec");
    let override_group = fx.group("sre");
    let ns = format!("auditps-{}", fx.id);
    let receiver = Receiver::start().await?;
    let config = format!("e2e-auditps-{}", fx.id);
    let mut target = Target::new(&env, &fx.id).await?;
    create_config(
        &hub,
        &config,
        json!({
            "sinks": [{"name": "receiver", "type": "webhook", "webhook": {"url": receiver.url, "timeoutSeconds": 2}}],
            "filtering": {"includeEventTypes": ["pod_security.*", "resource.impersonate", "access.*"]},
        }),
    )
    .await?;
    let result = async {
        target.namespace(&env, A, &ns, json!({})).await?;
        for g in [&group, &override_group] {
            target.grant(&env, A, &ns, g, broad_rules()).await?;
        }
        let pods: Api<Pod> = Api::namespaced(env.target_client(A).await?, &ns);
        let privileged = json!({"containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"privileged": true}}]});
        let warned = json!({"hostNetwork": true, "containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]});
        pods.create(&PostParams::default(), &pod("privileged", privileged)?)
            .await?;
        pods.create(&PostParams::default(), &pod("warned", warned)?)
            .await?;
        fx.escalation("esc", spec(&[A], &group)).await?;
        fx.escalation(
            "sre",
            with(
                spec(&[A], &override_group),
                json!({"podSecurityOverrides": {"enabled": true, "maxAllowedScore": 200}}),
            ),
        )
        .await?;
        let requester = token(&env, "requester").await?;
        let requester2 = token(&env, "requester2").await?;
        let approver = token(&env, "approver").await?;
        let session = approved_session(&server.url, &requester, &approver, A, &group).await?;
        let sre = approved_session(&server.url, &requester2, &approver, A, &override_group).await?;
        target
            .policy(
                &format!("e2e-{}-auditps", fx.id),
                json!({
                    "appliesTo": {"clusters": [A], "sessions": [session.clone(), sre.clone()]},
                    "podSecurityRules": {
                        "riskFactors": {"hostNetwork": 40, "privilegedContainer": 100, "capabilities": {"NET_ADMIN": 30}},
                        "thresholds": [
                            {"maxScore": 49, "action": "allow"},
                            {"maxScore": 79, "action": "warn"},
                            {"maxScore": 1000, "action": "deny"}
                        ],
                        "failMode": "closed"
                    }
                }),
            )
            .await?;
        wait_status(&hub, &config, "the sink active", |s| {
            s["activeSinks"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await?;
        let exec = |pod: &str| {
            [
                "create".to_owned(),
                format!("pods/{pod}"),
                "--subresource=exec".to_owned(),
                "-n".to_owned(),
                ns.clone(),
            ]
        };
        for (who, pod, want) in [
            (&requester, "privileged", false),
            (&requester, "warned", true),
            (&requester2, "privileged", true),
        ] {
            let args = exec(pod);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            until_can_i(&env, A, who, &args, want, Duration::from_secs(10)).await?;
        }
        // Impersonation: a user, and the group no session may ever lend.
        let user = format!("audit-{}", fx.id);
        assert!(!can_i(&env, A, &requester, &["impersonate", &format!("users/{user}")]).await?);
        assert!(!can_i(&env, A, &requester, &["impersonate", "groups/system:masters"]).await?);

        let of = |user: &str, type_: &str, name: &str| -> Vec<Value> {
            receiver
                .all()
                .into_iter()
                .filter(|e| {
                    e["type"] == type_ && e["actor"]["user"] == user && e["target"]["name"] == name
                })
                .collect()
        };
        let wait = |user: &'static str, type_: &'static str, name: String| {
            let of = &of;
            async move {
                let started = Instant::now();
                loop {
                    if let Some(e) = of(user, type_, &name).into_iter().next() {
                        return Ok::<Value, anyhow::Error>(e);
                    }
                    if started.elapsed() > Duration::from_secs(20) {
                        anyhow::bail!("no {type_} for {user} on {name}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let ann = "requester@example.com";
        let bob = "requester2@example.com";
        let denied = wait(ann, "pod_security.denied", "privileged".into()).await?;
        assert_eq!(denied["severity"], "critical");
        assert_eq!(denied["target"]["namespace"], ns.as_str());
        assert_eq!(denied["target"]["cluster"], A);
        assert_eq!(denied["details"]["riskScore"], 100);
        assert_eq!(denied["details"]["action"], "deny");
        assert_eq!(denied["details"]["allowed"], false);
        assert_eq!(denied["details"]["pass"], session.as_str());
        assert_eq!(denied["details"]["subresource"], "exec");
        let evaluated = wait(ann, "pod_security.evaluated", "privileged".into()).await?;
        assert_eq!(evaluated["severity"], "info");
        wait(ann, "access.denied.policy", "privileged".into()).await?;

        let warning = wait(ann, "pod_security.warning", "warned".into()).await?;
        assert_eq!(warning["details"]["riskScore"], 70);
        assert_eq!(warning["details"]["allowed"], true);
        let factors = warning["details"]["factors"].to_string();
        assert!(factors.contains("hostNetwork") && factors.contains("NET_ADMIN"), "{factors}");
        wait(ann, "access.granted", "warned".into()).await?;

        let overridden = wait(bob, "pod_security.override", "privileged".into()).await?;
        assert_eq!(overridden["details"]["pass"], sre.as_str());
        assert_eq!(overridden["details"]["allowed"], true);
        assert_eq!(overridden["severity"], "warning");
        // Nobody else's evaluation was turned into an override or a denial.
        assert!(of(bob, "pod_security.denied", "privileged").is_empty());
        assert!(of(ann, "pod_security.override", "privileged").is_empty());
        assert!(of(ann, "pod_security.denied", "warned").is_empty());

        let imp = wait(ann, "resource.impersonate", user.clone()).await?;
        assert_eq!(imp["details"]["verb"], "impersonate");
        assert_eq!(imp["details"]["mode"], "legacy");
        assert_eq!(imp["details"]["resource"], "users");
        assert_eq!(imp["details"]["allowed"], false);
        let masters = wait(ann, "resource.impersonate", "system:masters".into()).await?;
        assert_eq!(masters["details"]["resource"], "groups");
        assert_eq!(masters["details"]["denySource"], "system-masters");
        Ok::<_, anyhow::Error>(())
    }
    .await;
    delete_config(&hub, &config).await;
    target.cleanup(&env).await?;
    fx.cleanup().await?;
    result
}

/// A debug-session template's own audit destinations: its sessions' events, and only
/// theirs, reach its webhook with the template's headers and become Events on the hub,
/// with no AuditConfig involved.
#[tokio::test]
async fn template_destinations_receive_their_sessions_events() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "audittpl").await?;
    let hub = fx.hub();
    let receiver = Receiver::start().await?;
    let template = format!("e2e-audittpl-{}", fx.id);
    let tns = format!("audittpl-{}", fx.id);
    let secret = format!("Bearer tpl-{}", fx.id);
    let result = async {
        kubectl_debug_template(
            &hub,
            &template,
            &tns,
            json!({"audit": {"destinations": [
                {"type": "breakglass"},
                {"type": "webhook", "url": receiver.url, "headers": {"Authorization": secret}},
                {"type": "kubernetes"},
            ]}}),
        )
        .await?;
        let api = RestClient::new(&server.url);
        let requester = token(&env, "requester").await?;
        let approver = token(&env, "approver").await?;
        // The destinations' pipeline is built a moment after the server sees the
        // template.
        wait_template_listed(&api, &template, &requester).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let d = rest_debug_lifecycle(&api, &receiver, &template, &requester, &approver).await?;
        let all = receiver.all();
        for e in &all {
            assert_eq!(e["details"]["template"], template.as_str(), "{e}");
            assert_eq!(e["target"]["kind"], "DebugSession", "{e}");
            assert!(
                e["type"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("debug_session."),
                "{e}"
            );
        }
        let auth = receiver.auth.lock().unwrap().clone();
        assert!(!auth.is_empty());
        assert!(auth.iter().all(|a| *a == secret), "{auth:?}");

        let events: Api<KubeEvent> = Api::namespaced(hub.clone(), DEBUG_NS);
        wait_for(
            Duration::from_secs(20),
            "Events for the debug session",
            || {
                let events = events.clone();
                let d = d.clone();
                async move {
                    let list = events.list(&ListParams::default()).await?;
                    let reasons: Vec<String> = list
                        .items
                        .iter()
                        .filter(|e| {
                            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(&d)
                        })
                        .filter_map(|e| e.reason.clone())
                        .collect();
                    Ok(["DebugSessionCreated", "DebugSessionTerminated"]
                        .iter()
                        .all(|r| reasons.iter().any(|x| x == r)))
                }
            },
        )
        .await?;
        anyhow::Ok(())
    }
    .await;
    templates_cleanup(&hub, &template).await;
    fx.cleanup().await?;
    result
}
