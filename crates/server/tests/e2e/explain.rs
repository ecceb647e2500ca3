//! `POST /api/explain` and `POST /api/breakglassEscalations/forRequest` against the
//! shared server and real target RBAC: who may ask, what the decision and its trace
//! say, and which escalations would allow a request.

use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::rest::explain::{ExplainResponse, ForRequestResponse};
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

pub(crate) const A: &str = "target-a";

/// A namespace on target-a where one group may do what `rules` allow; deleted on drop.
pub(crate) struct TargetNs {
    env: TestEnv,
    /// The namespace.
    pub name: String,
}

impl TargetNs {
    /// Creates namespace `name` on target-a and binds `<prefix><group>` to `rules` in it.
    pub(crate) async fn new(
        env: &TestEnv,
        name: &str,
        group: &str,
        rules: Value,
    ) -> anyhow::Result<Self> {
        let client = env.target_client(A).await?;
        Api::<Namespace>::all(client.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": name}}))?,
            )
            .await?;
        let me = Self {
            env: env.clone(),
            name: name.to_owned(),
        };
        me.grant(group, rules).await?;
        Ok(me)
    }

    /// Binds `<prefix><group>` to `rules` in the namespace (Role and RoleBinding named
    /// after the group).
    pub(crate) async fn grant(&self, group: &str, rules: Value) -> anyhow::Result<()> {
        let client = self.env.target_client(A).await?;
        let name = &self.name;
        Api::<Role>::namespaced(client.clone(), name)
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": group}, "rules": rules}))?,
            )
            .await?;
        Api::<RoleBinding>::namespaced(client, name)
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": {"name": group},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": group},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                  "name": format!("{}{group}", self.env.group_prefix())}],
                }))?,
            )
            .await?;
        Ok(())
    }
}

impl Drop for TargetNs {
    fn drop(&mut self) {
        let env = self.env.clone();
        let name = self.name.clone();
        run_detached(move || async move {
            if let Ok(client) = env.target_client(A).await {
                let _ = Api::<Namespace>::all(client)
                    .delete(&name, &DeleteParams::background())
                    .await;
            }
        });
    }
}

/// Rules that let a group list and read pods.
pub(crate) fn read_pods() -> Value {
    json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}])
}

fn list_pods(ns: &str, user: Option<&str>) -> Value {
    let mut body = json!({"cluster": A, "verb": "list",
                          "resourceAttributes": {"resource": "pods", "namespace": ns}});
    if let Some(u) = user {
        body["user"] = json!(u);
    }
    body
}

fn explained(r: &Reply) -> ExplainResponse {
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_value(r.body.clone()).unwrap()
}

/// Denied because no session of the user fits: either they hold none on the cluster
/// (`no-session`, decided by the sessions stage) or only sessions of other tests whose
/// groups the cluster does not allow here (`final`, decided by the group check; tests
/// run in parallel as the same test users).
pub(crate) fn assert_denied_without_a_fitting_session(e: &ExplainResponse) {
    assert!(!e.allowed, "{e:?}");
    match e.stage.as_str() {
        "no-session" => {
            assert_eq!(outcome_of(e, "sessions"), "denied", "{e:?}");
            assert_eq!(outcome_of(e, "group-check"), "not-reached", "{e:?}");
        }
        "final" => {
            assert_eq!(outcome_of(e, "sessions"), "passed", "{e:?}");
            assert_eq!(outcome_of(e, "group-check"), "denied", "{e:?}");
        }
        other => panic!("decided by {other}: {e:?}"),
    }
}

pub(crate) fn outcome_of<'a>(e: &'a ExplainResponse, stage: &str) -> &'a str {
    e.trace
        .iter()
        .find(|s| s.stage == stage)
        .map(|s| s.outcome.as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn explain_answers_the_user_themself_and_admins_only() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "explain").await?;
    let group = fx.group("pods-reader");
    let target = TargetNs::new(&env, &format!("explain-{}", fx.id), &group, read_pods()).await?;
    let ns = target.name.clone();
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let nobody = token(&env, "nobody").await?;
    let admin = token(&env, "admin").await?;
    const ME: &str = "requester@example.com";

    // No token: 401.
    let r = api
        .call("POST", "/api/explain", None, Some(list_pods(&ns, None)))
        .await?;
    assert_eq!(r.status, 401, "{}", r.text);

    // The user themself, implicitly and by name: denied, every stage shown.
    for user in [None, Some(ME)] {
        let e = explained(
            &api.post("/api/explain", &requester, list_pods(&ns, user))
                .await?,
        );
        assert_eq!(e.user, ME);
        assert!(!e.allowed);
        assert_eq!(e.trace.len(), 6, "{:?}", e.trace);
        assert_eq!(outcome_of(&e, "cluster"), "passed");
        assert_denied_without_a_fitting_session(&e);
        assert!(
            e.groups
                .contains(&format!("{}developers", env.group_prefix())),
            "{:?}",
            e.groups
        );
    }

    // Another user's request: the requester, an approver (of this very escalation) and a
    // user in no group are all refused; an admin is answered.
    for (who, t) in [
        ("requester", &requester),
        ("approver", &approver),
        ("nobody", &nobody),
    ] {
        let other = if who == "requester" {
            "approver@example.com"
        } else {
            ME
        };
        let r = api
            .post("/api/explain", t, list_pods(&ns, Some(other)))
            .await?;
        assert_eq!(r.status, 403, "{who}: {}", r.text);
        assert_eq!(r.body["reason"], "NOT_AN_ADMIN", "{who}: {}", r.text);
    }
    let e = explained(
        &api.post("/api/explain", &admin, list_pods(&ns, Some(ME)))
            .await?,
    );
    assert_eq!((e.user.as_str(), e.allowed), (ME, false));
    assert_denied_without_a_fitting_session(&e);
    // Nobody asks about their own request freely.
    let e = explained(
        &api.post("/api/explain", &nobody, list_pods(&ns, None))
            .await?,
    );
    assert_eq!(e.user, "nobody@example.com");
    // Naming a group one does not have is an admin's privilege.
    let mut body = list_pods(&ns, None);
    body["groups"] = json!([format!("{}breakglass-admins", env.group_prefix())]);
    let r = api.post("/api/explain", &requester, body.clone()).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(api.post("/api/explain", &admin, body).await?.status, 200);

    // Bad bodies are refused with the field named.
    for (body, field) in [
        (
            json!({"verb": "list", "resourceAttributes": {"resource": "pods"}}),
            "cluster",
        ),
        (
            json!({"cluster": A, "resourceAttributes": {"resource": "pods"}}),
            "verb",
        ),
        (json!({"cluster": A, "verb": "list"}), "resourceAttributes"),
        (
            json!({"cluster": A, "verb": "get", "nonResourceAttributes": {"path": "healthz"}}),
            "nonResourceAttributes.path",
        ),
        (json!({"cluster": A, "verb": "list", "bogus": 1}), "bogus"),
    ] {
        let r = api.post("/api/explain", &requester, body).await?;
        assert_eq!(r.status, 422, "{field}: {}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }

    // Oversized or smuggling input is refused before anything is evaluated, even for an
    // admin: a 512 KiB verb, one group too many, a group with a newline (forged log
    // lines). The verb stays under the body limit so the field rule answers; a body
    // over the limit is refused from its Content-Length before it is read, and the
    // client may see the connection close while still sending (the 413 itself is a
    // unit test of `http`).
    let mut huge_verb = list_pods(&ns, None);
    huge_verb["verb"] = json!("g".repeat(1 << 19));
    let mut many_groups = list_pods(&ns, None);
    many_groups["groups"] = json!(
        (0..=breakglass_api::rest::explain::MAX_GROUPS)
            .map(|i| format!("g{i}"))
            .collect::<Vec<_>>()
    );
    let mut newline_group = list_pods(&ns, None);
    newline_group["groups"] = json!(["ok", "evil\nallowed=true"]);
    for (body, field) in [
        (huge_verb, "verb"),
        (many_groups, "groups"),
        (newline_group, "groups[1]"),
    ] {
        let r = api.post("/api/explain", &admin, body).await?;
        assert!(
            r.status == 422 || r.status == 413,
            "{field}: {} {}",
            r.status,
            r.text.chars().take(300).collect::<String>()
        );
        if r.status == 422 {
            assert!(r.text.contains(field), "{field}: {}", r.text);
        }
    }

    // After approval: allowed by the session, named with its group; the admin sees it too.
    let r = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();
    let r = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut allowed = None;
    for _ in 0..50 {
        let e = explained(
            &api.post("/api/explain", &requester, list_pods(&ns, None))
                .await?,
        );
        if e.allowed {
            allowed = Some(e);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let e = allowed.expect("allowed after approval");
    assert_eq!(e.stage, "session");
    assert_eq!(outcome_of(&e, "group-check"), "allowed");
    let s = e.session.expect("the allowing session");
    assert_eq!(
        (s.name.as_str(), s.group.as_str()),
        (name.as_str(), group.as_str())
    );
    let e = explained(
        &api.post("/api/explain", &admin, list_pods(&ns, Some(ME)))
            .await?,
    );
    assert!(e.allowed, "{e:?}");
    // The session's group may not delete: denied at the group check.
    let mut body = list_pods(&ns, None);
    body["verb"] = json!("delete");
    let e = explained(&api.post("/api/explain", &requester, body).await?);
    assert!(!e.allowed);
    assert_eq!(e.stage, "final");
    assert_eq!(outcome_of(&e, "group-check"), "denied");

    fx.cleanup().await?;
    drop(target);
    Ok(())
}

#[tokio::test]
async fn escalations_for_a_request_are_those_whose_group_the_cluster_allows() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "forreq").await?;
    let readers = fx.group("readers");
    let useless = fx.group("useless");
    let rules =
        json!([{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "list"]}]);
    let target = TargetNs::new(&env, &format!("forreq-{}", fx.id), &readers, rules).await?;
    let ns = target.name.clone();
    fx.escalation("read", spec(&[A], &readers)).await?;
    fx.escalation("other", spec(&[A], &useless)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let nobody = token(&env, "nobody").await?;
    let path = "/api/breakglassEscalations/forRequest";
    let body = json!({"cluster": A, "verb": "list",
                      "resourceAttributes": {"resource": "pods", "namespace": ns}});

    let r = api.post(path, &requester, body.clone()).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let f: ForRequestResponse = serde_json::from_value(r.body.clone())?;
    let mine: Vec<_> = f.items.iter().filter(|e| e.namespace == fx.ns).collect();
    assert_eq!(mine.len(), 1, "{}", r.text);
    assert_eq!(
        (mine[0].name.as_str(), mine[0].group.as_str()),
        ("read", readers.as_str())
    );
    assert!(mine[0].allowed && mine[0].session.is_none());
    let other = f
        .not_allowing
        .iter()
        .find(|e| e.namespace == fx.ns && e.name == "other")
        .expect("the useless escalation is listed as not allowing");
    assert_eq!(other.stage, "final");
    assert!(!other.allowed);
    // Nothing was requested on the caller's behalf.
    let sessions: Api<BreakglassSession> = Api::namespaced(fx.hub(), &fx.ns);
    assert!(
        sessions
            .list(&ListParams::default())
            .await?
            .items
            .is_empty()
    );

    // A pending request shows up on its escalation.
    let r = api.request(&requester, A, &readers, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let f: ForRequestResponse =
        serde_json::from_value(api.post(path, &requester, body.clone()).await?.body)?;
    let read = f
        .items
        .iter()
        .find(|e| e.namespace == fx.ns)
        .expect("still allowing");
    let s = read.session.as_ref().expect("the pending session");
    assert_eq!(
        (s.name.as_str(), s.state.as_str()),
        (r.name().as_str(), "Pending")
    );

    // Someone outside `developers` may request neither; an unknown cluster is 404.
    let f: ForRequestResponse =
        serde_json::from_value(api.post(path, &nobody, body.clone()).await?.body)?;
    assert!(f.items.iter().all(|e| e.namespace != fx.ns));
    assert!(f.not_allowing.iter().all(|e| e.namespace != fx.ns));
    let mut unknown = body.clone();
    unknown["cluster"] = json!("no-such-cluster");
    assert_eq!(api.post(path, &requester, unknown).await?.status, 404);
    let r = api.call("POST", path, None, Some(body)).await?;
    assert_eq!(r.status, 401, "{}", r.text);

    // A DenyPolicy still applies to the session an escalation would grant: the group may
    // read secrets, the policy forbids it here, so no escalation would allow it.
    let policy = format!("e2e-{}-no-secrets", fx.id);
    crate::webhook::policy(
        &env,
        &policy,
        json!({"rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"],
                          "namespaces": {"patterns": [ns.clone()]}}]}),
    )
    .await?;
    let secrets = json!({"cluster": A, "verb": "list",
                         "resourceAttributes": {"resource": "secrets", "namespace": ns}});
    let mut denied = None;
    for _ in 0..50 {
        let f: ForRequestResponse =
            serde_json::from_value(api.post(path, &requester, secrets.clone()).await?.body)?;
        if let Some(e) = f
            .not_allowing
            .into_iter()
            .find(|e| e.namespace == fx.ns && e.name == "read" && e.stage == "deny-policy")
        {
            denied = Some(e);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = crate::webhook::delete_policy(&env, &policy).await;
    let denied = denied.expect("the DenyPolicy makes the escalation useless for secrets");
    assert!(denied.reason.contains(&policy), "{denied:?}");

    fx.cleanup().await?;
    drop(target);
    Ok(())
}
