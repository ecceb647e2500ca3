//! Go `text/template`, our own implementation, with a Sprig-compatible function set.
//!
//! Debug workloads and auxiliary resources are written as Go templates producing YAML
//! (the reference's format, so existing templates keep working). We implement the
//! language ourselves instead of wrapping a crate because of one property the available
//! engines cannot give: **a value from untrusted input can never change the structure
//! of the rendered YAML**. Strings carry their taint ([`value::Text`]); when output is
//! written, tainted ranges are replaced by opaque placeholder tokens, the YAML is parsed
//! with the tokens in place, and the tokens are then substituted inside the parsed
//! scalars. Whatever a user types ends up as (part of) one scalar, never as a key, a
//! list item or a new document.
//!
//! Consequences for functions that add YAML syntax (`quote`, `toYaml`, `indent`, …):
//! they escape, fold or indent the clean parts of their input only and append tainted
//! parts whole and unchanged ([`Text::push_text`]), because a tainted range is
//! substituted into the *parsed* scalar as it is — an escape, or an indentation added
//! after a newline inside a value, would become part of the value. (A multi-line value
//! in a block scalar needs no indentation: it is one placeholder on one line.)
//!
//! Layout:
//! - [`value`]: values and tainted text.
//! - `lex`, `parse`, `ast`: the template language, with positions for every error.
//! - `exec`: evaluation, with budgets (output size, range iterations, nesting).
//! - `output`: placeholders and YAML documents.
//! - [`funcs`]: the function library (Go's builtins live with `exec`).

mod ast;
mod builtins;
mod exec;
mod fmt;
pub mod funcs;
mod lex;
mod output;
mod parse;
pub mod value;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use thiserror::Error;

pub use value::{Text, Value};

/// Where in a template something went wrong (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a template could not be parsed, executed or turned into documents.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// The source is not a valid template.
    #[error("template {name}: {pos}: {message}")]
    Parse {
        /// Template name.
        name: String,
        /// Where.
        pos: Position,
        /// What is wrong.
        message: String,
    },
    /// Executing the template failed (a function error, `required`, a budget).
    #[error("template {name}: {pos}: {message}")]
    Exec {
        /// Template name.
        name: String,
        /// The action that failed.
        pos: Position,
        /// What went wrong.
        message: String,
    },
    /// The rendered output is not valid YAML.
    #[error("template {name}: rendered output is not valid YAML: {message}")]
    Yaml {
        /// Template name.
        name: String,
        /// The parser's message (line numbers refer to the rendered output).
        message: String,
    },
}

/// A parsed template, ready to execute many times (parse once, cache, share).
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: Arc<str>,
    tree: Arc<parse::Tree>,
}

/// Limits on one execution. Fixed limits apply besides these: 2 000 000 evaluation
/// steps, evaluation nested at most 150 levels, `printf` results of at most 1 MiB.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Largest output in bytes.
    pub max_output: usize,
    /// Most `range` iterations in total.
    pub max_range_iterations: usize,
    /// Deepest nesting of `template`/`block` calls.
    pub max_depth: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_output: 1 << 20,
            max_range_iterations: 10_000,
            max_depth: 32,
        }
    }
}

/// What executing a template produced: text with untrusted ranges kept apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    name: String,
    text: Text,
}

/// The largest template source accepted.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// Line and column (1-based, column in characters) of byte offset `at` in `src`.
fn position(src: &str, at: usize) -> Position {
    let before = src.get(..at).unwrap_or(src);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

impl Template {
    /// Parses `source`; unknown functions, unbalanced blocks and wrong argument counts of
    /// known functions are errors here, with their position.
    pub fn parse(name: &str, source: &str) -> Result<Self, TemplateError> {
        Self::parse_with(name, source, &builtins::lookup_all)
    }

    /// [`Template::parse`] with another function table (tests).
    pub(crate) fn parse_with(
        name: &str,
        source: &str,
        lookup: &dyn Fn(&str) -> Option<funcs::FuncSpec>,
    ) -> Result<Self, TemplateError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(TemplateError::Parse {
                name: name.to_owned(),
                pos: Position { line: 1, column: 1 },
                message: format!("template is larger than {MAX_SOURCE_BYTES} bytes"),
            });
        }
        let tree = parse::parse(source, lookup).map_err(|e| TemplateError::Parse {
            name: name.to_owned(),
            pos: position(source, e.at),
            message: e.message,
        })?;
        Ok(Self {
            name: name.to_owned(),
            source: Arc::from(source),
            tree: Arc::new(tree),
        })
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Executes the template with `data` as `.`; `now` is what `now` returns.
    pub fn execute(
        &self,
        data: &Value,
        now: jiff::Timestamp,
        budget: Budget,
    ) -> Result<Rendered, TemplateError> {
        let env = funcs::FuncEnv { now };
        let text =
            exec::execute(&self.tree, data, env, budget).map_err(|e| TemplateError::Exec {
                name: self.name.clone(),
                pos: position(&self.source, e.at),
                message: e.message,
            })?;
        Ok(Rendered {
            name: self.name.clone(),
            text,
        })
    }
}

impl Rendered {
    /// The output as plain text (untrusted ranges included verbatim): for display and
    /// logs, never for parsing.
    pub fn as_plain(&self) -> &str {
        self.text.as_str()
    }

    /// The output with its taint.
    pub fn text(&self) -> &Text {
        &self.text
    }

    /// Parses the output as a stream of YAML documents (empty documents skipped), with
    /// untrusted text substituted inside scalars only.
    pub fn documents(&self) -> Result<Vec<serde_json::Value>, TemplateError> {
        output::documents(&self.name, &self.text)
    }
}
