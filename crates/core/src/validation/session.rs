//! BreakglassSession: create and update rules.

use breakglass_api::{BreakglassSession, BreakglassSessionSpec, BreakglassSessionState};

use crate::duration::GoDuration;

use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, DurationFormat, Errors};
use super::timeouts;

/// Validates a BreakglassSession as the admission webhook does on create: required
/// fields, duration formats and the idle-timeout bounds.
///
/// The scheduled start time needs the clock; see [`validate_breakglass_session_schedule`].
pub fn validate_breakglass_session(session: &BreakglassSession) -> Vec<FieldError> {
    let mut errs = Errors::new();
    validate_spec(&mut errs, &Path::new("spec"), &session.spec);
    errs
}

fn validate_spec(errs: &mut Errors, p: &Path, spec: &BreakglassSessionSpec) {
    rules::required_str(errs, &p.child("cluster"), &spec.cluster);
    rules::required_str(errs, &p.child("user"), &spec.user);
    rules::required_str(errs, &p.child("grantedGroup"), &spec.granted_group);
    timeouts::validity_and_idle(
        errs,
        p,
        spec.max_valid_for.as_deref(),
        spec.idle_timeout.as_deref(),
        None,
    );
    if let Some(retain_for) = &spec.retain_for {
        rules::duration(
            errs,
            &p.child("retainFor"),
            retain_for,
            DurationFormat::Escalation,
            true,
        );
    }
}

/// The minimum lead time of a scheduled start, checked on create.
pub const MIN_SCHEDULE_LEAD: GoDuration = GoDuration::from_nanos(5 * 60 * 1_000_000_000);

/// Checks `spec.scheduledStartTime` against the clock on create: it must lie at least
/// five minutes after `now`. Kept apart from [`validate_breakglass_session`] because
/// validation of stored or offline objects must not depend on when it runs.
pub fn validate_breakglass_session_schedule(
    session: &BreakglassSession,
    now: jiff::Timestamp,
) -> Vec<FieldError> {
    let mut errs = Errors::new();
    if let Some(start) = &session.spec.scheduled_start_time {
        let earliest = MIN_SCHEDULE_LEAD.after(now);
        if earliest.is_none_or(|e| start.0 < e) {
            errs.push(FieldError::invalid(
                "spec.scheduledStartTime",
                &start.0.to_string(),
                "must be at least 5 minutes in the future",
            ));
        }
    }
    errs
}

/// Warnings of a BreakglassSession (none so far).
pub(crate) fn breakglass_session_warnings(_: &BreakglassSession) -> Vec<Warning> {
    Vec::new()
}

/// True when the webhook admits the state change `from` → `to`.
///
/// Same-state writes are idempotent; `Pending` is the only initial state.
pub fn breakglass_session_transition_allowed(
    from: Option<BreakglassSessionState>,
    to: Option<BreakglassSessionState>,
) -> bool {
    use BreakglassSessionState as S;
    match (from, to) {
        (_, None) => from.is_none(),
        (None, Some(to)) => to == S::Pending,
        (Some(from), Some(to)) if from == to => true,
        (Some(S::Pending), Some(to)) => matches!(
            to,
            S::Approved
                | S::WaitingForScheduledTime
                | S::Rejected
                | S::Withdrawn
                | S::ApprovalTimeout
        ),
        (Some(S::WaitingForScheduledTime), Some(to)) => {
            matches!(to, S::Approved | S::Withdrawn | S::Expired)
        }
        (Some(S::Approved), Some(to)) => matches!(to, S::Expired | S::IdleExpired),
        (Some(_), Some(_)) => false,
    }
}

/// Validates an update of a BreakglassSession: the new object's own rules, an unchanged
/// spec, an allowed state transition, and activity tracking that never goes backwards.
pub fn validate_breakglass_session_update(
    old: &BreakglassSession,
    new: &BreakglassSession,
) -> Vec<FieldError> {
    let mut errs = validate_breakglass_session(new);
    super::immutable::spec_unchanged(&mut errs, &old.spec, &new.spec);
    let old_status = old.status.clone().unwrap_or_default();
    let new_status = new.status.clone().unwrap_or_default();
    let status = Path::new("status");
    if !breakglass_session_transition_allowed(old_status.state, new_status.state) {
        let from = old_status
            .state
            .map_or("<none>", BreakglassSessionState::as_str);
        let to = new_status.state.map_or("", BreakglassSessionState::as_str);
        errs.push(FieldError::forbidden(
            status.child("state"),
            &format!("transition from {from} to {to:?} is not allowed"),
        ));
    }
    match (old_status.activity_count, new_status.activity_count) {
        (Some(_), None) => errs.push(FieldError::forbidden(
            status.child("activityCount"),
            "may not be cleared",
        )),
        (Some(o), Some(n)) if n < o => errs.push(FieldError::invalid_raw(
            status.child("activityCount"),
            &n.to_string(),
            &format!("may not decrease (was {o})"),
        )),
        _ => {}
    }
    super::immutable::time_monotonic(
        &mut errs,
        &status.child("lastActivity"),
        old_status.last_activity.as_ref(),
        new_status.last_activity.as_ref(),
    );
    errs
}
