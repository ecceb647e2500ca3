//! REST wire types: escalations (`GET /api/breakglassEscalations`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use super::sessions::MetaView;
use crate::breakglass_escalation::{BreakglassEscalationAllowed, SessionLimitsOverride};
use crate::common::ReasonConfig;

/// Query of `GET /api/breakglassEscalations`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationQuery {
    /// Only escalations that target this cluster (a name, or a glob matched against the
    /// escalation's cluster entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Only escalations that are Ready and target at least one Ready, registered
    /// cluster (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_only: Option<bool>,
}

/// `GET /api/breakglassEscalations` → `{items, total}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EscalationList {
    /// Escalations, by namespace and name.
    pub items: Vec<EscalationView>,
    /// How many.
    pub total: usize,
}

/// A BreakglassEscalation as `GET /api/breakglassEscalations` returns it: the spec
/// fields a requester needs, approvers without the `hiddenFromUI` ones, and only the
/// readiness part of the status (the synced approver group members would name hidden
/// approvers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassEscalation")]
pub struct EscalationView {
    /// `breakglass.t-caas.telekom.com/v1alpha1`.
    pub api_version: String,
    /// `BreakglassEscalation`.
    pub kind: String,
    /// Metadata.
    pub metadata: MetaView,
    /// Spec: what a requester needs; approvers without the hidden ones.
    pub spec: EscalationSpecView,
    /// Readiness.
    pub status: EscalationStatusView,
}

impl EscalationView {
    /// True when the escalation's `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    }
}

/// An escalation's spec as requesters see it. Built field by field: notification
/// settings (`notificationExclusions` lists hidden approvers), `podSecurityOverrides`
/// (its own approvers) and anything added to the spec later are never returned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassEscalationSpec")]
pub struct EscalationSpecView {
    /// Who may request, and for which clusters (hidden approvers left out of `groups`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<BreakglassEscalationAllowed>,
    /// Who approves, without the hidden approvers.
    pub approvers: ApproversView,
    /// Group granted by sessions of this escalation.
    pub escalated_group: String,
    /// Session lifetime after approval, and upper bound of requested durations (1h when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_valid_for: Option<String>,
    /// Approved sessions expire after this long without activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    /// How long ended sessions are kept (720h when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_for: Option<String>,
    /// Pending sessions time out after this (1h when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout: Option<String>,
    /// ClusterConfig names or globs; an alternative to allowed.clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_config_refs: Option<Vec<String>>,
    /// DenyPolicies copied onto sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_policy_refs: Option<Vec<String>>,
    /// Whether requesters must give a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<ReasonConfig>,
    /// Whether approvers must give a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<ReasonConfig>,
    /// Approver e-mail domains (falls back to the ClusterConfig's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_approver_domains: Option<Vec<String>>,
    /// IdentityProviders allowed for requesting and approving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_identity_providers: Option<Vec<String>>,
    /// IdentityProviders allowed for requesting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_identity_providers_for_requests: Option<Vec<String>>,
    /// IdentityProviders allowed for approving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_identity_providers_for_approvers: Option<Vec<String>>,
    /// Requesters may not approve their own sessions (unset: the ClusterConfig decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_self_approval: Option<bool>,
    /// Session limits replacing the IdentityProvider's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_limits_override: Option<SessionLimitsOverride>,
}

/// The visible approvers of an escalation (never `hiddenFromUI`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassEscalationApprovers")]
pub struct ApproversView {
    /// Approving users (matched against the approver's e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Approving groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// The readiness part of an escalation's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationStatusView {
    /// Generation last processed by the reconciler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions (Ready and the checks behind it); left out when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionView>,
}

/// A condition of an escalation without its `message` (validation messages can quote
/// approvers, hidden ones included); `reason` says which check failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "EscalationCondition")]
pub struct ConditionView {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason in CamelCase.
    pub reason: String,
    /// When the status last changed.
    pub last_transition_time: Time,
    /// Generation the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
