//! Unit tables for the engine: every construct, every builtin, errors with positions,
//! output documents, and property tests for the no-injection guarantee.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod documents;
mod errors;
mod exec;
mod printf;
mod props;

use super::funcs::{FuncEnv, FuncError, FuncSpec};
use super::value::{Text, Value};
use super::{Budget, Position, Rendered, Template, TemplateError};

/// A few library-like functions for tests, written the way the library writes them
/// (syntax clean, input with its taint), until the real library is merged.
fn test_funcs(name: &str) -> Option<FuncSpec> {
    let spec = |name, func, min_args, max_args| FuncSpec {
        name,
        func,
        min_args,
        max_args,
    };
    Some(match name {
        "quote" => spec("quote", quote, 1, Some(1)),
        "nindent" => spec("nindent", nindent, 2, Some(2)),
        "toYaml" => spec("toYaml", to_yaml, 1, Some(1)),
        "required" => spec("required", required, 2, Some(2)),
        "trunc" => spec("trunc", trunc, 2, Some(2)),
        "upper" => spec("upper", upper, 1, Some(1)),
        _ => return None,
    })
}

fn lookup(name: &str) -> Option<FuncSpec> {
    super::builtins::lookup(name).or_else(|| test_funcs(name))
}

fn text_of(v: &Value) -> Text {
    v.to_text()
}

/// Escapes author text only: untrusted text is substituted into the parsed scalar
/// as it is, so it must not be escaped.
fn quote(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut t = Text::clean("\"");
    for (piece, tainted) in text_of(&args[0]).pieces() {
        if tainted {
            t.push_text(&Text::tainted(piece));
        } else {
            t.push_clean(&piece.replace('\\', "\\\\").replace('"', "\\\""));
        }
    }
    t.push_clean("\"");
    Ok(Value::Str(t))
}

/// Indents the newlines of author text only; untrusted pieces pass whole (their
/// newlines are content of the scalar they end up in).
fn nindent(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let Value::Int(n) = args[0] else {
        return Err(FuncError::new("nindent: width must be an int"));
    };
    let pad = " ".repeat(usize::try_from(n).unwrap_or(0));
    let mut t = Text::clean("\n");
    t.push_clean(&pad);
    for (piece, tainted) in text_of(&args[1]).pieces() {
        if tainted {
            t.push_text(&Text::tainted(piece));
        } else {
            t.push_clean(&piece.replace('\n', &format!("\n{pad}")));
        }
    }
    Ok(Value::Str(t))
}

fn to_yaml(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut t = Text::default();
    match &args[0] {
        Value::Map(m) => {
            for (k, v) in m {
                t.push_text(&Text::tainted(k.as_str()));
                t.push_clean(": ");
                t.push_text(&v.to_text());
                t.push_clean("\n");
            }
        }
        other => t.push_text(&other.to_text()),
    }
    Ok(Value::Str(t))
}

fn required(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    match &args[1] {
        Value::Nil => Err(FuncError::new(args[0].to_go_string())),
        Value::Str(t) if t.is_empty() => Err(FuncError::new(args[0].to_go_string())),
        v => Ok(v.clone()),
    }
}

fn trunc(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let Value::Int(n) = args[0] else {
        return Err(FuncError::new("trunc: length must be an int"));
    };
    let s: String = args[1]
        .to_go_string()
        .chars()
        .take(usize::try_from(n).unwrap_or(0))
        .collect();
    Ok(Value::Str(Text::derived(s, &[&args[1]])))
}

fn upper(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Str(Text::derived(
        args[0].to_go_string().to_uppercase(),
        &[&args[0]],
    )))
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).unwrap()
}

fn parse(src: &str) -> Result<Template, TemplateError> {
    Template::parse_with("t", src, &lookup)
}

fn run_value(src: &str, data: &Value) -> Result<Rendered, TemplateError> {
    parse(src)?.execute(data, now(), Budget::default())
}

/// Renders with clean JSON data.
fn render(src: &str, data: serde_json::Value) -> String {
    match run_value(src, &Value::from_json(&data, false)) {
        Ok(r) => r.as_plain().to_owned(),
        Err(e) => panic!("{src:?}: {e}"),
    }
}

/// The parse error's position and message.
fn parse_err(src: &str) -> (usize, usize, String) {
    match parse(src) {
        Err(TemplateError::Parse { pos, message, .. }) => (pos.line, pos.column, message),
        other => panic!("{src:?}: expected a parse error, got {other:?}"),
    }
}

/// The execution error's position and message.
fn exec_err(src: &str, data: serde_json::Value) -> (Position, String) {
    match run_value(src, &Value::from_json(&data, false)) {
        Err(TemplateError::Exec { pos, message, .. }) => (pos, message),
        other => panic!("{src:?}: expected an exec error, got {other:?}"),
    }
}
