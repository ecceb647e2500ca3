//! `DenyPolicy`: explicit deny rules evaluated before breakglass grants access.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{FailMode, ImpersonationMode, NamespaceFilter};
use crate::macros::string_enum;

/// Precedence of a policy without `spec.precedence`.
pub const DEFAULT_PRECEDENCE: i32 = 100;

/// Explicit deny rules, impersonation rules and pod security rules, evaluated at authorization time.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "DenyPolicy",
    plural = "denypolicies",
    singular = "denypolicy",
    shortname = "dpolicy",
    status = "DenyPolicyStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "Explicit deny rules evaluated at authorization time.",
    printcolumn(name = "Precedence", type_ = "integer", json_path = ".spec.precedence"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.rules) && size(self.rules) > 0) || (has(self.impersonationRules) && size(self.impersonationRules) > 0) || has(self.podSecurityRules)").message("at least one of rules, impersonationRules or podSecurityRules is required"))]
pub struct DenyPolicySpec {
    /// Where the policy applies; empty lists match everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<DenyPolicyScope>,
    /// Deny rules; the first matching rule denies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub rules: Option<Vec<DenyRule>>,
    /// Rules denying impersonation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub impersonation_rules: Option<Vec<ImpersonationDenyRule>>,
    /// Risk scoring of exec, attach and port-forward requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_rules: Option<PodSecurityRules>,
    /// Evaluation order, lower first (100 when unset; not negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precedence: Option<i32>,
}

impl DenyPolicySpec {
    /// `precedence`, defaulted.
    pub fn precedence(&self) -> i32 {
        self.precedence.unwrap_or(DEFAULT_PRECEDENCE)
    }
}

/// Where a DenyPolicy applies; each non-empty list must contain the request's value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DenyPolicyScope {
    /// Cluster names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub clusters: Option<Vec<String>>,
    /// Tenants (ClusterConfig spec.tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub tenants: Option<Vec<String>>,
    /// BreakglassSession names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub sessions: Option<Vec<String>>,
}

/// A rule denying matching requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DenyRule {
    /// Verbs, or `*`.
    #[schemars(length(max = 20))]
    pub verbs: Vec<String>,
    /// API groups (`""` for core), or `*`.
    #[schemars(length(max = 50))]
    pub api_groups: Vec<String>,
    /// Resources, or `*`.
    #[schemars(length(max = 100))]
    pub resources: Vec<String>,
    /// Namespaces the rule applies in; empty matches any namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NamespaceFilter>,
    /// Resource name globs; empty matches any name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub resource_names: Option<Vec<String>>,
    /// Subresources, or `*`; empty matches any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub subresources: Option<Vec<String>>,
}

/// A rule denying impersonation; an empty rule denies all impersonation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.identities) && size(self.identities) > 0 && has(self.actionVerbs) && size(self.actionVerbs) > 0)").message("identities and actionVerbs cannot be combined"))]
pub struct ImpersonationDenyRule {
    /// Impersonation modes; empty matches all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<Vec<ImpersonationMode>>,
    /// Kinds of identity impersonated; empty matches all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_resources: Option<Vec<ImpersonationIdentityResource>>,
    /// Identity globs (user, group, service account or node names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<Vec<String>>,
    /// Namespaces of impersonated service accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NamespaceFilter>,
    /// Keys of impersonated user extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_keys: Option<Vec<String>>,
    /// Verbs of constrained impersonation (`impersonate-on:<mode>:<verb>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_verbs: Option<Vec<String>>,
    /// Resources targeted through constrained impersonation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_resources: Option<Vec<String>>,
    /// API groups targeted through constrained impersonation.
    #[serde(
        default,
        rename = "targetAPIGroups",
        skip_serializing_if = "Option::is_none"
    )]
    pub target_api_groups: Option<Vec<String>>,
    /// Message returned on denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub reason: Option<String>,
}

string_enum! {
    /// Kind of identity an impersonation request targets.
    pub enum ImpersonationIdentityResource {
        /// User names.
        Users = "users",
        /// Groups.
        Groups = "groups",
        /// UIDs.
        Uids = "uids",
        /// User extras.
        UserExtras = "userextras",
        /// Service accounts.
        ServiceAccounts = "serviceaccounts",
        /// Nodes.
        Nodes = "nodes",
    }
}

/// Risk scoring of exec, attach and port-forward requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityRules {
    /// Which pod subresources are scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<PodSecurityScope>,
    /// Score of each risk factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_factors: Option<RiskFactors>,
    /// Actions by score, checked in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub thresholds: Option<Vec<RiskThreshold>>,
    /// Risk factors that deny regardless of score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub block_factors: Option<Vec<String>>,
    /// Pods that are not scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemptions: Option<PodSecurityExemptions>,
    /// Decision when the pod cannot be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_fail_mode")]
    pub fail_mode: Option<FailMode>,
}

impl PodSecurityRules {
    /// `failMode`, defaulted.
    pub fn fail_mode(&self) -> FailMode {
        self.fail_mode.unwrap_or(FailMode::Closed)
    }
}

fn default_fail_mode() -> Option<FailMode> {
    Some(FailMode::Closed)
}

/// Pod subresources subject to risk scoring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityScope {
    /// Subresources scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_scored_subresources", length(max = 10))]
    pub subresources: Option<Vec<String>>,
}

/// Subresources scored when `appliesTo.subresources` is unset.
pub const DEFAULT_SCORED_SUBRESOURCES: [&str; 3] = ["exec", "attach", "portforward"];

fn default_scored_subresources() -> Option<Vec<String>> {
    Some(
        DEFAULT_SCORED_SUBRESOURCES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    )
}

/// Score of each risk factor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RiskFactors {
    /// The pod uses the node's network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<i32>,
    /// The pod uses the node's PID namespace.
    #[serde(default, rename = "hostPID", skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<i32>,
    /// The pod uses the node's IPC namespace.
    #[serde(default, rename = "hostIPC", skip_serializing_if = "Option::is_none")]
    pub host_ipc: Option<i32>,
    /// A container is privileged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged_container: Option<i32>,
    /// A writable hostPath volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path_writable: Option<i32>,
    /// A read-only hostPath volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path_read_only: Option<i32>,
    /// A container runs as root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_root: Option<i32>,
    /// Score of each added Linux capability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<BTreeMap<String, i32>>,
}

/// Action for scores up to maxScore.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RiskThreshold {
    /// Highest score this threshold covers (not negative).
    pub max_score: i32,
    /// What to do.
    pub action: PodSecurityAction,
    /// Message (Go template with .Score, .Factors, .Pod, .Namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

string_enum! {
    /// Outcome of pod risk scoring.
    pub enum PodSecurityAction {
        /// Allow.
        Allow = "allow",
        /// Allow with a warning.
        Warn = "warn",
        /// Deny.
        Deny = "deny",
    }
}

/// Pods exempt from risk scoring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityExemptions {
    /// Namespaces whose pods are exempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NamespaceFilter>,
    /// Pods with all these labels are exempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_labels: Option<BTreeMap<String, String>>,
}

/// Observed state of a DenyPolicy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DenyPolicyStatus {
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}
