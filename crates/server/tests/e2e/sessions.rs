//! Requesting, deciding on and ending sessions through the REST API
//! (upstream scenarios §2.1 and §2.2).

use serde_json::json;

use crate::support::*;

const A: &str = "target-a";

#[tokio::test]
async fn request_approve_and_read_back() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "happy").await?;
    let group = fx.group("pods-admin");
    fx.escalation(
        "esc",
        with(spec(&[A], &group), json!({"maxValidFor": "2h"})),
    )
    .await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;

    let before = jiff::Timestamp::now();
    let r = api
        .request(
            &requester,
            A,
            &group,
            json!({"reason": "INC-42: <b>db</b> down"}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();
    assert!(name.starts_with(&format!("target-a-{group}-")), "{name}");
    assert_eq!(r.state(), "Pending");
    assert_eq!(r.body["metadata"]["namespace"], fx.ns.as_str());
    assert_eq!(r.body["spec"]["cluster"], A);
    assert_eq!(r.body["spec"]["user"], "requester@example.com");
    assert_eq!(r.body["spec"]["grantedGroup"], group.as_str());
    assert_eq!(r.body["spec"]["requestReason"], "INC-42 bdbb down");
    assert_eq!(r.body["spec"]["identityProviderName"], "testenv-dex");
    assert_eq!(r.body["spec"]["identityProviderIssuer"], env.dex_issuer());
    assert_eq!(r.body["spec"]["allowIDPMismatch"], true);
    assert_eq!(
        r.body["metadata"]["ownerReferences"][0]["kind"],
        "BreakglassEscalation"
    );
    assert_eq!(
        r.body["metadata"]["labels"]["breakglass.t-caas.telekom.com/cluster"],
        A
    );
    assert!(r.body["metadata"].get("managedFields").is_none());
    let timeout_at = ts(&r.body["status"]["timeoutAt"]).expect("timeoutAt");
    let window = timeout_at.duration_since(before).as_secs();
    assert!((1799..=1802).contains(&window), "approval window {window}s");

    // Read it back: requester sees it with its meta, the approver can approve.
    let g = api
        .get(&format!("/api/breakglassSessions/{name}"), &requester)
        .await?;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.body["session"]["metadata"]["name"], name.as_str());
    assert_eq!(g.body["approvalMeta"]["isRequester"], true);
    assert_eq!(g.body["approvalMeta"]["canApprove"], false);
    assert_eq!(g.body["approvalMeta"]["canReject"], true);
    let g = api
        .get(&format!("/api/breakglassSessions/{name}"), &approver)
        .await?;
    assert_eq!(g.body["approvalMeta"]["canApprove"], true, "{}", g.text);
    // Someone unrelated may not read it.
    let nobody = token(&env, "nobody").await?;
    let g = api
        .get(&format!("/api/breakglassSessions/{name}"), &nobody)
        .await?;
    assert_eq!(g.status, 403, "{}", g.text);
    assert_eq!(
        api.get("/api/breakglassSessions/no-such-session", &requester)
            .await?
            .status,
        404
    );

    // Lists: the requester's own, and the approver's queue.
    let mine = api
        .get("/api/breakglassSessions?mine=true", &requester)
        .await?;
    assert!(
        mine.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["metadata"]["name"] == name.as_str())
    );
    let queue = api
        .get("/api/breakglassSessions?state=pending", &approver)
        .await?;
    let item = queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metadata"]["name"] == name.as_str())
        .cloned();
    assert!(
        item.is_some(),
        "approver queue lacks {name}: {}",
        queue.text
    );
    assert_eq!(item.unwrap()["approvalReason"]["mandatory"], false);
    assert_eq!(
        api.get("/api/breakglassSessions?state=bogus", &approver)
            .await?
            .status,
        400
    );
    let link = api
        .get(&format!("/api/breakglassSessions?token={name}"), &approver)
        .await?;
    assert_eq!(
        link.body,
        json!({"valid": true, "alreadyActive": false, "canApprove": true})
    );

    // Approve.
    let r = api
        .act(
            &name,
            "approve",
            &approver,
            Some(json!({"reason": "go ahead"})),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.state(), "Approved");
    let st = &r.body["status"];
    let approved_at = ts(&st["approvedAt"]).expect("approvedAt");
    assert_eq!(st["actualStartTime"], st["approvedAt"]);
    let expires = ts(&st["expiresAt"]).expect("expiresAt");
    assert_eq!(expires.duration_since(approved_at).as_secs(), 7200);
    assert_eq!(st["approver"], "approver@example.com");
    assert_eq!(st["approvers"], json!(["approver@example.com"]));
    assert_eq!(st["approvalReason"], "go ahead");
    assert!(st.get("timeoutAt").is_none(), "{st}");
    // A second approval is a conflict; approving an unknown session is 404.
    assert_eq!(
        api.act(&name, "approve", &approver, None).await?.status,
        409
    );
    assert_eq!(
        api.act("no-such-session", "approve", &approver, None)
            .await?
            .status,
        404
    );
    // Duplicate request while approved.
    let dup = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert_eq!(dup.body["error"], "already approved");
    assert_eq!(dup.body["session"]["metadata"]["name"], name.as_str());
    // Withdrawing an approved session is refused; dropping ends it.
    let w = api.act(&name, "withdraw", &requester, None).await?;
    assert_eq!(w.status, 400, "{}", w.text);
    assert!(w.text.contains("not pending"), "{}", w.text);
    let d = api.act(&name, "drop", &requester, None).await?;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.state(), "Expired");
    assert_eq!(d.body["status"]["reasonEnded"], "dropped");
    assert_eq!(
        d.body["status"]["approvers"],
        json!(["approver@example.com"])
    );
    assert!(ts(&d.body["status"]["expiresAt"]).unwrap() <= jiff::Timestamp::now());
    assert!(ts(&d.body["status"]["retainedUntil"]).is_some());
    // Everything on a terminal session is refused with 400, each by a caller who would
    // otherwise be allowed to do it.
    for action in ["approve", "reject", "withdraw", "drop", "cancel"] {
        let actor = if matches!(action, "withdraw" | "drop") {
            &requester
        } else {
            &approver
        };
        let r = api.act(&name, action, actor, None).await?;
        assert_eq!(r.status, 400, "{action}: {}", r.text);
    }
    // The events were logged.
    let log = std::fs::read_to_string(&server.log)?;
    for event in ["requested", "approved", "activated", "dropped"] {
        assert!(
            log.lines()
                .any(|l| l.contains(&name) && l.contains(&format!("\"event\":\"{event}\""))),
            "no {event} event for {name} in the server log"
        );
    }
    fx.cleanup().await
}

#[tokio::test]
async fn reject_withdraw_cancel_and_who_may_do_what() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "decide").await?;
    let group = fx.group("ops");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let requester2 = token(&env, "requester2").await?;
    let approver = token(&env, "approver").await?;
    let approver2 = token(&env, "approver2").await?;

    // Reject with a reason.
    let name = api.request(&requester, A, &group, json!({})).await?.name();
    let r = api
        .act(
            &name,
            "reject",
            &approver,
            Some(json!({"reason": "not now"})),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.state(), "Rejected");
    assert!(ts(&r.body["status"]["rejectedAt"]).is_some());
    assert_eq!(r.body["status"]["approvalReason"], "not now");
    assert_eq!(r.body["status"]["approver"], "approver@example.com");
    assert_eq!(r.body["status"]["reasonEnded"], "rejected");
    // Approving after a rejection is a conflict.
    assert_eq!(
        api.act(&name, "approve", &approver2, None).await?.status,
        409
    );

    // Withdraw: only the requester.
    let name = api.request(&requester, A, &group, json!({})).await?.name();
    let w = api.act(&name, "withdraw", &requester2, None).await?;
    assert_eq!(w.status, 403, "{}", w.text);
    assert!(w.text.contains("only the session requester can withdraw"));
    let w = api.act(&name, "withdraw", &requester, None).await?;
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.state(), "Withdrawn");
    assert!(ts(&w.body["status"]["withdrawnAt"]).is_some());
    assert!(w.body["status"].get("rejectedAt").is_none());
    // The action takes no body.
    let name = api.request(&requester, A, &group, json!({})).await?.name();
    assert_eq!(
        api.act(&name, "withdraw", &requester, Some(json!({"reason": "x"})))
            .await?
            .status,
        400
    );
    // The requester may reject their own pending request.
    let r = api.act(&name, "reject", &requester, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.state(), "Rejected");

    // Non-approvers cannot approve; the reason code says why.
    let name = api.request(&requester, A, &group, json!({})).await?.name();
    let r = api.act(&name, "approve", &requester2, None).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["reason"], "NOT_AN_APPROVER");
    // Drop of a pending request withdraws it.
    let r = api.act(&name, "drop", &requester, None).await?;
    assert_eq!(r.state(), "Withdrawn", "{}", r.text);

    // Cancel: approvers only, approved sessions only.
    let name = api.request(&requester, A, &group, json!({})).await?.name();
    assert_eq!(api.act(&name, "cancel", &approver, None).await?.status, 400);
    assert_eq!(
        api.act(&name, "approve", &approver, None).await?.status,
        200
    );
    let r = api.act(&name, "cancel", &requester, None).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = api.act(&name, "cancel", &approver2, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.state(), "Expired");
    assert_eq!(r.body["status"]["reasonEnded"], "canceled");
    assert_eq!(
        r.body["status"]["approvers"],
        json!(["approver@example.com", "approver2@example.com"])
    );
    // Decided-by-me filter.
    let mine = api
        .get("/api/breakglassSessions?approvedByMe=true", &approver2)
        .await?;
    assert!(
        mine.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["metadata"]["name"] == name.as_str())
    );
    fx.cleanup().await
}

#[tokio::test]
async fn request_validation() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "validate").await?;
    let group = fx.group("db");
    let strict = fx.group("strict");
    fx.escalation(
        "esc",
        with(spec(&[A], &group), json!({"maxValidFor": "1h"})),
    )
    .await?;
    fx.escalation(
        "strict",
        with(
            spec(&[A], &strict),
            json!({"requestReason": {"mandatory": true, "description": "ticket"},
                   "approvalReason": {"mandatory": true}}),
        ),
    )
    .await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let nobody = token(&env, "nobody").await?;

    let cases: Vec<(&str, serde_json::Value, u16, &str)> = vec![
        (
            "missing group",
            json!({"cluster": A}),
            422,
            "missing input request data",
        ),
        (
            "missing cluster",
            json!({"group": group}),
            422,
            "missing input request data",
        ),
        (
            "unknown field",
            json!({"cluster": A, "group": group, "color": "red"}),
            422,
            "color",
        ),
        (
            "wrong type",
            json!({"cluster": A, "group": group, "duration": "1h"}),
            422,
            "duration",
        ),
        (
            "unknown cluster",
            json!({"cluster": "nope", "group": group}),
            403,
            "not registered",
        ),
        (
            "wrong cluster",
            json!({"cluster": "target-b", "group": group}),
            403,
            "user not authorized for requested group",
        ),
        (
            "unknown group",
            json!({"cluster": A, "group": "cluster-admin"}),
            403,
            "user not authorized for requested group",
        ),
        (
            "other user",
            json!({"cluster": A, "group": group, "user": "approver@example.com"}),
            403,
            "does not match",
        ),
        (
            "too short",
            json!({"cluster": A, "group": group, "duration": 30}),
            422,
            "at least 60",
        ),
        (
            "too long",
            json!({"cluster": A, "group": group, "duration": 7200}),
            422,
            "exceeds",
        ),
        (
            "negative",
            json!({"cluster": A, "group": group, "duration": -5}),
            422,
            "positive",
        ),
        (
            "past start",
            json!({"cluster": A, "group": group, "scheduledStartTime": "2020-01-01T00:00:00Z"}),
            422,
            "in the future",
        ),
        (
            "near start",
            json!({"cluster": A, "group": group,
            "scheduledStartTime": jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_mins(2))?.to_string()}),
            422,
            "at least 5 minutes",
        ),
        (
            "bad start",
            json!({"cluster": A, "group": group, "scheduledStartTime": "tomorrow"}),
            422,
            "RFC 3339",
        ),
        (
            "long reason",
            json!({"cluster": A, "group": group, "reason": "x".repeat(501)}),
            422,
            "500",
        ),
        (
            "reason required",
            json!({"cluster": A, "group": strict}),
            422,
            "missing required request reason",
        ),
        (
            "reason that sanitises to nothing",
            json!({"cluster": A, "group": strict, "reason": "<>:/"}),
            422,
            "missing required request reason",
        ),
    ];
    for (what, body, status, fragment) in cases {
        let r = api
            .post("/api/breakglassSessions", &requester, body)
            .await?;
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert!(
            r.text.contains(fragment),
            "{what}: {:?} not in {}",
            fragment,
            r.text
        );
    }
    // Malformed JSON and trailing data.
    let r = api
        .raw(
            "POST",
            "/api/breakglassSessions",
            Some(&requester),
            "{\"cluster\":",
        )
        .await?;
    assert_eq!(r.status, 422, "{}", r.text);
    let r = api
        .raw(
            "POST",
            "/api/breakglassSessions",
            Some(&requester),
            &format!("{{\"cluster\":\"{A}\",\"group\":\"{group}\"}} {{}}"),
        )
        .await?;
    assert_eq!(r.status, 422, "{}", r.text);
    // A user without groups gets nothing.
    let r = api.request(&nobody, A, &group, json!({})).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    // None of the refused requests left a session behind.
    let hub = fx.hub();
    let sessions: kube::Api<breakglass_api::breakglass_session::BreakglassSession> =
        kube::Api::namespaced(hub, &fx.ns);
    assert!(sessions.list(&Default::default()).await?.items.is_empty());

    // A requested duration becomes the session's maxValidFor.
    let r = api
        .request(&requester, A, &group, json!({"duration": 600}))
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["spec"]["maxValidFor"], "10m0s");
    let r = api.act(&r.name(), "approve", &approver, None).await?;
    let st = &r.body["status"];
    assert_eq!(
        ts(&st["expiresAt"])
            .unwrap()
            .duration_since(ts(&st["approvedAt"]).unwrap())
            .as_secs(),
        600
    );

    // Mandatory reasons: with a reason the request goes through, the approval needs one too.
    let r = api
        .request(&requester, A, &strict, json!({"reason": "INC-7 disk full"}))
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["spec"]["requestReasonConfig"]["mandatory"], true);
    let name = r.name();
    let r = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("missing required approval reason"));
    assert_eq!(
        fx.session(&name)
            .await?
            .status
            .and_then(|s| s.state)
            .map(|s| s.to_string())
            .as_deref(),
        Some("Pending")
    );
    let r = api
        .act(
            &name,
            "approve",
            &approver,
            Some(json!({"reason": "ok, INC-7"})),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);

    // Scheduled start: at least 5 minutes ahead; approval waits for it.
    let start = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_mins(10))?;
    let start = jiff::Timestamp::from_second(start.as_second())?;
    let r = api
        .request(
            &requester2(&env).await?,
            A,
            &group,
            json!({"scheduledStartTime": start.to_string()}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = api.act(&r.name(), "approve", &approver, None).await?;
    assert_eq!(r.state(), "WaitingForScheduledTime", "{}", r.text);
    let st = &r.body["status"];
    assert!(st.get("actualStartTime").is_none());
    assert_eq!(
        ts(&st["expiresAt"])
            .unwrap()
            .duration_since(start)
            .as_secs(),
        3600
    );
    fx.cleanup().await
}

async fn requester2(env: &breakglass_testenv::TestEnv) -> anyhow::Result<String> {
    token(env, "requester2").await
}

#[tokio::test]
async fn duplicate_requests_conflict() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "dup").await?;
    let group = fx.group("dup");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let first = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(first.status, 201);
    let dup = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert_eq!(dup.body["error"], "already requested");
    assert_eq!(dup.body["code"], "CONFLICT");
    // Concurrent requests for the same triple: exactly one session.
    let group2 = fx.group("burst");
    fx.escalation("burst", spec(&[A], &group2)).await?;
    let mut calls = Vec::new();
    for _ in 0..6 {
        let api = api.clone();
        let t = requester.clone();
        let g = group2.clone();
        calls.push(tokio::spawn(async move {
            api.request(&t, A, &g, json!({})).await
        }));
    }
    let mut created = 0;
    for c in calls {
        let r = c.await??;
        match r.status {
            201 => created += 1,
            409 => {}
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(created, 1);
    // Another user of the same group gets their own session.
    let r = api
        .request(&requester2(&env).await?, A, &group, json!({}))
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    fx.cleanup().await
}

#[tokio::test]
async fn self_approval_domains_and_listed_approvers() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "approvers").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let requester2 = token(&env, "requester2").await?;
    let approver = token(&env, "approver").await?;
    let approver2 = token(&env, "approver2").await?;

    // Developers approve each other, but not themselves.
    let peer = fx.group("peer");
    fx.escalation(
        "peer",
        with(
            spec(&[A], &peer),
            json!({"approvers": {"groups": ["developers"]}, "blockSelfApproval": true}),
        ),
    )
    .await?;
    let name = api.request(&requester, A, &peer, json!({})).await?.name();
    let r = api.act(&name, "approve", &requester, None).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["reason"], "SELF_APPROVAL_BLOCKED");
    let g = api
        .get(&format!("/api/breakglassSessions/{name}"), &requester)
        .await?;
    assert_eq!(
        g.body["approvalMeta"]["denialReason"],
        "SELF_APPROVAL_BLOCKED"
    );
    let r = api.act(&name, "approve", &requester2, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);

    // Without the block, self-approval is allowed (the M2M / self-service pattern).
    let selfsvc = fx.group("selfsvc");
    fx.escalation(
        "selfsvc",
        with(
            spec(&[A], &selfsvc),
            json!({"approvers": {"groups": ["developers"]}, "blockSelfApproval": false}),
        ),
    )
    .await?;
    let name = api
        .request(&requester, A, &selfsvc, json!({}))
        .await?
        .name();
    assert_eq!(
        api.act(&name, "approve", &requester, None).await?.status,
        200
    );

    // Approver domains.
    let domains = fx.group("domains");
    fx.escalation(
        "domains",
        with(
            spec(&[A], &domains),
            json!({"allowedApproverDomains": ["restricted-domain.example.org"]}),
        ),
    )
    .await?;
    let name = api
        .request(&requester, A, &domains, json!({}))
        .await?
        .name();
    let r = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["reason"], "DOMAIN_NOT_ALLOWED");
    assert!(
        r.text
            .contains("Your email domain is not in the list of allowed approver domains")
    );

    // Approvers by name: the listed one approves, the group member does not.
    let listed = fx.group("listed");
    fx.escalation(
        "listed",
        with(
            spec(&[A], &listed),
            json!({"approvers": {"users": ["approver2@example.com"]}}),
        ),
    )
    .await?;
    let name = api.request(&requester, A, &listed, json!({})).await?.name();
    let r = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["reason"], "NOT_AN_APPROVER");
    assert_eq!(
        api.act(&name, "approve", &approver2, None).await?.status,
        200
    );
    let s = fx.session(&name).await?;
    assert_eq!(
        s.status.and_then(|s| s.approver).as_deref(),
        Some("approver2@example.com")
    );

    // Cross-group chain: the approver group cannot request.
    let r = api.request(&approver, A, &listed, json!({})).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    fx.cleanup().await
}

#[tokio::test]
async fn concurrent_approve_and_reject_have_one_winner() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "race").await?;
    let api = RestClient::new(&server.url);
    let approver = token(&env, "approver").await?;
    let approver2 = token(&env, "approver2").await?;
    let requesters = [
        token(&env, "requester").await?,
        token(&env, "requester2").await?,
    ];
    for round in 0..6 {
        let group = fx.group(&format!("race{round}"));
        fx.escalation(&format!("race{round}"), spec(&[A], &group))
            .await?;
        let name = api
            .request(&requesters[round % 2], A, &group, json!({}))
            .await?
            .name();
        let (a, b) = tokio::join!(
            api.act(&name, "approve", &approver, None),
            api.act(&name, "reject", &approver2, Some(json!({"reason": "no"}))),
        );
        let (a, b) = (a?, b?);
        let mut codes = [a.status, b.status];
        codes.sort_unstable();
        assert_eq!(
            codes,
            [200, 409],
            "round {round}: approve {} {} / reject {} {}",
            a.status,
            a.text,
            b.status,
            b.text
        );
        let winner = if a.status == 200 {
            "Approved"
        } else {
            "Rejected"
        };
        let stored = fx.session(&name).await?;
        assert_eq!(
            stored
                .status
                .and_then(|s| s.state)
                .map(|s| s.to_string())
                .as_deref(),
            Some(winner)
        );
    }
    fx.cleanup().await
}

#[tokio::test]
async fn document_paths_are_aliases() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "alias").await?;
    let group = fx.group("automation-exec");
    // The M2M pattern of the use-cases document: the automation may approve itself.
    fx.escalation(
        "esc",
        with(
            spec(&[A], &group),
            json!({"approvers": {"groups": ["developers"]}}),
        ),
    )
    .await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    // Form-encoded content type, as `curl -d` sends it.
    let r = api
        .raw(
            "POST",
            "/api/breakglass/request",
            Some(&requester),
            &format!("{{\"cluster\": \"{A}\", \"group\": \"{group}\"}}"),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.body["name"].as_str().unwrap_or_default().to_owned();
    assert_eq!(name, r.name());
    let r = api
        .call(
            "POST",
            &format!("/api/breakglass/approve/{name}"),
            Some(&requester),
            None,
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.state(), "Approved");
    fx.cleanup().await
}

#[tokio::test]
async fn session_limits_are_enforced() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "limits").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let requester2 = token(&env, "requester2").await?;
    let approver = token(&env, "approver").await?;
    // One session at a time for the whole escalation.
    let total = fx.group("total");
    fx.escalation(
        "total",
        with(
            spec(&[A], &total),
            json!({"sessionLimitsOverride": {"maxActiveSessionsTotal": 1}}),
        ),
    )
    .await?;
    let first = api.request(&requester, A, &total, json!({})).await?;
    assert_eq!(first.status, 201, "{}", first.text);
    let r = api.request(&requester2, A, &total, json!({})).await?;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("session limit reached"), "{}", r.text);
    // Ending the first frees the slot.
    assert_eq!(
        api.act(&first.name(), "withdraw", &requester, None)
            .await?
            .status,
        200
    );
    let r = api.request(&requester2, A, &total, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    // Per user, across escalations: the limit of the escalation being requested counts
    // all of the user's active sessions.
    let a = fx.group("peruser-a");
    let b = fx.group("peruser-b");
    fx.escalation("peruser-a", spec(&[A], &a)).await?;
    fx.escalation(
        "peruser-b",
        with(
            spec(&[A], &b),
            json!({"sessionLimitsOverride": {"maxActiveSessionsPerUser": 1}}),
        ),
    )
    .await?;
    let mine = api.request(&requester, A, &a, json!({})).await?;
    assert_eq!(mine.status, 201, "{}", mine.text);
    assert_eq!(
        api.act(&mine.name(), "approve", &approver, None)
            .await?
            .status,
        200
    );
    let r = api.request(&requester, A, &b, json!({})).await?;
    assert_eq!(r.status, 422, "{}", r.text);
    // Other tests run as the same user at the same time, so the count may be higher
    // than the one session made here; the limit of 1 is what must hold.
    assert!(
        r.text.contains("you already have") && r.text.contains("at most 1 allowed"),
        "{}",
        r.text
    );
    // Unlimited overrides everything.
    let u = fx.group("unlimited");
    fx.escalation(
        "unlimited",
        with(
            spec(&[A], &u),
            json!({"sessionLimitsOverride": {"unlimited": true}}),
        ),
    )
    .await?;
    assert_eq!(api.request(&requester, A, &u, json!({})).await?.status, 201);
    fx.cleanup().await
}

/// A decision whose write loses a race against an unrelated status change (activity
/// records are written every flush interval) is re-read and re-decided, not answered
/// 409; only a competing decision is a conflict.
#[tokio::test]
async fn decisions_survive_concurrent_activity_writes() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "racing").await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let group = fx.group("racing");
    fx.escalation("racing", spec(&["target-a"], &group)).await?;
    for round in 0..3 {
        let r = api
            .request(&requester, "target-a", &group, json!({}))
            .await?;
        assert_eq!(r.status, 201, "{}", r.text);
        let name = r.name();
        let a = api.act(&name, "approve", &approver, None).await?;
        assert_eq!(a.status, 200, "{}", a.text);
        // Activity records arrive every 20 ms while the requester drops it.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (hub, ns, name, stop) = (fx.hub(), fx.ns.clone(), name.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let _ = patch_status(&hub, &ns, &name, json!({"activityCount": n})).await;
                    // Far more often than any flush interval, rarely enough that a
                    // decision gets through within its attempts.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                n
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let d = api.act(&name, "drop", &requester, None).await?;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let writes = writer.await?;
        assert_eq!(
            d.status, 200,
            "round {round} ({writes} concurrent writes): {}",
            d.text
        );
        assert_eq!(
            fx.session(&name)
                .await?
                .status
                .and_then(|s| s.state)
                .map(|s| s.as_str()),
            Some("Expired")
        );
    }
    fx.cleanup().await?;
    Ok(())
}
