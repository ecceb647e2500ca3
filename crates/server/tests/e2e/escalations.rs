//! `GET /api/breakglassEscalations` and escalation readiness.

use serde_json::json;

use crate::support::*;

fn names(r: &Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn listing_shows_what_the_caller_may_request() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "esclist").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let a = format!("a-{}", fx.id);
    let b = format!("b-{}", fx.id);
    let wild = format!("wild-{}", fx.id);
    let ops = format!("ops-{}", fx.id);
    fx.escalation(&a, with(spec(&["target-a"], &fx.group("ga")), json!({
        "maxValidFor": "45m", "approvalTimeout": "15m",
        "approvers": {"groups": ["sre-leads", "secret-oncall"], "users": ["shadow@example.com", "lead@example.com"],
                      "hiddenFromUI": ["secret-oncall", "shadow@example.com"]}}))).await?;
    fx.escalation(&b, spec(&["target-b"], &fx.group("gb")))
        .await?;
    fx.escalation(&wild, spec(&["*"], &fx.group("gw"))).await?;
    fx.escalation(
        &ops,
        with(
            spec(&["*"], &fx.group("go")),
            json!({"allowed": {"clusters": ["*"], "groups": ["ops"]}}),
        ),
    )
    .await?;

    let all = api.get("/api/breakglassEscalations", &requester).await?;
    assert_eq!(all.status, 200, "{}", all.text);
    let listed = names(&all);
    for n in [&a, &b, &wild] {
        assert!(listed.contains(n), "{n} missing from {listed:?}");
    }
    assert!(
        !listed.contains(&ops),
        "an escalation for another group is listed"
    );
    assert_eq!(
        all.body["total"].as_u64(),
        Some(all.body["items"].as_array().map_or(0, |i| i.len()) as u64)
    );
    // Hidden approvers are removed, the rest is echoed.
    let item = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metadata"]["name"] == a.as_str())
        .cloned()
        .unwrap();
    assert_eq!(item["spec"]["approvers"]["groups"], json!(["sre-leads"]));
    assert_eq!(
        item["spec"]["approvers"]["users"],
        json!(["lead@example.com"])
    );
    assert!(item["spec"]["approvers"].get("hiddenFromUI").is_none());
    assert_eq!(item["spec"]["maxValidFor"], "45m");
    // Cluster filter: the exact cluster and the wildcard escalation.
    let r = api
        .get("/api/breakglassEscalations?cluster=target-a", &requester)
        .await?;
    let listed = names(&r);
    assert!(
        listed.contains(&a) && listed.contains(&wild) && !listed.contains(&b),
        "{listed:?}"
    );
    // The approvers see none of them (they are not in `developers`).
    let r = api.get("/api/breakglassEscalations", &approver).await?;
    let listed = names(&r);
    assert!(
        !listed.contains(&a) && !listed.contains(&wild),
        "{listed:?}"
    );
    fx.cleanup().await
}

#[tokio::test]
async fn an_escalation_with_a_broken_reference_is_not_offered() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "escready").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let group = fx.group("broken");
    let name = format!("broken-{}", fx.id);
    fx.escalation_unchecked(
        &name,
        with(
            spec(&["target-a"], &group),
            json!({"allowedIdentityProviders": ["no-such-idp"]}),
        ),
    )
    .await?;
    fx.wait_escalation(&name, "False").await?;
    let esc: kube::Api<breakglass_api::breakglass_escalation::BreakglassEscalation> =
        kube::Api::namespaced(fx.hub(), &fx.ns);
    let stored = esc.get(&name).await?;
    let conditions = stored.status.and_then(|s| s.conditions).unwrap_or_default();
    let idp = conditions
        .iter()
        .find(|c| c.type_ == "IDPRefsValid")
        .expect("IDPRefsValid condition");
    assert_eq!(idp.status, "False");
    assert!(idp.message.contains("no-such-idp"), "{}", idp.message);

    let default = api.get("/api/breakglassEscalations", &requester).await?;
    assert!(
        !names(&default).contains(&name),
        "a not-Ready escalation is listed by default"
    );
    let everything = api
        .get("/api/breakglassEscalations?activeOnly=false", &requester)
        .await?;
    assert!(
        names(&everything).contains(&name),
        "activeOnly=false must list it: {}",
        everything.text
    );
    let r = api
        .request(&requester, "target-a", &group, json!({}))
        .await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.text.contains("user not authorized for requested group"),
        "{}",
        r.text
    );

    // Fixing the reference makes it Ready and usable without a restart.
    esc.patch(
        &name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&json!({"spec": {"allowedIdentityProviders": ["testenv-dex"]}})),
    )
    .await?;
    fx.wait_escalation(&name, "True").await?;
    let r = api
        .request(&requester, "target-a", &group, json!({}))
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["spec"]["allowIDPMismatch"], false);
    fx.cleanup().await
}
