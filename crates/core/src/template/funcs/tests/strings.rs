//! String functions: Sprig's documented outputs, Go's edge cases, errors, taint.

use super::*;

#[test]
fn trimming_case_and_search() {
    table(&[
        ("trim", vec![s("   hello    ")], s("hello")),
        ("trimAll", vec![s("$"), s("$5.00")], s("5.00")),
        ("trimAll", vec![s("-_"), s("_-a-_")], s("a")),
        ("trimSuffix", vec![s("-"), s("hello-")], s("hello")),
        ("trimPrefix", vec![s("-"), s("-hello")], s("hello")),
        ("trimPrefix", vec![s("x"), s("-hello")], s("-hello")),
        ("upper", vec![s("hello")], s("HELLO")),
        ("lower", vec![s("HELLO")], s("hello")),
        ("title", vec![s("hello world")], s("Hello World")),
        (
            "title",
            vec![s("hello-world foo_bar")],
            s("Hello-World Foo_bar"),
        ),
        ("untitle", vec![s("Hello World")], s("hello world")),
        ("initials", vec![s("First Try")], s("FT")),
        ("swapcase", vec![s("This Is A.Test")], s("tHIS iS a.tEST")),
        ("snakecase", vec![s("FirstName")], s("first_name")),
        ("snakecase", vec![s("HTTPServer")], s("http_server")),
        ("snakecase", vec![s("first name-x")], s("first_name_x")),
        ("kebabcase", vec![s("FirstName")], s("first-name")),
        ("camelcase", vec![s("http_server")], s("HttpServer")),
        ("camelcase", vec![s("some-words here")], s("SomeWordsHere")),
        ("contains", vec![s("cat"), s("catch")], Value::Bool(true)),
        ("contains", vec![s("dog"), s("catch")], Value::Bool(false)),
        ("hasPrefix", vec![s("cat"), s("catch")], Value::Bool(true)),
        ("hasSuffix", vec![s("cat"), s("ducat")], Value::Bool(true)),
        ("hasSuffix", vec![s("x"), s("ducat")], Value::Bool(false)),
        ("nospace", vec![s("hello w o r l d\t\n")], s("helloworld")),
    ]);
}

#[test]
fn cutting_and_repeating() {
    table(&[
        ("repeat", vec![i(3), s("hello")], s("hellohellohello")),
        ("repeat", vec![i(0), s("hello")], s("")),
        ("substr", vec![i(0), i(5), s("hello world")], s("hello")),
        ("substr", vec![i(-1), i(5), s("hello world")], s("hello")),
        ("substr", vec![i(6), i(-1), s("hello world")], s("world")),
        ("substr", vec![i(6), i(99), s("hello world")], s("world")),
        ("substr", vec![i(1), i(3), s("héllo")], s("él")),
        ("trunc", vec![i(5), s("hello world")], s("hello")),
        ("trunc", vec![i(-5), s("hello world")], s("world")),
        ("trunc", vec![i(50), s("hello")], s("hello")),
        ("trunc", vec![i(-50), s("hello")], s("hello")),
        ("trunc", vec![i(2), s("äöü")], s("äö")),
        ("abbrev", vec![i(5), s("hello world")], s("he...")),
        ("abbrev", vec![i(20), s("hello world")], s("hello world")),
        ("abbrev", vec![i(3), s("hello world")], s("hello world")),
        (
            "replace",
            vec![s(" "), s("-"), s("I Am Henry VIII")],
            s("I-Am-Henry-VIII"),
        ),
        ("replace", vec![s(""), s("-"), s("ab")], s("-a-b-")),
        (
            "plural",
            vec![s("one anchovy"), s("many anchovies"), i(1)],
            s("one anchovy"),
        ),
        (
            "plural",
            vec![s("one anchovy"), s("many anchovies"), i(2)],
            s("many anchovies"),
        ),
        (
            "wrap",
            vec![
                i(20),
                s("Here is one line of text that is going to be wrapped after 20 columns."),
            ],
            s("Here is one line of\ntext that is going\nto be wrapped after\n20 columns."),
        ),
        ("wrap", vec![i(3), s("abcdef gh")], s("abcdef\ngh")),
        (
            "wrapWith",
            vec![i(5), s("\t"), s("Hello World")],
            s("Hello\tWorld"),
        ),
        ("wrapWith", vec![i(3), s("|"), s("abcdefg")], s("abc|def|g")),
    ]);
    errors(&[
        (
            "repeat",
            vec![i(-1), s("x")],
            "argument 1: must not be negative, got -1",
        ),
        (
            "repeat",
            vec![s("3"), s("x")],
            "argument 1: expected an integer, got string",
        ),
        (
            "repeat",
            vec![i(1 << 20), s("xx")],
            "result would be 2097152 bytes, more than the limit of 1048576",
        ),
        (
            "substr",
            vec![i(4), i(2), s("hello")],
            "slice bounds out of range [4:2] with length 5",
        ),
        (
            "substr",
            vec![i(9), i(-1), s("hello")],
            "slice bounds out of range [9:-1] with length 5",
        ),
        (
            "trunc",
            vec![i(1), l(vec![])],
            "argument 2: expected a string, got slice",
        ),
        (
            "upper",
            vec![Value::Nil],
            "argument 1: expected a string, got no value",
        ),
        (
            "upper",
            vec![i(1)],
            "argument 1: expected a string, got int",
        ),
    ]);
}

#[test]
fn joining_and_splitting() {
    table(&[
        (
            "cat",
            vec![s("hello"), s("beautiful"), s("world")],
            s("hello beautiful world"),
        ),
        (
            "cat",
            vec![s("a"), Value::Nil, i(1), strs(&["x", "y"])],
            s("a 1 [x y]"),
        ),
        (
            "splitList",
            vec![s("$"), s("foo$bar$baz")],
            strs(&["foo", "bar", "baz"]),
        ),
        ("splitList", vec![s(""), s("ab")], strs(&["a", "b"])),
        (
            "split",
            vec![s("$"), s("foo$bar$baz")],
            m(&[("_0", s("foo")), ("_1", s("bar")), ("_2", s("baz"))]),
        ),
        (
            "splitn",
            vec![s("$"), i(2), s("foo$bar$baz")],
            m(&[("_0", s("foo")), ("_1", s("bar$baz"))]),
        ),
        ("splitn", vec![s("$"), i(0), s("foo$bar")], m(&[])),
        (
            "join",
            vec![s("_"), strs(&["hello", "world"])],
            s("hello_world"),
        ),
        (
            "join",
            vec![s("+"), l(vec![i(1), Value::Nil, i(3)])],
            s("1+3"),
        ),
        ("join", vec![s(","), s("one")], s("one")),
        ("join", vec![s(","), Value::Nil], s("")),
        (
            "sortAlpha",
            vec![strs(&["b", "a", "C"])],
            strs(&["C", "a", "b"]),
        ),
        ("sortAlpha", vec![l(vec![i(3), i(10)])], strs(&["10", "3"])),
        ("toString", vec![i(1)], s("1")),
        ("toString", vec![Value::Float(1.5)], s("1.5")),
        ("toString", vec![Value::Nil], s("<nil>")),
        ("toString", vec![m(&[("a", i(1))])], s("map[a:1]")),
        (
            "toStrings",
            vec![l(vec![i(1), s("x"), Value::Nil])],
            strs(&["1", "x"]),
        ),
    ]);
}

#[test]
fn computed_strings_are_tainted_when_an_input_is() {
    assert!(tainted("upper", &[t("x")]));
    assert!(!tainted("upper", &[s("x")]));
    assert!(tainted("trunc", &[i(1), t("xy")]));
    assert!(tainted("replace", &[s("a"), t("b"), s("aa")]));
    assert!(tainted("splitList", &[s(","), t("a,b")]));
    let Ok(Value::Str(joined)) = call("cat", &[s("a"), t("b")]) else {
        panic!("cat");
    };
    assert_eq!(
        joined.pieces(),
        vec![("a ", false), ("b", true)],
        "cat keeps each input's taint where it lands"
    );
    let Ok(Value::Str(joined)) = call("join", &[s("-"), l(vec![s("a"), t("b")])]) else {
        panic!("join");
    };
    assert_eq!(joined.pieces(), vec![("a-", false), ("b", true)]);
}
