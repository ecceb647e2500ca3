//! Defaults and flow: `default`, `empty`, `coalesce`, `ternary`, `fail`, `required`.
//! They return one of their arguments as it is, taint included.

use super::FuncEnv;
use super::FuncError;
use super::args::{self, is_empty};
use crate::template::value::Value;

/// `default D [V]`: `V` unless it is empty (nil, false, 0, ""), else `D`.
/// In a pipeline: `.x | default "y"`.
pub fn default(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let fallback = args::arg(a, 0)?;
    match a.get(1) {
        Some(v) if !is_empty(v) => Ok(v.clone()),
        _ => Ok(fallback.clone()),
    }
}

/// `empty V`: true for nil, false, 0, and empty strings, lists and dicts.
pub fn empty(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Bool(is_empty(args::arg(a, 0)?)))
}

/// `coalesce V…`: the first non-empty argument, or nil.
pub fn coalesce(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or_default())
}

/// `ternary T F COND`: `T` when `COND` is true, else `F`.
pub fn ternary(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let pick = if args::boolean(a, 2)? { 0 } else { 1 };
    args::arg(a, pick).cloned()
}

/// `fail MSG`: stops the render with `MSG`.
pub fn fail(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Err(FuncError::new(args::strval(args::arg(a, 0)?).into_string()))
}

/// `required MSG V`: `V`, or the error `MSG` when `V` is nil or the empty string
/// (Helm's rule: `0`, `false` and empty lists pass).
pub fn required(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let message = args::string(a, 0)?;
    let v = args::arg(a, 1)?;
    match v {
        Value::Nil => Err(FuncError::new(message)),
        Value::Str(t) if t.is_empty() => Err(FuncError::new(message)),
        other => Ok(other.clone()),
    }
}
