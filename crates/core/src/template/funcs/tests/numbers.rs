//! Math, encodings and digests, Kubernetes helpers.

use super::*;

fn f(x: f64) -> Value {
    Value::Float(x)
}

#[test]
fn integer_math_uses_sprigs_conversions() {
    table(&[
        ("add", vec![i(1), i(2), i(3)], i(6)),
        ("add", vec![s("1"), f(2.9), Value::Bool(true)], i(4)),
        ("add", vec![], i(0)),
        ("add", vec![i(i64::MAX), i(1)], i(i64::MIN)),
        ("add1", vec![i(1)], i(2)),
        ("add1", vec![s("x")], i(1)),
        ("sub", vec![i(3), i(2)], i(1)),
        ("mul", vec![i(2), i(3), i(4)], i(24)),
        ("div", vec![i(6), i(4)], i(1)),
        ("div", vec![i(-7), i(2)], i(-3)),
        ("div", vec![i(i64::MIN), i(-1)], i(i64::MIN)),
        ("mod", vec![i(7), i(3)], i(1)),
        ("mod", vec![i(-7), i(3)], i(-1)),
        ("max", vec![i(1), i(5), i(3)], i(5)),
        ("max", vec![i(-1)], i(-1)),
        ("min", vec![i(1), i(5), i(-3)], i(-3)),
        ("int", vec![s("42")], i(42)),
        ("int", vec![s("0x1F")], i(31)),
        ("int", vec![f(-2.7)], i(-2)),
        ("int", vec![s("abc")], i(0)),
        ("int64", vec![s("7.0")], i(7)),
        ("float64", vec![s("1.5")], f(1.5)),
        ("float64", vec![i(2)], f(2.0)),
        ("float64", vec![s("x")], f(0.0)),
        ("atoi", vec![s("42")], i(42)),
        ("atoi", vec![s("-3")], i(-3)),
        ("atoi", vec![s("4.2")], i(0)),
    ]);
    errors(&[
        ("div", vec![i(1), i(0)], "integer divide by zero"),
        ("div", vec![i(1), s("zero")], "integer divide by zero"),
        ("mod", vec![i(1), i(0)], "integer divide by zero"),
        ("atoi", vec![i(1)], "argument 1: expected a string, got int"),
    ]);
}

#[test]
fn float_math() {
    table(&[
        ("floor", vec![f(123.9999)], f(123.0)),
        ("floor", vec![s("-1.5")], f(-2.0)),
        ("ceil", vec![f(123.001)], f(124.0)),
        ("round", vec![f(123.555_555), i(3)], f(123.556)),
        ("round", vec![f(123.5), i(0)], f(124.0)),
        ("round", vec![f(-2.5), i(0)], f(-3.0)),
        ("round", vec![f(123.4), i(0), f(0.4)], f(124.0)),
        ("addf", vec![f(1.5), i(2), i(2)], f(5.5)),
        ("addf", vec![f(0.1), f(0.2)], f(0.3)),
        ("addf", vec![], f(0.0)),
        ("add1f", vec![f(1.5)], f(2.5)),
        ("subf", vec![f(7.5), i(2), i(3)], f(2.5)),
        ("subf", vec![f(0.3), f(0.1)], f(0.2)),
        ("mulf", vec![f(1.5), i(2), i(2)], f(6.0)),
        ("mulf", vec![f(0.1), i(3)], f(0.3)),
        ("divf", vec![i(10), i(4)], f(2.5)),
        ("divf", vec![i(1), i(3)], f(0.333_333_333_333_333_3)),
        ("maxf", vec![i(1), f(2.5), i(2)], f(2.5)),
        ("minf", vec![i(1), f(2.5), i(-2)], f(-2.0)),
    ]);
    errors(&[("divf", vec![i(1), f(0.0)], "division by zero")]);
}

#[test]
fn encodings_and_digests() {
    table(&[
        ("b64enc", vec![s("hello")], s("aGVsbG8=")),
        ("b64dec", vec![s("aGVsbG8=")], s("hello")),
        ("b32enc", vec![s("hello")], s("NBSWY3DP")),
        ("b32enc", vec![s("a")], s("ME======")),
        ("b32enc", vec![s("abcd")], s("MFRGGZA=")),
        ("b32enc", vec![s("abcdef")], s("MFRGGZDFMY======")),
        ("b32dec", vec![s("NBSWY3DP")], s("hello")),
        ("b32dec", vec![s("MFRGGZDFMY======")], s("abcdef")),
        ("b32dec", vec![s("MFRA====")], s("ab")),
        ("b32dec", vec![s("")], s("")),
        (
            "sha1sum",
            vec![s("hello")],
            s("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
        ),
        (
            "sha1sum",
            vec![s("")],
            s("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ),
        (
            "sha1sum",
            vec![s(&"x".repeat(100))],
            s("50e483690ec481f4af7f6fb524b2b99eb1716565"),
        ),
        (
            "sha256sum",
            vec![s("hello")],
            s("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
        ),
        ("adler32sum", vec![s("hello")], s("103547413")),
        ("adler32sum", vec![s("")], s("1")),
    ]);
    errors(&[
        (
            "b64dec",
            vec![s("%%%")],
            "invalid base64: Invalid symbol 37, offset 0.",
        ),
        (
            "b64dec",
            vec![s("/w==")],
            "decoded bytes are not UTF-8 text",
        ),
        ("b32dec", vec![s("NBSWY3D")], "invalid base32 input"),
        ("b32dec", vec![s("NBSWY3D1")], "invalid base32 input"),
        ("b32dec", vec![s("N=SWY3DP")], "invalid base32 input"),
    ]);
    assert!(tainted("b64enc", &[t("x")]));
    assert_eq!(
        call("b64enc", &[s(&"x".repeat(800_000))]).unwrap_err().0,
        "result would be 1066668 bytes, more than the limit of 1048576",
        "growing results are bounded, so chained encodings cannot explode"
    );
}

#[test]
fn kubernetes_helpers_match_the_reference() {
    let long = "a".repeat(70);
    table(&[
        (
            "truncName",
            vec![i(10), s("very-long-name-that-exceeds-limit")],
            s("very-long"),
        ),
        ("truncName", vec![i(0), s(&long)], s(&"a".repeat(63))),
        ("truncName", vec![i(20), s("short")], s("short")),
        ("k8sName", vec![s("My App_v1.2")], s("my-app-v1-2")),
        ("k8sName", vec![s("my@test#name!")], s("mytestname")),
        ("k8sName", vec![s("-test-name-")], s("test-name")),
        (
            "k8sName",
            vec![s("test--name---value")],
            s("test-name-value"),
        ),
        ("k8sName", vec![s("")], s("resource")),
        ("k8sName", vec![s("@@@")], s("resource")),
        (
            "k8sName",
            vec![s(&format!("{}-b", "a".repeat(62)))],
            s(&"a".repeat(62)),
        ),
        ("k8sName", vec![s(&long)], s(&"a".repeat(63))),
        ("parseQuantity", vec![s("10Gi")], i(10_737_418_240)),
        ("parseQuantity", vec![s("512Mi")], i(536_870_912)),
        ("parseQuantity", vec![s("1000")], i(1000)),
        ("parseQuantity", vec![s("")], i(0)),
        ("parseQuantity", vec![s("500m")], f(0.5)),
        ("parseQuantity", vec![s("1.5")], f(1.5)),
        ("parseQuantity", vec![s("2k")], i(2000)),
        ("parseQuantity", vec![i(7)], i(7)),
        ("formatQuantity", vec![i(10_737_418_240)], s("10Gi")),
        ("formatQuantity", vec![i(536_870_912)], s("512Mi")),
        ("formatQuantity", vec![i(1024)], s("1Ki")),
        ("formatQuantity", vec![i(0)], s("0")),
        ("formatQuantity", vec![i(1000)], s("1000")),
        ("formatQuantity", vec![f(0.5)], s("500m")),
        ("formatQuantity", vec![s("2048Mi")], s("2Gi")),
        ("formatQuantity", vec![s("1.5Gi")], s("1536Mi")),
    ]);
    errors(&[
        (
            "parseQuantity",
            vec![s("invalid")],
            "\"invalid\" is not a quantity (a number with an optional suffix such as m, Mi, G)",
        ),
        (
            "parseQuantity",
            vec![l(vec![])],
            "expected a quantity string, got slice",
        ),
        (
            "formatQuantity",
            vec![Value::Nil],
            "expected a number or a quantity, got no value",
        ),
        (
            "truncName",
            vec![i(-1), s("x")],
            "argument 1: must not be negative, got -1",
        ),
    ]);
    assert!(tainted("k8sName", &[t("User Name")]));
}
