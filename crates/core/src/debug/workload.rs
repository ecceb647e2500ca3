//! The debug workload a session deploys on its target cluster, built as objects (no I/O).
//!
//! From the session, its effective template (`status.resolvedTemplate`), the structured
//! `DebugPodTemplate` and the target's node names, [`build`] returns a `DaemonSet` or a
//! `Deployment` named after the session, labelled with it ([`session_labels`]) on the
//! workload and on its pods, `restartPolicy: Always`, and shaped by the scheduling rules
//! of [`scheduling`]. Everything created for a session carries the same labels, so
//! cleanup finds it with [`session_selector`] (also after a crash).
//!
//! [`build`] takes the structured pod template; rendered pod templates (`templateString`,
//! the template's `podTemplateString`) are read by [`rendered`] and shaped by the same
//! [`assemble`], called from the deploy plan.

pub mod overrides;
pub mod plan;
pub mod rendered;
pub mod scheduling;
pub mod terminal;

use std::collections::BTreeMap;

use breakglass_api::debug_common::DEFAULT_TARGET_NAMESPACE;
use breakglass_api::debug_pod_template::{
    DebugPodSpec, DebugPodSpecTemplate, DebugPodTemplateSpec,
};
use breakglass_api::debug_session::{AllowedPodRef, DebugSession, PodContainerStatus};
use breakglass_api::debug_session_template::{
    DebugPodOverrides, DebugSessionMode, DebugSessionTemplateSpec, DebugWorkloadType,
};
use breakglass_api::labels;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use thiserror::Error;

/// `app.kubernetes.io/managed-by` on everything breakglass creates on a target.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "breakglass";
/// Hub namespace of the owning DebugSession (names are unique only per namespace).
pub const SESSION_NAMESPACE: &str = "breakglass.telekom.com/debug-session-namespace";
/// What a target object is to its session: `workload`, `quota`, `pdb`, `pod-template`
/// (an extra document of a rendered pod template) or `auxiliary`.
pub const DEBUG_RESOURCE: &str = "breakglass.telekom.com/debug-resource";
/// The `name` of the auxiliary resource an object was rendered from.
pub const AUXILIARY_RESOURCE: &str = "breakglass.telekom.com/auxiliary-resource";
/// `true` on objects that outlive their session (auxiliary `deleteAfter: false`).
pub const DEBUG_KEEP: &str = "breakglass.telekom.com/debug-keep";

/// Why no workload could be built; the message is shown on the session.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkloadError {
    /// The template deploys a workload but names no pod template.
    #[error("template has no podTemplateRef: nothing to deploy")]
    NoPodTemplate,
    /// The named DebugPodTemplate does not exist.
    #[error("pod template {0:?} not found")]
    PodTemplateNotFound(String),
    /// The pod template has neither `template` nor `templateString`.
    #[error("pod template {0:?} has no template")]
    EmptyPodTemplate(String),
    /// Go-template pod sources are not supported yet.
    #[error(
        "{0} is a rendered template, which this server does not deploy yet (issue #10: templated pod templates); use a structured DebugPodTemplate"
    )]
    RenderedTemplate(&'static str),
    /// Two sources require different values for one node label.
    #[error("nodeSelector conflict on {key:?}: {first:?} versus {second:?}")]
    NodeSelectorConflict {
        /// The label key.
        key: String,
        /// The value already required.
        first: String,
        /// The value that conflicts.
        second: String,
    },
    /// ANDing required node affinities produced too many terms.
    #[error("required node affinity would need {0} terms (at most {max})", max = scheduling::MAX_NODE_SELECTOR_TERMS)]
    TooManyAffinityTerms(usize),
    /// `deniedNodes` names more nodes than a pod spec should carry.
    #[error("deniedNodes excludes {0} nodes (at most {max}); use deniedNodeLabels", max = scheduling::MAX_DENIED_NODES)]
    TooManyDeniedNodes(usize),
    /// A `deniedNodes` pattern is malformed.
    #[error("deniedNodes pattern {0:?} is malformed")]
    BadDeniedNodePattern(String),
    /// `replicas` below one.
    #[error("replicas must be at least 1, got {0}")]
    Replicas(i32),
    /// The first rendered document is of a kind that is no pod.
    #[error(
        "the pod template's first document is a {api_version} {kind}; it must be a PodSpec, a v1 Pod, or an apps/v1 Deployment or DaemonSet"
    )]
    RenderedKind {
        /// Its apiVersion.
        api_version: String,
        /// Its kind.
        kind: String,
    },
    /// The rendered workload kind differs from `workloadType`.
    #[error("template renders a {rendered} but workloadType is {configured}; these must match")]
    KindMismatch {
        /// What the template renders.
        rendered: String,
        /// The effective `workloadType` (default DaemonSet).
        configured: &'static str,
    },
    /// The rendered pod is malformed.
    #[error("the pod template's first document is not a usable pod: {0}")]
    RenderedPod(String),
    /// The rendered pod sets a field debug pods may not set.
    #[error("the pod template sets {0}, which a debug pod may not set")]
    PodField(String),
    /// The pod has no container.
    #[error("the pod template has no containers (at least one is required)")]
    NoContainers,
    /// Terminal sharing is on but the first container sets no command to wrap.
    #[error(
        "terminalSharing is enabled but the first container {0:?} sets no command: the shared terminal wraps the container's command, so set command (and args) in the pod template"
    )]
    TerminalSharingNoCommand(String),
    /// A container override names no container of the pod.
    #[error("{field}: the pod has no container named {name:?}")]
    OverrideContainer {
        /// Which overrides (`podOverrides`, `podOverridesTemplate`).
        field: &'static str,
        /// The container name.
        name: String,
    },
}

/// The workload of a session.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// One pod per eligible node.
    DaemonSet(DaemonSet),
    /// A fixed number of pods.
    Deployment(Deployment),
}

impl Workload {
    /// `DaemonSet` or `Deployment`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DaemonSet(_) => "DaemonSet",
            Self::Deployment(_) => "Deployment",
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::DaemonSet(d) => &d.metadata,
            Self::Deployment(d) => &d.metadata,
        }
    }

    /// The object as JSON (with apiVersion and kind).
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            Self::DaemonSet(d) => serde_json::to_value(d),
            Self::Deployment(d) => serde_json::to_value(d),
        }
    }

    /// The pod spec of the workload.
    pub fn pod_spec(&self) -> Option<&PodSpec> {
        match self {
            Self::DaemonSet(d) => d.spec.as_ref()?.template.spec.as_ref(),
            Self::Deployment(d) => d.spec.as_ref()?.template.spec.as_ref(),
        }
    }
}

/// Everything [`build`] reads.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadInput<'a> {
    /// The session (name, namespace, cluster, template, request nodeSelector, resolved
    /// scheduling constraints).
    pub session: &'a DebugSession,
    /// The effective template (`status.resolvedTemplate`).
    pub effective: &'a DebugSessionTemplateSpec,
    /// The pod template the effective template names (`None`: not found or none named).
    pub pod_template: Option<(&'a str, &'a DebugPodTemplateSpec)>,
    /// Names of the target's nodes, to expand glob `deniedNodes`.
    pub node_names: &'a [String],
}

/// True when the session's template deploys a workload (modes `workload`, `hybrid`).
pub fn deploys_workload(effective: &DebugSessionTemplateSpec) -> bool {
    effective.mode() != DebugSessionMode::KubectlDebug
}

/// The namespace of the session's workload: the session's `targetNamespace` (resolved at
/// creation), else the namespace constraints' default, else the template's
/// `targetNamespace`, else `breakglass-debug`.
pub fn target_namespace(session: &DebugSession, effective: &DebugSessionTemplateSpec) -> String {
    let nonempty = |s: Option<&String>| s.filter(|s| !s.is_empty()).cloned();
    nonempty(session.spec.target_namespace.as_ref())
        .or_else(|| {
            nonempty(
                effective
                    .namespace_constraints
                    .as_ref()
                    .and_then(|c| c.default_namespace.as_ref()),
            )
        })
        .or_else(|| nonempty(effective.target_namespace.as_ref()))
        .unwrap_or_else(|| DEFAULT_TARGET_NAMESPACE.to_owned())
}

/// A label value for any text: kept when it is a valid label value, otherwise a
/// sanitised prefix plus a hash of the whole text (so distinct texts stay distinct).
pub fn label_value(text: &str) -> String {
    let valid = text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && text
            .bytes()
            .next()
            .is_none_or(|b| b.is_ascii_alphanumeric())
        && text
            .bytes()
            .last()
            .is_none_or(|b| b.is_ascii_alphanumeric());
    if valid {
        return text.to_owned();
    }
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(46)
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let hash = fnv1a(text.as_bytes());
    if cleaned.is_empty() {
        format!("h{hash:016x}")
    } else {
        format!("{cleaned}-{hash:016x}")
    }
}

/// FNV-1a, 64 bit: a stable hash for label values (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The labels naming the owning session, on every object created for it on a target.
pub fn session_labels(session: &DebugSession) -> BTreeMap<String, String> {
    let name = session.metadata.name.as_deref().unwrap_or_default();
    let ns = session.metadata.namespace.as_deref().unwrap_or_default();
    BTreeMap::from([
        (MANAGED_BY.to_owned(), MANAGED_BY_VALUE.to_owned()),
        (labels::DEBUG_SESSION.to_owned(), label_value(name)),
        (SESSION_NAMESPACE.to_owned(), label_value(ns)),
        (
            labels::DEBUG_TEMPLATE.to_owned(),
            label_value(&session.spec.template_ref),
        ),
        (
            labels::DEBUG_CLUSTER.to_owned(),
            label_value(&session.spec.cluster),
        ),
    ])
}

/// The labels that select exactly the session's objects (workload selector, cleanup).
pub fn selector_labels(session: &DebugSession) -> BTreeMap<String, String> {
    let mut all = session_labels(session);
    all.retain(|k, _| k == labels::DEBUG_SESSION || k == SESSION_NAMESPACE);
    all
}

/// The label selector (text form) of everything created for the session.
pub fn session_selector(session: &DebugSession) -> String {
    to_selector(&selector_labels(session))
}

/// The label selector of what the server deletes when the session ends: the session's
/// objects except those marked [`DEBUG_KEEP`].
pub fn cleanup_selector(session: &DebugSession) -> String {
    format!("{},!{DEBUG_KEEP}", session_selector(session))
}

/// The label selector of everything breakglass manages on a target.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY}={MANAGED_BY_VALUE},{}", labels::DEBUG_SESSION)
}

fn to_selector(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The owning session (`namespace`, `name` label values) of a labelled target object.
pub fn owner_of(object_labels: &BTreeMap<String, String>) -> Option<(String, String)> {
    Some((
        object_labels.get(SESSION_NAMESPACE)?.clone(),
        object_labels.get(labels::DEBUG_SESSION)?.clone(),
    ))
}

/// The pod a workload runs, before the session shapes it: from the structured
/// `DebugPodTemplate` or from a rendered template's first document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodParts {
    /// The pod spec (restart policy and scheduling not yet applied).
    pub spec: PodSpec,
    /// Labels of the pods.
    pub labels: BTreeMap<String, String>,
    /// Annotations of the pods.
    pub annotations: BTreeMap<String, String>,
}

impl PodParts {
    /// The parts of a structured pod template.
    pub fn structured(t: &DebugPodSpecTemplate) -> Self {
        let meta = t.metadata.as_ref();
        Self {
            spec: pod_spec(&t.spec),
            labels: meta.and_then(|m| m.labels.clone()).unwrap_or_default(),
            annotations: meta.and_then(|m| m.annotations.clone()).unwrap_or_default(),
        }
    }
}

/// Builds the session's workload from a STRUCTURED pod template (rendered sources are
/// planned by [`crate::debug::deploy::plan`]).
pub fn build(input: &WorkloadInput<'_>) -> Result<Workload, WorkloadError> {
    let effective = input.effective;
    if effective
        .pod_template_string
        .as_ref()
        .is_some_and(|s| !s.trim().is_empty())
    {
        return Err(WorkloadError::RenderedTemplate(
            "the template's podTemplateString",
        ));
    }
    let Some((pt_name, pod_template)) = input.pod_template else {
        return Err(WorkloadError::NoPodTemplate);
    };
    let Some(structured) = pod_template.template.as_ref() else {
        if pod_template
            .template_string
            .as_ref()
            .is_some_and(|s| !s.trim().is_empty())
        {
            return Err(WorkloadError::RenderedTemplate(
                "the pod template's templateString",
            ));
        }
        return Err(WorkloadError::EmptyPodTemplate(pt_name.to_owned()));
    };
    assemble(input, PodParts::structured(structured), &[])
}

/// Shapes a pod into the session's workload: the pod overrides (the structured
/// `podOverrides`, then `extra_overrides`, e.g. a rendered `podOverridesTemplate`), the
/// terminal-sharing wrapper ([`terminal`]), the scheduling rules, `restartPolicy:
/// Always`, the session's labels (ours win over the template's and the pod's) and
/// selector. Structured and rendered pods share this path,
/// so every rule holds for both.
pub fn assemble(
    input: &WorkloadInput<'_>,
    parts: PodParts,
    extra_overrides: &[&DebugPodOverrides],
) -> Result<Workload, WorkloadError> {
    let effective = input.effective;
    let PodParts {
        mut spec,
        labels: own_pod_labels,
        annotations: own_pod_annotations,
    } = parts;
    if spec.containers.is_empty() {
        return Err(WorkloadError::NoContainers);
    }
    if let Some(o) = &effective.pod_overrides {
        overrides::apply(&mut spec, o, "podOverrides")?;
    }
    for o in extra_overrides {
        overrides::apply(&mut spec, o, "podOverridesTemplate")?;
    }
    terminal::wrap(&mut spec, input.session, effective)?;
    scheduling::shape(&mut spec, input)?;
    // Whatever the source said: debug workloads restart their pods.
    spec.restart_policy = Some("Always".to_owned());

    let session = input.session;
    let name = session.metadata.name.clone().unwrap_or_default();
    let mut own = session_labels(session);
    own.insert(DEBUG_RESOURCE.to_owned(), "workload".to_owned());
    let mut object_labels = effective.labels.clone().unwrap_or_default();
    object_labels.extend(own.clone());
    let mut pod_labels = effective.labels.clone().unwrap_or_default();
    pod_labels.extend(own_pod_labels);
    // Ours last: nothing a template says may rename or hide the owning session.
    pod_labels.extend(own);
    let mut pod_annotations = effective.annotations.clone().unwrap_or_default();
    pod_annotations.extend(own_pod_annotations);
    let metadata = ObjectMeta {
        name: Some(name),
        namespace: Some(target_namespace(session, effective)),
        labels: Some(object_labels),
        annotations: effective.annotations.clone().filter(|a| !a.is_empty()),
        ..ObjectMeta::default()
    };
    let selector = LabelSelector {
        match_labels: Some(selector_labels(session)),
        ..LabelSelector::default()
    };
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: (!pod_annotations.is_empty()).then_some(pod_annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(spec),
    };
    Ok(
        match effective
            .workload_type
            .unwrap_or(DebugWorkloadType::DaemonSet)
        {
            DebugWorkloadType::DaemonSet => Workload::DaemonSet(DaemonSet {
                metadata,
                spec: Some(DaemonSetSpec {
                    selector,
                    template,
                    ..DaemonSetSpec::default()
                }),
                status: None,
            }),
            DebugWorkloadType::Deployment => Workload::Deployment(Deployment {
                metadata,
                spec: Some(DeploymentSpec {
                    replicas: Some(replicas(effective)?),
                    selector,
                    template,
                    ..DeploymentSpec::default()
                }),
                status: None,
            }),
        },
    )
}

/// Deployment replicas: the template's (default 1), at most `resourceQuota.maxPods`.
pub fn replicas(effective: &DebugSessionTemplateSpec) -> Result<i32, WorkloadError> {
    let wanted = effective.replicas.unwrap_or(1);
    if wanted < 1 {
        return Err(WorkloadError::Replicas(wanted));
    }
    let cap = effective
        .resource_quota
        .as_ref()
        .and_then(|q| q.max_pods)
        .filter(|m| *m >= 1);
    Ok(cap.map_or(wanted, |m| wanted.min(m)))
}

/// The debug pod spec as a Kubernetes PodSpec; debug workloads always restart their
/// pods (a DaemonSet or Deployment accepts nothing else).
pub fn pod_spec(s: &DebugPodSpec) -> PodSpec {
    PodSpec {
        security_context: s.security_context.clone(),
        containers: s.containers.clone(),
        init_containers: s.init_containers.clone(),
        volumes: s.volumes.clone(),
        automount_service_account_token: Some(s.automount_service_account_token.unwrap_or(false)),
        tolerations: s.tolerations.clone(),
        affinity: s.affinity.clone(),
        node_selector: s.node_selector.clone(),
        service_account_name: s.service_account_name.clone(),
        host_network: s.host_network,
        host_pid: s.host_pid,
        host_ipc: s.host_ipc,
        dns_policy: s.dns_policy.clone(),
        restart_policy: Some("Always".to_owned()),
        termination_grace_period_seconds: s.termination_grace_period_seconds,
        priority_class_name: s.priority_class_name.clone(),
        runtime_class_name: s.runtime_class_name.clone(),
        preemption_policy: s.preemption_policy.map(|p| p.as_str().to_owned()),
        topology_spread_constraints: s.topology_spread_constraints.clone(),
        dns_config: s.dns_config.clone(),
        share_process_namespace: s.share_process_namespace,
        host_aliases: s.host_aliases.clone(),
        image_pull_secrets: s.image_pull_secrets.clone(),
        enable_service_links: s.enable_service_links,
        scheduler_name: s.scheduler_name.clone(),
        overhead: s.overhead.clone(),
        ..PodSpec::default()
    }
}

/// What `status.allowedPods` says about one pod of the session.
pub fn allowed_pod(pod: &Pod) -> AllowedPodRef {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let first = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first());
    let container_status = first.map(|c| {
        let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
        PodContainerStatus {
            waiting_reason: waiting.and_then(|w| w.reason.clone()),
            waiting_message: waiting.and_then(|w| w.message.clone()),
            restart_count: Some(c.restart_count),
            last_termination_reason: c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.reason.clone()),
        }
    });
    AllowedPodRef {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        ready: Some(ready),
        phase: status.and_then(|s| s.phase.clone()),
        container_status,
    }
}

/// `status.allowedPods` from the session's live pods: pods being deleted are left out
/// (access to a pod ends when it goes), sorted by namespace and name so an unchanged
/// set compares equal.
pub fn allowed_pods<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Vec<AllowedPodRef> {
    let mut out: Vec<AllowedPodRef> = pods
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(allowed_pod)
        .collect();
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "workload_tests.rs"]
mod tests;
