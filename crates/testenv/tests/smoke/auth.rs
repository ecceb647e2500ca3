//! Identity and authorization: Dex tokens, RBAC, and the breakglass webhook.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::{delete_namespace, env, eventually, namespace, unique, webhook};

/// The claims of a JWT (not verified: the apiserver does that).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
        .expect("JSON claims")
}

#[tokio::test]
async fn dex_issues_tokens_with_email_and_groups() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let token = env.dex_token("requester").await?;
    let c = claims(&token);
    assert_eq!(c["iss"], json!(env.dex_issuer()));
    assert_eq!(c["aud"], json!("breakglass"));
    assert_eq!(c["email"], json!("requester@example.com"));
    assert_eq!(c["email_verified"], json!(true));
    assert_eq!(c["groups"], json!(["developers"]));

    let c = claims(&env.dex_token("approver2").await?);
    assert_eq!(c["groups"], json!(["sre-leads"]));

    // The password grant checks the password (and carries no groups in this Dex).
    let t = env.dex_password_tokens("approver").await?;
    assert_eq!(claims(&t.id_token)["email"], json!("approver@example.com"));

    let c = claims(&env.automation_token().await?);
    assert_eq!(c["aud"], json!("breakglass-automation"));
    assert_eq!(c["email"], json!("automation@example.com"));
    Ok(())
}

#[tokio::test]
async fn user_without_rbac_is_forbidden() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    // The breakglass webhook has no opinion about this user (see webhook.rs).
    webhook::start(env.webhook_addr()).map_err(anyhow::Error::msg)?;
    let token = env.dex_token("nobody").await?;

    // The target knows who the token belongs to …
    let who = env
        .kubectl("target-a", Some(&token), &["auth", "whoami", "-o", "json"])
        .await?;
    assert!(who.success(), "kubectl auth whoami: {}", who.stderr);
    let who: Value = serde_json::from_str(&who.stdout)?;
    assert_eq!(
        who["status"]["userInfo"]["username"],
        json!("nobody@example.com")
    );

    // … and RBAC gives it nothing, on the targets and on the hub.
    for cluster in ["target-a", "target-b", "hub"] {
        let out = env
            .kubectl(cluster, Some(&token), &["get", "pods", "-n", "default"])
            .await?;
        assert!(!out.success(), "{cluster}: listing pods must fail");
        assert!(
            out.stderr.contains("Forbidden") && out.stderr.contains("nobody@example.com"),
            "{cluster}: expected Forbidden for nobody@example.com, got: {}",
            out.stderr
        );
    }

    // Groups arrive with the configured prefix.
    let token = env.dex_token("requester").await?;
    let who = env
        .kubectl("target-b", Some(&token), &["auth", "whoami", "-o", "json"])
        .await?;
    let who: Value = serde_json::from_str(&who.stdout)?;
    let groups = who["status"]["userInfo"]["groups"].clone();
    let want = format!("{}developers", env.group_prefix());
    assert!(
        groups.as_array().is_some_and(|g| g.contains(&json!(want))),
        "groups {groups}"
    );
    Ok(())
}

#[tokio::test]
async fn target_apiserver_posts_subject_access_reviews_to_the_webhook() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let seen = webhook::start(env.webhook_addr()).map_err(anyhow::Error::msg)?;

    let admin = env.target_client("target-a").await?;
    let ns = namespace(&admin, "smoke-sar").await?;
    let token = env.dex_token("requester").await?;
    let allowed = unique(webhook::ALLOWED_PREFIX);
    let other = unique("not-allowed");

    // Allowed by the webhook: the request gets past authorization (and the pod does not exist).
    let out = env
        .kubectl(
            "target-a",
            Some(&token),
            &["get", "pod", &allowed, "-n", &ns],
        )
        .await?;
    assert!(
        out.stderr.contains("NotFound") || out.stderr.contains("not found"),
        "expected NotFound after the webhook allowed it, got: {}",
        out.stderr
    );
    // No opinion from the webhook: Forbidden.
    let out = env
        .kubectl("target-a", Some(&token), &["get", "pod", &other, "-n", &ns])
        .await?;
    assert!(out.stderr.contains("Forbidden"), "{}", out.stderr);
    // A subresource.
    let _ = env
        .kubectl(
            "target-a",
            Some(&token),
            &[
                "get",
                "--raw",
                &format!("/api/v1/namespaces/{ns}/pods/{allowed}/log"),
            ],
        )
        .await?;

    let reviews = eventually(Duration::from_secs(10), "three reviews", || {
        let seen = seen.clone();
        let (allowed, other) = (allowed.clone(), other.clone());
        async move {
            let s = seen.lock().expect("lock").clone();
            let mine: Vec<(String, Value)> = s
                .into_iter()
                .filter(|(_, r)| {
                    let n = r
                        .pointer("/spec/resourceAttributes/name")
                        .and_then(Value::as_str);
                    n == Some(allowed.as_str()) || n == Some(other.as_str())
                })
                .collect();
            Ok((mine.len() >= 3).then_some(mine))
        }
    })
    .await?;

    let find = |name: &str, sub: &str| {
        reviews
            .iter()
            .find(|(_, r)| {
                r.pointer("/spec/resourceAttributes/name")
                    .and_then(Value::as_str)
                    == Some(name)
                    && r.pointer("/spec/resourceAttributes/subresource")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        == sub
            })
            .cloned()
            .unwrap_or_else(|| panic!("no review for {name}/{sub}: {reviews:?}"))
    };
    let (cluster, review) = find(&allowed, "");
    assert_eq!(cluster, "target-a");
    assert_eq!(review["kind"], json!("SubjectAccessReview"));
    assert_eq!(review["apiVersion"], json!("authorization.k8s.io/v1"));
    let spec = &review["spec"];
    assert_eq!(spec["user"], json!("requester@example.com"));
    let groups = spec["groups"].as_array().cloned().unwrap_or_default();
    assert!(
        groups.contains(&json!(format!("{}developers", env.group_prefix()))),
        "{groups:?}"
    );
    assert!(
        groups.contains(&json!("system:authenticated")),
        "{groups:?}"
    );
    let ra = &spec["resourceAttributes"];
    assert_eq!(ra["verb"], json!("get"));
    assert_eq!(ra["resource"], json!("pods"));
    assert_eq!(ra["namespace"], json!(ns));
    assert_eq!(ra["name"], json!(allowed));

    let (_, review) = find(&allowed, "log");
    assert_eq!(review["spec"]["resourceAttributes"]["verb"], json!("get"));
    assert_eq!(
        review["spec"]["resourceAttributes"]["subresource"],
        json!("log")
    );

    // System users and service accounts never reach the webhook (matchConditions),
    // and system:masters is allowed before the chain runs.
    for (_, r) in seen.lock().expect("lock").iter() {
        let user = r["spec"]["user"].as_str().unwrap_or_default();
        assert!(
            !user.starts_with("system:"),
            "system user reached the webhook: {user}"
        );
        assert_ne!(user, "testenv-admin");
    }

    delete_namespace(&admin, &ns).await;
    Ok(())
}
