//! DenyPolicy resource rules: scope, precedence and rule matching.
//!
//! Matching semantics (the reference evaluator's, kept for compatibility):
//!
//! * `verbs`, `apiGroups`, `resources`: exact string or the literal `*` (no globbing);
//! * `subresources`: empty matches any subresource (also the main resource), otherwise
//!   exact or `*`;
//! * `resourceNames`: globs ([`glob_match`]); empty matches any name;
//! * `namespaces`: a [`NamespaceFilter`]. An **empty filter matches regardless of
//!   namespace** — the CRD comment says "cluster-scoped only", but the reference
//!   evaluator skips the test and existing policies rely on that. Patterns are matched
//!   against the request namespace, `""` for cluster-scoped requests (so `*` matches
//!   those too); selector terms never match a cluster-scoped request, since there is no
//!   namespace whose labels could be selected.
//!
//! Errors fail closed: a malformed glob in a rule that is otherwise matching, or a
//! selector that needs namespace labels the caller could not provide, is an
//! [`EvalError`] and the caller denies.

use breakglass_api::DenyPolicy;
use breakglass_api::common::NamespaceFilter;
use breakglass_api::deny_policy::{DenyPolicyScope, DenyRule};
use thiserror::Error;

use super::input::NamespaceLabels;
use super::sar::ResourceAttributes;
use crate::glob::{self, glob_match};
use crate::namespace;

/// Why a policy could not be evaluated; the request is denied (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvalError {
    /// A glob in the policy is malformed.
    #[error("{field}: {pattern:?} is not a valid pattern")]
    BadPattern {
        /// Field path inside the policy spec (`rules[2].resourceNames`).
        field: String,
        /// The malformed pattern.
        pattern: String,
    },
    /// A rule selects namespaces by label and the labels could not be fetched.
    #[error(
        "{field} selects namespaces by label, and the labels of namespace {namespace} could not be fetched"
    )]
    LabelsUnavailable {
        /// Field path inside the policy spec.
        field: String,
        /// The request namespace.
        namespace: String,
    },
    /// A rule selects namespaces by label and the namespace does not exist on the target
    /// cluster: as in the reference, that is an evaluation failure, not "no labels".
    #[error(
        "{field} selects namespaces by label, and namespace {namespace} does not exist on the cluster"
    )]
    NamespaceMissing {
        /// Field path inside the policy spec.
        field: String,
        /// The request namespace.
        namespace: String,
    },
    /// A rule needs namespace labels the caller did not fetch (a caller bug; see `data_needs`).
    #[error(
        "{field} selects namespaces by label, and the labels of namespace {namespace} were not provided"
    )]
    LabelsNotFetched {
        /// Field path inside the policy spec.
        field: String,
        /// The request namespace.
        namespace: String,
    },
    /// Pod security needs the pod and the caller did not fetch it (a caller bug; see `data_needs`).
    #[error("the spec of pod {namespace}/{name} was not provided")]
    PodNotFetched {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// The pod provided is not the one the request targets.
    #[error("the pod provided is not {namespace}/{name}")]
    PodMismatch {
        /// Requested pod namespace.
        namespace: String,
        /// Requested pod name.
        name: String,
    },
}

/// Where a policy is being evaluated: the request's cluster and tenant, and the session
/// whose context this pass is (`None` for the global pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyScope<'a> {
    /// Cluster name.
    pub cluster: &'a str,
    /// ClusterConfig `spec.tenant`.
    pub tenant: Option<&'a str>,
    /// Session name for a per-session pass.
    pub session: Option<&'a str>,
}

/// The policy's name (`metadata.name`, empty if unset).
pub fn policy_name(policy: &DenyPolicy) -> &str {
    policy.metadata.name.as_deref().unwrap_or_default()
}

/// True if `appliesTo` covers this scope: every non-empty list (`clusters`, `tenants`,
/// `sessions`) must contain the value exactly or `*`. `*` also covers an absent value
/// (no tenant, the global pass), so a policy naming `*` applies everywhere.
pub fn scope_matches(applies_to: Option<&DenyPolicyScope>, scope: &PolicyScope<'_>) -> bool {
    let Some(a) = applies_to else {
        return true;
    };
    dimension_matches(a.clusters.as_deref(), Some(scope.cluster))
        && dimension_matches(a.tenants.as_deref(), scope.tenant)
        && dimension_matches(a.sessions.as_deref(), scope.session)
}

/// True if `appliesTo.clusters` covers `cluster` (the part of [`scope_matches`] that
/// depends only on the cluster, for indexing policies by cluster).
pub fn applies_to_cluster(applies_to: Option<&DenyPolicyScope>, cluster: &str) -> bool {
    applies_to.is_none_or(|a| dimension_matches(a.clusters.as_deref(), Some(cluster)))
}

pub(crate) fn dimension_matches(list: Option<&[String]>, value: Option<&str>) -> bool {
    match list {
        None | Some([]) => true,
        Some(list) => list
            .iter()
            .any(|v| v == "*" || value.is_some_and(|value| v == value)),
    }
}

/// The policies in evaluation order: precedence ascending (100 when unset), stable, so
/// equal precedences keep the caller's order.
pub fn by_precedence<'a>(policies: &[&'a DenyPolicy]) -> Vec<&'a DenyPolicy> {
    let mut sorted = policies.to_vec();
    sorted.sort_by_key(|p| p.spec.precedence());
    sorted
}

/// True if `list` contains `value` or `*`.
pub(crate) fn exact_or_star(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "*" || v == value)
}

/// Index of the first rule of `rules` that matches the request, if any.
pub fn first_matching_rule(
    rules: &[DenyRule],
    request: &ResourceAttributes,
    labels: NamespaceLabels<'_>,
) -> Result<Option<usize>, EvalError> {
    for (index, rule) in rules.iter().enumerate() {
        if rule_matches(rule, index, request, labels)? {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// True if `rule` (at `index` in `rules`, for error paths) matches the request.
pub fn rule_matches(
    rule: &DenyRule,
    index: usize,
    request: &ResourceAttributes,
    labels: NamespaceLabels<'_>,
) -> Result<bool, EvalError> {
    if !matches_without_namespace(rule, index, request)? {
        return Ok(false);
    }
    deny_filter_matches(rule.namespaces.as_ref(), &request.namespace, labels, || {
        format!("rules[{index}].namespaces")
    })
}

/// Every test of a rule except the namespace filter; also used to decide whether the
/// namespace labels are worth fetching.
fn matches_without_namespace(
    rule: &DenyRule,
    index: usize,
    request: &ResourceAttributes,
) -> Result<bool, EvalError> {
    if !exact_or_star(&rule.verbs, &request.verb)
        || !exact_or_star(&rule.api_groups, &request.group)
        || !exact_or_star(&rule.resources, &request.resource)
    {
        return Ok(false);
    }
    if let Some(subs) = rule.subresources.as_deref()
        && !subs.is_empty()
        && !exact_or_star(subs, &request.subresource)
    {
        return Ok(false);
    }
    match rule.resource_names.as_deref() {
        None | Some([]) => Ok(true),
        Some(names) => {
            for pattern in names {
                let matched =
                    glob_match(pattern, &request.name).map_err(|_| EvalError::BadPattern {
                        field: format!("rules[{index}].resourceNames"),
                        pattern: pattern.clone(),
                    })?;
                if matched {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

/// True if a rule of `rules` could match the request and its answer depends on the
/// namespace labels (pattern-only filters never need labels; mixed filters only when
/// the patterns miss; cluster-scoped requests never).
pub fn rules_need_labels(rules: &[DenyRule], request: &ResourceAttributes) -> bool {
    rules.iter().enumerate().any(|(index, rule)| {
        filter_needs_labels(rule.namespaces.as_ref(), &request.namespace)
            // A malformed glob errors before labels are read; fetching is harmless.
            && matches_without_namespace(rule, index, request).unwrap_or(true)
    })
}

/// True if evaluating `filter` for `namespace` reads the namespace labels.
pub fn filter_needs_labels(filter: Option<&NamespaceFilter>, namespace: &str) -> bool {
    !namespace.is_empty() && namespace::requires_labels(filter, namespace)
}

/// A namespace filter of a deny rule: empty matches any namespace; anything that cannot
/// be decided is an error, because guessing "no match" would let a denied request through.
pub(crate) fn deny_filter_matches(
    filter: Option<&NamespaceFilter>,
    namespace: &str,
    labels: NamespaceLabels<'_>,
    field: impl Fn() -> String,
) -> Result<bool, EvalError> {
    let Some(filter) = filter.filter(|f| !f.is_empty()) else {
        return Ok(true);
    };
    if let Some(bad) = filter
        .patterns
        .iter()
        .flatten()
        .find(|p| glob::validate_pattern(p).is_err())
    {
        return Err(EvalError::BadPattern {
            field: format!("{}.patterns", field()),
            pattern: bad.clone(),
        });
    }
    if namespace::matches(Some(filter), namespace) {
        return Ok(true);
    }
    if !namespace::has_selector_terms(Some(filter)) || namespace.is_empty() {
        return Ok(false);
    }
    match labels {
        NamespaceLabels::Known(l) => Ok(namespace::matches_with_labels(Some(filter), namespace, l)),
        NamespaceLabels::Unavailable => Err(EvalError::LabelsUnavailable {
            field: field(),
            namespace: namespace.to_owned(),
        }),
        NamespaceLabels::Missing => Err(EvalError::NamespaceMissing {
            field: field(),
            namespace: namespace.to_owned(),
        }),
        NamespaceLabels::NotFetched => Err(EvalError::LabelsNotFetched {
            field: field(),
            namespace: namespace.to_owned(),
        }),
    }
}

/// A namespace filter that grants something (an exemption, an override's scope): what
/// cannot be decided does not match, so missing labels never widen access. Invalid
/// patterns match nothing.
pub(crate) fn allow_filter_matches(
    filter: &NamespaceFilter,
    namespace: &str,
    labels: NamespaceLabels<'_>,
) -> bool {
    if namespace::matches(Some(filter), namespace) {
        return true;
    }
    match labels {
        NamespaceLabels::Known(l) if !namespace.is_empty() => {
            namespace::matches_with_labels(Some(filter), namespace, l)
        }
        _ => false,
    }
}
