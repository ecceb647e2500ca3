//! Errors: Go-like messages, each with the line and column of the offending token.

use serde_json::json;

use super::{Budget, Position, TemplateError, Value, exec_err, parse, parse_err};

#[test]
fn parse_errors_name_the_token_and_where_it_is() {
    let cases: &[(&str, (usize, usize, &str))] = &[
        ("a{{end}}b", (1, 4, "unexpected {{end}}")),
        ("{{ else }}", (1, 4, "unexpected {{else}}")),
        ("x\ny\n{{ .a ", (3, 1, "unclosed action")),
        (
            "ab\n  {{ if .x }}b",
            (2, 6, "unexpected EOF: {{if}} has no matching {{end}}"),
        ),
        (
            "{{ range .x }}{{ else }}{{ else }}{{ end }}",
            (1, 28, "expected end; found {{else}}"),
        ),
        ("{{ foo 1 }}", (1, 4, "function \"foo\" not defined")),
        ("{{ .x | foo }}", (1, 9, "function \"foo\" not defined")),
        (
            "{{ trunc 5 }}",
            (1, 4, "wrong number of args for trunc: want 2 got 1"),
        ),
        (
            "{{ .x | trunc 1 2 }}",
            (1, 9, "wrong number of args for trunc: want 2 got 3"),
        ),
        (
            "{{ printf }}",
            (
                1,
                4,
                "wrong number of args for printf: want at least 1 got 0",
            ),
        ),
        (
            "{{ not }}",
            (1, 4, "wrong number of args for not: want 1 got 0"),
        ),
        (
            "{{ print (not) }}",
            (1, 11, "wrong number of args for not: want 1 got 0"),
        ),
        ("{{ $x }}", (1, 4, "undefined variable \"$x\"")),
        ("{{ $x = 1 }}", (1, 4, "undefined variable \"$x\"")),
        (
            "{{ if 1 }}{{ $y := 1 }}{{ end }}{{ $y }}",
            (1, 36, "undefined variable \"$y\""),
        ),
        ("{{ break }}", (1, 4, "{{break}} outside {{range}}")),
        (
            "{{ range .x }}{{ else }}{{ continue }}{{ end }}",
            (1, 28, "{{continue}} outside {{range}}"),
        ),
        (
            "{{ template \"nope\" }}",
            (1, 4, "no such template \"nope\""),
        ),
        (
            "{{ template .x }}",
            (1, 13, "unexpected field \".x\" in template clause"),
        ),
        (
            "{{ if 1 }}{{ define \"x\" }}{{ end }}{{ end }}",
            (1, 14, "{{define}} is only allowed at the top level"),
        ),
        (
            "{{ define \"b\" }}1{{ end }}{{ define \"b\" }}2{{ end }}",
            (1, 37, "multiple definition of template \"b\""),
        ),
        ("{{ }}", (1, 4, "missing value for command")),
        ("{{ if }}{{ end }}", (1, 7, "missing value for if")),
        (
            "{{ .x | 3 }}",
            (1, 9, "non executable command in pipeline stage 2"),
        ),
        ("{{ .x | }}", (1, 7, "missing command after |")),
        ("{{ \"a }}", (1, 4, "unterminated quoted string")),
        ("{{ 'ab' }}", (1, 4, "malformed character constant: 'ab'")),
        ("{{ 12ab }}", (1, 4, "bad number syntax: \"12ab\"")),
        (
            "{{ 99999999999999999999 }}",
            (1, 4, "99999999999999999999 overflows int"),
        ),
        ("{{ .a# }}", (1, 6, "bad character U+0023 '#'")),
        (
            "{{ ^ }}",
            (1, 4, "unrecognized character in action: U+005E '^'"),
        ),
        ("{{ (1 }}", (1, 7, "unclosed left paren")),
        ("{{ 1) }}", (1, 5, "unexpected right paren")),
        (
            "{{/* x */ .a }}",
            (1, 1, "comment ends before closing delimiter"),
        ),
        ("{{/* x", (1, 1, "unclosed comment")),
        (
            "{{ $x, $y := 1 }}",
            (1, 6, "too many declarations in command"),
        ),
        (
            "{{ \"a\".b }}",
            (1, 4, "unexpected . after term \"\\\"a\\\"\""),
        ),
        ("é{{ end }}", (1, 5, "unexpected {{end}}")),
    ];
    for (src, (line, column, message)) in cases {
        assert_eq!(
            parse_err(src),
            (*line, *column, (*message).to_owned()),
            "template {src:?}"
        );
    }
}

#[test]
fn parse_error_displays_name_line_and_column() {
    let e = parse("x\n{{ foo }}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "template t: line 2, column 4: function \"foo\" not defined"
    );
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{{{{ {}1{} }}}}", "(".repeat(99), ")".repeat(99));
    assert!(parse(&ok).is_ok());
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
    let (_, _, message) = parse_err(&parens);
    assert_eq!(message, "nested more than 100 levels deep");
    let ifs = format!("{}{}", "{{ if 1 }}".repeat(200), "{{ end }}".repeat(200));
    let (_, _, message) = parse_err(&ifs);
    assert_eq!(message, "nested more than 100 levels deep");
}

#[test]
fn exec_errors_carry_position_and_function_message() {
    let (pos, message) = exec_err(
        "kind: Pod\nspec:\n  image: {{ required \"image is required\" .image }}",
        json!({}),
    );
    assert_eq!(
        pos,
        Position {
            line: 3,
            column: 13
        }
    );
    assert_eq!(message, "error calling required: image is required");
    let cases: &[(&str, &str)] = &[
        ("{{ .name.x }}", "can't evaluate field x in type string"),
        (
            "{{ .list.x }}",
            "can't evaluate field x in type []interface {}",
        ),
        ("{{ .map.a 1 }}", "a is not a method but has arguments"),
        ("{{ .map 1 }}", "map is not a method but has arguments"),
        ("{{ $ 1 }}", "can't give argument to non-function $"),
        ("{{ 1 2 }}", "can't give argument to non-function 1"),
        ("{{ nil }}", "nil is not a command"),
        (
            "{{ index .list 5 }}",
            "error calling index: index out of range: 5",
        ),
        (
            "{{ index .list \"a\" }}",
            "error calling index: cannot index slice/array with type string",
        ),
        (
            "{{ index .map 1 }}",
            "error calling index: value has type int; should be string",
        ),
        (
            "{{ index 3 1 }}",
            "error calling index: can't index item of type int",
        ),
        (
            "{{ slice .name 2 1 }}",
            "error calling slice: invalid slice index: 2 > 1",
        ),
        (
            "{{ slice .list 2 }}",
            "error calling slice: index out of range: 2",
        ),
        (
            "{{ slice .name 1 2 3 }}",
            "error calling slice: too many slice indexes: 3",
        ),
        ("{{ len 3 }}", "error calling len: len of type int"),
        (
            "{{ eq 1 \"a\" }}",
            "error calling eq: incompatible types for comparison",
        ),
        (
            "{{ eq 1 }}",
            "error calling eq: missing argument for comparison",
        ),
        (
            "{{ lt 1 1.5 }}",
            "error calling lt: incompatible types for comparison",
        ),
        (
            "{{ lt true false }}",
            "error calling lt: invalid type for comparison",
        ),
        (
            "{{ lt .list .list }}",
            "error calling lt: invalid type for comparison",
        ),
        (
            "{{ eq .list .list }}",
            "error calling eq: non-comparable type [a]: []interface {}",
        ),
        ("{{ range .name }}{{ end }}", "range can't iterate over web"),
        (
            "{{ range $i, $v := 3 }}{{ end }}",
            "can't use 3 to iterate over more than one variable",
        ),
        (
            "{{ printf 3 }}",
            "error calling printf: wrong type for value; expected string; got int",
        ),
    ];
    let data = json!({"name": "web", "list": ["a"], "map": {"a": 1}});
    for (src, want) in cases {
        let (_, message) = exec_err(src, data.clone());
        assert_eq!(message, *want, "template {src:?}");
    }
}

fn run_budget(src: &str, budget: Budget) -> Result<String, TemplateError> {
    let t = parse(src)?;
    let data = Value::from_json(&json!({"list": [1, 2, 3]}), false);
    t.execute(&data, super::now(), budget)
        .map(|r| r.as_plain().to_owned())
}

#[test]
fn budgets_are_exec_errors_naming_the_budget() {
    let small = Budget {
        max_output: 10,
        max_range_iterations: 5,
        max_depth: 3,
    };
    assert_eq!(run_budget("0123456789", small).unwrap(), "0123456789");
    let e = run_budget("{{ 1 }}\n0123456789", small).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template t: line 1, column 8: output budget exceeded: more than 10 bytes"
    );
    let e = run_budget("0123456789{{ 1 }}", small).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template t: line 1, column 14: output budget exceeded: more than 10 bytes"
    );
    assert_eq!(run_budget("{{ range 5 }}{{ end }}", small).unwrap(), "");
    let e = run_budget(
        "{{ range .list }}{{ range $.list }}{{ end }}{{ end }}",
        small,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("range budget exceeded: more than 5 iterations"),
        "{e}"
    );
    let e = run_budget(
        r#"{{ define "r" }}x{{ template "r" }}{{ end }}{{ template "r" }}"#,
        small,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("template nesting budget exceeded: more than 3 levels"),
        "{e}"
    );
    // The main template's own name is not callable (its name is the caller's choice).
    let e = parse(r#"{{ template "t" }}"#).unwrap_err();
    assert!(e.to_string().ends_with("no such template \"t\""), "{e}");
    let e = run_budget(
        r#"{{ define "a" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "a" }}{{ end }}{{ template "a" }}"#,
        Budget::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("template nesting budget exceeded: more than 32"),
        "{e}"
    );
}

/// The deepest evaluation the limits allow runs on a 2 MiB stack (tokio's worker size):
/// 32 template calls of 60 nested blocks and 40 parentheses stop at the evaluation
/// depth limit instead of overflowing.
#[test]
fn deepest_allowed_template_fits_a_small_stack() {
    let ifs = "{{ if 1 }}".repeat(59);
    let ends = "{{ end }}".repeat(59);
    let parens = format!("{}1{}", "(".repeat(40), ")".repeat(40));
    let src = format!(
        r#"{{{{ define "a" }}}}{ifs}{{{{ print {parens} }}}}{{{{ template "a" . }}}}{ends}{{{{ end }}}}{{{{ template "a" . }}}}"#
    );
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let t = parse(&src).unwrap();
            let data = Value::from_json(&json!({}), false);
            t.execute(&data, super::now(), Budget::default())
                .unwrap_err()
                .to_string()
        })
        .unwrap();
    let message = handle.join().unwrap();
    assert!(
        message.ends_with("evaluation nested more than 150 levels deep"),
        "{message}"
    );
}
