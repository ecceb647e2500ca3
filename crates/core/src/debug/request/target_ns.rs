//! The target namespace of a request against the effective namespace rules, with
//! the namespace's live labels when selector terms must be evaluated (A1 §9).
//!
//! * A requested namespace must pass every allow list — a name pattern OR a selector
//!   term (terms ORed, requirements inside a term ANDed) — and match no deny list;
//!   deny wins.
//! * Labels are needed only when the answer depends on them: a deny list has terms,
//!   or an allow list whose patterns miss the name has terms. The server then reads
//!   the namespace on the target ([`LiveNamespace`]); a failed read is a refusal.
//! * A namespace that does not exist is judged by the labels it would be created
//!   with when `createIfNotExists` is on (`namespaceLabels` plus
//!   `kubernetes.io/metadata.name`, which the apiserver adds); without it, a request
//!   whose decision needs labels is refused ("does not exist"), any other is left to
//!   the deployment (which honours `failMode`).
//! * The default namespace passes the allow lists and deny patterns (an
//!   administrator chose it next to them), but not deny selector terms: labels are
//!   live state — a namespace labelled `protected=true` after the template was
//!   written is refused, as deny wins everywhere else. A missing default namespace
//!   has no labels to deny.

use std::collections::BTreeMap;

use crate::debug::merge::EffectiveNamespaces;
use crate::namespace;

/// The label Kubernetes puts on every namespace, naming it.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// What the target says about the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveNamespace {
    /// It exists with these labels.
    Exists(BTreeMap<String, String>),
    /// It does not exist.
    Missing,
}

/// True when deciding on `ns` needs its labels from the target.
pub fn needs_labels(eff: &EffectiveNamespaces, ns: &str, is_default: bool) -> bool {
    let deny_terms = namespace::has_selector_terms(Some(&eff.deny));
    if is_default {
        return deny_terms;
    }
    if denied_by_name(eff, ns) {
        return false;
    }
    deny_terms
        || eff
            .allow
            .iter()
            .any(|allow| namespace::requires_labels(Some(allow), ns))
}

fn denied_by_name(eff: &EffectiveNamespaces, ns: &str) -> bool {
    namespace::has_invalid_pattern(Some(&eff.deny))
        || eff
            .allow
            .iter()
            .any(|a| namespace::has_invalid_pattern(Some(a)))
        || namespace::matches(Some(&eff.deny), ns)
}

/// The labels to judge `ns` by: its live labels, or those it would be created with.
/// `None` when it does not exist and will not be created.
fn labels_of(
    eff: &EffectiveNamespaces,
    ns: &str,
    live: &LiveNamespace,
) -> Option<BTreeMap<String, String>> {
    match live {
        LiveNamespace::Exists(labels) => Some(labels.clone()),
        LiveNamespace::Missing if eff.create_if_not_exists == Some(true) => {
            let mut labels = eff.namespace_labels.clone().unwrap_or_default();
            labels.insert(NAME_LABEL.to_owned(), ns.to_owned());
            Some(labels)
        }
        LiveNamespace::Missing => None,
    }
}

/// Decides whether `ns` may be used; the error is the message (the field is
/// `targetNamespace`). `live` is the target's answer when [`needs_labels`] said so;
/// without it such a decision is refused (fail closed).
pub fn decide(
    eff: &EffectiveNamespaces,
    ns: &str,
    is_default: bool,
    live: Option<&LiveNamespace>,
    cluster: &str,
) -> Result<(), String> {
    let unread = || format!("the labels of namespace {ns:?} on cluster {cluster:?} were not read");
    if is_default {
        if !namespace::has_selector_terms(Some(&eff.deny)) {
            return Ok(());
        }
        let live = live.ok_or_else(unread)?;
        return match labels_of(eff, ns, live) {
            Some(labels) if namespace::matches_selector_terms(Some(&eff.deny), &labels) => {
                Err(denied_by_labels(ns))
            }
            _ => Ok(()),
        };
    }
    if denied_by_name(eff, ns) {
        return Err(not_allowed(ns));
    }
    if !needs_labels(eff, ns, false) {
        return if eff.admits(ns) {
            Ok(())
        } else {
            Err(not_allowed(ns))
        };
    }
    let live = live.ok_or_else(unread)?;
    let labels = labels_of(eff, ns, live).ok_or_else(|| {
        format!(
            "namespace {ns:?} does not exist on cluster {cluster:?} (its labels decide whether it is allowed)"
        )
    })?;
    if namespace::matches_with_labels(Some(&eff.deny), ns, &labels) {
        return Err(denied_by_labels(ns));
    }
    if eff
        .allow
        .iter()
        .all(|allow| namespace::matches_with_labels(Some(allow), ns, &labels))
    {
        Ok(())
    } else {
        Err(not_allowed(ns))
    }
}

fn not_allowed(ns: &str) -> String {
    format!("namespace {ns:?} is not allowed by the namespace constraints")
}

fn denied_by_labels(ns: &str) -> String {
    format!(
        "namespace {ns:?} is denied by its labels (namespaceConstraints.deniedNamespaces.selectorTerms)"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use breakglass_api::common::{NamespaceFilter, NamespaceSelectorTerm};

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn filter(patterns: &[&str], terms: &[&[(&str, &str)]]) -> NamespaceFilter {
        NamespaceFilter {
            patterns: (!patterns.is_empty())
                .then(|| patterns.iter().map(|p| (*p).to_owned()).collect()),
            selector_terms: (!terms.is_empty()).then(|| {
                terms
                    .iter()
                    .map(|t| NamespaceSelectorTerm {
                        match_labels: Some(labels(t)),
                        match_expressions: None,
                    })
                    .collect()
            }),
        }
    }

    fn eff(allow: Vec<NamespaceFilter>, deny: NamespaceFilter) -> EffectiveNamespaces {
        EffectiveNamespaces {
            constrained: true,
            allow,
            deny,
            default_namespace: "dbg".into(),
            allow_user_namespace: true,
            create_if_not_exists: None,
            namespace_labels: None,
        }
    }

    fn exists(pairs: &[(&str, &str)]) -> LiveNamespace {
        LiveNamespace::Exists(labels(pairs))
    }

    #[test]
    fn allow_by_pattern_or_term_deny_wins() {
        let e = eff(
            vec![filter(&["debug-*"], &[&[("debug-enabled", "true")]])],
            filter(&["kube-*"], &[&[("protected", "true")]]),
        );
        let rows: Vec<(&str, Option<LiveNamespace>, Result<(), &str>)> = vec![
            // Deny patterns refuse without a lookup.
            ("kube-system", None, Err("is not allowed")),
            // Deny terms always need labels.
            ("debug-a", None, Err("were not read")),
            ("debug-a", Some(exists(&[])), Ok(())),
            (
                "debug-a",
                Some(exists(&[("protected", "true")])),
                Err("is denied by its labels"),
            ),
            ("team-x", Some(exists(&[("debug-enabled", "true")])), Ok(())),
            (
                "team-x",
                Some(exists(&[("debug-enabled", "false")])),
                Err("is not allowed"),
            ),
            (
                "team-x",
                Some(exists(&[("debug-enabled", "true"), ("protected", "true")])),
                Err("is denied by its labels"),
            ),
            (
                "team-x",
                Some(LiveNamespace::Missing),
                Err("does not exist on cluster \"c1\""),
            ),
        ];
        for (ns, live, want) in rows {
            let got = decide(&e, ns, false, live.as_ref(), "c1");
            match (want, &got) {
                (Ok(()), Ok(())) => {}
                (Err(w), Err(g)) => assert!(g.contains(w), "{ns} {live:?}: {g}"),
                _ => unreachable!("{ns} {live:?}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn labels_are_needed_only_when_they_decide() {
        let patterns_only = eff(
            vec![filter(&["debug-*"], &[])],
            filter(&["debug-prod"], &[]),
        );
        assert!(!needs_labels(&patterns_only, "debug-a", false));
        assert!(!needs_labels(&patterns_only, "debug-a", true));
        assert_eq!(decide(&patterns_only, "debug-a", false, None, "c"), Ok(()));
        assert!(decide(&patterns_only, "debug-prod", false, None, "c").is_err());
        assert!(decide(&patterns_only, "other", false, None, "c").is_err());
        let mixed = eff(
            vec![filter(&["debug-*"], &[&[("team", "sre")]])],
            NamespaceFilter::default(),
        );
        assert!(
            !needs_labels(&mixed, "debug-a", false),
            "the pattern decides"
        );
        assert!(needs_labels(&mixed, "other", false));
        assert!(
            !needs_labels(&mixed, "other", true),
            "the default skips allow lists"
        );
        // Two allow lists (template and binding): each must admit.
        let two = eff(
            vec![
                filter(&["debug-*"], &[]),
                filter(&[], &[&[("team", "sre")]]),
            ],
            NamespaceFilter::default(),
        );
        assert!(needs_labels(&two, "debug-a", false));
        assert_eq!(
            decide(
                &two,
                "debug-a",
                false,
                Some(&exists(&[("team", "sre")])),
                "c"
            ),
            Ok(())
        );
        assert!(decide(&two, "debug-a", false, Some(&exists(&[])), "c").is_err());
        assert!(decide(&two, "other", false, Some(&exists(&[("team", "sre")])), "c").is_err());
    }

    #[test]
    fn missing_namespaces_use_the_labels_they_would_get() {
        let mut e = eff(
            vec![filter(&[], &[&[("purpose", "debug")]])],
            filter(&[], &[&[(NAME_LABEL, "forbidden")]]),
        );
        assert!(
            decide(&e, "new-ns", false, Some(&LiveNamespace::Missing), "c")
                .unwrap_err()
                .contains("does not exist")
        );
        e.create_if_not_exists = Some(true);
        e.namespace_labels = Some(labels(&[("purpose", "debug")]));
        assert_eq!(
            decide(&e, "new-ns", false, Some(&LiveNamespace::Missing), "c"),
            Ok(())
        );
        // The name label the apiserver will add counts too.
        assert!(
            decide(&e, "forbidden", false, Some(&LiveNamespace::Missing), "c")
                .unwrap_err()
                .contains("denied by its labels")
        );
        e.namespace_labels = Some(labels(&[("purpose", "other")]));
        assert!(decide(&e, "new-ns", false, Some(&LiveNamespace::Missing), "c").is_err());
    }

    #[test]
    fn the_default_passes_everything_but_deny_terms() {
        let e = eff(
            vec![filter(&["elsewhere-*"], &[])],
            filter(&["dbg"], &[&[("protected", "true")]]),
        );
        assert!(needs_labels(&e, "dbg", true));
        assert_eq!(decide(&e, "dbg", true, Some(&exists(&[])), "c"), Ok(()));
        assert_eq!(
            decide(&e, "dbg", true, Some(&LiveNamespace::Missing), "c"),
            Ok(())
        );
        assert!(
            decide(
                &e,
                "dbg",
                true,
                Some(&exists(&[("protected", "true")])),
                "c"
            )
            .unwrap_err()
            .contains("denied by its labels")
        );
        assert!(decide(&e, "dbg", true, None, "c").is_err(), "fail closed");
        let no_terms = eff(vec![], filter(&["dbg"], &[]));
        assert!(!needs_labels(&no_terms, "dbg", true));
        assert_eq!(decide(&no_terms, "dbg", true, None, "c"), Ok(()));
    }

    #[test]
    fn malformed_patterns_refuse_everything() {
        let e = eff(vec![filter(&["[bad"], &[])], NamespaceFilter::default());
        assert!(!needs_labels(&e, "x", false));
        assert!(decide(&e, "x", false, None, "c").is_err());
    }
}
