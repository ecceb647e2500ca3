//! Reading manifests from files and directories: multi-document YAML and JSON.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why a manifest source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path does not exist or cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid YAML or JSON.
    #[error("{path}: {message}")]
    Syntax {
        /// The path as given.
        path: String,
        /// The parser's message.
        message: String,
    },
}

/// One document of a manifest file.
#[derive(Debug)]
pub struct Document {
    /// 1-based position among the non-empty documents of the file.
    pub index: usize,
    /// The parsed document.
    pub value: Value,
}

/// The manifest files under `path`: the file itself, or every `*.yaml`, `*.yml` and
/// `*.json` file below a directory, sorted so output is stable. `-` stands for stdin.
pub fn collect_files(path: &Path) -> Result<Vec<PathBuf>, ReadError> {
    if path.as_os_str() == "-" {
        return Ok(vec![path.to_path_buf()]);
    }
    let meta = fs::metadata(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    walk(path, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ReadError> {
    let entries = fs::read_dir(dir).map_err(|source| ReadError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ReadError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|source| ReadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if file_type.is_dir() {
            walk(&path, files)?;
        } else if is_manifest(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Reads and parses every document of one file.
pub fn read_documents(path: &Path) -> Result<Vec<Document>, ReadError> {
    let shown = path.display().to_string();
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|source| ReadError::Io {
                path: shown.clone(),
                source,
            })?;
        s
    } else {
        fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: shown.clone(),
            source,
        })?
    };
    let values = if path.extension().is_some_and(|e| e == "json") {
        parse_json(&text).map_err(|message| ReadError::Syntax {
            path: shown,
            message,
        })?
    } else {
        parse_yaml(&text).map_err(|message| ReadError::Syntax {
            path: shown,
            message,
        })?
    };
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, value)| Document {
            index: i + 1,
            value,
        })
        .collect())
}

/// Parses a YAML stream the way `kubectl` reads it: YAML 1.1 scalars (`0755` is octal,
/// `yes` is a boolean), duplicate keys rejected, empty documents skipped.
pub fn parse_yaml(text: &str) -> Result<Vec<Value>, String> {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Parses a JSON file: one value, or several concatenated values.
fn parse_json(text: &str) -> Result<Vec<Value>, String> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn yaml_reads_octal_like_go_and_skips_empty_documents() {
        let docs = parse_yaml("---\na: 0755\nb: yes\n---\n---\nc: \"0755\"\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["a"], serde_json::json!(493));
        assert_eq!(docs[0]["b"], serde_json::json!(true));
        assert_eq!(docs[1]["c"], serde_json::json!("0755"));
    }

    #[test]
    fn yaml_rejects_duplicate_keys_and_bad_syntax() {
        assert!(parse_yaml("a: 1\na: 2\n").is_err());
        assert!(parse_yaml("a: [1, 2\n").is_err());
    }

    #[test]
    fn json_accepts_concatenated_values() {
        let docs = parse_json("{\"a\":1}\n{\"b\":2}").unwrap();
        assert_eq!(docs.len(), 2);
    }
}
