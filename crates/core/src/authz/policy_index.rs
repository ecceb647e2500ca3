//! DenyPolicies prepared once for one cluster, so a decision reads only the few policies
//! that can matter for its request.
//!
//! [`ClusterPolicies::new`] keeps the policies whose `appliesTo.clusters` and
//! `appliesTo.tenants` cover the cluster (the only scope dimensions that do not change
//! between the passes of one decision), puts them in evaluation order (precedence
//! ascending, stable), and indexes their resource rules by resource and verb. Pattern
//! validity and the literal prefix of every namespace pattern are computed here, once,
//! and every rule is flattened into one table with its API groups and subresources
//! interned: a request's candidate rules are checked with integer comparisons on
//! contiguous memory, not by chasing each policy's strings (the decision path is bound
//! by cache misses, not by instructions).
//!
//! [`ClusterPolicies::relevant`] returns, in evaluation order, every policy that could
//! change the decision of a request: one with a rule that could match it *or fail to
//! evaluate* for it, pod-security rules that score it, or impersonation rules for an
//! impersonation request. Everything left out would be skipped by the pipeline without
//! effect (no match, no error, no record), so the pipeline's answer over the relevant
//! policies is the answer over all of them.

use std::sync::Arc;

use breakglass_api::DenyPolicy;
use breakglass_api::common::NamespaceFilter;
use breakglass_api::deny_policy::DenyRule;
use foldhash::HashMapExt;
use smallvec::SmallVec;

use super::deny::dimension_matches;
use super::impersonation::{VerbClass, classify_verb};
use super::pod_security;
use super::sar::ResourceAttributes;
use crate::glob;

/// A hash map with a fast, per-process seeded hasher (lookups by request strings).
type Map<K, V> = foldhash::HashMap<K, V>;

/// The policies a request's decision reads, in evaluation order (few: kept inline).
pub type Relevant<'a> = SmallVec<[&'a DenyPolicy; 4]>;

/// One cluster's DenyPolicies, in evaluation order, indexed by what their rules name.
#[derive(Debug, Default)]
pub struct ClusterPolicies {
    cluster: String,
    tenant: Option<String>,
    policies: Vec<Arc<DenyPolicy>>,
    /// Every resource rule of every policy, in policy and rule order.
    rules: Vec<PreparedRule>,
    /// Resource → verb → indexes (ascending) into `rules` of the rules naming both;
    /// `*` is a key like any other.
    by_resource: Map<Box<str>, Map<Box<str>, Vec<u32>>>,
    /// API groups and subresources named by some rule → their interned id.
    words: Map<Box<str>, u32>,
    /// Positions of the policies with `podSecurityRules`.
    pod_security: Vec<u32>,
    /// Positions of the policies with `impersonationRules`.
    impersonation: Vec<u32>,
}

/// What a rule needs of a request besides its resource and verb (which the index
/// already matched), precomputed.
#[derive(Debug)]
struct PreparedRule {
    /// Position of the rule's policy.
    policy: u32,
    groups: Words,
    subresources: Words,
    names: Names,
    namespaces: PreparedNamespaces,
}

/// A list of exact values where `*` matches anything.
#[derive(Debug)]
enum Words {
    Any,
    Only(SmallVec<[u32; 3]>),
}

impl Words {
    fn new(list: &[String], words: &mut Map<Box<str>, u32>) -> Self {
        if list.iter().any(|v| v == "*") {
            return Self::Any;
        }
        Self::Only(
            list.iter()
                .map(|v| {
                    let next = u32::try_from(words.len()).unwrap_or(u32::MAX);
                    *words.entry(v.as_str().into()).or_insert(next)
                })
                .collect(),
        )
    }

    /// Whether the request's value (its interned id, `None` when no rule names it)
    /// is in the list.
    fn contains(&self, id: Option<u32>) -> bool {
        match self {
            Self::Any => true,
            Self::Only(ids) => id.is_some_and(|id| ids.contains(&id)),
        }
    }
}

#[derive(Debug)]
enum Names {
    /// No `resourceNames`, or a malformed pattern (which fails before the namespace is
    /// looked at): the rule may matter for every name.
    Any,
    Patterns(Box<[Box<str>]>),
}

impl Names {
    fn may_matter(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Patterns(patterns) => patterns
                .iter()
                .any(|p| glob::glob_match(p, name).unwrap_or(true)),
        }
    }
}

#[derive(Debug)]
enum PreparedNamespaces {
    /// The rule can match or fail in any namespace (no filter, a malformed pattern).
    Any,
    /// Patterns (each with the literal prefix every match starts with), and whether
    /// selector terms can decide instead.
    Filter {
        patterns: Box<[(Box<str>, usize)]>,
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
                .map(|p| (p.as_str().into(), literal_prefix(p)))
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
    fn new(policy: u32, rule: &DenyRule, words: &mut Map<Box<str>, u32>) -> Self {
        let listed = rule.resource_names.as_deref().unwrap_or_default();
        // A malformed name pattern fails before the namespace is looked at.
        let names_invalid = listed.iter().any(|p| glob::glob_match(p, "").is_err());
        let names = if listed.is_empty() || names_invalid {
            Names::Any
        } else {
            Names::Patterns(listed.iter().map(|p| p.as_str().into()).collect())
        };
        Self {
            policy,
            groups: Words::new(&rule.api_groups, words),
            subresources: match rule.subresources.as_deref() {
                None | Some([]) => Words::Any,
                Some(subs) => Words::new(subs, words),
            },
            names,
            // A malformed name pattern makes the rule fail in every namespace.
            namespaces: if names_invalid {
                PreparedNamespaces::Any
            } else {
                PreparedNamespaces::new(rule.namespaces.as_ref())
            },
        }
    }

    /// False only when the rule, whose resource and verb match `r`, can neither match
    /// the rest of `r` nor fail to evaluate for it. `group` and `subresource` are the
    /// request's interned values.
    fn may_matter(
        &self,
        group: Option<u32>,
        subresource: Option<u32>,
        r: &ResourceAttributes,
    ) -> bool {
        self.groups.contains(group)
            && self.subresources.contains(subresource)
            && self.names.may_matter(&r.name)
            && self.namespaces.may_matter(&r.namespace)
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
            by_resource: Map::new(),
            words: Map::new(),
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
            for rule in spec.rules.as_deref().unwrap_or_default() {
                let index = u32::try_from(out.rules.len()).unwrap_or(u32::MAX);
                out.rules.push(PreparedRule::new(pos, rule, &mut out.words));
                for resource in &rule.resources {
                    let verbs = out.by_resource.entry(resource.as_str().into()).or_default();
                    for verb in &rule.verbs {
                        let list = verbs.entry(verb.as_str().into()).or_default();
                        if list.last() != Some(&index) {
                            list.push(index);
                        }
                    }
                }
            }
            out.policies.push(policy);
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
        self.policies.iter().map(AsRef::as_ref)
    }

    /// The policies that could change the decision of `request` (see the module docs),
    /// in evaluation order.
    pub fn relevant(&self, request: &ResourceAttributes) -> Relevant<'_> {
        let mut positions: SmallVec<[u32; 8]> = SmallVec::new();
        let mut interned = None;
        for resource in [request.resource.as_str(), "*"] {
            let Some(verbs) = self.by_resource.get(resource) else {
                continue;
            };
            for verb in [request.verb.as_str(), "*"] {
                let Some(list) = verbs.get(verb) else {
                    continue;
                };
                // Looked up once, and only for a request some rule could match.
                let (group, subresource) = *interned.get_or_insert_with(|| {
                    (
                        self.words.get(request.group.as_str()).copied(),
                        self.words.get(request.subresource.as_str()).copied(),
                    )
                });
                for &index in list {
                    let Some(rule) = self.rules.get(index as usize) else {
                        continue;
                    };
                    if positions.last() != Some(&rule.policy)
                        && rule.may_matter(group, subresource, request)
                    {
                        positions.push(rule.policy);
                    }
                }
            }
        }
        if request.is_pod() && !request.subresource.is_empty() {
            positions.extend(self.pod_security.iter().copied().filter(|&pos| {
                self.policies
                    .get(pos as usize)
                    .and_then(|p| p.spec.pod_security_rules.as_ref())
                    .is_some_and(|psr| pod_security::applies_to_request(psr, request))
            }));
        }
        if !matches!(classify_verb(&request.verb), VerbClass::NotImpersonation) {
            positions.extend_from_slice(&self.impersonation);
        }
        positions.sort_unstable();
        positions.dedup();
        positions
            .into_iter()
            .filter_map(|pos| self.policies.get(pos as usize).map(AsRef::as_ref))
            .collect()
    }
}
