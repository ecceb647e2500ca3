//! Timers: every transition within 2 s of its deadline.

use std::time::{Duration, Instant};

use breakglass_api::BreakglassSessionState as State;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::rest::sessions::{DecisionRequest, SessionView};
use jiff::Timestamp;
use kube::api::PostParams;
use serde_json::json;

use crate::support::*;

const A: &str = "target-a";
/// The promise: a transition lands within this long after its deadline.
const SLACK: Duration = Duration::from_secs(2);

/// `status.expiresAt` of a session answer.
fn expires_at(s: &SessionView) -> Timestamp {
    s.status
        .as_ref()
        .and_then(|st| st.expires_at.as_ref())
        .expect("expiresAt")
        .0
}

/// Polls until the session reaches `state`; returns the moment it was first seen.
async fn observe(
    fx: &Fixture,
    name: &str,
    state: &str,
    timeout: Duration,
) -> anyhow::Result<(Timestamp, BreakglassSession)> {
    let started = Instant::now();
    loop {
        let s = fx.session(name).await?;
        if s.status
            .as_ref()
            .and_then(|st| st.state)
            .map(|st| st.to_string())
            .as_deref()
            == Some(state)
        {
            return Ok((Timestamp::now(), s));
        }
        if started.elapsed() > timeout {
            anyhow::bail!(
                "{name} did not reach {state} within {timeout:?}: {:?}",
                s.status
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn lateness(observed: Timestamp, deadline: Timestamp) -> Duration {
    Duration::try_from(observed.duration_since(deadline)).unwrap_or_default()
}

#[tokio::test]
async fn approved_sessions_expire_on_time() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "expiry").await?;
    let group = fx.group("short");
    fx.escalation(
        "esc",
        with(
            spec(&[A], &group),
            json!({"maxValidFor": "8s", "approvalTimeout": "8s"}),
        ),
    )
    .await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let name = requester
        .request_session(&session_request(A, &group))
        .await?
        .name()
        .to_owned();
    let r = approver
        .approve_session(&name, &DecisionRequest::default())
        .await?;
    let expires = expires_at(&r);
    let (seen, s) = observe(&fx, &name, "Expired", Duration::from_secs(20)).await?;
    let late = lateness(seen, expires);
    note(&format!("expiry: seen {late:?} after expiresAt"));
    assert!(
        late <= SLACK + Duration::from_millis(500),
        "expired {late:?} after its deadline"
    );
    let st = s.status.unwrap_or_default();
    assert_eq!(
        st.reason_ended.map(|r| r.to_string()).as_deref(),
        Some("timeExpired")
    );
    assert_eq!(
        st.expires_at.map(|t| t.0),
        Some(expires),
        "expiresAt must stay the deadline"
    );
    let cond = st
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Expired")
        .expect("Expired condition");
    assert_eq!(cond.reason, "ExpiredByTime");
    assert!(lateness(cond.last_transition_time.0, expires) <= SLACK);
    fx.cleanup().await
}

#[tokio::test]
async fn pending_sessions_time_out_and_late_decisions_are_refused() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "timeout").await?;
    let group = fx.group("slow");
    fx.escalation(
        "esc",
        with(
            spec(&[A], &group),
            json!({"maxValidFor": "1h", "approvalTimeout": "5s"}),
        ),
    )
    .await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let r = requester
        .request_session(&session_request(A, &group))
        .await?;
    let name = r.name().to_owned();
    let timeout_at = r
        .status
        .as_ref()
        .and_then(|s| s.timeout_at.as_ref())
        .expect("timeoutAt")
        .0;
    let (seen, s) = observe(&fx, &name, "ApprovalTimeout", Duration::from_secs(20)).await?;
    let late = lateness(seen, timeout_at);
    note(&format!("approval timeout: seen {late:?} after timeoutAt"));
    assert!(
        late <= SLACK + Duration::from_millis(500),
        "timed out {late:?} late"
    );
    let st = s.status.unwrap_or_default();
    assert_eq!(
        st.reason_ended.map(|r| r.to_string()).as_deref(),
        Some("approvalTimeout")
    );
    assert!(st.approved_at.is_none());
    let late_approval = approver
        .approve_session(&name, &DecisionRequest::default())
        .await;
    assert_eq!(status_of(&late_approval), Some(400), "{late_approval:?}");
    // The slot is free again.
    requester
        .request_session(&session_request(A, &group))
        .await?;
    fx.cleanup().await
}

/// Creates a Pending session directly on the hub (as another tool would), with the
/// escalation as owner, so that timers shorter than the API allows can be tested.
async fn direct_session(
    fx: &Fixture,
    escalation: &str,
    group: &str,
    spec_extra: serde_json::Value,
) -> anyhow::Result<String> {
    let escs: kube::Api<breakglass_api::breakglass_escalation::BreakglassEscalation> =
        kube::Api::namespaced(fx.hub(), &fx.ns);
    let esc = escs.get(escalation).await?;
    let mut spec = json!({"cluster": A, "user": "requester@example.com", "grantedGroup": group, "maxValidFor": "8s"});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), spec_extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    let obj: BreakglassSession = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "BreakglassSession",
        "metadata": {"generateName": "direct-", "namespace": fx.ns, "ownerReferences": [{
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "BreakglassEscalation",
            "name": escalation, "uid": esc.metadata.uid, "controller": true}]},
        "spec": spec,
    }))?;
    let api: kube::Api<BreakglassSession> = kube::Api::namespaced(fx.hub(), &fx.ns);
    let created = api.create(&PostParams::default(), &obj).await?;
    let name = created.metadata.name.unwrap_or_default();
    let timeout_at = Timestamp::now().checked_add(jiff::SignedDuration::from_mins(30))?;
    patch_status(
        &fx.hub(),
        &fx.ns,
        &name,
        json!({"state": "Pending", "timeoutAt": timeout_at.to_string()}),
    )
    .await?;
    Ok(name)
}

#[tokio::test]
async fn scheduled_sessions_start_and_end_on_time() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "sched").await?;
    let group = fx.group("later");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let start = Timestamp::now().checked_add(jiff::SignedDuration::from_secs(6))?;
    let start = Timestamp::from_second(start.as_second())?;
    let name = direct_session(
        &fx,
        "esc",
        &group,
        json!({"scheduledStartTime": start.to_string()}),
    )
    .await?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let r = approver
        .approve_session(&name, &DecisionRequest::default())
        .await?;
    assert_eq!(r.state(), Some(State::WaitingForScheduledTime));
    let expires = expires_at(&r);
    assert_eq!(expires.duration_since(start).as_secs(), 8);
    let (seen, s) = observe(&fx, &name, "Approved", Duration::from_secs(20)).await?;
    let late = lateness(seen, start);
    note(&format!(
        "scheduled activation: seen {late:?} after the start"
    ));
    assert!(
        late <= SLACK + Duration::from_millis(500),
        "activated {late:?} late"
    );
    let st = s.status.unwrap_or_default();
    assert!(st.actual_start_time.is_some());
    assert!(
        st.conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "ScheduledStartTimeReached")
    );
    // The requester is told when the scheduled session starts.
    let activated = crate::mail::expect_exactly(
        &env.mailbox(),
        &format!("[Breakglass] Session Activated: {name}"),
        &["requester@example.com"],
    )
    .await?;
    assert!(activated.text.contains(&group), "{}", activated.text);
    let (seen, _) = observe(&fx, &name, "Expired", Duration::from_secs(20)).await?;
    assert!(lateness(seen, expires) <= SLACK + Duration::from_millis(500));
    fx.cleanup().await
}

#[tokio::test]
async fn idle_sessions_expire_after_their_idle_timeout() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "idle").await?;
    let group = fx.group("idle");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let name = direct_session(
        &fx,
        "esc",
        &group,
        json!({"maxValidFor": "1h", "idleTimeout": "1m"}),
    )
    .await?;
    client(&server.url, &token(&env, "approver").await?)?
        .approve_session(&name, &DecisionRequest::default())
        .await?;
    // Never used: no idle expiry. Then activity 56 s ago (as the webhook's flush writes it).
    let last = Timestamp::from_second(Timestamp::now().as_second() - 56)?;
    patch_status(
        &fx.hub(),
        &fx.ns,
        &name,
        json!({"lastActivity": last.to_string(), "activityCount": 3}),
    )
    .await?;
    let deadline = last.checked_add(jiff::SignedDuration::from_mins(1))?;
    let (seen, s) = observe(&fx, &name, "IdleExpired", Duration::from_secs(20)).await?;
    let late = lateness(seen, deadline);
    note(&format!(
        "idle expiry: seen {late:?} after lastActivity + idleTimeout"
    ));
    assert!(
        late <= SLACK + Duration::from_millis(500),
        "idle-expired {late:?} late"
    );
    let st = s.status.unwrap_or_default();
    assert_eq!(
        st.reason_ended.map(|r| r.to_string()).as_deref(),
        Some("idleTimeout")
    );
    assert_eq!(st.activity_count, Some(3));
    // The requester is told why the session ended.
    crate::mail::expect_exactly(
        &env.mailbox(),
        &format!("[Breakglass] Session Idle Expired: {name}"),
        &["requester@example.com"],
    )
    .await?;
    fx.cleanup().await
}

#[tokio::test]
async fn ended_sessions_are_deleted_after_their_retention() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "retain").await?;
    let group = fx.group("retain");
    fx.escalation("esc", with(spec(&[A], &group), json!({"retainFor": "4s"})))
        .await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let name = requester
        .request_session(&session_request(A, &group))
        .await?
        .name()
        .to_owned();
    let r = requester.withdraw_session(&name).await?;
    let retained = r
        .status
        .as_ref()
        .and_then(|s| s.retained_until.as_ref())
        .expect("retainedUntil")
        .0;
    let started = Instant::now();
    while fx.session_exists(&name).await? {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{name} was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let late = lateness(Timestamp::now(), retained);
    note(&format!("retention: deleted {late:?} after retainedUntil"));
    assert!(
        late <= SLACK + Duration::from_millis(500),
        "deleted {late:?} late"
    );
    fx.cleanup().await
}

#[tokio::test]
async fn a_session_without_state_is_removed() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    let fx = Fixture::new(&env, "stateless").await?;
    let group = fx.group("x");
    fx.escalation("esc", spec(&[A], &group)).await?;
    // An interrupted creation: the object exists, its status was never written. It is
    // deleted one minute after creation; make it look older.
    let name = direct_session(&fx, "esc", &group, json!({})).await?;
    patch_status(
        &fx.hub(),
        &fx.ns,
        &name,
        json!({"state": null, "timeoutAt": null}),
    )
    .await?;
    let s = fx.session(&name).await?;
    assert!(s.status.and_then(|st| st.state).is_none());
    // The creation timestamp cannot be changed, so wait for the grace to pass.
    let created = s
        .metadata
        .creation_timestamp
        .map(|t| t.0)
        .unwrap_or_else(Timestamp::now);
    let due = created.checked_add(jiff::SignedDuration::from_secs(60))?;
    let started = Instant::now();
    while fx.session_exists(&name).await? {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "stateless {name} was not removed"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(lateness(Timestamp::now(), due) <= SLACK + Duration::from_secs(1));
    fx.cleanup().await
}
