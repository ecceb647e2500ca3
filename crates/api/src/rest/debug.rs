//! REST wire types: debug sessions (`/api/debugSessions…`, aliased under
//! `/api/v1/debug-sessions…`). The catalogue (templates, their clusters, pod templates)
//! is in [`catalogue`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::SecurityContext;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::sessions::MetaView;
use crate::debug_common::AllowedPodOperations;
use crate::debug_session::{
    AllowedPodRef, DebugSession, DebugSessionParticipant, DebugSessionSpec, DebugSessionStatus,
};

pub mod catalogue;

pub use super::sessions::DecisionRequest;

/// Query of `GET /api/debugSessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only sessions on this cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Comma-separated states (`Pending`, `PendingApproval`, `Active`, `Expired`,
    /// `Terminated`, `Failed`, any case; `all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Only sessions requested by this user (exact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Only sessions the caller requested or takes part in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mine: Option<bool>,
}

/// `?namespace=` on a single session: narrows the name lookup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceHint {
    /// Namespace of the DebugSession, when names repeat across namespaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `GET /api/debugSessions` → `{sessions, total}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DebugSessionList {
    /// Sessions the caller may read, newest first.
    pub sessions: Vec<DebugSessionSummary>,
    /// How many.
    pub total: usize,
}

/// One row of the debug-session list: what a client shows without reading the whole
/// object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionSummary {
    /// Object name.
    pub name: Option<String>,
    /// Object namespace.
    pub namespace: Option<String>,
    /// DebugSessionTemplate.
    pub template_ref: String,
    /// Namespace of the debug workload.
    pub target_namespace: Option<String>,
    /// Target cluster.
    pub cluster: String,
    /// Requesting user.
    pub requested_by: String,
    /// Requester's display name.
    pub requested_by_display_name: Option<String>,
    /// State (`Pending` until the reconciler sets one).
    pub state: String,
    /// Status message.
    pub status_message: Option<String>,
    /// RFC 3339 start.
    pub starts_at: Option<String>,
    /// RFC 3339 end.
    pub expires_at: Option<String>,
    /// Participants.
    pub participants: Vec<DebugSessionParticipant>,
    /// The caller takes part.
    pub is_participant: bool,
    /// Pods the session's operations apply to.
    pub allowed_pods: Vec<AllowedPodRef>,
    /// Pod operations granted.
    pub allowed_pod_operations: Option<AllowedPodOperations>,
    /// The caller may approve now.
    pub can_approve: bool,
    /// The caller may reject now.
    pub can_reject: bool,
}

/// `GET /api/debugSessions/{name}` and the approve/reject/terminate answers: the
/// DebugSession object with what the caller may do with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DebugSessionDetail {
    /// The DebugSession.
    #[serde(flatten)]
    pub session: DebugSession,
    /// The caller may approve now.
    pub can_approve: bool,
    /// The caller may reject now.
    pub can_reject: bool,
    /// The caller requested it.
    pub is_owner: bool,
    /// The caller takes part (not left).
    pub is_participant: bool,
    /// The caller's role while taking part (`owner`, `participant`, `viewer`).
    pub role: Option<String>,
}

/// Body of `POST /api/debugSessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDebugSessionRequest {
    /// DebugSessionTemplate name (required).
    #[serde(default)]
    pub template_ref: String,
    /// ClusterConfig name, cluster ID or unique tenant (required).
    #[serde(default)]
    pub cluster: String,
    /// `namespace/name` of the DebugSessionClusterBinding to use; default: the
    /// highest-priority binding that grants the cluster and admits the caller.
    #[serde(default)]
    pub binding_ref: Option<String>,
    /// Go duration (e.g. `30m`, `2h`), at most the effective `maxDuration`.
    #[serde(default)]
    pub requested_duration: Option<String>,
    /// Node labels the debug pods must run on (may not contradict the configuration).
    #[serde(default)]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Deprecated alias of `targetNamespace`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Namespace of the debug workload on the cluster.
    #[serde(default)]
    pub target_namespace: Option<String>,
    /// Why the session is needed (rules from `requestReason`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Users invited to join (at most 32).
    #[serde(default)]
    pub invited_participants: Option<Vec<String>>,
    /// Name of one of the template's scheduling options.
    #[serde(default)]
    pub selected_scheduling_option: Option<String>,
    /// Values of the template's `extraDeployVariables`, checked per `inputType`
    /// (unknown names are refused); stored normalised, defaults included.
    #[serde(default)]
    pub extra_deploy_values: Option<BTreeMap<String, Value>>,
}

/// `POST /api/debugSessions` → 201: the new DebugSession (client view of its
/// metadata) and warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedDebugSession {
    /// `breakglass.t-caas.telekom.com/v1alpha1`.
    pub api_version: String,
    /// `DebugSession`.
    pub kind: String,
    /// Metadata.
    pub metadata: MetaView,
    /// Spec.
    pub spec: DebugSessionSpec,
    /// Status (`null`: the reconciler has not seen it yet).
    pub status: Option<DebugSessionStatus>,
    /// What the server decided for the caller (e.g. a defaulted namespace).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Body of `POST …/{name}/renew`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenewRequest {
    /// How much to add to `expiresAt` (Go duration, e.g. `30m`, `1h`).
    pub extend_by: String,
}

/// `POST …/{name}/renew` → `{message, newExpiresAt, renewalCount}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenewResponse {
    /// What happened.
    pub message: String,
    /// RFC 3339 new end.
    pub new_expires_at: Option<String>,
    /// Renewals so far.
    pub renewal_count: i32,
}

/// `POST …/{name}/join` → `{message, role}`; `…/leave` → `{message}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MembershipResponse {
    /// What happened.
    pub message: String,
    /// The role taken (join only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Body of `injectEphemeralContainer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InjectRequest {
    /// Namespace of the pod.
    pub namespace: String,
    /// The pod.
    pub pod_name: String,
    /// Name of the new ephemeral container.
    pub container_name: String,
    /// Its image.
    pub image: String,
    /// Its command.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Its security context.
    #[serde(default)]
    pub security_context: Option<SecurityContext>,
}

/// `injectEphemeralContainer` → `{message, pod, namespace, container}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InjectResponse {
    /// What happened.
    pub message: String,
    /// The pod.
    pub pod: String,
    /// Its namespace.
    pub namespace: String,
    /// The injected container.
    pub container: String,
}

/// Body of `createPodCopy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CopyRequest {
    /// Namespace of the pod to copy.
    pub namespace: String,
    /// The pod to copy.
    pub pod_name: String,
    /// Image of an added `debugger` container.
    #[serde(default)]
    pub debug_image: Option<String>,
}

/// `createPodCopy` → `{message, copyName, copyNamespace, originalPod, originalNamespace}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopyResponse {
    /// What happened.
    pub message: String,
    /// Name of the copy.
    pub copy_name: String,
    /// Namespace of the copy.
    pub copy_namespace: String,
    /// The copied pod.
    pub original_pod: String,
    /// Its namespace.
    pub original_namespace: String,
}

/// Body of `createNodeDebugPod`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeRequest {
    /// The node to debug.
    pub node_name: String,
    /// Image of the debug pod (must match `nodeDebug.allowedImages`).
    #[serde(default)]
    pub image: Option<String>,
}

/// `createNodeDebugPod` → `{message, podName, namespace, node}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeResponse {
    /// What happened.
    pub message: String,
    /// The debug pod.
    pub pod_name: String,
    /// Its namespace.
    pub namespace: String,
    /// The node.
    pub node: String,
}
