//! DenyPolicies prepared once for one cluster, so a decision reads only the few policies
//! that can matter for its request.
//!
//! [`ClusterPolicies::new`] keeps the policies whose `appliesTo.clusters` and
//! `appliesTo.tenants` cover the cluster (the only scope dimensions that do not change
//! between the passes of one decision), puts them in evaluation order (precedence
//! ascending, stable), and indexes their resource rules by resource and verb. Pattern
//! validity and the literal prefix of every namespace pattern are computed here, once.
//!
//! [`ClusterPolicies::relevant`] returns, in evaluation order, every policy that could
//! change the decision of a request: one with a rule that could match it *or fail to
//! evaluate* for it, pod-security rules that score it, or impersonation rules for an
//! impersonation request. Everything left out would be skipped by the pipeline without
//! effect (no match, no error, no record), so the pipeline's answer over the relevant
//! policies is the answer over all of them.

use std::collections::HashMap;
use std::sync::Arc;

use breakglass_api::DenyPolicy;
use breakglass_api::common::NamespaceFilter;
use breakglass_api::deny_policy::DenyRule;

use super::deny::{dimension_matches, exact_or_star};
use super::impersonation::{VerbClass, classify_verb};
use super::pod_security;
use super::sar::ResourceAttributes;
use crate::glob;

/// One cluster's DenyPolicies, in evaluation order, indexed by what their rules name.
#[derive(Debug, Default)]
pub struct ClusterPolicies {
    cluster: String,
    tenant: Option<String>,
    policies: Vec<Prepared>,
    /// Resource → verb → positions (ascending) of the policies with a rule naming both;
    /// `*` is a key like any other.
    by_resource: HashMap<Box<str>, HashMap<Box<str>, Vec<u32>>>,
    /// Positions of the policies with `podSecurityRules`.
    pod_security: Vec<u32>,
    /// Positions of the policies with `impersonationRules`.
    impersonation: Vec<u32>,
}

#[derive(Debug)]
struct Prepared {
    policy: Arc<DenyPolicy>,
    /// One entry per `rules` entry, same order.
    rules: Vec<PreparedRule>,
}

#[derive(Debug)]
struct PreparedRule {
    /// Some `resourceNames` pattern is malformed: the rule can fail, keep it.
    names_invalid: bool,
    namespaces: PreparedNamespaces,
}

#[derive(Debug)]
enum PreparedNamespaces {
    /// The rule can match or fail in any namespace (no filter, a malformed pattern).
    Any,
    /// Patterns (each with the literal prefix every match starts with), and whether
    /// selector terms can decide instead.
    Filter {
        patterns: Vec<(String, usize)>,
        selector_terms: bool,
    },
}

impl PreparedNamespaces {
    fn new(filter: Option<&NamespaceFilter>) -> Self {
        let Some(filter) = filter.filter(|f| !f.is_empty()) else {
            return Self::Any;
        };
        let patterns = filter.patterns.as_deref().unwrap_or_default();
        // The pipeline validates every pattern each time the rule is otherwise matching.
        if patterns.iter().any(|p| glob::validate_pattern(p).is_err()) {
            return Self::Any;
        }
        Self::Filter {
            patterns: patterns
                .iter()
                .map(|p| (p.clone(), literal_prefix(p)))
                .collect(),
            selector_terms: filter
                .selector_terms
                .as_ref()
                .is_some_and(|t| !t.is_empty()),
        }
    }

    /// False only when the filter cannot match `namespace` and cannot fail for it.
    fn may_matter(&self, namespace: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Filter {
                patterns,
                selector_terms,
            } => {
                (*selector_terms && !namespace.is_empty())
                    || patterns.iter().any(|(p, prefix)| {
                        namespace.as_bytes().starts_with(&p.as_bytes()[..*prefix])
                            && glob::path_match(p, namespace).unwrap_or(false)
                    })
            }
        }
    }
}

/// Length of the part of a valid pattern before its first metacharacter: every name the
/// pattern matches starts with exactly these bytes.
fn literal_prefix(pattern: &str) -> usize {
    pattern
        .bytes()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len())
}

impl PreparedRule {
    fn new(rule: &DenyRule) -> Self {
        let names_invalid = rule
            .resource_names
            .iter()
            .flatten()
            .any(|p| glob::glob_match(p, "").is_err());
        Self {
            names_invalid,
            namespaces: PreparedNamespaces::new(rule.namespaces.as_ref()),
        }
    }

    /// False only when `rule` can neither match `r` nor fail to evaluate for it.
    fn may_matter(&self, rule: &DenyRule, r: &ResourceAttributes) -> bool {
        if !exact_or_star(&rule.verbs, &r.verb)
            || !exact_or_star(&rule.api_groups, &r.group)
            || !exact_or_star(&rule.resources, &r.resource)
        {
            return false;
        }
        if let Some(subs) = rule.subresources.as_deref()
            && !subs.is_empty()
            && !exact_or_star(subs, &r.subresource)
        {
            return false;
        }
        // A malformed name pattern fails before the namespace is looked at.
        if self.names_invalid {
            return true;
        }
        let names = match rule.resource_names.as_deref() {
            None | Some([]) => true,
            Some(names) => names
                .iter()
                .any(|p| glob::glob_match(p, &r.name).unwrap_or(true)),
        };
        names && self.namespaces.may_matter(&r.namespace)
    }
}

impl ClusterPolicies {
    /// Prepares the policies that apply to `cluster` (the name the webhook path gives)
    /// with its ClusterConfig's `tenant`, from `policies` in the caller's order (which
    /// breaks precedence ties, as in the pipeline).
    pub fn new(
        policies: impl IntoIterator<Item = Arc<DenyPolicy>>,
        cluster: &str,
        tenant: Option<&str>,
    ) -> Self {
        let mut kept: Vec<Arc<DenyPolicy>> = policies
            .into_iter()
            .filter(|p| {
                p.spec.applies_to.as_ref().is_none_or(|a| {
                    dimension_matches(a.clusters.as_deref(), Some(cluster))
                        && dimension_matches(a.tenants.as_deref(), tenant)
                })
            })
            .collect();
        kept.sort_by_key(|p| p.spec.precedence());
        let mut out = Self {
            cluster: cluster.to_owned(),
            tenant: tenant.map(str::to_owned),
            ..Self::default()
        };
        for (pos, policy) in kept.into_iter().enumerate() {
            let pos = u32::try_from(pos).unwrap_or(u32::MAX);
            let spec = &policy.spec;
            if spec.pod_security_rules.is_some() {
                out.pod_security.push(pos);
            }
            if spec.impersonation_rules.is_some() {
                out.impersonation.push(pos);
            }
            let rules = spec.rules.as_deref().unwrap_or_default();
            for rule in rules {
                for resource in &rule.resources {
                    let verbs = out.by_resource.entry(resource.as_str().into()).or_default();
                    for verb in &rule.verbs {
                        let list = verbs.entry(verb.as_str().into()).or_default();
                        if list.last() != Some(&pos) {
                            list.push(pos);
                        }
                    }
                }
            }
            out.policies.push(Prepared {
                rules: rules.iter().map(PreparedRule::new).collect(),
                policy,
            });
        }
        out
    }

    /// The cluster name these policies were prepared for.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The tenant these policies were prepared for.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// Number of policies that apply to the cluster.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// True when no policy applies to the cluster.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Every policy that applies to the cluster, in evaluation order.
    pub fn all(&self) -> impl Iterator<Item = &DenyPolicy> {
        self.policies.iter().map(|p| p.policy.as_ref())
    }

    /// The policies that could change the decision of `request` (see the module docs),
    /// in evaluation order.
    pub fn relevant(&self, request: &ResourceAttributes) -> Vec<&DenyPolicy> {
        let mut positions: Vec<u32> = Vec::new();
        for resource in [request.resource.as_str(), "*"] {
            if let Some(verbs) = self.by_resource.get(resource) {
                for verb in [request.verb.as_str(), "*"] {
                    if let Some(list) = verbs.get(verb) {
                        positions.extend_from_slice(list);
                    }
                }
            }
        }
        let scored = request.is_pod() && !request.subresource.is_empty();
        if scored {
            positions.extend_from_slice(&self.pod_security);
        }
        let impersonation = !matches!(classify_verb(&request.verb), VerbClass::NotImpersonation);
        if impersonation {
            positions.extend_from_slice(&self.impersonation);
        }
        positions.sort_unstable();
        positions.dedup();
        positions
            .into_iter()
            .filter_map(|pos| self.policies.get(pos as usize))
            .filter(|p| p.may_matter(request, scored, impersonation))
            .map(|p| p.policy.as_ref())
            .collect()
    }
}

impl Prepared {
    fn may_matter(&self, r: &ResourceAttributes, scored: bool, impersonation: bool) -> bool {
        let spec = &self.policy.spec;
        (impersonation && spec.impersonation_rules.is_some())
            || (scored
                && spec
                    .pod_security_rules
                    .as_ref()
                    .is_some_and(|psr| pod_security::applies_to_request(psr, r)))
            || spec
                .rules
                .iter()
                .flatten()
                .zip(&self.rules)
                .any(|(rule, prepared)| prepared.may_matter(rule, r))
    }
}
