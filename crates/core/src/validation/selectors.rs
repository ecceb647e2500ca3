//! Label selectors and namespace filters, with field paths.
//!
//! The rules are those of [`crate::selector`]; this module applies them per element so
//! every finding carries the path of the offending key, operator or value.

use breakglass_api::common::{LabelSelectorOperator, NamespaceFilter};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::selector::{self, Operator, SelectorError};

use super::error::FieldError;
use super::path::Path;
use super::rules::{self, Errors, ListRules};

const OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];

/// Places a selector finding of the requirement at `p` (`key`, `operator`, `values`).
fn requirement_error(p: &Path, values: &[String], err: SelectorError) -> FieldError {
    match err {
        SelectorError::InvalidKey { key, reason } => {
            FieldError::invalid(p.child("key"), &key, &reason)
        }
        SelectorError::InvalidValue { value, reason, .. } => {
            let vp = match values.iter().position(|v| *v == value) {
                Some(i) => p.child("values").index(i),
                None => p.child("values"),
            };
            FieldError::invalid(vp, &value, &reason)
        }
        SelectorError::MissingValues { .. } => FieldError::required(
            p.child("values"),
            "must be specified when `operator` is 'In' or 'NotIn'",
        ),
        SelectorError::UnexpectedValues { .. } => FieldError::forbidden(
            p.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
        SelectorError::UnknownOperator { operator, .. } => {
            FieldError::not_supported(p.child("operator"), &operator, OPERATORS)
        }
    }
}

fn requirement(errs: &mut Errors, p: &Path, key: &str, operator: &str, values: &[String]) {
    match Operator::parse(operator) {
        Some(op) => errs.extend(
            selector::validate_requirement(key, op, values)
                .into_iter()
                .map(|e| requirement_error(p, values, e)),
        ),
        None => {
            rules::label_key(errs, &p.child("key"), key);
            errs.push(FieldError::not_supported(
                p.child("operator"),
                operator,
                OPERATORS,
            ));
        }
    }
}

/// Checks a Kubernetes label selector (`matchLabels`, `matchExpressions`).
pub(crate) fn label_selector(errs: &mut Errors, p: &Path, sel: &LabelSelector) {
    if let Some(labels) = &sel.match_labels {
        rules::label_map(errs, &p.child("matchLabels"), labels);
    }
    for (i, req) in sel.match_expressions.iter().flatten().enumerate() {
        let values = req.values.as_deref().unwrap_or_default();
        requirement(
            errs,
            &p.child("matchExpressions").index(i),
            &req.key,
            &req.operator,
            values,
        );
    }
}

fn operator_name(op: LabelSelectorOperator) -> &'static str {
    match op {
        LabelSelectorOperator::In => "In",
        LabelSelectorOperator::NotIn => "NotIn",
        LabelSelectorOperator::Exists => "Exists",
        LabelSelectorOperator::DoesNotExist => "DoesNotExist",
    }
}

/// Checks a namespace filter: glob patterns (non-empty, unique, well-formed) and
/// selector terms (valid label keys and values, operator/value agreement).
pub(crate) fn namespace_filter(errs: &mut Errors, p: &Path, filter: &NamespaceFilter) {
    if let Some(patterns) = &filter.patterns {
        rules::string_list(
            errs,
            &p.child("patterns"),
            patterns,
            ListRules::unique(),
            |errs, p, v| {
                if crate::glob::validate_pattern(v).is_err() {
                    errs.push(FieldError::invalid(p, v, "syntax error in glob pattern"));
                }
            },
        );
    }
    for (i, term) in filter.selector_terms.iter().flatten().enumerate() {
        let tp = p.child("selectorTerms").index(i);
        if let Some(labels) = &term.match_labels {
            rules::label_map(errs, &tp.child("matchLabels"), labels);
        }
        for (j, req) in term.match_expressions.iter().flatten().enumerate() {
            let values = req.values.as_deref().unwrap_or_default();
            let rp = tp.child("matchExpressions").index(j);
            requirement(errs, &rp, &req.key, operator_name(req.operator), values);
            // The CRD schema limits these keys to 63 characters, prefix included.
            rules::max_len(errs, &rp.child("key"), &req.key, 63);
        }
    }
}
