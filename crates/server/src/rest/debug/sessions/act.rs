//! The state changes of a debug session through the API: approve (recorded; the
//! leader's reconciler activates), reject, renew and terminate. Each is decided by
//! `breakglass_core::debug::session::apply` on the hub's latest version and written
//! conditionally, so of two concurrent decisions exactly one lands and the other is a
//! 409 from the state machine.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use breakglass_api::debug_session::{DebugSession, DebugSessionState};
use breakglass_api::rest::debug::{DebugSessionDetail, RenewResponse};
use breakglass_core::debug::access::reasons::{self, Decision, DecisionReasonError};
use breakglass_core::debug::approval::ApprovalRefusal;
use breakglass_core::debug::session::{
    DebugSessionEvent, DebugTimers, DebugTransitionError as E, apply,
};
use breakglass_core::duration::GoDuration;
use jiff::Timestamp;

use super::{NamespaceHint, Relation, with_retry};
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::identity;
use crate::rest::body;
use crate::rest::sessions::DecisionRequest;

pub use breakglass_api::rest::debug::RenewRequest;

/// The longest `extendBy` accepted.
const MAX_EXTEND_BY: usize = 32;

/// The server's debug timers (the approval window a decision must fall into).
fn timers(app: &App) -> DebugTimers {
    app.config.debug_timers()
}

/// Maps a refusal of the state machine to a status code.
fn transition_error(err: E) -> ApiError {
    match err {
        E::Terminal { .. }
        | E::AlreadyDecided
        | E::ApprovalTimedOut { .. }
        | E::WrongState {
            event: "approve" | "reject",
            ..
        } => ApiError::conflict(err.to_string()),
        E::RenewalsNotAllowed | E::RenewalLimitReached { .. } | E::ExceedsMaxDuration { .. } => {
            ApiError::forbidden(err.to_string())
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

fn refusal(r: ApprovalRefusal) -> ApiError {
    match r {
        ApprovalRefusal::OwnRequest => ApiError::Forbidden {
            message: r.to_string(),
            reason: Some("SELF_APPROVAL_BLOCKED"),
        },
        ApprovalRefusal::NotResolved => ApiError::conflict(format!("{r}; retry shortly")),
        other => ApiError::forbidden(other.to_string()),
    }
}

fn reason_error(e: DecisionReasonError) -> ApiError {
    ApiError::BadRequest(e.to_string())
}

/// The name a decision is recorded under: the verified e-mail, else the user name.
fn actor(app: &App, caller: &Identity, session: &DebugSession) -> String {
    let claim = identity::claim_for_cluster(&app.config, &app.stores, &session.spec.cluster);
    identity::actor(caller, claim)
}

async fn decide(
    app: &App,
    caller: &Identity,
    name: &str,
    hint: &NamespaceHint,
    decision: Decision,
    raw: &[u8],
) -> Result<DebugSession, ApiError> {
    let req: DecisionRequest = body::optional(raw)?;
    let now = Timestamp::now();
    let timers = timers(app);
    let mut who = String::new();
    let (written, notices) = with_retry(app, name, hint.namespace.as_deref(), |session| {
        let relation = Relation::of(app, caller, session);
        relation.approver.clone().map_err(refusal)?;
        let reason = reasons::decision_reason(session, decision, req.reason.as_deref())
            .map_err(reason_error)?;
        who = actor(app, caller, session);
        let event = match decision {
            Decision::Approve => DebugSessionEvent::Approve {
                approver: who.clone(),
                reason,
            },
            Decision::Reject => DebugSessionEvent::Reject {
                rejector: who.clone(),
                reason,
            },
        };
        let t = apply(session, event, now, &timers).map_err(transition_error)?;
        Ok((t.status, t.notices))
    })
    .await?;
    app.events
        .emit_debug_notices(&notices, &who, req.reason.as_deref(), &written);
    tracing::info!(
        session = name, namespace = written.metadata.namespace.as_deref().unwrap_or_default(),
        cluster = %written.spec.cluster, requested_by = %written.spec.requested_by,
        action = ?decision, actor = %who,
        state = written.state().map(DebugSessionState::as_str).unwrap_or_default(),
        "debug session decision"
    );
    Ok(written)
}

fn view(app: &App, caller: &Identity, session: &DebugSession) -> Json<DebugSessionDetail> {
    Json(super::read::detail(
        session,
        &Relation::of(app, caller, session),
    ))
}

/// `POST /api/debugSessions/{name}/approve {reason?}`: records the approval; the
/// session stays `PendingApproval` until the leader's reconciler deploys and activates it.
pub async fn approve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<DebugSessionDetail>, ApiError> {
    let s = decide(&state.app, &caller, &name, &hint, Decision::Approve, &raw).await?;
    Ok(view(&state.app, &caller, &s))
}

/// `POST /api/debugSessions/{name}/reject {reason?}`: ends the request (`Terminated`).
pub async fn reject(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<DebugSessionDetail>, ApiError> {
    let s = decide(&state.app, &caller, &name, &hint, Decision::Reject, &raw).await?;
    Ok(view(&state.app, &caller, &s))
}

/// `POST /api/debugSessions/{name}/renew {extendBy}`: the owner or an active
/// participant extends an active session within the template's renewal limits
/// (403 naming the limit) → `{message, newExpiresAt, renewalCount}`.
pub async fn renew(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<RenewResponse>, ApiError> {
    let app: &App = &state.app;
    let req: RenewRequest = body::strict(&raw)?;
    let text = req.extend_by.trim();
    if text.is_empty() || text.len() > MAX_EXTEND_BY {
        return Err(ApiError::BadRequest(format!(
            "extendBy: a positive duration such as 30m or 1h is required (at most {MAX_EXTEND_BY} characters)"
        )));
    }
    let extend_by = GoDuration::parse_with_days(text)
        .ok()
        .filter(|d| d.is_positive())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "extendBy: {text:?} is not a positive duration (use e.g. 30m or 1h)"
            ))
        })?;
    let now = Timestamp::now();
    let timers = timers(app);
    let (written, renewed) = with_retry(app, &name, hint.namespace.as_deref(), |session| {
        let relation = Relation::of(app, &caller, session);
        relation.readable()?;
        if !relation.may_use() {
            return Err(ApiError::forbidden(
                "only the owner or an active participant can renew this debug session",
            ));
        }
        let t = apply(
            session,
            DebugSessionEvent::Renew { extend_by },
            now,
            &timers,
        )
        .map_err(transition_error)?;
        Ok((
            t.status,
            (t.notices, relation.user.clone().unwrap_or_default()),
        ))
    })
    .await?;
    let (notices, who) = renewed;
    let message = format!("extended by {extend_by}");
    app.events
        .emit_debug_notices(&notices, &who, Some(&message), &written);
    let status = written.status.as_ref();
    let expires = status.and_then(|s| s.expires_at.as_ref()).map(|t| t.0);
    let count = status.and_then(|s| s.renewal_count).unwrap_or(0);
    tracing::info!(session = %name, extend_by = %extend_by, renewal_count = count, "debug session renewed");
    Ok(Json(RenewResponse {
        message: format!("Debug session renewed by {extend_by}"),
        new_expires_at: expires.map(|t| t.to_string()),
        renewal_count: count,
    }))
}

/// `POST /api/debugSessions/{name}/terminate`: the owner ends the session (or
/// withdraws the request) → `Terminated` "Terminated by X"; anyone else 403.
pub async fn terminate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<DebugSessionDetail>, ApiError> {
    let app: &App = &state.app;
    body::none(&raw)?;
    let now = Timestamp::now();
    let timers = timers(app);
    let (written, ended) = with_retry(app, &name, hint.namespace.as_deref(), |session| {
        let relation = Relation::of(app, &caller, session);
        if !relation.owner {
            return Err(ApiError::forbidden(
                "only the owner can terminate this debug session",
            ));
        }
        let by = relation.user.clone().unwrap_or_default();
        let t = apply(
            session,
            DebugSessionEvent::Terminate { by: by.clone() },
            now,
            &timers,
        )
        .map_err(transition_error)?;
        Ok((t.status, (t.notices, by)))
    })
    .await?;
    let (notices, by) = ended;
    app.events.emit_debug_notices(&notices, &by, None, &written);
    tracing::info!(session = %name, cluster = %written.spec.cluster, by = %written.spec.requested_by, "debug session terminated");
    Ok(view(app, &caller, &written))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn refusals_and_transitions_map_to_status_codes() {
        let s = |e: E| transition_error(e).status();
        assert_eq!(s(E::AlreadyDecided), StatusCode::CONFLICT);
        assert_eq!(
            s(E::Terminal {
                state: DebugSessionState::Terminated
            }),
            StatusCode::CONFLICT
        );
        assert_eq!(
            s(E::WrongState {
                event: "approve",
                state: DebugSessionState::Active
            }),
            StatusCode::CONFLICT
        );
        assert_eq!(
            s(E::WrongState {
                event: "renew",
                state: DebugSessionState::PendingApproval
            }),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(s(E::RenewalsNotAllowed), StatusCode::FORBIDDEN);
        assert_eq!(s(E::RenewalLimitReached { max: 3 }), StatusCode::FORBIDDEN);
        assert_eq!(s(E::RenewExpired), StatusCode::BAD_REQUEST);
        assert_eq!(
            refusal(ApprovalRefusal::OwnRequest).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            refusal(ApprovalRefusal::NotResolved).status(),
            StatusCode::CONFLICT
        );
    }
}
