//! Durations exactly as Go writes and reads them.
//!
//! Breakglass stores durations as Go strings (`maxValidFor: 1h0m0s`,
//! `retainFor: 720h`) and users type them; parsing and printing must agree
//! with Go byte for byte, including negative values, fractions, `µs`, `0`
//! without a unit and overflow errors. No crate does (jiff rejects `0`,
//! humantime rejects `-1h` and accepts `1d`), so this is a port of
//! `time.ParseDuration` and `Duration.String`, plus the breakglass extensions:
//! a leading day component (`7d`, `1d12h`) and the two CRD string patterns.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A signed span of nanoseconds with Go's `time.Duration` range and text
/// format. `Display` is Go's `Duration.String()`, `FromStr` is
/// `time.ParseDuration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(i64);

/// Largest number of days accepted in a day-prefixed duration.
pub const MAX_DAYS: u64 = 365;

/// Default session validity (`maxValidFor`) when none is configured.
pub const DEFAULT_VALID_FOR: GoDuration = GoDuration::HOUR;
/// Default approval timeout of an escalation.
pub const DEFAULT_APPROVAL_TIMEOUT: GoDuration = GoDuration::HOUR;
/// Default retention of terminal sessions (30 days).
pub const DEFAULT_RETAIN_FOR: GoDuration = GoDuration(720 * GoDuration::HOUR.0);

impl GoDuration {
    /// Zero length.
    pub const ZERO: Self = Self(0);
    /// One nanosecond.
    pub const NANOSECOND: Self = Self(1);
    /// One microsecond.
    pub const MICROSECOND: Self = Self(1_000);
    /// One millisecond.
    pub const MILLISECOND: Self = Self(1_000_000);
    /// One second.
    pub const SECOND: Self = Self(1_000_000_000);
    /// One minute.
    pub const MINUTE: Self = Self(60 * Self::SECOND.0);
    /// One hour.
    pub const HOUR: Self = Self(60 * Self::MINUTE.0);
    /// One day of the day-prefix syntax (always 24 hours).
    pub const DAY: Self = Self(24 * Self::HOUR.0);
    /// Smallest representable duration (about −292 years).
    pub const MIN: Self = Self(i64::MIN);
    /// Largest representable duration (about 292 years).
    pub const MAX: Self = Self(i64::MAX);

    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// A duration of `secs` seconds, `None` if out of range.
    pub const fn from_secs(secs: i64) -> Option<Self> {
        match secs.checked_mul(Self::SECOND.0) {
            Some(n) => Some(Self(n)),
            None => None,
        }
    }

    /// The length in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds, truncated toward zero (Go's `int64(d.Seconds())`).
    pub const fn as_secs(self) -> i64 {
        self.0 / Self::SECOND.0
    }

    /// True for durations greater than zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Sum, `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(n) => Some(Self(n)),
            None => None,
        }
    }

    /// Product with an integer, `None` on overflow.
    pub const fn checked_mul(self, factor: i64) -> Option<Self> {
        match self.0.checked_mul(factor) {
            Some(n) => Some(Self(n)),
            None => None,
        }
    }

    /// The same span as a jiff duration (always representable).
    pub const fn to_signed_duration(self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_nanos(self.0)
    }

    /// Converts a jiff duration, `None` if it exceeds Go's ±292-year range.
    pub fn from_signed_duration(d: jiff::SignedDuration) -> Option<Self> {
        i64::try_from(d.as_nanos()).ok().map(Self)
    }

    /// `ts + self`, `None` if the result leaves jiff's timestamp range.
    pub fn after(self, ts: jiff::Timestamp) -> Option<jiff::Timestamp> {
        ts.checked_add(self.to_signed_duration()).ok()
    }

    /// Parses with Go's `time.ParseDuration`.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        parse_go(s).map_err(|kind| kind.into_error(s))
    }

    /// Parses the breakglass duration syntax: an optional leading day
    /// component (`Nd`, 1d = 24h, N ≤ 365, no sign, no fraction) followed by
    /// an optional Go duration; without a day component it is plain Go
    /// syntax (signs allowed). The empty string is zero, as in the
    /// reference's `ParseDuration`.
    ///
    /// `1d12h` = 36h, `1d1.5h` = 25h30m, `7d` = 168h.
    pub fn parse_with_days(s: &str) -> Result<Self, DurationError> {
        if s.is_empty() {
            return Ok(Self::ZERO);
        }
        let Some(d_at) = s.find('d') else {
            return Self::parse(s);
        };
        let (days_text, rest) = (&s[..d_at], &s[d_at + 1..]);
        if days_text.is_empty() || !days_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ErrorKind::Invalid.into_error(s));
        }
        let days = days_text.parse::<u64>().unwrap_or(u64::MAX);
        if days > MAX_DAYS {
            return Err(DurationError::TooManyDays {
                input: s.to_owned(),
                days: days_text.to_owned(),
            });
        }
        // MAX_DAYS keeps this far inside the i64 range.
        let day_part = Self(days as i64 * Self::DAY.0);
        if rest.is_empty() {
            return Ok(day_part);
        }
        // The CRD pattern allows no sign after the day component; rejecting it
        // here keeps "1d-1h" from meaning 23h.
        if rest.starts_with(['+', '-']) {
            return Err(ErrorKind::Invalid.into_error(s));
        }
        let rest = parse_go(rest).map_err(|kind| kind.into_error(s))?;
        day_part
            .checked_add(rest)
            .ok_or_else(|| ErrorKind::Invalid.into_error(s))
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`: `1h0m0s`, `1.5s`, `100ms`, `1µs`, `0s`, `-2m3s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go(self.0))
    }
}

impl FromStr for GoDuration {
    type Err = DurationError;

    /// Go's `time.ParseDuration` (no day component).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl From<GoDuration> for jiff::SignedDuration {
    fn from(d: GoDuration) -> Self {
        d.to_signed_duration()
    }
}

/// Why a duration string was rejected. The messages of the first three
/// variants are Go's, character for character.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// Malformed number, empty input or out of range.
    #[error("time: invalid duration {}", go_quote(input))]
    Invalid {
        /// The whole input.
        input: String,
    },
    /// A number without a unit (other than a lone `0`).
    #[error("time: missing unit in duration {}", go_quote(input))]
    MissingUnit {
        /// The whole input.
        input: String,
    },
    /// A unit other than ns, us, µs, μs, ms, s, m, h.
    #[error(
        "time: unknown unit {} in duration {}",
        go_quote(unit),
        go_quote(input)
    )]
    UnknownUnit {
        /// The unrecognised unit.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// A day component above [`MAX_DAYS`].
    #[error("invalid duration {input:?}: day count {days} exceeds the maximum of 365 days")]
    TooManyDays {
        /// The whole input.
        input: String,
        /// The day count as written.
        days: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ErrorKind {
    Invalid,
    MissingUnit,
    UnknownUnit(String),
}

impl ErrorKind {
    fn into_error(self, input: &str) -> DurationError {
        let input = input.to_owned();
        match self {
            Self::Invalid => DurationError::Invalid { input },
            Self::MissingUnit => DurationError::MissingUnit { input },
            Self::UnknownUnit(unit) => DurationError::UnknownUnit { unit, input },
        }
    }
}

const OVERFLOW: u64 = 1 << 63;

fn unit_nanos(unit: &[u8]) -> Option<u64> {
    Some(match unit {
        b"ns" => 1,
        // "µs" (U+00B5 micro sign) and "μs" (U+03BC greek mu) are both accepted.
        b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60_000_000_000,
        b"h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Port of Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`.
fn parse_go(input: &str) -> Result<GoDuration, ErrorKind> {
    let mut s = input.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(GoDuration::ZERO);
    }
    if s.is_empty() {
        return Err(ErrorKind::Invalid);
    }
    let mut d: u64 = 0;
    while let Some(&first) = s.first() {
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(ErrorKind::Invalid);
        }
        let before = s.len();
        let (mut v, rest) = leading_int(s).ok_or(ErrorKind::Invalid)?;
        s = rest;
        let pre = before != s.len();

        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            let (frac, sc, rest) = leading_fraction(s);
            (f, scale, s) = (frac, sc, rest);
            post = before != s.len();
        }
        if !pre && !post {
            // No digits at all, e.g. ".s".
            return Err(ErrorKind::Invalid);
        }

        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(ErrorKind::MissingUnit);
        }
        let (unit_text, rest) = s.split_at(unit_len);
        s = rest;
        let unit = unit_nanos(unit_text).ok_or_else(|| {
            ErrorKind::UnknownUnit(String::from_utf8_lossy(unit_text).into_owned())
        })?;
        if v > OVERFLOW / unit {
            return Err(ErrorKind::Invalid);
        }
        v *= unit;
        if f > 0 {
            // Go computes the fraction in float64; nanosecond-accurate for
            // every unit up to hours, and the rounding must match Go's.
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > OVERFLOW {
                return Err(ErrorKind::Invalid);
            }
        }
        // Go lets this sum wrap in one corner case (2^63 + 2^63); we reject it.
        d = d.checked_add(v).ok_or(ErrorKind::Invalid)?;
        if d > OVERFLOW {
            return Err(ErrorKind::Invalid);
        }
    }
    if neg {
        // d ≤ 2^63, so the negation fits (2^63 becomes i64::MIN).
        return Ok(GoDuration(0i64.wrapping_sub_unsigned(d)));
    }
    i64::try_from(d)
        .map(GoDuration)
        .map_err(|_| ErrorKind::Invalid)
}

/// Consumes leading `[0-9]*`; `None` on overflow past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > OVERFLOW / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > OVERFLOW {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Consumes leading `[0-9]*` of a fraction; stops gaining precision instead
/// of failing when the digits overflow.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1f64;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        let c = s[i];
        i += 1;
        if overflow {
            continue;
        }
        if x > (OVERFLOW - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > OVERFLOW {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[i..])
}

/// Port of Go's `Duration.String`.
fn format_go(d: i64) -> String {
    // Built back to front, as Go does.
    let mut out: Vec<u8> = Vec::with_capacity(32);
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    if u < 1_000_000_000 {
        // Below one second use ns, µs or ms with a fraction, e.g. "1.2ms".
        out.push(b's');
        let prec = match u {
            0 => return "0s".to_owned(),
            1..1_000 => {
                out.push(b'n');
                0
            }
            1_000..1_000_000 => {
                // "µ" is U+00B5, pushed reversed.
                out.extend_from_slice(&[0xB5, 0xC2]);
                3
            }
            _ => {
                out.push(b'm');
                6
            }
        };
        u = fmt_frac(&mut out, u, prec);
        fmt_int(&mut out, u);
    } else {
        out.push(b's');
        u = fmt_frac(&mut out, u, 9);
        fmt_int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            fmt_int(&mut out, u % 60);
            u /= 60;
            // Stop at hours: days have no fixed length in Go's model.
            if u > 0 {
                out.push(b'h');
                fmt_int(&mut out, u);
            }
        }
    }
    if neg {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Pushes (reversed) the fraction of `v / 10^prec` without trailing zeros,
/// and the decimal point only if there is a fraction. Returns `v / 10^prec`.
fn fmt_frac(out: &mut Vec<u8>, mut v: u64, prec: u32) -> u64 {
    let mut print = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        print = print || digit != 0;
        if print {
            out.push(b'0' + digit);
        }
        v /= 10;
    }
    if print {
        out.push(b'.');
    }
    v
}

/// Pushes (reversed) the decimal digits of `v`.
fn fmt_int(out: &mut Vec<u8>, mut v: u64) {
    if v == 0 {
        out.push(b'0');
        return;
    }
    while v > 0 {
        out.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
}

/// Go's `time.quote`: double quotes, `"` and `\` escaped, control and
/// non-ASCII characters as `\x..` bytes.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c < ' ' || !c.is_ascii() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Parses `value` with [`GoDuration::parse_with_days`] and falls back to
/// `default` when it is absent, empty, invalid, zero or negative — the
/// reference's rule for `retainFor` and similar optional settings.
pub fn parse_or_default(value: Option<&str>, default: GoDuration) -> GoDuration {
    match value.map(GoDuration::parse_with_days) {
        Some(Ok(d)) if d.is_positive() => d,
        _ => default,
    }
}

/// Effective retention of a terminal session: `retainFor`, or 720h when it is
/// unset, invalid, zero or negative.
pub fn retain_for_or_default(retain_for: Option<&str>) -> GoDuration {
    parse_or_default(retain_for, DEFAULT_RETAIN_FOR)
}

/// Effective session validity: `maxValidFor`, or 1h when it is unset,
/// invalid, zero or negative.
pub fn valid_for_or_default(max_valid_for: Option<&str>) -> GoDuration {
    parse_or_default(max_valid_for, DEFAULT_VALID_FOR)
}

/// The CRD pattern of escalation and session durations:
/// `^([0-9]+d([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))*|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$`.
///
/// Stricter than the parser: no sign, no `µs`, no bare `0`, no `.5s`.
pub fn matches_escalation_pattern(s: &str) -> bool {
    let mut rest = s.as_bytes();
    let digits = count_digits(rest);
    let mut components = 0usize;
    if digits > 0 && rest.get(digits) == Some(&b'd') {
        rest = &rest[digits + 1..];
        components += 1;
    }
    while !rest.is_empty() {
        let n = count_digits(rest);
        if n == 0 {
            return false;
        }
        rest = &rest[n..];
        if rest.first() == Some(&b'.') {
            let n = count_digits(&rest[1..]);
            if n == 0 {
                return false;
            }
            rest = &rest[1 + n..];
        }
        let Some(unit_len) = pattern_unit(rest, false) else {
            return false;
        };
        rest = &rest[unit_len..];
        components += 1;
    }
    components > 0
}

/// The looser CRD pattern of debug-session durations:
/// `^([0-9]+(ns|us|ms|s|m|h|d))+$` — integers only, `d` allowed anywhere.
pub fn matches_debug_pattern(s: &str) -> bool {
    let mut rest = s.as_bytes();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let n = count_digits(rest);
        if n == 0 {
            return false;
        }
        rest = &rest[n..];
        let Some(unit_len) = pattern_unit(rest, true) else {
            return false;
        };
        rest = &rest[unit_len..];
    }
    true
}

fn count_digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Length of the unit at the start of `s`. The longest alternative is always
/// right: a unit is followed by a digit or the end, never by `s`.
fn pattern_unit(s: &[u8], allow_days: bool) -> Option<usize> {
    match s {
        [b'n' | b'u' | b'm', b's', ..] => Some(2),
        [b's' | b'm' | b'h', ..] => Some(1),
        [b'd', ..] if allow_days => Some(1),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
