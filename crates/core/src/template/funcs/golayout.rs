//! Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`): splitting a layout into
//! elements the way Go's `time` package does, formatting a civil time with them and
//! parsing text back.

use jiff::civil::DateTime;

/// A piece of a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Elem {
    Lit(String),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm {
        upper: bool,
    },
    ZoneName,
    /// Numeric offset: `z` writes `Z` for UTC; `colon` separates; `secs` adds seconds;
    /// `hours_only` for `-07`.
    Offset {
        z: bool,
        colon: bool,
        secs: bool,
        hours_only: bool,
    },
    /// Fractional seconds: separator, digits, trailing zeros kept (`0`) or trimmed (`9`).
    Frac {
        sep: char,
        digits: usize,
        zeros: bool,
    },
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn offset_elem(rest: &str, z: bool) -> Option<(Elem, usize)> {
    let lead = if z { "Z" } else { "-" };
    let forms: [(&str, bool, bool, bool); 5] = [
        ("070000", false, true, false),
        ("07:00:00", true, true, false),
        ("0700", false, false, false),
        ("07:00", true, false, false),
        ("07", false, false, true),
    ];
    let body = rest.strip_prefix(lead)?;
    forms
        .iter()
        .find(|(f, ..)| body.starts_with(f))
        .map(|(f, colon, secs, hours_only)| {
            (
                Elem::Offset {
                    z,
                    colon: *colon,
                    secs: *secs,
                    hours_only: *hours_only,
                },
                f.len() + 1,
            )
        })
}

fn starts_lower(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// The element at the start of `rest`, with its length, or `None` for a literal byte.
fn elem_at(rest: &str) -> Option<(Elem, usize)> {
    let b = rest.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    match at(0) {
        b'J' if rest.starts_with("January") => Some((Elem::LongMonth, 7)),
        b'J' if rest.starts_with("Jan") && !starts_lower(&rest[3..]) => Some((Elem::Month, 3)),
        b'M' if rest.starts_with("Monday") => Some((Elem::LongWeekDay, 6)),
        b'M' if rest.starts_with("Mon") && !starts_lower(&rest[3..]) => Some((Elem::WeekDay, 3)),
        b'M' if rest.starts_with("MST") => Some((Elem::ZoneName, 3)),
        b'0' if (b'1'..=b'6').contains(&at(1)) => {
            let e = [
                Elem::ZeroMonth,
                Elem::ZeroDay,
                Elem::ZeroHour12,
                Elem::ZeroMinute,
                Elem::ZeroSecond,
                Elem::Year,
            ];
            e.into_iter().nth(usize::from(at(1) - b'1')).map(|e| (e, 2))
        }
        b'0' if at(1) == b'0' && at(2) == b'2' => Some((Elem::ZeroYearDay, 3)),
        b'1' if at(1) == b'5' => Some((Elem::Hour, 2)),
        b'1' => Some((Elem::NumMonth, 1)),
        b'2' if rest.starts_with("2006") => Some((Elem::LongYear, 4)),
        b'2' => Some((Elem::Day, 1)),
        b'_' if at(1) == b'2' && !rest[1..].starts_with("2006") => Some((Elem::UnderDay, 2)),
        b'_' if at(1) == b'_' && at(2) == b'2' => Some((Elem::UnderYearDay, 3)),
        b'3' => Some((Elem::Hour12, 1)),
        b'4' => Some((Elem::Minute, 1)),
        b'5' => Some((Elem::Second, 1)),
        b'P' if at(1) == b'M' => Some((Elem::Pm { upper: true }, 2)),
        b'p' if at(1) == b'm' => Some((Elem::Pm { upper: false }, 2)),
        b'-' => offset_elem(rest, false),
        b'Z' => offset_elem(rest, true),
        c @ (b'.' | b',') if matches!(at(1), b'0' | b'9') => {
            let digit = at(1);
            let n = b[1..].iter().take_while(|&&x| x == digit).count();
            if at(1 + n).is_ascii_digit() {
                return None;
            }
            Some((
                Elem::Frac {
                    sep: char::from(c),
                    digits: n,
                    zeros: digit == b'0',
                },
                1 + n,
            ))
        }
        _ => None,
    }
}

fn elements(layout: &str) -> Vec<Elem> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < layout.len() {
        if let Some((e, n)) = elem_at(&layout[i..]) {
            if !lit.is_empty() {
                out.push(Elem::Lit(std::mem::take(&mut lit)));
            }
            out.push(e);
            i += n;
        } else {
            let c = layout[i..].chars().next().unwrap_or(' ');
            lit.push(c);
            i += c.len_utf8();
        }
    }
    if !lit.is_empty() {
        out.push(Elem::Lit(lit));
    }
    out
}

fn offset_text(offset: i32, z: bool, colon: bool, secs: bool, hours_only: bool) -> String {
    if z && offset == 0 {
        return "Z".to_owned();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.unsigned_abs();
    let (h, m, s) = (o / 3600, o / 60 % 60, o % 60);
    let sep = if colon { ":" } else { "" };
    let mut out = format!("{sign}{h:02}");
    if !hours_only {
        out.push_str(&format!("{sep}{m:02}"));
    }
    if secs {
        out.push_str(&format!("{sep}{s:02}"));
    }
    out
}

/// `dt` (a civil time at `offset` seconds east of UTC) written with a Go layout.
pub fn format(layout: &str, dt: DateTime, offset: i32) -> String {
    let mut out = String::new();
    let month = usize::try_from(dt.month() - 1).unwrap_or(0);
    let weekday = usize::from(dt.weekday().to_monday_zero_offset().unsigned_abs());
    let hour12 = match dt.hour() % 12 {
        0 => 12,
        h => h,
    };
    for e in elements(layout) {
        let piece = match e {
            Elem::Lit(s) => s,
            Elem::LongMonth => LONG_MONTHS[month].to_owned(),
            Elem::Month => LONG_MONTHS[month][..3].to_owned(),
            Elem::NumMonth => dt.month().to_string(),
            Elem::ZeroMonth => format!("{:02}", dt.month()),
            Elem::LongWeekDay => LONG_DAYS[weekday].to_owned(),
            Elem::WeekDay => LONG_DAYS[weekday][..3].to_owned(),
            Elem::Day => dt.day().to_string(),
            Elem::UnderDay => format!("{:>2}", dt.day()),
            Elem::ZeroDay => format!("{:02}", dt.day()),
            Elem::UnderYearDay => format!("{:>3}", dt.day_of_year()),
            Elem::ZeroYearDay => format!("{:03}", dt.day_of_year()),
            Elem::Hour => format!("{:02}", dt.hour()),
            Elem::Hour12 => hour12.to_string(),
            Elem::ZeroHour12 => format!("{hour12:02}"),
            Elem::Minute => dt.minute().to_string(),
            Elem::ZeroMinute => format!("{:02}", dt.minute()),
            Elem::Second => dt.second().to_string(),
            Elem::ZeroSecond => format!("{:02}", dt.second()),
            Elem::LongYear => format!("{:04}", dt.year()),
            Elem::Year => format!("{:02}", dt.year().rem_euclid(100)),
            Elem::Pm { upper } => {
                let pm = if dt.hour() >= 12 { "PM" } else { "AM" };
                if upper {
                    pm.to_owned()
                } else {
                    pm.to_lowercase()
                }
            }
            Elem::ZoneName if offset == 0 => "UTC".to_owned(),
            Elem::ZoneName => offset_text(offset, false, false, false, false),
            Elem::Offset {
                z,
                colon,
                secs,
                hours_only,
            } => offset_text(offset, z, colon, secs, hours_only),
            Elem::Frac { sep, digits, zeros } => {
                frac_text(sep, digits, zeros, dt.subsec_nanosecond())
            }
        };
        out.push_str(&piece);
    }
    out
}

fn frac_text(sep: char, digits: usize, zeros: bool, nanos: i32) -> String {
    let all = format!("{:09}", nanos.max(0));
    let mut d = all[..digits.min(9)].to_owned();
    if !zeros {
        while d.ends_with('0') {
            d.pop();
        }
        if d.is_empty() {
            return String::new();
        }
    }
    format!("{sep}{d}")
}

/// What parsing found.
#[derive(Debug, Default)]
struct Fields {
    year: i16,
    month: i8,
    day: i8,
    yday: Option<i16>,
    hour: i8,
    minute: i8,
    second: i8,
    nanos: i32,
    pm: Option<bool>,
    offset: i32,
}

/// Text parsed with a Go layout: the civil time and its offset (seconds east of UTC;
/// 0 when the layout has no zone).
pub fn parse(layout: &str, text: &str) -> Result<(DateTime, i32), String> {
    let mut f = Fields {
        year: 0,
        month: 1,
        day: 1,
        ..Fields::default()
    };
    let mut rest = text;
    let elems = elements(layout);
    for (i, e) in elems.iter().enumerate() {
        rest = parse_elem(e, rest, &mut f).map_err(|m| format!("cannot parse {rest:?}: {m}"))?;
        let next_is_frac = matches!(elems.get(i + 1), Some(Elem::Frac { .. }));
        if matches!(e, Elem::Second | Elem::ZeroSecond) && !next_is_frac {
            rest = optional_frac(rest, &mut f);
        }
    }
    if !rest.is_empty() {
        return Err(format!("extra text {rest:?}"));
    }
    match f.pm {
        Some(true) if f.hour < 12 => f.hour += 12,
        Some(false) if f.hour == 12 => f.hour = 0,
        _ => {}
    }
    let mut date = jiff::civil::Date::new(f.year, f.month, f.day).map_err(|e| e.to_string())?;
    if let Some(yday) = f.yday {
        date = date
            .with()
            .day_of_year(yday)
            .build()
            .map_err(|e| e.to_string())?;
    }
    let dt = date
        .at(f.hour, f.minute, f.second, f.nanos)
        .with()
        .build()
        .map_err(|e| e.to_string())?;
    Ok((dt, f.offset))
}

fn digits(s: &str, min: usize, max: usize) -> Result<(i64, &str), String> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return Err("expected a number".to_owned());
    }
    let v = s[..n].parse().map_err(|_| "expected a number".to_owned())?;
    Ok((v, &s[n..]))
}

fn small<T: TryFrom<i64>>(v: i64, what: &str) -> Result<T, String> {
    T::try_from(v).map_err(|_| format!("{what} out of range"))
}

fn name_index(s: &str, names: &[&str], len: Option<usize>) -> Result<(usize, usize), String> {
    for (i, n) in names.iter().enumerate() {
        let n = len.map_or(*n, |l| &n[..l]);
        if s.len() >= n.len() && s.is_char_boundary(n.len()) && s[..n.len()].eq_ignore_ascii_case(n)
        {
            return Ok((i, n.len()));
        }
    }
    Err("expected a name".to_owned())
}

fn parse_elem<'a>(e: &Elem, s: &'a str, f: &mut Fields) -> Result<&'a str, String> {
    let num = |min: usize, max: usize| digits(s, min, max);
    Ok(match e {
        Elem::Lit(l) => s
            .strip_prefix(l.as_str())
            .ok_or_else(|| format!("expected {l:?}"))?,
        Elem::LongMonth | Elem::Month => {
            let short = matches!(e, Elem::Month).then_some(3);
            let (i, n) = name_index(s, &LONG_MONTHS, short)?;
            f.month = small(i64::try_from(i).unwrap_or(0) + 1, "month")?;
            &s[n..]
        }
        Elem::LongWeekDay | Elem::WeekDay => {
            let short = matches!(e, Elem::WeekDay).then_some(3);
            &s[name_index(s, &LONG_DAYS, short)?.1..]
        }
        Elem::NumMonth | Elem::ZeroMonth => {
            let (v, r) = num(if *e == Elem::ZeroMonth { 2 } else { 1 }, 2)?;
            f.month = small(v, "month")?;
            r
        }
        Elem::Day | Elem::ZeroDay | Elem::UnderDay => {
            let t = if *e == Elem::UnderDay {
                s.strip_prefix(' ').unwrap_or(s)
            } else {
                s
            };
            let (v, r) = digits(t, if *e == Elem::ZeroDay { 2 } else { 1 }, 2)?;
            f.day = small(v, "day")?;
            r
        }
        Elem::UnderYearDay | Elem::ZeroYearDay => {
            let t = s.trim_start_matches(' ');
            let (v, r) = digits(t, if *e == Elem::ZeroYearDay { 3 } else { 1 }, 3)?;
            f.yday = Some(small(v, "day of year")?);
            r
        }
        Elem::Hour | Elem::Hour12 | Elem::ZeroHour12 => {
            let (v, r) = num(if *e == Elem::Hour12 { 1 } else { 2 }, 2)?;
            f.hour = small(v, "hour")?;
            r
        }
        Elem::Minute | Elem::ZeroMinute => {
            let (v, r) = num(if *e == Elem::Minute { 1 } else { 2 }, 2)?;
            f.minute = small(v, "minute")?;
            r
        }
        Elem::Second | Elem::ZeroSecond => {
            let (v, r) = num(if *e == Elem::Second { 1 } else { 2 }, 2)?;
            f.second = small(v, "second")?;
            r
        }
        Elem::LongYear => {
            let (v, r) = num(4, 4)?;
            f.year = small(v, "year")?;
            r
        }
        Elem::Year => {
            let (v, r) = num(2, 2)?;
            f.year = small(if v >= 69 { v + 1900 } else { v + 2000 }, "year")?;
            r
        }
        Elem::Pm { .. } => {
            let head = s.get(..2).ok_or("expected AM or PM")?;
            f.pm = match head.to_ascii_uppercase().as_str() {
                "AM" => Some(false),
                "PM" => Some(true),
                _ => return Err("expected AM or PM".to_owned()),
            };
            &s[2..]
        }
        Elem::ZoneName => {
            let n = s.bytes().take_while(u8::is_ascii_uppercase).count();
            if n < 3 {
                return Err("expected a time zone name".to_owned());
            }
            &s[n..]
        }
        Elem::Offset {
            z,
            colon,
            secs,
            hours_only,
        } => parse_offset(s, *z, *colon, *secs, *hours_only, &mut f.offset)?,
        Elem::Frac {
            sep,
            digits: n,
            zeros,
        } => {
            if *zeros {
                let body = s.strip_prefix(*sep).ok_or("expected fractional seconds")?;
                let (_, r) = digits(body, *n, *n)?;
                f.nanos = nanos_of(&body[..*n]);
                r
            } else {
                optional_frac(s, f)
            }
        }
    })
}

fn nanos_of(d: &str) -> i32 {
    let padded = format!("{:0<9}", &d[..d.len().min(9)]);
    padded.parse().unwrap_or(0)
}

fn optional_frac<'a>(s: &'a str, f: &mut Fields) -> &'a str {
    let Some(body) = s.strip_prefix(['.', ',']) else {
        return s;
    };
    let n = body.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return s;
    }
    f.nanos = nanos_of(&body[..n]);
    &body[n..]
}

fn parse_offset<'a>(
    s: &'a str,
    z: bool,
    colon: bool,
    secs: bool,
    hours_only: bool,
    out: &mut i32,
) -> Result<&'a str, String> {
    if let Some(r) = s.strip_prefix('Z').filter(|_| z) {
        *out = 0;
        return Ok(r);
    }
    let (sign, mut r) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err("expected a zone offset".to_owned()),
    };
    let part = |r: &mut &'a str, sep: bool| -> Result<i32, String> {
        if sep {
            *r = r
                .strip_prefix(':')
                .ok_or("expected ':' in the zone offset")?;
        }
        let (v, rest) = digits(r, 2, 2)?;
        *r = rest;
        small(v, "zone offset")
    };
    let h = part(&mut r, false)?;
    let m = if hours_only { 0 } else { part(&mut r, colon)? };
    let sec = if secs { part(&mut r, colon)? } else { 0 };
    *out = sign * (h * 3600 + m * 60 + sec);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt() -> DateTime {
        jiff::civil::date(2024, 3, 5).at(14, 7, 9, 120_000_000)
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            ("2006-01-02", "2024-03-05"),
            ("2006-01-02T15:04:05Z07:00", "2024-03-05T14:07:09Z"),
            ("Jan _2 15:04:05.000", "Mar  5 14:07:09.120"),
            (
                "Monday, January 2, 2006 3:04 PM",
                "Tuesday, March 5, 2024 2:07 PM",
            ),
            ("02/01/06 03pm", "05/03/24 02pm"),
            ("15:04:05.999999999", "14:07:09.12"),
            ("MST -0700 002", "UTC +0000 065"),
            ("Month 1", "Month 3"),
        ];
        for (layout, want) in cases {
            assert_eq!(format(layout, dt(), 0), want, "{layout}");
        }
        assert_eq!(
            format("2006-01-02T15:04:05Z07:00 MST", dt(), 5400),
            "2024-03-05T14:07:09+01:30 +0130"
        );
    }

    #[test]
    fn parses_like_go() {
        let (d, off) = parse("2006-01-02", "2024-03-05").unwrap_or_default();
        assert_eq!((d, off), (jiff::civil::date(2024, 3, 5).at(0, 0, 0, 0), 0));
        let (d, off) =
            parse("2006-01-02T15:04:05Z07:00", "2024-03-05T14:07:09.12+01:30").unwrap_or_default();
        assert_eq!((d, off), (dt(), 5400));
        let (d, _) = parse("Jan 2 2006 3:04PM", "mar 5 2024 2:07PM").unwrap_or_default();
        assert_eq!(d, jiff::civil::date(2024, 3, 5).at(14, 7, 0, 0));
        assert!(parse("2006-01-02", "2024-13-05").is_err());
        assert!(parse("2006-01-02", "2024-02-30").is_err());
        assert!(parse("2006-01-02", "2024-03-05x").is_err());
        assert!(parse("2006-01-02", "24-03-05").is_err());
    }
}
