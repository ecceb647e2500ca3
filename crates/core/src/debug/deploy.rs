//! What a session deploys on its target, as an ordered plan of objects (no I/O).
//!
//! [`plan`] turns the session, its effective template, the pod template and the
//! target's nodes into a [`DeployPlan`]: the namespace (and whether we may create it),
//! the impersonated identity, and every object in apply order — ResourceQuota and
//! PodDisruptionBudget, auxiliary resources created before the workload, the extra
//! documents of a rendered pod template, the workload, then auxiliary resources created
//! after it. Every object carries the session's labels; every kind is one of
//! [`KNOWN_KINDS`], so cleanup can find everything by label without discovery.
//!
//! The server applies a plan in order by server-side apply (`target` in the server),
//! records each object's state in the session's status, and deletes by label at the end.

use std::collections::BTreeMap;

use breakglass_api::common::FailMode;
use breakglass_api::debug_common::{AuxiliaryResourceFailurePolicy, ServiceAccountReference};
use breakglass_api::debug_pod_template::DebugPodTemplateSpec;
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use thiserror::Error;

/// A kind a plan may contain, with what a dynamic client needs to address it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Resource (plural).
    pub plural: &'static str,
    /// Namespaced (a plan holds no cluster-scoped objects besides the namespace).
    pub namespaced: bool,
}

impl KindInfo {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Every kind a plan can contain; cleanup deletes labelled objects of each.
pub const KNOWN_KINDS: &[KindInfo] = &[];

/// Where a planned object comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The session's DaemonSet or Deployment.
    Workload,
    /// The session's ResourceQuota (`debug-<session>-rq`... see `plan`).
    ResourceQuota,
    /// The session's PodDisruptionBudget.
    DisruptionBudget,
    /// An extra document of a rendered pod template (always fails the session when it
    /// cannot be applied).
    PodTemplateResource,
    /// An auxiliary resource of the template.
    Auxiliary {
        /// The resource's `name` in the template.
        name: String,
        /// Its category.
        category: Option<String>,
        /// What a failure to apply it does.
        failure_policy: AuxiliaryResourceFailurePolicy,
        /// Deleted when the session ends.
        delete_after: bool,
    },
}

/// One object of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedObject {
    /// Its kind.
    pub kind: &'static KindInfo,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (always the session's target namespace for namespaced kinds).
    pub namespace: Option<String>,
    /// The full object (apiVersion, kind, metadata with the session labels, spec …).
    pub object: serde_json::Value,
    /// Where it comes from.
    pub source: Source,
}

/// The namespace the session deploys into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePlan {
    /// Its name.
    pub name: String,
    /// Create it (with `labels` plus the session labels) when it does not exist; a
    /// namespace we created is deleted with the session.
    pub create_if_missing: bool,
    /// Labels of a created namespace.
    pub labels: BTreeMap<String, String>,
}

/// Everything a session deploys, in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployPlan {
    /// Target namespace.
    pub namespace: NamespacePlan,
    /// Every write for the session is made as this ServiceAccount (reads and cleanup
    /// use the controller's identity).
    pub impersonate: Option<ServiceAccountReference>,
    /// `failMode` of the template: what an infrastructure failure does.
    pub fail_mode: FailMode,
    /// Objects in apply order (workload included, exactly once).
    pub objects: Vec<PlannedObject>,
    /// Things the requester should know (shown in the session message).
    pub warnings: Vec<String>,
}

/// Everything [`plan`] reads.
#[derive(Debug, Clone, Copy)]
pub struct DeployInput<'a> {
    /// The session.
    pub session: &'a DebugSession,
    /// The effective template (`status.resolvedTemplate`).
    pub effective: &'a DebugSessionTemplateSpec,
    /// The pod template named by the effective template.
    pub pod_template: Option<(&'a str, &'a DebugPodTemplateSpec)>,
    /// Names of the target's nodes (glob `deniedNodes`).
    pub node_names: &'a [String],
    /// The render clock.
    pub now: jiff::Timestamp,
}

/// Why a session cannot be deployed. These are policy refusals: the session fails
/// whatever its `failMode`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeployError {
    /// Not yet built.
    #[error("deployment planning is not implemented yet")]
    NotImplemented,
}

/// Plans the session's deployment.
pub fn plan(input: &DeployInput<'_>) -> Result<DeployPlan, DeployError> {
    let _ = input;
    Err(DeployError::NotImplemented)
}
