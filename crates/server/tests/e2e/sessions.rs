//! Requesting, deciding on and ending sessions through the REST API
//! (upstream scenarios §2.1 and §2.2).
//!
//! Well-formed calls go through the typed client (`breakglass_client`, the wire types
//! the server itself uses); malformed bodies and checks of the raw JSON shape use the
//! untyped `RestClient` on purpose.

use breakglass_api::BreakglassSessionState as State;
use breakglass_api::breakglass_session::SessionEndReason;
use breakglass_api::rest::sessions::{
    CreateSessionRequest, DecisionRequest, ListQuery, TokenCheck,
};
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
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let nobody = client(&server.url, &token(&env, "nobody").await?)?;

    let before = jiff::Timestamp::now();
    let s = requester
        .request_session(&CreateSessionRequest {
            reason: Some("INC-42: <b>db</b> down".to_owned()),
            ..session_request(A, &group)
        })
        .await?;
    let name = s.name().to_owned();
    assert!(name.starts_with(&format!("target-a-{group}-")), "{name}");
    assert_eq!(s.state(), Some(State::Pending));
    assert_eq!(s.metadata.namespace, fx.ns);
    assert_eq!(s.spec.cluster, A);
    assert_eq!(s.spec.user, "requester@example.com");
    assert_eq!(s.spec.granted_group, group);
    assert_eq!(s.spec.request_reason.as_deref(), Some("INC-42 bdbb down"));
    assert_eq!(
        s.spec.identity_provider_name.as_deref(),
        Some("testenv-dex")
    );
    assert_eq!(
        s.spec.identity_provider_issuer.as_deref(),
        Some(env.dex_issuer().as_str())
    );
    assert_eq!(s.spec.allow_idp_mismatch, Some(true));
    assert_eq!(s.metadata.owner_references[0].kind, "BreakglassEscalation");
    assert_eq!(
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("breakglass.t-caas.telekom.com/cluster"))
            .map(String::as_str),
        Some(A)
    );
    let status = s.status.as_ref().expect("status");
    let timeout_at = status.timeout_at.as_ref().expect("timeoutAt").0;
    let window = timeout_at.duration_since(before).as_secs();
    assert!((1799..=1802).contains(&window), "approval window {window}s");
    // The wire shape itself: internal metadata is stripped.
    let raw = RestClient::new(&server.url)
        .get(
            &format!("/api/breakglassSessions/{name}"),
            &token(&env, "requester").await?,
        )
        .await?;
    assert!(
        raw.body["session"]["metadata"]
            .get("managedFields")
            .is_none()
    );

    // Read it back: requester sees it with its meta, the approver can approve.
    let g = requester.get_session(&name).await?;
    assert_eq!(g.session.name(), name);
    assert!(g.approval_meta.is_requester);
    assert!(!g.approval_meta.can_approve);
    assert!(g.approval_meta.can_reject);
    assert!(approver.get_session(&name).await?.approval_meta.can_approve);
    // Someone unrelated may not read it.
    assert_eq!(status_of(&nobody.get_session(&name).await), Some(403));
    assert_eq!(
        status_of(&requester.get_session("no-such-session").await),
        Some(404)
    );

    // Lists: the requester's own, and the approver's queue.
    let mine = requester
        .list_sessions(&ListQuery {
            mine: Some(true),
            ..ListQuery::default()
        })
        .await?;
    assert!(mine.items.iter().any(|i| i.session.name() == name));
    let pending = ListQuery {
        state: Some("pending".to_owned()),
        ..ListQuery::default()
    };
    let queue = approver.list_sessions(&pending).await?;
    let item = queue.items.iter().find(|i| i.session.name() == name);
    assert!(item.is_some(), "approver queue lacks {name}: {queue:?}");
    assert!(!item.unwrap().approval_reason.mandatory);
    let bogus = ListQuery {
        state: Some("bogus".to_owned()),
        ..ListQuery::default()
    };
    assert_eq!(status_of(&approver.list_sessions(&bogus).await), Some(400));
    assert_eq!(
        approver.check_approval_link(&name).await?,
        TokenCheck {
            valid: true,
            already_active: Some(false),
            can_approve: Some(true),
        }
    );

    // Approve.
    let s = approver
        .approve_session(
            &name,
            &DecisionRequest {
                reason: Some("go ahead".to_owned()),
            },
        )
        .await?;
    assert_eq!(s.state(), Some(State::Approved));
    let st = s.status.as_ref().expect("status");
    let approved_at = st.approved_at.as_ref().expect("approvedAt").0;
    assert_eq!(
        st.actual_start_time.as_ref().map(|t| t.0),
        Some(approved_at)
    );
    let expires = st.expires_at.as_ref().expect("expiresAt").0;
    assert_eq!(expires.duration_since(approved_at).as_secs(), 7200);
    assert_eq!(st.approver.as_deref(), Some("approver@example.com"));
    assert_eq!(
        st.approvers.as_deref(),
        Some(&["approver@example.com".to_owned()][..])
    );
    assert_eq!(st.approval_reason.as_deref(), Some("go ahead"));
    assert!(st.timeout_at.is_none(), "{st:?}");
    // A second approval is a conflict; approving an unknown session is 404.
    let none = DecisionRequest::default();
    assert_eq!(
        status_of(&approver.approve_session(&name, &none).await),
        Some(409)
    );
    assert_eq!(
        status_of(&approver.approve_session("no-such-session", &none).await),
        Some(404)
    );
    // Duplicate request while approved: 409 naming the existing session (the typed
    // error carries the message; the conflicting object is checked on the wire).
    let dup = requester
        .request_session(&session_request(A, &group))
        .await
        .unwrap_err();
    assert_eq!(dup.status(), Some(409), "{dup}");
    assert!(dup.to_string().starts_with("already approved"), "{dup}");
    let dup = RestClient::new(&server.url)
        .request(&token(&env, "requester").await?, A, &group, json!({}))
        .await?;
    assert_eq!(dup.body["session"]["metadata"]["name"], name.as_str());
    // Withdrawing an approved session is refused; dropping ends it.
    let w = requester.withdraw_session(&name).await.unwrap_err();
    assert_eq!(w.status(), Some(400), "{w}");
    assert!(w.to_string().contains("not pending"), "{w}");
    let d = requester.drop_session(&name).await?;
    assert_eq!(d.state(), Some(State::Expired));
    let st = d.status.as_ref().expect("status");
    assert_eq!(st.reason_ended, Some(SessionEndReason::Dropped));
    assert_eq!(
        st.approvers.as_deref(),
        Some(&["approver@example.com".to_owned()][..])
    );
    assert!(st.expires_at.as_ref().expect("expiresAt").0 <= jiff::Timestamp::now());
    assert!(st.retained_until.is_some());
    // Everything on a terminal session is refused with 400, each by a caller who would
    // otherwise be allowed to do it.
    let refused = [
        (
            "approve",
            status_of(&approver.approve_session(&name, &none).await),
        ),
        (
            "reject",
            status_of(&approver.reject_session(&name, &none).await),
        ),
        (
            "withdraw",
            status_of(&requester.withdraw_session(&name).await),
        ),
        ("drop", status_of(&requester.drop_session(&name).await)),
        ("cancel", status_of(&approver.cancel_session(&name).await)),
    ];
    for (action, status) in refused {
        assert_eq!(status, Some(400), "{action}");
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
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let requester2 = client(&server.url, &token(&env, "requester2").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let approver2 = client(&server.url, &token(&env, "approver2").await?)?;
    let none = DecisionRequest::default();
    let (req, grp) = (&requester, &group);
    let new_session = move || async move {
        anyhow::Ok(
            req.request_session(&session_request(A, grp))
                .await?
                .name()
                .to_owned(),
        )
    };

    // Reject with a reason.
    let name = new_session().await?;
    let r = approver
        .reject_session(
            &name,
            &DecisionRequest {
                reason: Some("not now".to_owned()),
            },
        )
        .await?;
    assert_eq!(r.state(), Some(State::Rejected));
    let st = r.status.as_ref().expect("status");
    assert!(st.rejected_at.is_some());
    assert_eq!(st.approval_reason.as_deref(), Some("not now"));
    assert_eq!(st.approver.as_deref(), Some("approver@example.com"));
    assert_eq!(st.reason_ended, Some(SessionEndReason::Rejected));
    // Approving after a rejection is a conflict.
    assert_eq!(
        status_of(&approver2.approve_session(&name, &none).await),
        Some(409)
    );

    // Withdraw: only the requester.
    let name = new_session().await?;
    let w = requester2.withdraw_session(&name).await.unwrap_err();
    assert_eq!(w.status(), Some(403), "{w}");
    assert!(
        w.to_string()
            .contains("only the session requester can withdraw")
    );
    let w = requester.withdraw_session(&name).await?;
    assert_eq!(w.state(), Some(State::Withdrawn));
    let st = w.status.as_ref().expect("status");
    assert!(st.withdrawn_at.is_some());
    assert!(st.rejected_at.is_none());
    // The action takes no body (a malformed call, so sent raw).
    let name = new_session().await?;
    let raw = RestClient::new(&server.url)
        .act(
            &name,
            "withdraw",
            &token(&env, "requester").await?,
            Some(json!({"reason": "x"})),
        )
        .await?;
    assert_eq!(raw.status, 400, "{}", raw.text);
    // The requester may reject their own pending request.
    let r = requester.reject_session(&name, &none).await?;
    assert_eq!(r.state(), Some(State::Rejected));

    // Non-approvers cannot approve; the reason code says why.
    let name = new_session().await?;
    match requester2.approve_session(&name, &none).await {
        Err(breakglass_client::Error::Api { status, reason, .. }) => {
            assert_eq!(status, 403);
            assert_eq!(reason.as_deref(), Some("NOT_AN_APPROVER"));
        }
        other => panic!("approve by a non-approver: {other:?}"),
    }
    // Drop of a pending request withdraws it.
    let r = requester.drop_session(&name).await?;
    assert_eq!(r.state(), Some(State::Withdrawn));

    // Cancel: approvers only, approved sessions only.
    let name = new_session().await?;
    assert_eq!(status_of(&approver.cancel_session(&name).await), Some(400));
    approver.approve_session(&name, &none).await?;
    assert_eq!(status_of(&requester.cancel_session(&name).await), Some(403));
    let r = approver2.cancel_session(&name).await?;
    assert_eq!(r.state(), Some(State::Expired));
    let st = r.status.as_ref().expect("status");
    assert_eq!(st.reason_ended, Some(SessionEndReason::Canceled));
    assert_eq!(
        st.approvers.clone().unwrap_or_default(),
        ["approver@example.com", "approver2@example.com"]
    );
    // Decided-by-me filter.
    let decided = approver2
        .list_sessions(&ListQuery {
            approved_by_me: Some(true),
            ..ListQuery::default()
        })
        .await?;
    assert!(decided.items.iter().any(|i| i.session.name() == name));
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

/// The `reason` code of a refused call (`None` for a success or no code).
fn reason_of<T>(r: &Result<T, breakglass_client::Error>) -> Option<&str> {
    match r {
        Err(breakglass_client::Error::Api { reason, .. }) => reason.as_deref(),
        _ => None,
    }
}

#[tokio::test]
async fn duplicate_requests_conflict() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "dup").await?;
    let group = fx.group("dup");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    requester
        .request_session(&session_request(A, &group))
        .await?;
    match requester.request_session(&session_request(A, &group)).await {
        Err(breakglass_client::Error::Api {
            status,
            code,
            message,
            ..
        }) => {
            assert_eq!(status, 409);
            assert_eq!(code, "CONFLICT");
            assert_eq!(message, "already requested");
        }
        other => panic!("duplicate request: {other:?}"),
    }
    // Concurrent requests for the same triple: exactly one session.
    let group2 = fx.group("burst");
    fx.escalation("burst", spec(&[A], &group2)).await?;
    let mut calls = Vec::new();
    for _ in 0..6 {
        let c = requester.clone();
        let body = session_request(A, &group2);
        calls.push(tokio::spawn(async move { c.request_session(&body).await }));
    }
    let mut created = 0;
    for call in calls {
        match call.await? {
            Ok(_) => created += 1,
            Err(e) if e.status() == Some(409) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(created, 1);
    // Another user of the same group gets their own session.
    client(&server.url, &requester2(&env).await?)?
        .request_session(&session_request(A, &group))
        .await?;
    fx.cleanup().await
}

#[tokio::test]
async fn self_approval_domains_and_listed_approvers() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "approvers").await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let requester2 = client(&server.url, &token(&env, "requester2").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let approver2 = client(&server.url, &token(&env, "approver2").await?)?;
    let none = DecisionRequest::default();
    let (req, no) = (&requester, &none);
    let request = move |group: String| async move {
        anyhow::Ok(
            req.request_session(&session_request(A, &group))
                .await?
                .name()
                .to_owned(),
        )
    };

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
    let name = request(peer.clone()).await?;
    let r = requester.approve_session(&name, no).await;
    assert_eq!(status_of(&r), Some(403), "{r:?}");
    assert_eq!(reason_of(&r), Some("SELF_APPROVAL_BLOCKED"));
    let g = requester.get_session(&name).await?;
    assert_eq!(
        g.approval_meta.denial_reason.as_deref(),
        Some("SELF_APPROVAL_BLOCKED")
    );
    requester2.approve_session(&name, no).await?;

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
    let name = request(selfsvc.clone()).await?;
    requester.approve_session(&name, no).await?;

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
    let name = request(domains.clone()).await?;
    let r = approver.approve_session(&name, no).await;
    assert_eq!(status_of(&r), Some(403), "{r:?}");
    assert_eq!(reason_of(&r), Some("DOMAIN_NOT_ALLOWED"));
    assert!(
        r.unwrap_err()
            .to_string()
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
    let name = request(listed.clone()).await?;
    let r = approver.approve_session(&name, no).await;
    assert_eq!(status_of(&r), Some(403), "{r:?}");
    assert_eq!(reason_of(&r), Some("NOT_AN_APPROVER"));
    approver2.approve_session(&name, no).await?;
    let s = fx.session(&name).await?;
    assert_eq!(
        s.status.and_then(|s| s.approver).as_deref(),
        Some("approver2@example.com")
    );

    // Cross-group chain: the approver group cannot request.
    let r = approver.request_session(&session_request(A, &listed)).await;
    assert_eq!(status_of(&r), Some(403), "{r:?}");
    fx.cleanup().await
}

#[tokio::test]
async fn concurrent_approve_and_reject_have_one_winner() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "race").await?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let approver2 = client(&server.url, &token(&env, "approver2").await?)?;
    let requesters = [
        client(&server.url, &token(&env, "requester").await?)?,
        client(&server.url, &token(&env, "requester2").await?)?,
    ];
    let no = DecisionRequest {
        reason: Some("no".to_owned()),
    };
    for round in 0..6 {
        let group = fx.group(&format!("race{round}"));
        fx.escalation(&format!("race{round}"), spec(&[A], &group))
            .await?;
        let name = requesters[round % 2]
            .request_session(&session_request(A, &group))
            .await?
            .name()
            .to_owned();
        let yes = DecisionRequest::default();
        let (a, b) = tokio::join!(
            approver.approve_session(&name, &yes),
            approver2.reject_session(&name, &no),
        );
        let code = |r: &Result<_, breakglass_client::Error>| status_of(r).unwrap_or(200);
        let mut codes = [code(&a), code(&b)];
        codes.sort_unstable();
        assert_eq!(
            codes,
            [200, 409],
            "round {round}: approve {a:?} / reject {b:?}"
        );
        let winner = if a.is_ok() { "Approved" } else { "Rejected" };
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
