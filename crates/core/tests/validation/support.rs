//! Table-test support: a valid base object, a JSON merge patch per case, and the exact
//! errors expected.

use breakglass_core::validation::{ValidationReport, validate_object};
use serde_json::Value;

/// Parses YAML documents the way `bgctl` does (YAML 1.1 octal numbers).
pub fn yaml_docs(text: &str) -> Vec<Value> {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Parses one YAML document.
pub fn yaml(text: &str) -> Value {
    let mut docs = yaml_docs(text);
    assert_eq!(docs.len(), 1, "expected one document");
    docs.remove(0)
}

/// RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

pub fn report(doc: &Value) -> ValidationReport {
    validate_object(doc).expect("a breakglass object")
}

pub fn errors(doc: &Value) -> Vec<String> {
    report(doc).errors.iter().map(ToString::to_string).collect()
}

pub fn warnings(doc: &Value) -> Vec<String> {
    report(doc)
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// One row of a table: a patch on the base object and the exact errors it must produce
/// (none for a positive case).
pub struct Case {
    pub name: &'static str,
    pub patch: Value,
    pub errors: Vec<&'static str>,
}

pub fn ok(name: &'static str, patch: Value) -> Case {
    Case {
        name,
        patch,
        errors: Vec::new(),
    }
}

pub fn bad(name: &'static str, patch: Value, errors: &[&'static str]) -> Case {
    Case {
        name,
        patch,
        errors: errors.to_vec(),
    }
}

/// Checks that `base` is valid without warnings, then every case; reports all
/// mismatches at once.
pub fn check_table(base: &str, cases: Vec<Case>) {
    let base = yaml(base);
    let r = report(&base);
    assert!(
        r.errors.is_empty() && r.warnings.is_empty(),
        "base is not clean: {:?} {:?}",
        r.errors,
        r.warnings
    );
    let mut failures = Vec::new();
    let mut names = std::collections::HashSet::new();
    for case in cases {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
        let mut doc = base.clone();
        merge(&mut doc, &case.patch);
        let got = errors(&doc);
        if got != case.errors {
            failures.push(format!(
                "{}:\n    expected {:#?}\n    got      {:#?}",
                case.name, case.errors, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Checks the warnings of `base` patched with each case.
pub fn check_warnings(base: &str, cases: Vec<(&'static str, Value, Vec<&'static str>)>) {
    let base = yaml(base);
    let mut failures = Vec::new();
    for (name, patch, expected) in cases {
        let mut doc = base.clone();
        merge(&mut doc, &patch);
        let r = report(&doc);
        let got: Vec<String> = r.warnings.iter().map(ToString::to_string).collect();
        if got != expected || !r.errors.is_empty() {
            failures.push(format!(
                "{name}:\n    expected {expected:#?}\n    got      {got:#?}\n    errors {:?}",
                r.errors
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `n` distinct strings `prefix-0`, `prefix-1`, ...
pub fn many(prefix: &str, n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| Value::String(format!("{prefix}-{i}")))
            .collect(),
    )
}
