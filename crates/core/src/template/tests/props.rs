//! Property tests: (a) no injection — an untrusted value never changes the shape of
//! the documents, wherever a template puts it, and lands in its scalar exactly;
//! (b) parsing never panics; (c) execution never panics and budgets hold.

use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::{Budget, Template, TemplateError, Value, parse};

/// A benign value that occurs nowhere else in the templates below.
const BENIGN: &str = "benignvalue";

/// Templates interpolating `.vars.x` in many YAML positions.
const TEMPLATES: &[&str] = &[
    "kind: Pod\nname: {{ .vars.x }}\nother: 1\n",
    "a: \"{{ .vars.x }}\"\nb: 2\n",
    "a: '{{ .vars.x }}'\nb: [1]\n",
    "script: |{{ .vars.x | nindent 2 }}\nafter: 1\n",
    "folded: >{{ .vars.x | nindent 2 }}\nafter: 1\n",
    "list: [a, {{ .vars.x }}]\nz: 0\n",
    "map: {k: {{ .vars.x }}, j: 2}\n",
    "{{ .vars.x }}: v\nz: 1\n",
    "nested:\n  {{ .vars.x }}:\n    deep: 1\n",
    "# {{ .vars.x }}\na: 1\n",
    "a: 1 # {{ .vars.x }}\nb: 2\n",
    "m:\n{{ .vars.m | toYaml | nindent 2 }}\n",
    "a: {{ .vars.x | quote }}\nb: c\n",
    "items:\n  - {{ .vars.x }}\n  - b\n---\nsecond: {{ .vars.x }}\n",
    "a: pre-{{ .vars.x }}-post\n",
    "a: {{ printf \"%s/%s\" .vars.x .vars.x }}\n",
    "env:\n- name: X\n  value: {{ .vars.x }}\n- name: Y\n  value: y\n",
    "{{ if .vars.x }}a: {{ .vars.x }}{{ end }}\nb: 1\n",
    "a: {{ .vars.x }}{{ .vars.x }}\n",
    "a: {{ .vars.x | squote }}\n",
    "a: {{ .vars.x | toJson }}\nb: {{ .vars.m | toJson }}\n",
    "a: {{ .vars.x | yamlQuote }}\n",
    "spec:\n  {{- .vars.m | toYaml | nindent 2 }}\n  c: 1\n",
    "l:\n{{ list .vars.x \"b\" | toYaml | indent 2 }}\n",
    "{{ dict \"k\" .vars.x \"j\" 1 | toYaml }}\n",
];

fn data(x: &str) -> Value {
    Value::from_json(&json!({"vars": {"x": x, "m": {"k": x}}}), true)
}

/// Renders with the real function library.
fn render_docs(src: &str, x: &str) -> Result<Vec<Json>, TemplateError> {
    Template::parse("t", src)?
        .execute(&data(x), super::now(), Budget::default())?
        .documents()
}

/// Every scalar as a string, every string with `from` replaced by `to` (keys too).
fn erase(v: &Json, from: &str, to: &str) -> Json {
    match v {
        Json::Null => Json::String("null".to_owned()),
        Json::Bool(b) => Json::String(b.to_string()),
        Json::Number(n) => Json::String(n.to_string()),
        Json::String(s) => Json::String(s.replace(from, to)),
        Json::Array(a) => Json::Array(a.iter().map(|v| erase(v, from, to)).collect()),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.replace(from, to), erase(v, from, to)))
                .collect(),
        ),
    }
}

/// Adversarial values: YAML's indicators, spaces, tabs, newlines and some unicode.
fn adversarial() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "\n", ":", "-", "#", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "\\", "`", "{", "}",
        "[", "]", ",", "?", "---", "...", " ", "  ", "\t", "é", "日本", "\u{2028}", ": ", "- ",
        "\n- ", "\n---\n", "{{", "}}", "<<", "~",
    ]);
    prop::collection::vec(atoms, 1..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn untrusted_values_never_change_document_shape(x in adversarial()) {
        for src in TEMPLATES {
            let benign = render_docs(src, BENIGN).unwrap();
            let expected: Vec<Json> = benign.iter().map(|d| erase(d, BENIGN, &x)).collect();
            let got = render_docs(src, &x)
                .unwrap_or_else(|e| panic!("template {src:?} value {x:?}: {e}"));
            let got: Vec<Json> = got.iter().map(|d| erase(d, "\u{0}", "\u{0}")).collect();
            prop_assert_eq!(&got, &expected, "template {:?} value {:?}", src, x);
        }
    }

    #[test]
    fn parse_never_panics(src in "[{}\\-/* .$a-z0-9\"'`|():=,\n]{0,80}") {
        let _ = parse(&src);
    }

    #[test]
    fn parse_never_panics_on_any_text(src in any::<String>()) {
        let _ = parse(&src);
        let _ = parse(&format!("{{{{{src}}}}}"));
    }

    #[test]
    fn exec_never_panics_and_budgets_hold(
        parts in prop::collection::vec(prop::sample::select(SNIPPETS.to_vec()), 0..24)
    ) {
        let src = format!(r#"{{{{ define "t" }}}}{{{{ template "t" . }}}}x{{{{ end }}}}{}"#, parts.concat());
        let Ok(t) = parse(&src) else { return Ok(()); };
        let budget = Budget { max_output: 256, max_range_iterations: 50, max_depth: 4 };
        let data = Value::from_json(
            &json!({"list": [1, "a", [2], {"k": null}], "s": "str", "b": true, "x": 2.5}),
            true,
        );
        match t.execute(&data, super::now(), budget) {
            Ok(r) => {
                prop_assert!(r.as_plain().len() <= budget.max_output);
                let _ = r.documents();
            }
            Err(TemplateError::Exec { message, .. }) => prop_assert!(!message.is_empty()),
            Err(other) => prop_assert!(false, "unexpected error kind {:?}", other),
        }
    }
}

const SNIPPETS: &[&str] = &[
    "{{ range .list }}",
    "{{ range $i, $e := .list }}",
    "{{ range 7 }}",
    "{{ end }}",
    "{{ if .b }}",
    "{{ else }}",
    "{{ with .s }}",
    "{{ . }}",
    "{{ $ }}",
    "{{ .x }}",
    "{{ .list.k }}",
    "{{ index .list 3 \"k\" }}",
    "{{ slice .s 1 }}",
    "{{ len . }}",
    "{{ printf \"%v %5.2f %q\" . 1.5 .s }}",
    "{{ template \"t\" . }}",
    "{{ break }}",
    "{{ continue }}",
    "{{ $v := .list }}",
    "{{ eq . 1 }}",
    "{{ lt .x 3.0 }}",
    "{{ and .b . }}",
    "{{ or . .s }}",
    "text: ",
    "\n- ",
    "{{- ",
    " -}}",
];
