//! Update rules: immutable specs, state transitions, monotonic status fields.

use breakglass_api::{BreakglassSession, BreakglassSessionState, DebugSession};
use breakglass_core::validation::{
    breakglass_session_transition_allowed, validate_breakglass_session_update,
    validate_debug_session_update,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::support::yaml;

fn session() -> BreakglassSession {
    serde_json::from_value(yaml(crate::session::BASE)).unwrap()
}

fn time(s: &str) -> Time {
    Time(s.parse().unwrap())
}

fn messages(errs: Vec<breakglass_core::validation::FieldError>) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

fn with_state(
    mut s: BreakglassSession,
    state: Option<BreakglassSessionState>,
) -> BreakglassSession {
    s.status.get_or_insert_with(Default::default).state = state;
    s
}

#[test]
fn session_spec_is_immutable() {
    let old = session();
    assert!(validate_breakglass_session_update(&old, &old.clone()).is_empty());
    let mut new = old.clone();
    new.spec.granted_group = "view".into();
    new.spec.request_reason = Some("changed".into());
    assert_eq!(
        messages(validate_breakglass_session_update(&old, &new)),
        vec![
            "spec.grantedGroup: Forbidden: field is immutable",
            "spec.requestReason: Forbidden: field is immutable"
        ]
    );
}

#[test]
fn session_state_transitions() {
    use BreakglassSessionState::*;
    let all = [
        Pending,
        Approved,
        Rejected,
        Expired,
        IdleExpired,
        Withdrawn,
        ApprovalTimeout,
        WaitingForScheduledTime,
    ];
    let allowed = [
        (Pending, Approved),
        (Pending, WaitingForScheduledTime),
        (Pending, Rejected),
        (Pending, Withdrawn),
        (Pending, ApprovalTimeout),
        (WaitingForScheduledTime, Approved),
        (WaitingForScheduledTime, Withdrawn),
        (WaitingForScheduledTime, Expired),
        (Approved, Expired),
        (Approved, IdleExpired),
    ];
    for from in all {
        for to in all {
            let expected = from == to || allowed.contains(&(from, to));
            assert_eq!(
                breakglass_session_transition_allowed(Some(from), Some(to)),
                expected,
                "{from} -> {to}"
            );
        }
        assert_eq!(
            breakglass_session_transition_allowed(None, Some(from)),
            from == Pending,
            "initial {from}"
        );
        assert!(
            !breakglass_session_transition_allowed(Some(from), None),
            "{from} cleared"
        );
    }
    assert!(breakglass_session_transition_allowed(None, None));

    let old = with_state(session(), Some(Approved));
    let new = with_state(session(), Some(Pending));
    assert_eq!(
        messages(validate_breakglass_session_update(&old, &new)),
        vec!["status.state: Forbidden: transition from Approved to \"Pending\" is not allowed"]
    );
}

#[test]
fn session_activity_is_monotonic() {
    let mut old = with_state(session(), Some(BreakglassSessionState::Approved));
    let st = old.status.as_mut().unwrap();
    st.activity_count = Some(10);
    st.last_activity = Some(time("2026-01-01T10:00:00Z"));

    let mut forward = old.clone();
    let st = forward.status.as_mut().unwrap();
    st.activity_count = Some(12);
    st.last_activity = Some(time("2026-01-01T10:00:30Z"));
    assert!(validate_breakglass_session_update(&old, &forward).is_empty());

    let mut back = old.clone();
    let st = back.status.as_mut().unwrap();
    st.activity_count = Some(9);
    st.last_activity = Some(time("2026-01-01T09:59:59Z"));
    assert_eq!(
        messages(validate_breakglass_session_update(&old, &back)),
        vec![
            "status.activityCount: Invalid value: 9: may not decrease (was 10)",
            "status.lastActivity: Invalid value: \"2026-01-01T09:59:59Z\": may not move backwards (was 2026-01-01T10:00:00Z)",
        ]
    );

    let mut cleared = old.clone();
    let st = cleared.status.as_mut().unwrap();
    st.activity_count = None;
    st.last_activity = None;
    assert_eq!(
        messages(validate_breakglass_session_update(&old, &cleared)),
        vec![
            "status.activityCount: Forbidden: may not be cleared",
            "status.lastActivity: Forbidden: may not be cleared once set"
        ]
    );
}

fn debug_session() -> DebugSession {
    serde_json::from_value(yaml(crate::debug_session::BASE)).unwrap()
}

#[test]
fn debug_session_updates() {
    let mut old = debug_session();
    let st = old.status.get_or_insert_with(Default::default);
    st.starts_at = Some(time("2026-01-01T10:00:00Z"));
    st.expires_at = Some(time("2026-01-01T12:00:00Z"));
    st.approval.get_or_insert_with(Default::default).approved_at =
        Some(time("2026-01-01T09:59:00Z"));

    let mut renewed = old.clone();
    renewed.status.as_mut().unwrap().expires_at = Some(time("2026-01-01T13:00:00Z"));
    assert!(validate_debug_session_update(&old, &renewed).is_empty());

    let mut bad = old.clone();
    bad.spec.requested_duration = Some("4h".into());
    let st = bad.status.as_mut().unwrap();
    st.starts_at = None;
    st.expires_at = Some(time("2026-01-01T11:00:00Z"));
    st.approval.as_mut().unwrap().approved_at = None;
    st.approval.as_mut().unwrap().rejected_at = Some(time("2026-01-01T10:30:00Z"));
    assert_eq!(
        messages(validate_debug_session_update(&old, &bad)),
        vec![
            "spec.requestedDuration: Forbidden: field is immutable",
            "status.startsAt: Forbidden: may not be cleared once set",
            "status.expiresAt: Invalid value: \"2026-01-01T11:00:00Z\": may not move backwards (was 2026-01-01T12:00:00Z)",
            "status.approval.approvedAt: Forbidden: may not be cleared once set",
        ]
    );
}
