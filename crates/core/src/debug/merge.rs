//! Debug sessions: the effective configuration of a template on one binding.
//!
//! A binding narrows or replaces parts of the template it makes available
//! ([`effective_template`]); the result is what a session runs with and is
//! stored in `status.resolvedTemplate`, so later decisions never depend on a
//! template or binding edited after the fact.
//!
//! Rules:
//! * the binding **replaces** `approvers` (present-but-empty means approved
//!   automatically), `impersonation`, `schedulingOptions`, `notification`,
//!   `requestReason`, `approvalReason`, and the `allowed` users/groups when it
//!   lists any;
//! * `constraints` are merged field by field (durations only when positive);
//! * `schedulingConstraints` are added onto the template's
//!   ([`merge_scheduling_constraints`]);
//! * required auxiliary categories are the union; `auxiliaryResourceOverrides` are
//!   written over the template's `auxiliaryResourceDefaults`;
//! * the binding's `deniedAuxiliaryResourceKinds` are removed from the template's
//!   allowed kinds (written out kind by kind; see [`kinds::narrow`]);
//! * `allowedPodOperations` can only be switched off by a binding;
//! * binding labels and annotations are added (binding wins per key);
//! * namespace constraints follow [`merge_namespace_constraints`].

use std::collections::BTreeMap;

use breakglass_api::common::NamespaceFilter;
use breakglass_api::debug_common::{
    AllowedPodOperations, DEFAULT_TARGET_NAMESPACE, DebugSessionAllowed, DebugSessionConstraints,
    DebugSessionConstraintsOverride, NamespaceConstraints, NamespaceConstraintsOverride,
    SchedulingConstraints,
};
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm};
use thiserror::Error;

use crate::debug::deploy::kinds;
use crate::duration::GoDuration;
use crate::glob;
use crate::namespace::{self, AllowDeny};

/// Most node selector terms an ANDed required node affinity may have; the
/// product of two term lists grows fast and the apiserver rejects huge pods.
pub const MAX_NODE_AFFINITY_TERMS: usize = 128;

/// The template as it applies on `binding` (or alone, without a binding).
pub fn effective_template(
    template: &DebugSessionTemplateSpec,
    binding: Option<&DebugSessionClusterBindingSpec>,
) -> DebugSessionTemplateSpec {
    let mut out = template.clone();
    let Some(b) = binding else {
        return out;
    };
    out.allowed = merge_allowed(template.allowed.as_ref(), b.allowed.as_ref());
    replace_if_some(&mut out.approvers, &b.approvers);
    replace_if_some(&mut out.impersonation, &b.impersonation);
    replace_if_some(&mut out.scheduling_options, &b.scheduling_options);
    replace_if_some(&mut out.notification, &b.notification);
    replace_if_some(&mut out.request_reason, &b.request_reason);
    replace_if_some(&mut out.approval_reason, &b.approval_reason);
    out.constraints = merge_constraints(template.constraints.as_ref(), b.constraints.as_ref());
    // On a nodeSelector key both set, the binding's value wins: it is the more
    // specific configuration of the two.
    out.scheduling_constraints = merge_scheduling_constraints(
        template.scheduling_constraints.as_ref(),
        b.scheduling_constraints.as_ref(),
        NodeSelectorConflict::Override,
    )
    .unwrap_or_else(|_| b.scheduling_constraints.clone());
    out.required_auxiliary_resource_categories = union(
        template.required_auxiliary_resource_categories.as_deref(),
        b.required_auxiliary_resource_categories.as_deref(),
    );
    // A binding's category switches are written over the template's defaults: the
    // deploy plan reads one map (category first, then resource name).
    if let Some(o) = b
        .auxiliary_resource_overrides
        .as_ref()
        .filter(|o| !o.is_empty())
    {
        let mut defaults = template
            .auxiliary_resource_defaults
            .clone()
            .unwrap_or_default();
        defaults.extend(o.iter().map(|(k, v)| (k.clone(), *v)));
        out.auxiliary_resource_defaults = Some(defaults);
    }
    out.allowed_auxiliary_resource_kinds = kinds::narrow(
        template.allowed_auxiliary_resource_kinds.as_deref(),
        b.denied_auxiliary_resource_kinds.as_deref(),
    );
    out.allowed_pod_operations = restrict_pod_operations(
        template.allowed_pod_operations.as_ref(),
        b.allowed_pod_operations.as_ref(),
    );
    out.labels = merge_maps(template.labels.as_ref(), b.labels.as_ref());
    out.annotations = merge_maps(template.annotations.as_ref(), b.annotations.as_ref());
    if b.namespace_constraints.is_some() {
        out.namespace_constraints = merge_namespace_constraints(
            template.namespace_constraints.as_ref(),
            b.namespace_constraints.as_ref(),
        )
        .to_constraints();
    }
    out
}

fn replace_if_some<T: Clone>(target: &mut Option<T>, from: &Option<T>) {
    if from.is_some() {
        target.clone_from(from);
    }
}

fn lists_principals(allowed: &DebugSessionAllowed) -> bool {
    allowed.users.as_ref().is_some_and(|u| !u.is_empty())
        || allowed.groups.as_ref().is_some_and(|g| !g.is_empty())
}

/// The requester rule: the binding's users/groups when it lists any, else the
/// template's. Cluster fields stay the template's: which clusters a binding
/// grants is its own `clusters`/`clusterSelector`, decided during resolution.
fn merge_allowed(
    template: Option<&DebugSessionAllowed>,
    binding: Option<&DebugSessionAllowed>,
) -> Option<DebugSessionAllowed> {
    match binding.filter(|b| lists_principals(b)) {
        None => template.cloned(),
        Some(b) => {
            let mut out = template.cloned().unwrap_or_default();
            out.users.clone_from(&b.users);
            out.groups.clone_from(&b.groups);
            Some(out)
        }
    }
}

fn positive_duration(value: Option<&String>) -> Option<String> {
    value
        .filter(|v| GoDuration::parse(v).is_ok_and(GoDuration::is_positive))
        .cloned()
}

/// Field-wise constraint overrides: durations only when they parse as
/// positive, the rest whenever set.
pub fn merge_constraints(
    template: Option<&DebugSessionConstraints>,
    binding: Option<&DebugSessionConstraintsOverride>,
) -> Option<DebugSessionConstraints> {
    let Some(b) = binding else {
        return template.cloned();
    };
    let mut out = template.cloned().unwrap_or_default();
    if let Some(d) = positive_duration(b.max_duration.as_ref()) {
        out.max_duration = Some(d);
    }
    if let Some(d) = positive_duration(b.default_duration.as_ref()) {
        out.default_duration = Some(d);
    }
    if b.allow_renewal.is_some() {
        out.allow_renewal = b.allow_renewal;
    }
    if b.max_renewals.is_some() {
        out.max_renewals = b.max_renewals;
    }
    if b.renewal_limit.is_some() {
        out.renewal_limit = b.renewal_limit;
    }
    if b.max_concurrent_sessions.is_some() {
        out.max_concurrent_sessions = b.max_concurrent_sessions;
    }
    Some(out)
}

/// Pod operations a binding can only switch off: each operation is allowed
/// when both the template and the binding allow it (defaults applied).
pub fn restrict_pod_operations(
    template: Option<&AllowedPodOperations>,
    binding: Option<&AllowedPodOperations>,
) -> Option<AllowedPodOperations> {
    let Some(b) = binding else {
        return template.copied();
    };
    let t = template.copied().unwrap_or(AllowedPodOperations::UNSET);
    Some(AllowedPodOperations {
        exec: Some(t.exec() && b.exec()),
        attach: Some(t.attach() && b.attach()),
        logs: Some(t.logs() && b.logs()),
        port_forward: Some(t.port_forward() && b.port_forward()),
    })
}

fn union(a: Option<&[String]>, b: Option<&[String]>) -> Option<Vec<String>> {
    if a.is_none() && b.is_none() {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for item in a.unwrap_or_default().iter().chain(b.unwrap_or_default()) {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Some(out)
}

fn merge_maps(
    base: Option<&BTreeMap<String, String>>,
    add: Option<&BTreeMap<String, String>>,
) -> Option<BTreeMap<String, String>> {
    match (base, add) {
        (None, None) => None,
        (base, add) => {
            let mut out = base.cloned().unwrap_or_default();
            out.extend(add.cloned().unwrap_or_default());
            Some(out)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scheduling constraints

/// What happens when both sides select a node label with different values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeSelectorConflict {
    /// The added side's value wins (binding onto template).
    Override,
    /// The merge fails (a requester's choice may not contradict the configuration).
    Refuse,
}

/// Two scheduling constraint sets cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchedulingMergeError {
    /// Both sides pin a node label to different values.
    #[error("nodeSelector conflict on {key:?}: {existing:?} vs {requested:?}")]
    NodeSelectorConflict {
        /// The label key.
        key: String,
        /// The configured value.
        existing: String,
        /// The value that would replace it.
        requested: String,
    },
}

/// `add` applied onto `base`: node selectors merged, lists appended, denied
/// nodes united, required node affinity ANDed (at most
/// [`MAX_NODE_AFFINITY_TERMS`] terms — dropping OR terms only narrows), and
/// denied node labels united where `*` (any value) dominates; two different
/// denied values of one key keep the first in the map and add a `NotIn` term
/// for the second, so both stay denied.
pub fn merge_scheduling_constraints(
    base: Option<&SchedulingConstraints>,
    add: Option<&SchedulingConstraints>,
    conflict: NodeSelectorConflict,
) -> Result<Option<SchedulingConstraints>, SchedulingMergeError> {
    let Some(add) = add else {
        return Ok(base.cloned());
    };
    let Some(base) = base else {
        return Ok(Some(add.clone()));
    };
    let mut out = base.clone();
    out.node_selector = merge_node_selector(
        base.node_selector.as_ref(),
        add.node_selector.as_ref(),
        conflict,
    )?;
    out.preferred_node_affinity =
        append(&base.preferred_node_affinity, &add.preferred_node_affinity);
    out.required_pod_anti_affinity = append(
        &base.required_pod_anti_affinity,
        &add.required_pod_anti_affinity,
    );
    out.preferred_pod_anti_affinity = append(
        &base.preferred_pod_anti_affinity,
        &add.preferred_pod_anti_affinity,
    );
    out.tolerations = append(&base.tolerations, &add.tolerations);
    out.topology_spread_constraints = append(
        &base.topology_spread_constraints,
        &add.topology_spread_constraints,
    );
    out.denied_nodes = union(base.denied_nodes.as_deref(), add.denied_nodes.as_deref());
    let mut extra_not_in = Vec::new();
    out.denied_node_labels = merge_denied_labels(
        base.denied_node_labels.as_ref(),
        add.denied_node_labels.as_ref(),
        &mut extra_not_in,
    );
    let mut required = and_node_selectors(
        base.required_node_affinity.as_ref(),
        add.required_node_affinity.as_ref(),
    );
    if !extra_not_in.is_empty() {
        let denial = NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: Some(extra_not_in),
                match_fields: None,
            }],
        };
        required = and_node_selectors(required.as_ref(), Some(&denial));
    }
    out.required_node_affinity = required;
    Ok(Some(out))
}

fn append<T: Clone>(a: &Option<Vec<T>>, b: &Option<Vec<T>>) -> Option<Vec<T>> {
    match (a, b) {
        (None, None) => None,
        _ => Some(
            a.iter()
                .flatten()
                .chain(b.iter().flatten())
                .cloned()
                .collect(),
        ),
    }
}

fn merge_node_selector(
    base: Option<&BTreeMap<String, String>>,
    add: Option<&BTreeMap<String, String>>,
    conflict: NodeSelectorConflict,
) -> Result<Option<BTreeMap<String, String>>, SchedulingMergeError> {
    if conflict == NodeSelectorConflict::Refuse
        && let (Some(base), Some(add)) = (base, add)
    {
        for (key, value) in add {
            if let Some(existing) = base.get(key).filter(|v| *v != value) {
                return Err(SchedulingMergeError::NodeSelectorConflict {
                    key: key.clone(),
                    existing: existing.clone(),
                    requested: value.clone(),
                });
            }
        }
    }
    Ok(merge_maps(base, add))
}

fn merge_denied_labels(
    base: Option<&BTreeMap<String, String>>,
    add: Option<&BTreeMap<String, String>>,
    extra_not_in: &mut Vec<NodeSelectorRequirement>,
) -> Option<BTreeMap<String, String>> {
    let (base, add) = match (base, add) {
        (None, None) => return None,
        (Some(m), None) | (None, Some(m)) => return Some(m.clone()),
        (Some(b), Some(a)) => (b, a),
    };
    let mut out = base.clone();
    for (key, value) in add {
        match out.get(key) {
            None => {
                out.insert(key.clone(), value.clone());
            }
            Some(existing) if existing == value || existing == "*" => {}
            Some(_) if value == "*" => {
                out.insert(key.clone(), value.clone());
            }
            Some(_) => extra_not_in.push(NodeSelectorRequirement {
                key: key.clone(),
                operator: "NotIn".to_owned(),
                values: Some(vec![value.clone()]),
            }),
        }
    }
    Some(out)
}

/// Logical AND of two required node selectors: every pair of terms combined
/// (terms are ORed, requirements inside a term ANDed). A side without terms
/// adds nothing.
pub fn and_node_selectors(
    a: Option<&NodeSelector>,
    b: Option<&NodeSelector>,
) -> Option<NodeSelector> {
    let a = a.filter(|s| !s.node_selector_terms.is_empty());
    let b = b.filter(|s| !s.node_selector_terms.is_empty());
    let (a, b) = match (a, b) {
        (None, None) => return None,
        (Some(s), None) | (None, Some(s)) => return Some(s.clone()),
        (Some(a), Some(b)) => (a, b),
    };
    let mut terms = Vec::new();
    'outer: for x in &a.node_selector_terms {
        for y in &b.node_selector_terms {
            if terms.len() == MAX_NODE_AFFINITY_TERMS {
                break 'outer;
            }
            terms.push(NodeSelectorTerm {
                match_expressions: append(&x.match_expressions, &y.match_expressions),
                match_fields: append(&x.match_fields, &y.match_fields),
            });
        }
    }
    Some(NodeSelector {
        node_selector_terms: terms,
    })
}

// ---------------------------------------------------------------------------------------------
// Namespace constraints

/// Namespace rules of a template on a binding, kept exact: every allow list
/// must admit a namespace, no deny list may match it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EffectiveNamespaces {
    /// Allow lists that must all admit the namespace (missing/empty ones are dropped).
    pub allow: Vec<NamespaceFilter>,
    /// Deny lists (united).
    pub deny: NamespaceFilter,
    /// Namespace used when the requester names none.
    pub default_namespace: String,
    /// Requesters may name a namespace (template's setting, off when either side denies it).
    pub allow_user_namespace: bool,
    /// Some side has allow or deny rules (otherwise any requested namespace passes).
    pub constrained: bool,
    /// Create the namespace when missing (issue #10).
    pub create_if_not_exists: Option<bool>,
    /// Labels of created namespaces (issue #10).
    pub namespace_labels: Option<BTreeMap<String, String>>,
}

impl EffectiveNamespaces {
    /// True when `namespace` passes every allow list (by name; selector terms
    /// are not evaluated here) and no deny list. A malformed pattern anywhere
    /// denies (fail closed).
    pub fn admits(&self, namespace: &str) -> bool {
        let deny = Some(&self.deny);
        if self.allow.is_empty() {
            return AllowDeny { allow: None, deny }.is_allowed(namespace);
        }
        self.allow.iter().all(|allow| {
            AllowDeny {
                allow: Some(allow),
                deny,
            }
            .is_allowed(namespace)
        })
    }

    /// Whether some allow list is configured at all.
    pub fn has_allow_list(&self) -> bool {
        !self.allow.is_empty()
    }

    /// The rules as one `NamespaceConstraints` (for `status.resolvedTemplate`).
    /// Two allow lists cannot always be written as one, so the stored list
    /// keeps only what both provably admit: a literal pattern of the
    /// binding's list that the template's list admits, or a pattern/term
    /// both lists spell identically. Never wider than the exact rules.
    pub fn to_constraints(&self) -> Option<NamespaceConstraints> {
        let allowed = match self.allow.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            [first, rest @ ..] => Some(intersect_representable(first, rest)),
        };
        let deny = (!self.deny.is_empty()).then(|| self.deny.clone());
        Some(NamespaceConstraints {
            allowed_namespaces: allowed,
            denied_namespaces: deny,
            default_namespace: Some(self.default_namespace.clone()),
            allow_user_namespace: Some(self.allow_user_namespace),
            deny_user_namespace: None,
            create_if_not_exists: self.create_if_not_exists,
            namespace_labels: self.namespace_labels.clone(),
        })
    }
}

fn intersect_representable(first: &NamespaceFilter, rest: &[NamespaceFilter]) -> NamespaceFilter {
    let mut patterns: Vec<String> = Vec::new();
    for p in first.patterns.iter().flatten() {
        let in_all = rest.iter().all(|other| {
            let theirs = other.patterns.as_deref().unwrap_or_default();
            theirs.contains(p) || (!glob::has_meta(p) && namespace::matches(Some(other), p))
        });
        if in_all {
            patterns.push(p.clone());
        }
    }
    // A literal of a later list admitted by the first list belongs too.
    for other in rest {
        for p in other.patterns.iter().flatten() {
            if !glob::has_meta(p)
                && !patterns.contains(p)
                && namespace::matches(Some(first), p)
                && rest.iter().all(|o| namespace::matches(Some(o), p))
            {
                patterns.push(p.clone());
            }
        }
    }
    let terms: Vec<_> = first
        .selector_terms
        .iter()
        .flatten()
        .filter(|t| {
            rest.iter()
                .all(|o| o.selector_terms.as_deref().unwrap_or_default().contains(t))
        })
        .cloned()
        .collect();
    NamespaceFilter {
        patterns: Some(patterns),
        selector_terms: (!terms.is_empty()).then_some(terms),
    }
}

fn non_empty(filter: Option<&NamespaceFilter>) -> Option<&NamespaceFilter> {
    filter.filter(|f| !f.is_empty())
}

fn unite(a: Option<&NamespaceFilter>, b: Option<&NamespaceFilter>) -> NamespaceFilter {
    let patterns = append(
        &a.and_then(|f| f.patterns.clone()),
        &b.and_then(|f| f.patterns.clone()),
    );
    let terms = append(
        &a.and_then(|f| f.selector_terms.clone()),
        &b.and_then(|f| f.selector_terms.clone()),
    );
    NamespaceFilter {
        patterns,
        selector_terms: terms,
    }
}

/// Namespace rules of a template narrowed by a binding:
/// * `allowUserNamespace` comes from the template only; `denyUserNamespace`
///   on either side switches it off;
/// * allow lists intersect, deny lists unite;
/// * the binding's default namespace is used only when both sides' rules
///   admit it, otherwise the template's (then `breakglass-debug`).
pub fn merge_namespace_constraints(
    template: Option<&NamespaceConstraints>,
    binding: Option<&NamespaceConstraintsOverride>,
) -> EffectiveNamespaces {
    let t_allow = non_empty(template.and_then(|t| t.allowed_namespaces.as_ref()));
    let b_allow = non_empty(binding.and_then(|b| b.allowed_namespaces.as_ref()));
    let t_deny = template.and_then(|t| t.denied_namespaces.as_ref());
    let b_deny = binding.and_then(|b| b.denied_namespaces.as_ref());
    let allow: Vec<NamespaceFilter> = t_allow.into_iter().chain(b_allow).cloned().collect();
    let deny = unite(t_deny, b_deny);
    let deny_user = template.and_then(|t| t.deny_user_namespace) == Some(true)
        || binding.and_then(|b| b.deny_user_namespace) == Some(true);
    let allow_user = !deny_user && template.and_then(|t| t.allow_user_namespace) == Some(true);
    let template_default = template
        .and_then(|t| t.default_namespace.clone())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| DEFAULT_TARGET_NAMESPACE.to_owned());
    let mut out = EffectiveNamespaces {
        constrained: !allow.is_empty() || !deny.is_empty(),
        allow,
        deny,
        default_namespace: template_default,
        allow_user_namespace: allow_user,
        create_if_not_exists: binding
            .and_then(|b| b.create_if_not_exists)
            .or_else(|| template.and_then(|t| t.create_if_not_exists)),
        namespace_labels: binding
            .and_then(|b| b.namespace_labels.clone())
            .or_else(|| template.and_then(|t| t.namespace_labels.clone())),
    };
    if let Some(d) = binding
        .and_then(|b| b.default_namespace.as_deref())
        .filter(|d| !d.is_empty())
        && out.admits(d)
    {
        d.clone_into(&mut out.default_namespace);
    }
    out
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
