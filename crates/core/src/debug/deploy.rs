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

use crate::debug::render;
use crate::debug::workload::{self, WorkloadError};
use crate::template::TemplateError;

pub mod auxiliary;
pub mod kinds;
mod objects;
mod pod;
pub mod quota;

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
pub const KNOWN_KINDS: &[KindInfo] = &[
    kind("apps", "v1", "DaemonSet", "daemonsets"),
    kind("apps", "v1", "Deployment", "deployments"),
    kind("", "v1", "ResourceQuota", "resourcequotas"),
    kind(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
    ),
    kind("", "v1", "ServiceAccount", "serviceaccounts"),
    kind("", "v1", "ConfigMap", "configmaps"),
    kind("", "v1", "Secret", "secrets"),
    kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    kind("", "v1", "Service", "services"),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
    ),
    kind("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
    ),
];

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
) -> KindInfo {
    KindInfo {
        group,
        version,
        kind,
        plural,
        namespaced: true,
    }
}

/// The known kind called `kind` in `group` (panics never: `None` when unknown).
pub fn known_kind(group: &str, kind: &str) -> Option<&'static KindInfo> {
    kinds::known(group, kind)
}

/// Where a planned object comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The session's DaemonSet or Deployment.
    Workload,
    /// The session's ResourceQuota (`<session>-quota`).
    ResourceQuota,
    /// The session's PodDisruptionBudget (`<session>-pdb`).
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

impl Source {
    /// The value of the [`workload::DEBUG_RESOURCE`] label for objects of this source.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Workload => "workload",
            Self::ResourceQuota => "quota",
            Self::DisruptionBudget => "pdb",
            Self::PodTemplateResource => "pod-template",
            Self::Auxiliary { .. } => "auxiliary",
        }
    }
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
    /// Labels of a created namespace (`namespaceLabels`, then the session labels).
    pub labels: BTreeMap<String, String>,
}

/// An auxiliary resource left out because it could not be rendered and its
/// `failurePolicy` is `ignore` or `warn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedAuxiliary {
    /// The resource's `name`.
    pub name: String,
    /// Its category.
    pub category: Option<String>,
    /// `Ignore` or `Warn`.
    pub failure_policy: AuxiliaryResourceFailurePolicy,
    /// Why it could not be rendered.
    pub message: String,
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
    /// Objects in apply order (the workload exactly once when the template deploys one;
    /// `kubectl-debug` templates plan no workload, PDB or pod-template documents).
    pub objects: Vec<PlannedObject>,
    /// Things the requester should know (shown in the session message).
    pub warnings: Vec<String>,
    /// Auxiliary resources skipped under `failurePolicy: ignore|warn` (for their status).
    pub skipped: Vec<SkippedAuxiliary>,
}

/// Everything [`plan`] reads.
#[derive(Debug, Clone, Copy)]
pub struct DeployInput<'a> {
    /// The session (its `status.resolvedBinding`, `status.approval` and
    /// `status.expiresAt` reach the template context when set).
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

/// Most objects one plan may hold.
pub const MAX_OBJECTS: usize = 256;

/// Why a session cannot be deployed. These are policy refusals: the session fails
/// whatever its `failMode`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeployError {
    /// The workload cannot be built.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The pod template or the override template could not be rendered (the message
    /// names the template: `podTemplateString`, `<pod template>.templateString`,
    /// `podOverridesTemplate`).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A rendered template's output is unusable, or an auxiliary resource whose
    /// `failurePolicy` is `fail` could not be rendered.
    #[error("{what}: {message}")]
    Render {
        /// Which template.
        what: String,
        /// The engine's message (with its position).
        message: String,
    },
    /// A rendered document is of a kind the template may not create.
    #[error("{what}: kind {kind} ({api_version}) is not allowed; allowed kinds: {allowed}")]
    KindNotAllowed {
        /// The resource and document.
        what: String,
        /// apiVersion of the document.
        api_version: String,
        /// Its kind.
        kind: String,
        /// What is allowed instead.
        allowed: String,
    },
    /// A rendered document is cluster-scoped.
    #[error("{what}: {kind} is cluster-scoped; debug sessions create namespaced objects only")]
    ClusterScoped {
        /// The resource and document.
        what: String,
        /// Its kind.
        kind: String,
    },
    /// A rendered document names another namespace.
    #[error(
        "{what}: {kind} {name:?} names namespace {namespace:?}; objects of a session must be in its target namespace {target:?}"
    )]
    WrongNamespace {
        /// The resource and document.
        what: String,
        /// Its kind.
        kind: String,
        /// Its name.
        name: String,
        /// The namespace it names.
        namespace: String,
        /// The session's target namespace.
        target: String,
    },
    /// Two planned objects have the same kind and name.
    #[error("{what}: a {kind} named {name:?} is already planned for this session")]
    Duplicate {
        /// The later resource and document.
        what: String,
        /// Kind.
        kind: String,
        /// Name.
        name: String,
    },
    /// A ResourceQuota or PodDisruptionBudget setting is unusable.
    #[error("{field}: {message}")]
    Setting {
        /// The field path (`resourceQuota.maxCPU`).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A container lacks a resource the quota settings require.
    #[error("{container} has no {resource} {which} (resourceQuota.{setting})")]
    Unenforced {
        /// `container X` or `init container X`.
        container: String,
        /// `cpu`, `memory`, `ephemeral-storage`.
        resource: &'static str,
        /// `request` or `limit`.
        which: &'static str,
        /// `enforceResourceRequests` or `enforceResourceLimits`.
        setting: &'static str,
    },
    /// An impersonation mode other than `serviceAccountRef` is configured.
    #[error(
        "impersonation: only serviceAccountRef impersonation deploys debug resources ({0} is set)"
    )]
    Impersonation(&'static str),
    /// A required auxiliary category has no resource.
    #[error(
        "auxiliary resource category {0:?} is required but no auxiliary resource of the template has it"
    )]
    RequiredCategory(String),
    /// Too many objects.
    #[error("the session would deploy more than {MAX_OBJECTS} objects")]
    TooManyObjects,
}

/// Plans the session's deployment (order: quota, PDB, auxiliary resources created
/// before the workload, extra pod-template documents, workload, auxiliary resources
/// created after it).
pub fn plan(input: &DeployInput<'_>) -> Result<DeployPlan, DeployError> {
    let session = input.session;
    let effective = input.effective;
    let namespace = namespace_plan(session, effective);
    let impersonate = impersonation(effective)?;
    let mut out = objects::Objects::new(session, effective, &namespace.name);

    if let Some(q) = quota::resource_quota(session, effective, &namespace.name)? {
        out.push(q, "resourceQuota", Source::ResourceQuota)?;
    }
    let deploys = workload::deploys_workload(effective);
    if deploys && let Some(p) = quota::disruption_budget(session, effective, &namespace.name)? {
        out.push(p, "podDisruptionBudget", Source::DisruptionBudget)?;
    }
    let enabled = auxiliary::enabled(effective)?;
    let names: Vec<String> = enabled.iter().map(|r| r.name.clone()).collect();
    let vars = render::vars(session, effective);
    let data = render::context(&render::ContextInput {
        session,
        effective,
        vars: &vars,
        now: input.now,
        enabled_resources: &names,
    });
    let mut after = Vec::new();
    for res in enabled {
        let Some(docs) = auxiliary::render(res, &data, input.now, &mut out)? else {
            continue;
        };
        if res.create_before() {
            out.push_auxiliary(res, docs)?;
        } else {
            after.push((res, docs));
        }
    }
    if deploys {
        let (extra, built) = pod::workload(input, &data)?;
        for (i, doc) in extra.into_iter().enumerate() {
            let what = format!("pod template document {}", i + 2);
            out.push_restricted(doc, &what, Source::PodTemplateResource)?;
        }
        if let (Some(q), Some(spec)) = (&effective.resource_quota, built.pod_spec()) {
            quota::enforce(spec, q)?;
        }
        let json = built.to_json().map_err(|e| DeployError::Render {
            what: "workload".to_owned(),
            message: e.to_string(),
        })?;
        out.push(json, "workload", Source::Workload)?;
    }
    for (res, docs) in after {
        out.push_auxiliary(res, docs)?;
    }
    let (objects, warnings, skipped) = out.finish();
    Ok(DeployPlan {
        namespace,
        impersonate,
        fail_mode: effective.fail_mode.unwrap_or(FailMode::Closed),
        objects,
        warnings,
        skipped,
    })
}

/// The namespace plan: the workload namespace, created when `createIfNotExists`, with
/// `namespaceLabels` and the session labels (ours win).
pub fn namespace_plan(
    session: &DebugSession,
    effective: &DebugSessionTemplateSpec,
) -> NamespacePlan {
    let nc = effective.namespace_constraints.as_ref();
    let mut labels = nc
        .and_then(|c| c.namespace_labels.clone())
        .unwrap_or_default();
    labels.extend(workload::session_labels(session));
    NamespacePlan {
        name: workload::target_namespace(session, effective),
        create_if_missing: nc.and_then(|c| c.create_if_not_exists).unwrap_or(false),
        labels,
    }
}

/// The ServiceAccount every write impersonates. Other impersonation settings cannot
/// deploy debug resources; declared, they refuse the deployment instead of being
/// silently ignored.
pub fn impersonation(
    effective: &DebugSessionTemplateSpec,
) -> Result<Option<ServiceAccountReference>, DeployError> {
    let Some(i) = &effective.impersonation else {
        return Ok(None);
    };
    let other = [
        ("mode", i.mode.is_some()),
        (
            "userName",
            i.user_name.as_ref().is_some_and(|s| !s.is_empty()),
        ),
        ("uid", i.uid.as_ref().is_some_and(|s| !s.is_empty())),
        ("groups", i.groups.as_ref().is_some_and(|g| !g.is_empty())),
        ("extra", i.extra.as_ref().is_some_and(|e| !e.is_empty())),
        // Constrained-impersonation settings we would not enforce.
        (
            "allowedIdentities",
            i.allowed_identities.as_ref().is_some_and(|l| !l.is_empty()),
        ),
        (
            "actionVerbs",
            i.action_verbs.as_ref().is_some_and(|l| !l.is_empty()),
        ),
    ];
    if let Some((field, _)) = other.iter().find(|(_, set)| *set) {
        return Err(DeployError::Impersonation(field));
    }
    Ok(i.service_account_ref.clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "deploy_tests.rs"]
mod tests;
