//! Identity attacks with tokens from a second trusted issuer (issue #8, defect 2): claims
//! that name someone else in a claim other than the configured one, or the same name
//! from another issuer, never make the caller that person.

use serde_json::{Value, json};

use crate::second_issuer::SecondIssuer;
use crate::support::*;

const A: &str = "target-a";

/// Tries to read, list, withdraw and drop `name` as `attacker` and asserts that every
/// attempt is refused and the session is untouched.
async fn cannot_act_as_owner(
    api: &RestClient,
    fx: &Fixture,
    name: &str,
    attacker: &str,
    what: &str,
) -> anyhow::Result<()> {
    let before = fx.session(name).await?.metadata.resource_version;
    let r = api
        .get(&format!("/api/breakglassSessions/{name}"), attacker)
        .await?;
    assert_eq!(r.status, 403, "{what}: read: {}", r.text);
    let mine = api
        .get("/api/breakglassSessions?mine=true", attacker)
        .await?;
    assert_eq!(mine.status, 200, "{what}: {}", mine.text);
    assert!(
        !mine.text.contains(name),
        "{what}: listed as mine: {}",
        mine.text
    );
    for action in ["withdraw", "drop"] {
        let r = api.act(name, action, attacker, None).await?;
        assert_eq!(r.status, 403, "{what}: {action}: {}", r.text);
    }
    assert_eq!(
        fx.session(name).await?.metadata.resource_version,
        before,
        "{what}: the session changed"
    );
    Ok(())
}

fn claims(sub: &str, email: &str, extra: Value) -> Value {
    let mut c =
        json!({"sub": sub, "email": email, "email_verified": true, "groups": ["developers"]});
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

#[tokio::test]
async fn claims_of_a_second_issuer_never_make_the_caller_someone_else() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "idattack").await?;
    let api = RestClient::new(&server.url);
    let group = fx.group("g");
    // Approvers by e-mail and by group.
    fx.escalation(
        "g",
        with(
            spec(&[A], &group),
            json!({"approvers": {"users": ["approver@example.com"], "groups": ["sre-leads"]}}),
        ),
    )
    .await?;
    let requester = token(&env, "requester").await?;
    let r = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();

    let issuer = SecondIssuer::start(&env, &format!("attack-{}", fx.id)).await?;
    issuer.wait_trusted(&server.url).await?;
    let victim = "requester@example.com";
    let attacks = [
        (
            "preferred_username is the victim's e-mail",
            claims(
                "mallory-1",
                "mallory1@evil.example",
                json!({"preferred_username": victim}),
            ),
        ),
        (
            "sub is the victim's e-mail",
            claims(victim, "mallory2@evil.example", json!({})),
        ),
        (
            "the victim's verified e-mail from another issuer",
            claims("mallory-3", victim, json!({})),
        ),
        (
            "the victim's e-mail in upper case",
            claims("mallory-4", "REQUESTER@EXAMPLE.COM", json!({})),
        ),
    ];
    for (what, c) in &attacks {
        let t = issuer.token(c.clone())?;
        cannot_act_as_owner(&api, &fx, &name, &t, what).await?;
    }

    // Approving as someone else: the approver's e-mail as preferred_username, or as an
    // e-mail the issuer does not vouch for.
    let forged_approvers = [
        (
            "preferred_username is the approver's e-mail",
            claims(
                "mallory-5",
                "mallory5@evil.example",
                json!({"preferred_username": "approver@example.com"}),
            ),
        ),
        (
            "the approver's e-mail, not verified",
            json!({"sub": "mallory-6", "email": "approver@example.com", "groups": ["developers"]}),
        ),
        (
            "the approver's e-mail, verified: false",
            json!({"sub": "mallory-7", "email": "approver@example.com", "email_verified": false}),
        ),
        // Verified, but by another issuer than the requester's: another person.
        (
            "the approver's verified e-mail from another issuer",
            claims("mallory-8", "approver@example.com", json!({})),
        ),
        (
            "an approver group from another issuer",
            claims(
                "mallory-9",
                "mallory9@evil.example",
                json!({"groups": ["sre-leads"]}),
            ),
        ),
    ];
    for (what, c) in &forged_approvers {
        let before = fx.session(&name).await?.metadata.resource_version;
        let t = issuer.token(c.clone())?;
        let r = api.act(&name, "approve", &t, None).await?;
        assert!(
            r.status == 401 || r.status == 403,
            "{what}: approve answered {}: {}",
            r.status,
            r.text
        );
        assert_eq!(
            fx.session(&name).await?.metadata.resource_version,
            before,
            "{what}"
        );
    }

    // The real owner and the real approver still can.
    let g = api
        .get(&format!("/api/breakglassSessions/{name}"), &requester)
        .await?;
    assert_eq!(g.status, 200, "{}", g.text);
    let approver = token(&env, "approver").await?;
    let r = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        fx.session(&name)
            .await?
            .status
            .and_then(|s| s.state)
            .map(|s| format!("{s:?}"))
            .as_deref(),
        Some("Approved")
    );
    issuer.close().await;
    fx.cleanup().await?;
    Ok(())
}
