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
