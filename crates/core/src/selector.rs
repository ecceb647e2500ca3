//! Kubernetes label selectors (`metav1.LabelSelector`) with Go's semantics.
//!
//! Matching: `matchLabels` AND every `matchExpressions` requirement; `In`
//! needs the key with a listed value, `NotIn` holds when the key is missing or
//! its value is not listed, `Exists`/`DoesNotExist` test the key only. A
//! missing selector selects nothing, an empty one selects everything
//! (`LabelSelectorAsSelector`).
//!
//! Validation rejects what Go rejects and kube's `Selector` accepts: `In` and
//! `NotIn` without values, values on `Exists`/`DoesNotExist`, unknown
//! operators, and keys or values that are not valid label syntax.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use thiserror::Error;

/// A set of labels to match against.
pub trait LabelSet {
    /// The value of label `key`, if present.
    fn label(&self, key: &str) -> Option<&str>;
}

impl LabelSet for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: BuildHasher> LabelSet for HashMap<String, String, S> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<L: LabelSet + ?Sized> LabelSet for &L {
    fn label(&self, key: &str) -> Option<&str> {
        (**self).label(key)
    }
}

/// Relation between a label and a value set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// The key is present and its value is in the set.
    In,
    /// The key is absent, or its value is not in the set.
    NotIn,
    /// The key is present.
    Exists,
    /// The key is absent.
    DoesNotExist,
}

impl Operator {
    /// Parses the wire name (`In`, `NotIn`, `Exists`, `DoesNotExist`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "In" => Self::In,
            "NotIn" => Self::NotIn,
            "Exists" => Self::Exists,
            "DoesNotExist" => Self::DoesNotExist,
            _ => return None,
        })
    }

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::In => "In",
            Self::NotIn => "NotIn",
            Self::Exists => "Exists",
            Self::DoesNotExist => "DoesNotExist",
        }
    }

    /// Evaluates the operator for a label value (`None` = key absent)
    /// against `values`.
    pub fn holds<V: AsRef<str>>(self, label: Option<&str>, values: &[V]) -> bool {
        let listed = |v: &str| values.iter().any(|x| x.as_ref() == v);
        match self {
            Self::In => label.is_some_and(listed),
            Self::NotIn => !label.is_some_and(listed),
            Self::Exists => label.is_some(),
            Self::DoesNotExist => label.is_none(),
        }
    }
}

/// Why a label selector is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectorError {
    /// The key is not a qualified name (`[prefix/]name`).
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value is not a valid label value.
    #[error("invalid value {value:?} for label key {key:?}: {reason}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `In`/`NotIn` with no values.
    #[error("label key {key:?}: operator {operator} needs at least one value")]
    MissingValues {
        /// The key.
        key: String,
        /// `In` or `NotIn`.
        operator: &'static str,
    },
    /// `Exists`/`DoesNotExist` with values.
    #[error("label key {key:?}: operator {operator} takes no values")]
    UnexpectedValues {
        /// The key.
        key: String,
        /// `Exists` or `DoesNotExist`.
        operator: &'static str,
    },
    /// An operator other than `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[error(
        "label key {key:?}: {operator:?} is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)"
    )]
    UnknownOperator {
        /// The key.
        key: String,
        /// The rejected operator.
        operator: String,
    },
}

/// One validated requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// Builds a requirement, validating it exactly as Go's
    /// `labels.NewRequirement` does (first problem reported).
    pub fn new(key: &str, operator: Operator, values: &[String]) -> Result<Self, SelectorError> {
        if let Some(first) = validate_requirement(key, operator, values)
            .into_iter()
            .next()
        {
            return Err(first);
        }
        Ok(Self {
            key: key.to_owned(),
            operator,
            values: values.iter().cloned().collect(),
        })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// True if `labels` satisfy this requirement.
    pub fn matches(&self, labels: &impl LabelSet) -> bool {
        let label = labels.label(&self.key);
        match self.operator {
            Operator::In => label.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => !label.is_some_and(|v| self.values.contains(v)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
        }
    }
}

/// A validated selector, ready to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Selects nothing (a missing selector).
    Nothing,
    /// Selects label sets satisfying every requirement; none = everything.
    All(Vec<Requirement>),
}

impl Selector {
    /// Selects every label set.
    pub const fn everything() -> Self {
        Self::All(Vec::new())
    }

    /// Go's `metav1.LabelSelectorAsSelector`: `None` selects nothing, an
    /// empty selector everything; the first invalid requirement is an error.
    pub fn from_label_selector(selector: Option<&LabelSelector>) -> Result<Self, SelectorError> {
        let Some(selector) = selector else {
            return Ok(Self::Nothing);
        };
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::new(
                key,
                Operator::In,
                std::slice::from_ref(value),
            )?);
        }
        for expr in selector.match_expressions.iter().flatten() {
            let operator =
                Operator::parse(&expr.operator).ok_or_else(|| SelectorError::UnknownOperator {
                    key: expr.key.clone(),
                    operator: expr.operator.clone(),
                })?;
            requirements.push(Requirement::new(
                &expr.key,
                operator,
                expr.values.as_deref().unwrap_or_default(),
            )?);
        }
        Ok(Self::All(requirements))
    }

    /// True if `labels` are selected.
    pub fn matches(&self, labels: &impl LabelSet) -> bool {
        match self {
            Self::Nothing => false,
            Self::All(requirements) => requirements.iter().all(|r| r.matches(labels)),
        }
    }

    /// True for the selector that selects nothing.
    pub fn is_nothing(&self) -> bool {
        matches!(self, Self::Nothing)
    }

    /// True for the selector that selects everything.
    pub fn is_everything(&self) -> bool {
        matches!(self, Self::All(r) if r.is_empty())
    }
}

/// Validates and matches in one step: `None` selects nothing, an empty
/// selector everything.
pub fn matches(
    selector: Option<&LabelSelector>,
    labels: &impl LabelSet,
) -> Result<bool, SelectorError> {
    Selector::from_label_selector(selector).map(|s| s.matches(labels))
}

/// Every problem of a selector (for admission messages), in the order
/// `matchLabels` (by key) then `matchExpressions`. Empty when valid.
pub fn validate_label_selector(selector: &LabelSelector) -> Vec<SelectorError> {
    let mut errors = Vec::new();
    for (key, value) in selector.match_labels.iter().flatten() {
        errors.extend(validate_requirement(
            key,
            Operator::In,
            std::slice::from_ref(value),
        ));
    }
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.as_deref().unwrap_or_default();
        match Operator::parse(&expr.operator) {
            Some(operator) => errors.extend(validate_requirement(&expr.key, operator, values)),
            None => {
                errors.extend(validate_label_key(&expr.key).err());
                errors.push(SelectorError::UnknownOperator {
                    key: expr.key.clone(),
                    operator: expr.operator.clone(),
                });
                errors.extend(
                    values
                        .iter()
                        .filter_map(|v| validate_label_value(&expr.key, v).err()),
                );
            }
        }
    }
    errors
}

/// All problems of one requirement, in Go's order: key, value count, values.
pub fn validate_requirement(
    key: &str,
    operator: Operator,
    values: &[String],
) -> Vec<SelectorError> {
    let mut errors = Vec::new();
    errors.extend(validate_label_key(key).err());
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => {
            errors.push(SelectorError::MissingValues {
                key: key.to_owned(),
                operator: operator.as_str(),
            })
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            errors.push(SelectorError::UnexpectedValues {
                key: key.to_owned(),
                operator: operator.as_str(),
            })
        }
        _ => {}
    }
    errors.extend(
        values
            .iter()
            .filter_map(|v| validate_label_value(key, v).err()),
    );
    errors
}

/// Maximum length of a label name and of a label value.
pub const LABEL_NAME_MAX_LEN: usize = 63;
/// Maximum length of a DNS-1123 subdomain (label key prefix).
pub const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;

/// Checks a label key: a qualified name `[prefix/]name` where the optional
/// prefix is a DNS-1123 subdomain and the name is 1–63 characters of
/// `[A-Za-z0-9_.-]`, starting and ending alphanumeric.
pub fn validate_label_key(key: &str) -> Result<(), SelectorError> {
    qualified_name_problem(key).map_or(Ok(()), |reason| {
        Err(SelectorError::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    })
}

/// Checks a label value: empty, or up to 63 characters of `[A-Za-z0-9_.-]`
/// starting and ending alphanumeric.
pub fn validate_label_value(key: &str, value: &str) -> Result<(), SelectorError> {
    let reason = if value.len() > LABEL_NAME_MAX_LEN {
        Some(format!(
            "must be no more than {LABEL_NAME_MAX_LEN} characters"
        ))
    } else if !value.is_empty() && !is_qualified_name_part(value) {
        Some(NAME_SYNTAX.to_owned())
    } else {
        None
    };
    reason.map_or(Ok(()), |reason| {
        Err(SelectorError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            reason,
        })
    })
}

/// True if `s` is a DNS-1123 subdomain: at most 253 characters, dot-separated
/// labels of `[a-z0-9-]` that start and end alphanumeric.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= DNS1123_SUBDOMAIN_MAX_LEN
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            match (b.first(), b.last()) {
                (Some(f), Some(l)) => {
                    is_lower_alnum(*f)
                        && is_lower_alnum(*l)
                        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
                }
                _ => false,
            }
        })
}

const NAME_SYNTAX: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, non-empty.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Go's `validation.IsQualifiedName`, reduced to its first complaint.
fn qualified_name_problem(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return Some("prefix part must be non-empty".to_owned());
            }
            if !is_dns1123_subdomain(prefix) {
                return Some(
                    "prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters"
                        .to_owned(),
                );
            }
            *name
        }
        _ => {
            return Some("a qualified name must be a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_owned());
        }
    };
    if name.is_empty() {
        Some("name part must be non-empty".to_owned())
    } else if name.len() > LABEL_NAME_MAX_LEN {
        Some(format!(
            "name part must be no more than {LABEL_NAME_MAX_LEN} characters"
        ))
    } else if !is_qualified_name_part(name) {
        Some(format!("name part {NAME_SYNTAX}"))
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: Option<&[&str]>) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.to_owned(),
            operator: op.to_owned(),
            values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn selector(
        match_labels: &[(&str, &str)],
        exprs: Vec<LabelSelectorRequirement>,
    ) -> LabelSelector {
        LabelSelector {
            match_labels: (!match_labels.is_empty()).then(|| labels(match_labels)),
            match_expressions: (!exprs.is_empty()).then_some(exprs),
        }
    }

    #[test]
    fn nil_selects_nothing_and_empty_selects_everything() {
        let any = labels(&[("env", "prod")]);
        let none = BTreeMap::new();
        assert_eq!(matches(None, &any), Ok(false));
        assert_eq!(matches(None, &none), Ok(false));
        assert_eq!(matches(Some(&LabelSelector::default()), &any), Ok(true));
        assert_eq!(matches(Some(&LabelSelector::default()), &none), Ok(true));
        let empty_lists = LabelSelector {
            match_labels: Some(BTreeMap::new()),
            match_expressions: Some(vec![]),
        };
        assert!(
            Selector::from_label_selector(Some(&empty_lists))
                .unwrap()
                .is_everything()
        );
        assert!(Selector::from_label_selector(None).unwrap().is_nothing());
    }

    #[test]
    fn matching_table() {
        let prod = labels(&[("env", "prod"), ("team", "sre")]);
        let dev = labels(&[("env", "dev")]);
        let bare = labels(&[]);
        let empty_env = labels(&[("env", "")]);
        // (selector, labels, expected)
        let rows: Vec<(LabelSelector, &BTreeMap<String, String>, bool)> = vec![
            (selector(&[("env", "prod")], vec![]), &prod, true),
            (selector(&[("env", "prod")], vec![]), &dev, false),
            (
                selector(&[("env", "prod"), ("team", "sre")], vec![]),
                &prod,
                true,
            ),
            (
                selector(&[("env", "prod"), ("team", "ops")], vec![]),
                &prod,
                false,
            ),
            (selector(&[("missing", "x")], vec![]), &prod, false),
            (
                selector(&[], vec![expr("env", "In", Some(&["prod", "staging"]))]),
                &prod,
                true,
            ),
            (
                selector(&[], vec![expr("env", "In", Some(&["prod", "staging"]))]),
                &dev,
                false,
            ),
            (
                selector(&[], vec![expr("env", "In", Some(&["prod"]))]),
                &bare,
                false,
            ),
            (
                selector(&[], vec![expr("env", "NotIn", Some(&["prod"]))]),
                &dev,
                true,
            ),
            (
                selector(&[], vec![expr("env", "NotIn", Some(&["prod"]))]),
                &prod,
                false,
            ),
            (
                selector(&[], vec![expr("env", "NotIn", Some(&["prod"]))]),
                &bare,
                true,
            ),
            (
                selector(&[], vec![expr("team", "Exists", None)]),
                &prod,
                true,
            ),
            (
                selector(&[], vec![expr("team", "Exists", None)]),
                &dev,
                false,
            ),
            (
                selector(&[], vec![expr("team", "DoesNotExist", None)]),
                &dev,
                true,
            ),
            (
                selector(&[], vec![expr("team", "DoesNotExist", None)]),
                &prod,
                false,
            ),
            // matchLabels AND matchExpressions.
            (
                selector(&[("env", "prod")], vec![expr("team", "In", Some(&["sre"]))]),
                &prod,
                true,
            ),
            (
                selector(&[("env", "prod")], vec![expr("team", "In", Some(&["ops"]))]),
                &prod,
                false,
            ),
            // Empty label value is a value like any other.
            (selector(&[("env", "")], vec![]), &empty_env, true),
            (selector(&[("env", "")], vec![]), &bare, false),
        ];
        for (i, (sel, l, want)) in rows.into_iter().enumerate() {
            assert_eq!(matches(Some(&sel), l), Ok(want), "row {i}: {sel:?}");
        }
    }

    #[test]
    fn validation_table() {
        let long = "a".repeat(64);
        let rows: Vec<(LabelSelector, Option<&str>)> = vec![
            (selector(&[("env", "prod")], vec![]), None),
            (selector(&[("example.com/env", "prod")], vec![]), None),
            (selector(&[("a.b-c/x_y.z", "A-1_b.2")], vec![]), None),
            (
                selector(&[], vec![expr("env", "In", Some(&[]))]),
                Some("needs at least one value"),
            ),
            (
                selector(&[], vec![expr("env", "In", None)]),
                Some("needs at least one value"),
            ),
            (
                selector(&[], vec![expr("env", "NotIn", None)]),
                Some("needs at least one value"),
            ),
            (
                selector(&[], vec![expr("env", "Exists", Some(&["x"]))]),
                Some("takes no values"),
            ),
            (
                selector(&[], vec![expr("env", "DoesNotExist", Some(&["x"]))]),
                Some("takes no values"),
            ),
            (selector(&[], vec![expr("env", "Exists", Some(&[]))]), None),
            (
                selector(&[], vec![expr("env", "Equals", Some(&["x"]))]),
                Some("not a valid label selector operator"),
            ),
            (
                selector(&[], vec![expr("env", "in", Some(&["x"]))]),
                Some("not a valid label selector operator"),
            ),
            (
                selector(&[], vec![expr("env", "Gt", Some(&["1"]))]),
                Some("not a valid label selector operator"),
            ),
            (
                selector(&[("", "x")], vec![]),
                Some("name part must be non-empty"),
            ),
            (
                selector(&[("-env", "x")], vec![]),
                Some("name part must consist"),
            ),
            (
                selector(&[("env-", "x")], vec![]),
                Some("name part must consist"),
            ),
            (
                selector(&[("e nv", "x")], vec![]),
                Some("name part must consist"),
            ),
            (
                selector(&[(long.as_str(), "x")], vec![]),
                Some("no more than 63"),
            ),
            (
                selector(&[("/env", "x")], vec![]),
                Some("prefix part must be non-empty"),
            ),
            (
                selector(&[("Example.com/env", "x")], vec![]),
                Some("prefix part"),
            ),
            (selector(&[("a/b/c", "x")], vec![]), Some("qualified name")),
            (
                selector(&[("example.com/", "x")], vec![]),
                Some("name part must be non-empty"),
            ),
            (selector(&[("env", "-prod")], vec![]), Some("must consist")),
            (
                selector(&[("env", "prod value")], vec![]),
                Some("must consist"),
            ),
            (
                selector(&[("env", long.as_str())], vec![]),
                Some("no more than 63"),
            ),
            (
                selector(&[], vec![expr("env", "In", Some(&["ok", "not ok"]))]),
                Some("\"not ok\""),
            ),
        ];
        for (sel, want) in rows {
            let compiled = Selector::from_label_selector(Some(&sel));
            let all = validate_label_selector(&sel);
            match want {
                None => {
                    assert!(compiled.is_ok(), "{sel:?}: {compiled:?}");
                    assert!(all.is_empty(), "{sel:?}: {all:?}");
                }
                Some(fragment) => {
                    let err = compiled.expect_err("should be rejected").to_string();
                    assert!(err.contains(fragment), "{sel:?}: {err}");
                    assert!(!all.is_empty());
                }
            }
        }
    }

    #[test]
    fn validate_reports_every_problem() {
        let sel = selector(
            &[("bad key", "x")],
            vec![
                expr("env", "In", None),
                expr("t", "Exists", Some(&["v"])),
                expr("k", "Bogus", None),
            ],
        );
        assert_eq!(validate_label_selector(&sel).len(), 4);
    }

    #[test]
    fn dns1123_subdomain_table() {
        for ok in ["a", "example.com", "a-b.c-d", "0.1", &"a".repeat(253)] {
            assert!(is_dns1123_subdomain(ok), "{ok}");
        }
        for bad in [
            "",
            "A.com",
            "-a",
            "a-",
            "a..b",
            ".a",
            "a.",
            "a_b",
            &"a".repeat(254),
        ] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn operator_holds_matches_requirement() {
        for op in [
            Operator::In,
            Operator::NotIn,
            Operator::Exists,
            Operator::DoesNotExist,
        ] {
            assert_eq!(Operator::parse(op.as_str()), Some(op));
        }
        assert!(Operator::In.holds(Some("a"), &["a", "b"]));
        assert!(!Operator::In.holds(None, &["a"]));
        assert!(Operator::NotIn.holds(None, &["a"]));
        assert!(!Operator::NotIn.holds(Some("a"), &["a"]));
        assert!(Operator::Exists.holds(Some(""), &[] as &[&str]));
        assert!(Operator::DoesNotExist.holds(None, &[] as &[&str]));
    }

    #[test]
    fn hashmap_label_sets_work() {
        let mut l = HashMap::new();
        l.insert("env".to_owned(), "prod".to_owned());
        assert_eq!(
            matches(Some(&selector(&[("env", "prod")], vec![])), &l),
            Ok(true)
        );
    }

    proptest! {
        #[test]
        fn in_and_notin_are_complementary(
            key in "[a-z]{1,4}",
            values in proptest::collection::vec("[a-z]{0,3}", 1..4),
            present in proptest::option::of("[a-z]{0,3}"),
        ) {
            let l: BTreeMap<String, String> = present.iter().map(|v| (key.clone(), v.clone())).collect();
            let vals: Vec<&str> = values.iter().map(String::as_str).collect();
            let sel_in = selector(&[], vec![expr(&key, "In", Some(&vals))]);
            let sel_not = selector(&[], vec![expr(&key, "NotIn", Some(&vals))]);
            prop_assert_ne!(matches(Some(&sel_in), &l).unwrap(), matches(Some(&sel_not), &l).unwrap());
        }

        #[test]
        fn exists_and_does_not_exist_are_complementary(key in "[a-z]{1,4}", present in any::<bool>()) {
            let l: BTreeMap<String, String> = if present { labels(&[(key.as_str(), "v")]) } else { BTreeMap::new() };
            let a = selector(&[], vec![expr(&key, "Exists", None)]);
            let b = selector(&[], vec![expr(&key, "DoesNotExist", None)]);
            prop_assert_ne!(matches(Some(&a), &l).unwrap(), matches(Some(&b), &l).unwrap());
        }

        #[test]
        fn match_labels_selects_their_own_labels(
            l in proptest::collection::btree_map("[a-z][a-z0-9]{0,5}", "[a-z0-9]{0,5}", 0..5),
        ) {
            let sel = LabelSelector { match_labels: Some(l.clone()), match_expressions: None };
            prop_assert_eq!(matches(Some(&sel), &l), Ok(true));
        }

        #[test]
        fn validation_never_panics(key in "\\PC{0,70}", value in "\\PC{0,70}", op in "\\PC{0,12}") {
            let sel = LabelSelector {
                match_labels: Some([(key.clone(), value.clone())].into_iter().collect()),
                match_expressions: Some(vec![LabelSelectorRequirement { key, operator: op, values: Some(vec![value]) }]),
            };
            let _ = Selector::from_label_selector(Some(&sel));
            let _ = validate_label_selector(&sel);
        }
    }
}
