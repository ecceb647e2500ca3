//! Defaults, lists and dicts.

use super::*;

#[test]
fn defaults_and_flow() {
    table(&[
        ("default", vec![s("foo"), s("")], s("foo")),
        ("default", vec![s("foo"), s("bar")], s("bar")),
        ("default", vec![s("foo")], s("foo")),
        ("default", vec![s("foo"), i(0)], s("foo")),
        ("default", vec![s("foo"), Value::Bool(false)], s("foo")),
        ("default", vec![s("foo"), l(vec![])], s("foo")),
        ("default", vec![s("foo"), Value::Nil], s("foo")),
        ("default", vec![s("foo"), i(3)], i(3)),
        ("default", vec![s("foo"), s(""), s("ignored")], s("foo")),
        ("empty", vec![s("")], Value::Bool(true)),
        ("empty", vec![m(&[])], Value::Bool(true)),
        ("empty", vec![Value::Float(0.0)], Value::Bool(true)),
        ("empty", vec![s("0")], Value::Bool(false)),
        (
            "coalesce",
            vec![i(0), Value::Nil, s(""), s("x"), s("y")],
            s("x"),
        ),
        ("coalesce", vec![i(0), s("")], Value::Nil),
        (
            "ternary",
            vec![s("yes"), s("no"), Value::Bool(true)],
            s("yes"),
        ),
        (
            "ternary",
            vec![s("yes"), s("no"), Value::Bool(false)],
            s("no"),
        ),
        ("required", vec![s("x is required"), s("v")], s("v")),
        ("required", vec![s("x is required"), i(0)], i(0)),
        (
            "required",
            vec![s("x is required"), Value::Bool(false)],
            Value::Bool(false),
        ),
    ]);
    errors(&[
        (
            "required",
            vec![s("image is required"), Value::Nil],
            "image is required",
        ),
        (
            "required",
            vec![s("image is required"), s("")],
            "image is required",
        ),
        ("fail", vec![s("stop here")], "stop here"),
        (
            "ternary",
            vec![s("a"), s("b"), s("true")],
            "argument 3: expected a bool, got string",
        ),
    ]);
    assert!(
        tainted("default", &[s("d"), t("user")]),
        "default returns the value itself, taint included"
    );
}

#[test]
fn lists() {
    let abc = || strs(&["a", "b", "c"]);
    table(&[
        ("list", vec![i(1), s("x")], l(vec![i(1), s("x")])),
        ("list", vec![], l(vec![])),
        ("first", vec![abc()], s("a")),
        ("first", vec![l(vec![])], Value::Nil),
        ("last", vec![abc()], s("c")),
        ("rest", vec![abc()], strs(&["b", "c"])),
        ("rest", vec![l(vec![])], Value::Nil),
        ("initial", vec![abc()], strs(&["a", "b"])),
        ("append", vec![abc(), s("d")], strs(&["a", "b", "c", "d"])),
        ("push", vec![abc(), s("d")], strs(&["a", "b", "c", "d"])),
        ("prepend", vec![abc(), s("z")], strs(&["z", "a", "b", "c"])),
        (
            "concat",
            vec![abc(), strs(&["d"]), Value::Nil],
            strs(&["a", "b", "c", "d"]),
        ),
        ("reverse", vec![abc()], strs(&["c", "b", "a"])),
        (
            "uniq",
            vec![l(vec![i(1), i(1), s("1"), Value::Float(1.0), i(2), i(1)])],
            l(vec![i(1), s("1"), Value::Float(1.0), i(2)]),
        ),
        ("without", vec![abc(), s("b"), s("z")], strs(&["a", "c"])),
        ("has", vec![s("b"), abc()], Value::Bool(true)),
        ("has", vec![i(1), strs(&["1"])], Value::Bool(false)),
        ("has", vec![s("b"), Value::Nil], Value::Bool(false)),
        (
            "compact",
            vec![l(vec![
                s("a"),
                s(""),
                i(0),
                Value::Nil,
                Value::Bool(false),
                s("b"),
            ])],
            strs(&["a", "b"]),
        ),
        ("until", vec![i(5)], l(vec![i(0), i(1), i(2), i(3), i(4)])),
        ("until", vec![i(-3)], l(vec![i(0), i(-1), i(-2)])),
        ("until", vec![i(0)], l(vec![])),
        ("untilStep", vec![i(3), i(6), i(2)], l(vec![i(3), i(5)])),
        ("untilStep", vec![i(10), i(4), i(-3)], l(vec![i(10), i(7)])),
        ("untilStep", vec![i(0), i(5), i(0)], l(vec![])),
        ("untilStep", vec![i(0), i(5), i(-1)], l(vec![])),
        ("seq", vec![i(5)], s("1 2 3 4 5")),
        ("seq", vec![i(-3)], s("1 0 -1 -2 -3")),
        ("seq", vec![i(0), i(2)], s("0 1 2")),
        ("seq", vec![i(2), i(-2)], s("2 1 0 -1 -2")),
        ("seq", vec![i(0), i(2), i(10)], s("0 2 4 6 8 10")),
        ("seq", vec![i(0), i(-2), i(10)], s("")),
        ("seq", vec![i(10), i(-2), i(5)], s("10 8 6")),
        ("seq", vec![], s("")),
        ("seq", vec![i(1), i(1), i(1), i(1)], s("")),
    ]);
    errors(&[
        ("first", vec![s("abc")], "cannot find first on type string"),
        (
            "rest",
            vec![Value::Nil],
            "cannot find rest on type no value",
        ),
        ("append", vec![i(1), i(2)], "cannot push on type int"),
        (
            "concat",
            vec![abc(), s("x")],
            "argument 2: cannot concat type string as list",
        ),
        (
            "has",
            vec![s("a"), s("abc")],
            "cannot find has on type string",
        ),
        (
            "until",
            vec![i(10_001)],
            "sequence would have more than the limit of 10000 items",
        ),
        (
            "seq",
            vec![i(20_000)],
            "sequence would have more than the limit of 10000 items",
        ),
        (
            "untilStep",
            vec![i(0), i(i64::MAX), i(1)],
            "sequence would have more than the limit of 10000 items",
        ),
    ]);
    let full = l(vec![i(0); 10_000]);
    assert_eq!(
        call("append", &[full, i(1)]).unwrap_err().0,
        "result would have 10001 items, more than the limit of 10000"
    );
}

#[test]
fn dicts() {
    let d = || m(&[("a", i(1)), ("b", s("x")), ("n", m(&[("c", s("deep"))]))]);
    table(&[
        (
            "dict",
            vec![s("name1"), s("value1"), s("name2"), i(2)],
            m(&[("name1", s("value1")), ("name2", i(2))]),
        ),
        ("dict", vec![s("k")], m(&[("k", s(""))])),
        ("dict", vec![i(1), s("one")], m(&[("1", s("one"))])),
        ("get", vec![d(), s("a")], i(1)),
        ("get", vec![d(), s("zz")], s("")),
        (
            "set",
            vec![d(), s("a"), i(9)],
            m(&[("a", i(9)), ("b", s("x")), ("n", m(&[("c", s("deep"))]))]),
        ),
        ("unset", vec![d(), s("n")], m(&[("a", i(1)), ("b", s("x"))])),
        ("hasKey", vec![d(), s("b")], Value::Bool(true)),
        ("hasKey", vec![d(), s("q")], Value::Bool(false)),
        (
            "pluck",
            vec![s("a"), d(), m(&[("b", i(2))]), m(&[("a", i(3))])],
            l(vec![i(1), i(3)]),
        ),
        ("keys", vec![d()], strs(&["a", "b", "n"])),
        (
            "keys",
            vec![m(&[("z", i(1))]), m(&[("a", i(1))])],
            strs(&["z", "a"]),
        ),
        (
            "values",
            vec![m(&[("b", i(2)), ("a", i(1))])],
            l(vec![i(1), i(2)]),
        ),
        (
            "pick",
            vec![d(), s("a"), s("b"), s("q")],
            m(&[("a", i(1)), ("b", s("x"))]),
        ),
        ("omit", vec![d(), s("a"), s("n")], m(&[("b", s("x"))])),
        ("dig", vec![s("n"), s("c"), s("none"), d()], s("deep")),
        ("dig", vec![s("n"), s("q"), s("none"), d()], s("none")),
        ("dig", vec![s("a"), s("none"), d()], i(1)),
    ]);
    errors(&[
        (
            "get",
            vec![s("x"), s("a")],
            "argument 1: expected a dict, got string",
        ),
        (
            "dig",
            vec![s("a"), s("c"), s("none"), d()],
            "dig: \"a\" holds a int, not a dict",
        ),
        (
            "pluck",
            vec![s("a"), i(1)],
            "argument 2: expected a dict, got int",
        ),
    ]);
    assert!(
        tainted(
            "keys",
            &[Value::from_json(&serde_json::json!({"k": "v"}), true)]
        ),
        "keys of a dict holding user text are untrusted"
    );
}

#[test]
fn merges_follow_sprig() {
    let dst = || {
        m(&[
            ("default", s("default")),
            ("overwrite", s("me")),
            ("key", Value::Bool(true)),
            ("empty", s("")),
            ("nested", m(&[("a", i(1))])),
        ])
    };
    let src = || {
        m(&[
            ("overwrite", s("overwritten")),
            ("key", Value::Bool(false)),
            ("empty", s("filled")),
            ("nested", m(&[("a", i(2)), ("b", i(3))])),
            ("new", s("x")),
        ])
    };
    table(&[
        (
            "merge",
            vec![dst(), src()],
            m(&[
                ("default", s("default")),
                ("overwrite", s("me")),
                ("key", Value::Bool(true)),
                ("empty", s("filled")),
                ("nested", m(&[("a", i(1)), ("b", i(3))])),
                ("new", s("x")),
            ]),
        ),
        (
            "mergeOverwrite",
            vec![dst(), src()],
            m(&[
                ("default", s("default")),
                ("overwrite", s("overwritten")),
                ("key", Value::Bool(false)),
                ("empty", s("filled")),
                ("nested", m(&[("a", i(2)), ("b", i(3))])),
                ("new", s("x")),
            ]),
        ),
        ("merge", vec![m(&[])], m(&[])),
    ]);
    errors(&[(
        "merge",
        vec![m(&[]), strs(&["x"])],
        "argument 2: expected a dict, got slice",
    )]);
}
