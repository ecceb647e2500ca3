//! When a session grants access, holds a slot, and what its next timer is.

use breakglass_api::breakglass_session::{BreakglassSession, BreakglassSessionState as State};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{SessionEvent, idle_deadline};

fn state_of(session: &BreakglassSession) -> Option<State> {
    session.status.as_ref().and_then(|s| s.state)
}

fn expires_at(session: &BreakglassSession) -> Option<Timestamp> {
    session
        .status
        .as_ref()
        .and_then(|s| s.expires_at.as_ref())
        .map(|t| t.0)
}

/// The reference's `IsSessionValid`: the session has a state, is not
/// terminal, not waiting for or before its scheduled start, and, once
/// approved, not past `expiresAt`. Pending sessions are "valid" (they are
/// live requests) but grant nothing; see [`is_access_active`].
pub fn is_valid(session: &BreakglassSession, now: Timestamp) -> bool {
    let Some(state) = state_of(session) else {
        return false;
    };
    if state.is_terminal() || state == State::WaitingForScheduledTime {
        return false;
    }
    if session
        .spec
        .scheduled_start_time
        .as_ref()
        .is_some_and(|Time(start)| now < *start)
    {
        return false;
    }
    if state == State::Approved {
        // Fail closed on a missing expiry: an approved grant always has one.
        return expires_at(session).is_some_and(|t| now < t);
    }
    true
}

/// True if the session grants its group right now: `Approved` and valid.
pub fn is_access_active(session: &BreakglassSession, now: Timestamp) -> bool {
    state_of(session) == Some(State::Approved) && is_valid(session, now)
}

/// True if the session counts against duplicate detection and session
/// limits: pending inside its approval window, approved and unexpired, or
/// scheduled and not past its window.
pub fn occupies_slot(session: &BreakglassSession, now: Timestamp) -> bool {
    let status = session.status.as_ref();
    match state_of(session) {
        Some(State::Pending) => status
            .and_then(|s| s.timeout_at.as_ref())
            .is_none_or(|Time(t)| now < *t),
        Some(State::Approved) => expires_at(session).is_some_and(|t| now < t),
        Some(State::WaitingForScheduledTime) => expires_at(session).is_none_or(|t| now < t),
        _ => false,
    }
}

/// What a controller does when a deadline is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerAction {
    /// Apply this event with [`apply`].
    Apply(SessionEvent),
    /// Delete the object: its retention ended.
    Delete,
}

/// The earliest timer of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// When it is due (may be in the past: then it is due now).
    pub at: Timestamp,
    /// What to do then.
    pub action: TimerAction,
}

/// The earliest pending timer: approval timeout (pending), scheduled start or
/// expiry before activation (scheduled), expiry or idle expiry (approved),
/// deletion at `retainedUntil` (terminal). A controller requeues at `at`;
/// malformed sessions (scheduled without a start, approved without expiry)
/// are due at `now`. `None` when no timer runs.
pub fn next_deadline(session: &BreakglassSession, now: Timestamp) -> Option<Deadline> {
    let state = state_of(session)?;
    let status = session.status.as_ref()?;
    let due = |at: Timestamp, event: SessionEvent| {
        Some(Deadline {
            at,
            action: TimerAction::Apply(event),
        })
    };
    match state {
        State::Pending => due(status.timeout_at.as_ref()?.0, SessionEvent::ApprovalTimeout),
        State::WaitingForScheduledTime => {
            let at = match (&session.spec.scheduled_start_time, expires_at(session)) {
                (None, _) => now,
                (Some(Time(start)), Some(expires)) => (*start).min(expires),
                (Some(Time(start)), None) => *start,
            };
            due(at, SessionEvent::Activate)
        }
        State::Approved => {
            let expiry = expires_at(session).unwrap_or(now);
            match idle_deadline(&session.spec, status).and_then(Result::ok) {
                Some(idle) if idle < expiry => due(idle, SessionEvent::IdleExpire),
                _ => due(expiry, SessionEvent::Expire),
            }
        }
        _ => status.retained_until.as_ref().map(|Time(at)| Deadline {
            at: *at,
            action: TimerAction::Delete,
        }),
    }
}
