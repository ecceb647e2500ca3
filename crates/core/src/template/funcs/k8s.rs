//! The reference's Kubernetes helpers: `truncName`, `k8sName`, `parseQuantity`,
//! `formatQuantity`. Results are derived (tainted as a whole when the input is).

use super::FuncEnv;
use super::FuncError;
use super::args::{self, derived, describe, float_text};
use crate::quantity::Quantity;
use crate::template::value::Value;

/// Longest DNS-1123 label, the default length for `truncName`.
const DNS_LABEL: usize = 63;

/// `truncName N S`: `S` cut to `N` characters (63 when `N` is 0) with trailing `-`
/// removed, so a cut name stays a valid name.
pub fn trunc_name(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::count(a, 0, usize::MAX)?;
    let max = if n == 0 { DNS_LABEL } else { n };
    let s = args::string(a, 1)?;
    let cut: String = s.chars().take(max).collect();
    derived(cut.trim_end_matches('-'), a)
}

/// `k8sName S`: a DNS-1123 label made from `S`: lower-cased; space, `_` and `.` become
/// `-`; other characters outside `[a-z0-9-]` are dropped; runs of `-` collapse; no `-`
/// at either end; at most 63 characters; `resource` when nothing is left.
pub fn k8s_name(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let mut out = String::with_capacity(s.len().min(DNS_LABEL * 2));
    for c in s.to_lowercase().chars() {
        let c = match c {
            ' ' | '_' | '.' => '-',
            c if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' => c,
            _ => continue,
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
        if out.len() > DNS_LABEL {
            break;
        }
    }
    out.truncate(DNS_LABEL);
    let trimmed = out.trim_end_matches('-');
    let name = if trimmed.is_empty() {
        "resource"
    } else {
        trimmed
    };
    derived(name, a)
}

const NANOS: i128 = 1_000_000_000;

/// `parseQuantity Q`: a Kubernetes quantity (`10Gi`, `500m`, `1.5`) as a number of
/// base units: an int when whole, else a float; "" is 0; numbers pass through.
pub fn parse_quantity(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = match args::arg(a, 0)? {
        Value::Int(n) => return Ok(Value::Int(*n)),
        Value::Float(f) => return Ok(Value::Float(*f)),
        Value::Str(t) => t.as_str().trim(),
        other => {
            return Err(FuncError::new(format!(
                "expected a quantity string, got {}",
                describe(other)
            )));
        }
    };
    if s.is_empty() {
        return Ok(Value::Int(0));
    }
    let q = Quantity::parse(s).map_err(|e| FuncError::new(e.to_string()))?;
    let nanos = q.nanos();
    if let Some(units) = (nanos % NANOS == 0)
        .then(|| i64::try_from(nanos / NANOS).ok())
        .flatten()
    {
        return Ok(Value::Int(units));
    }
    Ok(Value::Float(q.as_f64()))
}

/// `formatQuantity V`: a number of base units (or a quantity string) in canonical
/// form: the largest binary suffix that divides it exactly (`10Gi`, `512Mi`, `1Ki`),
/// else the plain number; fractions as `m`, `u` or `n`.
pub fn format_quantity(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let v = args::arg(a, 0)?;
    let q = match v {
        Value::Int(n) => Quantity::from_units(*n),
        Value::Float(f) if f.is_finite() => {
            Quantity::parse(&float_text(*f)).map_err(|e| FuncError::new(e.to_string()))?
        }
        Value::Str(t) if t.as_str().trim().is_empty() => Quantity::ZERO,
        Value::Str(t) => {
            Quantity::parse(t.as_str().trim()).map_err(|e| FuncError::new(e.to_string()))?
        }
        other => {
            return Err(FuncError::new(format!(
                "expected a number or a quantity, got {}",
                describe(other)
            )));
        }
    };
    derived(q.to_string(), a)
}
