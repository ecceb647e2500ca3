//! `DebugSession`: one request for, and run of, a debug session on a cluster.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::debug_common::{
    AllowedPodOperations, DebugApprovalReasonConfig, DebugRequestReasonConfig,
    SchedulingConstraints,
};
use crate::debug_session_template::DebugSessionTemplateSpec;
use crate::macros::string_enum;

/// A request for, and run of, a debug session on a cluster; the spec is immutable after creation.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "DebugSession",
    plural = "debugsessions",
    singular = "debugsession",
    shortname = "ds",
    namespaced,
    status = "DebugSessionStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "A request for, and run of, a debug session on a cluster.",
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Cluster", type_ = "string", json_path = ".spec.cluster"),
    printcolumn(name = "Template", type_ = "string", json_path = ".spec.templateRef"),
    printcolumn(
        name = "Target NS",
        type_ = "string",
        json_path = ".spec.targetNamespace"
    ),
    printcolumn(
        name = "Requested By",
        type_ = "string",
        json_path = ".spec.requestedBy"
    ),
    printcolumn(
        name = "Expires At",
        type_ = "string",
        format = "date-time",
        json_path = ".status.expiresAt"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    selectable = ".spec.cluster",
    selectable = ".spec.requestedBy",
    selectable = ".spec.templateRef",
    selectable = ".status.state"
)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionSpec {
    /// Target cluster name.
    #[schemars(length(min = 1))]
    pub cluster: String,
    /// Name of the DebugSessionTemplate.
    #[schemars(length(min = 1))]
    pub template_ref: String,
    /// Requesting user.
    #[schemars(length(min = 1))]
    pub requested_by: String,
    /// E-mail address of the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by_email: Option<String>,
    /// Display name of the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by_display_name: Option<String>,
    /// Groups of the requester at creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_groups: Option<Vec<String>>,
    /// Requested duration (clamped to the template's maxDuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub requested_duration: Option<String>,
    /// Reason given by the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Node labels requested for the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Users invited to join the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_participants: Option<Vec<String>>,
    /// Namespace of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Name of the chosen scheduling option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_scheduling_option: Option<String>,
    /// Scheduling constraints resolved at creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_scheduling_constraints: Option<SchedulingConstraints>,
    /// The DebugSessionClusterBinding the session was requested through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_ref: Option<BindingReference>,
    /// Optional auxiliary resources the requester enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_auxiliary_resources: Option<Vec<String>>,
    /// Request reason rules at creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason_config: Option<DebugRequestReasonConfig>,
    /// Approval reason rules at creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason_config: Option<DebugApprovalReasonConfig>,
    /// Values of the template's extra deploy variables (name to JSON value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::json_map")]
    pub extra_deploy_values: Option<BTreeMap<String, serde_json::Value>>,
}

/// A DebugSessionClusterBinding by namespace and name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BindingReference {
    /// Name of the binding.
    pub name: String,
    /// Namespace of the binding.
    pub namespace: String,
}

/// Observed state of a DebugSession.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionStatus {
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DebugSessionState>,
    /// Approval record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<DebugSessionApproval>,
    /// Users taking part in the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<DebugSessionParticipant>>,
    /// Shared terminal of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_sharing: Option<TerminalSharingStatus>,
    /// Resources created on the target cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_resources: Option<Vec<DeployedResourceRef>>,
    /// Pods participants may exec into, attach to, port-forward to or read logs of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pods: Option<Vec<AllowedPodRef>>,
    /// Pod operations in effect (template and binding merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pod_operations: Option<AllowedPodOperations>,
    /// kubectl-debug operations performed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl_debug_status: Option<KubectlDebugStatus>,
    /// When the session became active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Time>,
    /// When the session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// Renewals so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_count: Option<i32>,
    /// Conditions: Ready, Approved, ResourcesDeployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Human-readable status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Template spec the session runs with (binding overrides merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_template: Option<DebugSessionTemplateSpec>,
    /// Binding the session runs under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_binding: Option<ResolvedBindingRef>,
    /// State of each auxiliary resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_resource_statuses: Option<Vec<AuxiliaryResourceStatus>>,
    /// State of each extra resource rendered by the pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_resource_statuses: Option<Vec<PodTemplateResourceStatus>>,
}

string_enum! {
    /// Lifecycle state of a DebugSession.
    pub enum DebugSessionState {
        /// Created, not yet processed.
        Pending = "Pending",
        /// Waiting for an approver.
        PendingApproval = "PendingApproval",
        /// Running; access granted.
        Active = "Active",
        /// Duration elapsed.
        Expired = "Expired",
        /// Ended by the owner, an admin or a rejection.
        Terminated = "Terminated",
        /// Setup failed or approval timed out.
        Failed = "Failed",
    }
}

impl DebugSessionState {
    /// True for states a session never leaves (cleanup and deletion follow).
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Expired | Self::Terminated | Self::Failed)
    }

    /// True for the only state that grants access.
    pub const fn grants_access(self) -> bool {
        matches!(self, Self::Active)
    }
}

string_enum! {
    /// Condition types of DebugSessions.
    pub enum DebugSessionConditionType {
        /// The session is usable.
        Ready = "Ready",
        /// The session was approved.
        Approved = "Approved",
        /// The workload and auxiliary resources are deployed.
        ResourcesDeployed = "ResourcesDeployed",
    }
}

/// Approval record of a DebugSession.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionApproval {
    /// Approval is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Who approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<Time>,
    /// Who rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
    /// When it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<Time>,
    /// Reason given by the approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A user taking part in a DebugSession.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionParticipant {
    /// User name.
    pub user: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Role in the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ParticipantRole>,
    /// When the user joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<Time>,
    /// When the user left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<Time>,
}

string_enum! {
    /// Role of a participant.
    pub enum ParticipantRole {
        /// Requester: full control.
        Owner = "owner",
        /// May use the debug pods.
        Participant = "participant",
        /// May watch the shared terminal.
        Viewer = "viewer",
    }
}

/// Shared terminal of a DebugSession.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalSharingStatus {
    /// Terminal sharing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Name of the multiplexer session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// Command that attaches to the shared terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_command: Option<String>,
}

/// A resource created on the target cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployedResourceRef {
    /// API version.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace (empty for cluster-scoped resources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What produced the resource (workload, pod template, auxiliary resource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// UID of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// A pod of the session on the target cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowedPodRef {
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the pod.
    pub name: String,
    /// Node the pod runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The pod is ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// Pod phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Health of the debug container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_status: Option<PodContainerStatus>,
}

/// Health of a debug container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodContainerStatus {
    /// Why the container is waiting (e.g. CrashLoopBackOff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
    /// Details of the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_message: Option<String>,
    /// Restarts so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<i32>,
    /// Why the container last terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_termination_reason: Option<String>,
}

/// kubectl-debug operations performed in a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubectlDebugStatus {
    /// Ephemeral containers injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_containers_injected: Option<Vec<EphemeralContainerRecord>>,
    /// Debug copies of pods created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_pods: Option<Vec<CopiedPodRecord>>,
}

/// An ephemeral container injected into a pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralContainerRecord {
    /// Pod that received the container.
    pub pod_name: String,
    /// Namespace of the pod.
    pub namespace: String,
    /// Name of the ephemeral container.
    pub container_name: String,
    /// Image of the ephemeral container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When it was injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_at: Option<Time>,
    /// Who injected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_by: Option<String>,
}

/// A debug copy of a pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopiedPodRecord {
    /// Name of the original pod.
    pub original_pod: String,
    /// Namespace of the original pod.
    pub original_namespace: String,
    /// Name of the copy.
    pub copy_name: String,
    /// Namespace of the copy.
    pub copy_namespace: String,
    /// When the copy was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// When the copy is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
}

/// The binding a session runs under.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedBindingRef {
    /// Name of the binding.
    pub name: String,
    /// Namespace of the binding.
    pub namespace: String,
    /// Effective display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// State of one auxiliary resource of a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuxiliaryResourceStatus {
    /// Name of the auxiliary resource in the template.
    pub name: String,
    /// Category of the auxiliary resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// API version of the created object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the created object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the created object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Namespace of the created object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<bool>,
    /// When the object was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// The object is ready (kstatus Current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// kstatus of the object (InProgress, Current, Failed, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_status: Option<String>,
    /// The object was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// When the object was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Time>,
    /// Last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Further objects rendered from the same template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_resources: Option<Vec<RenderedResourceStatus>>,
}

/// State of one object rendered for a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenderedResourceStatus {
    /// API version.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<bool>,
    /// When the object was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// The object is ready (kstatus Current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// The object was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// When the object was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Time>,
    /// Last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// State of one extra object rendered by the pod template.
pub type PodTemplateResourceStatus = RenderedResourceStatus;

impl DebugSession {
    /// The state, if the controller has set one.
    pub fn state(&self) -> Option<DebugSessionState> {
        self.status.as_ref().and_then(|s| s.state)
    }
}
