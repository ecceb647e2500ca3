//! Every manifest in `config/samples/` is valid, and together they cover every kind.

use std::collections::BTreeSet;
use std::path::PathBuf;

use breakglass_core::validation::{KINDS, validate_object};

use crate::support::yaml_docs;

#[test]
fn samples_are_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut kinds = BTreeSet::new();
    let mut failures = Vec::new();
    for file in &files {
        for (i, doc) in yaml_docs(&std::fs::read_to_string(file).unwrap())
            .iter()
            .enumerate()
        {
            let Ok(report) = validate_object(doc) else {
                continue;
            };
            kinds.insert(report.kind.clone());
            for e in &report.errors {
                failures.push(format!(
                    "{}:{} {}/{}: {e}",
                    file.display(),
                    i + 1,
                    report.kind,
                    report.name
                ));
            }
            for w in &report.warnings {
                failures.push(format!(
                    "{}:{} {}/{}: warning: {w}",
                    file.display(),
                    i + 1,
                    report.kind,
                    report.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "samples with findings:\n{}",
        failures.join("\n")
    );
    let missing: Vec<&str> = KINDS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !kinds.contains(*k))
        .collect();
    assert!(missing.is_empty(), "kinds without a sample: {missing:?}");
}
