//! Types shared by the debug kinds: DebugSessionTemplate, DebugSessionClusterBinding and DebugSession.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeSelector, PodAffinityTerm, PreferredSchedulingTerm, Toleration, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{ImpersonationMode, NamespaceFilter, NotificationExclusions};
use crate::macros::string_enum;

/// Default of `maxDuration` in template constraints.
pub const DEFAULT_MAX_DURATION: &str = "4h";
/// Default of `defaultDuration` in template constraints.
pub const DEFAULT_DURATION: &str = "1h";
/// Renewals allowed when `maxRenewals` is unset.
pub const DEFAULT_MAX_RENEWALS: i32 = 3;
/// Default of `maxConcurrentSessions` in template constraints.
pub const DEFAULT_MAX_CONCURRENT_SESSIONS: i32 = 2;
/// Namespace debug workloads go to when nothing else is configured.
pub const DEFAULT_TARGET_NAMESPACE: &str = "breakglass-debug";

// ---------------------------------------------------------------------------------------------
// Pod operations

/// Which pod subresources the authorization webhook allows on the session's pods.
///
/// An absent block allows exec, attach and port-forward and denies logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowedPodOperations {
    /// Allow `pods/exec` (also needed by `kubectl cp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub exec: Option<bool>,
    /// Allow `pods/attach`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub attach: Option<bool>,
    /// Allow `pods/log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub logs: Option<bool>,
    /// Allow `pods/portforward`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub port_forward: Option<bool>,
}

impl AllowedPodOperations {
    /// What applies when no block is set: exec, attach and port-forward, no logs.
    pub const UNSET: Self = Self {
        exec: Some(true),
        attach: Some(true),
        logs: Some(false),
        port_forward: Some(true),
    };

    /// `exec`, defaulted.
    pub fn exec(&self) -> bool {
        self.exec.unwrap_or(true)
    }

    /// `attach`, defaulted.
    pub fn attach(&self) -> bool {
        self.attach.unwrap_or(true)
    }

    /// `logs`, defaulted.
    pub fn logs(&self) -> bool {
        self.logs.unwrap_or(false)
    }

    /// `portForward`, defaulted.
    pub fn port_forward(&self) -> bool {
        self.port_forward.unwrap_or(true)
    }

    /// Whether a pod subresource (`exec`, `attach`, `log`, `portforward`) is allowed; others are not.
    pub fn allows_subresource(&self, subresource: &str) -> bool {
        match subresource {
            "exec" => self.exec(),
            "attach" => self.attach(),
            "log" => self.logs(),
            "portforward" => self.port_forward(),
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scheduling

/// Mandatory scheduling rules for debug pods, applied after the template's own settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingConstraints {
    /// Hard node affinity, ANDed with the pod's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_node_affinity: Option<NodeSelector>,
    /// Soft node affinity terms, added to the pod's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_node_affinity: Option<Vec<PreferredSchedulingTerm>>,
    /// Hard pod anti-affinity terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_pod_anti_affinity: Option<Vec<PodAffinityTerm>>,
    /// Soft pod anti-affinity terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_pod_anti_affinity: Option<Vec<WeightedPodAffinityTerm>>,
    /// Node labels merged into the pod's nodeSelector (these win on conflicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Tolerations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Topology spread constraints added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    /// Glob patterns of node names that must not run debug pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_nodes: Option<Vec<String>>,
    /// Node labels that exclude a node; the value `*` matches any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_node_labels: Option<BTreeMap<String, String>>,
}

/// Scheduling presets the requester chooses from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingOptions {
    /// The requester must choose an option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub required: Option<bool>,
    /// The presets; at most one is the default.
    #[schemars(length(min = 1))]
    pub options: Vec<SchedulingOption>,
}

impl SchedulingOptions {
    /// The option marked as default, if any.
    pub fn default_option(&self) -> Option<&SchedulingOption> {
        self.options.iter().find(|o| o.default == Some(true))
    }

    /// The option with this name.
    pub fn option(&self, name: &str) -> Option<&SchedulingOption> {
        self.options.iter().find(|o| o.name == name)
    }
}

/// One scheduling preset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingOption {
    /// Identifier of the option (DNS label).
    #[schemars(length(min = 1, max = 63), regex(pattern = crate::DNS_LABEL_PATTERN))]
    pub name: String,
    /// Name shown to users.
    #[schemars(length(min = 1))]
    pub display_name: String,
    /// Explanation shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Pre-selected option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// Constraints added when the option is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_constraints: Option<SchedulingConstraints>,
    /// Groups that may choose the option (empty: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_groups: Option<Vec<String>>,
    /// Users that may choose the option (empty: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_users: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------------------------
// Impersonation

/// Identity the controller impersonates on the target cluster when it deploys debug resources.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.groups) || !self.groups.exists(g, g == 'system:masters')").message("impersonation.groups must not contain system:masters"))]
#[x_kube(validation = Rule::new("!has(self.mode) || self.mode != 'associated-node'").message("impersonation mode associated-node cannot be used to deploy debug resources"))]
#[x_kube(validation = Rule::new("!has(self.mode) || !(self.mode in ['serviceaccount', 'arbitrary-node', 'associated-node']) || ((!has(self.groups) || size(self.groups) == 0) && !has(self.uid) && (!has(self.extra) || size(self.extra) == 0))").message("serviceaccount and node impersonation modes take a user name only (no groups, uid or extra)"))]
#[x_kube(validation = Rule::new("!has(self.mode) || self.mode != 'user-info' || !has(self.userName) || !(self.userName.startsWith('system:serviceaccount:') || self.userName.startsWith('system:node:'))").message("user-info impersonation cannot target service account or node user names"))]
#[x_kube(validation = Rule::new(r"!has(self.mode) || self.mode != 'arbitrary-node' || !has(self.userName) || self.userName.matches('^(system:node:)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("node impersonation needs a node name that is a DNS subdomain"))]
pub struct ImpersonationConfig {
    /// Existing ServiceAccount to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountReference>,
    /// Impersonation mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ImpersonationMode>,
    /// User name to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub user_name: Option<String>,
    /// UID to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub uid: Option<String>,
    /// Groups to impersonate (never `system:masters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), inner(length(max = 253)))]
    pub groups: Option<Vec<String>>,
    /// Extra user info to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 32))]
    pub extra: Option<BTreeMap<String, Vec<String>>>,
    /// Identities the controller may impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(max = 253)))]
    pub allowed_identities: Option<Vec<String>>,
    /// Verbs the impersonated identity may use (`impersonate-on:<mode>:<verb>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), inner(length(max = 63)))]
    pub action_verbs: Option<Vec<String>>,
}

/// A ServiceAccount by namespace and name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountReference {
    /// Name of the ServiceAccount.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the ServiceAccount.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
}

// ---------------------------------------------------------------------------------------------
// Auxiliary resources

/// An extra resource rendered and deployed with a debug session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuxiliaryResource {
    /// Unique identifier within the template (DNS label).
    #[schemars(length(min = 1, max = 63), regex(pattern = crate::DNS_LABEL_PATTERN))]
    pub name: String,
    /// What the resource is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Category used to enable or require resources (lowercase letters, digits, hyphens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub category: Option<String>,
    /// Go template producing one or more YAML documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_string: Option<String>,
    /// Deprecated: a single embedded resource; use templateString.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_object")]
    pub template: Option<RawExtension>,
    /// Create the resource before the debug workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub create_before: Option<bool>,
    /// Delete the resource when the session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub delete_after: Option<bool>,
    /// What a failed creation does to the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_failure_policy")]
    pub failure_policy: Option<AuxiliaryResourceFailurePolicy>,
    /// Deprecated: use failurePolicy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

impl AuxiliaryResource {
    /// `createBefore`, defaulted.
    pub fn create_before(&self) -> bool {
        self.create_before.unwrap_or(true)
    }

    /// `deleteAfter`, defaulted.
    pub fn delete_after(&self) -> bool {
        self.delete_after.unwrap_or(true)
    }

    /// `failurePolicy`, defaulted.
    pub fn failure_policy(&self) -> AuxiliaryResourceFailurePolicy {
        self.failure_policy
            .unwrap_or(AuxiliaryResourceFailurePolicy::Fail)
    }
}

fn default_failure_policy() -> Option<AuxiliaryResourceFailurePolicy> {
    Some(AuxiliaryResourceFailurePolicy::Fail)
}

string_enum! {
    /// What a failed auxiliary resource does to the session.
    pub enum AuxiliaryResourceFailurePolicy {
        /// The session fails.
        Fail = "fail",
        /// The failure is ignored.
        Ignore = "ignore",
        /// The failure is reported and the session continues.
        Warn = "warn",
    }
}

/// A kind of Kubernetes object by API group and kind (`*` for every kind of the group).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceKindRef {
    /// API group (`""` for the core group).
    #[serde(default)]
    #[schemars(length(max = 253))]
    pub group: String,
    /// Kind, or `*` for every kind of the group.
    #[schemars(length(min = 1, max = 63))]
    pub kind: String,
}

// ---------------------------------------------------------------------------------------------
// Extra deploy variables

/// A user input exposed to templates as `{{ .vars.<name> }}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtraDeployVariable {
    /// Variable name (a Go identifier).
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    )]
    pub name: String,
    /// Label shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Help text shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Kind of input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_input_type")]
    pub input_type: Option<ExtraDeployInputType>,
    /// Choices of select and multiSelect inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<ExtraDeployOption>>,
    /// Value used when the user gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_json")]
    pub default: Option<serde_json::Value>,
    /// The user must give a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Constraints on the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ExtraDeployValidation>,
    /// Groups that may set the variable (empty: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_groups: Option<Vec<String>>,
    /// Shown under advanced options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced: Option<bool>,
    /// UI group the input belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl ExtraDeployVariable {
    /// `inputType`, defaulted.
    pub fn input_type(&self) -> ExtraDeployInputType {
        self.input_type.unwrap_or(ExtraDeployInputType::Text)
    }
}

fn default_input_type() -> Option<ExtraDeployInputType> {
    Some(ExtraDeployInputType::Text)
}

string_enum! {
    /// Kind of an extra deploy variable input.
    pub enum ExtraDeployInputType {
        /// true or false.
        Boolean = "boolean",
        /// Free text.
        Text = "text",
        /// A number.
        Number = "number",
        /// A storage quantity such as `10Gi`.
        StorageSize = "storageSize",
        /// One of the options.
        Select = "select",
        /// Any subset of the options.
        MultiSelect = "multiSelect",
    }
}

/// A choice of a select or multiSelect variable.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtraDeployOption {
    /// Value passed to templates.
    pub value: String,
    /// Label shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Help text shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Shown but not selectable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Groups that may choose this option (empty: everyone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_groups: Option<Vec<String>>,
}

/// Constraints on an extra deploy variable's value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtraDeployValidation {
    /// Regular expression a text value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Message shown when the pattern does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern_error: Option<String>,
    /// Minimum text length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<i32>,
    /// Maximum text length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i32>,
    /// Minimum number (decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    /// Maximum number (decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    /// Minimum storage quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_storage: Option<String>,
    /// Maximum storage quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_storage: Option<String>,
    /// Minimum number of selected options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<i32>,
    /// Maximum number of selected options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// Access, approval, constraints

/// Who may request a debug session, and where.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionAllowed {
    /// Groups that may request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Users that may request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Cluster names or globs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    /// Labels of ClusterConfigs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
}

/// Who approves debug sessions; no approvers means sessions are approved automatically.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionApprovers {
    /// Approver groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Approver users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Requests approved without an approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approve_for: Option<AutoApproveConfig>,
}

impl DebugSessionApprovers {
    /// True when at least one approver group or user is named.
    pub fn has_approvers(&self) -> bool {
        self.groups.as_ref().is_some_and(|g| !g.is_empty())
            || self.users.as_ref().is_some_and(|u| !u.is_empty())
    }
}

/// Requests approved automatically.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoApproveConfig {
    /// Requesters in these groups are approved automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Requests for clusters matching these globs are approved automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
}

/// Duration and renewal limits of debug sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionConstraints {
    /// Longest total session duration, renewals included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_duration", regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub max_duration: Option<String>,
    /// Duration when the requester asks for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_duration", regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub default_duration: Option<String>,
    /// Sessions may be renewed (unset: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_renewal: Option<bool>,
    /// Maximum number of renewals (unset: 3; 0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_renewals: Option<i32>,
    /// Deprecated: use maxRenewals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_limit: Option<i32>,
    /// Maximum concurrent sessions per template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_concurrent_sessions")]
    pub max_concurrent_sessions: Option<i32>,
}

impl DebugSessionConstraints {
    /// `allowRenewal`, defaulted.
    pub fn allow_renewal(&self) -> bool {
        self.allow_renewal.unwrap_or(true)
    }

    /// `maxRenewals`, defaulted.
    pub fn max_renewals(&self) -> i32 {
        self.max_renewals.unwrap_or(DEFAULT_MAX_RENEWALS)
    }

    /// `maxDuration`, defaulted.
    pub fn max_duration(&self) -> &str {
        self.max_duration.as_deref().unwrap_or(DEFAULT_MAX_DURATION)
    }

    /// `defaultDuration`, defaulted.
    pub fn default_duration(&self) -> &str {
        self.default_duration.as_deref().unwrap_or(DEFAULT_DURATION)
    }
}

fn default_max_duration() -> Option<String> {
    Some(DEFAULT_MAX_DURATION.to_owned())
}

fn default_duration() -> Option<String> {
    Some(DEFAULT_DURATION.to_owned())
}

fn default_max_concurrent_sessions() -> Option<i32> {
    Some(DEFAULT_MAX_CONCURRENT_SESSIONS)
}

/// Per-binding overrides of template constraints; only the fields set here replace the template's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionConstraintsOverride {
    /// Longest total session duration, renewals included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub max_duration: Option<String>,
    /// Duration when the requester asks for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub default_duration: Option<String>,
    /// Sessions may be renewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_renewal: Option<bool>,
    /// Maximum number of renewals (0: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_renewals: Option<i32>,
    /// Deprecated: use maxRenewals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_limit: Option<i32>,
    /// Maximum concurrent sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_sessions: Option<i32>,
}

/// Where debug workloads may be deployed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceConstraints {
    /// Namespaces a requester may choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_namespaces: Option<NamespaceFilter>,
    /// Namespaces that are never allowed (wins over allowedNamespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_namespaces: Option<NamespaceFilter>,
    /// Namespace used when the requester names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_target_namespace", length(max = 63))]
    pub default_namespace: Option<String>,
    /// Requesters may name a namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub allow_user_namespace: Option<bool>,
    /// Requesters may not name a namespace (narrows a template in a binding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_user_namespace: Option<bool>,
    /// Create the namespace when it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub create_if_not_exists: Option<bool>,
    /// Labels of namespaces created for sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_labels: Option<BTreeMap<String, String>>,
}

fn default_target_namespace() -> Option<String> {
    Some(DEFAULT_TARGET_NAMESPACE.to_owned())
}

/// Per-binding narrowing of template namespace constraints; only the fields set here apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceConstraintsOverride {
    /// Intersected with the template's allowed namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_namespaces: Option<NamespaceFilter>,
    /// Added to the template's denied namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_namespaces: Option<NamespaceFilter>,
    /// Namespace used when the requester names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub default_namespace: Option<String>,
    /// Requesters may name a namespace (cannot enable what the template disables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_user_namespace: Option<bool>,
    /// Requesters may not name a namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_user_namespace: Option<bool>,
    /// Create the namespace when it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_if_not_exists: Option<bool>,
    /// Labels of namespaces created for sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_labels: Option<BTreeMap<String, String>>,
}

// ---------------------------------------------------------------------------------------------
// Notifications and reasons

/// E-mail behaviour of debug sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionNotificationConfig {
    /// Send e-mails at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub enabled: Option<bool>,
    /// E-mail approvers on a new request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub notify_on_request: Option<bool>,
    /// E-mail the requester on approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub notify_on_approval: Option<bool>,
    /// E-mail on expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub notify_on_expiry: Option<bool>,
    /// E-mail on termination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub notify_on_termination: Option<bool>,
    /// Further recipients (e-mail addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(regex(pattern = r"@")))]
    pub additional_recipients: Option<Vec<String>>,
    /// Users and groups that receive no e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_recipients: Option<NotificationExclusions>,
}

/// Rules for the requester's reason of a debug session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugRequestReasonConfig {
    /// A reason is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub mandatory: Option<bool>,
    /// Shortest accepted reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_min_reason_length", range(min = 0))]
    pub min_length: Option<i32>,
    /// Longest accepted reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_reason_length", range(min = 1))]
    pub max_length: Option<i32>,
    /// Hint shown next to the reason input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Reasons offered for selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_reasons: Option<Vec<String>>,
}

/// Rules for the approver's reason of a debug session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugApprovalReasonConfig {
    /// A reason is required to approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub mandatory: Option<bool>,
    /// A reason is required to reject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub mandatory_for_rejection: Option<bool>,
    /// Shortest accepted reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_min_reason_length", range(min = 0))]
    pub min_length: Option<i32>,
    /// Hint shown next to the reason input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn default_min_reason_length() -> Option<i32> {
    Some(10)
}

fn default_max_reason_length() -> Option<i32> {
    Some(1000)
}

pub(crate) fn some_true() -> Option<bool> {
    Some(true)
}

pub(crate) fn some_false() -> Option<bool> {
    Some(false)
}
