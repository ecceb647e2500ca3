//! Argument access and Sprig's loose conversions, shared by every function family.
//!
//! Typed parameters (Sprig functions declared with `string` or `int` parameters) are
//! strict, as Go's template engine is: a list where a string is expected is an error.
//! Parameters Sprig declares as `interface{}` go through Sprig's conversions
//! ([`strval`], [`to_int64`], [`to_float64`]), which are deliberately forgiving.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::FuncError;
use crate::template::value::{Text, Value, format_float};

/// Largest string a function may produce (1 MiB).
pub const MAX_STRING: usize = 1 << 20;
/// Most items a function may put in one list or map.
pub const MAX_ITEMS: usize = 10_000;
/// Largest total size (string bytes plus a word per item) of a built collection.
pub const MAX_VALUE_BYTES: usize = 4 << 20;
/// Deepest nesting of a built collection (so no later walk over it can exhaust the
/// stack).
pub const MAX_NESTING: usize = 100;

/// The argument at `i` (arity is checked at parse time; a missing one is still an
/// error, never a panic).
pub fn arg(args: &[Value], i: usize) -> Result<&Value, FuncError> {
    args.get(i)
        .ok_or_else(|| FuncError::new(format!("missing argument {}", i + 1)))
}

/// A string parameter.
pub fn text(args: &[Value], i: usize) -> Result<&Text, FuncError> {
    match arg(args, i)? {
        Value::Str(t) => Ok(t),
        Value::Nil => Err(FuncError::new(format!(
            "argument {}: expected a string, got no value",
            i + 1
        ))),
        other => Err(FuncError::new(format!(
            "argument {}: expected a string, got {}",
            i + 1,
            other.type_name()
        ))),
    }
}

/// A string parameter, characters only.
pub fn string(args: &[Value], i: usize) -> Result<&str, FuncError> {
    text(args, i).map(Text::as_str)
}

/// An integer parameter (Go `int`): an integer, or a float without a fraction.
pub fn int(args: &[Value], i: usize) -> Result<i64, FuncError> {
    match arg(args, i)? {
        Value::Int(n) => Ok(*n),
        #[allow(clippy::cast_possible_truncation)] // checked: integral and in range
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
        other => Err(FuncError::new(format!(
            "argument {}: expected an integer, got {}",
            i + 1,
            describe(other)
        ))),
    }
}

/// A non-negative count parameter no larger than `max`.
pub fn count(args: &[Value], i: usize, max: usize) -> Result<usize, FuncError> {
    let n = int(args, i)?;
    let n = usize::try_from(n).map_err(|_| {
        FuncError::new(format!("argument {}: must not be negative, got {n}", i + 1))
    })?;
    if n > max {
        return Err(FuncError::new(format!(
            "argument {}: {n} is more than the limit of {max}",
            i + 1
        )));
    }
    Ok(n)
}

/// A boolean parameter.
pub fn boolean(args: &[Value], i: usize) -> Result<bool, FuncError> {
    match arg(args, i)? {
        Value::Bool(b) => Ok(*b),
        other => Err(FuncError::new(format!(
            "argument {}: expected a bool, got {}",
            i + 1,
            describe(other)
        ))),
    }
}

/// A map parameter.
pub fn map(args: &[Value], i: usize) -> Result<&BTreeMap<String, Value>, FuncError> {
    match arg(args, i)? {
        Value::Map(m) => Ok(m),
        other => Err(FuncError::new(format!(
            "argument {}: expected a dict, got {}",
            i + 1,
            describe(other)
        ))),
    }
}

/// A value's type for messages (`no value` rather than `nil`, which reads like a bug).
pub fn describe(v: &Value) -> &'static str {
    match v {
        Value::Nil => "no value",
        other => other.type_name(),
    }
}

/// Sprig's `strval`: strings as they are, everything else as Go's `%v` prints it (nil
/// is `<nil>`), tainted as a whole when anything inside is.
pub fn strval(v: &Value) -> Text {
    match v {
        Value::Str(t) => t.clone(),
        Value::Nil => Text::clean("<nil>"),
        other => other.to_text(),
    }
}

/// Sprig's `strslice`: a list's non-nil items as strings; nil is no items; any other
/// value is one item.
pub fn strslice(v: &Value) -> Vec<Text> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// Sprig's `toInt64` (spf13/cast): numbers truncated, bools 1/0, strings parsed (with
/// Go's base prefixes; a trailing `.0…` allowed), anything unparsable 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        Value::Float(f) => float_to_i64(*f),
        Value::Bool(b) => i64::from(*b),
        Value::Str(t) => parse_go_int(t.as_str()).unwrap_or(0),
        _ => 0,
    }
}

/// Go's float-to-int conversion, saturating instead of undefined.
#[allow(clippy::cast_possible_truncation)] // truncation is the semantics; `as` saturates
pub fn float_to_i64(f: f64) -> i64 {
    if f.is_nan() { 0 } else { f.trunc() as i64 }
}

/// `strconv.ParseInt(s, 0, 64)` after cast's trimming of a zero decimal part.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let s = match s.split_once('.') {
        Some((whole, frac)) if !whole.is_empty() && frac.bytes().all(|b| b == b'0') => whole,
        _ => s,
    };
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_owned())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_owned())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_owned())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_owned())
    } else {
        (10, lower)
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits, radix).ok()?;
    i64::try_from(if neg { -magnitude } else { magnitude }).ok()
}

/// Sprig's `toFloat64`: numbers as they are, bools 1/0, strings parsed, otherwise 0.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        #[allow(clippy::cast_precision_loss)] // Go converts the same way
        Value::Int(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(t) => {
            let s = t.as_str();
            if s.eq_ignore_ascii_case("nan") || s.to_ascii_lowercase().contains("inf") {
                // Go accepts these too, but they only ever surprise in a manifest.
                return 0.0;
            }
            s.parse().unwrap_or(0.0)
        }
        _ => 0.0,
    }
}

/// Sprig's `empty`: nil, false, 0, and empty strings, lists and maps.
pub fn is_empty(v: &Value) -> bool {
    !v.is_true()
}

/// Go's `reflect.DeepEqual` on template values, ignoring taint.
pub fn deep_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        #[allow(clippy::float_cmp)] // DeepEqual compares exactly
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x.as_str() == y.as_str(),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| deep_eq(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && deep_eq(vx, vy))
        }
        _ => false,
    }
}

/// A string that is equal for two values exactly when [`deep_eq`] holds (NaN aside), so
/// membership tests can use a hash set and stay linear.
pub fn identity_key(v: &Value) -> String {
    let mut out = String::new();
    write_key(v, &mut out);
    out
}

fn write_key(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push('n'),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Int(n) => {
            let _ = write!(out, "i{n};");
        }
        Value::Float(f) => {
            let _ = write!(out, "d{};", f.to_bits());
        }
        Value::Str(t) => {
            let _ = write!(out, "s{}:{}", t.len(), t.as_str());
        }
        Value::List(l) => {
            let _ = write!(out, "l{}:", l.len());
            l.iter().for_each(|x| write_key(x, out));
        }
        Value::Map(m) => {
            let _ = write!(out, "m{}:", m.len());
            for (k, x) in m {
                let _ = write!(out, "{}:{k}", k.len());
                write_key(x, out);
            }
        }
    }
}

/// Refuses a string result beyond [`MAX_STRING`].
pub fn check_len(len: usize) -> Result<(), FuncError> {
    if len > MAX_STRING {
        return Err(FuncError::new(format!(
            "result would be {len} bytes, more than the limit of {MAX_STRING}"
        )));
    }
    Ok(())
}

/// Refuses a list or map result beyond [`MAX_ITEMS`] items, [`MAX_VALUE_BYTES`] in
/// total or [`MAX_NESTING`] levels; call it on every collection a function builds.
pub fn check_size(v: &Value) -> Result<(), FuncError> {
    let items = match v {
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        _ => 0,
    };
    if items > MAX_ITEMS {
        return Err(FuncError::new(format!(
            "result would have {items} items, more than the limit of {MAX_ITEMS}"
        )));
    }
    let mut budget = MAX_VALUE_BYTES;
    match fits(v, &mut budget, 0) {
        Fit::Ok => Ok(()),
        Fit::TooLarge => Err(FuncError::new(format!(
            "result would be larger than the limit of {MAX_VALUE_BYTES} bytes"
        ))),
        Fit::TooDeep => Err(FuncError::new(format!(
            "result would be nested more than {MAX_NESTING} levels deep"
        ))),
    }
}

enum Fit {
    Ok,
    TooLarge,
    TooDeep,
}

fn fits(v: &Value, budget: &mut usize, depth: usize) -> Fit {
    if depth > MAX_NESTING {
        return Fit::TooDeep;
    }
    let own = match v {
        Value::Str(t) => t.len() + 8,
        Value::Map(m) => m.keys().map(|k| k.len() + 8).sum(),
        _ => 8,
    };
    let Some(rest) = budget.checked_sub(own) else {
        return Fit::TooLarge;
    };
    *budget = rest;
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::List(l) => Box::new(l.iter()),
        Value::Map(m) => Box::new(m.values()),
        _ => return Fit::Ok,
    };
    for x in children {
        match fits(x, budget, depth + 1) {
            Fit::Ok => {}
            other => return other,
        }
    }
    Fit::Ok
}

/// A float as Go's `%v` prints it (re-exported for the families).
pub fn float_text(f: f64) -> String {
    format_float(f)
}

/// A string result computed from `inputs`: tainted as a whole when any input is, and
/// refused beyond [`MAX_STRING`] (results can grow: encodings, case mapping, escapes).
pub fn derived(s: impl Into<String>, inputs: &[Value]) -> Result<Value, FuncError> {
    let s = s.into();
    check_len(s.len())?;
    Ok(piece(s, inputs))
}

/// [`derived`] for a part of an input, which cannot be longer than the input.
pub fn piece(s: impl Into<String>, inputs: &[Value]) -> Value {
    let refs: Vec<&Value> = inputs.iter().collect();
    Value::Str(Text::derived(s, &refs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cast_conversions_follow_sprig() {
        assert_eq!(to_int64(&Value::str("42")), 42);
        assert_eq!(to_int64(&Value::str("0x10")), 16);
        assert_eq!(to_int64(&Value::str("010")), 8);
        assert_eq!(to_int64(&Value::str("5.0")), 5);
        assert_eq!(to_int64(&Value::str("5.5")), 0);
        assert_eq!(to_int64(&Value::str("abc")), 0);
        assert_eq!(to_int64(&Value::Float(-3.9)), -3);
        assert_eq!(to_int64(&Value::Float(f64::NAN)), 0);
        assert_eq!(to_int64(&Value::Bool(true)), 1);
        assert_eq!(to_int64(&Value::Nil), 0);
        assert!((to_float64(&Value::str("1.5")) - 1.5).abs() < f64::EPSILON);
        assert!(to_float64(&Value::str("x")).abs() < f64::EPSILON);
    }

    #[test]
    fn typed_parameters_are_strict() {
        let args = [Value::Int(1), Value::Nil, Value::List(vec![])];
        assert_eq!(
            text(&args, 0).err(),
            Some(FuncError::new("argument 1: expected a string, got int"))
        );
        assert_eq!(
            text(&args, 1).err(),
            Some(FuncError::new(
                "argument 2: expected a string, got no value"
            ))
        );
        assert!(int(&args, 2).is_err());
        assert!(int(&args, 5).is_err(), "a missing argument is an error");
        assert_eq!(int(&[Value::Float(3.0)], 0), Ok(3));
        assert!(int(&[Value::Float(3.5)], 0).is_err());
        assert!(count(&[Value::Int(-1)], 0, 10).is_err());
        assert!(count(&[Value::Int(11)], 0, 10).is_err());
    }

    #[test]
    fn identity_keys_match_deep_equality() {
        let a = Value::List(vec![Value::str("ab"), Value::Int(1)]);
        let b = Value::List(vec![Value::tainted_str("ab"), Value::Int(1)]);
        let c = Value::List(vec![Value::str("a"), Value::str("b1")]);
        assert!(deep_eq(&a, &b));
        assert_eq!(identity_key(&a), identity_key(&b));
        assert_ne!(identity_key(&a), identity_key(&c));
        assert!(!deep_eq(&Value::Int(1), &Value::Float(1.0)));
    }

    #[test]
    fn sizes_are_bounded() {
        let big = Value::List(vec![Value::Nil; MAX_ITEMS + 1]);
        assert!(check_size(&big).is_err());
        let heavy = Value::List(vec![Value::str("x".repeat(1 << 20)); 5]);
        assert!(check_size(&heavy).is_err());
        assert!(check_size(&Value::List(vec![Value::Int(1); 10])).is_ok());
        assert!(check_len(MAX_STRING + 1).is_err());
        let mut deep = Value::Nil;
        for _ in 0..=MAX_NESTING {
            deep = Value::List(vec![deep]);
        }
        assert_eq!(
            check_size(&deep).err(),
            Some(FuncError::new(
                "result would be nested more than 100 levels deep"
            ))
        );
    }
}
