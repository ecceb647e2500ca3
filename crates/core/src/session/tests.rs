use super::*;
use proptest::prelude::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const T0: &str = "2026-03-01T10:00:00Z";

fn t0() -> Timestamp {
    ts(T0)
}

fn at(offset_secs: i64) -> Timestamp {
    t0().checked_add(jiff::SignedDuration::from_secs(offset_secs))
        .unwrap()
}

fn spec() -> BreakglassSessionSpec {
    BreakglassSessionSpec {
        cluster: "prod-eu".into(),
        user: "alice@example.com".into(),
        granted_group: "cluster-admin".into(),
        max_valid_for: Some("2h".into()),
        retain_for: Some("24h".into()),
        ..BreakglassSessionSpec::default()
    }
}

fn session(spec: BreakglassSessionSpec, status: BreakglassSessionStatus) -> BreakglassSession {
    let mut s = BreakglassSession::new("s1", spec);
    s.status = Some(status);
    s
}

/// A pending session created at T0 with a 1h approval window.
fn pending(spec: BreakglassSessionSpec) -> BreakglassSession {
    session(spec, initial_status(t0(), GoDuration::HOUR).unwrap())
}

fn in_state(state: State) -> BreakglassSession {
    let mut s = pending(spec());
    let st = s.status.as_mut().unwrap();
    st.state = Some(state);
    st.timeout_at = None;
    st.expires_at = Some(Time(at(3600)));
    st.approved_at = Some(Time(t0()));
    s
}

fn approve(who: &str) -> SessionEvent {
    SessionEvent::Approve {
        approver: who.into(),
        reason: None,
    }
}

fn reject(who: &str) -> SessionEvent {
    SessionEvent::Reject {
        rejector: who.into(),
        reason: None,
    }
}

fn cancel(who: &str) -> SessionEvent {
    SessionEvent::Cancel {
        approver: who.into(),
    }
}

fn cond(t: &Transition, type_: CondType) -> &Condition {
    condition::find(t.status.conditions.as_deref().unwrap(), type_.as_str()).unwrap()
}

#[test]
fn initial_status_is_pending_with_timeout_and_idle_condition() {
    let st = initial_status(t0(), GoDuration::HOUR).unwrap();
    assert_eq!(st.state, Some(State::Pending));
    assert_eq!(st.timeout_at, Some(Time(at(3600))));
    let c = &st.conditions.unwrap()[0];
    assert_eq!(
        (c.type_.as_str(), c.reason.as_str()),
        ("Idle", "EditedByApprover")
    );
}

#[test]
fn approve_immediate_session() {
    let t = apply(
        &pending(spec()),
        SessionEvent::Approve {
            approver: "bob@example.com".into(),
            reason: Some("ticket 42".into()),
        },
        at(60),
    )
    .unwrap();
    assert_eq!((t.from, t.to), (State::Pending, State::Approved));
    let st = &t.status;
    assert_eq!(st.state, Some(State::Approved));
    assert_eq!(st.approved_at, Some(Time(at(60))));
    assert_eq!(st.actual_start_time, Some(Time(at(60))));
    assert_eq!(st.expires_at, Some(Time(at(60 + 7200))));
    assert_eq!(st.retained_until, Some(Time(at(60 + 86400))));
    assert_eq!(st.timeout_at, None);
    assert_eq!(st.approver.as_deref(), Some("bob@example.com"));
    assert_eq!(
        st.approvers.as_deref(),
        Some(&["bob@example.com".to_owned()][..])
    );
    assert_eq!(st.approval_reason.as_deref(), Some("ticket 42"));
    assert_eq!(st.reason_ended, None);
    assert_eq!(
        t.notices,
        vec![SessionNotice::Approved, SessionNotice::Activated]
    );
    let c = cond(&t, CondType::Approved);
    assert_eq!(
        (c.status.as_str(), c.reason.as_str()),
        ("True", "EditedByApprover")
    );
}

#[test]
fn approve_defaults_and_blank_reason() {
    let mut s = spec();
    s.max_valid_for = Some("bogus".into());
    s.retain_for = Some("-1h".into());
    let t = apply(
        &pending(s),
        SessionEvent::Approve {
            approver: "bob".into(),
            reason: Some("   ".into()),
        },
        t0(),
    )
    .unwrap();
    // Invalid maxValidFor ⇒ 1h; invalid retainFor ⇒ 720h.
    assert_eq!(t.status.expires_at, Some(Time(at(3600))));
    assert_eq!(t.status.retained_until, Some(Time(at(720 * 3600))));
    assert_eq!(t.status.approval_reason, None);
}

#[test]
fn approve_scheduled_session_waits() {
    let mut s = spec();
    s.scheduled_start_time = Some(Time(at(86400)));
    let t = apply(&pending(s), approve("bob"), at(60)).unwrap();
    assert_eq!(t.to, State::WaitingForScheduledTime);
    assert_eq!(t.status.actual_start_time, None);
    assert_eq!(t.status.expires_at, Some(Time(at(86400 + 7200))));
    assert_eq!(
        t.status.retained_until,
        Some(Time(at(86400 + 7200 + 86400)))
    );
    assert_eq!(t.notices, vec![SessionNotice::Approved]);
}

#[test]
fn approve_and_reject_preconditions() {
    // (state, event, expected error)
    let rows: Vec<(State, SessionEvent, TransitionError)> = vec![
        (
            State::Approved,
            approve("b"),
            TransitionError::AlreadyInState {
                state: State::Approved,
            },
        ),
        (
            State::WaitingForScheduledTime,
            approve("b"),
            TransitionError::AlreadyInState {
                state: State::WaitingForScheduledTime,
            },
        ),
        (
            State::Rejected,
            approve("b"),
            TransitionError::NotPending {
                action: "approve",
                state: State::Rejected,
            },
        ),
        (
            State::Expired,
            approve("b"),
            TransitionError::NotPending {
                action: "approve",
                state: State::Expired,
            },
        ),
        (
            State::Rejected,
            reject("b"),
            TransitionError::AlreadyInState {
                state: State::Rejected,
            },
        ),
        (
            State::Approved,
            reject("b"),
            TransitionError::NotPending {
                action: "reject",
                state: State::Approved,
            },
        ),
        (
            State::Withdrawn,
            reject("b"),
            TransitionError::NotPending {
                action: "reject",
                state: State::Withdrawn,
            },
        ),
    ];
    for (state, event, want) in rows {
        assert_eq!(
            apply(&in_state(state), event.clone(), t0()),
            Err(want),
            "{state} / {event:?}"
        );
    }
}

#[test]
fn decisions_after_the_approval_timeout_are_refused() {
    let s = pending(spec());
    let timeout_at = at(3600);
    for event in [approve("b"), reject("b"), SessionEvent::Withdraw] {
        assert_eq!(
            apply(&s, event.clone(), at(3600)),
            Err(TransitionError::ApprovalTimedOut { timeout_at }),
            "{event:?}"
        );
        assert!(apply(&s, event, at(3599)).is_ok());
    }
}

#[test]
fn reject_records_rejector_and_retention() {
    let t = apply(
        &pending(spec()),
        SessionEvent::Reject {
            rejector: "bob".into(),
            reason: Some("no".into()),
        },
        at(10),
    )
    .unwrap();
    assert_eq!(t.to, State::Rejected);
    assert_eq!(t.status.rejected_at, Some(Time(at(10))));
    assert_eq!(t.status.reason_ended, Some(SessionEndReason::Rejected));
    assert_eq!(t.status.retained_until, Some(Time(at(10 + 86400))));
    assert_eq!(t.status.approver.as_deref(), Some("bob"));
    assert_eq!(t.status.approval_reason.as_deref(), Some("no"));
    assert_eq!(t.status.withdrawn_at, None);
    assert_eq!(cond(&t, CondType::Rejected).status, "True");
    assert_eq!(t.notices, vec![SessionNotice::Rejected]);
}

#[test]
fn withdraw_pending() {
    let mut s = pending(spec());
    s.status.as_mut().unwrap().approvers = Some(vec!["x".into()]);
    let t = apply(&s, SessionEvent::Withdraw, at(5)).unwrap();
    assert_eq!(t.to, State::Withdrawn);
    assert_eq!(t.status.withdrawn_at, Some(Time(at(5))));
    assert_eq!(t.status.reason_ended, Some(SessionEndReason::Withdrawn));
    assert_eq!(t.status.approvers, None);
    assert_eq!(t.status.approver, None);
    // Withdrawn sessions never carry rejectedAt.
    assert_eq!(t.status.rejected_at, None);
    assert_eq!(t.status.retained_until, Some(Time(at(5 + 86400))));
    assert_eq!(cond(&t, CondType::Canceled).status, "True");
}

#[test]
fn withdraw_preconditions() {
    assert_eq!(
        apply(&in_state(State::Approved), SessionEvent::Withdraw, t0()),
        Err(TransitionError::NotPending {
            action: "withdraw",
            state: State::Approved
        })
    );
    assert_eq!(
        apply(&in_state(State::Expired), SessionEvent::Withdraw, t0()),
        Err(TransitionError::Terminal {
            state: State::Expired
        })
    );
}

#[test]
fn drop_by_state() {
    // Pending ⇒ withdrawn.
    let t = apply(&pending(spec()), SessionEvent::Drop, at(1)).unwrap();
    assert_eq!(
        (t.to, t.status.reason_ended),
        (State::Withdrawn, Some(SessionEndReason::Withdrawn))
    );
    assert_eq!(t.notices, vec![SessionNotice::Dropped]);
    // Approved ⇒ expired now, approval history kept.
    let mut s = in_state(State::Approved);
    s.status.as_mut().unwrap().approvers = Some(vec!["bob".into()]);
    let t = apply(&s, SessionEvent::Drop, at(60)).unwrap();
    assert_eq!(t.to, State::Expired);
    assert_eq!(t.status.reason_ended, Some(SessionEndReason::Dropped));
    assert_eq!(t.status.expires_at, Some(Time(at(60))));
    assert_eq!(t.status.approvers.as_deref(), Some(&["bob".to_owned()][..]));
    assert_eq!(t.status.retained_until, Some(Time(at(60 + 86400))));
    // Scheduled ⇒ expired as well.
    let t = apply(
        &in_state(State::WaitingForScheduledTime),
        SessionEvent::Drop,
        at(60),
    )
    .unwrap();
    assert_eq!(
        (t.to, t.status.reason_ended),
        (State::Expired, Some(SessionEndReason::Dropped))
    );
    // Terminal ⇒ refused.
    for state in [
        State::Rejected,
        State::Withdrawn,
        State::Expired,
        State::IdleExpired,
        State::ApprovalTimeout,
    ] {
        assert_eq!(
            apply(&in_state(state), SessionEvent::Drop, t0()),
            Err(TransitionError::Terminal { state })
        );
    }
}

#[test]
fn cancel_by_state() {
    let t = apply(&in_state(State::Approved), cancel("carol"), at(60)).unwrap();
    assert_eq!(t.to, State::Expired);
    assert_eq!(t.status.reason_ended, Some(SessionEndReason::Canceled));
    assert_eq!(t.status.expires_at, Some(Time(at(60))));
    assert_eq!(t.status.approver.as_deref(), Some("carol"));
    assert!(
        t.status
            .approvers
            .as_ref()
            .unwrap()
            .contains(&"carol".to_owned())
    );
    assert_eq!(t.notices, vec![SessionNotice::Canceled]);
    assert!(
        apply(
            &in_state(State::WaitingForScheduledTime),
            cancel("carol"),
            t0()
        )
        .is_ok()
    );
    assert_eq!(
        apply(&pending(spec()), cancel("carol"), t0()),
        Err(TransitionError::NotApproved {
            state: State::Pending
        })
    );
    assert_eq!(
        apply(&in_state(State::Rejected), cancel("carol"), t0()),
        Err(TransitionError::Terminal {
            state: State::Rejected
        })
    );
}

#[test]
fn ending_keeps_an_elapsed_expiry() {
    // Expiry already passed (cleanup ran late): the record keeps the real end.
    let t = apply(&in_state(State::Approved), SessionEvent::Expire, at(7200)).unwrap();
    assert_eq!(t.status.expires_at, Some(Time(at(3600))));
    assert_eq!(t.status.retained_until, Some(Time(at(7200 + 86400))));
}

#[test]
fn approval_timeout() {
    let s = pending(spec());
    assert_eq!(
        apply(&s, SessionEvent::ApprovalTimeout, at(3599)),
        Err(TransitionError::NotDue {
            event: "approval timeout",
            due: at(3600)
        })
    );
    let t = apply(&s, SessionEvent::ApprovalTimeout, at(3600)).unwrap();
    assert_eq!(t.to, State::ApprovalTimeout);
    assert_eq!(
        t.status.reason_ended,
        Some(SessionEndReason::ApprovalTimeout)
    );
    assert_eq!(t.status.expires_at, Some(Time(at(3600))));
    assert_eq!(t.status.retained_until, Some(Time(at(3600 + 86400))));
    let c = cond(&t, CondType::Expired);
    assert_eq!(c.reason, "ApprovalTimeout");
    assert_eq!(t.notices, vec![SessionNotice::ApprovalTimedOut]);
    let mut no_timeout = pending(spec());
    no_timeout.status.as_mut().unwrap().timeout_at = None;
    assert!(matches!(
        apply(&no_timeout, SessionEvent::ApprovalTimeout, at(9999)),
        Err(TransitionError::NotApplicable { .. })
    ));
    assert_eq!(
        apply(
            &in_state(State::Approved),
            SessionEvent::ApprovalTimeout,
            t0()
        ),
        Err(TransitionError::NotPending {
            action: "time out",
            state: State::Approved
        })
    );
}

#[test]
fn expire_approved() {
    let s = in_state(State::Approved);
    assert_eq!(
        apply(&s, SessionEvent::Expire, at(3599)),
        Err(TransitionError::NotDue {
            event: "expire",
            due: at(3600)
        })
    );
    let t = apply(&s, SessionEvent::Expire, at(3600)).unwrap();
    assert_eq!(t.to, State::Expired);
    assert_eq!(t.status.reason_ended, Some(SessionEndReason::TimeExpired));
    assert_eq!(cond(&t, CondType::Expired).reason, "ExpiredByTime");
    // Approved without expiresAt is malformed and ends at once.
    let mut malformed = in_state(State::Approved);
    malformed.status.as_mut().unwrap().expires_at = None;
    let t = apply(&malformed, SessionEvent::Expire, t0()).unwrap();
    assert_eq!(
        (t.to, t.status.expires_at),
        (State::Expired, Some(Time(t0())))
    );
    assert!(matches!(
        apply(&pending(spec()), SessionEvent::Expire, at(99999)),
        Err(TransitionError::NotApplicable { .. })
    ));
}

fn scheduled(start: Option<i64>, expires: Option<i64>) -> BreakglassSession {
    let mut sp = spec();
    sp.scheduled_start_time = start.map(|s| Time(at(s)));
    let mut s = in_state(State::WaitingForScheduledTime);
    let st = s.status.as_mut().unwrap();
    st.expires_at = expires.map(|e| Time(at(e)));
    st.actual_start_time = None;
    s.spec = sp;
    s
}

#[test]
fn scheduled_activation_table() {
    // (start, expires, now, expected state, expected reasonEnded)
    type Row = (
        Option<i64>,
        Option<i64>,
        i64,
        Result<(State, Option<SessionEndReason>), TransitionError>,
    );
    let rows: Vec<Row> = vec![
        (Some(100), Some(7300), 100, Ok((State::Approved, None))),
        (Some(100), Some(7300), 5000, Ok((State::Approved, None))),
        (
            Some(100),
            Some(7300),
            99,
            Err(TransitionError::NotDue {
                event: "activate",
                due: at(100),
            }),
        ),
        (
            None,
            Some(7300),
            0,
            Ok((
                State::Expired,
                Some(SessionEndReason::MissingScheduledStartTime),
            )),
        ),
        (
            Some(100),
            Some(7300),
            7300,
            Ok((
                State::Expired,
                Some(SessionEndReason::ScheduledSessionExpiredBeforeActivation),
            )),
        ),
        (Some(100), None, 100, Ok((State::Approved, None))),
    ];
    for (start, expires, now, want) in rows {
        let got = apply(&scheduled(start, expires), SessionEvent::Activate, at(now))
            .map(|t| (t.to, t.status.reason_ended));
        assert_eq!(got, want, "start {start:?} expires {expires:?} now {now}");
    }
}

#[test]
fn scheduled_activation_effects() {
    let t = apply(
        &scheduled(Some(100), Some(7300)),
        SessionEvent::Activate,
        at(160),
    )
    .unwrap();
    assert_eq!(t.status.actual_start_time, Some(Time(at(160))));
    assert_eq!(t.status.expires_at, Some(Time(at(7300))));
    assert_eq!(cond(&t, CondType::ScheduledStartTimeReached).status, "True");
    assert_eq!(t.notices, vec![SessionNotice::Activated]);
    // Missing expiry is recomputed from the scheduled start.
    let t = apply(&scheduled(Some(100), None), SessionEvent::Activate, at(100)).unwrap();
    assert_eq!(t.status.expires_at, Some(Time(at(100 + 7200))));
    // Expire on a scheduled session past its window ends it the same way.
    let t = apply(
        &scheduled(Some(100), Some(7300)),
        SessionEvent::Expire,
        at(7300),
    )
    .unwrap();
    assert_eq!(
        t.status.reason_ended,
        Some(SessionEndReason::ScheduledSessionExpiredBeforeActivation)
    );
    assert!(matches!(
        apply(&in_state(State::Approved), SessionEvent::Activate, t0()),
        Err(TransitionError::NotApplicable { .. })
    ));
}

fn idle_session(idle: Option<&str>, last_activity: Option<i64>) -> BreakglassSession {
    let mut s = in_state(State::Approved);
    s.spec.idle_timeout = idle.map(Into::into);
    s.status.as_mut().unwrap().last_activity = last_activity.map(|l| Time(at(l)));
    s
}

#[test]
fn idle_expiry() {
    let s = idle_session(Some("10m"), Some(60));
    assert_eq!(
        apply(&s, SessionEvent::IdleExpire, at(659)),
        Err(TransitionError::NotDue {
            event: "idle expire",
            due: at(660)
        })
    );
    let t = apply(&s, SessionEvent::IdleExpire, at(660)).unwrap();
    assert_eq!(t.to, State::IdleExpired);
    assert_eq!(t.status.reason_ended, Some(SessionEndReason::IdleTimeout));
    assert_eq!(t.status.expires_at, Some(Time(at(660))));
    assert_eq!(cond(&t, CondType::Idle).reason, "IdleTimeout");
    // Never used, or no (valid) idle timeout: never idle-expired.
    for s in [
        idle_session(Some("10m"), None),
        idle_session(None, Some(0)),
        idle_session(Some("junk"), Some(0)),
        idle_session(Some("0s"), Some(0)),
    ] {
        assert!(matches!(
            apply(&s, SessionEvent::IdleExpire, at(3000)),
            Err(TransitionError::NotApplicable { .. })
        ));
    }
}

#[test]
fn no_state_is_an_error() {
    let s = BreakglassSession::new("s", spec());
    assert_eq!(apply(&s, approve("b"), t0()), Err(TransitionError::NoState));
    assert!(next_deadline(&s, t0()).is_none());
    assert!(!is_valid(&s, t0()));
}

#[test]
fn terminal_states_reject_every_event() {
    let events = [
        approve("b"),
        reject("b"),
        SessionEvent::Withdraw,
        SessionEvent::Drop,
        cancel("c"),
        SessionEvent::ApprovalTimeout,
        SessionEvent::Activate,
        SessionEvent::Expire,
        SessionEvent::IdleExpire,
        SessionEvent::ClusterRemoved,
    ];
    for state in [
        State::Rejected,
        State::Withdrawn,
        State::Expired,
        State::IdleExpired,
        State::ApprovalTimeout,
    ] {
        for e in &events {
            assert!(
                apply(&in_state(state), e.clone(), at(999_999)).is_err(),
                "{state} accepted {e:?}"
            );
        }
    }
}

#[test]
fn cluster_removal_ends_live_sessions() {
    let t = apply(&pending(spec()), SessionEvent::ClusterRemoved, at(10)).unwrap();
    assert_eq!(t.to, State::Rejected);
    assert_eq!(t.notices, vec![SessionNotice::Rejected]);
    assert_eq!(t.status.rejected_at, Some(Time(at(10))));
    assert_eq!(t.status.timeout_at, None);
    assert_eq!(t.status.reason_ended, Some(SessionEndReason::Rejected));
    assert_eq!(cond(&t, CondType::Rejected).reason, "ClusterRemoved");
    for from in [State::Approved, State::WaitingForScheduledTime] {
        let t = apply(&in_state(from), SessionEvent::ClusterRemoved, at(10)).unwrap();
        assert_eq!(t.to, State::Expired, "from {from}");
        assert_eq!(t.notices, vec![SessionNotice::Canceled]);
        assert_eq!(t.status.expires_at, Some(Time(at(10))));
        assert_eq!(t.status.reason_ended, Some(SessionEndReason::Canceled));
        assert!(!is_access_active(&session(spec(), t.status), at(10)));
    }
}

/// Validity and access (tests-and-issues §3.11).
#[test]
fn validity_table() {
    let future_start = {
        let mut s = in_state(State::Pending);
        s.spec.scheduled_start_time = Some(Time(at(100)));
        s
    };
    let no_expiry = {
        let mut s = in_state(State::Approved);
        s.status.as_mut().unwrap().expires_at = None;
        s
    };
    // (session, now, is_valid, is_access_active)
    let rows: Vec<(BreakglassSession, i64, bool, bool)> = vec![
        (in_state(State::Approved), 0, true, true),
        (in_state(State::Approved), 3599, true, true),
        (in_state(State::Approved), 3600, false, false),
        (in_state(State::Pending), 0, true, false),
        (in_state(State::WaitingForScheduledTime), 0, false, false),
        (future_start, 0, false, false),
        (no_expiry, 0, false, false),
        (in_state(State::Rejected), 0, false, false),
        (in_state(State::Withdrawn), 0, false, false),
        (in_state(State::Expired), 0, false, false),
        (in_state(State::IdleExpired), 0, false, false),
        (in_state(State::ApprovalTimeout), 0, false, false),
    ];
    for (i, (s, now, valid, active)) in rows.into_iter().enumerate() {
        assert_eq!(is_valid(&s, at(now)), valid, "row {i} valid");
        assert_eq!(is_access_active(&s, at(now)), active, "row {i} active");
    }
}

#[test]
fn slot_table() {
    let p = pending(spec());
    let waiting = scheduled(Some(100), Some(7300));
    // (session, now, occupies)
    let rows: Vec<(&BreakglassSession, i64, bool)> = vec![
        (&p, 0, true),
        (&p, 3599, true),
        (&p, 3600, false),
        (&waiting, 0, true),
        (&waiting, 7299, true),
        (&waiting, 7300, false),
    ];
    for (i, (s, now, want)) in rows.into_iter().enumerate() {
        assert_eq!(occupies_slot(s, at(now)), want, "row {i}");
    }
    assert!(occupies_slot(&in_state(State::Approved), at(0)));
    assert!(!occupies_slot(&in_state(State::Approved), at(3600)));
    for state in [
        State::Rejected,
        State::Withdrawn,
        State::Expired,
        State::IdleExpired,
        State::ApprovalTimeout,
    ] {
        assert!(!occupies_slot(&in_state(state), t0()));
    }
}

#[test]
fn deadline_table() {
    let apply_at = |secs: i64, e: SessionEvent| {
        Some(Deadline {
            at: at(secs),
            action: TimerAction::Apply(e),
        })
    };
    let mut terminal = in_state(State::Rejected);
    terminal.status.as_mut().unwrap().retained_until = Some(Time(at(500)));
    let rows: Vec<(BreakglassSession, Option<Deadline>)> = vec![
        (
            pending(spec()),
            apply_at(3600, SessionEvent::ApprovalTimeout),
        ),
        (
            in_state(State::Approved),
            apply_at(3600, SessionEvent::Expire),
        ),
        (
            idle_session(Some("10m"), Some(60)),
            apply_at(660, SessionEvent::IdleExpire),
        ),
        // Idle deadline after expiry: expiry wins.
        (
            idle_session(Some("2h"), Some(60)),
            apply_at(3600, SessionEvent::Expire),
        ),
        (
            scheduled(Some(100), Some(7300)),
            apply_at(100, SessionEvent::Activate),
        ),
        (
            scheduled(Some(100), Some(50)),
            apply_at(50, SessionEvent::Activate),
        ),
        (
            scheduled(None, Some(7300)),
            apply_at(0, SessionEvent::Activate),
        ),
        (
            terminal,
            Some(Deadline {
                at: at(500),
                action: TimerAction::Delete,
            }),
        ),
        (in_state(State::Expired), None),
    ];
    for (i, (s, want)) in rows.into_iter().enumerate() {
        assert_eq!(next_deadline(&s, t0()), want, "row {i}");
    }
}

#[test]
fn effective_durations() {
    let mut s = spec();
    s.max_valid_for = None;
    s.retain_for = Some("7d".into());
    s.idle_timeout = Some("30m".into());
    assert_eq!(max_valid_for(&s), GoDuration::HOUR);
    assert_eq!(retain_for(&s), GoDuration::DAY.checked_mul(7).unwrap());
    assert_eq!(
        idle_timeout(&s),
        Some(GoDuration::MINUTE.checked_mul(30).unwrap())
    );
    s.idle_timeout = Some("-5m".into());
    assert_eq!(idle_timeout(&s), None);
}

fn any_state() -> impl Strategy<Value = State> {
    proptest::sample::select(State::ALL.to_vec())
}

fn any_event() -> impl Strategy<Value = SessionEvent> {
    prop_oneof![
        Just(approve("a")),
        Just(reject("a")),
        Just(SessionEvent::Withdraw),
        Just(SessionEvent::Drop),
        Just(cancel("a")),
        Just(SessionEvent::ApprovalTimeout),
        Just(SessionEvent::Activate),
        Just(SessionEvent::Expire),
        Just(SessionEvent::IdleExpire),
        Just(SessionEvent::ClusterRemoved),
    ]
}

/// The edges the admission webhook allows (inventory §2.1).
fn edge_allowed(from: State, to: State) -> bool {
    use State::*;
    from == to
        || matches!(
            (from, to),
            (
                Pending,
                Approved | WaitingForScheduledTime | Rejected | Withdrawn | ApprovalTimeout
            ) | (WaitingForScheduledTime, Approved | Withdrawn | Expired)
                | (Approved, Expired | IdleExpired)
        )
}

proptest! {
    #[test]
    fn transitions_follow_the_state_table(
        state in any_state(),
        event in any_event(),
        now in -100_000i64..100_000,
        scheduled_start in proptest::option::of(-5000i64..5000),
        expires in proptest::option::of(-5000i64..5000),
        timeout in proptest::option::of(-5000i64..5000),
        last_activity in proptest::option::of(-5000i64..5000),
        idle in proptest::option::of("(0|-1h|10m|1h|junk)"),
    ) {
        let mut s = in_state(state);
        s.spec.scheduled_start_time = scheduled_start.map(|x| Time(at(x)));
        s.spec.idle_timeout = idle;
        let st = s.status.as_mut().unwrap();
        st.expires_at = expires.map(|x| Time(at(x)));
        st.timeout_at = timeout.map(|x| Time(at(x)));
        st.last_activity = last_activity.map(|x| Time(at(x)));
        if let Ok(t) = apply(&s, event, at(now)) {
            prop_assert!(edge_allowed(t.from, t.to), "{} -> {}", t.from, t.to);
            prop_assert_eq!(t.status.state, Some(t.to));
            // Every terminal state records its retention and never keeps a future expiry.
            if t.to.is_terminal() {
                prop_assert!(t.status.retained_until.is_some());
                if let Some(Time(e)) = t.status.expires_at {
                    prop_assert!(e <= at(now));
                }
            }
            if t.to == State::Withdrawn {
                prop_assert!(t.status.rejected_at.is_none());
            }
        }
        // A terminal session never moves.
        if state.is_terminal() {
            prop_assert!(apply(&s, approve("x"), at(now)).is_err());
        }
    }

    #[test]
    fn a_due_deadline_applies(
        state in any_state(),
        scheduled_start in proptest::option::of(-5000i64..5000),
        expires in proptest::option::of(-5000i64..5000),
        timeout in proptest::option::of(-5000i64..5000),
        last_activity in proptest::option::of(-5000i64..5000),
        idle in proptest::option::of("(10m|1h)"),
    ) {
        let mut s = in_state(state);
        s.spec.scheduled_start_time = scheduled_start.map(|x| Time(at(x)));
        s.spec.idle_timeout = idle;
        let st = s.status.as_mut().unwrap();
        st.expires_at = expires.map(|x| Time(at(x)));
        st.timeout_at = timeout.map(|x| Time(at(x)));
        st.last_activity = last_activity.map(|x| Time(at(x)));
        if let Some(Deadline { at: due, action: TimerAction::Apply(event) }) = next_deadline(&s, t0()) {
            // Before the deadline the event is refused; at it, it applies.
            if due > t0() {
                let before = due.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap();
                prop_assert!(apply(&s, event.clone(), before).is_err());
            }
            prop_assert!(apply(&s, event, due.max(t0())).is_ok());
        }
    }
}
