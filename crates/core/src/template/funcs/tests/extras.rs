//! Type inspection, chunks, octal and path helpers.

use super::*;

#[test]
fn types_and_kinds() {
    table(&[
        ("typeOf", vec![i(1)], s("int")),
        ("typeOf", vec![strs(&[])], s("[]interface {}")),
        ("typeOf", vec![m(&[])], s("map[string]interface {}")),
        ("typeOf", vec![Value::Nil], s("<nil>")),
        ("kindOf", vec![strs(&[])], s("slice")),
        ("kindOf", vec![Value::Float(1.0)], s("float64")),
        ("kindIs", vec![s("map"), m(&[])], Value::Bool(true)),
        ("kindIs", vec![s("string"), i(1)], Value::Bool(false)),
        (
            "typeIs",
            vec![s("bool"), Value::Bool(false)],
            Value::Bool(true),
        ),
        (
            "deepEqual",
            vec![strs(&["a"]), l(vec![t("a")])],
            Value::Bool(true),
        ),
        ("deepEqual", vec![i(1), s("1")], Value::Bool(false)),
        ("deepCopy", vec![m(&[("a", i(1))])], m(&[("a", i(1))])),
    ]);
}

#[test]
fn chunks_octal_and_paths() {
    table(&[
        (
            "chunk",
            vec![i(2), l(vec![i(1), i(2), i(3)])],
            l(vec![l(vec![i(1), i(2)]), l(vec![i(3)])]),
        ),
        ("chunk", vec![i(3), l(vec![])], l(vec![])),
        ("toDecimal", vec![s("0777")], i(511)),
        ("toDecimal", vec![i(777)], i(511)),
        ("toDecimal", vec![s("9")], i(0)),
        ("base", vec![s("/a/b.txt")], s("b.txt")),
        ("base", vec![s("/a/b/")], s("b")),
        ("base", vec![s("")], s(".")),
        ("base", vec![s("///")], s("/")),
        ("dir", vec![s("/a/b.txt")], s("/a")),
        ("dir", vec![s("b.txt")], s(".")),
        ("ext", vec![s("/a/b.tar.gz")], s(".gz")),
        ("ext", vec![s("/a.d/b")], s("")),
        ("clean", vec![s("a/b/../c/./d/")], s("a/c/d")),
        ("isAbs", vec![s("/a")], Value::Bool(true)),
        ("isAbs", vec![s("a")], Value::Bool(false)),
    ]);
    errors(&[
        (
            "chunk",
            vec![i(0), l(vec![])],
            "argument 1: the chunk size must be positive",
        ),
        ("chunk", vec![i(1), s("x")], "cannot chunk type string"),
    ]);
}

#[test]
fn semantic_versions() {
    let yes = Value::Bool(true);
    let no = Value::Bool(false);
    let mut rows = Vec::new();
    for (constraint, version, want) in [
        ("^1.2.0", "1.2.3", true),
        ("^1.2.0", "2.0.0", false),
        ("^1.2.0", "1.1.9", false),
        ("~1.2.0", "1.2.9", true),
        ("~1.2.0", "1.3.0", false),
        ("~1", "1.9.0", true),
        (">=1.2, <2", "1.9.9", true),
        (">= 1.2 < 2.0", "2.0.0", false),
        ("1.2.x", "1.2.7", true),
        ("1.2.x", "1.3.0", false),
        ("1.2", "1.2.7", true),
        ("1.2.3", "1.2.3", true),
        ("=1.2.3", "1.2.4", false),
        ("1.2 - 1.4.5", "1.4.5", true),
        ("1.2 - 1.4.5", "1.4.6", false),
        (">1.2", "1.2.9", false),
        (">1.2", "1.3.0", true),
        (">1.2.3", "1.2.4", true),
        ("<1.2.3", "1.2.2", true),
        ("<=1.2", "1.2.9", true),
        ("<=1.2", "1.3.0", false),
        ("!=1.2.3", "1.2.3", false),
        ("!=1.2.3", "1.2.4", true),
        ("^0.2.3", "0.2.9", true),
        ("^0.2.3", "0.3.0", false),
        ("^0.0.3", "0.0.4", false),
        ("*", "5.0.0", true),
        ("^1.2.0", "1.3.0-beta", false),
        (">=1.3.0-0", "1.3.0-beta", true),
        (">=1.3.0-alpha", "1.3.0-alpha.1", true),
        (">1.3.0-beta.2", "1.3.0-beta.11", true),
        ("1.0 || >=3", "3.1.0", true),
        ("1.0 || >=3", "2.1.0", false),
        ("^1.2.3", "v1.2.3+build.5", true),
    ] {
        rows.push((
            "semverCompare",
            vec![s(constraint), s(version)],
            if want { yes.clone() } else { no.clone() },
        ));
    }
    rows.push((
        "semver",
        vec![s("v1.2.3-beta.1+b5")],
        m(&[
            ("Major", i(1)),
            ("Minor", i(2)),
            ("Patch", i(3)),
            ("Prerelease", s("beta.1")),
            ("Metadata", s("b5")),
            ("Original", s("v1.2.3-beta.1+b5")),
        ]),
    ));
    rows.push((
        "semver",
        vec![s("2")],
        m(&[
            ("Major", i(2)),
            ("Minor", i(0)),
            ("Patch", i(0)),
            ("Prerelease", s("")),
            ("Metadata", s("")),
            ("Original", s("2")),
        ]),
    ));
    table(&rows);
    errors(&[
        (
            "semverCompare",
            vec![s("abc"), s("1.2.3")],
            "improper constraint: abc",
        ),
        (
            "semverCompare",
            vec![s(">="), s("1.2.3")],
            "improper constraint: >=",
        ),
        (
            "semverCompare",
            vec![s("^1"), s("x")],
            "invalid semantic version \"x\"",
        ),
        (
            "semver",
            vec![s("1.2.3.4")],
            "invalid semantic version \"1.2.3.4\"",
        ),
        (
            "semver",
            vec![s("1.2.3-01")],
            "invalid semantic version \"1.2.3-01\"",
        ),
    ]);
}
