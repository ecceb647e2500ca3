//! Authentication and the public endpoints.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_session_route_needs_a_valid_token() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    let api = RestClient::new(&server.url);
    let routes = [
        ("GET", "/api/breakglassSessions"),
        ("GET", "/api/breakglassSessions/some-session"),
        ("POST", "/api/breakglassSessions"),
        ("POST", "/api/breakglassSessions/some-session/approve"),
        ("POST", "/api/breakglassSessions/some-session/reject"),
        ("POST", "/api/breakglassSessions/some-session/withdraw"),
        ("POST", "/api/breakglassSessions/some-session/drop"),
        ("POST", "/api/breakglassSessions/some-session/cancel"),
        ("GET", "/api/breakglassEscalations"),
        ("POST", "/api/breakglass/request"),
    ];
    // A token signed by Dex but for another audience, and a forged one.
    let automation = env.automation_token().await?;
    let real = token(&env, "requester").await?;
    let (head, _) = real.rsplit_once('.').unwrap_or((&real, ""));
    let forged = format!("{head}.c2lnbmF0dXJl");
    for (method, path) in routes {
        for token in [
            None,
            Some("garbage"),
            Some("a.b.c"),
            Some(automation.as_str()),
            Some(forged.as_str()),
        ] {
            let body = (method == "POST").then(|| json!({"cluster": "target-a", "group": "x"}));
            let r = api.call(method, path, token, body).await?;
            assert_eq!(r.status, 401, "{method} {path} with {token:?}: {}", r.text);
            assert_eq!(
                r.body["code"], "UNAUTHORIZED",
                "{method} {path}: {}",
                r.text
            );
            assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
    }
    // Header spellings other than "Bearer <token>" are refused even with a good token.
    for header in [
        format!("bearer {real}"),
        format!("Basic {real}"),
        format!("Bearer {real} x"),
        "Bearer".to_owned(),
    ] {
        let r = reqwest::Client::new()
            .get(format!("{}/api/breakglassSessions", server.url))
            .header("Authorization", header.clone())
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 401, "{header:.20}");
    }
    // The real token works.
    let r = api.get("/api/breakglassSessions", &real).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.body["items"].is_array() && r.body["total"].is_u64(),
        "{}",
        r.text
    );
    Ok(())
}

#[tokio::test]
async fn public_endpoints_and_health() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    let api = RestClient::new(&server.url);
    let r = api.call("GET", "/api/config", None, None).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["frontend"]["oidcAuthority"], env.dex_issuer());
    assert_eq!(r.body["frontend"]["oidcClientID"], "breakglass-ui");
    assert_eq!(r.body["frontend"]["brandingName"], "Breakglass");
    let r = api
        .call("GET", "/api/identity-provider", None, None)
        .await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["type"], "OIDC");
    assert_eq!(r.body["clientId"], "breakglass-ui");
    let r = api.call("GET", "/api/config/idps", None, None).await?;
    assert_eq!(r.status, 200);
    let idps = r.body["identityProviders"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        idps.iter().any(|i| i["name"] == "testenv-dex"
            && i["issuer"] == env.dex_issuer()
            && i["enabled"] == true
            && i["oidcClientID"] == "breakglass-ui"
            && i["uiScopes"] == serde_json::json!(["audience:server:client_id:breakglass"])),
        "{}",
        r.text
    );
    assert!(r.body["escalationIDPMapping"].is_object());
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            api.call("GET", path, None, None).await?.status,
            200,
            "{path}"
        );
    }
    let r = api.call("GET", "/api/openapi.json", None, None).await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.0.3");
    assert!(r.body["paths"]["/api/breakglassSessions/{name}/approve"]["post"].is_object());
    let r = api.call("GET", "/api/no-such-route", None, None).await?;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["code"], "NOT_FOUND");
    let t = token(&env, "requester").await?;
    assert_eq!(api.get("/api/breakglassSessions", &t).await?.status, 200);
    let metrics = api.call("GET", "/metrics", None, None).await?;
    assert_eq!(metrics.status, 200);
    for family in [
        "breakglass_api_endpoint_requests_total",
        "breakglass_leader",
        "breakglass_jwt_validation_requests_total",
    ] {
        assert!(
            metrics.text.contains(family),
            "{family} missing from /metrics"
        );
    }
    Ok(())
}
