//! Sprig's smaller helpers beyond the core set: type inspection (`typeOf`, `kindOf`,
//! `kindIs`, `typeIs`, `deepEqual`, `deepCopy`), `chunk`, `toDecimal` and slash-path
//! functions (`base`, `dir`, `ext`, `clean`, `isAbs`).

use super::FuncEnv;
use super::FuncError;
use super::args::{self, MAX_ITEMS, deep_eq, derived, strval};
use crate::template::value::Value;

/// The Go type a value has in the reference (data decoded from JSON).
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// The Go kind (`reflect.Kind`) of a value.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        other => other.type_name(),
    }
}

/// `typeOf V`: the Go type (`int`, `string`, `[]interface {}`, …).
pub fn type_of(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::str(go_type(args::arg(a, 0)?)))
}

/// `kindOf V`: the Go kind (`int`, `string`, `slice`, `map`, …).
pub fn kind_of(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::str(go_kind(args::arg(a, 0)?)))
}

/// `kindIs KIND V`.
pub fn kind_is(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(
        args::string(a, 0)? == go_kind(args::arg(a, 1)?),
    ))
}

/// `typeIs TYPE V`.
pub fn type_is(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(
        args::string(a, 0)? == go_type(args::arg(a, 1)?),
    ))
}

/// `deepEqual A B`: Go's deep equality.
pub fn deep_equal(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(deep_eq(args::arg(a, 0)?, args::arg(a, 1)?)))
}

/// `deepCopy V`: `V` itself (values are never shared, so a copy is the value).
pub fn deep_copy(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    args::arg(a, 0).cloned()
}

/// `chunk N LIST`: the list in pieces of `N` items (the last may be shorter).
pub fn chunk(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::count(a, 0, MAX_ITEMS)?;
    if n == 0 {
        return Err(FuncError::new(
            "argument 1: the chunk size must be positive",
        ));
    }
    let Value::List(l) = args::arg(a, 1)? else {
        return Err(FuncError::new(format!(
            "cannot chunk type {}",
            args::describe(args::arg(a, 1)?)
        )));
    };
    let v = Value::List(l.chunks(n).map(|c| Value::List(c.to_vec())).collect());
    args::check_size(&v)?;
    Ok(v)
}

/// `toDecimal V`: `V` printed and read as an octal number (`"0777"` → 511), 0 when it
/// is not one.
pub fn to_decimal(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = strval(args::arg(a, 0)?);
    Ok(Value::Int(i64::from_str_radix(s.as_str(), 8).unwrap_or(0)))
}

/// Go's `path.Clean`: the shortest equivalent slash path, lexically.
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// `clean P`: `P` cleaned (`a/b/../c` → `a/c`).
pub fn clean(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    derived(clean_path(args::string(a, 0)?), a)
}

/// `base P`: the last element (`/a/b.txt` → `b.txt`).
pub fn base(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let p = args::string(a, 0)?;
    let trimmed = p.trim_end_matches('/');
    let out = if p.is_empty() {
        "."
    } else if trimmed.is_empty() {
        "/"
    } else {
        trimmed.rsplit('/').next().unwrap_or(trimmed)
    };
    derived(out, a)
}

/// `dir P`: all but the last element, cleaned (`/a/b.txt` → `/a`).
pub fn dir(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let p = args::string(a, 0)?;
    let head = p.rfind('/').map_or("", |i| &p[..=i]);
    derived(clean_path(head), a)
}

/// `ext P`: the extension of the last element (`b.tar.gz` → `.gz`).
pub fn ext(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let p = args::string(a, 0)?;
    let last = p.rsplit('/').next().unwrap_or(p);
    let out = last.rfind('.').map_or("", |i| &last[i..]);
    derived(out, a)
}

/// `isAbs P`: whether `P` starts with `/`.
pub fn is_abs(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(args::string(a, 0)?.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/../..", ".."),
            ("//a//b/./", "/a/b"),
            ("/", "/"),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }
}
