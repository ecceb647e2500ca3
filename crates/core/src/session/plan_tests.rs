#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use breakglass_api::breakglass_escalation::{BreakglassEscalationSpec, SessionLimitsOverride};
use breakglass_api::breakglass_session::{BreakglassSessionStatus, SessionEndReason};
use breakglass_api::common::ReasonConfig;

use super::*;

const NOW: &str = "2026-01-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn escalation() -> BreakglassEscalation {
    let mut e = BreakglassEscalation::new(
        "esc",
        BreakglassEscalationSpec {
            escalated_group: "oidc:admin".to_owned(),
            max_valid_for: Some("2h".to_owned()),
            approval_timeout: Some("30m".to_owned()),
            ..Default::default()
        },
    );
    e.metadata.namespace = Some("team".to_owned());
    e.metadata.uid = Some("uid-esc".to_owned());
    e
}

fn request(esc: &BreakglassEscalation) -> Request<'_> {
    Request {
        cluster: "target-a",
        cluster_config: "target-a",
        cluster_restricts_idps: false,
        user: "dev@example.com",
        provider: "dex",
        issuer: "https://dex.example.com",
        escalation: esc,
        reason: Some("incident 42"),
        duration_secs: None,
        scheduled_start: None,
        min_schedule_lead: SignedDuration::from_mins(5),
        now: now(),
    }
}

#[test]
fn the_planned_object() {
    let esc = escalation();
    let p = plan(&request(&esc)).unwrap();
    let s = &p.session;
    assert_eq!(s.spec.cluster, "target-a");
    assert_eq!(s.spec.user, "dev@example.com");
    assert_eq!(s.spec.granted_group, "oidc:admin");
    assert_eq!(s.spec.max_valid_for.as_deref(), Some("2h"));
    assert_eq!(s.spec.request_reason.as_deref(), Some("incident 42"));
    assert_eq!(
        s.spec.identity_provider_issuer.as_deref(),
        Some("https://dex.example.com")
    );
    assert_eq!(s.spec.allow_idp_mismatch, Some(true));
    assert_eq!(s.metadata.namespace.as_deref(), Some("team"));
    assert_eq!(
        s.metadata.generate_name.as_deref(),
        Some("target-a-oidc-admin-")
    );
    let owner = &s.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.uid.as_str(), owner.controller),
        ("uid-esc", Some(true))
    );
    let labels = s.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[labels::SESSION_USER], "dev_example.com");
    assert_eq!(p.approval_timeout.as_secs(), 30 * 60);
    assert_eq!(p.scheduled_start, None);

    let mut req = request(&esc);
    req.cluster_restricts_idps = true;
    assert_eq!(
        plan(&req).unwrap().session.spec.allow_idp_mismatch,
        Some(false)
    );
}

#[test]
fn durations() {
    let esc = escalation();
    let cases: [(Option<i64>, Result<&str, PlanError>); 7] = [
        (None, Ok("2h")),
        (Some(0), Ok("2h")),
        (Some(60), Ok("1m0s")),
        (Some(7200), Ok("2h0m0s")),
        (Some(-5), Err(PlanError::NegativeDuration(-5))),
        (Some(59), Err(PlanError::DurationTooShort(59))),
        (
            Some(7201),
            Err(PlanError::DurationTooLong {
                secs: 7201,
                max: "2h0m0s".to_owned(),
                max_secs: 7200,
            }),
        ),
    ];
    for (duration, want) in cases {
        let mut req = request(&esc);
        req.duration_secs = duration;
        let got = plan(&req).map(|p| p.session.spec.max_valid_for.unwrap_or_default());
        assert_eq!(got, want.map(str::to_owned), "duration {duration:?}");
    }
}

#[test]
fn schedules() {
    let esc = escalation();
    let cases: [(&str, Result<Option<&str>, &str>); 6] = [
        ("", Ok(None)),
        ("2026-01-01T13:00:00Z", Ok(Some("2026-01-01T13:00:00Z"))),
        ("2026-01-01T12:05:00Z", Ok(Some("2026-01-01T12:05:00Z"))),
        ("2026-01-01T12:04:59Z", Err("at least 5 minutes")),
        ("2026-01-01T12:00:00Z", Err("must be in the future")),
        ("tomorrow", Err("not an RFC 3339 time")),
    ];
    for (at, want) in cases {
        let mut req = request(&esc);
        req.scheduled_start = Some(at);
        match (plan(&req), want) {
            (Ok(p), Ok(w)) => {
                assert_eq!(p.scheduled_start, w.map(|t| t.parse().unwrap()), "{at}");
                assert_eq!(
                    p.session.spec.scheduled_start_time.map(|t| t.0),
                    p.scheduled_start
                );
            }
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{at}: {e}"),
            (got, want) => panic!("{at}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn reasons() {
    let mut esc = escalation();
    esc.spec.request_reason = Some(ReasonConfig {
        mandatory: Some(true),
        description: None,
    });
    let mut req = request(&esc);
    req.reason = Some("   ");
    let err = plan(&req).unwrap_err();
    assert_eq!(err, PlanError::Reason(ReasonError::Missing));
    assert_eq!(err.to_string(), "missing required request reason");
    req.reason = Some("x");
    assert!(plan(&req).is_ok());
    let long = "a".repeat(501);
    req.reason = Some(&long);
    assert!(
        plan(&req)
            .unwrap_err()
            .to_string()
            .starts_with("invalid request reason")
    );
}

#[test]
fn approval_timeout_defaults_when_not_positive() {
    let mut esc = escalation();
    esc.spec.approval_timeout = Some("0s".to_owned());
    assert_eq!(
        plan(&request(&esc)).unwrap().approval_timeout,
        duration::DEFAULT_APPROVAL_TIMEOUT
    );
}

fn existing(user: &str, group: &str, state: State, owner_uid: &str) -> BreakglassSession {
    let esc = escalation();
    let mut req = request(&esc);
    req.user = user;
    let mut s = plan(&req).unwrap().session;
    s.spec.granted_group = group.to_owned();
    if let Some(o) = s.metadata.owner_references.as_mut() {
        o[0].uid = owner_uid.to_owned();
    }
    s.status = Some(BreakglassSessionStatus {
        state: Some(state),
        timeout_at: Some(Time("2026-01-01T13:00:00Z".parse().unwrap())),
        expires_at: Some(Time("2026-01-01T13:00:00Z".parse().unwrap())),
        reason_ended: (state == State::Expired).then_some(SessionEndReason::Dropped),
        ..Default::default()
    });
    s
}

#[test]
fn duplicate_slots() {
    let prefixes = vec!["oidc:".to_owned()];
    let mine = |s: &BreakglassSession| s.spec.user == "dev@example.com";
    let cases = [
        (State::Pending, "admin", Some(Duplicate::AlreadyRequested)),
        (
            State::Approved,
            "oidc:admin",
            Some(Duplicate::AlreadyApproved),
        ),
        (
            State::WaitingForScheduledTime,
            "admin",
            Some(Duplicate::AlreadyApproved),
        ),
        (State::Expired, "admin", None),
        (State::Pending, "viewer", None),
    ];
    for (state, group, want) in cases {
        let sessions = [existing("dev@example.com", group, state, "uid-esc")];
        let got = duplicate(&sessions, mine, "target-a", "oidc:admin", &prefixes, now());
        assert_eq!(got.map(|(_, d)| d), want, "{state:?} {group}");
    }
    // Someone else's session never blocks (nor is it shown in the 409).
    let sessions = [existing("other@example.com", "admin", State::Pending, "u")];
    assert!(duplicate(&sessions, mine, "target-a", "admin", &prefixes, now()).is_none());
    assert!(
        duplicate(
            &[existing("dev@example.com", "admin", State::Pending, "u")],
            mine,
            "target-b",
            "admin",
            &prefixes,
            now()
        )
        .is_none()
    );
}

#[test]
fn limits_count_the_requester_and_the_escalation() {
    let esc = escalation();
    let mine = |s: &BreakglassSession| s.spec.user == "dev@example.com";
    let sessions = [
        existing("dev@example.com", "a", State::Pending, "other"),
        existing("x@example.com", "a", State::Approved, "uid-esc"),
        existing("dev@example.com", "a", State::Expired, "uid-esc"),
    ];
    let per_user = |n| Limits {
        per_user: Some(n),
        total: None,
    };
    let total = |n| Limits {
        per_user: None,
        total: Some(n),
    };
    assert_eq!(
        check_limits(per_user(1), &sessions, mine, &esc, now()),
        Err(LimitExceeded::PerUser {
            limit: 1,
            active: 1
        })
    );
    assert!(check_limits(per_user(2), &sessions, mine, &esc, now()).is_ok());
    assert_eq!(
        check_limits(total(1), &sessions, mine, &esc, now()),
        Err(LimitExceeded::Total {
            limit: 1,
            active: 1
        })
    );
    let unlimited = limits::effective(
        Some(&SessionLimitsOverride {
            unlimited: Some(true),
            ..Default::default()
        }),
        None,
        &[],
    );
    assert!(check_limits(unlimited, &sessions, mine, &esc, now()).is_ok());
}

#[test]
fn generated_names_and_labels_are_valid() {
    assert_eq!(generate_name("target-a", "admin"), "target-a-admin-");
    assert_eq!(
        generate_name("Prod_EU", "oidc:Cluster.Admin"),
        "prod-eu-oidc-cluster-admin-"
    );
    let long = generate_name(&"c".repeat(80), "g");
    assert!(long.len() <= 57 && long.ends_with('-'), "{long}");
    assert_eq!(generate_name("::", "::"), "session-");
    assert_eq!(
        label_value("requester@example.com"),
        "requester_example.com"
    );
    assert_eq!(label_value("oidc:admins"), "oidc_admins");
    assert_eq!(label_value("@x@"), "x");
    assert!(label_value(&"a".repeat(100)).len() == 63);
}
