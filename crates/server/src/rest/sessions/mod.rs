//! `/api/breakglassSessions`: request ([`create`]), list and read ([`read`]), and decide
//! on sessions ([`decide`]). Who the caller is comes from [`crate::identity`] only.

use std::sync::Arc;

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionState as SessionState,
};
use breakglass_core::approval::{self, ClusterPolicy, Denial};
use breakglass_core::selector::is_dns1123_subdomain;
use jiff::Timestamp;
use kube::Api;
use kube::api::ListParams;
use serde::Deserialize;

use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::identity::{self, Me};
use crate::session_writes;
use crate::store::ClusterLookup;

pub mod create;
pub mod decide;
pub mod read;

pub use create::{create, create_alias};
pub use decide::{approve, cancel, drop_session, reject, withdraw};
pub use read::{get, list};

/// Body of `POST /api/breakglassSessions`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// Target cluster (ClusterConfig name).
    #[serde(default)]
    pub cluster: String,
    /// Requesting user; defaults to the caller and must be exactly the caller's user
    /// name on the cluster.
    #[serde(default)]
    pub user: Option<String>,
    /// The group to be granted (an escalation's `escalatedGroup`).
    #[serde(default)]
    pub group: String,
    /// Why access is needed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Requested validity in seconds (at least 60, at most the escalation's `maxValidFor`;
    /// 0 or absent means `maxValidFor`).
    #[serde(default)]
    pub duration: Option<i64>,
    /// RFC 3339 start time, at least 5 minutes ahead.
    #[serde(default)]
    pub scheduled_start_time: Option<String>,
}

/// Body of the approve and reject actions.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The approver's reason (mandatory when the escalation says so).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Query of `GET /api/breakglassSessions`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only sessions of this cluster.
    pub cluster: Option<String>,
    /// Only sessions of this user.
    pub user: Option<String>,
    /// Only sessions granting this group.
    pub group: Option<String>,
    /// Include the caller's own sessions.
    pub mine: Option<bool>,
    /// Include sessions the caller may approve (default true unless `mine` or `approvedByMe`).
    pub approver: Option<bool>,
    /// Include sessions the caller approved, rejected or cancelled.
    pub approved_by_me: Option<bool>,
    /// Only sessions that grant access now.
    pub active_only: Option<bool>,
    /// Comma-separated states (`pending`, `approved`, `waiting`, `rejected`, `withdrawn`,
    /// `expired`, `idleexpired`, `timeout`, `all`).
    pub state: Option<String>,
    /// Approval-link check: the session name to check.
    pub token: Option<String>,
}

/// What a caller does to an existing session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// An approver grants the request.
    Approve,
    /// An approver (or the requester) refuses the pending request.
    Reject,
    /// The requester takes back a pending request.
    Withdraw,
    /// The requester ends their approved or scheduled session.
    Drop,
    /// An approver ends an approved or scheduled session.
    Cancel,
}

impl Action {
    /// The path segment and the word used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Withdraw => "withdraw",
            Self::Drop => "drop",
            Self::Cancel => "cancel",
        }
    }
}

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

pub(crate) fn state_of(s: &BreakglassSession) -> Option<SessionState> {
    s.status.as_ref().and_then(|st| st.state)
}

/// Refuses a session name that is not a Kubernetes object name before it reaches a
/// hub request (a `,` or `=` would otherwise change a field selector).
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    if is_dns1123_subdomain(name) {
        return Ok(());
    }
    let shown: String = name.chars().take(64).collect();
    Err(ApiError::BadRequest(format!(
        "invalid session name {shown:?}: a session name is a Kubernetes object name \
         (at most 253 characters of a-z, 0-9, '-' and '.', starting and ending with a \
         letter or digit)"
    )))
}

/// A session by name, from the mirror or (right after a write the watch has not
/// delivered yet) from the hub.
pub async fn find(app: &App, name: &str) -> Result<BreakglassSession, ApiError> {
    validate_name(name)?;
    let several = || {
        ApiError::conflict(format!(
            "several sessions are named {name:?}; session names must be unique"
        ))
    };
    let mut found = app.stores.sessions.by_name(name);
    if found.len() > 1 {
        return Err(several());
    }
    if let Some(s) = found.pop() {
        return Ok((*s).clone());
    }
    let api: Api<BreakglassSession> = Api::all(app.hub.clone());
    let mut items = api
        .list(&ListParams::default().fields(&format!("metadata.name={name}")))
        .await?
        .items;
    if items.len() > 1 {
        return Err(several());
    }
    items
        .pop()
        .ok_or_else(|| ApiError::NotFound(format!("session {name:?} not found")))
}

/// The latest version of a session from the hub (for decisions, which must not act on
/// a stale copy).
async fn fresh(app: &App, name: &str) -> Result<BreakglassSession, ApiError> {
    let cached = find(app, name).await?;
    let api = session_writes::api_for(&app.hub, &cached);
    api.get_opt(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session {name:?} not found")))
}

fn cluster_policy(lookup: &ClusterLookup) -> ClusterPolicy<'_> {
    match lookup {
        ClusterLookup::Found(cc) => ClusterPolicy::Found(&cc.spec),
        ClusterLookup::Missing => ClusterPolicy::Missing,
        ClusterLookup::Ambiguous => ClusterPolicy::Ambiguous,
    }
}

/// The caller's relation to sessions: owner (by [`identity::Person`]) and approver (by
/// verified e-mail and groups). Built once per request so that a list checks every
/// session against one copy of the escalations.
struct Relation<'a> {
    app: &'a App,
    me: Me<'a>,
    caller: &'a Identity,
    groups: Vec<String>,
    escalations: Vec<Arc<BreakglassEscalation>>,
}

impl<'a> Relation<'a> {
    fn new(app: &'a App, caller: &'a Identity) -> Self {
        Self {
            app,
            me: Me::new(caller, &app.config, &app.stores),
            caller,
            groups: identity::groups(app.prefixes(), caller),
            escalations: app.stores.escalations.all(),
        }
    }

    /// True when the caller requested `session`.
    fn owns(&self, session: &BreakglassSession) -> bool {
        self.me.owns(session)
    }

    /// Whether the caller may approve (reject, cancel) `session`.
    fn approver(&self, session: &BreakglassSession) -> Result<(), Denial> {
        let prefixes = self.app.prefixes();
        let candidates = approval::candidates(
            session,
            self.escalations.iter().map(|e| e.as_ref()),
            prefixes,
        );
        let lookup = self.app.stores.cluster(&session.spec.cluster);
        // The self-approval block must hold for every name the caller could be, not only
        // the exact identity that owns the session.
        let claim =
            identity::claim_for_cluster(&self.app.config, &self.app.stores, &session.spec.cluster);
        let claim_missing = identity::Person::of_caller(self.caller, claim).is_err();
        let maybe_requester = identity::might_be_requester(
            self.owns(session),
            self.caller,
            &session.spec.user,
            claim_missing,
        );
        let approver = identity::approver(self.caller, &self.groups, maybe_requester);
        approval::authorize(
            &approver,
            session,
            &candidates,
            cluster_policy(&lookup),
            prefixes,
        )
        .map(|_| ())
    }

    /// True when the caller's verified e-mail is recorded as having decided `session`.
    fn decided(&self, session: &BreakglassSession) -> bool {
        let Some(email) = identity::verified_email(self.caller) else {
            return false;
        };
        session
            .status
            .as_ref()
            .and_then(|s| s.approvers.as_ref())
            .is_some_and(|a| a.iter().any(|x| x == email))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Regression: `a,b` reached the hub in a field selector and came back as a 500.
    #[test]
    fn session_names_are_object_names() {
        for bad in ["a,b", "a=b", "A", "", "a b", "-a", "a/b", &"a".repeat(254)] {
            let err = validate_name(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            assert!(err.to_string().contains("invalid session name"), "{err}");
        }
        for good in ["target-a-admin-x7k2p", "a.b", "a"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
    }
}
