//! `bgctl validate`: offline validation of manifests with the admission rules.

use std::io::Write;
use std::path::PathBuf;

use breakglass_core::validation::{ObjectError, ValidationReport, validate_object};
use serde_json::Value;

use crate::manifest::{self, ReadError};

/// Validate breakglass manifests offline, with the rules the admission webhooks apply.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Validate breakglass manifests offline, with the rules the admission webhooks apply.\n\n\
Each PATH is a file or a directory; directories are searched recursively for *.yaml, *.yml \
and *.json files, in sorted order. \"-\" reads standard input. A file may hold several YAML \
documents; empty documents are skipped, and a v1 List is checked item by item.\n\n\
Every error is printed to standard output as one line:\n\n  \
FILE:DOC KIND/NAME: FIELD.PATH: MESSAGE\n\n\
where DOC numbers the non-empty documents of the file from 1. Warnings (deprecated fields, \
compatibility aliases that were applied, ignored settings) go to standard error, prefixed \
\"warning:\". Documents of other API groups (a Namespace, a Secret, ...) are skipped with a \
note on standard error.\n\n\
Exit status: 0 when every breakglass document is valid, 1 when any is invalid, 2 when an \
input cannot be read (missing file, YAML or JSON syntax error)."
)]
pub struct Args {
    /// File or directory to validate (repeatable; "-" reads standard input).
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// What the run found, worst first.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Breakglass documents checked.
    pub checked: usize,
    /// Documents with at least one error.
    pub invalid: usize,
    /// Documents of other API groups.
    pub skipped: usize,
    /// Inputs that could not be read.
    pub unreadable: usize,
}

impl Summary {
    /// The process exit status: 2 unreadable input, 1 invalid document, 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.unreadable > 0 {
            2
        } else if self.invalid > 0 {
            1
        } else {
            0
        }
    }
}

/// Runs the command, writing findings to `out` and warnings and notes to `err`.
pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    for path in &args.paths {
        let files = match manifest::collect_files(path) {
            Ok(files) => files,
            Err(e) => {
                report_unreadable(err, &e, &mut summary)?;
                continue;
            }
        };
        for file in files {
            let shown = file.display().to_string();
            match manifest::read_documents(&file) {
                Ok(docs) => {
                    summary.files += 1;
                    for doc in docs {
                        check_document(&shown, doc.index, &doc.value, out, err, &mut summary)?;
                    }
                }
                Err(e) => report_unreadable(err, &e, &mut summary)?,
            }
        }
    }
    writeln!(
        err,
        "checked {} document(s) in {} file(s): {} invalid, {} skipped{}",
        summary.checked,
        summary.files,
        summary.invalid,
        summary.skipped,
        if summary.unreadable > 0 {
            format!(", {} unreadable input(s)", summary.unreadable)
        } else {
            String::new()
        }
    )?;
    Ok(summary)
}

fn report_unreadable(
    err: &mut impl Write,
    e: &ReadError,
    summary: &mut Summary,
) -> std::io::Result<()> {
    summary.unreadable += 1;
    writeln!(err, "error: {e}")
}

fn check_document(
    file: &str,
    index: usize,
    value: &Value,
    out: &mut impl Write,
    err: &mut impl Write,
    summary: &mut Summary,
) -> std::io::Result<()> {
    let is_list = value.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && value.get("kind").and_then(Value::as_str) == Some("List");
    if is_list && let Some(items) = value.get("items").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            check_one(
                file,
                index,
                &format!("items[{i}]."),
                item,
                out,
                err,
                summary,
            )?;
        }
        return Ok(());
    }
    check_one(file, index, "", value, out, err, summary)
}

fn check_one(
    file: &str,
    index: usize,
    prefix: &str,
    value: &Value,
    out: &mut impl Write,
    err: &mut impl Write,
    summary: &mut Summary,
) -> std::io::Result<()> {
    let location = format!("{file}:{index}");
    match validate_object(value) {
        Ok(report) => {
            summary.checked += 1;
            let subject = subject(&report);
            for w in &report.warnings {
                writeln!(err, "warning: {location} {subject}: {prefix}{w}")?;
            }
            if !report.is_valid() {
                summary.invalid += 1;
            }
            for e in &report.errors {
                writeln!(out, "{location} {subject}: {prefix}{e}")?;
            }
        }
        Err(ObjectError::Foreign { api_version, kind }) => {
            summary.skipped += 1;
            let name = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            writeln!(
                err,
                "note: {location} {kind}/{name}: skipped, {api_version} is not a breakglass API group"
            )?;
        }
        Err(e @ ObjectError::NotAnObject) => {
            summary.checked += 1;
            summary.invalid += 1;
            writeln!(out, "{location}: {prefix}{e}")?;
        }
    }
    Ok(())
}

fn subject(report: &ValidationReport) -> String {
    let kind = if report.kind.is_empty() {
        "<no kind>"
    } else {
        &report.kind
    };
    let name = if report.name.is_empty() {
        "<no name>"
    } else {
        &report.name
    };
    format!("{kind}/{name}")
}
