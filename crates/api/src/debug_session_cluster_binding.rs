//! `DebugSessionClusterBinding`: makes DebugSessionTemplates available on clusters, with per-binding overrides.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::debug_common::{
    AllowedPodOperations, DebugApprovalReasonConfig, DebugRequestReasonConfig, DebugSessionAllowed,
    DebugSessionApprovers, DebugSessionConstraintsOverride, DebugSessionNotificationConfig,
    ImpersonationConfig, NamespaceConstraintsOverride, ResourceKindRef, SchedulingConstraints,
    SchedulingOptions, some_false,
};
use crate::macros::string_enum;

/// Makes DebugSessionTemplates available on clusters for a team, with per-binding overrides.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "DebugSessionClusterBinding",
    plural = "debugsessionclusterbindings",
    singular = "debugsessionclusterbinding",
    shortname = "dscb",
    shortname = "debugbinding",
    namespaced,
    status = "DebugSessionClusterBindingStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "Makes DebugSessionTemplates available on clusters, with per-binding overrides.",
    printcolumn(
        name = "Template",
        type_ = "string",
        json_path = ".spec.templateRef.name"
    ),
    printcolumn(
        name = "Clusters",
        type_ = "string",
        json_path = ".status.resolvedClusters[*].name"
    ),
    printcolumn(
        name = "Active",
        type_ = "integer",
        json_path = ".status.activeSessionCount"
    ),
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
pub struct DebugSessionClusterBindingSpec {
    /// Name shown to users (replaces the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Prefix of the template's display name (templateSelector only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name_prefix: Option<String>,
    /// What the binding is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The bound template (exclusive with templateSelector; one is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<TemplateReference>,
    /// Labels of the bound templates (exclusive with templateRef).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_selector: Option<LabelSelector>,
    /// Cluster names (this and/or clusterSelector is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<String>>,
    /// Labels of ClusterConfigs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selector: Option<LabelSelector>,
    /// Who may request (replaces the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<DebugSessionAllowed>,
    /// Who approves (replaces the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<DebugSessionApprovers>,
    /// Mandatory scheduling rules (replace the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_constraints: Option<SchedulingConstraints>,
    /// Scheduling presets (replace the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_options: Option<SchedulingOptions>,
    /// Overrides of the template's constraints, field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<DebugSessionConstraintsOverride>,
    /// Narrowing of the template's namespace constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_constraints: Option<NamespaceConstraintsOverride>,
    /// Deploy identity (replaces the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonation: Option<ImpersonationConfig>,
    /// Auxiliary resource categories always deployed (added to the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_auxiliary_resource_categories: Option<Vec<String>>,
    /// Enables or disables auxiliary resource categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_resource_overrides: Option<BTreeMap<String, bool>>,
    /// Kinds auxiliary resources and extra pod-template documents may not create on this
    /// binding's clusters (removed from the template's allowed kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub denied_auxiliary_resource_kinds: Option<Vec<ResourceKindRef>>,
    /// The binding is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub disabled: Option<bool>,
    /// Pod operations (can only restrict the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pod_operations: Option<AllowedPodOperations>,
    /// E-mail behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<DebugSessionNotificationConfig>,
    /// Rules for the requester's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<DebugRequestReasonConfig>,
    /// Rules for the approver's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<DebugApprovalReasonConfig>,
    /// Labels applied to every created resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations applied to every created resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Which binding serves a request that names none: among the bindings that grant the
    /// cluster and admit the requester, the highest priority wins (then namespace/name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Hidden from discovery; usable through an explicit bindingRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub hidden: Option<bool>,
    /// The binding stops applying at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// The binding applies from this time (before expiresAt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<Time>,
    /// Active sessions per user through this binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_active_sessions_per_user: Option<i32>,
    /// Active sessions through this binding in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_active_sessions_total: Option<i32>,
}

/// A DebugSessionTemplate by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateReference {
    /// Name of the DebugSessionTemplate.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Observed state of a DebugSessionClusterBinding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionClusterBindingStatus {
    /// Conditions: Ready, Valid, TemplateResolved, ClustersResolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Templates the binding resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_templates: Option<Vec<ResolvedTemplateRef>>,
    /// Clusters the binding resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_clusters: Option<Vec<ResolvedClusterRef>>,
    /// Active sessions through this binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_session_count: Option<i32>,
    /// When a session last used this binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Time>,
    /// Template and cluster pairs whose effective name another binding also uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_collisions: Option<Vec<NameCollision>>,
    /// Sessions waiting for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_session_count: Option<i32>,
    /// Sessions ever created through this binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_session_count: Option<i32>,
    /// Active sessions per user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_by_user: Option<BTreeMap<String, i32>>,
    /// Enabled and within its time window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Display name users see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_display_name: Option<String>,
}

/// A template a binding resolved to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedTemplateRef {
    /// Name of the template.
    pub name: String,
    /// Display name of the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The template is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
}

/// A cluster a binding resolved to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedClusterRef {
    /// Name of the cluster.
    pub name: String,
    /// The cluster's ClusterConfig is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// How the cluster was matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<ClusterMatchSource>,
}

string_enum! {
    /// How a binding matched a cluster.
    pub enum ClusterMatchSource {
        /// Listed in spec.clusters.
        Explicit = "explicit",
        /// Matched spec.clusterSelector.
        Selector = "selector",
    }
}

/// A template and cluster pair whose effective name another binding also uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NameCollision {
    /// Template name.
    pub template_name: String,
    /// Cluster name.
    pub cluster_name: String,
    /// The colliding effective display name.
    pub effective_name: String,
    /// The other binding.
    pub colliding_binding: String,
    /// Namespace of the other binding.
    pub colliding_binding_namespace: String,
}
