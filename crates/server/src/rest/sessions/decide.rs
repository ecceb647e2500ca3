//! The actions on an existing session: approve, reject, withdraw, drop, cancel. Each
//! checks who may act ([`Relation`]) and hands the event to the state machine.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionState as SessionState,
};
use breakglass_core::session::{SessionEvent, TransitionError};
use breakglass_core::user_reason::{ReasonError, sanitize_reason};

use super::{Action, DecisionRequest, Relation, fresh, now};
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::identity;
use crate::rest::body;
use crate::rest::views::{self, SessionView};
use crate::session_writes::{self, WriteError};

/// Maps a refusal of the state machine to the reference's status codes.
fn transition_error(err: TransitionError, action: Action) -> ApiError {
    let decision = matches!(action, Action::Approve | Action::Reject);
    match err {
        TransitionError::AlreadyInState { .. } => ApiError::conflict(err.to_string()),
        // A concurrent decision won: approving a rejected session or rejecting an
        // approved one is a conflict between two approvers, not a bad request.
        TransitionError::NotPending {
            state:
                SessionState::Approved | SessionState::WaitingForScheduledTime | SessionState::Rejected,
            ..
        } if decision => ApiError::conflict(format!("session was already decided: {err}")),
        TransitionError::NotPending { .. } if action == Action::Withdraw => {
            ApiError::BadRequest("Session is not pending and cannot be withdrawn".to_owned())
        }
        TransitionError::NoState => {
            ApiError::conflict("session is still being created, please retry")
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

fn write_error(err: WriteError, action: Action) -> ApiError {
    match err {
        WriteError::Transition(t) => transition_error(t, action),
        other => other.into(),
    }
}

fn approval_reason(session: &BreakglassSession, raw: &[u8]) -> Result<Option<String>, ApiError> {
    let req: DecisionRequest = body::optional(raw)?;
    let mandatory = session
        .spec
        .approval_reason_config
        .as_ref()
        .is_some_and(|c| c.is_mandatory());
    let reason = sanitize_reason(req.reason.as_deref().unwrap_or_default(), mandatory).map_err(
        |e| match e {
            ReasonError::Missing => {
                ApiError::Unprocessable("missing required approval reason".to_owned())
            }
            other => ApiError::Unprocessable(format!("invalid approval reason: {other}")),
        },
    )?;
    Ok(Some(reason).filter(|r| !r.is_empty()))
}

/// Who may take `action` on `session`, and the event it becomes.
fn event(
    relation: &Relation<'_>,
    session: &BreakglassSession,
    action: Action,
    actor: String,
    raw: &[u8],
) -> Result<SessionEvent, ApiError> {
    let owner_only = |what: &str| -> Result<(), ApiError> {
        body::none(raw)?;
        if relation.owns(session) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only the session requester can {what}"
            )))
        }
    };
    Ok(match action {
        Action::Approve => {
            relation.approver(session)?;
            SessionEvent::Approve {
                approver: actor,
                reason: approval_reason(session, raw)?,
            }
        }
        Action::Reject => {
            // The requester may reject (cancel) their own pending request.
            if !relation.owns(session) {
                relation.approver(session)?;
            }
            SessionEvent::Reject {
                rejector: actor,
                reason: approval_reason(session, raw)?,
            }
        }
        Action::Withdraw => {
            owner_only("withdraw")?;
            SessionEvent::Withdraw
        }
        Action::Drop => {
            owner_only("drop the session")?;
            SessionEvent::Drop
        }
        Action::Cancel => {
            body::none(raw)?;
            relation.approver(session)?;
            SessionEvent::Cancel { approver: actor }
        }
    })
}

/// How often a decision is re-read and re-decided when the session changed between the
/// read and the write (activity records are written every flush interval). A competing
/// decision ends the loop through the state machine, so only unrelated writes repeat it.
const CONFLICT_ATTEMPTS: usize = 8;

async fn decide(
    app: &App,
    caller: &Identity,
    name: &str,
    action: Action,
    raw: &[u8],
) -> Result<BreakglassSession, ApiError> {
    let relation = Relation::new(app, caller);
    let mut attempt = 1;
    loop {
        // Every attempt starts from the hub's latest version and decides anew, so a
        // concurrent decision is seen by the state machine (and answered 409), while a
        // concurrent activity record only costs a retry.
        let session = fresh(app, name).await?;
        let claim = identity::claim_for_cluster(&app.config, &app.stores, &session.spec.cluster);
        let actor = identity::actor(caller, claim);
        let event = event(&relation, &session, action, actor.clone(), raw)?;
        let result = session_writes::transition(
            &app.hub,
            &app.events,
            &app.metrics,
            &session,
            event,
            &actor,
            now(),
        )
        .await;
        match result {
            Err(WriteError::Conflict) if attempt < CONFLICT_ATTEMPTS => attempt += 1,
            result => {
                let (_, written) = result.map_err(|e| write_error(e, action))?;
                tracing::info!(
                    session = %name, action = action.as_str(), actor = %actor, issuer = %caller.issuer,
                    state = written.status.as_ref().and_then(|s| s.state).map(|s| s.as_str()).unwrap_or_default(),
                    "session decision"
                );
                return Ok(written);
            }
        }
    }
}

macro_rules! action {
    ($fn_name:ident, $action:expr, $doc:literal) => {
        #[doc = $doc]
        pub async fn $fn_name(
            State(state): State<AppState>,
            Caller(caller): Caller,
            Path(name): Path<String>,
            body: Bytes,
        ) -> Result<Json<SessionView>, ApiError> {
            decide(&state.app, &caller, &name, $action, &body)
                .await
                .map(|s| Json(views::session(&s)))
        }
    };
}

action!(
    approve,
    Action::Approve,
    "`POST /api/breakglassSessions/{name}/approve`."
);
action!(
    reject,
    Action::Reject,
    "`POST /api/breakglassSessions/{name}/reject`."
);
action!(
    withdraw,
    Action::Withdraw,
    "`POST /api/breakglassSessions/{name}/withdraw`."
);
action!(
    drop_session,
    Action::Drop,
    "`POST /api/breakglassSessions/{name}/drop`."
);
action!(
    cancel,
    Action::Cancel,
    "`POST /api/breakglassSessions/{name}/cancel`."
);

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn decision_conflicts_are_409() {
        let not_pending = |action, state| {
            transition_error(TransitionError::NotPending { action: "x", state }, action)
        };
        let e = not_pending(Action::Reject, SessionState::Approved);
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e = not_pending(Action::Approve, SessionState::Withdrawn);
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e = transition_error(
            TransitionError::AlreadyInState {
                state: SessionState::Approved,
            },
            Action::Approve,
        );
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e = not_pending(Action::Withdraw, SessionState::Approved);
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains("cannot be withdrawn"));
    }
}
