//! REST wire types: explain (`POST /api/explain`) and the escalations that would allow
//! a request (`POST /api/breakglassEscalations/forRequest`).
//!
//! Both take a request on a target cluster in the shape of a SubjectAccessReview's
//! attributes; both answer from the same decision pipeline the authorization webhook runs.

use serde::{Deserialize, Serialize};

/// Upper bound of every string field of a request (names, paths, groups).
pub const MAX_FIELD_LEN: usize = 1024;
/// Upper bound of the `groups` list.
pub const MAX_GROUPS: usize = 256;

/// The resource part of a request; absent fields mean what the apiserver means by an
/// empty string (core group, collection, cluster scope).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestResource {
    /// API group (`""` for core).
    #[serde(default)]
    pub group: String,
    /// API version (informational).
    #[serde(default)]
    pub version: String,
    /// Resource (`pods`).
    #[serde(default)]
    pub resource: String,
    /// Subresource (`exec`, `log`).
    #[serde(default)]
    pub subresource: String,
    /// Namespace; empty for cluster-scoped requests.
    #[serde(default)]
    pub namespace: String,
    /// Object name; empty for collection requests.
    #[serde(default)]
    pub name: String,
}

/// The non-resource part of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestNonResource {
    /// URL path (`/healthz`).
    #[serde(default)]
    pub path: String,
}

/// Body of `POST /api/explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainRequest {
    /// Target cluster (ClusterConfig name).
    #[serde(default)]
    pub cluster: String,
    /// The Kubernetes user name to explain for; defaults to the caller. Another user's
    /// request needs membership of `server.adminGroups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Groups as the target apiserver sees them (OIDC prefix included); defaults to the
    /// caller's token groups with the configured prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Verb (`get`, `list`, `create`, …).
    #[serde(default)]
    pub verb: String,
    /// A resource request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_attributes: Option<RequestResource>,
    /// A non-resource request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_resource_attributes: Option<RequestNonResource>,
}

/// Body of `POST /api/breakglassEscalations/forRequest`: the caller's own request (no
/// `user`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForRequestQuery {
    /// Target cluster (ClusterConfig name).
    #[serde(default)]
    pub cluster: String,
    /// Groups as the target apiserver sees them; only a subset of the caller's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Verb.
    #[serde(default)]
    pub verb: String,
    /// A resource request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_attributes: Option<RequestResource>,
    /// A non-resource request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_resource_attributes: Option<RequestNonResource>,
}

/// The breakglass session a decision involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainSession {
    /// Session name.
    pub name: String,
    /// Session namespace.
    pub namespace: String,
    /// The granted group.
    pub group: String,
    /// The group spelling the target cluster accepted.
    pub impersonation_group: String,
}

/// The DenyPolicy a decision involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainPolicy {
    /// Policy name.
    pub name: String,
    /// `rules`, `impersonationRules` or `podSecurityRules`.
    pub kind: String,
    /// Index of the matching rule, where one matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
    /// `global`, or the session whose pass matched.
    pub pass: String,
    /// Why it could not be evaluated (the request was then denied, fail closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One stage of the pipeline, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainStep {
    /// Stage name: `cluster`, `debug-session`, `impersonation`, `deny-policy`,
    /// `sessions`, `group-check`.
    pub stage: String,
    /// `passed` (did not decide), `allowed`, `denied` (decided here), `not-reached`
    /// or `skipped` (does not apply to this request).
    pub outcome: String,
    /// What the stage found.
    pub detail: String,
}

/// Answer of `POST /api/explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExplainResponse {
    /// The cluster.
    pub cluster: String,
    /// The user the request was explained for.
    pub user: String,
    /// The groups the request carried.
    pub groups: Vec<String>,
    /// The request in words (`list pods in namespace x`).
    pub request: String,
    /// Whether breakglass would allow the request now.
    pub allowed: bool,
    /// The stage that decided (the webhook's stage names: `session`, `deny-policy`,
    /// `no-session`, `final`, …).
    pub stage: String,
    /// The webhook's `deny_source` label for this decision.
    pub source: String,
    /// The reason the apiserver would show the user.
    pub reason: String,
    /// The session that allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<ExplainSession>,
    /// The debug session that allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_session: Option<String>,
    /// The DenyPolicy that denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ExplainPolicy>,
    /// Every stage, in pipeline order.
    pub trace: Vec<ExplainStep>,
    /// Warnings that did not change the decision.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// A session of the caller for an escalation's group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExistingSession {
    /// Session name.
    pub name: String,
    /// Session namespace.
    pub namespace: String,
    /// `Pending`, `Approved` or `WaitingForScheduledTime`.
    pub state: String,
}

/// One escalation considered for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationForRequest {
    /// Escalation name.
    pub name: String,
    /// Escalation namespace.
    pub namespace: String,
    /// The group a session for it grants (what to request).
    pub group: String,
    /// Whether a session for this group would allow the request.
    pub allowed: bool,
    /// The stage that decided, as in explain.
    pub stage: String,
    /// Why (the decision's reason).
    pub reason: String,
    /// The caller's pending, scheduled or active session for this group, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<ExistingSession>,
}

/// Answer of `POST /api/breakglassEscalations/forRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForRequestResponse {
    /// The request in words.
    pub request: String,
    /// Escalations whose group would allow the request, by namespace and name.
    pub items: Vec<EscalationForRequest>,
    /// `items.len()`.
    pub total: usize,
    /// Escalations available to the caller on the cluster that would not allow it, with
    /// the reason.
    #[serde(default)]
    pub not_allowing: Vec<EscalationForRequest>,
}
