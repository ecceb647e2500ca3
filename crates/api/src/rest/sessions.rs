//! REST wire types: breakglass sessions (`/api/breakglassSessions…`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::breakglass_session::{BreakglassSessionSpec, BreakglassSessionStatus};

/// Object metadata as clients see it: identity and labels, no annotations, no managed
/// fields, no finalizers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ObjectMeta")]
pub struct MetaView {
    /// Object name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Resource version (for optimistic concurrency in clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// RFC 3339 creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Owner references (the escalation that owns a session); left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerView>,
}

/// An owner reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OwnerReference")]
pub struct OwnerView {
    /// API version of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner.
    pub uid: String,
    /// Whether the owner is the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
}

/// A BreakglassSession as returned by every session endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassSession")]
pub struct SessionView {
    /// `breakglass.t-caas.telekom.com/v1alpha1`.
    pub api_version: String,
    /// `BreakglassSession`.
    pub kind: String,
    /// Metadata.
    pub metadata: MetaView,
    /// Spec.
    pub spec: BreakglassSessionSpec,
    /// Status (absent for a moment after creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BreakglassSessionStatus>,
}

impl SessionView {
    /// The session's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The session's state, when it has one yet.
    pub fn state(&self) -> Option<crate::BreakglassSessionState> {
        self.status.as_ref().and_then(|s| s.state)
    }
}

/// Body of `POST /api/breakglassSessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The approver's reason (mandatory when the escalation says so).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Query of `GET /api/breakglassSessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only sessions of this cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Only sessions of this user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Only sessions granting this group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Include the caller's own sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mine: Option<bool>,
    /// Include sessions the caller may approve (default true unless `mine` or `approvedByMe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<bool>,
    /// Include sessions the caller approved, rejected or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by_me: Option<bool>,
    /// Only sessions that grant access now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_only: Option<bool>,
    /// Comma-separated states (`pending`, `approved`, `waiting`, `rejected`, `withdrawn`,
    /// `expired`, `idleexpired`, `timeout`, `all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Approval-link check: the session name to check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The approval-reason rules a list entry carries for approvers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApprovalReasonView {
    /// Approvers must give a reason.
    pub mandatory: bool,
    /// What the reason should say.
    #[serde(default)]
    pub description: Option<String>,
}

/// One entry of `GET /api/breakglassSessions`: the session with its approval-reason rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionListItem {
    /// The session.
    #[serde(flatten)]
    pub session: SessionView,
    /// Whether approvers must give a reason.
    pub approval_reason: ApprovalReasonView,
}

/// `GET /api/breakglassSessions` → `{items, total}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SessionList {
    /// Sessions, newest first.
    pub items: Vec<SessionListItem>,
    /// How many.
    pub total: usize,
}

/// What the caller may do with one session (`approvalMeta` of a session read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalMeta {
    /// The caller may approve now.
    pub can_approve: bool,
    /// The caller may reject now.
    pub can_reject: bool,
    /// The caller requested the session.
    pub is_requester: bool,
    /// The caller is an approver of the session.
    pub is_approver: bool,
    /// The session's state (empty while it has none).
    pub session_state: String,
    /// Why the caller is not an approver (machine-readable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial_reason: Option<String>,
    /// Why the caller is not an approver (for people).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denial_message: Option<String>,
    /// The state in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_message: Option<String>,
}

/// `GET /api/breakglassSessions/{name}` → `{session, approvalMeta}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDetail {
    /// The session.
    pub session: SessionView,
    /// What the caller may do with it.
    pub approval_meta: ApprovalMeta,
}

/// `GET /api/breakglassSessions?token=<name>`: the approval-link check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenCheck {
    /// The session can still be decided on or is active.
    pub valid: bool,
    /// The session is approved or scheduled (absent on a 404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_active: Option<bool>,
    /// The caller may approve it now (absent on a 404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_approve: Option<bool>,
}

/// `POST /api/breakglass/request` → the new session with its name also at the top level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CreatedSession {
    /// The new session.
    #[serde(flatten)]
    pub session: SessionView,
    /// Its name.
    pub name: String,
}
