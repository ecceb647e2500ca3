//! The authorization matrix of the REST API: every endpoint against the callers owner,
//! other user, approver of this escalation, approver of another escalation, admin and
//! nobody (no token), with the exact status each gets and, for every refusal, proof that
//! nothing changed on the hub.
//!
//! The reference has no administrator notion on the REST API; the `admin` test user
//! (group `breakglass-admins`) is an ordinary user here, and the matrix asserts that.

use serde_json::{Value, json};

use crate::support::*;

const A: &str = "target-a";

/// The callers of the matrix.
struct Callers {
    owner: String,
    other: String,
    approver: String,
    other_approver: String,
    admin: String,
}

impl Callers {
    async fn new(env: &breakglass_testenv::TestEnv) -> anyhow::Result<Self> {
        Ok(Self {
            owner: token(env, "requester").await?,
            other: token(env, "requester2").await?,
            approver: token(env, "approver").await?,
            other_approver: token(env, "approver2").await?,
            admin: token(env, "admin").await?,
        })
    }

    /// `(label, token)` for each caller but the one(s) allowed.
    fn all(&self) -> Vec<(&'static str, Option<&str>)> {
        vec![
            ("owner", Some(self.owner.as_str())),
            ("other user", Some(self.other.as_str())),
            ("approver", Some(self.approver.as_str())),
            (
                "approver of another escalation",
                Some(self.other_approver.as_str()),
            ),
            ("admin", Some(self.admin.as_str())),
            ("nobody (no token)", None),
        ]
    }
}

/// Two escalations for two groups: `approver@` approves the first only, `approver2@`
/// the second only.
async fn setup(fx: &Fixture) -> anyhow::Result<(String, String)> {
    let group = fx.group("matrix");
    let other_group = fx.group("matrix-other");
    let mut esc = spec(&[A], &group);
    esc["approvers"] = json!({"users": ["approver@example.com"]});
    fx.escalation("esc", esc).await?;
    let mut other = spec(&[A], &other_group);
    other["approvers"] = json!({"users": ["approver2@example.com"]});
    fx.escalation("other", other).await?;
    Ok((group, other_group))
}

/// The hub's copy of a session: resourceVersion and state.
async fn snapshot(fx: &Fixture, name: &str) -> anyhow::Result<(String, String)> {
    let s = fx.session(name).await?;
    Ok((
        s.metadata.resource_version.unwrap_or_default(),
        s.status
            .and_then(|st| st.state)
            .map(|st| st.to_string())
            .unwrap_or_default(),
    ))
}

/// Runs `action` on `name` as each refused caller, asserting the status and that the
/// session did not change.
async fn refused(
    api: &RestClient,
    fx: &Fixture,
    name: &str,
    action: &str,
    table: &[(&str, Option<&str>, u16)],
) -> anyhow::Result<()> {
    let before = snapshot(fx, name).await?;
    for (who, token, want) in table {
        let r = api
            .call(
                "POST",
                &format!("/api/breakglassSessions/{name}/{action}"),
                *token,
                Some(json!({})),
            )
            .await?;
        assert_eq!(r.status, *want, "{action} as {who}: {}", r.text);
        assert!(r.body["error"].is_string(), "{action} as {who}: {}", r.text);
        assert_eq!(
            snapshot(fx, name).await?,
            before,
            "{action} as {who} changed the session"
        );
    }
    Ok(())
}

fn names(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn pending(api: &RestClient, c: &Callers, group: &str) -> anyhow::Result<String> {
    let r = api.request(&c.owner, A, group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    Ok(r.name())
}

#[tokio::test]
async fn reading_sessions() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "matrix-read").await?;
    let (group, _) = setup(&fx).await?;
    let api = RestClient::new(&server.url);
    let c = Callers::new(&env).await?;
    let name = pending(&api, &c, &group).await?;

    // GET /api/breakglassSessions/{name} and the approval-link check.
    let expected = [200, 403, 200, 403, 403, 401];
    for ((who, token), want) in c.all().into_iter().zip(expected) {
        let path = format!("/api/breakglassSessions/{name}");
        let r = api.call("GET", &path, token, None).await?;
        assert_eq!(r.status, want, "get as {who}: {}", r.text);
        let path = format!("/api/breakglassSessions?token={name}");
        let r = api.call("GET", &path, token, None).await?;
        assert_eq!(r.status, want, "token check as {who}: {}", r.text);
    }

    // GET /api/breakglassSessions: who finds it in which list.
    let lists: [(&str, [bool; 5]); 3] = [
        ("mine=true", [true, false, false, false, false]),
        ("approver=true", [false, false, true, false, false]),
        ("", [false, false, true, false, false]),
    ];
    for (query, visible) in lists {
        let path = format!("/api/breakglassSessions?{query}");
        for ((who, token), want) in c.all().into_iter().zip(visible) {
            let r = api.call("GET", &path, token, None).await?;
            assert_eq!(r.status, 200, "list {query} as {who}: {}", r.text);
            assert_eq!(
                names(&r.body).contains(&name),
                want,
                "list {query} as {who}: {}",
                r.text
            );
        }
        let r = api.call("GET", &path, None, None).await?;
        assert_eq!(r.status, 401, "list {query} without a token");
    }
    fx.cleanup().await
}

#[tokio::test]
async fn requesting_sessions_and_listing_escalations() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "matrix-create").await?;
    let (group, _) = setup(&fx).await?;
    let api = RestClient::new(&server.url);
    let c = Callers::new(&env).await?;
    let count = || async {
        let api: kube::Api<breakglass_api::breakglass_session::BreakglassSession> =
            kube::Api::namespaced(fx.hub(), &fx.ns);
        anyhow::Ok(api.list(&Default::default()).await?.items.len())
    };

    // POST /api/breakglassSessions: only members of `developers` may request; the
    // second developer is "other user" here and may request for themselves only.
    let body = json!({"cluster": A, "group": group, "reason": "matrix"});
    let expected = [201, 201, 403, 403, 403, 401];
    for ((who, token), want) in c.all().into_iter().zip(expected) {
        let before = count().await?;
        let r = api
            .call("POST", "/api/breakglassSessions", token, Some(body.clone()))
            .await?;
        assert_eq!(r.status, want, "create as {who}: {}", r.text);
        let created = usize::from(want == 201);
        assert_eq!(count().await?, before + created, "create as {who}");
    }
    // Requesting for someone else is refused, and creates nothing.
    let before = count().await?;
    let mut for_owner = body.clone();
    for_owner["user"] = json!("requester@example.com");
    let r = api
        .call(
            "POST",
            "/api/breakglassSessions",
            Some(&c.other),
            Some(for_owner),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(count().await?, before);

    // GET /api/breakglassEscalations: offered to the groups it allows.
    let expected = [true, true, false, false, false];
    for ((who, token), want) in c.all().into_iter().zip(expected) {
        let r = api
            .call("GET", "/api/breakglassEscalations", token, None)
            .await?;
        assert_eq!(r.status, 200, "escalations as {who}: {}", r.text);
        let offered = r.body["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|e| e["spec"]["escalatedGroup"] == group.as_str())
        });
        assert_eq!(offered, want, "escalations as {who}: {}", r.text);
    }
    let r = api
        .call("GET", "/api/breakglassEscalations", None, None)
        .await?;
    assert_eq!(r.status, 401);
    fx.cleanup().await
}

#[tokio::test]
async fn deciding_on_sessions() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "matrix-decide").await?;
    let (group, _) = setup(&fx).await?;
    let api = RestClient::new(&server.url);
    let c = Callers::new(&env).await?;
    let (owner, other, approver, other_approver, admin) = (
        c.owner.as_str(),
        c.other.as_str(),
        c.approver.as_str(),
        c.other_approver.as_str(),
        c.admin.as_str(),
    );
    // A pending session: approve, reject, withdraw.
    let name = pending(&api, &c, &group).await?;
    let not_approvers: Vec<(&str, Option<&str>, u16)> = vec![
        ("other user", Some(other), 403),
        ("approver of another escalation", Some(other_approver), 403),
        ("admin", Some(admin), 403),
        ("nobody (no token)", None, 401),
    ];
    let mut approve_refused = not_approvers.clone();
    approve_refused.push(("owner", Some(owner), 403));
    refused(&api, &fx, &name, "approve", &approve_refused).await?;
    refused(&api, &fx, &name, "reject", &not_approvers).await?;
    let mut not_owner = not_approvers.clone();
    not_owner.push(("approver", Some(approver), 403));
    refused(&api, &fx, &name, "withdraw", &not_owner).await?;
    let r = api.act(&name, "withdraw", owner, None).await?;
    assert_eq!(
        (r.status, r.state()),
        (200, "Withdrawn".to_owned()),
        "{}",
        r.text
    );

    // Reject: the approver, and the owner on their own request.
    for rejector in [approver, owner] {
        let name = pending(&api, &c, &group).await?;
        let r = api.act(&name, "reject", rejector, None).await?;
        assert_eq!(
            (r.status, r.state()),
            (200, "Rejected".to_owned()),
            "{}",
            r.text
        );
    }

    // An approved session: drop (owner only) and cancel (approver only).
    let name = pending(&api, &c, &group).await?;
    let r = api.act(&name, "approve", approver, None).await?;
    assert_eq!(
        (r.status, r.state()),
        (200, "Approved".to_owned()),
        "{}",
        r.text
    );
    refused(&api, &fx, &name, "drop", &not_owner).await?;
    refused(&api, &fx, &name, "cancel", &approve_refused).await?;
    let r = api.act(&name, "cancel", approver, None).await?;
    assert_eq!(
        (r.status, r.state()),
        (200, "Expired".to_owned()),
        "{}",
        r.text
    );
    // Who finds the decided session under `approvedByMe`: only the approver who decided.
    let visible = [false, false, true, false, false];
    for ((who, token), want) in c.all().into_iter().zip(visible) {
        let r = api
            .call(
                "GET",
                "/api/breakglassSessions?approvedByMe=true",
                token,
                None,
            )
            .await?;
        assert_eq!(r.status, 200, "approvedByMe as {who}: {}", r.text);
        assert_eq!(
            names(&r.body).contains(&name),
            want,
            "approvedByMe as {who}"
        );
    }

    let name = pending(&api, &c, &group).await?;
    let r = api.act(&name, "approve", approver, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.act(&name, "drop", owner, None).await?;
    assert_eq!(
        (r.status, r.state()),
        (200, "Expired".to_owned()),
        "{}",
        r.text
    );
    fx.cleanup().await
}
