//! What templates print: every construct and builtin, against Go's output.

use serde_json::json;

use super::render;

fn table(cases: &[(&str, &str)], data: &serde_json::Value) {
    for (src, want) in cases {
        assert_eq!(render(src, data.clone()), *want, "template {src:?}");
    }
}

fn data() -> serde_json::Value {
    json!({
        "name": "web",
        "n": 3,
        "f": 1.5,
        "yes": true,
        "no": false,
        "empty": "",
        "nothing": null,
        "list": ["a", "b", "c"],
        "nums": [1, 2, 3],
        "map": {"b": 2, "a": 1},
        "nested": {"inner": {"leaf": "deep"}},
        "labels": {"app": "web", "tier": "front"},
    })
}

#[test]
fn text_fields_and_variables() {
    table(
        &[
            ("plain text", "plain text"),
            ("{{ .name }}", "web"),
            ("{{.nested.inner.leaf}}", "deep"),
            ("{{ $.name }}", "web"),
            ("{{ $x := .name }}{{ $x }}", "web"),
            ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2"),
            ("{{ $n := .nested }}{{ $n.inner.leaf }}", "deep"),
            ("{{ (.nested).inner.leaf }}", "deep"),
            ("{{ .missing }}", "<no value>"),
            ("{{ .missing.deeper }}", "<no value>"),
            ("{{ .nothing }}", "<no value>"),
            ("{{ .list }}", "[a b c]"),
            ("{{ .map }}", "map[a:1 b:2]"),
            ("{{ .f }}", "1.5"),
            ("{{ .yes }}", "true"),
            ("{{ . | len }}", "12"),
        ],
        &data(),
    );
}

#[test]
fn literals() {
    table(
        &[
            (r#"{{ "a\tb\n\"c\"" }}"#, "a\tb\n\"c\""),
            (r#"{{ "\x41\u00e9\101" }}"#, "AéA"),
            ("{{ `raw\\n` }}", "raw\\n"),
            ("{{ 'a' }}", "97"),
            ("{{ 42 }}", "42"),
            ("{{ -7 }}", "-7"),
            ("{{ 0x1F }}", "31"),
            ("{{ 0o17 }}", "15"),
            ("{{ 017 }}", "15"),
            ("{{ 0b101 }}", "5"),
            ("{{ 1_000 }}", "1000"),
            ("{{ 1.5 }}", "1.5"),
            ("{{ 1e3 }}", "1000"),
            ("{{ 2e6 }}", "2e+06"),
            ("{{ true }} {{ false }}", "true false"),
            ("{{ print nil }}", "<nil>"),
        ],
        &data(),
    );
}

#[test]
fn trim_markers_and_comments() {
    table(
        &[
            ("a  {{- .name -}}  b", "awebb"),
            ("a\n\t{{- .name }}\n", "aweb\n"),
            ("a {{ .name -}}\n\n b", "a webb"),
            ("a {{ .name }}\n\n b", "a web\n\n b"),
            ("a{{/* comment */}}b", "ab"),
            ("a {{- /* comment */ -}} b", "ab"),
            ("a{{/* multi\nline */}}b", "ab"),
            ("{{ -3 }}", "-3"),
            ("x{{- 3 }}", "x3"),
        ],
        &data(),
    );
}

#[test]
fn if_else_with() {
    table(
        &[
            ("{{ if .yes }}y{{ end }}", "y"),
            ("{{ if .no }}y{{ else }}n{{ end }}", "n"),
            (
                "{{ if .no }}1{{ else if .empty }}2{{ else if .n }}3{{ else }}4{{ end }}",
                "3",
            ),
            ("{{ if .missing }}1{{ else }}0{{ end }}", "0"),
            ("{{ if .list }}L{{ end }}{{ if .map }}M{{ end }}", "LM"),
            ("{{ if 0 }}a{{ else }}b{{ end }}", "b"),
            ("{{ with .nested.inner }}{{ .leaf }}{{ end }}", "deep"),
            ("{{ with .missing }}x{{ else }}none{{ end }}", "none"),
            (
                "{{ with .no }}x{{ else with .name }}{{ . }}{{ end }}",
                "web",
            ),
            ("{{ with $x := .name }}{{ $x }}{{ . }}{{ end }}", "webweb"),
            ("{{ if $x := .n }}{{ $x }}{{ else }}{{ $x }}{{ end }}", "3"),
            ("{{ with .name }}{{ $.n }}{{ end }}", "3"),
        ],
        &data(),
    );
}

#[test]
fn range_forms() {
    table(
        &[
            ("{{ range .list }}{{ . }}{{ end }}", "abc"),
            (
                "{{ range $i, $v := .list }}{{ $i }}={{ $v }};{{ end }}",
                "0=a;1=b;2=c;",
            ),
            ("{{ range $v := .list }}{{ $v }}{{ end }}", "abc"),
            (
                "{{ range $k, $v := .map }}{{ $k }}:{{ $v }} {{ end }}",
                "a:1 b:2 ",
            ),
            ("{{ range .map }}{{ . }}{{ end }}", "12"),
            ("{{ range 3 }}{{ . }}{{ end }}", "012"),
            ("{{ range .missing }}x{{ else }}empty{{ end }}", "empty"),
            (
                "{{ range .nums }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}",
                "1",
            ),
            (
                "{{ range .nums }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}",
                "13",
            ),
            (
                "{{ range $i, $v := .list }}{{ range $.nums }}{{ $v }}{{ . }}{{ end }}|{{ end }}",
                "a1a2a3|b1b2b3|c1c2c3|",
            ),
            (
                "{{ $x := 0 }}{{ range .nums }}{{ $x = . }}{{ end }}{{ $x }}",
                "3",
            ),
            (
                "{{ $i := 9 }}{{ $v := 9 }}{{ range $i, $v = .list }}{{ end }}{{ $i }}{{ $v }}",
                "2c",
            ),
        ],
        &data(),
    );
}

#[test]
fn define_template_block() {
    table(
        &[
            (
                r#"{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .name }}"#,
                "[web]",
            ),
            (
                r#"{{ define "x" }}{{ . }}{{ end }}{{ template "x" }}"#,
                "<no value>",
            ),
            (
                r#"{{ define "x" }}{{ $.name }}{{ end }}{{ template "x" . }}"#,
                "web",
            ),
            (r#"a{{ block "b" .n }}<{{ . }}>{{ end }}z"#, "a<3>z"),
            (
                r#"{{ define "item" }}-{{ . }}{{ end }}{{ range .list }}{{ template "item" . }}{{ end }}"#,
                "-a-b-c",
            ),
            (
                r#"{{ define "b" }}{{ end }}{{ block "b" . }}default{{ end }}"#,
                "default",
            ),
        ],
        &data(),
    );
}

#[test]
fn pipelines_pass_the_value_last() {
    table(
        &[
            ("{{ .name | printf \"%s-%d\" \"x\" }}", "x-%!d(string=web)"),
            ("{{ .n | printf \"%d-%s\" 5 }}", "5-%!s(int=3)"),
            ("{{ .list | len }}", "3"),
            ("{{ .name | len | printf \"%03d\" }}", "003"),
            ("{{ (len .list) }}", "3"),
            ("{{ printf \"%d\" (len .list) }}", "3"),
            ("{{ .name | upper | trunc 2 }}", "WE"),
            ("{{ .yes | and .n }}", "true"),
            ("{{ .no | or .empty }}", "false"),
        ],
        &data(),
    );
}

#[test]
fn boolean_builtins() {
    table(
        &[
            ("{{ and 1 0 2 }}", "0"),
            ("{{ and 1 2 }}", "2"),
            ("{{ or 0 \"\" 3 }}", "3"),
            ("{{ or 0 \"\" }}", ""),
            ("{{ not .yes }} {{ not .empty }}", "false true"),
            // Short-circuit: the failing index is never evaluated.
            ("{{ and .no (index .list 99) }}", "false"),
            ("{{ or .yes (index .list 99) }}", "true"),
        ],
        &data(),
    );
}

#[test]
fn len_index_slice() {
    table(
        &[
            ("{{ len .name }} {{ len .list }} {{ len .map }}", "3 3 2"),
            ("{{ index .list 1 }}", "b"),
            ("{{ index .map \"b\" }}", "2"),
            ("{{ index .map \"zz\" }}", "<no value>"),
            ("{{ index .nested \"inner\" \"leaf\" }}", "deep"),
            ("{{ index .name 0 }}", "119"),
            ("{{ index .list }}", "[a b c]"),
            ("{{ slice .list 1 }}", "[b c]"),
            ("{{ slice .list 1 2 }}", "[b]"),
            ("{{ slice .list 0 1 2 }}", "[a]"),
            ("{{ slice .name 1 }}", "eb"),
            ("{{ slice .name }}", "web"),
        ],
        &data(),
    );
}

#[test]
fn comparisons() {
    table(
        &[
            (
                "{{ eq .n 3 }} {{ eq .name \"web\" }} {{ eq 1 2 3 1 }}",
                "true true true",
            ),
            ("{{ eq .missing nil }} {{ eq .name nil }}", "true false"),
            ("{{ ne .n 3 }} {{ ne \"a\" \"b\" }}", "false true"),
            (
                "{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} {{ ge 2 3 }}",
                "true true false false",
            ),
            ("{{ lt \"a\" \"b\" }} {{ lt 1.5 2.5 }}", "true true"),
            ("{{ eq .yes true }}", "true"),
        ],
        &data(),
    );
}

#[test]
fn print_family_and_escapers() {
    table(
        &[
            ("{{ print 1 2 \"a\" \"b\" 3 }}", "1 2ab3"),
            ("{{ print .list .n }}", "[a b c] 3"),
            ("{{ println 1 \"a\" }}", "1 a\n"),
            (
                "{{ html \"<a href='x'>&\\\"\" }}",
                "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
            ),
            (
                "{{ js \"it's <b>\\\"=\\\\\" }}",
                "it\\'s \\u003Cb\\u003E\\\"\\u003D\\\\",
            ),
            ("{{ urlquery \"a b&c=d/é\" }}", "a+b%26c%3Dd%2F%C3%A9"),
            ("{{ html 1 2 }}", "1 2"),
        ],
        &data(),
    );
}

#[test]
fn taint_follows_values_into_output() {
    let data = super::Value::from_json(&json!({"vars": {"x": "evil"}}), true);
    let r = super::run_value("a: {{ .vars.x }}, b: {{ printf \"%s!\" .vars.x }}", &data).unwrap();
    assert_eq!(r.as_plain(), "a: evil, b: evil!");
    assert_eq!(
        r.text().pieces(),
        vec![
            ("a: ", false),
            ("evil", true),
            (", b: ", false),
            ("evil", true),
            ("!", false)
        ]
    );
    let r = super::run_value("{{ range $k, $v := .vars }}{{ $k }}{{ end }}", &data).unwrap();
    assert_eq!(
        r.text().pieces(),
        vec![("x", true)],
        "map keys count as untrusted"
    );
}
