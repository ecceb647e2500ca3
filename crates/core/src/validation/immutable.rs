//! Update rules: immutable specs and timestamps that only move forward.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Serialize;
use serde_json::Value;

use super::error::FieldError;
use super::path::Path;
use super::rules::Errors;

/// Reports every top-level `spec` field whose value changed.
pub(crate) fn spec_unchanged<T: Serialize>(errs: &mut Errors, old: &T, new: &T) {
    let (Ok(Value::Object(old)), Ok(Value::Object(new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return;
    };
    let spec = Path::new("spec");
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if old.get(key) != new.get(key) {
            errs.push(FieldError::forbidden(spec.child(key), "field is immutable"));
        }
    }
}

/// A timestamp may be set, kept or moved forward, never cleared or moved backwards.
pub(crate) fn time_monotonic(
    errs: &mut Errors,
    path: &Path,
    old: Option<&Time>,
    new: Option<&Time>,
) {
    match (old, new) {
        (Some(_), None) => errs.push(FieldError::forbidden(path, "may not be cleared once set")),
        (Some(o), Some(n)) if n.0 < o.0 => errs.push(FieldError::invalid(
            path,
            &n.0.to_string(),
            &format!("may not move backwards (was {})", o.0),
        )),
        _ => {}
    }
}
