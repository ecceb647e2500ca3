//! Regular expressions (RE2 syntax, which the `regex` crate shares with Go):
//! `regexMatch`, `regexFind`, `regexFindAll`, `regexReplaceAll`,
//! `regexReplaceAllLiteral`, `regexSplit`, `regexQuoteMeta`. Patterns are bounded in
//! length and compiled size; a pattern that does not compile is a function error
//! (Sprig's `must…` variants). Matching is linear in the input. Results are derived.

use regex::{Regex, RegexBuilder};

use super::FuncEnv;
use super::FuncError;
use super::args::{self, MAX_ITEMS, check_len, derived, piece};
use crate::template::value::Value;

/// Longest pattern accepted.
const MAX_PATTERN: usize = 4096;
/// Largest compiled program.
const MAX_COMPILED: usize = 1 << 20;

fn compile(a: &[Value], i: usize) -> Result<Regex, FuncError> {
    let pattern = args::string(a, i)?;
    if pattern.len() > MAX_PATTERN {
        return Err(FuncError::new(format!(
            "pattern is {} bytes, more than the limit of {MAX_PATTERN}",
            pattern.len()
        )));
    }
    RegexBuilder::new(pattern)
        .size_limit(MAX_COMPILED)
        .dfa_size_limit(MAX_COMPILED)
        .build()
        .map_err(|e| {
            // The parser's message draws a caret diagram over several lines; its last
            // line says what is wrong.
            let text = e.to_string();
            let what = text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or_else(|| text.lines().next().unwrap_or("cannot compile"))
                .trim_end_matches('.')
                .to_owned();
            FuncError::new(format!("invalid pattern {pattern:?}: {what}"))
        })
}

/// `regexMatch RE S`: whether `RE` matches anywhere in `S`.
pub fn regex_match(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let re = compile(a, 0)?;
    Ok(Value::Bool(re.is_match(args::string(a, 1)?)))
}

/// `regexFind RE S`: the first match, or "".
pub fn regex_find(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let re = compile(a, 0)?;
    let s = args::string(a, 1)?;
    derived(re.find(s).map_or("", |m| m.as_str()), a)
}

/// `regexFindAll RE S N`: the first `N` matches (all for a negative `N`).
pub fn regex_find_all(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let re = compile(a, 0)?;
    let s = args::string(a, 1)?;
    let n = args::int(a, 2)?;
    let limit = usize::try_from(n).map_or(MAX_ITEMS, |n| n.min(MAX_ITEMS));
    let found: Vec<Value> = re
        .find_iter(s)
        .take(limit.saturating_add(1))
        .map(|m| piece(m.as_str(), a))
        .collect();
    if found.len() > limit && n < 0 {
        return Err(FuncError::new(format!(
            "more than the limit of {MAX_ITEMS} matches"
        )));
    }
    Ok(Value::List(found.into_iter().take(limit).collect()))
}

/// `regexReplaceAll RE S REPL`: every match replaced by `REPL`, in which `$1`, `${1}`
/// and `${name}` stand for groups.
pub fn regex_replace_all(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let re = compile(a, 0)?;
    let s = args::string(a, 1)?;
    let repl = args::string(a, 2)?;
    bound_replacement(&re, s, repl)?;
    let out = re.replace_all(s, repl).into_owned();
    check_len(out.len())?;
    derived(out, a)
}

/// `regexReplaceAllLiteral RE S REPL`: every match replaced by `REPL` as it is.
pub fn regex_replace_all_literal(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let re = compile(a, 0)?;
    let s = args::string(a, 1)?;
    let repl = args::string(a, 2)?;
    bound_replacement(&re, s, repl)?;
    let out = re.replace_all(s, regex::NoExpand(repl)).into_owned();
    check_len(out.len())?;
    derived(out, a)
}

/// Refuses a replacement whose result could exceed the string limit, before building
/// it: every group a `$` names expands to at most its match, and the matches together
/// are at most the input.
fn bound_replacement(re: &Regex, s: &str, repl: &str) -> Result<(), FuncError> {
    let hits = re.find_iter(s).count();
    let dollars = repl.matches('$').count();
    check_len(
        s.len()
            .saturating_add(hits.saturating_mul(repl.len()))
            .saturating_add(dollars.saturating_mul(s.len())),
    )
}

/// `regexSplit RE S N`: `S` split around matches into at most `N` pieces (all for a
/// negative `N`, none for 0).
pub fn regex_split(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let re = compile(a, 0)?;
    let s = args::string(a, 1)?;
    let n = args::int(a, 2)?;
    if n == 0 {
        return Ok(Value::List(Vec::new()));
    }
    let parts: Vec<&str> = match usize::try_from(n) {
        Ok(n) => re.splitn(s, n.min(MAX_ITEMS + 1)).collect(),
        Err(_) => re.split(s).take(MAX_ITEMS + 1).collect(),
    };
    if parts.len() > MAX_ITEMS {
        return Err(FuncError::new(format!(
            "more than the limit of {MAX_ITEMS} pieces"
        )));
    }
    Ok(Value::List(
        parts.into_iter().map(|p| piece(p, a)).collect(),
    ))
}

/// `regexQuoteMeta S`: `S` with every RE2 metacharacter escaped (Go's `QuoteMeta`).
pub fn regex_quote_meta(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    derived(out, a)
}
