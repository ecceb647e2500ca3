//! `GET /api/debugSessions[/{name}]`: the sessions the caller may read.

use axum::Json;
use axum::extract::{Path, Query, State};
use breakglass_api::debug_session::{DebugSession, DebugSessionState};
use breakglass_api::rest::debug::{DebugSessionDetail, DebugSessionList, DebugSessionSummary};

use super::{NamespaceHint, Relation, find};
use crate::app::App;
use crate::error::ApiError;
use crate::http::{AppState, Caller};

pub use breakglass_api::rest::debug::ListQuery;

/// The longest `state` filter accepted (every state name, comma-separated, fits).
const MAX_STATE_FILTER: usize = 128;

fn parse_states(raw: Option<&str>) -> Result<Option<Vec<DebugSessionState>>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if raw.len() > MAX_STATE_FILTER {
        return Err(ApiError::BadRequest(format!(
            "state: at most {MAX_STATE_FILTER} characters"
        )));
    }
    let mut out = Vec::new();
    for token in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if token.eq_ignore_ascii_case("all") {
            return Ok(None);
        }
        let state = DebugSessionState::ALL
            .iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(token))
            .ok_or_else(|| {
                let shown: String = token.chars().take(32).collect();
                ApiError::BadRequest(format!(
                    "state: unknown state {shown:?}; use Pending, PendingApproval, Active, Expired, Terminated, Failed or all"
                ))
            })?;
        out.push(*state);
    }
    Ok(Some(out))
}

fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<String> {
    t.map(|t| t.0.to_string())
}

/// Whether the caller may approve (and reject) now: an undecided request awaiting
/// approval and an approver of it.
fn can_decide(session: &DebugSession, relation: &Relation) -> bool {
    let status = session.status.as_ref();
    let undecided = status
        .and_then(|s| s.approval.as_ref())
        .is_none_or(|a| a.approved_at.is_none() && a.rejected_at.is_none());
    session.state() == Some(DebugSessionState::PendingApproval)
        && undecided
        && relation.approver.is_ok()
}

/// The list entry (A7): what a client shows without reading the whole object.
fn summary(session: &DebugSession, relation: &Relation) -> DebugSessionSummary {
    let status = session.status.as_ref();
    let decide = can_decide(session, relation);
    DebugSessionSummary {
        name: session.metadata.name.clone(),
        namespace: session.metadata.namespace.clone(),
        template_ref: session.spec.template_ref.clone(),
        target_namespace: session.spec.target_namespace.clone(),
        cluster: session.spec.cluster.clone(),
        requested_by: session.spec.requested_by.clone(),
        requested_by_display_name: session.spec.requested_by_display_name.clone(),
        state: session
            .state()
            .map_or("Pending", DebugSessionState::as_str)
            .to_owned(),
        status_message: status.and_then(|s| s.message.clone()),
        starts_at: time(status.and_then(|s| s.starts_at.as_ref())),
        expires_at: time(status.and_then(|s| s.expires_at.as_ref())),
        participants: status
            .and_then(|s| s.participants.clone())
            .unwrap_or_default(),
        is_participant: relation.role.is_some(),
        allowed_pods: status
            .and_then(|s| s.allowed_pods.clone())
            .unwrap_or_default(),
        allowed_pod_operations: status.and_then(|s| s.allowed_pod_operations),
        can_approve: decide,
        can_reject: decide,
    }
}

/// `GET /api/debugSessions`: `{sessions, total}`, only sessions the caller may read,
/// newest first.
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<DebugSessionList>, ApiError> {
    let app: &App = &state.app;
    let states = parse_states(q.state.as_deref())?;
    let groups = crate::identity::groups(app.prefixes(), &caller);
    let mut sessions: Vec<_> = app
        .stores
        .debug_sessions
        .all()
        .into_iter()
        .filter(|s| q.cluster.as_deref().is_none_or(|c| s.spec.cluster == c))
        .filter(|s| q.user.as_deref().is_none_or(|u| s.spec.requested_by == u))
        .filter(|s| {
            let st = s.state().unwrap_or(DebugSessionState::Pending);
            states.as_ref().is_none_or(|v| v.contains(&st))
        })
        .filter_map(|s| {
            let relation = Relation::with_groups(app, &caller, &groups, &s);
            let mine = relation.owner || relation.joined_ever;
            (relation.may_read() && (q.mine != Some(true) || mine)).then_some((s, relation))
        })
        .collect();
    sessions.sort_by(|(a, _), (b, _)| {
        b.metadata
            .creation_timestamp
            .cmp(&a.metadata.creation_timestamp)
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    let items: Vec<DebugSessionSummary> = sessions.iter().map(|(s, r)| summary(s, r)).collect();
    Ok(Json(DebugSessionList {
        total: items.len(),
        sessions: items,
    }))
}

/// `GET /api/debugSessions/{name}[?namespace=]`: the DebugSession with `canApprove`,
/// `canReject`, `isParticipant`, `role` and `isOwner` added; 403 when the caller may not
/// read it, 404 when unknown.
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
) -> Result<Json<DebugSessionDetail>, ApiError> {
    let app: &App = &state.app;
    let session = find(app, &name, hint.namespace.as_deref()).await?;
    let relation = Relation::of(app, &caller, &session);
    relation.readable()?;
    Ok(Json(detail(&session, &relation)))
}

/// The DebugSession object with what the caller may do with it.
pub(super) fn detail(session: &DebugSession, relation: &Relation) -> DebugSessionDetail {
    let decide = can_decide(session, relation);
    DebugSessionDetail {
        session: session.clone(),
        can_approve: decide,
        can_reject: decide,
        is_owner: relation.owner,
        is_participant: relation.role.is_some(),
        role: relation.role.map(|r| r.as_str().to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn state_filters() {
        assert_eq!(parse_states(None).unwrap(), None);
        assert_eq!(parse_states(Some("all")).unwrap(), None);
        assert_eq!(
            parse_states(Some("active, pendingapproval")).unwrap(),
            Some(vec![
                DebugSessionState::Active,
                DebugSessionState::PendingApproval
            ])
        );
        let err = parse_states(Some("Approved")).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().starts_with("state: unknown state"), "{err}");
        assert_eq!(
            parse_states(Some(&"a,".repeat(100))).unwrap_err().status(),
            400
        );
    }
}
