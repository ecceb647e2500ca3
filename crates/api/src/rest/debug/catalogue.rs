//! REST wire types: the debug-session catalogue — templates a caller may request,
//! the clusters and binding options of one template, and the pod templates.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use serde::{Deserialize, Serialize};

use crate::common::NamespaceSelectorTerm;
use crate::debug_common::{
    DebugApprovalReasonConfig, DebugRequestReasonConfig, DebugSessionConstraints,
    ExtraDeployVariable, SchedulingOptions,
};

/// Query of `GET /api/debugSessions/templates`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatesQuery {
    /// Also list templates marked `hidden`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_hidden: Option<bool>,
    /// Also list templates without a Ready cluster available to the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_unavailable: Option<bool>,
}

/// Query of `GET /api/debugSessions/templates/{name}/clusters`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClustersQuery {
    /// Only clusters whose ClusterConfig `environment` is this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Only clusters whose ClusterConfig `location` is this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Only options of bindings with this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding_name: Option<String>,
}

/// `GET /api/debugSessions/templates` → `{templates, total}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TemplateList {
    /// Templates, highest priority first, then by name.
    pub templates: Vec<TemplateView>,
    /// How many.
    pub total: usize,
}

/// `GET /api/debugSessions/podTemplates` → `{templates, total}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PodTemplateList {
    /// Pod templates, by name.
    pub templates: Vec<PodTemplateView>,
    /// How many.
    pub total: usize,
}

/// One container of a pod template, as listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    /// Container name.
    pub name: String,
    /// Image.
    pub image: Option<String>,
}

/// One DebugPodTemplate, as listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateView {
    /// Name.
    pub name: String,
    /// Display name (the name when unset).
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// `structured` (a pod spec) or `templateString` (rendered per session; its
    /// containers are known only then and listed empty).
    pub kind: String,
    /// Containers of a structured template.
    pub containers: Vec<ContainerView>,
}

/// Namespace rules as shown to requesters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceView {
    /// Allowed name patterns.
    pub allowed_patterns: Vec<String>,
    /// Allowed label selector terms.
    pub allowed_label_selectors: Vec<NamespaceSelectorTerm>,
    /// Denied name patterns.
    pub denied_patterns: Vec<String>,
    /// Denied label selector terms.
    pub denied_label_selectors: Vec<NamespaceSelectorTerm>,
    /// Namespace used when none is requested.
    pub default_namespace: String,
    /// Requesters may name a namespace.
    pub allow_user_namespace: bool,
}

/// One template in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    /// Template name.
    pub name: String,
    /// Display name (the name when unset).
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// `workload`, `kubectl-debug` or `hybrid`.
    pub mode: String,
    /// `DaemonSet` or `Deployment`.
    pub workload_type: Option<String>,
    /// The DebugPodTemplate used.
    pub pod_template_ref: Option<String>,
    /// Target namespace of the template.
    pub target_namespace: String,
    /// Duration and renewal limits.
    pub constraints: Option<DebugSessionConstraints>,
    /// `allowed.clusters` of the template.
    pub allowed_clusters: Vec<String>,
    /// `allowed.groups` of the template.
    pub allowed_groups: Vec<String>,
    /// The template names approvers.
    pub requires_approval: bool,
    /// Scheduling presets the caller may choose.
    pub scheduling_options: Option<SchedulingOptions>,
    /// Namespace rules of the template.
    pub namespace_constraints: NamespaceView,
    /// Extra deploy variables the caller may set.
    pub extra_deploy_variables: Vec<ExtraDeployVariable>,
    /// Sort order (higher first).
    pub priority: i32,
    /// Hidden from the default list.
    pub hidden: bool,
    /// Deprecated.
    pub deprecated: bool,
    /// Why it is deprecated.
    pub deprecation_message: Option<String>,
    /// At least one Ready cluster is available to the caller.
    pub has_available_clusters: bool,
    /// How many Ready clusters are available to the caller.
    pub available_cluster_count: usize,
}

/// `namespace/name` of a binding with its display prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingRefView {
    /// Binding name.
    pub name: String,
    /// Binding namespace.
    pub namespace: String,
    /// `displayNamePrefix` of the binding.
    pub display_name_prefix: Option<String>,
}

/// The scheduling constraints a session will get, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingSummary {
    /// One line for humans.
    pub summary: String,
    /// Node labels required.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Node labels excluded.
    pub denied_node_labels: Option<BTreeMap<String, String>>,
    /// Tolerations added.
    pub tolerations: Option<Vec<Toleration>>,
}

/// Who deploys the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImpersonationView {
    /// Deployment impersonates a service account.
    pub enabled: bool,
    /// Its name.
    pub service_account: Option<String>,
    /// Its namespace.
    pub namespace: Option<String>,
}

/// Approval as it applies to the caller on this cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    /// A request by the caller waits for an approver.
    pub required: bool,
    /// Approver groups.
    pub approver_groups: Vec<String>,
    /// Approver users.
    pub approver_users: Vec<String>,
    /// Approvers are configured, but `autoApproveFor` applies to the caller here.
    pub can_auto_approve: bool,
}

/// Whether e-mails are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    /// E-mails are sent.
    pub enabled: bool,
}

/// The effective configuration of one route on one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionDetails {
    /// Merged constraints.
    pub constraints: Option<DebugSessionConstraints>,
    /// Merged scheduling constraints.
    pub scheduling_constraints: Option<SchedulingSummary>,
    /// Scheduling presets the caller may choose.
    pub scheduling_options: Option<SchedulingOptions>,
    /// Merged namespace rules.
    pub namespace_constraints: NamespaceView,
    /// Deployment identity.
    pub impersonation: ImpersonationView,
    /// Auxiliary resource categories always deployed.
    pub required_auxiliary_resource_categories: Vec<String>,
    /// Approval for the caller.
    pub approval: ApprovalView,
    /// Request reason rules.
    pub request_reason: Option<DebugRequestReasonConfig>,
    /// Approval reason rules.
    pub approval_reason: Option<DebugApprovalReasonConfig>,
    /// Notifications.
    pub notification: NotificationView,
}

/// One way to request the template on a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingOptionView {
    /// The binding (`null`: the template's own `allowed.clusters`).
    pub binding_ref: Option<BindingRefView>,
    /// Name shown for this option.
    pub display_name: String,
    /// The effective configuration.
    #[serde(flatten)]
    pub details: OptionDetails,
}

/// Cluster health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatusView {
    /// The ClusterConfig is Ready.
    pub healthy: bool,
}

/// One cluster the template may be requested on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    /// ClusterConfig name.
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// `spec.environment`.
    pub environment: Option<String>,
    /// `spec.location`.
    pub location: Option<String>,
    /// `spec.site`.
    pub site: Option<String>,
    /// `spec.tenant`.
    pub tenant: Option<String>,
    /// Health.
    pub status: ClusterStatusView,
    /// The binding a request without `bindingRef` uses (`null`: none).
    pub binding_ref: Option<BindingRefView>,
    /// Every option, in the order a request without `bindingRef` considers them.
    pub binding_options: Vec<BindingOptionView>,
    /// The first option's configuration.
    #[serde(flatten)]
    pub details: Option<OptionDetails>,
}

/// `GET …/templates/{name}/clusters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateClustersView {
    /// Template name.
    pub template_name: String,
    /// Template display name.
    pub template_display_name: String,
    /// Clusters, by name.
    pub clusters: Vec<ClusterView>,
}
