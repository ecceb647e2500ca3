//! The approver's reason on approve and reject (A2 §19): sanitised like every user
//! reason; with an `approvalReasonConfig` (the session's snapshot, else its resolved
//! template's), approving needs one when `mandatory`, rejecting when `mandatory` or
//! `mandatoryForRejection` (true unless set false), and a given reason must have
//! `minLength` characters (default 10). Without a config a reason is optional.

use breakglass_api::debug_common::DebugApprovalReasonConfig;
use breakglass_api::debug_session::DebugSession;
use thiserror::Error;

use crate::user_reason::{ReasonError, sanitize_reason};

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approve.
    Approve,
    /// Reject.
    Reject,
}

impl Decision {
    fn verb(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// Why a decision's reason is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecisionReasonError {
    /// The configuration requires a reason and none was given.
    #[error("reason: a reason is required to {0} this debug session")]
    Missing(&'static str),
    /// Shorter than `minLength`.
    #[error("reason: at least {min} characters are required, got {got}")]
    TooShort {
        /// `minLength`.
        min: usize,
        /// Characters given (after sanitising).
        got: usize,
    },
    /// Too long, see [`ReasonError::TooLong`].
    #[error("reason: {0}")]
    Invalid(ReasonError),
}

/// The approval reason rules of `session`.
pub fn config(session: &DebugSession) -> Option<&DebugApprovalReasonConfig> {
    session.spec.approval_reason_config.as_ref().or_else(|| {
        session
            .status
            .as_ref()?
            .resolved_template
            .as_ref()?
            .approval_reason
            .as_ref()
    })
}

/// The sanitised reason for `decision` on `session` (`None` when empty and allowed).
pub fn decision_reason(
    session: &DebugSession,
    decision: Decision,
    raw: Option<&str>,
) -> Result<Option<String>, DecisionReasonError> {
    let cfg = config(session);
    let required = cfg.is_some_and(|c| match decision {
        Decision::Approve => c.mandatory.unwrap_or(false),
        Decision::Reject => {
            c.mandatory.unwrap_or(false) || c.mandatory_for_rejection.unwrap_or(true)
        }
    });
    let reason = sanitize_reason(raw.unwrap_or_default(), required).map_err(|e| match e {
        ReasonError::Missing => DecisionReasonError::Missing(decision.verb()),
        other => DecisionReasonError::Invalid(other),
    })?;
    if reason.is_empty() {
        return Ok(None);
    }
    let min = cfg
        .map(|c| usize::try_from(c.min_length.unwrap_or(10)).unwrap_or(0))
        .unwrap_or(0);
    let got = reason.chars().count();
    if got < min {
        return Err(DecisionReasonError::TooShort { min, got });
    }
    Ok(Some(reason))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn session(cfg: Option<DebugApprovalReasonConfig>) -> DebugSession {
        let mut s = DebugSession::new("d", Default::default());
        s.spec.approval_reason_config = cfg;
        s
    }

    #[test]
    fn reason_rules() {
        use Decision::{Approve, Reject};
        let none = session(None);
        assert_eq!(decision_reason(&none, Reject, None), Ok(None));
        assert_eq!(
            decision_reason(&none, Approve, Some(" ok ")),
            Ok(Some("ok".into()))
        );
        let default_cfg = session(Some(DebugApprovalReasonConfig::default()));
        assert_eq!(decision_reason(&default_cfg, Approve, None), Ok(None));
        assert_eq!(
            decision_reason(&default_cfg, Reject, None),
            Err(DecisionReasonError::Missing("reject"))
        );
        assert_eq!(
            decision_reason(&default_cfg, Reject, Some("too short")),
            Err(DecisionReasonError::TooShort { min: 10, got: 9 })
        );
        assert_eq!(
            decision_reason(&default_cfg, Reject, Some("not needed today")),
            Ok(Some("not needed today".into()))
        );
        let lax = session(Some(DebugApprovalReasonConfig {
            mandatory_for_rejection: Some(false),
            min_length: Some(0),
            ..Default::default()
        }));
        assert_eq!(decision_reason(&lax, Reject, None), Ok(None));
        let strict = session(Some(DebugApprovalReasonConfig {
            mandatory: Some(true),
            ..Default::default()
        }));
        assert_eq!(
            decision_reason(&strict, Approve, Some("   ")),
            Err(DecisionReasonError::Missing("approve"))
        );
        assert!(matches!(
            decision_reason(&none, Approve, Some(&"x".repeat(5000))),
            Err(DecisionReasonError::Invalid(_))
        ));
    }
}
