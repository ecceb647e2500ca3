//! `DebugSessionTemplate`: what a debug session deploys or allows, who may request it, and the limits.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, ResourceRequirements, SecurityContext, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::{FailMode, NamespaceFilter};
use crate::debug_common::{
    AllowedPodOperations, AuxiliaryResource, DEFAULT_TARGET_NAMESPACE, DebugApprovalReasonConfig,
    DebugRequestReasonConfig, DebugSessionAllowed, DebugSessionApprovers, DebugSessionConstraints,
    DebugSessionNotificationConfig, ExtraDeployVariable, ImpersonationConfig, NamespaceConstraints,
    ResourceKindRef, SchedulingConstraints, SchedulingOptions, some_false, some_true,
};
use crate::macros::string_enum;

/// Default of `gracePeriodBeforeExpiry`.
pub const DEFAULT_GRACE_PERIOD_BEFORE_EXPIRY: &str = "15m";

/// A kind of debug session: what it deploys or allows, who may request it and with which limits.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "DebugSessionTemplate",
    plural = "debugsessiontemplates",
    singular = "debugsessiontemplate",
    shortname = "dst",
    status = "DebugSessionTemplateStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "A kind of debug session: what it deploys or allows, who may request it and with which limits.",
    printcolumn(
        name = "Display Name",
        type_ = "string",
        json_path = ".spec.displayName"
    ),
    printcolumn(name = "Mode", type_ = "string", json_path = ".spec.mode"),
    printcolumn(
        name = "Workload Type",
        type_ = "string",
        json_path = ".spec.workloadType"
    ),
    printcolumn(
        name = "Active Sessions",
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
pub struct DebugSessionTemplateSpec {
    /// Name shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What the template is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What sessions do: deploy a workload, allow kubectl-debug operations, or both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_mode")]
    pub mode: Option<DebugSessionMode>,
    /// DebugPodTemplate of the workload (workload and hybrid modes; exclusive with podTemplateString).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_ref: Option<DebugPodTemplateReference>,
    /// Go template producing the workload's pod (exclusive with podTemplateRef).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_string: Option<String>,
    /// Go template producing overrides merged into the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_overrides_template: Option<String>,
    /// User inputs available to templates as `.vars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_deploy_variables: Option<Vec<ExtraDeployVariable>>,
    /// Kind of workload deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_type: Option<DebugWorkloadType>,
    /// Replicas of a Deployment workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_replicas", range(min = 1))]
    pub replicas: Option<i32>,
    /// Structured overrides of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_overrides: Option<DebugPodOverrides>,
    /// Affinity added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity_overrides: Option<Affinity>,
    /// Tolerations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_tolerations: Option<Vec<Toleration>>,
    /// Mandatory scheduling rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_constraints: Option<SchedulingConstraints>,
    /// Scheduling presets the requester chooses from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_options: Option<SchedulingOptions>,
    /// kubectl-debug operations (kubectl-debug and hybrid modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubectl_debug: Option<KubectlDebugConfig>,
    /// Who may request, and on which clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<DebugSessionAllowed>,
    /// Who approves; none means automatic approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<DebugSessionApprovers>,
    /// Duration and renewal limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<DebugSessionConstraints>,
    /// Namespace of the workload (namespaceConstraints.defaultNamespace wins when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_target_namespace", length(max = 63))]
    pub target_namespace: Option<String>,
    /// Where requesters may place the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_constraints: Option<NamespaceConstraints>,
    /// Identity used to deploy on the target cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonation: Option<ImpersonationConfig>,
    /// Behaviour when checks cannot be evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_fail_mode")]
    pub fail_mode: Option<FailMode>,
    /// Shared terminal for participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_sharing: Option<TerminalSharingConfig>,
    /// Per-template audit settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<DebugSessionAuditConfig>,
    /// Extra resources deployed with the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_resources: Option<Vec<AuxiliaryResource>>,
    /// Whether each auxiliary resource category is enabled by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxiliary_resource_defaults: Option<BTreeMap<String, bool>>,
    /// Auxiliary resource categories that are always deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_auxiliary_resource_categories: Option<Vec<String>>,
    /// Kinds auxiliary resources and extra pod-template documents may create; narrows the
    /// built-in list (ServiceAccount, ConfigMap, Secret, PersistentVolumeClaim, Service,
    /// NetworkPolicy, Role, RoleBinding, PodDisruptionBudget), never widens it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub allowed_auxiliary_resource_kinds: Option<Vec<ResourceKindRef>>,
    /// E-mail behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<DebugSessionNotificationConfig>,
    /// Rules for the requester's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<DebugRequestReasonConfig>,
    /// Rules for the approver's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<DebugApprovalReasonConfig>,
    /// ResourceQuota created in the target namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_quota: Option<DebugResourceQuotaConfig>,
    /// PodDisruptionBudget created for the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_disruption_budget: Option<DebugPodDisruptionBudgetConfig>,
    /// Labels applied to every created resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations applied to every created resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Ordering in the catalogue and the UI (highest first, then by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_priority")]
    pub priority: Option<i32>,
    /// Hidden from discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub hidden: Option<bool>,
    /// Deprecated template (admission warns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub deprecated: Option<bool>,
    /// Message shown for a deprecated template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecation_message: Option<String>,
    /// What happens when a session reaches expiresAt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_expiration_behavior")]
    pub expiration_behavior: Option<ExpirationBehavior>,
    /// How long before expiry a session is reported as expiring soon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_grace_period", regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub grace_period_before_expiry: Option<String>,
    /// Pod subresources allowed on session pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pod_operations: Option<AllowedPodOperations>,
}

impl DebugSessionTemplateSpec {
    /// `mode`, defaulted.
    pub fn mode(&self) -> DebugSessionMode {
        self.mode.unwrap_or(DebugSessionMode::Workload)
    }

    /// `targetNamespace`, defaulted.
    pub fn target_namespace(&self) -> &str {
        self.target_namespace
            .as_deref()
            .unwrap_or(DEFAULT_TARGET_NAMESPACE)
    }

    /// `expirationBehavior`, defaulted.
    pub fn expiration_behavior(&self) -> ExpirationBehavior {
        self.expiration_behavior
            .unwrap_or(ExpirationBehavior::Terminate)
    }
}

fn default_mode() -> Option<DebugSessionMode> {
    Some(DebugSessionMode::Workload)
}

fn default_replicas() -> Option<i32> {
    Some(1)
}

fn default_target_namespace() -> Option<String> {
    Some(DEFAULT_TARGET_NAMESPACE.to_owned())
}

fn default_fail_mode() -> Option<FailMode> {
    Some(FailMode::Closed)
}

fn default_priority() -> Option<i32> {
    Some(0)
}

fn default_expiration_behavior() -> Option<ExpirationBehavior> {
    Some(ExpirationBehavior::Terminate)
}

fn default_grace_period() -> Option<String> {
    Some(DEFAULT_GRACE_PERIOD_BEFORE_EXPIRY.to_owned())
}

string_enum! {
    /// What a debug session does.
    pub enum DebugSessionMode {
        /// Deploy a debug workload.
        Workload = "workload",
        /// Allow kubectl-debug operations (ephemeral containers, pod copies, node debugging).
        KubectlDebug = "kubectl-debug",
        /// Both.
        Hybrid = "hybrid",
    }
}

impl DebugSessionMode {
    /// True when sessions deploy a workload.
    pub const fn deploys_workload(self) -> bool {
        matches!(self, Self::Workload | Self::Hybrid)
    }

    /// True when sessions allow kubectl-debug operations.
    pub const fn allows_kubectl_debug(self) -> bool {
        matches!(self, Self::KubectlDebug | Self::Hybrid)
    }
}

string_enum! {
    /// Kind of debug workload.
    pub enum DebugWorkloadType {
        /// One pod per (selected) node.
        DaemonSet = "DaemonSet",
        /// A fixed number of replicas.
        Deployment = "Deployment",
    }
}

string_enum! {
    /// What happens when a debug session reaches expiresAt.
    pub enum ExpirationBehavior {
        /// End the session and clean up.
        Terminate = "terminate",
        /// Notify only; the session stays active.
        NotifyOnly = "notify-only",
    }
}

/// A DebugPodTemplate by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodTemplateReference {
    /// Name of the DebugPodTemplate.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Structured overrides of the debug pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodOverrides {
    /// Pod spec overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<DebugPodSpecOverrides>,
}

/// Pod spec fields a template may override.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodSpecOverrides {
    /// Use the node's network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// Use the node's PID namespace.
    #[serde(default, rename = "hostPID", skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<bool>,
    /// Use the node's IPC namespace.
    #[serde(default, rename = "hostIPC", skip_serializing_if = "Option::is_none")]
    pub host_ipc: Option<bool>,
    /// Per-container overrides, matched by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<DebugContainerOverride>>,
}

/// Overrides of one container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugContainerOverride {
    /// Name of the container.
    pub name: String,
    /// Security context of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    /// Resources of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Environment variables added to the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
}

/// kubectl-debug operations a session allows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubectlDebugConfig {
    /// Injecting ephemeral containers into running pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_containers: Option<EphemeralContainersConfig>,
    /// Debug pods on nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_debug: Option<NodeDebugConfig>,
    /// Debug copies of pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_copy: Option<PodCopyConfig>,
}

/// Rules for injecting ephemeral containers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralContainersConfig {
    /// Injection is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enabled: Option<bool>,
    /// Namespaces whose pods may receive ephemeral containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_namespaces: Option<NamespaceFilter>,
    /// Namespaces whose pods never receive ephemeral containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_namespaces: Option<NamespaceFilter>,
    /// Image globs allowed for ephemeral containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_images: Option<Vec<String>>,
    /// Images must be pinned by digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub require_image_digest: Option<bool>,
    /// Capabilities an ephemeral container may add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capabilities: Option<Vec<String>>,
    /// Privileged ephemeral containers are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub allow_privileged: Option<bool>,
    /// Ephemeral containers must run as non-root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub require_non_root: Option<bool>,
}

/// Rules for node debug pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeDebugConfig {
    /// Node debugging is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enabled: Option<bool>,
    /// Image globs allowed for node debug pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_images: Option<Vec<String>>,
    /// Host namespaces of node debug pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_namespaces: Option<HostNamespacesConfig>,
    /// Nodes that may be debugged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
}

/// Host namespaces shared with a node debug pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostNamespacesConfig {
    /// Share the node's network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub host_network: Option<bool>,
    /// Share the node's PID namespace.
    #[serde(default, rename = "hostPID", skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub host_pid: Option<bool>,
    /// Share the node's IPC namespace.
    #[serde(default, rename = "hostIPC", skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub host_ipc: Option<bool>,
}

/// Rules for debug copies of pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodCopyConfig {
    /// Pod copies are allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enabled: Option<bool>,
    /// Namespace the copies are created in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_copy_namespace", length(max = 63))]
    pub target_namespace: Option<String>,
    /// Namespaces whose pods may be copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_namespaces: Option<NamespaceFilter>,
    /// Namespaces whose pods are never copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_namespaces: Option<NamespaceFilter>,
    /// Labels added to copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Lifetime of a copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_copy_ttl", regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub ttl: Option<String>,
}

fn default_copy_namespace() -> Option<String> {
    Some("debug-copies".to_owned())
}

fn default_copy_ttl() -> Option<String> {
    Some("2h".to_owned())
}

/// Shared terminal settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerminalSharingConfig {
    /// Terminal sharing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enabled: Option<bool>,
    /// Terminal multiplexer in the debug image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_terminal_provider")]
    pub provider: Option<TerminalSharingProvider>,
    /// Most participants at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_participants", range(min = 1))]
    pub max_participants: Option<i32>,
    /// Invited users who join become viewers (get and logs of the session's pods, no
    /// exec, attach or port-forward) instead of participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub read_only_participants: Option<bool>,
}

impl TerminalSharingConfig {
    /// `maxParticipants`, defaulted (5): everyone who ever joined counts, owner included.
    pub fn max_participants(&self) -> i32 {
        self.max_participants.unwrap_or(5)
    }

    /// `readOnlyParticipants`, defaulted (false).
    pub fn read_only_participants(&self) -> bool {
        self.read_only_participants.unwrap_or(false)
    }
}

fn default_terminal_provider() -> Option<TerminalSharingProvider> {
    Some(TerminalSharingProvider::Tmux)
}

fn default_max_participants() -> Option<i32> {
    Some(5)
}

string_enum! {
    /// Terminal multiplexer used for terminal sharing.
    pub enum TerminalSharingProvider {
        /// tmux.
        Tmux = "tmux",
        /// GNU screen.
        Screen = "screen",
    }
}

/// Per-template audit settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionAuditConfig {
    /// Auditing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub enabled: Option<bool>,
    /// Where audit events go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<DebugAuditDestination>>,
    /// Record terminal sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enable_terminal_recording: Option<bool>,
    /// How long recordings are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_recording_retention", regex(pattern = crate::DEBUG_DURATION_PATTERN))]
    pub recording_retention: Option<String>,
    /// Keep shell history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub enable_shell_history: Option<bool>,
}

fn default_recording_retention() -> Option<String> {
    Some("90d".to_owned())
}

/// A destination of per-template audit events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugAuditDestination {
    /// Kind of destination.
    #[serde(rename = "type")]
    pub type_: DebugAuditDestinationType,
    /// URL of a webhook destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// HTTP headers sent to a webhook destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
}

string_enum! {
    /// Kind of per-template audit destination.
    pub enum DebugAuditDestinationType {
        /// The breakglass audit pipeline.
        Breakglass = "breakglass",
        /// Kubernetes Events.
        Kubernetes = "kubernetes",
        /// An HTTP webhook.
        Webhook = "webhook",
    }
}

/// ResourceQuota created in the target namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugResourceQuotaConfig {
    /// Most pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_pods: Option<i32>,
    /// Most CPU (quantity).
    #[serde(default, rename = "maxCPU", skip_serializing_if = "Option::is_none")]
    pub max_cpu: Option<String>,
    /// Most memory (quantity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<String>,
    /// Most storage (quantity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_storage: Option<String>,
    /// Pods must set resource requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub enforce_resource_requests: Option<bool>,
    /// Pods must set resource limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub enforce_resource_limits: Option<bool>,
}

/// PodDisruptionBudget created for the workload (set minAvailable or maxUnavailable, not both).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodDisruptionBudgetConfig {
    /// Create the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enabled: Option<bool>,
    /// Pods that must stay available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrString>,
    /// Pods that may be unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
}

/// Observed state of a DebugSessionTemplate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionTemplateStatus {
    /// Conditions: Ready, Valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Active sessions of this template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_session_count: Option<i32>,
    /// Sessions waiting for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_session_count: Option<i32>,
    /// Sessions ever created from this template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_session_count: Option<i32>,
    /// When a session last used this template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Time>,
    /// The referenced DebugPodTemplate exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_template_resolved: Option<bool>,
    /// Clusters the template is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_clusters: Option<Vec<String>>,
    /// Number of bindings that reference the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_count: Option<i32>,
}

string_enum! {
    /// Condition types of DebugPodTemplates, DebugSessionTemplates and DebugSessionClusterBindings.
    pub enum DebugTemplateConditionType {
        /// Usable.
        Ready = "Ready",
        /// Passed validation.
        Valid = "Valid",
        /// (Bindings) the template reference or selector resolved.
        TemplateResolved = "TemplateResolved",
        /// (Bindings) the cluster list or selector resolved.
        ClustersResolved = "ClustersResolved",
    }
}
