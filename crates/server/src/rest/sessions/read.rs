//! `GET /api/breakglassSessions[/{name}]`: what the caller may see of sessions.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionState as SessionState,
};
use breakglass_api::rest::sessions::{
    ApprovalMeta, ApprovalReasonView, SessionDetail, SessionList, SessionListItem, TokenCheck,
};
use breakglass_core::approval::Denial;
use breakglass_core::session as sm;
use jiff::Timestamp;

use super::{ListQuery, Relation, find, now, state_of};
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::rest::views;

/// `GET /api/breakglassSessions/{name}`: the session and what the caller may do with
/// it. Readable by its requester, its approvers and whoever decided on it.
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<SessionDetail>, ApiError> {
    let app = &state.app;
    let session = find(app, &name).await?;
    let relation = Relation::new(app, &caller);
    let is_requester = relation.owns(&session);
    let approval = relation.approver(&session);
    if !is_requester && approval.is_err() && !relation.decided(&session) {
        return Err(ApiError::forbidden("you may not read this session"));
    }
    let session_state = state_of(&session);
    let decidable =
        session_state == Some(SessionState::Pending) && !approval_timed_out(&session, now());
    let is_approver = approval.is_ok();
    let meta = ApprovalMeta {
        can_approve: is_approver && decidable,
        can_reject: (is_approver || is_requester) && decidable,
        is_requester,
        is_approver,
        session_state: session_state
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        denial_reason: approval.as_ref().err().map(|d| d.code().to_owned()),
        denial_message: approval.as_ref().err().map(ToString::to_string),
        state_message: state_message(&session),
    };
    Ok(Json(SessionDetail {
        session: views::session(&session),
        approval_meta: meta,
    }))
}

fn approval_timed_out(s: &BreakglassSession, now: Timestamp) -> bool {
    s.status
        .as_ref()
        .and_then(|st| st.timeout_at.as_ref())
        .is_some_and(|t| now >= t.0)
}

fn state_message(s: &BreakglassSession) -> Option<String> {
    let st = s.status.as_ref()?;
    let at = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
        t.map(|t| t.0.to_string()).unwrap_or_default()
    };
    Some(match st.state? {
        SessionState::Pending if approval_timed_out(s, now()) => {
            "the approval window has closed".to_owned()
        }
        SessionState::Pending => "waiting for approval".to_owned(),
        SessionState::WaitingForScheduledTime => format!(
            "approved; starts at {}",
            at(s.spec.scheduled_start_time.as_ref())
        ),
        SessionState::Approved => format!("active until {}", at(st.expires_at.as_ref())),
        other => format!(
            "ended ({}{})",
            other,
            st.reason_ended
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    })
}

pub(super) fn parse_states(raw: Option<&str>) -> Result<Option<Vec<SessionState>>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for token in raw.split(',').map(|t| t.trim().to_ascii_lowercase()) {
        let states: &[SessionState] = match token.as_str() {
            "" => continue,
            "all" => return Ok(None),
            "pending" => &[SessionState::Pending],
            "approved" | "active" => &[SessionState::Approved],
            "waiting" | "waitingforscheduledtime" | "scheduled" => {
                &[SessionState::WaitingForScheduledTime]
            }
            "rejected" => &[SessionState::Rejected],
            "withdrawn" => &[SessionState::Withdrawn],
            "expired" => &[SessionState::Expired],
            "idleexpired" => &[SessionState::IdleExpired],
            "timeout" | "approvaltimeout" => &[SessionState::ApprovalTimeout],
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown state {other:?}; use pending, approved, active, waiting, rejected, withdrawn, expired, idleexpired, timeout or all"
                )));
            }
        };
        out.extend_from_slice(states);
    }
    Ok(Some(out))
}

/// `GET /api/breakglassSessions`: the caller's own sessions (`mine`), the ones they may
/// approve (`approver`) and the ones they decided (`approvedByMe`), filtered.
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let app = &state.app;
    if let Some(token) = q.token.as_deref().filter(|t| !t.is_empty()) {
        return token_check(app, &caller, token).await;
    }
    let states = parse_states(q.state.as_deref())?;
    let mine = q.mine.unwrap_or(false);
    let approved_by_me = q.approved_by_me.unwrap_or(false);
    let approver = q.approver.unwrap_or(!mine && !approved_by_me);
    let relation = Relation::new(app, &caller);
    let now = now();
    let mut items: Vec<Arc<BreakglassSession>> = app
        .stores
        .sessions
        .all()
        .into_iter()
        .filter(|s| q.cluster.as_deref().is_none_or(|c| s.spec.cluster == c))
        .filter(|s| q.user.as_deref().is_none_or(|u| s.spec.user == u))
        .filter(|s| q.group.as_deref().is_none_or(|g| s.spec.granted_group == g))
        .filter(|s| {
            states
                .as_ref()
                .is_none_or(|st| state_of(s).is_some_and(|x| st.contains(&x)))
        })
        .filter(|s| !q.active_only.unwrap_or(false) || sm::is_access_active(s, now))
        .filter(|s| {
            (mine && relation.owns(s))
                || (approved_by_me && relation.decided(s))
                || (approver && relation.approver(s).is_ok())
        })
        .collect();
    items.sort_by(|a, b| {
        let key = |s: &BreakglassSession| {
            (
                s.metadata.creation_timestamp.as_ref().map(|t| t.0),
                s.metadata.name.clone(),
            )
        };
        key(b).cmp(&key(a))
    });
    let total = items.len();
    let items: Vec<SessionListItem> = items
        .iter()
        .map(|s| {
            let config = s.spec.approval_reason_config.clone().unwrap_or_default();
            SessionListItem {
                session: views::session(s),
                approval_reason: ApprovalReasonView {
                    mandatory: config.is_mandatory(),
                    description: config.description,
                },
            }
        })
        .collect();
    Ok(Json(SessionList { items, total }).into_response())
}

async fn token_check(app: &App, caller: &Identity, name: &str) -> Result<Response, ApiError> {
    let session = match find(app, name).await {
        Ok(s) => s,
        Err(ApiError::NotFound(_)) => {
            let answer = TokenCheck {
                valid: false,
                ..TokenCheck::default()
            };
            return Ok((StatusCode::NOT_FOUND, Json(answer)).into_response());
        }
        Err(e) => return Err(e),
    };
    let relation = Relation::new(app, caller);
    let is_requester = relation.owns(&session);
    let approval = relation.approver(&session);
    if let Err(Denial::Unauthenticated) = approval
        && !is_requester
    {
        return Err(ApiError::Unauthorized(
            "your identity is unknown".to_owned(),
        ));
    }
    if !is_requester && approval.is_err() {
        return Err(ApiError::forbidden("you may not read this session"));
    }
    let session_state = state_of(&session);
    let pending =
        session_state == Some(SessionState::Pending) && !approval_timed_out(&session, now());
    let active = matches!(
        session_state,
        Some(SessionState::Approved | SessionState::WaitingForScheduledTime)
    );
    Ok(Json(TokenCheck {
        valid: pending || active,
        already_active: Some(active),
        can_approve: Some(approval.is_ok() && pending),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_filter_tokens() {
        assert_eq!(parse_states(None).ok(), Some(None));
        assert_eq!(parse_states(Some("all")).ok(), Some(None));
        assert_eq!(
            parse_states(Some("pending, Active,scheduled")).ok(),
            Some(Some(vec![
                SessionState::Pending,
                SessionState::Approved,
                SessionState::WaitingForScheduledTime
            ]))
        );
        assert!(parse_states(Some("bogus")).is_err());
    }
}
