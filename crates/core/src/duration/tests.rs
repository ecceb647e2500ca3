use super::*;
use proptest::prelude::*;

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;

/// Go's `parseDurationTests` (`src/time/time_test.go`).
#[test]
fn go_parse_vectors() {
    let rows: &[(&str, i64)] = &[
        ("0", 0),
        ("5s", 5 * S),
        ("30s", 30 * S),
        ("1478s", 1478 * S),
        ("-5s", -5 * S),
        ("+5s", 5 * S),
        ("-0", 0),
        ("+0", 0),
        ("5.0s", 5 * S),
        ("5.6s", 5 * S + 600 * MS),
        ("5.s", 5 * S),
        (".5s", 500 * MS),
        ("1.0s", S),
        ("1.00s", S),
        ("1.004s", S + 4 * MS),
        ("1.0040s", S + 4 * MS),
        ("100.00100s", 100 * S + MS),
        ("10ns", 10 * NS),
        ("11us", 11 * US),
        ("12µs", 12 * US),
        ("12μs", 12 * US),
        ("13ms", 13 * MS),
        ("14s", 14 * S),
        ("15m", 15 * M),
        ("16h", 16 * H),
        ("3h30m", 3 * H + 30 * M),
        ("10.5s4m", 4 * M + 10 * S + 500 * MS),
        ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
        (
            "1h2m3s4ms5us6ns",
            H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS,
        ),
        ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
        ("52763797000ns", 52763797000 * NS),
        ("0.3333333333333333333h", 20 * M),
        ("9007199254740993ns", (1 << 53) + 1),
        ("9223372036854775807ns", i64::MAX),
        ("9223372036854775.807us", i64::MAX),
        ("9223372036s854ms775us807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
        ("-9223372036854775.808us", i64::MIN),
        ("-9223372036s854ms775us808ns", i64::MIN),
        ("-9223372036854775808ns", i64::MIN),
        ("-2562047h47m16.854775808s", i64::MIN),
        ("0.100000000000000000000h", 6 * M),
        (
            "0.830103483285477580700h",
            49 * M + 48 * S + 372_539_827 * NS,
        ),
    ];
    for &(input, want) in rows {
        assert_eq!(
            GoDuration::parse(input),
            Ok(GoDuration::from_nanos(want)),
            "parse({input:?})"
        );
    }
}

/// Go's `parseDurationErrorTests`, with Go's exact messages.
#[test]
fn go_parse_errors() {
    let rows: &[(&str, &str)] = &[
        ("", r#"time: invalid duration """#),
        ("3", r#"time: missing unit in duration "3""#),
        ("-", r#"time: invalid duration "-""#),
        ("s", r#"time: invalid duration "s""#),
        (".", r#"time: invalid duration ".""#),
        ("-.", r#"time: invalid duration "-.""#),
        (".s", r#"time: invalid duration ".s""#),
        ("+.s", r#"time: invalid duration "+.s""#),
        ("1d", r#"time: unknown unit "d" in duration "1d""#),
        (
            "\u{85}\u{85}",
            r#"time: invalid duration "\xc2\x85\xc2\x85""#,
        ),
        ("\u{FFFD}", r#"time: invalid duration "\xef\xbf\xbd""#),
        (
            "9223372036854775810ns",
            r#"time: invalid duration "9223372036854775810ns""#,
        ),
        (
            "9223372036854775808ns",
            r#"time: invalid duration "9223372036854775808ns""#,
        ),
        (
            "-9223372036854775809ns",
            r#"time: invalid duration "-9223372036854775809ns""#,
        ),
        (
            "9223372036854776us",
            r#"time: invalid duration "9223372036854776us""#,
        ),
        ("3000000h", r#"time: invalid duration "3000000h""#),
        (
            "9223372036854775.808us",
            r#"time: invalid duration "9223372036854775.808us""#,
        ),
        (
            "9223372036854ms775us808ns",
            r#"time: invalid duration "9223372036854ms775us808ns""#,
        ),
        ("1h 30m", r#"time: unknown unit "h " in duration "1h 30m""#),
        ("1x", r#"time: unknown unit "x" in duration "1x""#),
        ("a\"b", r#"time: invalid duration "a\"b""#),
    ];
    for &(input, want) in rows {
        let err = GoDuration::parse(input).unwrap_err();
        assert_eq!(err.to_string(), want, "parse({input:?})");
    }
}

/// Go's `durationTests` for `Duration.String`.
#[test]
fn go_format_vectors() {
    let rows: &[(i64, &str)] = &[
        (0, "0s"),
        (1, "1ns"),
        (1100, "1.1µs"),
        (2200 * US, "2.2ms"),
        (3300 * MS, "3.3s"),
        (4 * M + 5 * S, "4m5s"),
        (4 * M + 5001 * MS, "4m5.001s"),
        (5 * H + 6 * M + 7001 * MS, "5h6m7.001s"),
        (8 * M + 1, "8m0.000000001s"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
        (H, "1h0m0s"),
        (1500 * MS, "1.5s"),
        (100 * MS, "100ms"),
        (-H, "-1h0m0s"),
        (-1, "-1ns"),
        (720 * H, "720h0m0s"),
        (90 * M, "1h30m0s"),
    ];
    for &(nanos, want) in rows {
        assert_eq!(GoDuration::from_nanos(nanos).to_string(), want);
    }
}

/// Breakglass duration syntax (tests-and-issues §3.8).
#[test]
fn parse_with_days_table() {
    let ok: &[(&str, i64)] = &[
        ("", 0),
        ("2h", 2 * H),
        ("1.5h", 90 * M),
        ("0.5m", 30 * S),
        ("500ms", 500 * MS),
        ("1h15m30s", H + 15 * M + 30 * S),
        ("1d", 24 * H),
        ("7d", 7 * 24 * H),
        ("365d", 365 * 24 * H),
        ("0d", 0),
        ("1d12h", 36 * H),
        ("2d6h", 54 * H),
        ("1d1.5h", 25 * H + 30 * M),
        ("7d12h30m", 7 * 24 * H + 12 * H + 30 * M),
        ("1d0", 24 * H),
        ("-1h", -H),
        ("0", 0),
    ];
    for &(input, want) in ok {
        assert_eq!(
            GoDuration::parse_with_days(input),
            Ok(GoDuration::from_nanos(want)),
            "parse_with_days({input:?})"
        );
    }
    let bad = [
        "abc",
        "1x",
        "1d1x",
        "366d",
        "1000d",
        "d",
        "1.5d",
        "-1d",
        "+1d",
        "1d-1h",
        "1d2d",
        "1h1d",
        " 1d",
        "99999999999999999999999d",
    ];
    for input in bad {
        assert!(
            GoDuration::parse_with_days(input).is_err(),
            "parse_with_days({input:?}) should fail"
        );
    }
    assert_eq!(
        GoDuration::parse_with_days("366d").unwrap_err().to_string(),
        "invalid duration \"366d\": day count 366 exceeds the maximum of 365 days"
    );
    // Errors name the whole input, not the part after the day.
    assert_eq!(
        GoDuration::parse_with_days("1d1x").unwrap_err().to_string(),
        r#"time: unknown unit "x" in duration "1d1x""#
    );
}

#[test]
fn defaults_for_invalid_or_non_positive() {
    let month = GoDuration::from_nanos(720 * H);
    assert_eq!(retain_for_or_default(None), month);
    assert_eq!(retain_for_or_default(Some("")), month);
    assert_eq!(retain_for_or_default(Some("bogus")), month);
    assert_eq!(retain_for_or_default(Some("0")), month);
    assert_eq!(retain_for_or_default(Some("0s")), month);
    assert_eq!(retain_for_or_default(Some("-1h")), month);
    assert_eq!(
        retain_for_or_default(Some("2h")),
        GoDuration::from_nanos(2 * H)
    );
    assert_eq!(
        retain_for_or_default(Some("7d")),
        GoDuration::from_nanos(168 * H)
    );
    assert_eq!(valid_for_or_default(None), GoDuration::HOUR);
    assert_eq!(valid_for_or_default(Some("-5m")), GoDuration::HOUR);
    assert_eq!(
        valid_for_or_default(Some("30m")),
        GoDuration::from_nanos(30 * M)
    );
}

#[test]
fn escalation_pattern_table() {
    let yes = [
        "1h",
        "1h30m",
        "1.5h",
        "300ms",
        "1us",
        "1ns",
        "7d",
        "1d12h",
        "1d1.5h",
        "0s",
        "1d0s",
        "10m5s500ms",
    ];
    let no = [
        "", "0", "-1h", "+1h", "1µs", "1", "d", "1.5d", "1h1d", ".5s", "1.s", "1h ", "1d2d", "1x",
    ];
    for s in yes {
        assert!(matches_escalation_pattern(s), "{s:?} should match");
    }
    for s in no {
        assert!(!matches_escalation_pattern(s), "{s:?} should not match");
    }
}

#[test]
fn debug_pattern_table() {
    let yes = ["1h", "30m", "1d", "1h2d", "1d1d", "500ms", "2h30m"];
    let no = ["", "1.5h", "-1h", "1", "h", "1w", "1h ", "1µs"];
    for s in yes {
        assert!(matches_debug_pattern(s), "{s:?} should match");
    }
    for s in no {
        assert!(!matches_debug_pattern(s), "{s:?} should not match");
    }
}

#[test]
fn conversions() {
    let d = GoDuration::from_nanos(90 * M + 5);
    assert_eq!(d.to_signed_duration(), jiff::SignedDuration::new(5400, 5));
    assert_eq!(GoDuration::from_signed_duration(d.into()), Some(d));
    assert_eq!(
        GoDuration::from_signed_duration(jiff::SignedDuration::MAX),
        None
    );
    assert_eq!(GoDuration::from_secs(3600), Some(GoDuration::HOUR));
    assert_eq!(GoDuration::from_secs(i64::MAX), None);
    assert_eq!(GoDuration::from_nanos(-1_500_000_000).as_secs(), -1);
    let ts: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    assert_eq!(
        GoDuration::HOUR.after(ts),
        Some("2026-01-01T01:00:00Z".parse().unwrap())
    );
    assert_eq!(GoDuration::MAX.after(jiff::Timestamp::MAX), None);
}

proptest! {
    #[test]
    fn format_then_parse_round_trips(nanos in any::<i64>()) {
        let d = GoDuration::from_nanos(nanos);
        prop_assert_eq!(GoDuration::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn format_then_parse_round_trips_small(nanos in -10_000_000_000_000i64..10_000_000_000_000) {
        let d = GoDuration::from_nanos(nanos);
        prop_assert_eq!(GoDuration::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn day_prefix_adds_days(days in 0u64..=365, rest in 0i64..100_000_000_000_000) {
        let rest = GoDuration::from_nanos(rest);
        let text = format!("{days}d{rest}");
        let want = GoDuration::from_nanos(days as i64 * 24 * H + rest.as_nanos());
        prop_assert_eq!(GoDuration::parse_with_days(&text), Ok(want));
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,16}") {
        let _ = GoDuration::parse(&s);
        let _ = GoDuration::parse_with_days(&s);
        let _ = matches_escalation_pattern(&s);
        let _ = matches_debug_pattern(&s);
    }

    #[test]
    fn parsers_never_panic_on_duration_alphabet(s in "[-+0-9.dnumshµ]{0,24}") {
        let _ = GoDuration::parse(&s);
        let _ = GoDuration::parse_with_days(&s);
    }

    #[test]
    fn escalation_pattern_implies_parseable(s in "[0-9.dnumsh]{1,6}") {
        // Six characters cannot overflow; only the day limit can reject.
        if matches_escalation_pattern(&s) {
            match GoDuration::parse_with_days(&s) {
                Ok(_) | Err(DurationError::TooManyDays { .. }) => {}
                Err(e) => prop_assert!(false, "{s:?}: {e}"),
            }
        }
    }
}
