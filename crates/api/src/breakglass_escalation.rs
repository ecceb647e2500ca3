//! `BreakglassEscalation`: who may request which group on which clusters, approved by whom.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{NamespaceFilter, NotificationExclusions, ReasonConfig};
use crate::macros::string_enum;

/// Default of `spec.maxValidFor`.
pub const DEFAULT_MAX_VALID_FOR: &str = "1h";
/// Default of `spec.approvalTimeout`.
pub const DEFAULT_APPROVAL_TIMEOUT: &str = "1h";
/// Retention of ended sessions when `spec.retainFor` is unset.
pub const DEFAULT_RETAIN_FOR: &str = "720h";

/// Who may request which group on which clusters, and who approves.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "BreakglassEscalation",
    plural = "breakglassescalations",
    singular = "breakglassescalation",
    shortname = "bge",
    namespaced,
    status = "BreakglassEscalationStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "Who may request which group on which clusters, and who approves.",
    printcolumn(
        name = "Clusters",
        type_ = "string",
        json_path = ".spec.allowed.clusters"
    ),
    printcolumn(name = "Groups", type_ = "string", json_path = ".spec.allowed.groups"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.blockSelfApproval) || !self.blockSelfApproval || (has(self.approvers.groups) && size(self.approvers.groups) > 0)").message("blockSelfApproval requires at least one approver group"))]
#[x_kube(validation = Rule::new("!has(self.blockSelfApproval) || !self.blockSelfApproval || ((!has(self.approvers.groups) || !(self.escalatedGroup in self.approvers.groups)) && (!has(self.approvers.hiddenFromUI) || !(self.escalatedGroup in self.approvers.hiddenFromUI)))").message("with blockSelfApproval the escalatedGroup must not be listed in approvers.groups or approvers.hiddenFromUI"))]
#[x_kube(validation = Rule::new("!has(self.allowedIdentityProviders) || size(self.allowedIdentityProviders) == 0 || ((!has(self.allowedIdentityProvidersForRequests) || size(self.allowedIdentityProvidersForRequests) == 0) && (!has(self.allowedIdentityProvidersForApprovers) || size(self.allowedIdentityProvidersForApprovers) == 0))").message("allowedIdentityProviders cannot be combined with allowedIdentityProvidersForRequests or allowedIdentityProvidersForApprovers"))]
#[x_kube(validation = Rule::new("(has(self.allowedIdentityProvidersForRequests) && size(self.allowedIdentityProvidersForRequests) > 0) == (has(self.allowedIdentityProvidersForApprovers) && size(self.allowedIdentityProvidersForApprovers) > 0)").message("allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers must be set together"))]
pub struct BreakglassEscalationSpec {
    /// Who may request, and for which clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<BreakglassEscalationAllowed>,
    /// Who approves (at least one user or group).
    pub approvers: BreakglassEscalationApprovers,
    /// Group granted by sessions of this escalation.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-zA-Z0-9._:-]+$"))]
    pub escalated_group: String,
    /// Session lifetime after approval, and upper bound of requested durations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_valid_for", regex(pattern = crate::DURATION_PATTERN))]
    pub max_valid_for: Option<String>,
    /// Expire approved sessions after this long without activity (at least 1m, at most maxValidFor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = crate::DURATION_PATTERN))]
    pub idle_timeout: Option<String>,
    /// How long ended sessions are kept (720h when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = crate::DURATION_PATTERN))]
    pub retain_for: Option<String>,
    /// Pending sessions time out after this (at most maxValidFor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_approval_timeout", regex(pattern = crate::DURATION_PATTERN))]
    pub approval_timeout: Option<String>,
    /// ClusterConfig names or globs; an alternative to allowed.clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), inner(length(max = 253)))]
    pub cluster_config_refs: Option<Vec<String>>,
    /// DenyPolicies copied onto sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(length(max = 253)))]
    pub deny_policy_refs: Option<Vec<String>>,
    /// Whether requesters must give a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<ReasonConfig>,
    /// Whether approvers must give a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<ReasonConfig>,
    /// Approver e-mail domains (falls back to the ClusterConfig's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(length(max = 253)))]
    pub allowed_approver_domains: Option<Vec<String>>,
    /// IdentityProviders allowed for requesting and approving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(length(max = 253)))]
    pub allowed_identity_providers: Option<Vec<String>>,
    /// IdentityProviders allowed for requesting (set together with allowedIdentityProvidersForApprovers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(length(max = 253)))]
    pub allowed_identity_providers_for_requests: Option<Vec<String>>,
    /// IdentityProviders allowed for approving (set together with allowedIdentityProvidersForRequests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(length(max = 253)))]
    pub allowed_identity_providers_for_approvers: Option<Vec<String>>,
    /// Requesters may not approve their own sessions (unset: the ClusterConfig decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_self_approval: Option<bool>,
    /// Send no request e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub disable_notifications: Option<bool>,
    /// Users and approver groups left out of request e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_exclusions: Option<NotificationExclusions>,
    /// MailProvider for this escalation's e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = crate::DNS_LABEL_PATTERN))]
    pub mail_provider: Option<String>,
    /// Relaxations of DenyPolicy podSecurityRules for sessions of this escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_overrides: Option<PodSecurityOverrides>,
    /// Session limits replacing the IdentityProvider's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_limits_override: Option<SessionLimitsOverride>,
}

fn default_max_valid_for() -> Option<String> {
    Some(DEFAULT_MAX_VALID_FOR.to_owned())
}

fn default_approval_timeout() -> Option<String> {
    Some(DEFAULT_APPROVAL_TIMEOUT.to_owned())
}

fn some_false() -> Option<bool> {
    Some(false)
}

/// Who may request an escalation, and for which clusters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakglassEscalationAllowed {
    /// Cluster names or globs (`prod-*`, `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), inner(length(max = 253)))]
    pub clusters: Option<Vec<String>>,
    /// Groups of requesters (exact names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), inner(length(max = 253)))]
    pub groups: Option<Vec<String>>,
}

/// Approvers of an escalation's sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.users) && size(self.users) > 0) || (has(self.groups) && size(self.groups) > 0)").message("at least one approver user or group is required"))]
pub struct BreakglassEscalationApprovers {
    /// Approving users (matched against the approver's e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(max = 253)))]
    pub users: Option<Vec<String>>,
    /// Approving groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 30), inner(length(max = 253)))]
    pub groups: Option<Vec<String>>,
    /// Approver users or groups hidden from the API and e-mails (they still approve through users or groups).
    #[serde(
        default,
        rename = "hiddenFromUI",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(max = 30), inner(length(max = 253)))]
    pub hidden_from_ui: Option<Vec<String>>,
}

/// Relaxations of DenyPolicy podSecurityRules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityOverrides {
    /// The overrides apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enabled: Option<bool>,
    /// Highest risk score allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub max_allowed_score: Option<i32>,
    /// Risk factors that do not block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub exempt_factors: Option<Vec<RiskFactor>>,
    /// Namespaces the overrides apply in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_scope: Option<NamespaceFilter>,
    /// Declared; not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_approval: Option<bool>,
    /// Declared; not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<PodSecurityOverrideApprovers>,
}

/// Approvers of pod security overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityOverrideApprovers {
    /// Approving groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Approving users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
}

string_enum! {
    /// A pod property that adds to the risk score.
    pub enum RiskFactor {
        /// The pod uses the node's network namespace.
        HostNetwork = "hostNetwork",
        /// The pod uses the node's PID namespace.
        HostPid = "hostPID",
        /// The pod uses the node's IPC namespace.
        HostIpc = "hostIPC",
        /// A container is privileged.
        PrivilegedContainer = "privilegedContainer",
        /// A writable hostPath volume.
        HostPathWritable = "hostPathWritable",
        /// A read-only hostPath volume.
        HostPathReadOnly = "hostPathReadOnly",
        /// A container runs as root.
        RunAsRoot = "runAsRoot",
    }
}

/// Session limits for an escalation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionLimitsOverride {
    /// No limits (exclusive with the other fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub unlimited: Option<bool>,
    /// Active sessions per user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_active_sessions_per_user: Option<i32>,
    /// Active sessions of this escalation in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_active_sessions_total: Option<i32>,
}

/// Observed state of a BreakglassEscalation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakglassEscalationStatus {
    /// Members of each approver group, from group sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver_group_members: Option<BTreeMap<String, Vec<String>>>,
    /// Members of each group per IdentityProvider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_group_memberships: Option<BTreeMap<String, BTreeMap<String, Vec<String>>>>,
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Ready, ApprovalGroupMembersResolved, ConfigValidated, ClusterRefsValid, IDPRefsValid, DenyPolicyRefsValid, MailProviderValid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

string_enum! {
    /// Condition types of BreakglassEscalations.
    pub enum BreakglassEscalationConditionType {
        /// Usable for requests.
        Ready = "Ready",
        /// Approver group members were resolved.
        ApprovalGroupMembersResolved = "ApprovalGroupMembersResolved",
        /// The spec passed validation.
        ConfigValidated = "ConfigValidated",
        /// Referenced ClusterConfigs exist.
        ClusterRefsValid = "ClusterRefsValid",
        /// Referenced IdentityProviders exist.
        IdpRefsValid = "IDPRefsValid",
        /// Referenced DenyPolicies exist.
        DenyPolicyRefsValid = "DenyPolicyRefsValid",
        /// The referenced MailProvider exists.
        MailProviderValid = "MailProviderValid",
    }
}

impl BreakglassEscalation {
    /// Whether the escalation may be offered and used: `Ready=True`, or no conditions at generation 0.
    pub fn is_ready(&self) -> bool {
        let conditions = self.status.as_ref().and_then(|s| s.conditions.as_deref());
        match conditions {
            Some(c) if !c.is_empty() => crate::common::condition_is_true(
                c,
                BreakglassEscalationConditionType::Ready.as_str(),
            ),
            _ => self.metadata.generation.unwrap_or(0) == 0,
        }
    }
}
