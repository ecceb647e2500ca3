//! Dates and durations: `now`, `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`,
//! `toDate`, `unixEpoch`, `dateModify`, `duration`, `durationRound`, `ago`.
//!
//! A time is a string in RFC 3339 with its offset (`2024-03-05T14:07:09Z`), which is
//! what `now`, `toDate` and `dateModify` return and what `{{ now }}` prints. Functions
//! taking a time also accept an integer (Unix seconds). `now` is the render's clock, so
//! a render is repeatable. Zones are `UTC` (also `Local`: the server's zone must not
//! change a manifest) or fixed offsets like `+02:00`; named zones such as
//! `Europe/Berlin` are refused, since they depend on the server's time-zone database.

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use super::FuncEnv;
use super::FuncError;
use super::args::{self, derived, describe};
use super::golayout;
use crate::template::value::Value;

/// Go's `time.RFC3339Nano`, the layout times are stored in.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// A point in time with the offset it is shown in.
#[derive(Debug, Clone, Copy)]
struct Time {
    at: Timestamp,
    offset: i32,
}

fn time_of(v: &Value) -> Result<Time, FuncError> {
    match v {
        Value::Int(secs) => Timestamp::from_second(*secs)
            .map(|at| Time { at, offset: 0 })
            .map_err(|e| FuncError::new(format!("not a time: {e}"))),
        Value::Str(t) => {
            let s = t.as_str().trim();
            let (dt, offset) = golayout::parse(RFC3339_NANO, s)
                .map_err(|e| FuncError::new(format!("not an RFC 3339 time: {e}")))?;
            let at = to_timestamp(dt, offset)?;
            Ok(Time { at, offset })
        }
        other => Err(FuncError::new(format!(
            "expected a time (RFC 3339 string or Unix seconds), got {}",
            describe(other)
        ))),
    }
}

fn tz(offset: i32) -> Result<TimeZone, FuncError> {
    Offset::from_seconds(offset)
        .map(TimeZone::fixed)
        .map_err(|e| FuncError::new(format!("zone offset out of range: {e}")))
}

fn to_timestamp(dt: jiff::civil::DateTime, offset: i32) -> Result<Timestamp, FuncError> {
    dt.to_zoned(tz(offset)?)
        .map(|z| z.timestamp())
        .map_err(|e| FuncError::new(e.to_string()))
}

fn layout_text(layout: &str, t: Time) -> Result<String, FuncError> {
    let civil = t.at.to_zoned(tz(t.offset)?).datetime();
    Ok(golayout::format(layout, civil, t.offset))
}

fn time_value(t: Time, inputs: &[Value]) -> Result<Value, FuncError> {
    derived(layout_text(RFC3339_NANO, t)?, inputs)
}

/// A zone name as an offset: `UTC`, `Local` (treated as UTC), `Z`, or `±HH:MM`/`±HHMM`.
fn zone(name: &str) -> Result<i32, FuncError> {
    match name {
        "" | "UTC" | "Local" | "Z" | "Etc/UTC" | "GMT" => return Ok(0),
        _ => {}
    }
    for layout in ["-07:00", "-0700", "-07"] {
        if let Ok((_, off)) = golayout::parse(&format!("2006 {layout}"), &format!("2000 {name}")) {
            return Ok(off);
        }
    }
    Err(FuncError::new(format!(
        "unknown time zone {name:?}: use UTC or a fixed offset like +02:00 (named zones \
         depend on the server and are not supported)"
    )))
}

/// `now`: the render's time, in UTC.
pub fn now(_: &[Value], env: &FuncEnv) -> Result<Value, FuncError> {
    time_value(
        Time {
            at: env.now,
            offset: 0,
        },
        &[],
    )
}

/// `date LAYOUT T`: `T` written with a Go layout, in its own offset.
pub fn date(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let layout = args::string(a, 0)?;
    let t = time_of(args::arg(a, 1)?)?;
    derived(layout_text(layout, t)?, a)
}

/// `dateInZone LAYOUT T ZONE`: `T` written with a Go layout in `ZONE`.
pub fn date_in_zone(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let layout = args::string(a, 0)?;
    let mut t = time_of(args::arg(a, 1)?)?;
    t.offset = zone(args::string(a, 2)?)?;
    derived(layout_text(layout, t)?, a)
}

/// `htmlDate T`: `date "2006-01-02" T`.
pub fn html_date(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let t = time_of(args::arg(a, 0)?)?;
    derived(layout_text("2006-01-02", t)?, a)
}

/// `htmlDateInZone T ZONE`.
pub fn html_date_in_zone(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut t = time_of(args::arg(a, 0)?)?;
    t.offset = zone(args::string(a, 1)?)?;
    derived(layout_text("2006-01-02", t)?, a)
}

/// `toDate LAYOUT S`: the time `S` written in a Go layout (UTC unless the layout has a
/// zone); text that does not match is an error.
pub fn to_date(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let layout = args::string(a, 0)?;
    let s = args::string(a, 1)?;
    let (dt, offset) = golayout::parse(layout, s).map_err(FuncError::new)?;
    let at = to_timestamp(dt, offset)?;
    time_value(Time { at, offset }, a)
}

/// `unixEpoch T`: Unix seconds as a string.
pub fn unix_epoch(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let t = time_of(args::arg(a, 0)?)?;
    derived(t.at.as_second().to_string(), a)
}

/// `dateModify DURATION T`: `T` moved by a Go duration (`-1.5h`, `30m`); an invalid
/// duration is an error.
pub fn date_modify(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let d = parse_duration(args::string(a, 0)?)?;
    let mut t = time_of(args::arg(a, 1)?)?;
    let nanos = i64::try_from(d).map_err(|_| FuncError::new("duration out of range"))?;
    t.at =
        t.at.checked_add(SignedDuration::from_nanos(nanos))
            .map_err(|e| FuncError::new(e.to_string()))?;
    time_value(t, a)
}

/// `duration SECONDS`: a number of seconds as a Go duration (`90` → `1m30s`).
pub fn duration(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let secs = match args::arg(a, 0)? {
        Value::Str(t) => t.as_str().trim().parse::<i64>().unwrap_or(0),
        other => args::to_int64(other),
    };
    derived(go_duration(i128::from(secs) * NANOS), a)
}

/// `durationRound D`: a duration (Go syntax, or nanoseconds) or the time since a time,
/// reduced to its largest unit (`2h10m` → `2h`, 400 days → `1y`).
pub fn duration_round(a: &[Value], env: &FuncEnv) -> Result<Value, FuncError> {
    let v = args::arg(a, 0)?;
    let nanos = match v {
        Value::Str(t) => match parse_duration(t.as_str().trim()) {
            Ok(d) => d,
            Err(_) => since(time_of(v)?, env),
        },
        Value::Int(n) => i128::from(*n),
        other => {
            return Err(FuncError::new(format!(
                "expected a duration or a time, got {}",
                describe(other)
            )));
        }
    };
    derived(rounded(nanos), a)
}

/// `ago T`: the time since `T`, to the second, as a Go duration.
pub fn ago(a: &[Value], env: &FuncEnv) -> Result<Value, FuncError> {
    let d = since(time_of(args::arg(a, 0)?)?, env);
    let secs = d / NANOS
        + if (d % NANOS).abs() * 2 >= NANOS {
            d.signum()
        } else {
            0
        };
    derived(go_duration(secs * NANOS), a)
}

fn since(t: Time, env: &FuncEnv) -> i128 {
    env.now.as_nanosecond() - t.at.as_nanosecond()
}

const NANOS: i128 = 1_000_000_000;

fn rounded(nanos: i128) -> String {
    let u = nanos.unsigned_abs();
    let hour = 3600 * NANOS.unsigned_abs();
    let units = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (hour / 60, "m"),
        (hour / 3600, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".to_owned()
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i128, FuncError> {
    let invalid = || FuncError::new(format!("invalid duration {s:?}"));
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => f.split_at(f.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(i, _)| i);
        let (unit, tail) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS,
            "m" => 60 * NANOS,
            "h" => 3600 * NANOS,
            _ => return Err(invalid()),
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut frac_nanos: i128 = 0;
        let mut div: i128 = 1;
        for b in frac_part.bytes().take(18) {
            frac_nanos = frac_nanos * 10 + i128::from(b - b'0');
            div *= 10;
        }
        total = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac_nanos * scale / div))
            .and_then(|w| total.checked_add(w))
            .filter(|t| *t <= i128::from(i64::MAX))
            .ok_or_else(invalid)?;
        rest = tail;
    }
    Ok(if neg { -total } else { total })
}

/// Go's `time.Duration.String`.
pub fn go_duration(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    let frac = |v: u128, unit: u128, width: usize| {
        let f = format!("{:0width$}", v % unit);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            format!("{}", v / unit)
        } else {
            format!("{}.{f}", v / unit)
        }
    };
    if u == 0 {
        return "0s".to_owned();
    }
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}µs", frac(u, 1_000, 3));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", frac(u, 1_000_000, 6));
    }
    let secs = u / 1_000_000_000;
    let (h, m) = (secs / 3600, secs / 60 % 60);
    let s = frac(u % 60_000_000_000, 1_000_000_000, 9);
    let mut out = sign.to_owned();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{s}s"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let s = NANOS;
        assert_eq!(go_duration(90 * s), "1m30s");
        assert_eq!(go_duration(3600 * s), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(2_000), "2µs");
        assert_eq!(go_duration(5), "5ns");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(-61 * s), "-1m1s");
        assert_eq!(parse_duration("1h30m").ok(), Some(5400 * s));
        assert_eq!(parse_duration("-1.5h").ok(), Some(-5400 * s));
        assert_eq!(parse_duration("300ms").ok(), Some(300_000_000));
        assert_eq!(parse_duration("0").ok(), Some(0));
        for bad in ["", "1", "h", "1x", "1.h.", "9999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(rounded(2 * 3600 * s + 600 * s), "2h");
        assert_eq!(rounded(400 * 86_400 * s), "1y");
        assert_eq!(rounded(45 * 86_400 * s), "1mo");
        assert_eq!(rounded(0), "0s");
    }

    #[test]
    fn zones_are_fixed() {
        assert_eq!(zone("UTC").ok(), Some(0));
        assert_eq!(zone("+02:00").ok(), Some(7200));
        assert_eq!(zone("-0530").ok(), Some(-19_800));
        assert!(zone("Europe/Berlin").is_err());
    }
}
