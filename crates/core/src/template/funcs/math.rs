//! Math: `add`, `add1`, `sub`, `mul`, `div`, `mod`, `max`, `min` on 64-bit integers
//! (arguments converted with Sprig's `toInt64`: floats truncated, numeric strings
//! parsed, anything else 0; overflow wraps as in Go), `floor`, `ceil`, `round` on
//! floats, the float forms `addf`, `add1f`, `subf`, `mulf`, `divf`, `maxf`, `minf`
//! (Sprig computes these in decimal; results here are rounded to the 15 significant
//! digits decimal inputs have, so `addf 0.1 0.2` is `0.3`), and the conversions `int`,
//! `int64`, `float64`, `atoi`. Division or modulo by zero is an error. Results are
//! numbers, never tainted.

use super::FuncEnv;
use super::FuncError;
use super::args::{self, to_float64, to_int64};
use crate::template::value::Value;

/// `add N…`: the sum.
pub fn add(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Int(
        a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
    ))
}

/// `add1 N`: `N + 1`.
pub fn add1(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Int(to_int64(args::arg(a, 0)?).wrapping_add(1)))
}

/// `sub A B`: `A - B`.
pub fn sub(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let (x, y) = pair(a)?;
    Ok(Value::Int(x.wrapping_sub(y)))
}

/// `mul A B…`: the product.
pub fn mul(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Int(
        a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
    ))
}

/// `div A B`: `A / B`, truncated toward zero; B = 0 is an error.
pub fn div(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let (x, y) = pair(a)?;
    if y == 0 {
        return Err(FuncError::new("integer divide by zero"));
    }
    Ok(Value::Int(x.wrapping_div(y)))
}

/// `mod A B`: the remainder of `A / B` (sign of `A`); B = 0 is an error.
pub fn modulo(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let (x, y) = pair(a)?;
    if y == 0 {
        return Err(FuncError::new("integer divide by zero"));
    }
    Ok(Value::Int(x.wrapping_rem(y)))
}

fn pair(a: &[Value]) -> Result<(i64, i64), FuncError> {
    Ok((to_int64(args::arg(a, 0)?), to_int64(args::arg(a, 1)?)))
}

/// `max A B…`: the largest.
pub fn max(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let first = to_int64(args::arg(a, 0)?);
    Ok(Value::Int(a.iter().map(to_int64).fold(first, i64::max)))
}

/// `min A B…`: the smallest.
pub fn min(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let first = to_int64(args::arg(a, 0)?);
    Ok(Value::Int(a.iter().map(to_int64).fold(first, i64::min)))
}

/// `floor X`: the largest integer not above `X`, as a float.
pub fn floor(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Float(to_float64(args::arg(a, 0)?).floor()))
}

/// `ceil X`: the smallest integer not below `X`, as a float.
pub fn ceil(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Float(to_float64(args::arg(a, 0)?).ceil()))
}

/// `round X PLACES [HALF]`: `X` to `PLACES` decimals: up when the remainder is at least
/// `HALF` (default .5), else down (Sprig's rule, so negative halves go down).
pub fn round(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let x = to_float64(args::arg(a, 0)?);
    let places = args::int(a, 1)?.clamp(-308, 308);
    let half = a.get(2).map_or(0.5, to_float64);
    let pow = 10f64.powi(i32::try_from(places).unwrap_or(0));
    let digit = pow * x;
    let rounded = if digit.fract() >= half {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(rounded / pow))
}

/// `int V` / `int64 V`: Sprig's integer conversion.
pub fn int(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Int(to_int64(args::arg(a, 0)?)))
}

/// `float64 V`: Sprig's float conversion.
pub fn float64(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Float(to_float64(args::arg(a, 0)?)))
}

/// `atoi S`: the decimal integer in `S`, 0 when it is not one.
pub fn atoi(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    Ok(Value::Int(s.parse().unwrap_or(0)))
}

/// `x` rounded to `digits` significant digits (what a decimal computation on short
/// decimal inputs gives back).
fn significant(x: f64, digits: usize) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.prec$e}", prec = digits - 1)
        .parse()
        .unwrap_or(x)
}

fn floats(a: &[Value]) -> impl Iterator<Item = f64> + '_ {
    a.iter().map(to_float64)
}

/// `addf X…`: the sum.
pub fn addf(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Float(significant(floats(a).sum(), 15)))
}

/// `add1f X`: `X + 1`.
pub fn add1f(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Float(significant(
        to_float64(args::arg(a, 0)?) + 1.0,
        15,
    )))
}

/// `subf X Y…`: `X - Y - …`.
pub fn subf(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let first = to_float64(args::arg(a, 0)?);
    Ok(Value::Float(significant(
        floats(&a[1..]).fold(first, |x, y| x - y),
        15,
    )))
}

/// `mulf X Y…`: the product.
pub fn mulf(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    Ok(Value::Float(significant(floats(a).product(), 15)))
}

/// `divf X Y…`: `X / Y / …` (16 significant digits, Sprig's division precision); a
/// zero divisor is an error.
pub fn divf(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut x = to_float64(args::arg(a, 0)?);
    for y in floats(&a[1..]) {
        if y == 0.0 {
            return Err(FuncError::new("division by zero"));
        }
        x /= y;
    }
    Ok(Value::Float(significant(x, 16)))
}

/// `maxf X Y…`: the largest.
pub fn maxf(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let first = to_float64(args::arg(a, 0)?);
    Ok(Value::Float(floats(a).fold(first, f64::max)))
}

/// `minf X Y…`: the smallest.
pub fn minf(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let first = to_float64(args::arg(a, 0)?);
    Ok(Value::Float(floats(a).fold(first, f64::min)))
}
