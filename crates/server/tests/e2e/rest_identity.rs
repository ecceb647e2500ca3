//! Identity on the REST API with real Dex tokens: a user is the configured claim of a
//! token from one issuer, compared exactly (issue #8, defect 2), plus the other REST
//! defects of that issue (names with `,` or `=`, hidden approvers in responses).

use std::time::Duration;

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_testenv::TestEnv;
use breakglass_testenv::layout::{
    DEX_HEADER_CONNECTOR, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, TEST_REDIRECT_URI,
};
use serde_json::{Value, json};

use crate::support::*;

const A: &str = "target-a";

/// An ID token from Dex's header connector for any e-mail (the static users' helper
/// only logs in the users it knows).
async fn dex_token_as(env: &TestEnv, email: &str, groups: &[&str]) -> anyhow::Result<String> {
    breakglass_testenv::harness::install_crypto_provider();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(env.ca_pem()?.as_bytes())?])
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()?;
    let issuer = env.dex_issuer();
    let mut url = reqwest::Url::parse(&format!("{issuer}/auth/{DEX_HEADER_CONNECTOR}"))?;
    url.query_pairs_mut()
        .append_pair("client_id", OIDC_CLIENT_ID)
        .append_pair("redirect_uri", TEST_REDIRECT_URI)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile groups")
        .append_pair("state", "e2e");
    let mut next = url.to_string();
    for _ in 0..8 {
        let resp = http
            .get(&next)
            .header("X-Remote-User", email)
            .header("X-Remote-Group", groups.join(","))
            .send()
            .await?;
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("Dex login stopped at {next}"))?;
        let resolved = reqwest::Url::parse(&next)?.join(&location)?;
        if resolved.as_str().starts_with(TEST_REDIRECT_URI) {
            let code = resolved
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| anyhow::anyhow!("no code in {resolved}"))?;
            let body: Value = http
                .post(format!("{issuer}/token"))
                .basic_auth(OIDC_CLIENT_ID, Some(OIDC_CLIENT_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", TEST_REDIRECT_URI),
                ])
                .send()
                .await?
                .json()
                .await?;
            return body["id_token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("no id_token: {body}"));
        }
        next = resolved.to_string();
    }
    anyhow::bail!("Dex login of {email} did not finish")
}

/// Regression: `REQUESTER@EXAMPLE.COM` (a different Kubernetes user name) could read,
/// list, withdraw and drop `requester@example.com`'s sessions.
#[tokio::test]
async fn an_upper_cased_email_is_another_user() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "ident-case").await?;
    let group = fx.group("case");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let shouting = dex_token_as(&env, "REQUESTER@EXAMPLE.COM", &["developers"]).await?;

    let r = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();
    let before = fx.session(&name).await?.metadata.resource_version;

    let g = api
        .get(&format!("/api/breakglassSessions/{name}"), &shouting)
        .await?;
    assert_eq!(g.status, 403, "{}", g.text);
    let mine = api
        .get("/api/breakglassSessions?mine=true", &shouting)
        .await?;
    assert_eq!(mine.status, 200);
    assert!(!mine.text.contains(&name), "{}", mine.text);
    for action in ["withdraw", "drop"] {
        let r = api.act(&name, action, &shouting, None).await?;
        assert_eq!(r.status, 403, "{action}: {}", r.text);
    }
    assert_eq!(fx.session(&name).await?.metadata.resource_version, before);

    // Its own request is a session of its own user name, not a duplicate of the
    // requester's (and the 409 would have shown the requester's session).
    let r = api.request(&shouting, A, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["spec"]["user"], "REQUESTER@EXAMPLE.COM");
    // The real owner still owns theirs.
    let g = api
        .get(&format!("/api/breakglassSessions/{name}"), &requester)
        .await?;
    assert_eq!(g.body["approvalMeta"]["isRequester"], true, "{}", g.text);
    fx.cleanup().await
}

/// Regression: `GET /api/breakglassSessions/a%2Cb` put the name into a field selector
/// unescaped and answered the hub's 400 as a 500.
#[tokio::test]
async fn names_with_separators_are_refused_before_the_hub() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    for name in [
        "a%2Cb",
        "a%3Db",
        "a%2Cmetadata.namespace%3Ddefault",
        "UPPER",
    ] {
        let r = api
            .get(&format!("/api/breakglassSessions/{name}"), &requester)
            .await?;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        assert_eq!(r.body["code"], "BAD_REQUEST");
        assert!(
            r.body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("invalid session name"),
            "{}",
            r.text
        );
        let r = api.act(name, "approve", &approver, None).await?;
        assert_eq!(r.status, 400, "approve {name}: {}", r.text);
        let r = api
            .get(&format!("/api/breakglassSessions?token={name}"), &approver)
            .await?;
        assert_eq!(r.status, 400, "token {name}: {}", r.text);
    }
    Ok(())
}

/// Creates escalation `esc` whose hidden approvers are also named where a stored-object
/// answer would repeat them: kubectl's last-applied annotation, `notificationExclusions`
/// and the `podSecurityOverrides` approvers.
async fn hidden_approver_escalation(
    fx: &Fixture,
    group: &str,
    secret_user: &str,
    secret_group: &str,
) -> anyhow::Result<()> {
    let mut esc = spec(&[A], group);
    esc["approvers"] = json!({
        "users": ["approver@example.com", secret_user],
        "groups": ["sre-leads", secret_group],
        "hiddenFromUI": [secret_user, secret_group],
    });
    esc["notificationExclusions"] = json!({"users": [secret_user], "groups": [secret_group]});
    esc["podSecurityOverrides"] = json!({
        "enabled": true,
        "approvers": {"users": [secret_user], "groups": [secret_group]},
    });
    // What `kubectl apply` leaves behind.
    let applied = json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "BreakglassEscalation",
        "metadata": {"name": "esc", "namespace": fx.ns},
        "spec": esc,
    });
    let api_esc: kube::Api<BreakglassEscalation> = kube::Api::namespaced(fx.hub(), &fx.ns);
    let obj = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "BreakglassEscalation",
        "metadata": {"name": "esc", "namespace": fx.ns, "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": applied.to_string(),
        }},
        "spec": esc,
    }))?;
    api_esc.create(&Default::default(), &obj).await?;
    fx.wait_escalation("esc", "True").await
}

/// Adds a condition whose message names the hidden approvers (as a validation or group
/// sync message can) next to the reconciler's, which keeps conditions it does not own.
async fn condition_naming(fx: &Fixture, secrets: &[&str]) -> anyhow::Result<()> {
    let api_esc: kube::Api<BreakglassEscalation> = kube::Api::namespaced(fx.hub(), &fx.ns);
    let mut conditions = api_esc
        .get("esc")
        .await?
        .status
        .and_then(|s| s.conditions)
        .map(serde_json::to_value)
        .transpose()?
        .unwrap_or_else(|| json!([]));
    if let Some(list) = conditions.as_array_mut() {
        list.push(json!({
            "type": "ApprovalGroupMembersResolved",
            "status": "False",
            "reason": "GroupSyncFailed",
            "message": format!("members of {} unresolved", secrets.join(" and ")),
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }));
    }
    api_esc
        .patch_status(
            "esc",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&json!({"status": {"conditions": conditions}})),
        )
        .await?;
    Ok(())
}

/// The escalation granting `group` in `answer`, or null.
fn escalation_of(answer: &Reply, group: &str) -> Value {
    answer.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|e| e["spec"]["escalatedGroup"] == group))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The escalations answer for `token` once the escalation granting `group` shows the
/// `ApprovalGroupMembersResolved` condition, and that escalation.
async fn escalations_answer(
    api: &RestClient,
    token: &str,
    group: &str,
) -> anyhow::Result<(Reply, Value)> {
    let path = format!("/api/breakglassEscalations?cluster={A}");
    let has_extra_condition = |esc: &Value| {
        esc["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "ApprovalGroupMembersResolved")
        })
    };
    wait_for(
        Duration::from_secs(30),
        "the escalation's extra condition in the answer",
        || async {
            let r = api.get(&path, token).await?;
            Ok(has_extra_condition(&escalation_of(&r, group)))
        },
    )
    .await?;
    let r = api.get(&path, token).await?;
    let mine = escalation_of(&r, group);
    Ok((r, mine))
}

/// Regression: the escalations list returned kubectl's last-applied-configuration
/// annotation, `notificationExclusions`, the `podSecurityOverrides` approvers and
/// condition messages, all of which repeat the `hiddenFromUI` approvers.
#[tokio::test]
async fn hidden_approvers_appear_nowhere_in_responses() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "hidden").await?;
    let group = fx.group("hidden");
    let secret_user = "hidden-approver@example.com";
    let secret_group = fx.group("hidden-leads");
    hidden_approver_escalation(&fx, &group, secret_user, &secret_group).await?;
    condition_naming(&fx, &[secret_user, &secret_group]).await?;

    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let (r, mine) = escalations_answer(&api, &requester, &group).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        mine["spec"]["approvers"],
        json!({"users": ["approver@example.com"], "groups": ["sre-leads"]}),
        "{}",
        r.text
    );
    assert!(mine["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True" && c.get("message").is_none())
    }));
    for leak in [
        secret_user,
        secret_group.as_str(),
        "last-applied",
        "hiddenFromUI",
        "notificationExclusions",
        "podSecurityOverrides",
        "\"message\"",
    ] {
        assert!(!r.text.contains(leak), "{leak} in {}", r.text);
    }
    // Session responses are views too: no annotations, no managed fields.
    let s = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(s.status, 201, "{}", s.text);
    assert!(
        s.body["metadata"].get("annotations").is_none(),
        "{}",
        s.text
    );
    assert!(
        s.body["metadata"].get("managedFields").is_none(),
        "{}",
        s.text
    );
    fx.cleanup().await
}
