//! `POST …/{name}/join` and `…/leave`: invited users take part in an active session
//! (as `participant`, or `viewer` with `terminalSharing.readOnlyParticipants`) and
//! leave it again. The webhook index follows the written status, so access starts and
//! stops with the watch event.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use breakglass_api::rest::debug::MembershipResponse;
use breakglass_core::debug::access::participants::{self, JoinRefusal, Joiner, LeaveRefusal};
use jiff::Timestamp;

use super::{NamespaceHint, Relation, with_retry};
use crate::app::App;
use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::identity;
use crate::rest::body;

fn join_error(e: JoinRefusal) -> ApiError {
    match e {
        JoinRefusal::NotActive { .. } => ApiError::BadRequest(e.to_string()),
        JoinRefusal::NotInvited | JoinRefusal::Full { .. } => ApiError::forbidden(e.to_string()),
        JoinRefusal::AlreadyJoined => ApiError::conflict(e.to_string()),
    }
}

fn leave_error(e: LeaveRefusal) -> ApiError {
    match e {
        LeaveRefusal::Owner => ApiError::forbidden(e.to_string()),
        LeaveRefusal::NotParticipant => ApiError::NotFound(e.to_string()),
        LeaveRefusal::AlreadyLeft => ApiError::conflict(e.to_string()),
        LeaveRefusal::NotActive { .. } => ApiError::BadRequest(e.to_string()),
    }
}

/// `POST /api/debugSessions/{name}/join` → `{message, role}`: 403 when not invited or
/// the session is full, 409 when already taking part, 400 when not active.
pub async fn join(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<MembershipResponse>, ApiError> {
    let app: &App = &state.app;
    body::none(&raw)?;
    let now = Timestamp::now();
    let email = identity::verified_email(&caller);
    let (written, (role, user)) = with_retry(app, &name, hint.namespace.as_deref(), |session| {
        let relation = Relation::of(app, &caller, session);
        relation.readable()?;
        let Some(user) = relation.user.as_deref() else {
            return Err(ApiError::forbidden(
                "your token does not carry the user claim of this cluster",
            ));
        };
        let who = Joiner {
            user,
            email,
            display_name: caller.name.as_deref(),
        };
        let (status, role) = participants::join(session, &who, now).map_err(join_error)?;
        Ok((status, (role, user.to_owned())))
    })
    .await?;
    tracing::info!(
        session = %name, cluster = %written.spec.cluster, role = role.as_str(),
        user = %user, "debug session joined"
    );
    Ok(Json(MembershipResponse {
        message: format!("Joined debug session {name} as {}", role.as_str()),
        role: Some(role.as_str().to_owned()),
    }))
}

/// `POST /api/debugSessions/{name}/leave` → `{message}`: the owner gets 403 (terminate
/// instead), someone who never joined 404, someone who left already 409.
pub async fn leave(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<MembershipResponse>, ApiError> {
    let app: &App = &state.app;
    body::none(&raw)?;
    let now = Timestamp::now();
    let (written, user) = with_retry(app, &name, hint.namespace.as_deref(), |session| {
        let relation = Relation::of(app, &caller, session);
        relation.readable()?;
        let user = relation.user.unwrap_or_default();
        let status = participants::leave(session, &user, now).map_err(leave_error)?;
        Ok((status, user))
    })
    .await?;
    tracing::info!(session = %name, cluster = %written.spec.cluster, user = %user, "debug session left");
    Ok(Json(MembershipResponse {
        message: format!("Left debug session {name}"),
        role: None,
    }))
}
