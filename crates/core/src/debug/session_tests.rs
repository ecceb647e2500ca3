use breakglass_api::debug_session::DebugSessionSpec;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use proptest::prelude::*;

use super::*;

const T0: &str = "2026-03-01T10:00:00Z";

fn at(offset_secs: i64) -> Timestamp {
    T0.parse::<Timestamp>()
        .unwrap()
        .checked_add(jiff::SignedDuration::from_secs(offset_secs))
        .unwrap()
}

const H: i64 = 3600;

fn timers() -> DebugTimers {
    DebugTimers::default()
}

/// A session created at T0 in `state`, with an optional template snapshot.
fn session(state: Option<State>, template: Option<DebugSessionTemplateSpec>) -> DebugSession {
    let mut s = DebugSession::new(
        "debug-alice-prod",
        DebugSessionSpec {
            cluster: "prod".into(),
            template_ref: "net-debug".into(),
            requested_by: "alice".into(),
            ..DebugSessionSpec::default()
        },
    );
    s.metadata.creation_timestamp = Some(Time(at(0)));
    s.status = Some(DebugSessionStatus {
        state,
        resolved_template: template,
        ..DebugSessionStatus::default()
    });
    s
}

fn template(c: DebugSessionConstraints) -> Option<DebugSessionTemplateSpec> {
    Some(DebugSessionTemplateSpec {
        constraints: Some(c),
        ..DebugSessionTemplateSpec::default()
    })
}

fn constraints_of(max: Option<&str>, default: Option<&str>) -> DebugSessionConstraints {
    DebugSessionConstraints {
        max_duration: max.map(Into::into),
        default_duration: default.map(Into::into),
        ..DebugSessionConstraints::default()
    }
}

/// An active session started at T0 expiring at T0 + `expires_h` hours.
fn active(expires_h: i64, template: Option<DebugSessionTemplateSpec>) -> DebugSession {
    let mut s = session(Some(State::Active), template);
    let st = s.status.as_mut().unwrap();
    st.starts_at = Some(Time(at(0)));
    st.expires_at = Some(Time(at(expires_h * H)));
    s
}

fn step(
    s: &DebugSession,
    e: DebugSessionEvent,
    now: i64,
) -> Result<DebugTransition, DebugTransitionError> {
    apply(s, e, at(now), &timers())
}

fn approve() -> DebugSessionEvent {
    DebugSessionEvent::Approve {
        approver: "bob".into(),
        reason: Some("ok".into()),
    }
}

fn reject() -> DebugSessionEvent {
    DebugSessionEvent::Reject {
        rejector: "bob".into(),
        reason: None,
    }
}

fn renew(h: i64) -> DebugSessionEvent {
    DebugSessionEvent::Renew {
        extend_by: GoDuration::from_secs(h * H).unwrap(),
    }
}

fn hours(h: i64) -> GoDuration {
    GoDuration::from_secs(h * H).unwrap()
}

#[test]
fn session_duration_table() {
    let two_h = constraints_of(Some("2h"), Some("30m"));
    let rows: Vec<(Option<&str>, Option<&DebugSessionConstraints>, i64)> = vec![
        (None, None, H),
        (Some("90m"), None, 90 * 60),
        (Some("5h"), None, 4 * H),
        (Some("1d"), None, 4 * H),
        (None, Some(&two_h), 30 * 60),
        (Some("90m"), Some(&two_h), 90 * 60),
        (Some("3h"), Some(&two_h), 2 * H),
        (Some("junk"), Some(&two_h), 30 * 60),
        (Some("-1h"), Some(&two_h), 30 * 60),
    ];
    for (requested, c, want) in rows {
        assert_eq!(
            session_duration(requested, c),
            GoDuration::from_secs(want).unwrap(),
            "{requested:?}"
        );
    }
    // An invalid configured maximum falls back to the default 4h.
    assert_eq!(
        max_duration(Some(&constraints_of(Some("nope"), None))),
        hours(4)
    );
}

#[test]
fn pending_to_active_without_approval() {
    let mut s = session(None, template(constraints_of(Some("2h"), None)));
    s.spec.requested_duration = Some("90m".into());
    let t = step(&s, DebugSessionEvent::Activate, 10).unwrap();
    assert_eq!((t.from, t.to), (State::Pending, State::Active));
    assert_eq!(t.status.starts_at, Some(Time(at(10))));
    assert_eq!(t.status.expires_at, Some(Time(at(10 + 90 * 60))));
    assert_eq!(t.notices, vec![DebugNotice::Activated]);
    let ready = condition::find(t.status.conditions.as_deref().unwrap(), "Ready").unwrap();
    assert_eq!(ready.status, "True");
    assert!(is_active(
        &DebugSession {
            status: Some(t.status),
            ..s
        },
        at(10)
    ));
}

#[test]
fn approval_flow() {
    let s = session(Some(State::Pending), None);
    let t = step(&s, DebugSessionEvent::RequireApproval, 1).unwrap();
    assert_eq!(t.to, State::PendingApproval);
    assert_eq!(t.status.approval.as_ref().unwrap().required, Some(true));
    let waiting = DebugSession {
        status: Some(t.status),
        ..s.clone()
    };
    // Cannot activate before approval.
    assert_eq!(
        step(&waiting, DebugSessionEvent::Activate, 2),
        Err(DebugTransitionError::AwaitingApproval)
    );
    // Approve records the decision; the state waits for activation.
    let t = step(&waiting, approve(), 3).unwrap();
    assert_eq!(
        (t.from, t.to),
        (State::PendingApproval, State::PendingApproval)
    );
    let a = t.status.approval.as_ref().unwrap();
    assert_eq!(a.approved_by.as_deref(), Some("bob"));
    assert_eq!(a.approved_at, Some(Time(at(3))));
    assert_eq!(a.reason.as_deref(), Some("ok"));
    let approved = DebugSession {
        status: Some(t.status),
        ..s.clone()
    };
    assert_eq!(
        step(&approved, approve(), 4),
        Err(DebugTransitionError::AlreadyDecided)
    );
    assert_eq!(
        step(&approved, reject(), 4),
        Err(DebugTransitionError::AlreadyDecided)
    );
    assert_eq!(
        step(&approved, DebugSessionEvent::ApprovalTimeout, 48 * H),
        Err(DebugTransitionError::AlreadyDecided)
    );
    assert_eq!(
        next_deadline(&approved, at(5), &timers()),
        Some(DebugDeadline {
            at: at(5),
            action: DebugTimerAction::Apply(DebugSessionEvent::Activate)
        })
    );
    let t = step(&approved, DebugSessionEvent::Activate, 5).unwrap();
    assert_eq!((t.from, t.to), (State::PendingApproval, State::Active));
    // Pending with approval required cannot skip it.
    let mut req = session(Some(State::Pending), None);
    req.status.as_mut().unwrap().approval = Some(DebugSessionApproval {
        required: Some(true),
        ..Default::default()
    });
    assert_eq!(
        step(&req, DebugSessionEvent::Activate, 0),
        Err(DebugTransitionError::AwaitingApproval)
    );
}

#[test]
fn reject_terminates() {
    let s = session(Some(State::PendingApproval), None);
    let t = step(&s, reject(), 60).unwrap();
    assert_eq!(t.to, State::Terminated);
    assert_eq!(t.status.message.as_deref(), Some("Rejected by bob"));
    let a = t.status.approval.unwrap();
    assert_eq!(a.rejected_by.as_deref(), Some("bob"));
    assert_eq!(a.rejected_at, Some(Time(at(60))));
}

#[test]
fn approval_timeout() {
    let s = session(Some(State::PendingApproval), None);
    let deadline = at(24 * H);
    assert_eq!(
        step(&s, DebugSessionEvent::ApprovalTimeout, 24 * H - 1),
        Err(DebugTransitionError::NotDue {
            event: "approval timeout",
            due: deadline
        })
    );
    assert_eq!(
        step(&s, approve(), 24 * H),
        Err(DebugTransitionError::ApprovalTimedOut { deadline })
    );
    assert_eq!(
        step(&s, reject(), 24 * H),
        Err(DebugTransitionError::ApprovalTimedOut { deadline })
    );
    let t = step(&s, DebugSessionEvent::ApprovalTimeout, 24 * H).unwrap();
    assert_eq!(t.to, State::Failed);
    assert_eq!(
        t.status.message.as_deref(),
        Some("Approval timed out after 24h0m0s")
    );
    assert_eq!(
        next_deadline(&s, at(0), &timers()),
        Some(DebugDeadline {
            at: deadline,
            action: DebugTimerAction::Apply(DebugSessionEvent::ApprovalTimeout)
        })
    );
    let mut no_created = s.clone();
    no_created.metadata.creation_timestamp = None;
    assert!(step(&no_created, approve(), 48 * H).is_ok());
    assert_eq!(
        step(&no_created, DebugSessionEvent::ApprovalTimeout, 48 * H),
        Err(DebugTransitionError::MissingTimestamp {
            field: "metadata.creationTimestamp"
        })
    );
}

#[test]
fn expiry_terminates_or_notifies() {
    let s = active(1, None);
    assert_eq!(
        step(&s, DebugSessionEvent::Expire, H - 1),
        Err(DebugTransitionError::NotDue {
            event: "expire",
            due: at(H)
        })
    );
    let t = step(&s, DebugSessionEvent::Expire, H).unwrap();
    assert_eq!(t.to, State::Expired);
    assert_eq!(t.notices, vec![DebugNotice::Expired]);
    assert!(!is_active(
        &DebugSession {
            status: Some(t.status),
            ..s.clone()
        },
        at(H)
    ));
    assert!(is_active(&s, at(H - 1)));
    assert!(!is_active(&s, at(H)));

    let notify = active(
        1,
        Some(DebugSessionTemplateSpec {
            expiration_behavior: Some(ExpirationBehavior::NotifyOnly),
            ..Default::default()
        }),
    );
    let t = step(&notify, DebugSessionEvent::Expire, H).unwrap();
    assert_eq!((t.from, t.to), (State::Active, State::Active));
    assert_eq!(t.status.expires_at, None);
    assert_eq!(t.notices, vec![DebugNotice::ExpiryNotified]);
    let after_notice = DebugSession {
        status: Some(t.status),
        ..notify
    };
    // §0.7: a notify-only session still ends at startsAt + maxDuration (4h default).
    assert!(is_active(&after_notice, at(4 * H - 1)));
    assert!(!is_active(&after_notice, at(4 * H)));
    assert_eq!(
        next_deadline(&after_notice, at(H), &timers()),
        Some(DebugDeadline {
            at: at(4 * H),
            action: DebugTimerAction::Apply(DebugSessionEvent::Expire),
        })
    );
    assert_eq!(
        step(&after_notice, DebugSessionEvent::Expire, 2 * H),
        Err(DebugTransitionError::NotDue {
            event: "expire",
            due: at(4 * H)
        })
    );
    let t = step(&after_notice, DebugSessionEvent::Expire, 4 * H).unwrap();
    assert_eq!(t.to, State::Expired);
    assert_eq!(t.notices, vec![DebugNotice::Expired]);
    // Without a grace period set, "expiring soon" is 15 minutes before expiresAt.
    assert_eq!(expiring_soon_at(&s), Some(at(H - 15 * 60)));
    assert_eq!(expiring_soon_at(&after_notice), None);
}

#[test]
fn terminate_and_fail_from_any_live_state() {
    for state in [State::Pending, State::PendingApproval, State::Active] {
        let s = session(Some(state), None);
        let t = step(&s, DebugSessionEvent::Terminate { by: "alice".into() }, 0).unwrap();
        assert_eq!(t.to, State::Terminated);
        assert_eq!(t.status.message.as_deref(), Some("Terminated by alice"));
        let t = step(
            &s,
            DebugSessionEvent::Fail {
                message: "deploy failed".into(),
            },
            0,
        )
        .unwrap();
        assert_eq!(t.to, State::Failed);
        assert_eq!(t.status.message.as_deref(), Some("deploy failed"));
    }
}

#[test]
fn terminal_states_never_change() {
    let events = [
        DebugSessionEvent::RequireApproval,
        approve(),
        reject(),
        DebugSessionEvent::Activate,
        DebugSessionEvent::ApprovalTimeout,
        DebugSessionEvent::Expire,
        DebugSessionEvent::Terminate { by: "x".into() },
        DebugSessionEvent::Fail {
            message: "x".into(),
        },
        renew(1),
    ];
    for state in [State::Expired, State::Terminated, State::Failed] {
        for e in &events {
            assert_eq!(
                step(&session(Some(state), None), e.clone(), 0),
                Err(DebugTransitionError::Terminal { state })
            );
        }
    }
}

#[test]
fn wrong_state_table() {
    let rows: Vec<(State, DebugSessionEvent)> = vec![
        (State::PendingApproval, DebugSessionEvent::RequireApproval),
        (State::Active, DebugSessionEvent::RequireApproval),
        (State::Pending, approve()),
        (State::Active, approve()),
        (State::Active, reject()),
        (State::Active, DebugSessionEvent::Activate),
        (State::Pending, DebugSessionEvent::ApprovalTimeout),
        (State::Pending, DebugSessionEvent::Expire),
        (State::PendingApproval, renew(1)),
    ];
    for (state, e) in rows {
        assert_eq!(
            step(&session(Some(state), None), e.clone(), 0),
            Err(DebugTransitionError::WrongState {
                event: e.name(),
                state
            }),
            "{state} {e:?}"
        );
    }
}

#[test]
fn renewal_rules() {
    let c = |allow: Option<bool>, max: Option<i32>, max_duration: Option<&str>| {
        template(DebugSessionConstraints {
            allow_renewal: allow,
            max_renewals: max,
            max_duration: max_duration.map(Into::into),
            ..Default::default()
        })
    };
    // (template, renewal count, expiry hours, extend hours, now, expected (expiry hours, count))
    type Row = (
        Option<DebugSessionTemplateSpec>,
        i32,
        i64,
        i64,
        i64,
        Result<(i64, i32), DebugTransitionError>,
    );
    let rows: Vec<Row> = vec![
        (None, 0, 1, 1, 0, Ok((2, 1))),
        (None, 2, 1, 1, 0, Ok((2, 3))),
        (
            None,
            3,
            1,
            1,
            0,
            Err(DebugTransitionError::RenewalLimitReached { max: 3 }),
        ),
        (
            c(Some(false), None, None),
            0,
            1,
            1,
            0,
            Err(DebugTransitionError::RenewalsNotAllowed),
        ),
        (
            c(None, Some(0), None),
            0,
            1,
            1,
            0,
            Err(DebugTransitionError::RenewalLimitReached { max: 0 }),
        ),
        (c(None, Some(5), None), 4, 1, 1, 0, Ok((2, 5))),
        // Bounded by startsAt + maxDuration (default 4h).
        (None, 0, 3, 1, 0, Ok((4, 1))),
        (
            None,
            0,
            3,
            2,
            0,
            Err(DebugTransitionError::ExceedsMaxDuration {
                max_duration: hours(4),
            }),
        ),
        (
            c(None, None, Some("2h")),
            0,
            1,
            2,
            0,
            Err(DebugTransitionError::ExceedsMaxDuration {
                max_duration: hours(2),
            }),
        ),
        // Already expired.
        (None, 0, 1, 1, H, Err(DebugTransitionError::RenewExpired)),
        // Non-positive extension.
        (
            None,
            0,
            1,
            0,
            0,
            Err(DebugTransitionError::InvalidExtension {
                extend_by: GoDuration::ZERO,
            }),
        ),
    ];
    for (i, (tpl, count, expires_h, extend_h, now, want)) in rows.into_iter().enumerate() {
        let mut s = active(expires_h, tpl);
        s.status.as_mut().unwrap().renewal_count = Some(count);
        let got = step(&s, renew(extend_h), now).map(|t| {
            assert_eq!(t.notices, vec![DebugNotice::Renewed]);
            let Time(e) = t.status.expires_at.unwrap();
            (
                e.duration_since(at(0)).as_secs() / H,
                t.status.renewal_count.unwrap(),
            )
        });
        assert_eq!(got, want, "row {i}");
    }
    let mut no_start = active(1, None);
    no_start.status.as_mut().unwrap().starts_at = None;
    assert_eq!(
        step(&no_start, renew(1), 0),
        Err(DebugTransitionError::MissingTimestamp { field: "startsAt" })
    );
}

#[test]
fn deadlines() {
    let mut expired = active(1, None);
    expired.status.as_mut().unwrap().state = Some(State::Expired);
    let failed_early = session(Some(State::Failed), None);
    let rows: Vec<(DebugSession, Option<DebugDeadline>)> = vec![
        (session(None, None), None),
        (
            active(2, None),
            Some(DebugDeadline {
                at: at(2 * H),
                action: DebugTimerAction::Apply(DebugSessionEvent::Expire),
            }),
        ),
        (
            expired,
            Some(DebugDeadline {
                at: at(H + 168 * H),
                action: DebugTimerAction::Delete,
            }),
        ),
        (
            failed_early,
            Some(DebugDeadline {
                at: at(168 * H),
                action: DebugTimerAction::Delete,
            }),
        ),
    ];
    for (i, (s, want)) in rows.into_iter().enumerate() {
        assert_eq!(next_deadline(&s, at(0), &timers()), want, "row {i}");
    }
}

fn any_state() -> impl Strategy<Value = Option<State>> {
    proptest::option::of(proptest::sample::select(State::ALL.to_vec()))
}

fn any_event() -> impl Strategy<Value = DebugSessionEvent> {
    prop_oneof![
        Just(DebugSessionEvent::RequireApproval),
        Just(approve()),
        Just(reject()),
        Just(DebugSessionEvent::Activate),
        Just(DebugSessionEvent::ApprovalTimeout),
        Just(DebugSessionEvent::Expire),
        Just(DebugSessionEvent::Terminate { by: "x".into() }),
        Just(DebugSessionEvent::Fail {
            message: "x".into()
        }),
        (-3i64..6).prop_map(|h| DebugSessionEvent::Renew {
            extend_by: GoDuration::from_nanos(h * H * 1_000_000_000)
        }),
    ]
}

/// The edges of inventory §2.2 (plus same-state approval/renewal/notify writes).
fn edge_allowed(from: State, to: State) -> bool {
    use State::*;
    matches!(
        (from, to),
        (Pending, PendingApproval | Active | Failed | Terminated)
            | (
                PendingApproval,
                PendingApproval | Active | Terminated | Failed
            )
            | (Active, Active | Expired | Terminated | Failed)
    )
}

proptest! {
    #[test]
    fn transitions_follow_the_state_table(
        state in any_state(),
        event in any_event(),
        now in -30i64..30,
        expires in proptest::option::of(-5i64..8),
        count in 0i32..5,
        approved in any::<bool>(),
        notify in any::<bool>(),
    ) {
        let behavior = if notify { ExpirationBehavior::NotifyOnly } else { ExpirationBehavior::Terminate };
        let tpl = DebugSessionTemplateSpec { expiration_behavior: Some(behavior), ..Default::default() };
        let mut s = session(state, Some(tpl));
        let st = s.status.as_mut().unwrap();
        st.starts_at = Some(Time(at(0)));
        st.expires_at = expires.map(|e| Time(at(e * H)));
        st.renewal_count = Some(count);
        if approved {
            st.approval = Some(DebugSessionApproval {
                required: Some(true),
                approved_at: Some(Time(at(0))),
                ..Default::default()
            });
        }
        if let Ok(t) = apply(&s, event, at(now * H), &timers()) {
            prop_assert!(edge_allowed(t.from, t.to), "{} -> {}", t.from, t.to);
            prop_assert_eq!(t.status.state, Some(t.to));
            // Activation and renewal never run past startsAt + maxDuration (4h by default).
            if t.notices.contains(&DebugNotice::Activated) || t.notices.contains(&DebugNotice::Renewed) {
                let (Some(Time(s0)), Some(Time(e))) = (&t.status.starts_at, &t.status.expires_at) else {
                    return Err(TestCaseError::fail("active session without start or expiry"));
                };
                prop_assert!(*e <= s0.checked_add(jiff::SignedDuration::from_hours(4)).unwrap());
            }
        }
    }
}
