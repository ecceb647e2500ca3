//! From rendered text to YAML documents without letting untrusted text shape them.
//!
//! Every tainted range is replaced by an opaque token (letters and digits, with a
//! prefix that occurs nowhere in the rendered text) before the YAML parser sees the
//! output, so a value can only ever sit inside one scalar. After parsing, the tokens
//! are replaced by the values inside string scalars and mapping keys. Values that are
//! structurally inert (a plain word such as `nginx`, `1.25`, `true`, `registry/app`) are
//! written verbatim instead, so numbers and booleans keep their YAML type.

use serde_json::Value as Json;

use super::TemplateError;
use super::value::Text;

/// Longest value written verbatim.
const MAX_INERT: usize = 1024;

/// Start of every placeholder prefix; the rest is chosen per render.
const STEM: &str = "bgtk";

/// Whether a value cannot change YAML structure wherever it is put: non-empty, a
/// letter or digit first, then only letters, digits and `._/+=-`.
pub(crate) fn is_inert(s: &str) -> bool {
    let mut bytes = s.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    s.len() <= MAX_INERT
        && first.is_ascii_alphanumeric()
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._/+=-".contains(&b))
}

/// A prefix for placeholders that does not occur in `plain`: the stem, one more `x`
/// than any run of `x` following the stem in `plain`, and a `q`. Any occurrence of the
/// prefix would start with the stem followed by that many `x`, which `plain` lacks.
fn choose_prefix(plain: &str) -> String {
    let mut longest = 0;
    let mut rest = plain;
    while let Some(i) = rest.find(STEM) {
        rest = &rest[i + STEM.len()..];
        let run = rest.bytes().take_while(|b| *b == b'x').count();
        longest = longest.max(run);
    }
    format!("{STEM}{}q", "x".repeat(longest + 1))
}

/// The placeholders of one render.
struct Placeholders {
    prefix: String,
    values: Vec<String>,
}

impl Placeholders {
    /// Replaces the tokens in `s` by their values.
    fn substitute(&self, s: &str) -> String {
        if !s.contains(&self.prefix) {
            return s.to_owned();
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find(&self.prefix) {
            out.push_str(&rest[..i]);
            let after = &rest[i + self.prefix.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let value = after[..digits]
                .parse::<usize>()
                .ok()
                .filter(|_| after[digits..].starts_with('z'))
                .and_then(|n| self.values.get(n));
            match value {
                Some(v) => {
                    out.push_str(v);
                    rest = &after[digits + 1..];
                }
                None => {
                    out.push_str(&self.prefix);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn walk(&self, v: Json, doc: usize, name: &str) -> Result<Json, TemplateError> {
        Ok(match v {
            Json::String(s) => Json::String(self.substitute(&s)),
            Json::Array(items) => Json::Array(
                items
                    .into_iter()
                    .map(|i| self.walk(i, doc, name))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let key = self.substitute(&k);
                    let v = self.walk(v, doc, name)?;
                    if out.insert(key, v).is_some() {
                        return Err(TemplateError::Yaml {
                            name: name.to_owned(),
                            message: format!(
                                "document {doc}: two mapping keys are equal once values are \
                                 substituted"
                            ),
                        });
                    }
                }
                Json::Object(out)
            }
            other => other,
        })
    }
}

/// The YAML text with placeholders, and the placeholders.
fn protect(text: &Text) -> (String, Placeholders) {
    let mut ph = Placeholders {
        prefix: choose_prefix(text.as_str()),
        values: Vec::new(),
    };
    let mut yaml = String::with_capacity(text.len());
    for (piece, tainted) in text.pieces() {
        if !tainted || is_inert(piece) {
            yaml.push_str(piece);
        } else {
            yaml.push_str(&format!("{}{}z", ph.prefix, ph.values.len()));
            ph.values.push(piece.to_owned());
        }
    }
    (yaml, ph)
}

fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 256;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_nodes = 100_000;
    budget.max_depth = 64;
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    // Kubernetes reads manifests as YAML 1.1 (`0755` is octal, `yes` a boolean); so do we.
    options.legacy_octal_numbers = true;
    options.strict_booleans = false;
    // The message never quotes the input (which holds placeholders, not values, anyway).
    options.with_snippet = false;
    options
}

/// Which document (1-based) holds `line` of `yaml`: separators `---` before it, plus one.
fn document_of(yaml: &str, line: u64) -> usize {
    let before = usize::try_from(line.saturating_sub(1)).unwrap_or(usize::MAX);
    1 + yaml
        .lines()
        .take(before)
        .filter(|l| l.starts_with("---"))
        .count()
}

/// Parses rendered text into documents, empty ones skipped.
pub(crate) fn documents(name: &str, text: &Text) -> Result<Vec<Json>, TemplateError> {
    let (yaml, ph) = protect(text);
    let docs: Vec<Json> =
        serde_saphyr::from_multiple_with_options(&yaml, options()).map_err(|e| {
            let doc = e.location().map_or(1, |l| document_of(&yaml, l.line()));
            TemplateError::Yaml {
                name: name.to_owned(),
                message: format!("document {doc}: {e}"),
            }
        })?;
    docs.into_iter()
        .enumerate()
        .filter(|(_, d)| !d.is_null())
        .map(|(i, d)| ph.walk(d, i + 1, name))
        .collect()
}
