//! The first document of a rendered pod template: what pod it describes (A3 §27, §31).
//!
//! The document is a bare PodSpec (it has `containers`), a `v1 Pod`, or an `apps/v1`
//! `Deployment`/`DaemonSet` whose pod template is taken (its labels and annotations go
//! to the pods). A Deployment or DaemonSet must match the template's `workloadType`.
//!
//! The pod spec is read as a [`DebugPodSpec`], the same subset of a PodSpec that a
//! structured pod template may set, and a field outside it is an error: a rendered
//! template cannot reach what a structured one cannot (`nodeName` would bypass every
//! scheduling constraint, for example).

use std::collections::BTreeMap;

use breakglass_api::debug_pod_template::DebugPodSpec;
use breakglass_api::debug_session_template::DebugWorkloadType;
use serde_json::Value as Json;

use super::{PodParts, WorkloadError, pod_spec};

/// The keys of a PodSpec a debug pod may set (the fields of [`DebugPodSpec`]).
pub const POD_SPEC_FIELDS: &[&str] = &[
    "affinity",
    "automountServiceAccountToken",
    "containers",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "hostAliases",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "imagePullSecrets",
    "initContainers",
    "nodeSelector",
    "overhead",
    "preemptionPolicy",
    "priorityClassName",
    "restartPolicy",
    "runtimeClassName",
    "schedulerName",
    "securityContext",
    "serviceAccountName",
    "shareProcessNamespace",
    "terminationGracePeriodSeconds",
    "tolerations",
    "topologySpreadConstraints",
    "volumes",
];

/// The pod described by a rendered template's first document.
pub fn first_document(
    doc: &Json,
    workload_type: DebugWorkloadType,
) -> Result<PodParts, WorkloadError> {
    let Some(map) = doc.as_object() else {
        return Err(WorkloadError::RenderedPod(
            "the first document is not a mapping".to_owned(),
        ));
    };
    let kind = map.get("kind").and_then(Json::as_str);
    let api_version = map.get("apiVersion").and_then(Json::as_str).unwrap_or("");
    match (api_version, kind) {
        (_, None) => Ok(PodParts {
            spec: spec_of(doc, "")?,
            ..PodParts::default()
        }),
        ("v1", Some("Pod")) => {
            let spec = map.get("spec").ok_or_else(|| {
                WorkloadError::RenderedPod("the Pod document has no spec".to_owned())
            })?;
            Ok(PodParts {
                spec: spec_of(spec, "spec.")?,
                labels: string_map(map.get("metadata"), "labels")?,
                annotations: string_map(map.get("metadata"), "annotations")?,
            })
        }
        ("apps/v1", Some(k @ ("Deployment" | "DaemonSet"))) => {
            let wanted = match workload_type {
                DebugWorkloadType::DaemonSet => "DaemonSet",
                DebugWorkloadType::Deployment => "Deployment",
            };
            if k != wanted {
                return Err(WorkloadError::KindMismatch {
                    rendered: k.to_owned(),
                    configured: wanted,
                });
            }
            let template = map
                .get("spec")
                .and_then(|s| s.get("template"))
                .ok_or_else(|| {
                    WorkloadError::RenderedPod(format!("the {k} document has no spec.template"))
                })?;
            let spec = template.get("spec").ok_or_else(|| {
                WorkloadError::RenderedPod(format!("the {k} document has no spec.template.spec"))
            })?;
            Ok(PodParts {
                spec: spec_of(spec, "spec.template.spec.")?,
                labels: string_map(template.get("metadata"), "labels")?,
                annotations: string_map(template.get("metadata"), "annotations")?,
            })
        }
        (_, Some(k)) => Err(WorkloadError::RenderedKind {
            api_version: if api_version.is_empty() {
                "(no apiVersion)".to_owned()
            } else {
                api_version.to_owned()
            },
            kind: k.to_owned(),
        }),
    }
}

/// Reads a pod spec, refusing fields a debug pod may not set.
fn spec_of(doc: &Json, prefix: &str) -> Result<k8s_openapi::api::core::v1::PodSpec, WorkloadError> {
    let Some(map) = doc.as_object() else {
        return Err(WorkloadError::RenderedPod(format!(
            "{prefix}: a pod spec must be a mapping"
        )));
    };
    if let Some(field) = map
        .iter()
        .find(|(k, v)| !v.is_null() && !POD_SPEC_FIELDS.contains(&k.as_str()))
        .map(|(k, _)| k)
    {
        return Err(WorkloadError::PodField(format!("{prefix}{field}")));
    }
    let spec: DebugPodSpec = serde_path_to_error::deserialize(doc)
        .map_err(|e| WorkloadError::RenderedPod(format!("{prefix}{}: {}", e.path(), e.inner())))?;
    if spec.containers.is_empty() {
        return Err(WorkloadError::NoContainers);
    }
    Ok(pod_spec(&spec))
}

fn string_map(meta: Option<&Json>, key: &str) -> Result<BTreeMap<String, String>, WorkloadError> {
    match meta.and_then(|m| m.get(key)) {
        None | Some(Json::Null) => Ok(BTreeMap::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
            WorkloadError::RenderedPod(format!("metadata.{key} must map strings to strings"))
        }),
    }
}
