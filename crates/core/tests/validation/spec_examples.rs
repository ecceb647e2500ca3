//! Every YAML example of the feature documents has its expected outcome recorded in
//! `crates/api/tests/fixtures/spec-examples/expected.yaml`; this test holds us to it.

use std::path::PathBuf;

use breakglass_core::validation::{LEGACY_API_GROUP, validate_object};
use serde_json::Value;

use crate::support::yaml_docs;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api/tests/fixtures/spec-examples")
}

/// The observed outcome of one document, in the manifest's shape.
fn observe(doc: &Value) -> Value {
    let r = validate_object(doc).expect("a breakglass document");
    let aliases: Vec<String> = r
        .aliases
        .iter()
        .map(|a| format!("{} at {}", a.name, a.path))
        .collect();
    let alias_warnings: Vec<String> = r
        .aliases
        .iter()
        .map(|a| a.to_warning().to_string())
        .collect();
    let errors: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    let warnings: Vec<String> = r
        .warnings
        .iter()
        .map(ToString::to_string)
        .filter(|w| !alias_warnings.contains(w))
        .collect();
    let outcome = if !errors.is_empty() {
        "rejected"
    } else if !aliases.is_empty() {
        "alias"
    } else {
        "valid"
    };
    let mut out = serde_json::Map::new();
    out.insert("outcome".into(), outcome.into());
    for (key, list) in [
        ("aliases", aliases),
        ("errors", errors),
        ("warnings", warnings),
    ] {
        if !list.is_empty() {
            out.insert(key.into(), list.into());
        }
    }
    Value::Object(out)
}

/// The expected outcome without the free-text fields.
fn expected(entry: &Value) -> Value {
    let mut e = entry.as_object().cloned().unwrap_or_default();
    e.remove("reason");
    e.remove("withCurrentGroup");
    Value::Object(e)
}

#[test]
fn spec_examples_match_the_manifest() {
    let manifest_text = std::fs::read_to_string(dir().join("expected.yaml")).unwrap();
    let manifest = yaml_docs(&manifest_text).remove(0);
    let manifest = manifest.as_object().unwrap();
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") && n != "expected.yaml")
        .collect();
    files.sort();
    let listed: Vec<&String> = manifest.keys().collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        listed,
        "every fixture is in the manifest and nothing else"
    );

    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        let docs = yaml_docs(&text);
        assert_eq!(docs.len(), 1, "{file}: one example per file");
        let entry = &manifest[file.as_str()];
        let got = observe(&docs[0]);
        if got != expected(entry) {
            failures.push(format!(
                "{file}:\n  expected {}\n  got      {}",
                expected(entry),
                got
            ));
        }
        let api_version = docs[0]["apiVersion"].as_str().unwrap_or_default();
        match (
            api_version.starts_with(LEGACY_API_GROUP),
            entry.get("withCurrentGroup"),
        ) {
            (true, Some(with_current)) => {
                let mut fixed = docs[0].clone();
                fixed["apiVersion"] = breakglass_core::validation::API_VERSION.into();
                let got = observe(&fixed);
                if got != expected(with_current) {
                    failures.push(format!(
                        "{file} (current group):\n  expected {}\n  got      {}",
                        expected(with_current),
                        got
                    ));
                }
            }
            (true, None) => failures.push(format!(
                "{file}: old API group but no withCurrentGroup outcome"
            )),
            (false, Some(_)) => failures.push(format!(
                "{file}: withCurrentGroup on a current-group example"
            )),
            (false, None) => {}
        }
        let outcome = entry["outcome"].as_str().unwrap();
        if outcome != "valid" && entry.get("reason").is_none() {
            failures.push(format!("{file}: a {outcome} example needs a reason"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
