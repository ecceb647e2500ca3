//! The DebugSession state machine.
//!
//! ```text
//! Pending ─┬─► PendingApproval ─┬─► Active ─┬─► Expired
//!          │                    ├─► Terminated (rejected)
//!          │                    └─► Failed (approval timeout)
//!          ├─► Active ───────────────────────┼─► Terminated
//!          └─► Failed                        └─► Failed
//! ```
//!
//! An empty state counts as `Pending`. `Expired`, `Terminated` and `Failed`
//! are terminal: nothing returns to `Active`. Approval is two-step, as in the
//! reference: the API records the decision ([`DebugSessionEvent::Approve`]),
//! the controller then deploys and activates ([`DebugSessionEvent::Activate`]).
//!
//! Limits come from the template snapshot in `status.resolvedTemplate`
//! (binding overrides already merged); missing values take the CRD defaults
//! (duration 1h, maximum 4h, renewals allowed, at most 3).

use breakglass_api::debug_common::{
    DEFAULT_DURATION, DEFAULT_MAX_DURATION, DebugSessionConstraints,
};
use breakglass_api::debug_session::{
    DebugSession, DebugSessionApproval, DebugSessionConditionType as CondType,
    DebugSessionState as State, DebugSessionStatus,
};
use breakglass_api::debug_session_template::ExpirationBehavior;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use thiserror::Error;

use crate::condition;
use crate::duration::GoDuration;

/// Server-wide timers of debug sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebugTimers {
    /// How long a session may wait for approval, counted from creation.
    pub approval_timeout: GoDuration,
    /// How long a terminal session is kept, counted from its expiry (or
    /// creation when it never had one).
    pub retention: GoDuration,
}

impl Default for DebugTimers {
    /// 24h approval timeout, 168h retention.
    fn default() -> Self {
        Self {
            approval_timeout: GoDuration::from_nanos(24 * GoDuration::HOUR.as_nanos()),
            retention: GoDuration::from_nanos(168 * GoDuration::HOUR.as_nanos()),
        }
    }
}

/// Something that happens to a debug session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugSessionEvent {
    /// Approvers are configured and the requester is not auto-approved.
    RequireApproval,
    /// An approver approves; activation follows with [`Self::Activate`].
    Approve {
        /// Identity recorded as approver.
        approver: String,
        /// Optional reason, already sanitised.
        reason: Option<String>,
    },
    /// An approver rejects the request.
    Reject {
        /// Identity recorded as rejector.
        rejector: String,
        /// Optional reason, already sanitised.
        reason: Option<String>,
    },
    /// The workload is deployed (or nothing needs deploying): start the clock.
    Activate,
    /// The approval window closed without a decision.
    ApprovalTimeout,
    /// `expiresAt` reached.
    Expire,
    /// The owner ends the session (or withdraws the request).
    Terminate {
        /// Who ended it.
        by: String,
    },
    /// Validation, template resolution or deployment failed.
    Fail {
        /// What went wrong, shown to the user.
        message: String,
    },
    /// Extend an active session.
    Renew {
        /// How much to add to `expiresAt`.
        extend_by: GoDuration,
    },
}

impl DebugSessionEvent {
    /// Short name for messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RequireApproval => "require approval",
            Self::Approve { .. } => "approve",
            Self::Reject { .. } => "reject",
            Self::Activate => "activate",
            Self::ApprovalTimeout => "approval timeout",
            Self::Expire => "expire",
            Self::Terminate { .. } => "terminate",
            Self::Fail { .. } => "fail",
            Self::Renew { .. } => "renew",
        }
    }
}

/// What a transition means for audit events and notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DebugNotice {
    /// Approval was requested.
    ApprovalRequested,
    /// The request was approved.
    Approved,
    /// The request was rejected.
    Rejected,
    /// The session became active.
    Activated,
    /// Nobody decided in time.
    ApprovalTimedOut,
    /// The session expired and ends.
    Expired,
    /// The session reached its expiry but stays active (notify-only template).
    ExpiryNotified,
    /// The session was ended by its owner.
    Terminated,
    /// The session failed.
    Failed,
    /// The session was renewed.
    Renewed,
}

/// The result of a legal transition.
#[derive(Debug, Clone, PartialEq)]
pub struct DebugTransition {
    /// State before the event (an empty state reads as `Pending`).
    pub from: State,
    /// State after the event (may equal `from`: approval, renewal, notify-only expiry).
    pub to: State,
    /// The complete new status to persist.
    pub status: DebugSessionStatus,
    /// Audit/notification hooks.
    pub notices: Vec<DebugNotice>,
}

/// Why an event cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DebugTransitionError {
    /// The session ended; terminal states never change.
    #[error("debug session is in terminal state {state} and cannot be modified")]
    Terminal {
        /// Current state.
        state: State,
    },
    /// The event does not apply in this state.
    #[error("cannot {event} debug session in state '{state}'")]
    WrongState {
        /// The event.
        event: &'static str,
        /// Current state.
        state: State,
    },
    /// Approve or reject after a decision was already recorded (HTTP 409).
    #[error("debug session approval was already decided")]
    AlreadyDecided,
    /// Activation of a session whose approval is required but missing.
    #[error("debug session is awaiting approval")]
    AwaitingApproval,
    /// The approval window closed; the decision comes too late.
    #[error("debug session approval timed out at {deadline}")]
    ApprovalTimedOut {
        /// When the window closed.
        deadline: Timestamp,
    },
    /// A timer event whose deadline has not been reached.
    #[error("{event} is not due before {due}")]
    NotDue {
        /// The event.
        event: &'static str,
        /// When it becomes due.
        due: Timestamp,
    },
    /// A timestamp the event needs is missing.
    #[error("debug session has no {field}")]
    MissingTimestamp {
        /// The status field.
        field: &'static str,
    },
    /// The session expired; it can no longer be renewed.
    #[error("cannot renew expired session")]
    RenewExpired,
    /// The extension is zero or negative.
    #[error("extension must be positive, got {extend_by}")]
    InvalidExtension {
        /// The requested extension.
        extend_by: GoDuration,
    },
    /// The template forbids renewals.
    #[error("session renewals are not allowed by template")]
    RenewalsNotAllowed,
    /// All renewals are used up.
    #[error("maximum renewals ({max}) reached")]
    RenewalLimitReached {
        /// The limit.
        max: i32,
    },
    /// The extension would run past `startsAt + maxDuration`.
    #[error("extension would exceed maximum duration of {max_duration}")]
    ExceedsMaxDuration {
        /// The maximum as configured.
        max_duration: GoDuration,
    },
    /// A computed time left the representable range.
    #[error("computed time is out of range")]
    TimeOutOfRange,
}

/// The template constraints the session runs under (from its snapshot).
pub fn constraints(session: &DebugSession) -> Option<&DebugSessionConstraints> {
    session
        .status
        .as_ref()?
        .resolved_template
        .as_ref()?
        .constraints
        .as_ref()
}

/// What happens at expiry (from the template snapshot; default `terminate`).
pub fn expiration_behavior(session: &DebugSession) -> ExpirationBehavior {
    session
        .status
        .as_ref()
        .and_then(|s| s.resolved_template.as_ref())
        .map_or(ExpirationBehavior::Terminate, |t| t.expiration_behavior())
}

/// Longest total lifetime, renewals included: `maxDuration`, or 4h when
/// unset or not a positive duration.
pub fn max_duration(constraints: Option<&DebugSessionConstraints>) -> GoDuration {
    positive(constraints.and_then(|c| c.max_duration.as_deref()))
        .or_else(|| positive(Some(DEFAULT_MAX_DURATION)))
        .unwrap_or(GoDuration::HOUR)
}

/// Lifetime of a session at activation: the requested duration (else the
/// template's `defaultDuration`, else 1h), capped at [`max_duration`].
/// Unparseable or non-positive values are ignored.
pub fn session_duration(
    requested: Option<&str>,
    constraints: Option<&DebugSessionConstraints>,
) -> GoDuration {
    let wanted = positive(requested)
        .or_else(|| positive(constraints.and_then(|c| c.default_duration.as_deref())))
        .or_else(|| positive(Some(DEFAULT_DURATION)))
        .unwrap_or(GoDuration::HOUR);
    wanted.min(max_duration(constraints))
}

fn positive(s: Option<&str>) -> Option<GoDuration> {
    s.and_then(|s| GoDuration::parse_with_days(s).ok())
        .filter(|d| d.is_positive())
}

fn state_of(session: &DebugSession) -> State {
    session
        .status
        .as_ref()
        .and_then(|s| s.state)
        .unwrap_or(State::Pending)
}

fn approval_deadline(
    session: &DebugSession,
    timers: &DebugTimers,
) -> Option<Result<Timestamp, DebugTransitionError>> {
    let Time(created) = session.metadata.creation_timestamp.as_ref()?;
    Some(after(timers.approval_timeout, *created))
}

fn after(d: GoDuration, t: Timestamp) -> Result<Timestamp, DebugTransitionError> {
    d.after(t).ok_or(DebugTransitionError::TimeOutOfRange)
}

fn set_ready(
    status: &mut DebugSessionStatus,
    ready: bool,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let value = if ready {
        condition::TRUE
    } else {
        condition::FALSE
    };
    let c = condition::new(CondType::Ready.as_str(), value, reason, message, now);
    condition::set(status.conditions.get_or_insert_with(Vec::new), c);
}

fn set_approved(
    status: &mut DebugSessionStatus,
    approved: bool,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    let value = if approved {
        condition::TRUE
    } else {
        condition::FALSE
    };
    let c = condition::new(CondType::Approved.as_str(), value, reason, message, now);
    condition::set(status.conditions.get_or_insert_with(Vec::new), c);
}

/// Checks the approval window and that nobody decided yet.
fn require_undecided(
    session: &DebugSession,
    approval: &DebugSessionApproval,
    timers: &DebugTimers,
    now: Timestamp,
) -> Result<(), DebugTransitionError> {
    if approval.approved_at.is_some() || approval.rejected_at.is_some() {
        return Err(DebugTransitionError::AlreadyDecided);
    }
    match approval_deadline(session, timers).transpose()? {
        Some(deadline) if now >= deadline => {
            Err(DebugTransitionError::ApprovalTimedOut { deadline })
        }
        _ => Ok(()),
    }
}

/// Applies `event` to `session` at `now`.
pub fn apply(
    session: &DebugSession,
    event: DebugSessionEvent,
    now: Timestamp,
    timers: &DebugTimers,
) -> Result<DebugTransition, DebugTransitionError> {
    let from = state_of(session);
    if from.is_terminal() {
        return Err(DebugTransitionError::Terminal { state: from });
    }
    let mut s = DebugStep {
        session,
        timers,
        now,
        from,
        event: event.name(),
        status: session.status.clone().unwrap_or_default(),
        notices: Vec::new(),
    };
    let to = match &event {
        DebugSessionEvent::RequireApproval => require_approval(&mut s)?,
        DebugSessionEvent::Approve { approver, reason } => {
            approve(&mut s, approver, reason.as_deref())?
        }
        DebugSessionEvent::Reject { rejector, reason } => {
            reject(&mut s, rejector, reason.as_deref())?
        }
        DebugSessionEvent::Activate => activate(&mut s)?,
        DebugSessionEvent::ApprovalTimeout => approval_timeout(&mut s)?,
        DebugSessionEvent::Expire => expire(&mut s)?,
        DebugSessionEvent::Terminate { by } => {
            let message = format!("Terminated by {by}");
            s.end(
                State::Terminated,
                "Terminated",
                message,
                DebugNotice::Terminated,
            )
        }
        DebugSessionEvent::Fail { message } => s.end(
            State::Failed,
            "Failed",
            message.clone(),
            DebugNotice::Failed,
        ),
        DebugSessionEvent::Renew { extend_by } => {
            if from != State::Active {
                return Err(s.wrong());
            }
            renew(session, &mut s.status, *extend_by, now)?;
            s.notices.push(DebugNotice::Renewed);
            State::Active
        }
    };
    s.status.state = Some(to);
    Ok(DebugTransition {
        from,
        to,
        status: s.status,
        notices: s.notices,
    })
}

/// The working state of one debug-session transition.
struct DebugStep<'a> {
    session: &'a DebugSession,
    timers: &'a DebugTimers,
    now: Timestamp,
    from: State,
    event: &'static str,
    status: DebugSessionStatus,
    notices: Vec<DebugNotice>,
}

impl DebugStep<'_> {
    fn wrong(&self) -> DebugTransitionError {
        DebugTransitionError::WrongState {
            event: self.event,
            state: self.from,
        }
    }

    /// The approval record for a decision on a request still pending approval and
    /// undecided, with the decider's reason (when given) recorded.
    fn decision(
        &mut self,
        reason: Option<&str>,
    ) -> Result<&mut DebugSessionApproval, DebugTransitionError> {
        if self.from != State::PendingApproval {
            return Err(self.wrong());
        }
        let approval = self.status.approval.get_or_insert_with(Default::default);
        require_undecided(self.session, approval, self.timers, self.now)?;
        if let Some(r) = reason.filter(|r| !r.trim().is_empty()) {
            approval.reason = Some(r.to_owned());
        }
        Ok(approval)
    }

    /// Ends the session in `to`: not ready, with `message` for the user.
    fn end(&mut self, to: State, reason: &str, message: String, notice: DebugNotice) -> State {
        set_ready(&mut self.status, false, reason, &message, self.now);
        self.status.message = Some(message);
        self.notices.push(notice);
        to
    }
}

fn require_approval(s: &mut DebugStep<'_>) -> Result<State, DebugTransitionError> {
    if s.from != State::Pending {
        return Err(s.wrong());
    }
    s.status
        .approval
        .get_or_insert_with(Default::default)
        .required = Some(true);
    set_approved(
        &mut s.status,
        false,
        "PendingApproval",
        "Waiting for approval",
        s.now,
    );
    s.notices.push(DebugNotice::ApprovalRequested);
    Ok(State::PendingApproval)
}

fn approve(
    s: &mut DebugStep<'_>,
    approver: &str,
    reason: Option<&str>,
) -> Result<State, DebugTransitionError> {
    let now = s.now;
    let approval = s.decision(reason)?;
    approval.approved_by = Some(approver.to_owned());
    approval.approved_at = Some(Time(now));
    set_approved(
        &mut s.status,
        true,
        "Approved",
        &format!("Approved by {approver}"),
        s.now,
    );
    s.notices.push(DebugNotice::Approved);
    Ok(State::PendingApproval)
}

fn reject(
    s: &mut DebugStep<'_>,
    rejector: &str,
    reason: Option<&str>,
) -> Result<State, DebugTransitionError> {
    let now = s.now;
    let approval = s.decision(reason)?;
    approval.rejected_by = Some(rejector.to_owned());
    approval.rejected_at = Some(Time(now));
    let message = format!("Rejected by {rejector}");
    set_approved(&mut s.status, false, "Rejected", &message, s.now);
    set_ready(&mut s.status, false, "Rejected", &message, s.now);
    s.status.message = Some(message);
    s.notices.push(DebugNotice::Rejected);
    Ok(State::Terminated)
}

fn activate(s: &mut DebugStep<'_>) -> Result<State, DebugTransitionError> {
    let approval = s.status.approval.as_ref();
    let approved = approval.is_some_and(|a| a.approved_at.is_some());
    match s.from {
        State::Pending if approval.and_then(|a| a.required) == Some(true) && !approved => {
            return Err(DebugTransitionError::AwaitingApproval);
        }
        State::Pending => {}
        State::PendingApproval if approved => {}
        State::PendingApproval => return Err(DebugTransitionError::AwaitingApproval),
        _ => return Err(s.wrong()),
    }
    let lifetime = session_duration(
        s.session.spec.requested_duration.as_deref(),
        constraints(s.session),
    );
    s.status.starts_at = Some(Time(s.now));
    s.status.expires_at = Some(Time(after(lifetime, s.now)?));
    set_ready(
        &mut s.status,
        true,
        "Active",
        "Debug session is active",
        s.now,
    );
    s.status.message = None;
    s.notices.push(DebugNotice::Activated);
    Ok(State::Active)
}

fn approval_timeout(s: &mut DebugStep<'_>) -> Result<State, DebugTransitionError> {
    if s.from != State::PendingApproval {
        return Err(s.wrong());
    }
    if s.status
        .approval
        .as_ref()
        .is_some_and(|a| a.approved_at.is_some())
    {
        // Approved in time; activation is pending, not a timeout.
        return Err(DebugTransitionError::AlreadyDecided);
    }
    let deadline = approval_deadline(s.session, s.timers).ok_or(
        DebugTransitionError::MissingTimestamp {
            field: "metadata.creationTimestamp",
        },
    )??;
    if s.now < deadline {
        return Err(DebugTransitionError::NotDue {
            event: "approval timeout",
            due: deadline,
        });
    }
    let message = format!("Approval timed out after {}", s.timers.approval_timeout);
    Ok(s.end(
        State::Failed,
        "ApprovalTimeout",
        message,
        DebugNotice::ApprovalTimedOut,
    ))
}

fn expire(s: &mut DebugStep<'_>) -> Result<State, DebugTransitionError> {
    if s.from != State::Active {
        return Err(s.wrong());
    }
    let hard_end = hard_end(s.session);
    let behavior = expiration_behavior(s.session);
    // A notify-only session that was already notified ends at its hard end.
    let due = match (s.status.expires_at.as_ref(), behavior) {
        (Some(Time(e)), _) => *e,
        (None, ExpirationBehavior::NotifyOnly) => hard_end
            .clone()
            .ok_or(DebugTransitionError::MissingTimestamp { field: "startsAt" })??,
        (None, ExpirationBehavior::Terminate) => {
            return Err(DebugTransitionError::MissingTimestamp { field: "expiresAt" });
        }
    };
    if s.now < due {
        return Err(DebugTransitionError::NotDue {
            event: "expire",
            due,
        });
    }
    let past_hard_end = matches!(hard_end, Some(Ok(h)) if s.now >= h);
    Ok(match behavior {
        ExpirationBehavior::NotifyOnly if !past_hard_end => {
            // The reference clears expiresAt so the session stays usable
            // and the expiry is reported once; it still ends at its hard end.
            s.status.expires_at = None;
            s.status.message = Some("Session reached its expiry time; the template only notifies, the session stays active until its maximum duration".to_owned());
            s.notices.push(DebugNotice::ExpiryNotified);
            State::Active
        }
        _ => {
            set_ready(
                &mut s.status,
                false,
                "Expired",
                "Debug session expired",
                s.now,
            );
            s.status.message = Some("Session expired".to_owned());
            s.notices.push(DebugNotice::Expired);
            State::Expired
        }
    })
}

/// The latest a session may run: `startsAt + maxDuration` (`None` before activation).
pub fn hard_end(session: &DebugSession) -> Option<Result<Timestamp, DebugTransitionError>> {
    let Time(starts) = session.status.as_ref()?.starts_at.as_ref()?;
    Some(after(max_duration(constraints(session)), *starts))
}

/// When the session is reported as expiring soon: `gracePeriodBeforeExpiry` (default
/// 15m) before `expiresAt`; `None` without an expiry or a usable grace period.
pub fn expiring_soon_at(session: &DebugSession) -> Option<Timestamp> {
    let status = session.status.as_ref()?;
    let Time(expires) = status.expires_at.as_ref()?;
    let grace = status
        .resolved_template
        .as_ref()
        .and_then(|t| t.grace_period_before_expiry.as_deref())
        .unwrap_or(breakglass_api::debug_session_template::DEFAULT_GRACE_PERIOD_BEFORE_EXPIRY);
    let grace = GoDuration::parse_with_days(grace)
        .ok()
        .filter(|g| g.is_positive())?;
    expires
        .checked_sub(jiff::SignedDuration::from_nanos(grace.as_nanos()))
        .ok()
}

fn renew(
    session: &DebugSession,
    status: &mut DebugSessionStatus,
    extend_by: GoDuration,
    now: Timestamp,
) -> Result<(), DebugTransitionError> {
    if !extend_by.is_positive() {
        return Err(DebugTransitionError::InvalidExtension { extend_by });
    }
    let Some(Time(expires)) = status.expires_at else {
        return Err(DebugTransitionError::MissingTimestamp { field: "expiresAt" });
    };
    if now >= expires {
        return Err(DebugTransitionError::RenewExpired);
    }
    let c = constraints(session);
    if c.is_some_and(|c| !c.allow_renewal()) {
        return Err(DebugTransitionError::RenewalsNotAllowed);
    }
    let max = c.map_or(
        breakglass_api::debug_common::DEFAULT_MAX_RENEWALS,
        DebugSessionConstraints::max_renewals,
    );
    let count = status.renewal_count.unwrap_or(0);
    if max <= 0 || count >= max {
        return Err(DebugTransitionError::RenewalLimitReached { max });
    }
    let new_expiry = after(extend_by, expires)?;
    let Some(Time(starts)) = status.starts_at else {
        return Err(DebugTransitionError::MissingTimestamp { field: "startsAt" });
    };
    let max_duration = max_duration(c);
    if new_expiry > after(max_duration, starts)? {
        return Err(DebugTransitionError::ExceedsMaxDuration { max_duration });
    }
    status.expires_at = Some(Time(new_expiry));
    status.renewal_count = Some(count.saturating_add(1));
    Ok(())
}

/// True while the session grants its pod operations: `Active` and not past
/// `expiresAt` (a notify-only session whose expiry was reported has none).
pub fn is_active(session: &DebugSession, now: Timestamp) -> bool {
    state_of(session) == State::Active
        && session
            .status
            .as_ref()
            .and_then(|s| s.expires_at.as_ref())
            .is_none_or(|Time(e)| now < *e)
        && hard_end(session).is_none_or(|h| h.is_ok_and(|h| now < h))
}

/// What a controller does when a deadline is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugTimerAction {
    /// Apply this event with [`apply`].
    Apply(DebugSessionEvent),
    /// Delete the object: its retention ended.
    Delete,
}

/// The earliest timer of a debug session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugDeadline {
    /// When it is due (may be in the past: then it is due now).
    pub at: Timestamp,
    /// What to do then.
    pub action: DebugTimerAction,
}

/// The earliest timer: activation of an approved session (due now),
/// approval timeout, expiry, or deletion after retention. `Pending` sessions
/// have no timer (the controller acts on them at once); `None` also when the
/// needed timestamps are missing.
pub fn next_deadline(
    session: &DebugSession,
    now: Timestamp,
    timers: &DebugTimers,
) -> Option<DebugDeadline> {
    let status = session.status.as_ref();
    let apply_at = |at, event| {
        Some(DebugDeadline {
            at,
            action: DebugTimerAction::Apply(event),
        })
    };
    match state_of(session) {
        State::Pending => None,
        State::PendingApproval => {
            if status
                .and_then(|s| s.approval.as_ref())
                .is_some_and(|a| a.approved_at.is_some())
            {
                return apply_at(now, DebugSessionEvent::Activate);
            }
            apply_at(
                approval_deadline(session, timers)?.ok()?,
                DebugSessionEvent::ApprovalTimeout,
            )
        }
        State::Active => {
            let at = match status?.expires_at.as_ref() {
                Some(Time(e)) => *e,
                None => hard_end(session)?.ok()?,
            };
            apply_at(at, DebugSessionEvent::Expire)
        }
        State::Expired | State::Terminated | State::Failed => {
            let base = status
                .and_then(|s| s.expires_at.as_ref())
                .or(session.metadata.creation_timestamp.as_ref())?;
            let at = timers.retention.after(base.0)?;
            Some(DebugDeadline {
                at,
                action: DebugTimerAction::Delete,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "session_tests.rs"]
mod tests;
