//! The BreakglassSession state machine.
//!
//! ```text
//! (new) ─► Pending ─┬─► Approved ──────────────┬─► Expired      (expiry, drop, cancel)
//!                   │                          └─► IdleExpired  (no activity)
//!                   ├─► WaitingForScheduledTime ─┬─► Approved   (scheduled start reached)
//!                   │                            └─► Expired    (drop, cancel, start missing,
//!                   │                                            expired before activation)
//!                   ├─► Rejected  ├─► Withdrawn  └─► ApprovalTimeout
//! ```
//!
//! [`apply`] is a pure transition function: it takes the session, an event
//! and the current time and returns the complete new status, or a typed error
//! for an illegal transition. Controllers and API handlers only persist the
//! result. [`next_deadline`] names the earliest timer so a controller can
//! requeue exactly when something becomes due.
//!
//! A deadline is reached at its instant: an event due at `t` applies when
//! `now >= t`, and the session stops granting access at `expiresAt` itself.

use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionConditionReason as CondReason,
    BreakglassSessionConditionType as CondType, BreakglassSessionSpec,
    BreakglassSessionState as State, BreakglassSessionStatus, SessionEndReason,
};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use thiserror::Error;

use crate::condition;
use crate::duration::{self, GoDuration};

pub mod plan;
mod timing;

pub use timing::{Deadline, TimerAction, is_access_active, is_valid, next_deadline, occupies_slot};

/// Something that happens to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// An approver approves the pending request.
    Approve {
        /// Identity recorded as approver (usually the e-mail).
        approver: String,
        /// Optional reason, already sanitised.
        reason: Option<String>,
    },
    /// An approver (or the requester) rejects the pending request.
    Reject {
        /// Identity recorded as approver.
        rejector: String,
        /// Optional reason, already sanitised.
        reason: Option<String>,
    },
    /// The requester withdraws the pending request.
    Withdraw,
    /// The requester ends the session: withdraws it while pending, ends it
    /// once approved.
    Drop,
    /// An approver revokes an approved (or scheduled) session.
    Cancel {
        /// Identity recorded as the cancelling approver.
        approver: String,
    },
    /// `timeoutAt` passed without a decision.
    ApprovalTimeout,
    /// Scheduled activation: start reached, or the scheduled session cannot
    /// start (no start time, or already expired).
    Activate,
    /// `expiresAt` reached.
    Expire,
    /// `idleTimeout` elapsed since `lastActivity`.
    IdleExpire,
    /// The session's cluster is no longer registered (its ClusterConfig was deleted):
    /// a pending request is rejected, an approved or scheduled grant is cancelled.
    ClusterRemoved,
}

impl SessionEvent {
    /// Short name for messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Approve { .. } => "approve",
            Self::Reject { .. } => "reject",
            Self::Withdraw => "withdraw",
            Self::Drop => "drop",
            Self::Cancel { .. } => "cancel",
            Self::ApprovalTimeout => "approval timeout",
            Self::Activate => "activate",
            Self::Expire => "expire",
            Self::IdleExpire => "idle expire",
            Self::ClusterRemoved => "cluster removed",
        }
    }
}

/// What a transition means for audit events and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionNotice {
    /// The request was approved.
    Approved,
    /// The grant became active (immediately on approval, or at the scheduled start).
    Activated,
    /// The request was rejected.
    Rejected,
    /// The requester withdrew the request.
    Withdrawn,
    /// The requester dropped the session.
    Dropped,
    /// An approver cancelled the session.
    Canceled,
    /// The session expired (validity elapsed or a scheduled session could not start).
    Expired,
    /// The session expired for lack of activity.
    IdleExpired,
    /// Nobody decided in time.
    ApprovalTimedOut,
}

/// The result of a legal transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// State before the event.
    pub from: State,
    /// State after the event.
    pub to: State,
    /// The complete new status to persist.
    pub status: BreakglassSessionStatus,
    /// Audit/notification hooks, in order.
    pub notices: Vec<SessionNotice>,
}

/// Why an event cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    /// The status carries no state yet (not initialised with [`initial_status`]).
    #[error("session has no state")]
    NoState,
    /// The session is already where the event would take it (HTTP 409).
    #[error("session already in requested state {state}")]
    AlreadyInState {
        /// Current state.
        state: State,
    },
    /// Approve/reject/withdraw need a pending session.
    #[error("session must be pending to {action}; current state: {state}")]
    NotPending {
        /// The attempted action.
        action: &'static str,
        /// Current state.
        state: State,
    },
    /// The session ended and cannot be modified.
    #[error("session is in terminal state {state} and cannot be modified")]
    Terminal {
        /// Current state.
        state: State,
    },
    /// The approval window closed; the decision comes too late.
    #[error("session approval timeout has elapsed (at {timeout_at})")]
    ApprovalTimedOut {
        /// When the window closed.
        timeout_at: Timestamp,
    },
    /// Cancel needs an approved or scheduled session.
    #[error("session is not active/approved and cannot be canceled; current state: {state}")]
    NotApproved {
        /// Current state.
        state: State,
    },
    /// A timer event whose deadline has not been reached.
    #[error("{event} is not due before {due}")]
    NotDue {
        /// The event.
        event: &'static str,
        /// When it becomes due.
        due: Timestamp,
    },
    /// A timer event whose timer does not exist for this session.
    #[error("{event} does not apply: {reason}")]
    NotApplicable {
        /// The event.
        event: &'static str,
        /// Why not.
        reason: &'static str,
    },
    /// A computed time left the representable range.
    #[error("computed time is out of range")]
    TimeOutOfRange,
}

/// The status of a newly requested session: `Pending`, approval window
/// `timeoutAt = now + approval_timeout`, and the initial `Idle` condition.
pub fn initial_status(
    now: Timestamp,
    approval_timeout: GoDuration,
) -> Result<BreakglassSessionStatus, TransitionError> {
    let timeout_at = approval_timeout
        .after(now)
        .ok_or(TransitionError::TimeOutOfRange)?;
    Ok(BreakglassSessionStatus {
        state: Some(State::Pending),
        timeout_at: Some(Time(timeout_at)),
        conditions: Some(vec![condition::new(
            CondType::Idle.as_str(),
            condition::TRUE,
            CondReason::EditedByApprover.as_str(),
            "Session requested",
            now,
        )]),
        ..BreakglassSessionStatus::default()
    })
}

/// Effective `maxValidFor`: the spec value, or 1h when unset, invalid, zero or negative.
pub fn max_valid_for(spec: &BreakglassSessionSpec) -> GoDuration {
    duration::valid_for_or_default(spec.max_valid_for.as_deref())
}

/// Effective `retainFor`: the spec value, or 720h when unset, invalid, zero or negative.
pub fn retain_for(spec: &BreakglassSessionSpec) -> GoDuration {
    duration::retain_for_or_default(spec.retain_for.as_deref())
}

/// Effective `idleTimeout`: `None` when unset, invalid, zero or negative.
pub fn idle_timeout(spec: &BreakglassSessionSpec) -> Option<GoDuration> {
    spec.idle_timeout
        .as_deref()
        .and_then(|s| GoDuration::parse_with_days(s).ok())
        .filter(|d| d.is_positive())
}

/// Applies `event` to `session` at `now`.
pub fn apply(
    session: &BreakglassSession,
    event: SessionEvent,
    now: Timestamp,
) -> Result<Transition, TransitionError> {
    let status = session.status.clone().unwrap_or_default();
    let from = status.state.ok_or(TransitionError::NoState)?;
    let mut c = Step {
        status,
        spec: &session.spec,
        now,
        from,
        notices: Vec::new(),
    };
    let to = match event {
        SessionEvent::Approve { approver, reason } => approve(&mut c, approver, reason),
        SessionEvent::Reject { rejector, reason } => reject(&mut c, rejector, reason),
        SessionEvent::Withdraw => withdraw_event(&mut c),
        SessionEvent::Drop => drop_session(&mut c),
        SessionEvent::Cancel { approver } => cancel(&mut c, approver),
        SessionEvent::ApprovalTimeout => approval_timeout(&mut c),
        SessionEvent::Activate => activate_event(&mut c),
        SessionEvent::Expire => expire(&mut c),
        SessionEvent::IdleExpire => idle_expire(&mut c),
        SessionEvent::ClusterRemoved => cluster_removed(&mut c),
    }?;
    c.status.state = Some(to);
    Ok(Transition {
        from,
        to,
        status: c.status,
        notices: c.notices,
    })
}

/// The working state of one transition: the status being rewritten and what it notices.
struct Step<'a> {
    status: BreakglassSessionStatus,
    spec: &'a BreakglassSessionSpec,
    now: Timestamp,
    from: State,
    notices: Vec<SessionNotice>,
}

fn approve(
    c: &mut Step<'_>,
    approver: String,
    reason: Option<String>,
) -> Result<State, TransitionError> {
    require_pending(
        &c.status,
        c.from,
        "approve",
        &[State::Approved, State::WaitingForScheduledTime],
        c.now,
    )?;
    let valid_for = max_valid_for(c.spec);
    let retain = retain_for(c.spec);
    c.status.rejected_at = None;
    c.status.approved_at = Some(Time(c.now));
    c.status.timeout_at = None;
    let to = match &c.spec.scheduled_start_time {
        Some(Time(start)) => {
            // Validity counts from the scheduled start, not from the approval.
            let expires = after(valid_for, *start)?;
            c.status.expires_at = Some(Time(expires));
            c.status.retained_until = Some(Time(after(retain, expires)?));
            c.status.actual_start_time = None;
            State::WaitingForScheduledTime
        }
        None => {
            c.status.actual_start_time = Some(Time(c.now));
            c.status.expires_at = Some(Time(after(valid_for, c.now)?));
            c.status.retained_until = Some(Time(after(retain, c.now)?));
            c.notices.push(SessionNotice::Activated);
            State::Approved
        }
    };
    c.notices.insert(0, SessionNotice::Approved);
    record_approver(&mut c.status, &approver);
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        c.status.approval_reason = Some(reason);
    }
    set_condition(
        &mut c.status,
        CondType::Approved,
        CondReason::EditedByApprover.as_str(),
        format!("User {approver:?} set session to Approved"),
        c.now,
    );
    Ok(to)
}

fn reject(
    c: &mut Step<'_>,
    rejector: String,
    reason: Option<String>,
) -> Result<State, TransitionError> {
    require_pending(&c.status, c.from, "reject", &[State::Rejected], c.now)?;
    c.status.rejected_at = Some(Time(c.now));
    cut_expiry(&mut c.status, c.now);
    c.status.reason_ended = Some(SessionEndReason::Rejected);
    c.status.retained_until = Some(Time(after(retain_for(c.spec), c.now)?));
    record_approver(&mut c.status, &rejector);
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        c.status.approval_reason = Some(reason);
    }
    set_condition(
        &mut c.status,
        CondType::Rejected,
        CondReason::EditedByApprover.as_str(),
        format!("User {rejector:?} set session to Rejected"),
        c.now,
    );
    c.notices.push(SessionNotice::Rejected);
    Ok(State::Rejected)
}

fn withdraw_event(c: &mut Step<'_>) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    require_pending(&c.status, c.from, "withdraw", &[], c.now)?;
    withdraw(
        &mut c.status,
        c.spec,
        c.now,
        "Session withdrawn by requester",
    )?;
    c.notices.push(SessionNotice::Withdrawn);
    Ok(State::Withdrawn)
}

fn drop_session(c: &mut Step<'_>) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    c.notices.push(SessionNotice::Dropped);
    Ok(match c.from {
        State::Pending => {
            withdraw(&mut c.status, c.spec, c.now, "Session dropped by owner")?;
            State::Withdrawn
        }
        // Approved or scheduled: end it, keeping the approval history.
        _ => {
            end(&mut c.status, c.spec, c.now, SessionEndReason::Dropped)?;
            set_condition(
                &mut c.status,
                CondType::Expired,
                CondReason::EditedByApprover.as_str(),
                "Session dropped by owner",
                c.now,
            );
            State::Expired
        }
    })
}

fn cancel(c: &mut Step<'_>, approver: String) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    if !matches!(c.from, State::Approved | State::WaitingForScheduledTime) {
        return Err(TransitionError::NotApproved { state: c.from });
    }
    end(&mut c.status, c.spec, c.now, SessionEndReason::Canceled)?;
    record_approver(&mut c.status, &approver);
    set_condition(
        &mut c.status,
        CondType::Expired,
        CondReason::EditedByApprover.as_str(),
        "Session canceled by approver",
        c.now,
    );
    c.notices.push(SessionNotice::Canceled);
    Ok(State::Expired)
}

fn approval_timeout(c: &mut Step<'_>) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    if c.from != State::Pending {
        return Err(TransitionError::NotPending {
            action: "time out",
            state: c.from,
        });
    }
    let Some(Time(timeout_at)) = c.status.timeout_at else {
        return Err(TransitionError::NotApplicable {
            event: "approval timeout",
            reason: "session has no timeoutAt",
        });
    };
    require_due("approval timeout", timeout_at, c.now)?;
    end(
        &mut c.status,
        c.spec,
        c.now,
        SessionEndReason::ApprovalTimeout,
    )?;
    set_condition(
        &mut c.status,
        CondType::Expired,
        CondReason::ApprovalTimeout.as_str(),
        "Session approval timed out.",
        c.now,
    );
    c.notices.push(SessionNotice::ApprovalTimedOut);
    Ok(State::ApprovalTimeout)
}

fn activate_event(c: &mut Step<'_>) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    if c.from != State::WaitingForScheduledTime {
        return Err(TransitionError::NotApplicable {
            event: "activate",
            reason: "session is not waiting for a scheduled start",
        });
    }
    activate(&mut c.status, c.spec, c.now, &mut c.notices)
}

fn expire(c: &mut Step<'_>) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    Ok(match c.from {
        State::Approved => {
            // A missing expiresAt is malformed; end it rather than keep it alive.
            if let Some(Time(expires)) = c.status.expires_at {
                require_due("expire", expires, c.now)?;
            }
            end(&mut c.status, c.spec, c.now, SessionEndReason::TimeExpired)?;
            set_condition(
                &mut c.status,
                CondType::Expired,
                CondReason::ExpiredByTime.as_str(),
                "Session expired because its ExpiresAt has been reached.",
                c.now,
            );
            c.notices.push(SessionNotice::Expired);
            State::Expired
        }
        State::WaitingForScheduledTime => {
            let Some(Time(expires)) = c.status.expires_at else {
                return Err(TransitionError::NotApplicable {
                    event: "expire",
                    reason: "scheduled session has no expiresAt",
                });
            };
            require_due("expire", expires, c.now)?;
            activate(&mut c.status, c.spec, c.now, &mut c.notices)?
        }
        _ => {
            return Err(TransitionError::NotApplicable {
                event: "expire",
                reason: "session is not approved",
            });
        }
    })
}

fn idle_expire(c: &mut Step<'_>) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    if c.from != State::Approved {
        return Err(TransitionError::NotApplicable {
            event: "idle expire",
            reason: "session is not approved",
        });
    }
    let due = idle_deadline(c.spec, &c.status).ok_or(TransitionError::NotApplicable {
        event: "idle expire",
        reason: "no idle timeout configured or no activity recorded",
    })??;
    require_due("idle expire", due, c.now)?;
    end(&mut c.status, c.spec, c.now, SessionEndReason::IdleTimeout)?;
    set_condition(
        &mut c.status,
        CondType::Idle,
        CondReason::IdleTimeout.as_str(),
        "Session expired after its idle timeout without activity.",
        c.now,
    );
    c.notices.push(SessionNotice::IdleExpired);
    Ok(State::IdleExpired)
}

fn cluster_removed(c: &mut Step<'_>) -> Result<State, TransitionError> {
    require_not_terminal(c.from)?;
    let message = format!(
        "Cluster {:?} is no longer registered with Breakglass.",
        c.spec.cluster
    );
    Ok(match c.from {
        State::Pending => {
            c.status.rejected_at = Some(Time(c.now));
            cut_expiry(&mut c.status, c.now);
            c.status.timeout_at = None;
            c.status.reason_ended = Some(SessionEndReason::Rejected);
            c.status.retained_until = Some(Time(after(retain_for(c.spec), c.now)?));
            set_condition(
                &mut c.status,
                CondType::Rejected,
                "ClusterRemoved",
                message,
                c.now,
            );
            c.notices.push(SessionNotice::Rejected);
            State::Rejected
        }
        _ => {
            end(&mut c.status, c.spec, c.now, SessionEndReason::Canceled)?;
            set_condition(
                &mut c.status,
                CondType::Canceled,
                "ClusterRemoved",
                message,
                c.now,
            );
            c.notices.push(SessionNotice::Canceled);
            State::Expired
        }
    })
}

/// Scheduled activation and its edge cases, from `WaitingForScheduledTime`.
fn activate(
    status: &mut BreakglassSessionStatus,
    spec: &BreakglassSessionSpec,
    now: Timestamp,
    notices: &mut Vec<SessionNotice>,
) -> Result<State, TransitionError> {
    let Some(Time(start)) = spec.scheduled_start_time else {
        end(
            status,
            spec,
            now,
            SessionEndReason::MissingScheduledStartTime,
        )?;
        set_condition(
            status,
            CondType::Expired,
            "MissingScheduledStartTime",
            "Scheduled session has no scheduledStartTime.",
            now,
        );
        notices.push(SessionNotice::Expired);
        return Ok(State::Expired);
    };
    if let Some(Time(expires)) = status.expires_at
        && now >= expires
    {
        end(
            status,
            spec,
            now,
            SessionEndReason::ScheduledSessionExpiredBeforeActivation,
        )?;
        set_condition(
            status,
            CondType::Expired,
            "ScheduledSessionExpiredBeforeActivation",
            "Scheduled session expired before it could be activated.",
            now,
        );
        notices.push(SessionNotice::Expired);
        return Ok(State::Expired);
    }
    require_due("activate", start, now)?;
    if status.expires_at.is_none() {
        status.expires_at = Some(Time(after(max_valid_for(spec), start)?));
    }
    status.actual_start_time = Some(Time(now));
    set_condition(
        status,
        CondType::ScheduledStartTimeReached,
        "ScheduledStartTimeReached",
        "Scheduled start time reached; session activated.",
        now,
    );
    notices.push(SessionNotice::Activated);
    Ok(State::Approved)
}

fn withdraw(
    status: &mut BreakglassSessionStatus,
    spec: &BreakglassSessionSpec,
    now: Timestamp,
    message: &str,
) -> Result<(), TransitionError> {
    status.withdrawn_at = Some(Time(now));
    cut_expiry(status, now);
    status.reason_ended = Some(SessionEndReason::Withdrawn);
    status.approver = None;
    status.approvers = None;
    status.retained_until = Some(Time(after(retain_for(spec), now)?));
    set_condition(
        status,
        CondType::Canceled,
        CondReason::EditedByApprover.as_str(),
        message,
        now,
    );
    Ok(())
}

/// Common effects of ending an approved, scheduled or timed-out session.
fn end(
    status: &mut BreakglassSessionStatus,
    spec: &BreakglassSessionSpec,
    now: Timestamp,
    reason: SessionEndReason,
) -> Result<(), TransitionError> {
    // A future expiry is cut to now; an elapsed one is kept so the record never
    // shows the grant lasting longer than it did.
    status.expires_at = Some(Time(match status.expires_at {
        Some(Time(t)) if t <= now => t,
        _ => now,
    }));
    status.reason_ended = Some(reason);
    status.retained_until = Some(Time(after(retain_for(spec), now)?));
    Ok(())
}

/// Cuts a future `expiresAt` to `now` without adding one where none was set
/// (a rejected or withdrawn request never had a grant).
fn cut_expiry(status: &mut BreakglassSessionStatus, now: Timestamp) {
    if let Some(Time(t)) = &mut status.expires_at
        && *t > now
    {
        *t = now;
    }
}

fn record_approver(status: &mut BreakglassSessionStatus, who: &str) {
    if who.is_empty() {
        return;
    }
    status.approver = Some(who.to_owned());
    let approvers = status.approvers.get_or_insert_with(Vec::new);
    if !approvers.iter().any(|a| a == who) {
        approvers.push(who.to_owned());
    }
}

fn set_condition(
    status: &mut BreakglassSessionStatus,
    type_: CondType,
    reason: &str,
    message: impl Into<String>,
    now: Timestamp,
) {
    let c: Condition = condition::new(type_.as_str(), condition::TRUE, reason, message, now);
    condition::set(status.conditions.get_or_insert_with(Vec::new), c);
}

fn require_not_terminal(state: State) -> Result<(), TransitionError> {
    if state.is_terminal() {
        Err(TransitionError::Terminal { state })
    } else {
        Ok(())
    }
}

/// Pending and still inside the approval window. `already` lists the states
/// that count as "already done" (409 rather than 400).
fn require_pending(
    status: &BreakglassSessionStatus,
    state: State,
    action: &'static str,
    already: &[State],
    now: Timestamp,
) -> Result<(), TransitionError> {
    if already.contains(&state) {
        return Err(TransitionError::AlreadyInState { state });
    }
    if state != State::Pending {
        return Err(TransitionError::NotPending { action, state });
    }
    match status.timeout_at {
        Some(Time(timeout_at)) if now >= timeout_at => {
            Err(TransitionError::ApprovalTimedOut { timeout_at })
        }
        _ => Ok(()),
    }
}

fn require_due(event: &'static str, due: Timestamp, now: Timestamp) -> Result<(), TransitionError> {
    if now >= due {
        Ok(())
    } else {
        Err(TransitionError::NotDue { event, due })
    }
}

fn after(d: GoDuration, t: Timestamp) -> Result<Timestamp, TransitionError> {
    d.after(t).ok_or(TransitionError::TimeOutOfRange)
}

/// `lastActivity + idleTimeout`, when both exist.
fn idle_deadline(
    spec: &BreakglassSessionSpec,
    status: &BreakglassSessionStatus,
) -> Option<Result<Timestamp, TransitionError>> {
    let idle = idle_timeout(spec)?;
    let Time(last) = status.last_activity.as_ref()?;
    Some(after(idle, *last))
}

/// The session's owner reference to the escalation it was created from, if any.
pub fn owning_escalation(
    session: &BreakglassSession,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference> {
    session
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|o| o.kind == "BreakglassEscalation")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
