//! Go's predefined template functions: `and`, `or`, `not`, `len`, `index`, `slice`,
//! `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `html`, `js`,
//! `urlquery`. (`call` is absent: template data holds no function values.)
//!
//! `and` and `or` are evaluated lazily by the executor; their entries here are the
//! eager fallbacks with the same results.

use std::cmp::Ordering;
use std::fmt::Write as _;

use super::fmt::{sprint, sprintf, sprintln};
use super::funcs::{FuncEnv, FuncError, FuncSpec};
use super::value::{Text, Value};

type R = Result<Value, FuncError>;

const fn spec(
    name: &'static str,
    func: super::funcs::Func,
    min: usize,
    max: Option<usize>,
) -> FuncSpec {
    FuncSpec::new(name, func, min, max)
}

/// The builtins, sorted by name.
const BUILTINS: &[FuncSpec] = &[
    spec("and", and, 1, None),
    spec("eq", eq, 1, None),
    spec("ge", ge, 2, Some(2)),
    spec("gt", gt, 2, Some(2)),
    spec("html", html, 0, None),
    spec("index", index, 1, None),
    spec("js", js, 0, None),
    spec("le", le, 2, Some(2)),
    spec("len", len, 1, Some(1)),
    spec("lt", lt, 2, Some(2)),
    spec("ne", ne, 2, Some(2)),
    spec("not", not, 1, Some(1)),
    spec("or", or, 1, None),
    spec("print", print, 0, None),
    spec("printf", printf, 1, None),
    spec("println", println, 0, None),
    spec("slice", slice, 1, None),
    spec("urlquery", urlquery, 0, None),
];

/// The builtin called `name`.
pub(crate) fn lookup(name: &str) -> Option<FuncSpec> {
    BUILTINS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .and_then(|i| BUILTINS.get(i))
        .copied()
}

/// Builtins first (Go's predefined names), then the library.
pub(crate) fn lookup_all(name: &str) -> Option<FuncSpec> {
    lookup(name).or_else(|| super::funcs::lookup(name).copied())
}

fn err(message: impl Into<String>) -> R {
    Err(FuncError::new(message))
}

fn and(args: &[Value], _: &FuncEnv) -> R {
    Ok(args
        .iter()
        .find(|v| !v.is_true())
        .or(args.last())
        .cloned()
        .unwrap_or_default())
}

fn or(args: &[Value], _: &FuncEnv) -> R {
    Ok(args
        .iter()
        .find(|v| v.is_true())
        .or(args.last())
        .cloned()
        .unwrap_or_default())
}

fn not(args: &[Value], _: &FuncEnv) -> R {
    Ok(Value::Bool(!args.first().is_some_and(Value::is_true)))
}

fn len(args: &[Value], _: &FuncEnv) -> R {
    let n = match args.first() {
        Some(Value::Str(t)) => t.len(),
        Some(Value::List(l)) => l.len(),
        Some(Value::Map(m)) => m.len(),
        Some(Value::Nil) | None => return err("len of nil pointer"),
        Some(other) => return err(format!("len of type {}", go_type(other))),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// Go's name of the dynamic type, as `reflect` prints it for template data.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
        other => other.type_name(),
    }
}

fn int_index(v: &Value, what: &str) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => Err(FuncError::new(format!("cannot {what} with nil"))),
        other => Err(FuncError::new(format!(
            "cannot {what} with type {}",
            go_type(other)
        ))),
    }
}

fn position(i: i64, len: usize, cap: usize) -> Result<usize, FuncError> {
    match usize::try_from(i) {
        Ok(u) if u < len.max(cap) => Ok(u),
        _ => Err(FuncError::new(format!("index out of range: {i}"))),
    }
}

fn index(args: &[Value], _: &FuncEnv) -> R {
    let Some((item, keys)) = args.split_first() else {
        return err("missing argument to index");
    };
    let mut cur = item.clone();
    for key in keys {
        cur = match cur {
            Value::List(l) => {
                let i = position(int_index(key, "index slice/array")?, l.len(), 0)?;
                l.into_iter().nth(i).unwrap_or_default()
            }
            Value::Str(t) => {
                let i = position(int_index(key, "index slice/array")?, t.len(), 0)?;
                let byte = t.as_str().as_bytes().get(i).copied().unwrap_or_default();
                Value::Int(i64::from(byte))
            }
            Value::Map(mut m) => match key {
                Value::Str(k) => m.remove(k.as_str()).unwrap_or_default(),
                Value::Nil => return err("value is nil; should be string"),
                other => {
                    return err(format!(
                        "value has type {}; should be string",
                        go_type(other)
                    ));
                }
            },
            Value::Nil => return err("index of untyped nil"),
            other => return err(format!("can't index item of type {}", go_type(&other))),
        };
    }
    Ok(cur)
}

fn slice(args: &[Value], _: &FuncEnv) -> R {
    let Some((item, idx)) = args.split_first() else {
        return err("missing argument to slice");
    };
    let len = match item {
        Value::Str(t) => t.len(),
        Value::List(l) => l.len(),
        Value::Nil => return err("slice of untyped nil"),
        other => return err(format!("can't slice item of type {}", go_type(other))),
    };
    let max = if matches!(item, Value::Str(_)) { 2 } else { 3 };
    if idx.len() > max {
        return err(format!("too many slice indexes: {}", idx.len()));
    }
    let mut bounds = [0usize, len, len];
    for (n, v) in idx.iter().enumerate() {
        let i = int_index(v, "slice slice/array")?;
        let u = usize::try_from(i)
            .ok()
            .filter(|u| *u <= len)
            .ok_or_else(|| FuncError::new(format!("index out of range: {i}")))?;
        if let Some(b) = bounds.get_mut(n) {
            *b = u;
        }
    }
    let [from, to, cap] = bounds;
    if from > to {
        return err(format!("invalid slice index: {from} > {to}"));
    }
    if idx.len() == 3 && to > cap {
        return err(format!("invalid slice index: {to} > {cap}"));
    }
    match item {
        Value::Str(t) => {
            let s = t
                .as_str()
                .get(from..to)
                .ok_or_else(|| FuncError::new("slice boundary is inside a character"))?;
            Ok(Value::Str(Text::derived(s, &[item])))
        }
        Value::List(l) => Ok(Value::List(l.get(from..to).unwrap_or_default().to_vec())),
        _ => err("can't slice"),
    }
}

fn print(args: &[Value], _: &FuncEnv) -> R {
    Ok(Value::Str(sprint(args)))
}

fn println(args: &[Value], _: &FuncEnv) -> R {
    Ok(Value::Str(sprintln(args)))
}

fn printf(args: &[Value], _: &FuncEnv) -> R {
    let Some((format, rest)) = args.split_first() else {
        return err("missing format");
    };
    let Value::Str(format) = format else {
        return err(format!(
            "wrong type for value; expected string; got {}",
            go_type(format)
        ));
    };
    sprintf(format, rest)
        .map(Value::Str)
        .map_err(FuncError::new)
}

/// Go's basic kinds for comparison.
#[derive(PartialEq)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

const INCOMPATIBLE: &str = "incompatible types for comparison";
const INVALID_TYPE: &str = "invalid type for comparison";

fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    match (a, b) {
        (Value::Nil, Value::Nil) => Ok(true),
        (Value::Nil, _) | (_, Value::Nil) => Ok(false),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::Int(x), Value::Int(y)) => Ok(x == y),
        (Value::Float(x), Value::Float(y)) => Ok(x == y),
        (Value::Str(x), Value::Str(y)) => Ok(x.as_str() == y.as_str()),
        _ if kind(a) != kind(b) => err(INCOMPATIBLE).map(|_| false),
        _ => Err(FuncError::new(format!(
            "non-comparable type {}: {}",
            a.to_go_string(),
            go_type(a)
        ))),
    }
}

fn eq(args: &[Value], _: &FuncEnv) -> R {
    let Some((first, rest)) = args.split_first() else {
        return err("missing argument for comparison");
    };
    if rest.is_empty() {
        return err("missing argument for comparison");
    }
    for other in rest {
        if equal(first, other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ne(args: &[Value], env: &FuncEnv) -> R {
    let Value::Bool(b) = eq(args, env)? else {
        return err("comparison failed");
    };
    Ok(Value::Bool(!b))
}

fn compare(args: &[Value]) -> Result<Ordering, FuncError> {
    let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
        return Err(FuncError::new("missing argument for comparison"));
    };
    let ka = kind(a);
    let kb = kind(b);
    if matches!(ka, Kind::Other | Kind::Bool) || matches!(kb, Kind::Other | Kind::Bool) {
        return Err(FuncError::new(INVALID_TYPE));
    }
    if ka != kb {
        return Err(FuncError::new(INCOMPATIBLE));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Greater),
        (Value::Str(x), Value::Str(y)) => x.as_str().cmp(y.as_str()),
        _ => return Err(FuncError::new(INVALID_TYPE)),
    })
}

fn lt(args: &[Value], _: &FuncEnv) -> R {
    Ok(Value::Bool(compare(args)? == Ordering::Less))
}

fn le(args: &[Value], _: &FuncEnv) -> R {
    Ok(Value::Bool(compare(args)? != Ordering::Greater))
}

fn gt(args: &[Value], _: &FuncEnv) -> R {
    Ok(Value::Bool(compare(args)? == Ordering::Greater))
}

fn ge(args: &[Value], _: &FuncEnv) -> R {
    Ok(Value::Bool(compare(args)? != Ordering::Less))
}

/// The arguments as `fmt.Sprint` joins them (escapers take this form, as in Go).
fn joined(args: &[Value]) -> (String, bool) {
    if let [Value::Str(t)] = args {
        return (t.as_str().to_owned(), t.is_tainted());
    }
    let t = sprint(args);
    let tainted = t.is_tainted();
    (t.into_string(), tainted)
}

fn finish(s: String, tainted: bool) -> R {
    Ok(Value::Str(if tainted {
        Text::tainted(s)
    } else {
        Text::clean(s)
    }))
}

fn html(args: &[Value], _: &FuncEnv) -> R {
    let (s, tainted) = joined(args);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    finish(out, tainted)
}

fn js(args: &[Value], _: &FuncEnv) -> R {
    let (s, tainted) = joined(args);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || (!c.is_ascii() && c.is_control()) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    finish(out, tainted)
}

fn urlquery(args: &[Value], _: &FuncEnv) -> R {
    let (s, tainted) = joined(args);
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    finish(out, tainted)
}
