//! Dict functions: `dict`, `get`, `set`, `unset`, `hasKey`, `pluck`, `keys`, `values`,
//! `pick`, `omit`, `merge`, `mergeOverwrite`, `dig`.
//!
//! Dicts are values: `set`, `unset` and the merges return a new dict instead of changing
//! their first argument as Sprig does. Write `{{ $d = set $d "k" "v" }}` where a Sprig
//! template relies on the change (`{{ $_ := set $d "k" "v" }}` changes nothing here).
//! Keys are plain strings without taint of their own; `keys` returns them as untrusted
//! text, as `range` does, since a key may have come from user input.

use std::collections::BTreeMap;

use super::FuncEnv;
use super::FuncError;
use super::args::{self, check_size, describe, is_empty, strval};
use crate::template::value::{Text, Value};

type Dict = BTreeMap<String, Value>;

fn built(m: Dict) -> Result<Value, FuncError> {
    let v = Value::Map(m);
    check_size(&v)?;
    Ok(v)
}

/// `dict K V …`: a dict of the pairs; keys are printed as strings, a missing last value
/// is "".
pub fn dict(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut m = Dict::new();
    for pair in a.chunks(2) {
        let key = pair.first().map(strval).unwrap_or_default().into_string();
        let value = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
        m.insert(key, value);
    }
    built(m)
}

/// `get D K`: the value at `K`, or "" when absent.
pub fn get(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let m = args::map(a, 0)?;
    let k = args::string(a, 1)?;
    Ok(m.get(k).cloned().unwrap_or_else(|| Value::str("")))
}

/// `set D K V`: `D` with `K` set to `V`.
pub fn set(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut m = args::map(a, 0)?.clone();
    m.insert(args::string(a, 1)?.to_owned(), args::arg(a, 2)?.clone());
    built(m)
}

/// `unset D K`: `D` without `K`.
pub fn unset(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut m = args::map(a, 0)?.clone();
    m.remove(args::string(a, 1)?);
    Ok(Value::Map(m))
}

/// `hasKey D K`.
pub fn has_key(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(
        args::map(a, 0)?.contains_key(args::string(a, 1)?),
    ))
}

/// `pluck K D…`: the values at `K` of the dicts that have it.
pub fn pluck(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let k = args::string(a, 0)?;
    let mut out = Vec::new();
    for i in 1..a.len() {
        if let Some(v) = args::map(a, i)?.get(k) {
            out.push(v.clone());
        }
    }
    Ok(Value::List(out))
}

/// `keys D…`: the keys of all dicts, in order (Go's order is random; ours is sorted per
/// dict).
pub fn keys(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        let m = args::map(a, i)?;
        out.extend(m.keys().map(|k| Value::Str(Text::tainted(k.as_str()))));
    }
    let v = Value::List(out);
    check_size(&v)?;
    Ok(v)
}

/// `values D`: the values in key order.
pub fn values(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::List(args::map(a, 0)?.values().cloned().collect()))
}

fn key_args(a: &[Value]) -> Result<Vec<&str>, FuncError> {
    (1..a.len()).map(|i| args::string(a, i)).collect()
}

/// `pick D K…`: `D` with only the given keys.
pub fn pick(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let m = args::map(a, 0)?;
    let ks = key_args(a)?;
    Ok(Value::Map(
        m.iter()
            .filter(|(k, _)| ks.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// `omit D K…`: `D` without the given keys.
pub fn omit(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let m = args::map(a, 0)?;
    let ks = key_args(a)?;
    Ok(Value::Map(
        m.iter()
            .filter(|(k, _)| !ks.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// Deepest nesting the merges walk.
const MAX_MERGE_DEPTH: usize = 64;

fn merge_into(dst: &mut Dict, src: &Dict, overwrite: bool, depth: usize) -> Result<(), FuncError> {
    if depth > MAX_MERGE_DEPTH {
        return Err(FuncError::new("dicts are nested too deeply to merge"));
    }
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Map(d)), Value::Map(s)) => merge_into(d, s, overwrite, depth + 1)?,
            (Some(d), _) if !overwrite && !is_empty(d) => {}
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

fn merge_all(a: &[Value], overwrite: bool) -> Result<Value, FuncError> {
    let mut dst = args::map(a, 0)?.clone();
    for i in 1..a.len() {
        merge_into(&mut dst, args::map(a, i)?, overwrite, 0)?;
    }
    built(dst)
}

/// `merge DST SRC…`: deep merge; values already in `DST` (non-empty) win.
pub fn merge(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    merge_all(a, false)
}

/// `mergeOverwrite DST SRC…`: deep merge; later dicts win.
pub fn merge_overwrite(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    merge_all(a, true)
}

/// `dig K… DEFAULT D`: the value at the path of keys through nested dicts, or `DEFAULT`
/// when a key is missing.
pub fn dig(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = a.len();
    if n < 3 {
        return Err(FuncError::new("dig needs at least three arguments"));
    }
    let mut cur = args::map(a, n - 1)?;
    let fallback = args::arg(a, n - 2)?;
    let path: Vec<&str> = (0..n - 2)
        .map(|i| args::string(a, i))
        .collect::<Result<_, _>>()?;
    for (i, k) in path.iter().enumerate() {
        let Some(step) = cur.get(*k) else {
            return Ok(fallback.clone());
        };
        if i + 1 == path.len() {
            return Ok(step.clone());
        }
        match step {
            Value::Map(m) => cur = m,
            other => {
                return Err(FuncError::new(format!(
                    "dig: {k:?} holds a {}, not a dict",
                    describe(other)
                )));
            }
        }
    }
    Ok(fallback.clone())
}
