//! REST rate limits: per person and per source address, 429 with `Retry-After`, and
//! never on the webhook or the probes.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

fn review(user: &str) -> serde_json::Value {
    json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:authenticated"],
            "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"}
        }
    })
}

#[tokio::test]
async fn rest_requests_are_limited_per_person_and_per_source_but_never_the_webhook()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let mut spec = ServerSpec::on_free_port("e2e-rate-limits", "rate-limits")?;
    spec.extra_server_config =
        "rateLimits:\n  perSource: {perSecond: 1, burst: 10}\n  perUser: {perSecond: 1, burst: 3}\n  sessionCreation: {perMinute: 1, burst: 1}\n"
            .to_owned();
    spec.extra_args = vec![
        "--enable-cleanup=false".to_owned(),
        "--enable-controllers=false".to_owned(),
    ];
    let server = ServerProcess::start(&env, spec).await?;
    let api = RestClient::new(&server.url());
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;

    // Session requests have their own slow budget per person: the second request within
    // the minute is refused before any hub work, whatever its body.
    let requester2 = token(&env, "requester2").await?;
    let body = json!({"cluster": "no-such-cluster", "group": "g", "reason": "rate limit test"});
    let first = api
        .post("/api/breakglassSessions", &requester2, body.clone())
        .await?;
    assert_ne!(first.status, 429, "{}", first.text);
    let second = api
        .post("/api/breakglassSessions", &requester2, body)
        .await?;
    assert_eq!(second.status, 429, "{}", second.text);
    assert!(second.text.contains("session requests"), "{}", second.text);

    // The person's burst of 3, then 429 with the JSON error and Retry-After.
    for i in 0..3 {
        let r = api.get("/api/breakglassSessions", &requester).await?;
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
    }
    let resp = reqwest::Client::new()
        .get(format!("{}/api/breakglassSessions", server.url()))
        .bearer_auth(&requester)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 429);
    let retry: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let body: serde_json::Value = resp.json().await?;
    assert_eq!(body["code"], "TOO_MANY_REQUESTS", "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("user"),
        "{body}"
    );

    // Another person from the same address still gets through.
    let r = api.get("/api/breakglassSessions", &approver).await?;
    assert_eq!(r.status, 200, "{}", r.text);

    // The webhook and the probes are never limited, whatever the REST budget says.
    for _ in 0..40 {
        let r = api
            .call(
                "POST",
                "/api/breakglass/webhook/authorize/target-a",
                None,
                Some(review("nobody@example.com")),
            )
            .await?;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"]["allowed"], false);
    }
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = api.call("GET", path, None, None).await?;
        assert_eq!(r.status, 200, "{path}");
    }

    // The address's burst of 10 covers everything above (7 so far) and a few
    // unauthenticated calls; then the address is refused before authentication.
    let mut refused_at = None;
    for i in 0..10 {
        let r = api.call("GET", "/api/config", None, None).await?;
        if r.status == 429 {
            assert_eq!(r.body["code"], "TOO_MANY_REQUESTS");
            assert!(
                r.body["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("source address")
            );
            refused_at = Some(i);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let refused_at = refused_at.expect("the per-source limit refuses within 10 requests");
    assert!(refused_at <= 6, "refused after {refused_at} more requests");

    // Buckets refill: after the advertised wait the person gets through again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = api.get("/api/breakglassSessions", &requester).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    server.stop()?;
    Ok(())
}
