//! Evaluation of [`NamespaceFilter`]: name patterns OR label selector terms.
//!
//! * A namespace matches when its name matches any pattern (Go
//!   `filepath.Match`; an invalid pattern matches nothing) or its labels
//!   match any selector term.
//! * Inside a term, every `matchLabels` entry and every `matchExpressions`
//!   requirement must hold; a term with neither matches every label set.
//! * A missing or empty filter matches nothing ([`matches`]), yet counts as
//!   "no restriction" for allow lists ([`is_unrestricted`]).
//! * Without labels only the patterns can be evaluated ([`matches`]); callers
//!   that can fetch labels use [`matches_with_labels`] and ask
//!   [`requires_labels`] first so they fetch only when the answer depends on it.

use breakglass_api::common::{
    LabelSelectorOperator, NamespaceFilter, NamespaceSelectorRequirement, NamespaceSelectorTerm,
};
use thiserror::Error;

use crate::glob::{self, BadPattern};
use crate::selector::{self, LabelSet, Operator, SelectorError};

/// True if the namespace name matches one of the filter's patterns.
/// Selector terms cannot be evaluated without labels and are ignored.
/// A missing or empty filter matches nothing.
pub fn matches(filter: Option<&NamespaceFilter>, namespace: &str) -> bool {
    filter.is_some_and(|f| matches_patterns(f, namespace))
}

/// True if the namespace name matches a pattern or its labels match a
/// selector term. A missing or empty filter matches nothing.
pub fn matches_with_labels(
    filter: Option<&NamespaceFilter>,
    namespace: &str,
    labels: &impl LabelSet,
) -> bool {
    filter.is_some_and(|f| matches_patterns(f, namespace) || matches_terms(f, labels))
}

/// True if the namespace's labels match one of the filter's selector terms
/// (patterns are not consulted). A missing filter or one without terms matches
/// nothing.
pub fn matches_selector_terms(filter: Option<&NamespaceFilter>, labels: &impl LabelSet) -> bool {
    filter.is_some_and(|f| matches_terms(f, labels))
}

/// True for a missing or empty filter, which allow lists read as "every
/// namespace" (the reference's `MatchesAny`).
pub fn is_unrestricted(filter: Option<&NamespaceFilter>) -> bool {
    filter.is_none_or(NamespaceFilter::is_empty)
}

/// True if the filter has selector terms, i.e. evaluating it fully may need
/// the namespace's labels (the reference's `RequiresNamespaceLabels`).
pub fn has_selector_terms(filter: Option<&NamespaceFilter>) -> bool {
    filter.is_some_and(|f| !terms(f).is_empty())
}

/// True if the outcome for `namespace` depends on its labels: the filter has
/// selector terms and no pattern already matches the name. Pattern-only
/// filters never need labels; mixed filters need them only when the patterns
/// miss.
pub fn requires_labels(filter: Option<&NamespaceFilter>, namespace: &str) -> bool {
    has_selector_terms(filter) && !matches(filter, namespace)
}

/// True if any pattern of the filter is malformed.
pub fn has_invalid_pattern(filter: Option<&NamespaceFilter>) -> bool {
    filter.is_some_and(|f| {
        patterns(f)
            .iter()
            .any(|p| glob::validate_pattern(p).is_err())
    })
}

/// A namespace allow list combined with a deny list, as used by debug
/// session templates and bindings.
///
/// A namespace is allowed when it does not match `deny` and either `allow`
/// is unrestricted or it matches `allow`. Any malformed pattern in either
/// list denies everything (fail closed).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowDeny<'a> {
    /// Namespaces that may be used; missing or empty allows all.
    pub allow: Option<&'a NamespaceFilter>,
    /// Namespaces that may never be used.
    pub deny: Option<&'a NamespaceFilter>,
}

impl AllowDeny<'_> {
    /// Decision from the name alone (selector terms are not evaluated).
    pub fn is_allowed(&self, namespace: &str) -> bool {
        if has_invalid_pattern(self.allow) || has_invalid_pattern(self.deny) {
            return false;
        }
        !matches(self.deny, namespace)
            && (is_unrestricted(self.allow) || matches(self.allow, namespace))
    }

    /// Decision from the name and the namespace labels.
    pub fn is_allowed_with_labels(&self, namespace: &str, labels: &impl LabelSet) -> bool {
        if has_invalid_pattern(self.allow) || has_invalid_pattern(self.deny) {
            return false;
        }
        !matches_with_labels(self.deny, namespace, labels)
            && (is_unrestricted(self.allow) || matches_with_labels(self.allow, namespace, labels))
    }
}

/// A problem in a namespace filter, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NamespaceFilterError {
    /// `patterns[index]` is not a valid glob.
    #[error("patterns[{index}]: {source}")]
    Pattern {
        /// Index in `patterns`.
        index: usize,
        /// The glob error.
        source: BadPattern,
    },
    /// `selectorTerms[term]` has an invalid label or requirement.
    #[error("selectorTerms[{term}]: {source}")]
    Term {
        /// Index in `selectorTerms`.
        term: usize,
        /// The selector error.
        source: SelectorError,
    },
}

/// Every problem of a filter: malformed patterns, invalid label keys and
/// values, `In`/`NotIn` without values and `Exists`/`DoesNotExist` with
/// values. Empty when valid.
pub fn validate(filter: &NamespaceFilter) -> Vec<NamespaceFilterError> {
    let mut errors: Vec<NamespaceFilterError> = patterns(filter)
        .iter()
        .enumerate()
        .filter_map(|(index, p)| {
            glob::validate_pattern(p)
                .err()
                .map(|source| NamespaceFilterError::Pattern { index, source })
        })
        .collect();
    for (term, t) in terms(filter).iter().enumerate() {
        let mut push = |source| errors.push(NamespaceFilterError::Term { term, source });
        for (key, value) in t.match_labels.iter().flatten() {
            for e in selector::validate_requirement(key, Operator::In, std::slice::from_ref(value))
            {
                push(e);
            }
        }
        for r in t.match_expressions.iter().flatten() {
            let values = r.values.as_deref().unwrap_or_default();
            for e in selector::validate_requirement(&r.key, operator(r.operator), values) {
                push(e);
            }
        }
    }
    errors
}

fn patterns(filter: &NamespaceFilter) -> &[String] {
    filter.patterns.as_deref().unwrap_or_default()
}

fn terms(filter: &NamespaceFilter) -> &[NamespaceSelectorTerm] {
    filter.selector_terms.as_deref().unwrap_or_default()
}

fn matches_patterns(filter: &NamespaceFilter, namespace: &str) -> bool {
    // Plain path.Match, not the glob wrapper: namespaces have no '/', and the
    // reference evaluates these patterns with filepath.Match.
    patterns(filter)
        .iter()
        .any(|p| glob::path_match(p, namespace).unwrap_or(false))
}

fn matches_terms(filter: &NamespaceFilter, labels: &impl LabelSet) -> bool {
    terms(filter).iter().any(|t| term_matches(t, labels))
}

fn term_matches(term: &NamespaceSelectorTerm, labels: &impl LabelSet) -> bool {
    term.match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.label(k) == Some(v.as_str()))
        && term
            .match_expressions
            .iter()
            .flatten()
            .all(|r| requirement_matches(r, labels))
}

fn requirement_matches(r: &NamespaceSelectorRequirement, labels: &impl LabelSet) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    operator(r.operator).holds(labels.label(&r.key), values)
}

fn operator(op: LabelSelectorOperator) -> Operator {
    match op {
        LabelSelectorOperator::In => Operator::In,
        LabelSelectorOperator::NotIn => Operator::NotIn,
        LabelSelectorOperator::Exists => Operator::Exists,
        LabelSelectorOperator::DoesNotExist => Operator::DoesNotExist,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn pats(p: &[&str]) -> NamespaceFilter {
        NamespaceFilter {
            patterns: Some(p.iter().map(|s| (*s).to_owned()).collect()),
            selector_terms: None,
        }
    }

    fn term(
        match_labels: &[(&str, &str)],
        exprs: &[(&str, LabelSelectorOperator, &[&str])],
    ) -> NamespaceSelectorTerm {
        NamespaceSelectorTerm {
            match_labels: (!match_labels.is_empty()).then(|| labels(match_labels)),
            match_expressions: (!exprs.is_empty()).then(|| {
                exprs
                    .iter()
                    .map(|(k, op, vals)| NamespaceSelectorRequirement {
                        key: (*k).to_owned(),
                        operator: *op,
                        values: (!vals.is_empty())
                            .then(|| vals.iter().map(|s| (*s).to_owned()).collect()),
                    })
                    .collect()
            }),
        }
    }

    fn terms_filter(t: Vec<NamespaceSelectorTerm>) -> NamespaceFilter {
        NamespaceFilter {
            patterns: None,
            selector_terms: Some(t),
        }
    }

    use LabelSelectorOperator::{DoesNotExist, Exists, In, NotIn};

    #[test]
    fn nil_and_empty_filters() {
        let empty = NamespaceFilter::default();
        let empty_lists = NamespaceFilter {
            patterns: Some(vec![]),
            selector_terms: Some(vec![]),
        };
        let l = labels(&[("env", "prod")]);
        for f in [None, Some(&empty), Some(&empty_lists)] {
            assert!(!matches(f, "default"));
            assert!(!matches_with_labels(f, "default", &l));
            assert!(is_unrestricted(f));
            assert!(!has_selector_terms(f));
            assert!(!requires_labels(f, "default"));
        }
        assert!(!is_unrestricted(Some(&pats(&["a"]))));
    }

    #[test]
    fn pattern_table() {
        let rows: &[(&[&str], &str, bool)] = &[
            (&["kube-system"], "kube-system", true),
            (&["kube-system"], "kube-public", false),
            (&["app-*"], "app-frontend", true),
            (&["app-*"], "service-backend", false),
            (&["kube-system", "app-*"], "app-frontend", true),
            (&["prod-??-*"], "prod-eu-1", true),
            (&["prod-??-*"], "prod-e-1", false),
            (&["*"], "anything", true),
            (&["[invalid", "app-*"], "app-x", true),
            (&["[invalid"], "[invalid", false),
        ];
        for &(p, ns, want) in rows {
            let f = pats(p);
            assert_eq!(matches(Some(&f), ns), want, "{p:?} vs {ns}");
            assert_eq!(
                matches_with_labels(Some(&f), ns, &labels(&[])),
                want,
                "{p:?} vs {ns}"
            );
        }
    }

    #[test]
    fn matches_ignores_selector_terms() {
        let f = terms_filter(vec![term(&[("env", "prod")], &[])]);
        assert!(!matches(Some(&f), "anything"));
        assert!(matches_with_labels(
            Some(&f),
            "anything",
            &labels(&[("env", "prod")])
        ));
    }

    #[test]
    fn selector_term_table() {
        let prod = labels(&[("env", "prod")]);
        let prod_sre = labels(&[("env", "prod"), ("team", "sre")]);
        let staging = labels(&[("env", "staging")]);
        let dev = labels(&[("env", "dev")]);
        let none = labels(&[]);
        let rows: Vec<(NamespaceSelectorTerm, &BTreeMap<String, String>, bool)> = vec![
            (term(&[("env", "prod")], &[]), &prod, true),
            (term(&[("team", "sre")], &[]), &prod, false),
            (term(&[("env", "prod")], &[]), &staging, false),
            (term(&[("env", "prod"), ("team", "sre")], &[]), &prod, false),
            (
                term(&[("env", "prod"), ("team", "sre")], &[]),
                &prod_sre,
                true,
            ),
            (
                term(&[], &[("env", In, &["prod", "staging"])]),
                &staging,
                true,
            ),
            (term(&[], &[("env", In, &["prod", "staging"])]), &dev, false),
            (term(&[], &[("env", In, &["prod"])]), &none, false),
            (term(&[], &[("env", NotIn, &["prod"])]), &none, true),
            (term(&[], &[("env", NotIn, &["prod"])]), &prod, false),
            (term(&[], &[("env", NotIn, &["prod"])]), &dev, true),
            (term(&[], &[("team", Exists, &[])]), &prod_sre, true),
            (term(&[], &[("team", Exists, &[])]), &prod, false),
            (term(&[], &[("team", DoesNotExist, &[])]), &prod, true),
            (term(&[], &[("team", DoesNotExist, &[])]), &prod_sre, false),
            // matchLabels AND matchExpressions inside one term.
            (
                term(&[("env", "prod")], &[("team", In, &["sre"])]),
                &prod_sre,
                true,
            ),
            (
                term(&[("env", "prod")], &[("team", In, &["ops"])]),
                &prod_sre,
                false,
            ),
            // A term without conditions matches any labels.
            (term(&[], &[]), &none, true),
        ];
        for (i, (t, l, want)) in rows.into_iter().enumerate() {
            let f = terms_filter(vec![t]);
            assert_eq!(matches_with_labels(Some(&f), "ns", l), want, "row {i}");
        }
    }

    #[test]
    fn terms_are_ored_and_patterns_short_circuit() {
        let f = NamespaceFilter {
            patterns: Some(vec!["kube-*".to_owned()]),
            selector_terms: Some(vec![
                term(&[("env", "prod")], &[]),
                term(&[("team", "sre")], &[]),
            ]),
        };
        assert!(matches_with_labels(
            Some(&f),
            "ns",
            &labels(&[("team", "sre")])
        ));
        assert!(matches_with_labels(
            Some(&f),
            "ns",
            &labels(&[("env", "prod")])
        ));
        assert!(!matches_with_labels(
            Some(&f),
            "ns",
            &labels(&[("env", "dev")])
        ));
        assert!(matches_with_labels(Some(&f), "kube-system", &labels(&[])));
    }

    #[test]
    fn selector_terms_alone_ignore_patterns() {
        let f = NamespaceFilter {
            patterns: Some(vec!["kube-*".to_owned()]),
            selector_terms: Some(vec![term(&[("protected", "true")], &[])]),
        };
        assert!(matches_selector_terms(
            Some(&f),
            &labels(&[("protected", "true")])
        ));
        assert!(!matches_selector_terms(Some(&f), &labels(&[])));
        assert!(!matches_selector_terms(Some(&pats(&["*"])), &labels(&[])));
        assert!(!matches_selector_terms(None, &labels(&[])));
    }

    #[test]
    fn label_need_table() {
        let pattern_only = pats(&["app-*"]);
        let selector_only = terms_filter(vec![term(&[("env", "prod")], &[])]);
        let mixed = NamespaceFilter {
            patterns: Some(vec!["app-*".to_owned()]),
            selector_terms: Some(vec![term(&[("env", "prod")], &[])]),
        };
        assert!(!has_selector_terms(Some(&pattern_only)));
        assert!(!requires_labels(Some(&pattern_only), "other"));
        assert!(has_selector_terms(Some(&selector_only)));
        assert!(requires_labels(Some(&selector_only), "app-x"));
        assert!(has_selector_terms(Some(&mixed)));
        assert!(!requires_labels(Some(&mixed), "app-x"));
        assert!(requires_labels(Some(&mixed), "other"));
    }

    #[test]
    fn allow_deny_table() {
        let allow = pats(&["debug-*"]);
        let deny = pats(&["debug-prod-*"]);
        let bad = pats(&["[bad"]);
        let by_label = terms_filter(vec![term(&[("protected", "true")], &[])]);
        let rows: Vec<(AllowDeny<'_>, &str, bool)> = vec![
            (
                AllowDeny {
                    allow: Some(&allow),
                    deny: Some(&deny),
                },
                "debug-team-a",
                true,
            ),
            (
                AllowDeny {
                    allow: Some(&allow),
                    deny: Some(&deny),
                },
                "debug-prod-a",
                false,
            ),
            (
                AllowDeny {
                    allow: Some(&allow),
                    deny: Some(&deny),
                },
                "tenant-app",
                false,
            ),
            (
                AllowDeny {
                    allow: None,
                    deny: Some(&deny),
                },
                "anything",
                true,
            ),
            (
                AllowDeny {
                    allow: None,
                    deny: Some(&deny),
                },
                "debug-prod-x",
                false,
            ),
            (
                AllowDeny {
                    allow: None,
                    deny: None,
                },
                "anything",
                true,
            ),
            (
                AllowDeny {
                    allow: Some(&bad),
                    deny: None,
                },
                "anything",
                false,
            ),
            (
                AllowDeny {
                    allow: None,
                    deny: Some(&bad),
                },
                "anything",
                false,
            ),
            // Label-only deny cannot be evaluated from the name.
            (
                AllowDeny {
                    allow: None,
                    deny: Some(&by_label),
                },
                "anything",
                true,
            ),
        ];
        for (i, (m, ns, want)) in rows.into_iter().enumerate() {
            assert_eq!(m.is_allowed(ns), want, "row {i}");
        }
        let m = AllowDeny {
            allow: None,
            deny: Some(&by_label),
        };
        assert!(!m.is_allowed_with_labels("x", &labels(&[("protected", "true")])));
        assert!(m.is_allowed_with_labels("x", &labels(&[])));
    }

    #[test]
    fn validation_table() {
        assert!(validate(&pats(&["app-*", "kube-system"])).is_empty());
        let f = NamespaceFilter {
            patterns: Some(vec!["ok".to_owned(), "[bad".to_owned()]),
            selector_terms: Some(vec![
                term(&[("env", "prod")], &[]),
                term(&[("bad key", "x")], &[("env", In, &[])]),
                term(&[], &[("env", Exists, &["x"])]),
            ]),
        };
        let errors: Vec<String> = validate(&f).iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("patterns[1]: syntax error"));
        assert!(errors[1].starts_with("selectorTerms[1]: invalid label key"));
        assert!(errors[2].contains("needs at least one value"));
        assert!(errors[3].starts_with("selectorTerms[2]:"));
        assert!(has_invalid_pattern(Some(&f)));
    }

    proptest! {
        #[test]
        fn labels_only_widen_the_match(
            p in proptest::collection::vec("[a-z*?-]{0,6}", 0..3),
            ns in "[a-z-]{0,8}",
            key in "[a-z]{1,3}",
            value in "[a-z]{0,3}",
        ) {
            let f = NamespaceFilter {
                patterns: Some(p),
                selector_terms: Some(vec![term(&[(key.as_str(), value.as_str())], &[])]),
            };
            let l = labels(&[(key.as_str(), value.as_str())]);
            if matches(Some(&f), &ns) {
                prop_assert!(matches_with_labels(Some(&f), &ns, &l));
            }
            prop_assert!(matches_with_labels(Some(&f), &ns, &l));
            prop_assert_eq!(requires_labels(Some(&f), &ns), !matches(Some(&f), &ns));
        }
    }
}
