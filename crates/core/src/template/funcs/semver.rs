//! `semver` and `semverCompare`, with the version and constraint rules of Sprig's
//! semver library (v3): `v` prefix and missing minor/patch allowed in versions;
//! constraints joined by `,` or spaces (and) and `||` (or); operators `= != > < >= <=
//! ~ ~> ^`; `x`, `X`, `*` and missing parts as wildcards; hyphen ranges `1.2 - 1.4.5`;
//! a prerelease version only satisfies a constraint that names a prerelease.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::FuncEnv;
use super::FuncError;
use super::args;
use crate::template::value::Value;

/// Longest version or constraint accepted.
const MAX_LEN: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
}

/// A version in a constraint, with which parts were wildcards.
#[derive(Debug, Clone)]
struct Bound {
    v: Version,
    any: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn ident_ok(s: &str, numeric_leading_zero: bool) -> bool {
    !s.is_empty()
        && s.split('.').all(|id| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !(numeric_leading_zero
                    && id.len() > 1
                    && id.starts_with('0')
                    && id.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Parses `[v]MAJOR[.MINOR[.PATCH]][-PRE][+META]`; parts may be wildcards when
/// `wildcards`; returns the version and how many leading parts were concrete.
fn parse(s: &str, wildcards: bool) -> Option<(Version, usize)> {
    if s.len() > MAX_LEN {
        return None;
    }
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let (rest, meta) = s.split_once('+').unwrap_or((s, ""));
    let (core, pre) = rest.split_once('-').unwrap_or((rest, ""));
    if (rest.contains('-') && !ident_ok(pre, true)) || (s.contains('+') && !ident_ok(meta, false)) {
        return None;
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut nums = [0u64; 3];
    let mut concrete = 0;
    for (i, p) in parts.iter().enumerate() {
        if wildcards && matches!(*p, "x" | "X" | "*") {
            break;
        }
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        nums[i] = p.parse().ok()?;
        concrete = i + 1;
    }
    if concrete < parts.len() && !wildcards {
        return None;
    }
    let v = Version {
        major: nums[0],
        minor: nums[1],
        patch: nums[2],
        pre: pre.to_owned(),
        meta: meta.to_owned(),
    };
    Some((v, if wildcards { concrete } else { 3 }))
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let ord = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

fn compare(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| compare_pre(&a.pre, &b.pre))
}

/// Whether `v` satisfies `op bound`.
fn check(op: &str, b: &Bound, v: &Version) -> bool {
    if !v.pre.is_empty() && b.v.pre.is_empty() {
        return false;
    }
    if b.any {
        return !matches!(op, "!=" | "<");
    }
    let c = &b.v;
    let dirty = b.minor_dirty || b.patch_dirty;
    let ord = compare(v, c);
    match op {
        "" | "=" if dirty => tilde(b, v),
        "" | "=" => ord == Ordering::Equal,
        "!=" if dirty => !tilde(b, v),
        "!=" => ord != Ordering::Equal,
        ">" if !dirty => ord == Ordering::Greater,
        ">" => match v.major.cmp(&c.major) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => !b.minor_dirty && v.minor > c.minor,
        },
        "<" => ord == Ordering::Less,
        ">=" | "=>" => ord != Ordering::Less,
        "<=" | "=<" if !dirty => ord != Ordering::Greater,
        "<=" | "=<" => match v.major.cmp(&c.major) {
            Ordering::Greater => false,
            Ordering::Less => true,
            Ordering::Equal => b.minor_dirty || v.minor <= c.minor,
        },
        "~" | "~>" => tilde(b, v),
        "^" => caret(b, v),
        _ => false,
    }
}

fn tilde(b: &Bound, v: &Version) -> bool {
    let c = &b.v;
    if compare(v, c) == Ordering::Less {
        return false;
    }
    if c.major == 0 && c.minor == 0 && c.patch == 0 && !b.minor_dirty && !b.patch_dirty {
        return true;
    }
    v.major == c.major && (b.minor_dirty || v.minor == c.minor)
}

fn caret(b: &Bound, v: &Version) -> bool {
    let c = &b.v;
    if compare(v, c) == Ordering::Less {
        return false;
    }
    if c.major > 0 || b.minor_dirty {
        return v.major == c.major;
    }
    if v.major > 0 {
        return false;
    }
    if c.minor > 0 || b.patch_dirty {
        return v.minor == c.minor;
    }
    v.minor == 0 && v.patch == c.patch
}

const OPS: [&str; 11] = ["!=", ">=", "=>", "<=", "=<", "~>", "=", ">", "<", "~", "^"];

fn comparator(text: &str) -> Result<(String, Bound), FuncError> {
    let op = OPS
        .iter()
        .find(|o| text.starts_with(**o))
        .copied()
        .unwrap_or("");
    let ver = text[op.len()..].trim();
    let (v, concrete) =
        parse(ver, true).ok_or_else(|| FuncError::new(format!("improper constraint: {text}")))?;
    Ok((
        op.to_owned(),
        Bound {
            v,
            any: concrete == 0,
            minor_dirty: concrete < 2,
            patch_dirty: concrete < 3,
        },
    ))
}

/// The comparators of one `||` alternative (all must hold).
fn conjunction(group: &str) -> Result<Vec<(String, Bound)>, FuncError> {
    let tokens: Vec<&str> = group
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        if tokens.get(i + 1) == Some(&"-") {
            let upper = tokens
                .get(i + 2)
                .ok_or_else(|| FuncError::new(format!("improper constraint: {group}")))?;
            out.push(comparator(&format!(">={tok}"))?);
            out.push(comparator(&format!("<={upper}"))?);
            i += 3;
        } else if OPS.contains(&tok) {
            let ver = tokens
                .get(i + 1)
                .ok_or_else(|| FuncError::new(format!("improper constraint: {group}")))?;
            out.push(comparator(&format!("{tok}{ver}"))?);
            i += 2;
        } else {
            out.push(comparator(tok)?);
            i += 1;
        }
    }
    if out.is_empty() {
        return Err(FuncError::new(format!("improper constraint: {group}")));
    }
    Ok(out)
}

fn version_arg(a: &[Value], i: usize) -> Result<Version, FuncError> {
    let s = args::string(a, i)?.trim();
    parse(s, false)
        .map(|(v, _)| v)
        .ok_or_else(|| FuncError::new(format!("invalid semantic version {s:?}")))
}

/// `semver S`: the version as a dict `{Major, Minor, Patch, Prerelease, Metadata,
/// Original}` (so `(semver "1.2.3").Major` works as in Go).
pub fn semver(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let v = version_arg(a, 0)?;
    let original = args::text(a, 0)?.clone();
    let mut m = BTreeMap::new();
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    m.insert("Major".to_owned(), int(v.major));
    m.insert("Minor".to_owned(), int(v.minor));
    m.insert("Patch".to_owned(), int(v.patch));
    m.insert("Prerelease".to_owned(), args::piece(v.pre, a));
    m.insert("Metadata".to_owned(), args::piece(v.meta, a));
    m.insert("Original".to_owned(), Value::Str(original));
    Ok(Value::Map(m))
}

/// `semverCompare CONSTRAINT VERSION`: whether the version satisfies the constraint;
/// an invalid constraint or version is an error.
pub fn semver_compare(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let constraint = args::string(a, 0)?;
    if constraint.len() > MAX_LEN {
        return Err(FuncError::new(format!(
            "constraint is longer than {MAX_LEN} bytes"
        )));
    }
    let v = version_arg(a, 1)?;
    let groups = constraint
        .split("||")
        .map(conjunction)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Bool(
        groups
            .iter()
            .any(|g| g.iter().all(|(op, b)| check(op, b, &v))),
    ))
}
