//! Reading and acting on debug sessions (A7 without the kubectl-debug routes):
//! `GET /api/debugSessions[?cluster&state&user&mine]`, `GET …/{name}[?namespace=]`,
//! `POST …/{name}/{approve,reject,renew,terminate,join,leave}`, each also under the
//! feature documents' `/api/v1/debug-sessions`.
//!
//! Who the caller is on a session comes from [`crate::identity`]: the cluster's user
//! claim, compared exactly with `spec.requestedBy` and `participants[].user`; approvers
//! are judged by `breakglass_core::debug::approval::may_approve`. A session is readable
//! by its requester, anyone who ever joined it, anyone invited to it and its approvers;
//! everyone else gets 403 on it and never sees it listed.

use axum::Router;
use axum::routing::{get, post};
use breakglass_api::debug_session::{DebugSession, ParticipantRole};
use breakglass_core::debug::access;
use breakglass_core::debug::approval::{self, ApprovalRefusal};
use kube::Api;
use kube::api::PatchParams;

use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::http::AppState;
use crate::identity::{self, Person};
use crate::rest::sessions::find_in;
use crate::session_writes::{WriteError, conditional_status_patch};

mod act;
mod kubectl;
mod members;
pub mod openapi;
mod read;

/// The canonical prefix and the feature documents' alias.
const PREFIXES: [&str; 2] = ["/api/debugSessions", "/api/v1/debug-sessions"];

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for p in PREFIXES {
        router = router
            .route(p, get(read::list))
            .route(&format!("{p}/{{name}}"), get(read::get))
            .route(&format!("{p}/{{name}}/approve"), post(act::approve))
            .route(&format!("{p}/{{name}}/reject"), post(act::reject))
            .route(&format!("{p}/{{name}}/renew"), post(act::renew))
            .route(&format!("{p}/{{name}}/terminate"), post(act::terminate))
            .route(&format!("{p}/{{name}}/join"), post(members::join))
            .route(&format!("{p}/{{name}}/leave"), post(members::leave))
            .route(
                &format!("{p}/{{name}}/injectEphemeralContainer"),
                post(kubectl::inject),
            )
            .route(&format!("{p}/{{name}}/createPodCopy"), post(kubectl::copy))
            .route(
                &format!("{p}/{{name}}/createNodeDebugPod"),
                post(kubectl::node),
            );
    }
    router
}

pub use breakglass_api::rest::debug::NamespaceHint;

/// The caller's relation to one debug session.
pub(crate) struct Relation {
    /// The caller's user identifier under the session cluster's claim.
    pub user: Option<String>,
    /// The caller requested the session.
    pub owner: bool,
    /// The caller's role while they take part (not left).
    pub role: Option<ParticipantRole>,
    /// The caller has a participant record (left or not).
    pub joined_ever: bool,
    /// `spec.invitedParticipants` names the caller.
    pub invited: bool,
    /// Whether the caller may approve or reject.
    pub approver: Result<(), ApprovalRefusal>,
}

impl Relation {
    /// The caller's relation to `session`.
    pub fn of(app: &App, caller: &Identity, session: &DebugSession) -> Self {
        Self::with_groups(
            app,
            caller,
            &identity::groups(app.prefixes(), caller),
            session,
        )
    }

    /// As [`Self::of`], with the caller's groups (prefixes stripped) computed once for
    /// many sessions.
    pub fn with_groups(
        app: &App,
        caller: &Identity,
        groups: &[String],
        session: &DebugSession,
    ) -> Self {
        let claim = identity::claim_for_cluster(&app.config, &app.stores, &session.spec.cluster);
        let person = Person::of_caller(caller, claim).ok();
        let user = person.map(|p| p.id);
        let email = identity::verified_email(caller);
        let requested_by = session.spec.requested_by.as_str();
        let owner = user.as_deref() == Some(requested_by);
        // The self-approval block covers every name the caller could be.
        let maybe_requester =
            identity::might_be_requester(owner, caller, requested_by, user.is_none());
        let approver = if maybe_requester {
            Err(ApprovalRefusal::OwnRequest)
        } else {
            approval::may_approve(
                session,
                &approval::Caller {
                    user: user.as_deref().unwrap_or_default(),
                    email,
                    groups,
                },
            )
        };
        let (role, joined_ever, invited) = match user.as_deref() {
            Some(u) => (
                access::active_participant(session, u).and_then(|p| p.role),
                access::participants(session).iter().any(|p| p.user == u),
                access::participants::is_invited(session, u, email),
            ),
            None => (None, false, false),
        };
        Self {
            user,
            owner,
            role,
            joined_ever,
            invited,
            approver,
        }
    }

    /// Requester, anyone who ever joined, invitees and approvers may read the session.
    pub fn may_read(&self) -> bool {
        self.owner || self.joined_ever || self.invited || self.approver.is_ok()
    }

    /// The caller takes part and may use the session's pods (owner or participant).
    pub fn may_use(&self) -> bool {
        self.owner
            || matches!(
                self.role,
                Some(ParticipantRole::Owner | ParticipantRole::Participant)
            )
    }

    /// A 403 unless the caller may read the session.
    pub fn readable(&self) -> Result<(), ApiError> {
        if self.may_read() {
            Ok(())
        } else {
            Err(ApiError::forbidden("you may not access this debug session"))
        }
    }
}

/// A debug session by name from the mirror (see [`find_in`]).
pub(crate) async fn find(
    app: &App,
    name: &str,
    namespace: Option<&str>,
) -> Result<DebugSession, ApiError> {
    find_in(&app.stores.debug_sessions, &app.hub, name, namespace).await
}

/// The hub's latest version, for a decision that must not act on a stale copy.
pub(crate) async fn fresh(
    app: &App,
    name: &str,
    namespace: Option<&str>,
) -> Result<DebugSession, ApiError> {
    let cached = find(app, name, namespace).await?;
    let api: Api<DebugSession> = Api::namespaced(
        app.hub.clone(),
        cached.metadata.namespace.as_deref().unwrap_or("default"),
    );
    api.get_opt(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("debug session {name:?} not found")))
}

/// Writes `status` conditional on the version `session` was read at: a concurrent
/// change makes it a [`WriteError::Conflict`], and the caller decides again.
pub(crate) async fn write_status(
    app: &App,
    session: &DebugSession,
    status: &breakglass_api::debug_session::DebugSessionStatus,
) -> Result<DebugSession, WriteError> {
    let api: Api<DebugSession> = Api::namespaced(
        app.hub.clone(),
        session.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let value =
        serde_json::to_value(status).map_err(|e| WriteError::Kube(kube::Error::SerdeError(e)))?;
    let patch = conditional_status_patch(session.metadata.resource_version.as_deref(), value);
    let name = session.metadata.name.as_deref().unwrap_or_default();
    Ok(api
        .patch_status(name, &PatchParams::default(), &patch)
        .await?)
}

/// How often an action re-reads and re-decides after losing its write to a concurrent
/// change. A competing decision ends the loop through the state machine (409).
pub(crate) const CONFLICT_ATTEMPTS: usize = 8;

/// Runs `decide` on the latest version of the session and writes its status, again
/// from a fresh read when the write loses to a concurrent change.
pub(crate) async fn with_retry<T>(
    app: &App,
    name: &str,
    namespace: Option<&str>,
    mut decide: impl FnMut(
        &DebugSession,
    )
        -> Result<(breakglass_api::debug_session::DebugSessionStatus, T), ApiError>,
) -> Result<(DebugSession, T), ApiError> {
    let mut attempt = 1;
    loop {
        let session = fresh(app, name, namespace).await?;
        let (status, extra) = decide(&session)?;
        match write_status(app, &session, &status).await {
            Err(WriteError::Conflict) if attempt < CONFLICT_ATTEMPTS => attempt += 1,
            Err(WriteError::Conflict) => {
                return Err(ApiError::conflict(
                    "the debug session kept changing; please retry",
                ));
            }
            Err(e) => return Err(e.into()),
            Ok(written) => return Ok((written, extra)),
        }
    }
}
