//! Duration relationships shared by escalations and sessions.

use crate::duration::GoDuration;

use super::error::FieldError;
use super::path::Path;
use super::rules::{self, DurationFormat, Errors};

/// `maxValidFor` when it is not set (the CRD default).
const DEFAULT_MAX_VALID_FOR: GoDuration = GoDuration::HOUR;
/// The smallest idle timeout worth tracking: activity is flushed every 30 s.
const MIN_IDLE_TIMEOUT: GoDuration = GoDuration::MINUTE;

/// Checks `maxValidFor`, `idleTimeout` and (for escalations) `approvalTimeout` under
/// `p`: each well-formed and positive, `approvalTimeout` ≤ `maxValidFor`, and
/// 1m ≤ `idleTimeout` ≤ `maxValidFor` (1h when `maxValidFor` is omitted).
pub(crate) fn validity_and_idle(
    errs: &mut Errors,
    p: &Path,
    max_valid_for: Option<&str>,
    idle_timeout: Option<&str>,
    approval_timeout: Option<&str>,
) {
    let max = match max_valid_for {
        Some(v) => rules::duration(
            errs,
            &p.child("maxValidFor"),
            v,
            DurationFormat::Escalation,
            true,
        ),
        None => Some(DEFAULT_MAX_VALID_FOR),
    };
    if let Some(v) = approval_timeout
        && let Some(approval) = rules::duration(
            errs,
            &p.child("approvalTimeout"),
            v,
            DurationFormat::Escalation,
            true,
        )
        && let Some(max) = max
        && approval > max
    {
        errs.push(FieldError::invalid(
            p.child("approvalTimeout"),
            v,
            &format!("must not exceed maxValidFor ({max})"),
        ));
    }
    if let Some(v) = idle_timeout
        && let Some(idle) = rules::duration(
            errs,
            &p.child("idleTimeout"),
            v,
            DurationFormat::Escalation,
            true,
        )
    {
        if idle < MIN_IDLE_TIMEOUT {
            errs.push(FieldError::invalid(
                p.child("idleTimeout"),
                v,
                "must be at least 1m",
            ));
        } else if let Some(max) = max
            && idle > max
        {
            errs.push(FieldError::invalid(
                p.child("idleTimeout"),
                v,
                &format!("must not exceed maxValidFor ({max})"),
            ));
        }
    }
}
