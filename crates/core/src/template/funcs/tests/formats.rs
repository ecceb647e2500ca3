//! Regular expressions, dates, JSON and YAML through the table.

use super::*;

#[test]
fn regular_expressions() {
    table(&[
        (
            "regexMatch",
            vec![
                s(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[A-Za-z]{2,}$"),
                s("test@acme.com"),
            ],
            Value::Bool(true),
        ),
        ("regexMatch", vec![s("^a"), s("ba")], Value::Bool(false)),
        (
            "regexFindAll",
            vec![s("[2,4,6,8]"), s("123456789"), i(-1)],
            strs(&["2", "4", "6", "8"]),
        ),
        (
            "regexFindAll",
            vec![s("[2,4,6,8]"), s("123456789"), i(2)],
            strs(&["2", "4"]),
        ),
        ("regexFindAll", vec![s("x"), s("abc"), i(-1)], l(vec![])),
        (
            "regexFind",
            vec![s("[a-zA-Z][1-9]"), s("abcd1234")],
            s("d1"),
        ),
        ("regexFind", vec![s("z"), s("abcd1234")], s("")),
        (
            "regexReplaceAll",
            vec![s("a(x*)b"), s("-ab-axxb-"), s("${1}W")],
            s("-W-xxW-"),
        ),
        (
            "regexReplaceAll",
            vec![s("(?P<n>b)"), s("abc"), s("[$n]")],
            s("a[b]c"),
        ),
        (
            "regexReplaceAllLiteral",
            vec![s("a(x*)b"), s("-ab-axxb-"), s("${1}")],
            s("-${1}-${1}-"),
        ),
        (
            "regexSplit",
            vec![s("z+"), s("pizza"), i(-1)],
            strs(&["pi", "a"]),
        ),
        (
            "regexSplit",
            vec![s("z+"), s("pizza"), i(1)],
            strs(&["pizza"]),
        ),
        ("regexSplit", vec![s("z+"), s("pizza"), i(0)], l(vec![])),
        ("regexQuoteMeta", vec![s("1.2.3")], s(r"1\.2\.3")),
        ("regexQuoteMeta", vec![s("a+b(c)-d")], s(r"a\+b\(c\)-d")),
    ]);
    errors(&[
        (
            "regexMatch",
            vec![s("("), s("x")],
            "invalid pattern \"(\": unclosed group",
        ),
        (
            "regexFind",
            vec![s("a{99999}"), s("x")],
            "invalid pattern \"a{99999}\": Compiled regex exceeds size limit of 1048576 bytes",
        ),
    ]);
    let long = s(&"a".repeat(5000));
    assert_eq!(
        call("regexMatch", &[long, s("x")]).unwrap_err().0,
        "pattern is 5000 bytes, more than the limit of 4096"
    );
    let huge = call(
        "regexReplaceAll",
        &[s("x"), s(&"x".repeat(1000)), s(&"y".repeat(2000))],
    );
    assert!(huge.is_err(), "replacement output is bounded");
    assert!(tainted("regexFind", &[s("a+"), t("baa")]));
}

#[test]
fn dates_use_the_render_clock_and_go_layouts() {
    let now = call("now", &[]).unwrap();
    table(&[
        ("now", vec![], s("2024-03-05T14:07:09Z")),
        ("date", vec![s("2006-01-02"), now.clone()], s("2024-03-05")),
        (
            "date",
            vec![s("2006-01-02 15:04"), i(0)],
            s("1970-01-01 00:00"),
        ),
        (
            "date",
            vec![s("Mon Jan _2 3:04PM"), now.clone()],
            s("Tue Mar  5 2:07PM"),
        ),
        (
            "dateInZone",
            vec![s("15:04 MST"), now.clone(), s("+02:00")],
            s("16:07 +0200"),
        ),
        (
            "dateInZone",
            vec![s("15:04 MST"), now.clone(), s("UTC")],
            s("14:07 UTC"),
        ),
        ("htmlDate", vec![now.clone()], s("2024-03-05")),
        (
            "htmlDateInZone",
            vec![now.clone(), s("-14:00")],
            s("2024-03-05"),
        ),
        (
            "toDate",
            vec![s("2006-01-02"), s("2017-12-31")],
            s("2017-12-31T00:00:00Z"),
        ),
        (
            "toDate",
            vec![s("02/01/2006 15:04 -0700"), s("31/12/2017 10:00 +0100")],
            s("2017-12-31T10:00:00+01:00"),
        ),
        ("unixEpoch", vec![now.clone()], s("1709647629")),
        (
            "dateModify",
            vec![s("-1.5h"), now.clone()],
            s("2024-03-05T12:37:09Z"),
        ),
        (
            "dateModify",
            vec![s("24h"), s("2024-03-05T14:07:09.5+01:00")],
            s("2024-03-06T14:07:09.5+01:00"),
        ),
        ("duration", vec![i(95)], s("1m35s")),
        ("duration", vec![s("3600")], s("1h0m0s")),
        ("durationRound", vec![s("2h10m5s")], s("2h")),
        ("durationRound", vec![s("2024-03-04T14:07:08Z")], s("1d")),
        ("durationRound", vec![i(1_500_000_000)], s("1s")),
        ("ago", vec![s("2024-03-05T14:06:00Z")], s("1m9s")),
        ("ago", vec![i(1_709_647_629)], s("0s")),
    ]);
    errors(&[
        (
            "date",
            vec![s("2006"), s("yesterday")],
            "not an RFC 3339 time: cannot parse \"yesterday\": expected a number",
        ),
        (
            "date",
            vec![s("2006"), l(vec![])],
            "expected a time (RFC 3339 string or Unix seconds), got slice",
        ),
        (
            "dateInZone",
            vec![s("2006"), now.clone(), s("Europe/Berlin")],
            "unknown time zone \"Europe/Berlin\": use UTC or a fixed offset like +02:00 (named \
             zones depend on the server and are not supported)",
        ),
        (
            "toDate",
            vec![s("2006-01-02"), s("2017/12/31")],
            "cannot parse \"/12/31\": expected \"-\"",
        ),
        ("dateModify", vec![s("1x"), now], "invalid duration \"1x\""),
    ]);
}

#[test]
fn json_and_yaml_round_trip() {
    let v = m(&[("a", l(vec![i(1), s("x")])), ("b", m(&[("c", Value::Nil)]))]);
    let json = call("toJson", std::slice::from_ref(&v)).unwrap();
    assert_eq!(
        json.as_text().unwrap().as_str(),
        r#"{"a":[1,"x"],"b":{"c":null}}"#
    );
    let back = call("fromJson", &[json]).unwrap();
    assert!(deep_eq(&back, &v));
    let yaml = call("toYaml", std::slice::from_ref(&v)).unwrap();
    assert_eq!(
        yaml.as_text().unwrap().as_str(),
        "a:\n- 1\n- x\nb:\n  c: null"
    );
    let back = call("fromYaml", &[yaml]).unwrap();
    assert!(deep_eq(&back, &v));
    errors(&[
        (
            "fromJson",
            vec![s("{\"a\":")],
            "invalid JSON: EOF while parsing a value at line 1 column 5",
        ),
        (
            "toJson",
            vec![Value::Float(f64::INFINITY)],
            "json: unsupported value: +Inf",
        ),
    ]);
}
