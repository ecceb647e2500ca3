//! String functions: trimming, case, searching, cutting, joining and splitting.
//!
//! Results are [`derived`]: tainted as a whole when any input is, except `cat` and
//! `join`, which keep each input's taint where it lands. Positions and widths
//! (`trunc`, `substr`, `abbrev`, `wrap`) count characters, not bytes as Go does: the
//! same for ASCII, and a character is never cut in half.

use std::collections::BTreeMap;

use super::FuncEnv;
use super::FuncError;
use super::args::{self, MAX_ITEMS, check_len, derived, piece, strslice, strval};
use crate::template::value::{Text, Value};

/// `trim S`: surrounding white space removed.
pub fn trim(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    derived(args::string(a, 0)?.trim(), a)
}

/// `trimAll CUTSET S`: every leading and trailing character in `CUTSET` removed.
pub fn trim_all(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let cutset: Vec<char> = args::string(a, 0)?.chars().collect();
    let s = args::string(a, 1)?;
    derived(s.trim_matches(cutset.as_slice()), a)
}

/// `trimPrefix PREFIX S`.
pub fn trim_prefix(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let p = args::string(a, 0)?;
    let s = args::string(a, 1)?;
    derived(s.strip_prefix(p).unwrap_or(s), a)
}

/// `trimSuffix SUFFIX S`.
pub fn trim_suffix(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let p = args::string(a, 0)?;
    let s = args::string(a, 1)?;
    derived(s.strip_suffix(p).unwrap_or(s), a)
}

/// `upper S`.
pub fn upper(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    derived(args::string(a, 0)?.to_uppercase(), a)
}

/// `lower S`.
pub fn lower(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    derived(args::string(a, 0)?.to_lowercase(), a)
}

/// `repeat N S`: `S` `N` times (bounded by the string limit).
pub fn repeat(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::count(a, 0, args::MAX_STRING)?;
    let s = args::string(a, 1)?;
    check_len(s.len().saturating_mul(n))?;
    derived(s.repeat(n), a)
}

/// Byte offset of character `i` of `s` (its length when `i` is past the end).
fn char_offset(s: &str, i: usize) -> usize {
    s.char_indices().nth(i).map_or(s.len(), |(o, _)| o)
}

/// `substr START END S`: characters `START..END`; a negative `START` means 0, a
/// negative or too large `END` the end; other out-of-range positions are errors.
pub fn substr(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let start = args::int(a, 0)?;
    let end = args::int(a, 1)?;
    let s = args::string(a, 2)?;
    let len = i64::try_from(s.chars().count()).unwrap_or(i64::MAX);
    let out_of_range = || {
        FuncError::new(format!(
            "slice bounds out of range [{start}:{end}] with length {len}"
        ))
    };
    let (from, to) = if start < 0 {
        if !(0..=len).contains(&end) {
            return Err(out_of_range());
        }
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if from > to || to > len {
        return Err(out_of_range());
    }
    let from = char_offset(s, usize::try_from(from).unwrap_or(0));
    let to = char_offset(s, usize::try_from(to).unwrap_or(0));
    derived(&s[from..to], a)
}

/// `nospace S`: every white-space character removed.
pub fn nospace(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s: String = args::string(a, 0)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    derived(s, a)
}

/// `trunc N S`: the first `N` characters, or for a negative `N` the last `-N`.
pub fn trunc(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::int(a, 0)?;
    let s = args::string(a, 1)?;
    let len = s.chars().count();
    let keep = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
    let out = if n < 0 && keep < len {
        &s[char_offset(s, len - keep)..]
    } else if n >= 0 && keep < len {
        &s[..char_offset(s, keep)]
    } else {
        s
    };
    derived(out, a)
}

/// `contains SUB S`.
pub fn contains(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(
        args::string(a, 1)?.contains(args::string(a, 0)?),
    ))
}

/// `hasPrefix PREFIX S`.
pub fn has_prefix(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(
        args::string(a, 1)?.starts_with(args::string(a, 0)?),
    ))
}

/// `hasSuffix SUFFIX S`.
pub fn has_suffix(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(
        args::string(a, 1)?.ends_with(args::string(a, 0)?),
    ))
}

/// `cat ARGS…`: the non-nil arguments printed and joined by spaces.
pub fn cat(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut out = Text::default();
    for (i, v) in a.iter().filter(|v| !matches!(v, Value::Nil)).enumerate() {
        if i > 0 {
            out.push_clean(" ");
        }
        out.push_text(&v.to_text());
        check_len(out.len())?;
    }
    Ok(Value::Str(out))
}

/// `replace OLD NEW S`: every `OLD` in `S` replaced by `NEW`.
pub fn replace(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let old = args::string(a, 0)?;
    let new = args::string(a, 1)?;
    let s = args::string(a, 2)?;
    let hits = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    check_len(s.len().saturating_add(hits.saturating_mul(new.len())))?;
    derived(s.replace(old, new), a)
}

/// `plural ONE MANY N`: `ONE` when `N` is 1, else `MANY`.
pub fn plural(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::int(a, 2)?;
    let pick = if n == 1 { 0 } else { 1 };
    Ok(Value::Str(args::text(a, pick)?.clone()))
}

/// `splitList SEP S`: the pieces of `S` between `SEP`s (characters for an empty `SEP`).
pub fn split_list(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let parts = pieces(a, 0, 1, None)?;
    Ok(Value::List(parts))
}

/// `split SEP S`: the pieces as a dict `{_0: …, _1: …}`.
pub fn split(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(indexed(pieces(a, 0, 1, None)?))
}

/// `splitn SEP N S`: at most `N` pieces as a dict `{_0: …}`, the last holding the rest.
pub fn splitn(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::int(a, 1)?;
    let limit = if n < 0 {
        None
    } else {
        Some(usize::try_from(n).unwrap_or(usize::MAX))
    };
    Ok(indexed(pieces(a, 0, 2, limit)?))
}

fn pieces(
    a: &[Value],
    sep_at: usize,
    s_at: usize,
    limit: Option<usize>,
) -> Result<Vec<Value>, FuncError> {
    let sep = args::string(a, sep_at)?;
    let s = args::string(a, s_at)?;
    let parts: Vec<&str> = match (sep.is_empty(), limit) {
        (_, Some(0)) => Vec::new(),
        (true, _) => {
            let chars: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
            let n = limit.unwrap_or(usize::MAX).min(chars.len());
            let mut out = Vec::with_capacity(n);
            for (k, &start) in chars.iter().enumerate().take(n) {
                let end = if k + 1 == n { s.len() } else { chars[k + 1] };
                out.push(&s[start..end]);
            }
            out
        }
        (false, Some(n)) => s.splitn(n, sep).collect(),
        (false, None) => s.split(sep).collect(),
    };
    if parts.len() > MAX_ITEMS {
        return Err(FuncError::new(format!(
            "result would have {} items, more than the limit of {MAX_ITEMS}",
            parts.len()
        )));
    }
    Ok(parts.into_iter().map(|p| piece(p, a)).collect())
}

fn indexed(parts: Vec<Value>) -> Value {
    Value::Map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("_{i}"), v))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// `join SEP LIST`: the list's non-nil items printed and joined by `SEP`.
pub fn join(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let sep = args::text(a, 0)?;
    let mut out = Text::default();
    for (i, item) in strslice(args::arg(a, 1)?).iter().enumerate() {
        if i > 0 {
            out.push_text(sep);
        }
        out.push_text(item);
        check_len(out.len())?;
    }
    Ok(Value::Str(out))
}

/// `sortAlpha LIST`: the items as strings, sorted.
pub fn sort_alpha(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut items = strslice(args::arg(a, 0)?);
    items.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    Ok(Value::List(items.into_iter().map(Value::Str).collect()))
}

/// `toString V`: the value as Go prints it.
pub fn to_string(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let t = strval(args::arg(a, 0)?);
    check_len(t.len())?;
    Ok(Value::Str(t))
}

/// `toStrings LIST`: every non-nil item as a string.
pub fn to_strings(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::List(
        strslice(args::arg(a, 0)?)
            .into_iter()
            .map(Value::Str)
            .collect(),
    ))
}
