//! `DebugPodTemplate`: the pod that debug sessions deploy.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, HostAlias, LocalObjectReference, PodDNSConfig, PodSecurityContext,
    Toleration, TopologySpreadConstraint, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::debug_common::some_false;
use crate::macros::string_enum;

/// The pod deployed by debug sessions: a structured pod spec or a Go template producing one.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "DebugPodTemplate",
    plural = "debugpodtemplates",
    singular = "debugpodtemplate",
    shortname = "dpt",
    status = "DebugPodTemplateStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "The pod deployed by debug sessions.",
    printcolumn(
        name = "Display Name",
        type_ = "string",
        json_path = ".spec.displayName"
    ),
    printcolumn(
        name = "Description",
        type_ = "string",
        json_path = ".spec.description"
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
pub struct DebugPodTemplateSpec {
    /// Name shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What the pod is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Structured pod template (exclusive with templateString).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<DebugPodSpecTemplate>,
    /// Go template producing YAML: first a PodSpec, Pod, Deployment or DaemonSet, then further resources to deploy alongside (exclusive with template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_string: Option<String>,
}

/// Labels, annotations and spec of the debug pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodSpecTemplate {
    /// Labels and annotations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<DebugPodMetadata>,
    /// The pod spec.
    pub spec: DebugPodSpec,
}

/// Labels and annotations of the debug pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodMetadata {
    /// Labels added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations added to the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The subset of a PodSpec a debug pod may set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodSpec {
    /// Pod-level security attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<PodSecurityContext>,
    /// Containers (at least one, unique names).
    #[schemars(length(min = 1))]
    pub containers: Vec<Container>,
    /// Init containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_containers: Option<Vec<Container>>,
    /// Volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Mount the service account token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub automount_service_account_token: Option<bool>,
    /// Tolerations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Node selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Service account of the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Use the node's network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub host_network: Option<bool>,
    /// Use the node's PID namespace.
    #[serde(default, rename = "hostPID", skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub host_pid: Option<bool>,
    /// Use the node's IPC namespace.
    #[serde(default, rename = "hostIPC", skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub host_ipc: Option<bool>,
    /// DNS policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_policy: Option<String>,
    /// Restart policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_restart_policy")]
    pub restart_policy: Option<String>,
    /// Grace period for termination, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Priority class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Runtime class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_class_name: Option<String>,
    /// Preemption policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemption_policy: Option<PreemptionPolicy>,
    /// Topology spread constraints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    /// DNS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<PodDNSConfig>,
    /// Share one process namespace between containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub share_process_namespace: Option<bool>,
    /// Entries added to /etc/hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_aliases: Option<Vec<HostAlias>>,
    /// Image pull secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Inject service environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub enable_service_links: Option<bool>,
    /// Scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    /// Resource overhead of the runtime class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<BTreeMap<String, Quantity>>,
}

/// Default of `restartPolicy`.
pub const DEFAULT_RESTART_POLICY: &str = "Never";

fn default_restart_policy() -> Option<String> {
    Some(DEFAULT_RESTART_POLICY.to_owned())
}

string_enum! {
    /// Whether the pod may preempt lower-priority pods.
    pub enum PreemptionPolicy {
        /// Preempt lower-priority pods.
        PreemptLowerPriority = "PreemptLowerPriority",
        /// Never preempt.
        Never = "Never",
    }
}

/// Observed state of a DebugPodTemplate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugPodTemplateStatus {
    /// Conditions: Ready, Valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// DebugSessionTemplates that reference this pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<String>>,
    /// Number of DebugSessionTemplates that reference this pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_count: Option<i32>,
    /// When a session last used this pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Time>,
}
