//! List functions: `list`, `first`, `rest`, `last`, `initial`, `append`/`push`,
//! `prepend`, `concat`, `reverse`, `uniq`, `without`, `has`, `compact`, `until`,
//! `untilStep`, `seq`.
//!
//! Lists are values: functions return a new list and never change their argument (Sprig
//! mutates in place only where Go shares the slice; templates cannot tell). Items keep
//! their taint. Equality is Go's `reflect.DeepEqual` (an int is not a float), computed
//! through identity keys so `uniq`, `without` and `has` stay linear.

use std::collections::HashSet;

use super::FuncEnv;
use super::FuncError;
use super::args::{self, MAX_ITEMS, check_size, deep_eq, describe, identity_key, is_empty};
use crate::template::value::{Text, Value};

fn built(items: Vec<Value>) -> Result<Value, FuncError> {
    let v = Value::List(items);
    check_size(&v)?;
    Ok(v)
}

fn list_arg<'a>(a: &'a [Value], i: usize, func: &str) -> Result<&'a [Value], FuncError> {
    match args::arg(a, i)? {
        Value::List(l) => Ok(l),
        other => Err(FuncError::new(format!(
            "cannot {func} on type {}",
            describe(other)
        ))),
    }
}

/// `list V…`: a list of the arguments.
pub fn list(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    built(a.to_vec())
}

/// `first LIST`: the first item, nil when empty.
pub fn first(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(list_arg(a, 0, "find first")?
        .first()
        .cloned()
        .unwrap_or_default())
}

/// `last LIST`: the last item, nil when empty.
pub fn last(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(list_arg(a, 0, "find last")?
        .last()
        .cloned()
        .unwrap_or_default())
}

/// `rest LIST`: all but the first item (nil when empty).
pub fn rest(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    match list_arg(a, 0, "find rest")? {
        [] => Ok(Value::Nil),
        [_, tail @ ..] => Ok(Value::List(tail.to_vec())),
    }
}

/// `initial LIST`: all but the last item (nil when empty).
pub fn initial(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    match list_arg(a, 0, "find initial")? {
        [] => Ok(Value::Nil),
        [head @ .., _] => Ok(Value::List(head.to_vec())),
    }
}

/// `append LIST V` (alias `push`): a new list with `V` at the end.
pub fn append(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let l = list_arg(a, 0, "push")?;
    let mut out = Vec::with_capacity(l.len() + 1);
    out.extend_from_slice(l);
    out.push(args::arg(a, 1)?.clone());
    built(out)
}

/// `prepend LIST V`: a new list with `V` first.
pub fn prepend(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let l = list_arg(a, 0, "prepend")?;
    let mut out = Vec::with_capacity(l.len() + 1);
    out.push(args::arg(a, 1)?.clone());
    out.extend_from_slice(l);
    built(out)
}

/// `concat LIST…`: the lists one after another.
pub fn concat(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::List(l) => {
                if out.len() + l.len() > MAX_ITEMS {
                    return Err(FuncError::new(format!(
                        "result would have more than the limit of {MAX_ITEMS} items"
                    )));
                }
                out.extend_from_slice(l);
            }
            Value::Nil => {}
            other => {
                return Err(FuncError::new(format!(
                    "argument {}: cannot concat type {} as list",
                    i + 1,
                    describe(other)
                )));
            }
        }
    }
    built(out)
}

/// `reverse LIST`.
pub fn reverse(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut out = list_arg(a, 0, "reverse")?.to_vec();
    out.reverse();
    Ok(Value::List(out))
}

/// `uniq LIST`: the first of every group of equal items, in order.
pub fn uniq(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut seen = HashSet::new();
    let out = list_arg(a, 0, "uniq")?
        .iter()
        .filter(|v| seen.insert(identity_key(v)))
        .cloned()
        .collect();
    Ok(Value::List(out))
}

/// `without LIST V…`: the list without any item equal to one of the `V`s.
pub fn without(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let l = list_arg(a, 0, "without")?;
    let omit: HashSet<String> = a.iter().skip(1).map(identity_key).collect();
    let out = l
        .iter()
        .filter(|v| !omit.contains(&identity_key(v)))
        .cloned()
        .collect();
    Ok(Value::List(out))
}

/// `has NEEDLE LIST`: whether the list holds an item equal to `NEEDLE` (false for nil).
pub fn has(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let needle = args::arg(a, 0)?;
    match args::arg(a, 1)? {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(l) => Ok(Value::Bool(l.iter().any(|v| deep_eq(v, needle)))),
        other => Err(FuncError::new(format!(
            "cannot find has on type {}",
            describe(other)
        ))),
    }
}

/// `compact LIST`: the list without empty items.
pub fn compact(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let out = list_arg(a, 0, "compact")?
        .iter()
        .filter(|v| !is_empty(v))
        .cloned()
        .collect();
    Ok(Value::List(out))
}

/// Sprig's `untilStep`, bounded: the integers from `start` towards `stop` (exclusive).
fn steps(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let too_many = || {
        FuncError::new(format!(
            "sequence would have more than the limit of {MAX_ITEMS} items"
        ))
    };
    let mut out = Vec::new();
    let mut i = start;
    let going = |i: i64| if stop < start { i > stop } else { i < stop };
    if (stop < start && step >= 0) || (stop >= start && step <= 0) {
        return Ok(out);
    }
    while going(i) {
        if out.len() >= MAX_ITEMS {
            return Err(too_many());
        }
        out.push(i);
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(out)
}

fn ints(v: Vec<i64>) -> Value {
    Value::List(v.into_iter().map(Value::Int).collect())
}

/// `until N`: `0 … N-1` (or `0 … N+1` counting down for a negative `N`).
pub fn until(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::int(a, 0)?;
    Ok(ints(steps(0, n, if n < 0 { -1 } else { 1 })?))
}

/// `untilStep START STOP STEP`: from `START` by `STEP` while short of `STOP`.
pub fn until_step(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(ints(steps(
        args::int(a, 0)?,
        args::int(a, 1)?,
        args::int(a, 2)?,
    )?))
}

/// `seq [START [STEP]] END`: the integers as a space-separated string, like the Unix
/// tool (`seq 3` → `1 2 3`, `seq 0 2 6` → `0 2 4 6`).
pub fn seq(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let p: Vec<i64> = (0..a.len())
        .map(|i| args::int(a, i))
        .collect::<Result<_, _>>()?;
    let dir = |start: i64, end: i64| if end < start { -1 } else { 1 };
    let v = match p.as_slice() {
        [end] => {
            let d = dir(1, *end);
            steps(1, end.saturating_add(d), d)?
        }
        [start, end] => {
            let d = dir(*start, *end);
            steps(*start, end.saturating_add(d), d)?
        }
        [start, step, end] => {
            let d = dir(*start, *end);
            if (d < 0 && *step > 0) || (d > 0 && *step < 0) {
                Vec::new()
            } else {
                steps(*start, end.saturating_add(d), *step)?
            }
        }
        _ => Vec::new(),
    };
    let s = v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
    Ok(Value::Str(Text::clean(s)))
}
