//! Validation of untyped documents: pick the kind, apply aliases, decode strictly, run
//! the kind's rules.

use serde_json::Value;

use super::aliases::normalize_aliases;
use super::api_version::{API_GROUP, API_VERSION, LEGACY_API_GROUP, split_api_version};
use super::error::{FieldError, ObjectError, ValidationReport, Warning};
use super::path::Path;
use super::rules::{self, Errors};

/// Every kind of the API group, with whether it is namespaced.
pub const KINDS: &[(&str, bool)] = &[
    ("BreakglassEscalation", true),
    ("BreakglassSession", true),
    ("DenyPolicy", false),
    ("ClusterConfig", true),
    ("IdentityProvider", false),
    ("MailProvider", false),
    ("AuditConfig", false),
    ("DebugPodTemplate", false),
    ("DebugSessionTemplate", false),
    ("DebugSessionClusterBinding", true),
    ("DebugSession", true),
];

fn str_at<'a>(value: &'a Value, keys: &[&str]) -> &'a str {
    let mut cur = value;
    for k in keys {
        match cur.get(k) {
            Some(v) => cur = v,
            None => return "",
        }
    }
    cur.as_str().unwrap_or_default()
}

/// Validates one document the way the apiserver and our admission webhook would on
/// create: type meta, aliases (reported as warnings), strict decoding (unknown fields
/// and type errors with their paths), metadata, and the kind's rules.
///
/// Returns [`ObjectError::Foreign`] for documents of other API groups, which callers
/// skip, and [`ObjectError::NotAnObject`] for documents that are not mappings.
pub fn validate_object(document: &Value) -> Result<ValidationReport, ObjectError> {
    if !document.is_object() {
        return Err(ObjectError::NotAnObject);
    }
    let api_version = str_at(document, &["apiVersion"]);
    let kind = str_at(document, &["kind"]);
    let name = match str_at(document, &["metadata", "name"]) {
        "" => str_at(document, &["metadata", "generateName"]),
        n => n,
    };
    let mut report = ValidationReport {
        kind: kind.to_string(),
        name: name.to_string(),
        namespace: str_at(document, &["metadata", "namespace"]).to_string(),
        ..ValidationReport::default()
    };
    let (group, version) = split_api_version(api_version);
    if api_version.is_empty() {
        report.errors.push(FieldError::required("apiVersion", ""));
    } else if group == LEGACY_API_GROUP {
        report.errors.push(FieldError::invalid(
            "apiVersion",
            api_version,
            &format!("the API group {LEGACY_API_GROUP} was renamed; use {API_VERSION}"),
        ));
    } else if group != API_GROUP {
        return Err(ObjectError::Foreign {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        });
    } else if version != breakglass_api::VERSION {
        report.errors.push(FieldError::not_supported(
            "apiVersion",
            api_version,
            &[API_VERSION],
        ));
    }
    let namespaced = KINDS.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n);
    if kind.is_empty() {
        report.errors.push(FieldError::required("kind", ""));
    } else if namespaced.is_none() {
        let names: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        report
            .errors
            .push(FieldError::not_supported("kind", kind, &names));
    }
    if !report.errors.is_empty() {
        return Ok(report);
    }

    let mut value = document.clone();
    report.aliases = normalize_aliases(&mut value);
    report
        .warnings
        .extend(report.aliases.iter().map(|a| a.to_warning()));
    validate_metadata(&value, namespaced == Some(true), &mut report);
    super::kinds::dispatch(kind, &value, &mut report);
    Ok(report)
}

/// Checks `metadata`: a DNS-subdomain name (or generateName), a DNS-label namespace, and
/// well-formed label keys and values. Unknown metadata fields are found by decoding.
fn validate_metadata(value: &Value, namespaced: bool, report: &mut ValidationReport) {
    let meta = Path::new("metadata");
    let mut errs = Errors::new();
    let name = str_at(value, &["metadata", "name"]);
    let generate_name = str_at(value, &["metadata", "generateName"]);
    if name.is_empty() && generate_name.is_empty() {
        errs.push(FieldError::required(
            meta.child("name"),
            "name or generateName is required",
        ));
    } else if !name.is_empty() {
        rules::dns1123_subdomain(&mut errs, &meta.child("name"), name);
    }
    let namespace = str_at(value, &["metadata", "namespace"]);
    if !namespace.is_empty() {
        if namespaced {
            rules::dns1123_label(&mut errs, &meta.child("namespace"), namespace);
        } else {
            report.warnings.push(Warning::new(
                meta.child("namespace"),
                format!(
                    "{} is cluster-scoped; the namespace is ignored",
                    report.kind
                ),
            ));
        }
    }
    if let Some(labels) = value.pointer("/metadata/labels").and_then(Value::as_object) {
        let p = meta.child("labels");
        for (k, v) in labels {
            rules::label_key(&mut errs, &p, k);
            if let Some(v) = v.as_str() {
                rules::label_value(&mut errs, &p.key(k), v);
            }
        }
    }
    if let Some(annotations) = value
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        let p = meta.child("annotations");
        for k in annotations.keys() {
            rules::label_key(&mut errs, &p, k);
        }
    }
    report.errors.extend(errs);
}
