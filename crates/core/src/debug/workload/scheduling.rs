//! Where a debug pod may run (A3 §29), applied in this order:
//!
//! 1. the pod template's own nodeSelector, tolerations and affinity;
//! 2. the template's `podOverrides` (host namespaces only);
//! 3. `affinityOverrides` (replaces the affinity);
//! 4. `additionalTolerations` (appended);
//! 5. the request's `nodeSelector` (merged; a conflicting value is an error);
//! 6. the resolved scheduling constraints (`spec.resolvedSchedulingConstraints`, else
//!    the effective template's `schedulingConstraints`): nodeSelector merged (conflict
//!    is an error), tolerations, spread constraints and soft terms appended, required
//!    node affinity ANDed, and last the denials: `deniedNodes` become
//!    `metadata.name NotIn` field requirements and `deniedNodeLabels` label
//!    requirements (`*` ⇒ `DoesNotExist`, else `NotIn`), ANDed into every required term.
//!
//! Because the denials are ANDed into every term after everything a user can
//! influence, no user value removes them. Glob `deniedNodes` are expanded against the
//! node names passed in; the reconciler rebuilds the workload when the target's nodes
//! change, so a node added later that matches a glob is excluded too.

use std::collections::BTreeMap;

use breakglass_api::debug_common::SchedulingConstraints;
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PodAntiAffinity, PodSpec,
};

use super::{WorkloadError, WorkloadInput};
use crate::glob;

/// Most nodes `deniedNodes` may exclude (one field requirement each, in every term).
pub const MAX_DENIED_NODES: usize = 1000;

/// Most required node-affinity terms a pod may end up with (their cross product grows fast).
pub const MAX_NODE_SELECTOR_TERMS: usize = 128;

/// The constraints that apply to the session: the resolved ones recorded at creation,
/// else the effective template's.
pub fn constraints<'a>(input: &WorkloadInput<'a>) -> Option<&'a SchedulingConstraints> {
    input
        .session
        .spec
        .resolved_scheduling_constraints
        .as_ref()
        .or(input.effective.scheduling_constraints.as_ref())
}

/// Applies every scheduling rule after the pod overrides (which
/// [`super::assemble`] applies first) to `spec`.
pub fn shape(spec: &mut PodSpec, input: &WorkloadInput<'_>) -> Result<(), WorkloadError> {
    let effective = input.effective;
    if let Some(a) = &effective.affinity_overrides {
        spec.affinity = Some(a.clone());
    }
    if let Some(t) = &effective.additional_tolerations {
        spec.tolerations
            .get_or_insert_with(Vec::new)
            .extend_from_slice(t);
    }
    if let Some(ns) = &input.session.spec.node_selector {
        merge_node_selector(spec, ns)?;
    }
    let Some(c) = constraints(input) else {
        return Ok(());
    };
    if let Some(ns) = &c.node_selector {
        merge_node_selector(spec, ns)?;
    }
    if let Some(t) = &c.tolerations {
        spec.tolerations
            .get_or_insert_with(Vec::new)
            .extend_from_slice(t);
    }
    if let Some(t) = &c.topology_spread_constraints {
        spec.topology_spread_constraints
            .get_or_insert_with(Vec::new)
            .extend_from_slice(t);
    }
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    if let Some(p) = &c.preferred_pod_anti_affinity {
        anti(affinity)
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .extend_from_slice(p);
    }
    if let Some(r) = &c.required_pod_anti_affinity {
        anti(affinity)
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .extend_from_slice(r);
    }
    let node = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    if let Some(p) = &c.preferred_node_affinity {
        node.preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .extend_from_slice(p);
    }
    let mut terms = node
        .required_during_scheduling_ignored_during_execution
        .take()
        .map(|s| s.node_selector_terms)
        .unwrap_or_default();
    if let Some(required) = &c.required_node_affinity {
        terms = and_terms(terms, &required.node_selector_terms)?;
    }
    let denials = denials(c, input.node_names)?;
    if !denials.0.is_empty() || !denials.1.is_empty() {
        if terms.is_empty() {
            terms.push(NodeSelectorTerm::default());
        }
        for term in &mut terms {
            term.match_expressions
                .get_or_insert_with(Vec::new)
                .extend_from_slice(&denials.0);
            term.match_fields
                .get_or_insert_with(Vec::new)
                .extend_from_slice(&denials.1);
        }
    }
    if !terms.is_empty() {
        node.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
            node_selector_terms: terms,
        });
    }
    Ok(())
}

fn anti(affinity: &mut Affinity) -> &mut PodAntiAffinity {
    affinity
        .pod_anti_affinity
        .get_or_insert_with(PodAntiAffinity::default)
}

/// Adds `extra` to the pod's nodeSelector; a key already required with another value
/// is a conflict (a user value never replaces a template's).
fn merge_node_selector(
    spec: &mut PodSpec,
    extra: &BTreeMap<String, String>,
) -> Result<(), WorkloadError> {
    let ns = spec.node_selector.get_or_insert_with(BTreeMap::new);
    for (k, v) in extra {
        match ns.get(k) {
            Some(existing) if existing != v => {
                return Err(WorkloadError::NodeSelectorConflict {
                    key: k.clone(),
                    first: existing.clone(),
                    second: v.clone(),
                });
            }
            _ => {
                ns.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// `(A1 ∨ A2) ∧ (B1 ∨ B2)` as the terms `Ai ∧ Bj`. No terms on one side means no
/// restriction from it.
fn and_terms(
    left: Vec<NodeSelectorTerm>,
    right: &[NodeSelectorTerm],
) -> Result<Vec<NodeSelectorTerm>, WorkloadError> {
    if right.is_empty() {
        return Ok(left);
    }
    if left.is_empty() {
        return Ok(right.to_vec());
    }
    let count = left.len().saturating_mul(right.len());
    if count > MAX_NODE_SELECTOR_TERMS {
        return Err(WorkloadError::TooManyAffinityTerms(count));
    }
    let mut out = Vec::with_capacity(count);
    for l in &left {
        for r in right {
            let mut t = l.clone();
            for (into, from) in [
                (&mut t.match_expressions, &r.match_expressions),
                (&mut t.match_fields, &r.match_fields),
            ] {
                if let Some(from) = from {
                    into.get_or_insert_with(Vec::new).extend_from_slice(from);
                }
            }
            out.push(t);
        }
    }
    Ok(out)
}

/// The denial requirements: label requirements from `deniedNodeLabels`, and one
/// `metadata.name NotIn` field requirement per denied node (a node field requirement
/// takes exactly one value). Glob patterns are expanded against `node_names`.
pub fn denials(
    c: &SchedulingConstraints,
    node_names: &[String],
) -> Result<(Vec<NodeSelectorRequirement>, Vec<NodeSelectorRequirement>), WorkloadError> {
    let labels = c
        .denied_node_labels
        .iter()
        .flatten()
        .map(|(key, value)| {
            if value == "*" {
                NodeSelectorRequirement {
                    key: key.clone(),
                    operator: "DoesNotExist".to_owned(),
                    values: None,
                }
            } else {
                NodeSelectorRequirement {
                    key: key.clone(),
                    operator: "NotIn".to_owned(),
                    values: Some(vec![value.clone()]),
                }
            }
        })
        .collect();
    let mut names = std::collections::BTreeSet::new();
    for pattern in c.denied_nodes.iter().flatten() {
        if glob::has_meta(pattern) {
            glob::validate_pattern(pattern)
                .map_err(|_| WorkloadError::BadDeniedNodePattern(pattern.clone()))?;
            names.extend(
                node_names
                    .iter()
                    .filter(|n| glob::glob_match(pattern, n).unwrap_or(false))
                    .cloned(),
            );
        } else {
            names.insert(pattern.clone());
        }
    }
    if names.len() > MAX_DENIED_NODES {
        return Err(WorkloadError::TooManyDeniedNodes(names.len()));
    }
    let fields = names
        .into_iter()
        .map(|n| NodeSelectorRequirement {
            key: "metadata.name".to_owned(),
            operator: "NotIn".to_owned(),
            values: Some(vec![n]),
        })
        .collect();
    Ok((labels, fields))
}

/// True when the session's constraints hold a glob `deniedNodes` pattern, so the
/// workload depends on the target's node list.
pub fn depends_on_nodes(input: &WorkloadInput<'_>) -> bool {
    constraints(input)
        .and_then(|c| c.denied_nodes.as_ref())
        .is_some_and(|d| d.iter().any(|p| glob::has_meta(p)))
}
