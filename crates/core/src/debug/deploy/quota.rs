//! The session's ResourceQuota and PodDisruptionBudget (A3 §34), and the resource
//! settings a quota makes mandatory on every container (A3 §30).
//!
//! Names are derived from the session's full name (§0.7): `<session>-quota` and
//! `<session>-pdb`, shortened with a hash only when they would exceed 253 characters.

use std::collections::BTreeMap;

use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::{DebugResourceQuotaConfig, DebugSessionTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value as Json, json};

use super::DeployError;
use crate::debug::workload;
use crate::quantity::Quantity;

/// Longest object name (a DNS subdomain).
const MAX_NAME: usize = 253;

/// `<session>-<suffix>`, shortened with a hash of the full name when too long.
pub fn derived_name(session: &DebugSession, suffix: &str) -> String {
    let base = session.metadata.name.as_deref().unwrap_or_default();
    let full = format!("{base}-{suffix}");
    if full.len() <= MAX_NAME {
        return full;
    }
    let hash = workload::label_value(&full);
    let hash = hash.rsplit('-').next().unwrap_or_default();
    let keep = MAX_NAME - suffix.len() - hash.len() - 2;
    let mut cut = keep.min(base.len());
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = base[..cut].trim_end_matches(['-', '.']);
    format!("{head}-{hash}-{suffix}")
}

fn quantity(field: &'static str, value: &str) -> Result<String, DeployError> {
    let q = Quantity::parse(value).map_err(|e| DeployError::Setting {
        field,
        message: e.to_string(),
    })?;
    if q <= Quantity::ZERO {
        return Err(DeployError::Setting {
            field,
            message: format!("{value:?} must be positive"),
        });
    }
    Ok(value.to_owned())
}

/// The quota's `hard` limits.
pub fn hard_limits(q: &DebugResourceQuotaConfig) -> Result<BTreeMap<String, String>, DeployError> {
    let mut hard = BTreeMap::new();
    if let Some(pods) = q.max_pods {
        if pods < 1 {
            return Err(DeployError::Setting {
                field: "resourceQuota.maxPods",
                message: format!("{pods} would let no debug pod run; set at least 1"),
            });
        }
        hard.insert("pods".to_owned(), pods.to_string());
    }
    if let Some(cpu) = q.max_cpu.as_deref() {
        let v = quantity("resourceQuota.maxCPU", cpu)?;
        hard.insert("requests.cpu".to_owned(), v.clone());
        hard.insert("limits.cpu".to_owned(), v);
    }
    if let Some(mem) = q.max_memory.as_deref() {
        let v = quantity("resourceQuota.maxMemory", mem)?;
        hard.insert("requests.memory".to_owned(), v.clone());
        hard.insert("limits.memory".to_owned(), v);
    }
    if let Some(storage) = q.max_storage.as_deref() {
        let v = quantity("resourceQuota.maxStorage", storage)?;
        hard.insert("requests.ephemeral-storage".to_owned(), v);
    }
    Ok(hard)
}

/// The session's ResourceQuota, when `resourceQuota` sets any limit.
pub fn resource_quota(
    session: &DebugSession,
    effective: &DebugSessionTemplateSpec,
    namespace: &str,
) -> Result<Option<Json>, DeployError> {
    let Some(q) = &effective.resource_quota else {
        return Ok(None);
    };
    let hard = hard_limits(q)?;
    if hard.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!({
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": derived_name(session, "quota"), "namespace": namespace},
        "spec": {"hard": hard},
    })))
}

/// The session's PodDisruptionBudget when `podDisruptionBudget.enabled`, selecting the
/// session's pods (`minAvailable: 1` when neither bound is set).
pub fn disruption_budget(
    session: &DebugSession,
    effective: &DebugSessionTemplateSpec,
    namespace: &str,
) -> Result<Option<Json>, DeployError> {
    let Some(p) = effective
        .pod_disruption_budget
        .as_ref()
        .filter(|p| p.enabled == Some(true))
    else {
        return Ok(None);
    };
    let mut spec = json!({
        "selector": {"matchLabels": workload::selector_labels(session)},
    });
    let bound = |v: &IntOrString, field: &'static str| -> Result<Json, DeployError> {
        match v {
            IntOrString::Int(i) if *i >= 0 => Ok(json!(i)),
            IntOrString::String(s) if percent(s) => Ok(json!(s)),
            _ => Err(DeployError::Setting {
                field,
                message: "must be a non-negative number or a percentage such as \"50%\"".to_owned(),
            }),
        }
    };
    match (&p.min_available, &p.max_unavailable) {
        (Some(_), Some(_)) => {
            return Err(DeployError::Setting {
                field: "podDisruptionBudget",
                message: "set minAvailable or maxUnavailable, not both".to_owned(),
            });
        }
        (Some(m), None) => {
            spec["minAvailable"] = bound(m, "podDisruptionBudget.minAvailable")?;
        }
        (None, Some(m)) => {
            spec["maxUnavailable"] = bound(m, "podDisruptionBudget.maxUnavailable")?;
        }
        (None, None) => spec["minAvailable"] = json!(1),
    }
    Ok(Some(json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": derived_name(session, "pdb"), "namespace": namespace},
        "spec": spec,
    })))
}

fn percent(s: &str) -> bool {
    s.strip_suffix('%')
        .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
        && s.len() > 1
}

/// Checks that every container and init container sets what the quota settings
/// require: cpu and memory requests (`enforceResourceRequests`, default on) and limits
/// (`enforceResourceLimits`, default on), plus ephemeral-storage when `maxStorage` is
/// set. Runs on the final pod spec, after every override.
pub fn enforce(spec: &PodSpec, q: &DebugResourceQuotaConfig) -> Result<(), DeployError> {
    let mut resources = vec!["cpu", "memory"];
    if q.max_storage.is_some() {
        resources.push("ephemeral-storage");
    }
    let checks = [
        (
            q.enforce_resource_requests.unwrap_or(true),
            "request",
            "enforceResourceRequests",
        ),
        (
            q.enforce_resource_limits.unwrap_or(true),
            "limit",
            "enforceResourceLimits",
        ),
    ];
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| (c, "init container"))
        .chain(spec.containers.iter().map(|c| (c, "container")));
    for (c, label) in containers {
        for (on, which, setting) in checks {
            if !on {
                continue;
            }
            for resource in &resources {
                if !sets(c, which, resource) {
                    return Err(DeployError::Unenforced {
                        container: format!("{label} {}", c.name),
                        resource,
                        which,
                        setting,
                    });
                }
            }
        }
    }
    Ok(())
}

fn sets(c: &Container, which: &str, resource: &str) -> bool {
    let r = c.resources.as_ref();
    let map = if which == "request" {
        r.and_then(|r| r.requests.as_ref())
    } else {
        r.and_then(|r| r.limits.as_ref())
    };
    map.is_some_and(|m| m.contains_key(resource))
}
