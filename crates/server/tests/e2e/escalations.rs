//! `GET /api/breakglassEscalations` and escalation readiness, through the typed client.

use breakglass_api::rest::escalations::{EscalationList, EscalationQuery};
use serde_json::json;

use crate::support::*;

fn names(list: &EscalationList) -> Vec<String> {
    list.items.iter().map(|e| e.metadata.name.clone()).collect()
}

fn query(cluster: Option<&str>, active_only: Option<bool>) -> EscalationQuery {
    EscalationQuery {
        cluster: cluster.map(str::to_owned),
        active_only,
    }
}

#[tokio::test]
async fn listing_shows_what_the_caller_may_request() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "esclist").await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
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

    let all = requester.list_escalations(&query(None, None)).await?;
    let listed = names(&all);
    for n in [&a, &b, &wild] {
        assert!(listed.contains(n), "{n} missing from {listed:?}");
    }
    assert!(
        !listed.contains(&ops),
        "an escalation for another group is listed"
    );
    assert_eq!(all.total, all.items.len());
    // Hidden approvers are removed, the rest is echoed.
    let item = all
        .items
        .iter()
        .find(|e| e.metadata.name == a)
        .cloned()
        .unwrap();
    assert_eq!(
        item.spec.approvers.groups.unwrap_or_default(),
        ["sre-leads"]
    );
    assert_eq!(
        item.spec.approvers.users.unwrap_or_default(),
        ["lead@example.com"]
    );
    assert_eq!(item.spec.max_valid_for.as_deref(), Some("45m"));
    // The wire shape has no hiddenFromUI at all.
    let raw = RestClient::new(&server.url)
        .get(
            "/api/breakglassEscalations",
            &token(&env, "requester").await?,
        )
        .await?;
    assert!(
        raw.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["spec"]["approvers"].get("hiddenFromUI").is_none())
    );
    // Cluster filter: the exact cluster and the wildcard escalation.
    let listed = names(
        &requester
            .list_escalations(&query(Some("target-a"), None))
            .await?,
    );
    assert!(
        listed.contains(&a) && listed.contains(&wild) && !listed.contains(&b),
        "{listed:?}"
    );
    // The approvers see none of them (they are not in `developers`).
    let listed = names(&approver.list_escalations(&query(None, None)).await?);
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
    let requester = client(&server.url, &token(&env, "requester").await?)?;
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

    let default = requester.list_escalations(&query(None, None)).await?;
    assert!(
        !names(&default).contains(&name),
        "a not-Ready escalation is listed by default"
    );
    let everything = requester
        .list_escalations(&query(None, Some(false)))
        .await?;
    assert!(
        names(&everything).contains(&name),
        "activeOnly=false must list it: {everything:?}"
    );
    let refused = requester
        .request_session(&session_request("target-a", &group))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("user not authorized for requested group"),
        "{refused}"
    );

    // Fixing the reference makes it Ready and usable without a restart.
    esc.patch(
        &name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&json!({"spec": {"allowedIdentityProviders": ["testenv-dex"]}})),
    )
    .await?;
    fx.wait_escalation(&name, "True").await?;
    let s = requester
        .request_session(&session_request("target-a", &group))
        .await?;
    assert_eq!(s.spec.allow_idp_mismatch, Some(false));
    fx.cleanup().await
}
