//! `toJson`, `toPrettyJson`, `toRawJson`, `toYaml`, `fromJson`, `fromYaml`.
//!
//! The writers produce Go's layout (`encoding/json`; Helm's `toYaml`: block style, keys
//! sorted, sequences not indented under their key, no trailing newline). Syntax and
//! author strings are clean text; an untrusted string leaf is written between clean
//! quotes as untrusted runs with its special characters as clean escapes (see
//! [`super::syntax`]), so the leaf is exactly the user's string when the output shapes
//! the manifest, and correctly escaped when the output is embedded in a string. Map
//! keys are always escaped (they carry no taint of their own, so they are treated as
//! text to quote, never as syntax).

use super::FuncEnv;
use super::FuncError;
use super::args::{self, MAX_STRING, check_len};
use super::syntax::{go_quote_escape, needs_yaml_quotes, push_escaped, yaml_dq_escape};
use crate::template::value::{Text, Value, format_float};

/// Deepest nesting written or read.
const MAX_DEPTH: usize = 64;

/// `toJson V`: compact JSON, `<`, `>`, `&` escaped as Go does.
pub fn to_json(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    json(args, Style::Compact { html: true })
}

/// `toRawJson V`: compact JSON without HTML escaping.
pub fn to_raw_json(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    json(args, Style::Compact { html: false })
}

/// `toPrettyJson V`: JSON indented by two spaces.
pub fn to_pretty_json(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    json(args, Style::Pretty)
}

#[derive(Clone, Copy)]
enum Style {
    Compact { html: bool },
    Pretty,
}

fn json(args: &[Value], style: Style) -> Result<Value, FuncError> {
    let mut out = Text::default();
    write_json(args::arg(args, 0)?, style, 0, &mut out)?;
    Ok(Value::Str(out))
}

fn json_escape_html(s: &str, out: &mut String) {
    json_escape(s, out, true);
}

fn json_escape_raw(s: &str, out: &mut String) {
    json_escape(s, out, false);
}

/// The body of a JSON string as Go's `encoding/json` writes it.
fn json_escape(s: &str, out: &mut String, html: bool) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

/// A float as Go's `encoding/json` writes it: plain decimals from 1e-6 to 1e21, else an
/// exponent without leading zeros (`1e-7`, `1e+21`).
fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format_float(f);
        return s.replacen("e-0", "e-", 1);
    }
    format!("{f}")
}

fn newline(out: &mut Text, depth: usize) {
    out.push_clean("\n");
    out.push_clean(&"  ".repeat(depth));
}

fn write_json(v: &Value, style: Style, depth: usize, out: &mut Text) -> Result<(), FuncError> {
    if depth > MAX_DEPTH {
        return Err(FuncError::new("value is nested too deeply"));
    }
    check_len(out.len())?;
    let escape = match style {
        Style::Compact { html: false } => json_escape_raw,
        _ => json_escape_html,
    };
    let pretty = matches!(style, Style::Pretty);
    match v {
        Value::Nil => out.push_clean("null"),
        Value::Bool(b) => out.push_clean(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_clean(&n.to_string()),
        Value::Float(f) if f.is_finite() => out.push_clean(&json_float(*f)),
        Value::Float(f) => {
            return Err(FuncError::new(format!(
                "json: unsupported value: {}",
                format_float(*f)
            )));
        }
        Value::Str(t) => {
            out.push_clean("\"");
            push_escaped(out, t, escape);
            out.push_clean("\"");
        }
        Value::List(l) if l.is_empty() => out.push_clean("[]"),
        Value::List(l) => {
            out.push_clean("[");
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_clean(",");
                }
                if pretty {
                    newline(out, depth + 1);
                }
                write_json(x, style, depth + 1, out)?;
            }
            if pretty {
                newline(out, depth);
            }
            out.push_clean("]");
        }
        Value::Map(m) if m.is_empty() => out.push_clean("{}"),
        Value::Map(m) => {
            out.push_clean("{");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_clean(",");
                }
                if pretty {
                    newline(out, depth + 1);
                }
                let mut key = String::from("\"");
                escape(k, &mut key);
                key.push_str(if pretty { "\": " } else { "\":" });
                out.push_clean(&key);
                write_json(x, style, depth + 1, out)?;
            }
            if pretty {
                newline(out, depth);
            }
            out.push_clean("}");
        }
    }
    Ok(())
}

/// `toYaml V`: block-style YAML without the trailing newline.
pub fn to_yaml(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut out = Text::default();
    match args::arg(args, 0)? {
        Value::Map(m) if !m.is_empty() => yaml_map(m, 0, true, &mut out)?,
        Value::List(l) if !l.is_empty() => yaml_list(l, 0, true, &mut out)?,
        other => yaml_scalar(other, &mut out)?,
    }
    check_len(out.len())?;
    Ok(Value::Str(out))
}

fn yaml_scalar(v: &Value, out: &mut Text) -> Result<(), FuncError> {
    match v {
        Value::Nil => out.push_clean("null"),
        Value::Bool(b) => out.push_clean(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_clean(&n.to_string()),
        Value::Float(f) if f.is_nan() => out.push_clean(".nan"),
        Value::Float(f) if f.is_infinite() => {
            out.push_clean(if *f > 0.0 { ".inf" } else { "-.inf" })
        }
        Value::Float(f) => out.push_clean(&format_float(*f)),
        Value::Str(t) if !t.is_tainted() && !needs_yaml_quotes(t.as_str()) => out.push_text(t),
        Value::Str(t) => {
            out.push_clean("\"");
            push_escaped(out, t, yaml_dq_escape);
            out.push_clean("\"");
        }
        Value::List(_) => out.push_clean("[]"),
        Value::Map(_) => out.push_clean("{}"),
    }
    check_len(out.len())
}

fn yaml_key(k: &str, out: &mut Text) {
    if needs_yaml_quotes(k) {
        let mut s = String::from("\"");
        go_quote_escape(k, &mut s);
        s.push('"');
        out.push_clean(&s);
    } else {
        out.push_clean(k);
    }
}

fn line(out: &mut Text, indent: usize, inline: bool) {
    if !inline {
        out.push_clean("\n");
        out.push_clean(&" ".repeat(indent));
    }
}

fn yaml_map(
    m: &std::collections::BTreeMap<String, Value>,
    indent: usize,
    inline: bool,
    out: &mut Text,
) -> Result<(), FuncError> {
    if indent / 2 > MAX_DEPTH {
        return Err(FuncError::new("value is nested too deeply"));
    }
    for (i, (k, v)) in m.iter().enumerate() {
        line(out, indent, inline && i == 0);
        yaml_key(k, out);
        out.push_clean(":");
        match v {
            Value::Map(inner) if !inner.is_empty() => yaml_map(inner, indent + 2, false, out)?,
            Value::List(items) if !items.is_empty() => yaml_list(items, indent, false, out)?,
            scalar => {
                out.push_clean(" ");
                yaml_scalar(scalar, out)?;
            }
        }
    }
    Ok(())
}

fn yaml_list(
    items: &[Value],
    indent: usize,
    inline: bool,
    out: &mut Text,
) -> Result<(), FuncError> {
    if indent / 2 > MAX_DEPTH {
        return Err(FuncError::new("value is nested too deeply"));
    }
    for (i, v) in items.iter().enumerate() {
        line(out, indent, inline && i == 0);
        out.push_clean("- ");
        match v {
            Value::Map(inner) if !inner.is_empty() => yaml_map(inner, indent + 2, true, out)?,
            Value::List(inner) if !inner.is_empty() => yaml_list(inner, indent + 2, true, out)?,
            scalar => yaml_scalar(scalar, out)?,
        }
    }
    Ok(())
}

/// `fromJson S`: the JSON value in `S` (strings tainted when `S` is); invalid JSON is an
/// error (Sprig's `mustFromJson`).
pub fn from_json(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let t = args::text(args, 0)?;
    bounded_input(t)?;
    let parsed: serde_json::Value = serde_json::from_str(t.as_str())
        .map_err(|e| FuncError::new(format!("invalid JSON: {e}")))?;
    Ok(Value::from_json(&parsed, t.is_tainted()))
}

/// `fromYaml S`: the YAML value in `S` (one document; strings tainted when `S` is);
/// invalid YAML is an error.
pub fn from_yaml(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let t = args::text(args, 0)?;
    bounded_input(t)?;
    if t.as_str().trim().is_empty() {
        return Ok(Value::Map(std::collections::BTreeMap::new()));
    }
    let parsed: serde_json::Value = serde_saphyr::from_str_with_options(t.as_str(), yaml_options())
        .map_err(|e| FuncError::new(format!("invalid YAML: {e}")))?;
    let value = Value::from_json(&parsed, t.is_tainted());
    args::check_size(&value)?;
    Ok(value)
}

/// The engine's reading of YAML (Kubernetes' YAML 1.1 scalars, duplicate keys an
/// error), with a budget against alias bombs and deep nesting.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 1;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_nodes = 100_000;
    budget.max_depth = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.legacy_octal_numbers = true;
    options.strict_booleans = false;
    options.with_snippet = false;
    options
}

fn bounded_input(t: &Text) -> Result<(), FuncError> {
    if t.len() > MAX_STRING {
        return Err(FuncError::new(format!(
            "input is {} bytes, more than the limit of {MAX_STRING}",
            t.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env() -> FuncEnv {
        FuncEnv {
            now: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn s(v: Result<Value, FuncError>) -> String {
        match v {
            Ok(Value::Str(t)) => t.into_string(),
            other => format!("{other:?}"),
        }
    }

    fn sample() -> Value {
        let mut inner = BTreeMap::new();
        inner.insert(
            "b".to_owned(),
            Value::List(vec![Value::Int(1), Value::str("x y")]),
        );
        inner.insert("a".to_owned(), Value::Bool(true));
        let mut m = BTreeMap::new();
        m.insert("z".to_owned(), Value::Float(1.5));
        m.insert("m".to_owned(), Value::Map(inner));
        m.insert("e".to_owned(), Value::List(vec![]));
        m.insert("n".to_owned(), Value::Nil);
        m.insert("h".to_owned(), Value::str("<&>"));
        Value::Map(m)
    }

    #[test]
    fn json_matches_go() {
        let e = env();
        assert_eq!(
            s(to_json(&[sample()], &e)),
            r#"{"e":[],"h":"\u003c\u0026\u003e","m":{"a":true,"b":[1,"x y"]},"n":null,"z":1.5}"#
        );
        assert_eq!(
            s(to_raw_json(&[sample()], &e)),
            r#"{"e":[],"h":"<&>","m":{"a":true,"b":[1,"x y"]},"n":null,"z":1.5}"#
        );
        assert_eq!(
            s(to_pretty_json(&[sample()], &e)),
            "{\n  \"e\": [],\n  \"h\": \"\\u003c\\u0026\\u003e\",\n  \"m\": {\n    \"a\": true,\n    \"b\": [\n      1,\n      \"x y\"\n    ]\n  },\n  \"n\": null,\n  \"z\": 1.5\n}"
        );
        assert_eq!(s(to_json(&[Value::str("a\"\n")], &e)), r#""a\"\n""#);
        assert!(to_json(&[Value::Float(f64::NAN)], &e).is_err());
        for (f, text) in [
            (3.0, "3"),
            (0.000_01, "0.00001"),
            (1e-7, "1e-7"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(s(to_json(&[Value::Float(f)], &e)), text);
        }
    }

    #[test]
    fn yaml_matches_helm_layout() {
        let e = env();
        assert_eq!(
            s(to_yaml(&[sample()], &e)),
            "e: []\nh: \"<&>\"\nm:\n  a: true\n  b:\n  - 1\n  - \"x y\"\n\"n\": null\nz: 1.5"
        );
        let list = Value::List(vec![
            Value::Map(BTreeMap::from([
                ("name".to_owned(), Value::str("a")),
                ("port".to_owned(), Value::Int(80)),
            ])),
            Value::List(vec![Value::str("x"), Value::str("true")]),
        ]);
        assert_eq!(
            s(to_yaml(&[list], &e)),
            "- name: a\n  port: 80\n- - x\n  - \"true\""
        );
        assert_eq!(s(to_yaml(&[Value::str("plain")], &e)), "plain");
        assert_eq!(s(to_yaml(&[Value::Map(BTreeMap::new())], &e)), "{}");
        let odd_key = Value::Map(BTreeMap::from([("a: b\n- c".to_owned(), Value::Int(1))]));
        assert_eq!(s(to_yaml(&[odd_key], &e)), "\"a: b\\n- c\": 1");
    }

    #[test]
    fn untrusted_leaves_keep_their_text_with_escapes_as_syntax() {
        let e = env();
        let v = Value::Map(BTreeMap::from([(
            "k".to_owned(),
            Value::tainted_str("a\"b: c\n- d<"),
        )]));
        for (out, text) in [
            (
                to_yaml(std::slice::from_ref(&v), &e),
                r#"k: "a\"b: c\n- d<""#,
            ),
            (
                to_json(std::slice::from_ref(&v), &e),
                r#"{"k":"a\"b: c\n- d\u003c"}"#,
            ),
            (to_raw_json(&[v], &e), r#"{"k":"a\"b: c\n- d<"}"#),
        ] {
            let Ok(Value::Str(t)) = out else {
                panic!("not a string");
            };
            assert_eq!(t.as_str(), text, "the text is Go's");
            let tainted: Vec<&str> = t
                .pieces()
                .into_iter()
                .filter(|(_, b)| *b)
                .map(|(p, _)| p)
                .collect();
            assert!(
                tainted == ["a", "b: c", "- d<"] || tainted == ["a", "b: c", "- d"],
                "{tainted:?}"
            );
        }
    }

    #[test]
    fn parsing_json_and_yaml() {
        let e = env();
        let v = from_json(&[Value::tainted_str(r#"{"a":[1,"x"]}"#)], &e);
        let Ok(Value::Map(m)) = &v else {
            panic!("not a map: {v:?}");
        };
        assert!(Value::Map(m.clone()).is_tainted());
        assert!(from_json(&[Value::str("{")], &e).is_err());
        let y = from_yaml(&[Value::str("a: 1\nb: [x, z]\nc: y\n")], &e);
        assert_eq!(
            y,
            Ok(Value::Map(BTreeMap::from([
                ("a".to_owned(), Value::Int(1)),
                (
                    "b".to_owned(),
                    Value::List(vec![Value::str("x"), Value::str("z")])
                ),
                ("c".to_owned(), Value::Bool(true)),
            ])))
        );
        assert!(from_yaml(&[Value::str("a: [")], &e).is_err());
        assert!(from_yaml(&[Value::Int(1)], &e).is_err());
    }
}
