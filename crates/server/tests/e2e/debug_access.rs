//! End-to-end: the pod access debug sessions grant through the webhook (owner,
//! participant, viewer, uninvited; DenyPolicies come after; access ends within 1 s of
//! terminate) and the REST authorization matrix of list/get/approve/reject/renew/
//! terminate/join/leave.
//!
//! The sessions are created on the hub from a template that needs approval (so the
//! leader's reconciler resolves them and waits), then their status is written as the
//! reconciler would write it at activation, so these tests exercise the access and REST
//! code without depending on a deployment.

use std::time::{Duration, Instant};

use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplate;
use breakglass_api::rest::debug::catalogue::TemplatesQuery;
use breakglass_api::rest::debug::{CreateDebugSessionRequest, DebugSessionDetail, DecisionRequest};
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;
use crate::webhook::{can_i, delete_policy, policy, until_can_i};

const A: &str = "target-a";
const B: &str = "target-b";
const OWNER: &str = "requester@example.com";
const PARTICIPANT: &str = "requester2@example.com";
const VIEWER: &str = "approver2@example.com";
const SESSION_LABEL: &str = "breakglass.telekom.com/debug-session";

/// The test's DebugSessionTemplate `e2e-<id>`: approval by approver@example.com, so
/// the reconciler resolves a session and waits in PendingApproval. Returns once the
/// server (whose mirror the reconciler reads) has it.
async fn template(env: &TestEnv, fx: &Fixture, api: &RestClient) -> anyhow::Result<String> {
    let name = format!("e2e-{}", fx.id);
    let templates: Api<DebugSessionTemplate> = Api::all(fx.hub());
    templates
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
                "kind": "DebugSessionTemplate",
                "metadata": {"name": name},
                "spec": {"allowed": {"clusters": [A]}, "approvers": {"users": ["approver@example.com"]}},
            }))?,
        )
        .await?;
    let owner = token(env, "requester").await?;
    let path = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
    wait_for(
        Duration::from_secs(20),
        "the server has the template",
        || async {
            let r = api.get(path, &owner).await?;
            Ok(r.text.contains(&format!("\"{name}\"")))
        },
    )
    .await?;
    Ok(name)
}

async fn remove_template(fx: &Fixture, name: &str) {
    let api: Api<DebugSessionTemplate> = Api::all(fx.hub());
    let _ = api.delete(name, &DeleteParams::default()).await;
}

/// Creates a DebugSession on the hub, waits until the reconciler has it waiting for
/// approval, and writes `status` onto it.
async fn debug_session(
    fx: &Fixture,
    name: &str,
    spec: Value,
    status: Value,
) -> anyhow::Result<DebugSession> {
    let api: Api<DebugSession> = Api::namespaced(fx.hub(), &fx.ns);
    let obj: DebugSession = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugSession",
        "metadata": {"name": name, "namespace": fx.ns, "labels": {SESSION_LABEL: name}},
        "spec": spec,
    }))?;
    api.create(&PostParams::default(), &obj).await?;
    wait_for(
        Duration::from_secs(10),
        "the reconciler resolves the session",
        || {
            let api = api.clone();
            async move {
                let s = api.get(name).await?;
                Ok(s.state().map(|st| st.as_str()) == Some("PendingApproval"))
            }
        },
    )
    .await?;
    Ok(api
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await?)
}

fn spec(template: &str, invited: &[&str]) -> Value {
    json!({
        "cluster": A,
        "templateRef": template,
        "requestedBy": OWNER,
        "invitedParticipants": invited,
    })
}

fn member(user: &str, role: &str) -> Value {
    json!({"user": user, "role": role, "joinedAt": jiff::Timestamp::now().to_string()})
}

/// An Active status for one hour with `participants` and pod `ns/pod` allowed.
fn active(participants: Value, ns: &str, pod: &str, template: Value) -> Value {
    let now = jiff::Timestamp::now();
    json!({
        "state": "Active",
        "startsAt": now.to_string(),
        "expiresAt": (now + jiff::SignedDuration::from_hours(1)).to_string(),
        "participants": participants,
        "allowedPods": [{"namespace": ns, "name": pod}],
        "allowedPodOperations": {"exec": true, "attach": true, "logs": true, "portForward": true},
        "resolvedTemplate": template,
    })
}

/// A PendingApproval status whose approvers are `approvers`.
fn pending(approvers: &[&str]) -> Value {
    json!({
        "state": "PendingApproval",
        "approval": {"required": true},
        "resolvedTemplate": {"approvers": {"users": approvers}},
    })
}

/// Two bare pods in a fresh namespace of target-a: `dbg` (labelled as the session's
/// workload would be, so the reconciler's pod watch lists it) and `other`.
async fn pods(env: &TestEnv, ns: &str, session: &DebugSession) -> anyhow::Result<()> {
    let labels = serde_json::to_value(breakglass_core::debug::workload::session_labels(session))?;
    let client = env.target_client(A).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    let api: Api<Pod> = Api::namespaced(client, ns);
    for (name, labels) in [("dbg", labels), ("other", json!({}))] {
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": name, "labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox:stable"}]},
            }))?,
        )
        .await?;
    }
    Ok(())
}

async fn remove_namespace(env: &TestEnv, ns: &str) {
    if let Ok(client) = env.target_client(A).await {
        let api: Api<Namespace> = Api::all(client);
        let _ = api.delete(ns, &DeleteParams::background()).await;
    }
}

/// Asks the server's webhook directly (for the reason text).
async fn review(url: &str, user: &str, verb: &str, sub: &str, ns: &str, pod: &str) -> Value {
    let body = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": ["system:authenticated"], "resourceAttributes": {
            "verb": verb, "resource": "pods", "subresource": sub, "namespace": ns, "name": pod, "version": "v1"}},
    });
    let reply = RestClient::new(url)
        .call(
            "POST",
            &format!("/api/breakglass/webhook/authorize/{A}"),
            None,
            Some(body),
        )
        .await;
    reply
        .map(|r| r.body["status"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn debug_session_pod_access_by_role() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "dbgacc").await?;
    let api = RestClient::new(&server.url);
    let name = format!("debug-access-{}", fx.id);
    let ns = format!("dbgacc-{}", fx.id);
    let tpl = template(&env, &fx, &api).await?;
    let result = async {
        // Joiners become viewers: the template sets readOnlyParticipants.
        let template = json!({"terminalSharing": {"enabled": true, "readOnlyParticipants": true}});
        let session = debug_session(
            &fx,
            &name,
            spec(&tpl, &[PARTICIPANT, VIEWER]),
            active(
                json!([member(OWNER, "owner"), member(PARTICIPANT, "participant")]),
                &ns,
                "dbg",
                template,
            ),
        )
        .await?;
        pods(&env, &ns, &session).await?;
        let owner = token(&env, "requester").await?;
        let participant = token(&env, "requester2").await?;
        let viewer = token(&env, "approver2").await?;
        let nobody = token(&env, "nobody").await?;
        let n = ns.as_str();
        let exec = ["create", "pods/dbg", "--subresource=exec", "-n", n];
        until_can_i(&env, A, &owner, &exec, true, Duration::from_secs(5)).await?;

        // The viewer joins through the API and gets the viewer role.
        let joined = api.post_empty(&format!("/api/debugSessions/{name}/join"), &viewer).await?;
        assert_eq!(joined.status, 200, "{}", joined.text);
        assert_eq!(joined.body["role"], "viewer");
        until_can_i(&env, A, &viewer, &["get", "pods/dbg", "-n", n], true, Duration::from_secs(5)).await?;

        // (who, verb, resource, pod, want)
        let cases: [(&str, &str, &str, &str, &str, bool); 22] = [
            ("owner", &owner, "create", "pods/exec", "dbg", true),
            ("owner", &owner, "get", "pods", "dbg", true),
            ("owner", &owner, "create", "pods/attach", "dbg", true),
            ("owner", &owner, "create", "pods/portforward", "dbg", true),
            ("owner", &owner, "get", "pods/log", "dbg", true),
            ("owner", &owner, "create", "pods/exec", "other", false),
            ("owner", &owner, "get", "pods", "other", false),
            ("owner", &owner, "delete", "pods", "dbg", false),
            ("participant", &participant, "create", "pods/exec", "dbg", true),
            ("participant", &participant, "create", "pods/portforward", "dbg", true),
            ("participant", &participant, "get", "pods/log", "dbg", true),
            ("participant", &participant, "create", "pods/exec", "other", false),
            ("viewer", &viewer, "get", "pods", "dbg", true),
            ("viewer", &viewer, "get", "pods/log", "dbg", true),
            ("viewer", &viewer, "create", "pods/exec", "dbg", false),
            ("viewer", &viewer, "create", "pods/attach", "dbg", false),
            ("viewer", &viewer, "create", "pods/portforward", "dbg", false),
            ("viewer", &viewer, "get", "pods", "other", false),
            ("nobody", &nobody, "get", "pods", "dbg", false),
            ("nobody", &nobody, "create", "pods/exec", "dbg", false),
            ("nobody", &nobody, "get", "pods/log", "dbg", false),
            ("nobody", &nobody, "create", "pods/portforward", "dbg", false),
        ];
        for (who, tok, verb, res, pod, want) in cases {
            // `kubectl auth can-i create pods/NAME --subresource=exec`
            let (kind, sub) = res.split_once('/').unwrap_or((res, ""));
            let target = format!("{kind}/{pod}");
            let flag = format!("--subresource={sub}");
            let mut args = vec![verb, target.as_str(), "-n", n];
            if !sub.is_empty() {
                args.push(flag.as_str());
            }
            let got = can_i(&env, A, tok, &args).await?;
            assert_eq!(got, want, "{who}: {verb} {res} {pod}");
        }
        assert!(!can_i(&env, A, &owner, &["list", "pods", "-n", n]).await?, "list carries no pod name");
        assert!(!can_i(&env, B, &owner, &exec).await?, "another cluster");

        // A DenyPolicy blocking exec in the namespace does not block the participant.
        let policy_name = format!("dbgacc-no-exec-{}", fx.id);
        policy(
            &env,
            &policy_name,
            json!({"appliesTo": {"clusters": [A]}, "rules": [{"verbs": ["*"], "apiGroups": [""], "resources": ["pods"], "subresources": ["exec"], "namespaces": {"patterns": [n]}}]}),
        )
        .await?;
        let checked = async {
            wait_for(Duration::from_secs(10), "the DenyPolicy is in effect", || async {
                let s = review(&server.url, "someone@example.com", "create", "exec", n, "dbg").await;
                Ok(s["reason"].as_str().unwrap_or_default().contains(&policy_name))
            })
            .await?;
            let s = review(&server.url, PARTICIPANT, "create", "exec", n, "dbg").await;
            assert_eq!(s["allowed"], true, "{s}");
            let reason = s["reason"].as_str().unwrap_or_default();
            assert!(
                reason.starts_with(&format!(
                    "Allowed by debug session {name} (role: participant, operation: exec) [grant v1 "
                )),
                "{reason}"
            );
            // The grant id the target's audit log records names the session, the role and
            // the operation (the ledger of who could do what, through which session).
            let grant = breakglass_core::authz::grant::Grant::find(reason).expect("grant id");
            assert_eq!(grant.kind, breakglass_core::authz::grant::GrantKind::Debug);
            assert_eq!(grant.name, name.as_str());
            assert_eq!(grant.cluster, A);
            assert_eq!(grant.detail.as_deref(), Some("participant"));
            assert_eq!(grant.operation.as_deref(), Some("exec"));
            assert!(grant.origin.is_some(), "{reason}");
            assert!(can_i(&env, A, &participant, &exec).await?);
            anyhow::Ok(())
        }
        .await;
        delete_policy(&env, &policy_name).await?;
        checked?;

        // The participant leaves: their access ends; the owner's stays.
        let left = api.post_empty(&format!("/api/debugSessions/{name}/leave"), &participant).await?;
        assert_eq!(left.status, 200, "{}", left.text);
        until_can_i(&env, A, &participant, &exec, false, Duration::from_secs(5)).await?;
        assert!(can_i(&env, A, &owner, &exec).await?);

        // Terminate: access ends within 1 s.
        let r = api.post_empty(&format!("/api/debugSessions/{name}/terminate"), &participant).await?;
        assert_eq!(r.status, 403, "a non-owner terminates: {}", r.text);
        let r = api.post_empty(&format!("/api/debugSessions/{name}/terminate"), &owner).await?;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.state(), "Terminated");
        assert_eq!(r.body["status"]["message"], format!("Terminated by {OWNER}"));
        let started = Instant::now();
        until_can_i(&env, A, &owner, &exec, false, Duration::from_secs(5)).await?;
        let took = started.elapsed();
        note(&format!("debug access ended {took:?} after terminate"));
        assert!(took < Duration::from_secs(1), "access ended after {took:?}");
        assert!(!can_i(&env, A, &viewer, &["get", "pods/dbg", "-n", n]).await?);
        anyhow::Ok(())
    }
    .await;
    remove_namespace(&env, &ns).await;
    remove_template(&fx, &tpl).await;
    fx.cleanup().await?;
    result
}

#[tokio::test]
async fn debug_session_access_ends_at_expiry() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "dbgexp").await?;
    let api = RestClient::new(&server.url);
    let name = format!("debug-expiry-{}", fx.id);
    let ns = format!("dbgexp-{}", fx.id);
    let tpl = template(&env, &fx, &api).await?;
    let result = async {
        let mut status = active(json!([member(OWNER, "owner")]), &ns, "dbg", json!({}));
        // Whole seconds: status timestamps are stored with second precision.
        let expires = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 6)?;
        status["expiresAt"] = json!(expires.to_string());
        let session = debug_session(&fx, &name, spec(&tpl, &[]), status).await?;
        pods(&env, &ns, &session).await?;
        let owner = token(&env, "requester").await?;
        let exec = [
            "create",
            "pods/dbg",
            "--subresource=exec",
            "-n",
            ns.as_str(),
        ];
        until_can_i(&env, A, &owner, &exec, true, Duration::from_secs(5)).await?;
        // The pure check ends access by time, whenever the timers write the state.
        until_can_i(&env, A, &owner, &exec, false, Duration::from_secs(10)).await?;
        let late = jiff::Timestamp::now().duration_since(expires);
        note(&format!("debug access ended {late:?} after expiresAt"));
        assert!(
            late >= jiff::SignedDuration::ZERO && late < jiff::SignedDuration::from_secs(1),
            "access ended {late:?} after expiresAt"
        );
        anyhow::Ok(())
    }
    .await;
    remove_namespace(&env, &ns).await;
    remove_template(&fx, &tpl).await;
    fx.cleanup().await?;
    result
}

fn path(name: &str, action: &str) -> String {
    if action.is_empty() {
        format!("/api/debugSessions/{name}")
    } else {
        format!("/api/debugSessions/{name}/{action}")
    }
}

/// Names listed for the token's user.
async fn listed(api: &RestClient, tok: &str, query: &str) -> anyhow::Result<Vec<String>> {
    let r = api.get(&format!("/api/debugSessions{query}"), tok).await?;
    anyhow::ensure!(r.status == 200, "list: {}", r.text);
    Ok(r.body["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect())
}

#[tokio::test]
async fn debug_session_rest_matrix() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    let fx = Fixture::new(&env, "dbgrest").await?;
    let api = RestClient::new(&server.url);
    let id = &fx.id;
    let (mine, theirs, active_name, pend, ended) = (
        format!("debug-a-{id}"),
        format!("debug-b-{id}"),
        format!("debug-c-{id}"),
        format!("debug-d-{id}"),
        format!("debug-e-{id}"),
    );
    let tpl = template(&env, &fx, &api).await?;
    let result = rest_matrix(
        &env,
        &fx,
        &api,
        &tpl,
        [&mine, &theirs, &active_name, &pend, &ended],
    )
    .await;
    remove_template(&fx, &tpl).await;
    fx.cleanup().await?;
    result
}

async fn rest_matrix(
    env: &TestEnv,
    fx: &Fixture,
    api: &RestClient,
    tpl: &str,
    [mine, theirs, active_name, pend, ended]: [&String; 5],
) -> anyhow::Result<()> {
    let id = &fx.id;
    // `mine` is approved by approver, `theirs` by approver2; all requested by requester.
    debug_session(fx, mine, spec(tpl, &[]), pending(&["approver@example.com"])).await?;
    debug_session(
        fx,
        theirs,
        spec(tpl, &[]),
        pending(&["approver2@example.com"]),
    )
    .await?;
    debug_session(fx, pend, spec(tpl, &[]), pending(&["approver@example.com"])).await?;
    debug_session(
        fx,
        ended,
        spec(tpl, &[]),
        pending(&["approver@example.com"]),
    )
    .await?;
    let mut status = active(
        json!([member(OWNER, "owner")]),
        "ns",
        "p",
        json!({
            "constraints": {"maxDuration": "2h", "maxRenewals": 1},
            "terminalSharing": {"maxParticipants": 2},
        }),
    );
    status["expiresAt"] =
        json!((jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)).to_string());
    debug_session(
        fx,
        active_name,
        spec(tpl, &[PARTICIPANT, "nobody@example.com"]),
        status,
    )
    .await?;

    let owner = token(env, "requester").await?;
    let other = token(env, "requester2").await?;
    let approver = token(env, "approver").await?;
    let approver2 = token(env, "approver2").await?;
    let nobody = token(env, "nobody").await?;
    let admin = token(env, "admin").await?;
    wait_for(
        Duration::from_secs(10),
        "the mirror has the sessions",
        || async {
            let names = listed(api, &owner, "").await?;
            Ok(names.iter().filter(|n| n.ends_with(id.as_str())).count() >= 5)
        },
    )
    .await?;

    // Read: (who, token, status of GET mine)
    for (who, tok, want) in [
        ("owner", &owner, 200),
        ("other user", &other, 403),
        ("approver of this session", &approver, 200),
        ("approver of another", &approver2, 403),
        ("nobody", &nobody, 403),
        ("admin", &admin, 403),
    ] {
        let r = api.get(&path(mine, ""), tok).await?;
        assert_eq!(r.status, want, "{who}: {}", r.text);
    }
    let r = api.get(&path(mine, ""), &approver).await?;
    assert_eq!(
        (r.body["canApprove"].clone(), r.body["canReject"].clone()),
        (json!(true), json!(true))
    );
    let r = api.get(&path(mine, ""), &owner).await?;
    assert_eq!(r.body["canApprove"], false, "never the requester");
    let r = api
        .get(
            &format!("/api/v1/debug-sessions/{mine}?namespace={}", fx.ns),
            &owner,
        )
        .await?;
    assert_eq!(r.status, 200, "alias with namespace hint: {}", r.text);
    let r = api
        .get(&path(&format!("debug-unknown-{id}"), ""), &owner)
        .await?;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = api.call("GET", &path(mine, ""), None, None).await?;
    assert_eq!(r.status, 401);

    // List: only what the caller may read; filters.
    let mut all = listed(api, &owner, "").await?;
    all.retain(|n| n.ends_with(id.as_str()));
    all.sort();
    assert_eq!(
        all,
        [
            mine.clone(),
            theirs.clone(),
            active_name.clone(),
            pend.clone(),
            ended.clone()
        ]
    );
    let for_approver: Vec<String> = listed(api, &approver, "")
        .await?
        .into_iter()
        .filter(|n| n.ends_with(id.as_str()))
        .collect();
    assert!(
        for_approver.contains(mine)
            && for_approver.contains(pend)
            && !for_approver.contains(theirs),
        "{for_approver:?}"
    );
    let for_nobody: Vec<String> = listed(api, &nobody, "")
        .await?
        .into_iter()
        .filter(|n| n.ends_with(id.as_str()))
        .collect();
    assert_eq!(
        for_nobody,
        std::slice::from_ref(active_name),
        "invitees read the session"
    );
    let actives: Vec<String> = listed(api, &owner, "?state=active&mine=true")
        .await?
        .into_iter()
        .filter(|n| n.ends_with(id.as_str()))
        .collect();
    assert_eq!(actives, std::slice::from_ref(active_name));
    let r = api.get("/api/debugSessions?state=Approved", &owner).await?;
    assert_eq!(r.status, 400, "{}", r.text);

    // Every route, for everyone with no relation to the session (another requester, an
    // approver of another session, nobody, admin): 403, and never a change.
    let routes = [
        "",
        "approve",
        "reject",
        "renew",
        "terminate",
        "join",
        "leave",
    ];
    for (who, tok) in [
        ("other user", &other),
        ("approver of another", &approver2),
        ("nobody", &nobody),
        ("admin", &admin),
    ] {
        for route in routes {
            let r = if route.is_empty() {
                api.get(&path(mine, ""), tok).await?
            } else {
                let body = if route == "renew" {
                    json!({"extendBy": "10m"})
                } else {
                    json!({})
                };
                api.post(&path(mine, route), tok, body).await?
            };
            assert_eq!(r.status, 403, "{who} {route}: {}", r.text);
        }
    }
    for route in routes {
        let unknown = format!("debug-unknown-{id}");
        let r = if route.is_empty() {
            api.get(&path(&unknown, ""), &owner).await?
        } else {
            let body = if route == "renew" {
                json!({"extendBy": "10m"})
            } else {
                json!({})
            };
            api.post(&path(&unknown, route), &owner, body).await?
        };
        assert_eq!(r.status, 404, "unknown session {route}: {}", r.text);
    }
    let r = api.get(&path(mine, ""), &owner).await?;
    assert_eq!(r.state(), "PendingApproval", "nothing changed: {}", r.text);

    // Decisions: self-approval, strangers, approvers of other sessions, admin.
    for (who, tok) in [
        ("owner", &owner),
        ("approver of another", &approver2),
        ("nobody", &nobody),
        ("admin", &admin),
        ("other user", &other),
    ] {
        for action in ["approve", "reject"] {
            let r = api.post(&path(mine, action), tok, json!({})).await?;
            assert_eq!(r.status, 403, "{who} {action}: {}", r.text);
        }
    }
    let r = api.post_empty(&path(mine, "approve"), &owner).await?;
    assert_eq!(r.body["reason"], "SELF_APPROVAL_BLOCKED", "{}", r.text);
    let r = api
        .raw(
            "POST",
            &path(mine, "approve"),
            Some(&approver),
            r#"{"reason":"ok","extra":1}"#,
        )
        .await?;
    assert!(
        r.status == 422 && r.text.contains("extra"),
        "strict body: {} {}",
        r.status,
        r.text
    );

    // Concurrent approve and reject: exactly one wins, the other is 409.
    let (approve_path, reject_path) = (path(mine, "approve"), path(mine, "reject"));
    let (a, b) = tokio::join!(
        api.post(&approve_path, &approver, json!({"reason": "looks fine"})),
        api.post(&reject_path, &approver, json!({"reason": "not today"})),
    );
    let mut codes = [a?.status, b?.status];
    codes.sort_unstable();
    assert_eq!(codes, [200, 409]);
    for action in ["approve", "reject"] {
        let r = api.post_empty(&path(mine, action), &approver).await?;
        assert_eq!(r.status, 409, "decided already: {action}: {}", r.text);
    }
    let r = api.post_empty(&path(pend, "approve"), &approver).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.state(), "PendingApproval", "the reconciler activates");
    assert_eq!(
        r.body["status"]["approval"]["approvedBy"],
        "approver@example.com"
    );
    let r = api
        .post(&path(theirs, "reject"), &approver2, json!({"reason": "no"}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.state(), "Terminated");

    // Renew: owner only among these, within limits.
    let r = api
        .post(
            &path(active_name, "renew"),
            &other,
            json!({"extendBy": "30m"}),
        )
        .await?;
    assert_eq!(r.status, 403, "not yet a participant: {}", r.text);
    let r = api
        .post(
            &path(active_name, "renew"),
            &owner,
            json!({"extendBy": "3h"}),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("maximum duration"), "{}", r.text);
    let r = api
        .post(
            &path(active_name, "renew"),
            &owner,
            json!({"extendBy": "soon"}),
        )
        .await?;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = api
        .post(&path(active_name, "renew"), &owner, json!({}))
        .await?;
    assert_eq!(r.status, 422, "extendBy is required: {}", r.text);
    let r = api
        .post(
            &path(active_name, "renew"),
            &owner,
            json!({"extendBy": "30m"}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["renewalCount"], 1);
    assert!(r.body["newExpiresAt"].is_string());
    let r = api
        .post(
            &path(active_name, "renew"),
            &owner,
            json!({"extendBy": "10m"}),
        )
        .await?;
    assert_eq!(r.status, 403, "maxRenewals 1: {}", r.text);
    let r = api
        .post(&path(ended, "renew"), &owner, json!({"extendBy": "10m"}))
        .await?;
    assert_eq!(r.status, 400, "not active: {}", r.text);

    // Join and leave.
    let r = api
        .post_empty(&path(active_name, "join"), &approver2)
        .await?;
    assert_eq!(r.status, 403, "not invited: {}", r.text);
    let r = api.post_empty(&path(active_name, "join"), &other).await?;
    assert_eq!(
        (r.status, r.body["role"].clone()),
        (200, json!("participant")),
        "{}",
        r.text
    );
    let r = api.post_empty(&path(active_name, "join"), &other).await?;
    assert_eq!(r.status, 409, "{}", r.text);
    let r = api.post_empty(&path(active_name, "join"), &nobody).await?;
    assert_eq!(r.status, 403, "maxParticipants 2: {}", r.text);
    let r = api.post_empty(&path(active_name, "leave"), &owner).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = api.post_empty(&path(active_name, "leave"), &nobody).await?;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = api.post_empty(&path(active_name, "leave"), &other).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.post_empty(&path(active_name, "leave"), &other).await?;
    assert_eq!(r.status, 409, "{}", r.text);
    let r = api
        .post_empty(&path(active_name, "join"), &approver)
        .await?;
    assert_eq!(r.status, 403, "readable by nobody else: {}", r.text);

    // Terminate: owner only; pending requests too; ended sessions 409.
    for tok in [&other, &approver, &admin] {
        let r = api.post_empty(&path(ended, "terminate"), tok).await?;
        assert_eq!(r.status, 403, "{}", r.text);
    }
    let r = api
        .post(&path(ended, "terminate"), &owner, json!({"force": true}))
        .await?;
    assert_eq!(r.status, 400, "no body: {}", r.text);
    let r = api.post_empty(&path(ended, "terminate"), &owner).await?;
    assert_eq!(
        (r.status, r.state()),
        (200, "Terminated".to_owned()),
        "{}",
        r.text
    );
    let r = api.post_empty(&path(ended, "terminate"), &owner).await?;
    assert_eq!(r.status, 409, "{}", r.text);

    Ok(())
}

/// The whole path through the other branches' code: a request through the REST API, an
/// approval, the controller's DaemonSet on target-a, `allowedPods` from the real pods,
/// then kubectl as owner, invited participant and stranger; terminate ends it.
#[tokio::test]
async fn requested_approved_deployed_then_used() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "dbgflow").await?;
    let ns = format!("dbgflow-{}", fx.id);
    let target = env.target_client(A).await?;
    Api::<Namespace>::all(target.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    let name = format!("flow-{}", fx.id);
    let hub = fx.hub();
    let create = |kind: &'static str, plural: &'static str, spec: Value| {
        let hub = hub.clone();
        let name = name.clone();
        async move {
            let gvk =
                kube::api::GroupVersionKind::gvk("breakglass.t-caas.telekom.com", "v1alpha1", kind);
            let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
            let api: Api<kube::api::DynamicObject> = Api::all_with(hub, &ar);
            let obj: kube::api::DynamicObject = serde_json::from_value(json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": kind,
                "metadata": {"name": name}, "spec": spec}))?;
            api.create(&PostParams::default(), &obj).await?;
            anyhow::Ok(())
        }
    };
    let result = async {
        create("DebugPodTemplate", "debugpodtemplates", json!({
            "template": {"spec": {"containers": [{"name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"]}]}},
        }))
        .await?;
        create("DebugSessionTemplate", "debugsessiontemplates", json!({
            "podTemplateRef": {"name": name},
            "targetNamespace": ns,
            "allowed": {"clusters": [A], "groups": ["developers"]},
            "approvers": {"users": ["approver@example.com"]},
        }))
        .await?;
        let owner = token(&env, "requester").await?;
        let participant = token(&env, "requester2").await?;
        let approver = token(&env, "approver").await?;
        let nobody = token(&env, "nobody").await?;
        let owner_c = client(&server.url, &owner)?;
        let approver_c = client(&server.url, &approver)?;
        let participant_c = client(&server.url, &participant)?;
        // The server must have the new templates before a request can name them.
        let (oc, tn) = (&owner_c, &name);
        wait_for(Duration::from_secs(10), "the template is offered", move || async move {
            let offered = oc
                .list_debug_templates(&TemplatesQuery {
                    include_hidden: None,
                    include_unavailable: Some(true),
                })
                .await?;
            Ok(offered.templates.iter().any(|t| &t.name == tn))
        })
        .await?;
        let body = CreateDebugSessionRequest {
            template_ref: name.clone(),
            cluster: A.to_owned(),
            reason: Some("debugging the network".to_owned()),
            invited_participants: Some(vec![PARTICIPANT.to_owned()]),
            ..CreateDebugSessionRequest::default()
        };
        // Other tests request as the same user at the same time: a 409 for a creation in
        // progress is retried, as a client would.
        let mut r = owner_c.request_debug_session(&body).await;
        for _ in 0..20 {
            if status_of(&r) != Some(409) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            r = owner_c.request_debug_session(&body).await;
        }
        let session = r?.metadata.name;
        let state = |d: &DebugSessionDetail| {
            d.session
                .status
                .as_ref()
                .and_then(|s| s.state)
                .map(|s| s.as_str())
        };
        let sn = &session;
        wait_for(Duration::from_secs(15), "PendingApproval", move || async move {
            Ok(state(&oc.get_debug_session(sn, None).await?) == Some("PendingApproval"))
        })
        .await?;
        let none = DecisionRequest::default();
        let r = owner_c.approve_debug_session(&session, None, &none).await;
        assert_eq!(status_of(&r), Some(403), "self-approval: {r:?}");
        approver_c
            .approve_debug_session(
                &session,
                None,
                &DecisionRequest {
                    reason: Some("go ahead".to_owned()),
                },
            )
            .await?;
        let started = Instant::now();
        let pod = loop {
            let d = owner_c.get_debug_session(&session, None).await?;
            let pod = d
                .session
                .status
                .as_ref()
                .and_then(|s| s.allowed_pods.as_ref())
                .and_then(|p| p.first())
                .map(|p| p.name.clone());
            if let (Some("Active"), Some(pod)) = (state(&d), pod) {
                break pod;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "not Active with allowed pods after 30 s: {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let pod = format!("pods/{pod}");
        let exec = ["create", pod.as_str(), "--subresource=exec", "-n", ns.as_str()];
        until_can_i(&env, A, &owner, &exec, true, Duration::from_secs(5)).await?;
        assert!(!can_i(&env, A, &participant, &exec).await?, "not joined yet");
        let joined = participant_c.join_debug_session(&session, None).await?;
        assert_eq!(joined.role.as_deref(), Some("participant"));
        until_can_i(&env, A, &participant, &exec, true, Duration::from_secs(5)).await?;
        assert!(!can_i(&env, A, &nobody, &exec).await?);
        assert!(!can_i(&env, A, &owner, &["get", pod.as_str(), "--subresource=log", "-n", ns.as_str()]).await?,
            "logs are off by default");
        let ended = owner_c.terminate_debug_session(&session, None).await?;
        assert_eq!(
            ended.session.status.and_then(|s| s.state).map(|s| s.as_str()),
            Some("Terminated")
        );
        let started = Instant::now();
        until_can_i(&env, A, &participant, &exec, false, Duration::from_secs(5)).await?;
        let took = started.elapsed();
        note(&format!("debug access (real flow) ended {took:?} after terminate"));
        assert!(took < Duration::from_secs(1), "access ended after {took:?}");
        anyhow::Ok(())
    }
    .await;
    for (plural, kind) in [
        ("debugsessiontemplates", "DebugSessionTemplate"),
        ("debugpodtemplates", "DebugPodTemplate"),
    ] {
        let gvk =
            kube::api::GroupVersionKind::gvk("breakglass.t-caas.telekom.com", "v1alpha1", kind);
        let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<kube::api::DynamicObject> = Api::all_with(fx.hub(), &ar);
        let _ = api.delete(&name, &DeleteParams::default()).await;
    }
    let _ = Api::<Namespace>::all(target)
        .delete(&ns, &DeleteParams::background())
        .await;
    fx.cleanup().await?;
    result
}
