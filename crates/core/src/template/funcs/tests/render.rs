//! Functions through the engine: parse, execute with untrusted data, parse the YAML.
//! Every syntax-producing function must give back a hostile value as exactly one
//! scalar, while its own syntax still shapes the document.

use serde_json::{Value as Json, json};

use crate::template::{Budget, Template, TemplateError, Value};

const EVIL: &str = "a\"b: c\n- d";

fn render(src: &str, data: Json) -> Result<Vec<Json>, TemplateError> {
    let now = "2024-03-05T14:07:09Z".parse().unwrap();
    Template::parse("t", src)?
        .execute(&Value::from_json(&data, true), now, Budget::default())?
        .documents()
}

fn one(src: &str, data: Json) -> Json {
    let docs = render(src, data).unwrap_or_else(|e| panic!("{src}: {e}"));
    assert_eq!(docs.len(), 1, "{src}: {docs:?}");
    docs.into_iter().next().unwrap()
}

fn vars() -> Json {
    json!({
        "vars": {"x": EVIL, "m": {"k": EVIL, "n": {"list": [EVIL, "plain"]}}, "l": [EVIL]},
        "session": {"name": "Alice's Session_1"}
    })
}

#[test]
fn quoting_functions_keep_a_hostile_value_one_scalar() {
    for src in [
        "v: {{ .vars.x | quote }}\nafter: 1\n",
        "v: {{ .vars.x | squote }}\nafter: 1\n",
        "v: {{ .vars.x | yamlQuote }}\nafter: 1\n",
        "v: {{ quote .vars.x }}\nafter: 1\n",
        "v: {{ printf \"%s\" .vars.x | quote }}\nafter: 1\n",
    ] {
        assert_eq!(one(src, vars()), json!({"v": EVIL, "after": 1}), "{src}");
    }
}

#[test]
fn serialising_functions_keep_hostile_leaves_scalars() {
    let m = json!({"k": EVIL, "n": {"list": [EVIL, "plain"]}});
    for src in [
        "v: {{ .vars.m | toJson }}\nafter: 1\n",
        "v: {{ .vars.m | toRawJson }}\nafter: 1\n",
        "v:{{ .vars.m | toPrettyJson | nindent 2 }}\nafter: 1\n",
        "v:\n{{ .vars.m | toYaml | indent 2 }}\nafter: 1\n",
        "v:{{ .vars.m | toYaml | nindent 2 }}\nafter: 1\n",
        "v:\n  {{- .vars.m | toYaml | nindent 2 }}\nafter: 1\n",
    ] {
        assert_eq!(one(src, vars()), json!({"v": m, "after": 1}), "{src}");
    }
    assert_eq!(
        one("l:{{ .vars.l | toYaml | nindent 2 }}\n", vars()),
        json!({"l": [EVIL]})
    );
    assert_eq!(
        one("v: {{ .vars.x | toJson }}\n", vars()),
        json!({"v": EVIL})
    );
}

#[test]
fn hostile_keys_from_user_maps_stay_keys() {
    let data = json!({"vars": {"m": {"a: b\n- c": "v", "true": 1}}});
    assert_eq!(
        one("m:{{ .vars.m | toYaml | nindent 2 }}\n", data.clone()),
        json!({"m": {"a: b\n- c": "v", "true": 1}})
    );
    assert_eq!(
        one("m: {{ .vars.m | toJson }}\n", data),
        json!({"m": {"a: b\n- c": "v", "true": 1}})
    );
}

#[test]
fn yaml_safe_and_names_from_user_text() {
    assert_eq!(
        one(
            "v: {{ .vars.x | yamlSafe }}\nn: {{ .session.name | k8sName }}\n",
            vars()
        ),
        json!({"v": "a-b- c - d", "n": "alices-session-1"})
    );
    assert_eq!(
        one(
            "v: {{ \"true\" | yamlSafe }}\nw: {{ \"true\" | yamlQuote }}\n",
            json!({})
        ),
        json!({"v": "true", "w": "true"})
    );
    assert_eq!(
        one(
            "name: {{ printf \"debug-%s\" .session.name | k8sName | truncName 12 }}\n",
            vars()
        ),
        json!({"name": "debug-alices"})
    );
}

#[test]
fn deploy_plan_idioms() {
    let src = "\
image: {{ .vars.image | default \"busybox:1.36\" }}
name: {{ .vars.name | default \"x\" | trunc 5 }}
size: {{ .vars.size | default \"1Gi\" | parseQuantity }}
labels:{{ .labels | toYaml | nindent 2 }}
args: {{ list \"sh\" \"-c\" .vars.cmd | toJson }}
";
    let data = json!({
        "vars": {"name": "abcdefgh", "cmd": "echo \"hi\"; exit 1"},
        "labels": {"app.kubernetes.io/name": "dbg", "team": "a b"}
    });
    assert_eq!(
        one(src, data),
        json!({
            "image": "busybox:1.36",
            "name": "abcde",
            "size": 1_073_741_824,
            "labels": {"app.kubernetes.io/name": "dbg", "team": "a b"},
            "args": ["sh", "-c", "echo \"hi\"; exit 1"]
        })
    );
}

#[test]
fn function_errors_carry_the_position() {
    let e = render(
        "a: 1\nb: {{ required \"image is required\" .vars.image }}\n",
        json!({}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "template t: line 2, column 7: error calling required: image is required"
    );
    let e = render("{{ div 1 0 }}", json!({})).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("error calling div: integer divide by zero"),
        "{e}"
    );
    let e = render("{{ trunc 1 }}", json!({})).unwrap_err();
    assert!(
        matches!(e, TemplateError::Parse { .. }),
        "arity is checked at parse: {e}"
    );
}

#[test]
fn dates_and_sets_through_the_engine() {
    assert_eq!(
        one(
            "t: {{ now | quote }}\nd: {{ now | date \"2006-01-02\" | quote }}\n",
            json!({})
        ),
        json!({"t": "2024-03-05T14:07:09Z", "d": "2024-03-05"})
    );
    let src = "{{- $d := dict \"a\" 1 }}{{ $d = set $d \"b\" 2 }}v: {{ $d | toJson }}\n";
    assert_eq!(one(src, json!({})), json!({"v": {"a": 1, "b": 2}}));
}

/// When the output of a syntax function is itself part of a string (a JSON or YAML
/// document in a ConfigMap, a shell line), the user's text inside it is escaped for that
/// inner syntax, exactly as Go writes it: the embedded document reads back the value.
#[test]
fn embedded_documents_read_back_the_hostile_value() {
    let doc = one(
        "json: {{ .vars.m | toJson | quote }}\n\
         yaml: |\n{{ .vars.m | toYaml | indent 2 }}\n\
         pretty: {{ .vars.m | toPrettyJson | squote }}\n\
         script: |\n  echo {{ .vars.x | quote }}\n  echo {{ .vars.x | squote }}\n",
        vars(),
    );
    let m = json!({"k": EVIL, "n": {"list": [EVIL, "plain"]}});
    let json_text = doc["json"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Json>(json_text).unwrap(),
        m,
        "{json_text}"
    );
    let pretty = doc["pretty"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Json>(pretty).unwrap(), m, "{pretty}");
    let yaml_text = doc["yaml"].as_str().unwrap();
    let inner: Json = serde_saphyr::from_str(yaml_text).unwrap();
    assert_eq!(inner, m, "{yaml_text}");
    assert_eq!(
        doc["script"],
        json!("echo \"a\\\"b: c\\n- d\"\necho 'a\"b: c\n- d'\n"),
        "quote writes Go's escapes; squote keeps the text between its quotes"
    );
    let quoted = one(
        "s: |\n  echo {{ .vars.q | squote }}\n",
        json!({"vars": {"q": "'; rm -rf /; '"}}),
    );
    assert_eq!(quoted["s"], json!("echo '''; rm -rf /; '''\n"));
}

#[test]
fn values_cannot_be_nested_without_bound() {
    let src = "{{ $x := list }}{{ range until 500 }}{{ $x = list $x }}{{ end }}v: 1\n";
    let e = render(src, json!({})).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("error calling list: result would be nested more than 100 levels deep"),
        "{e}"
    );
}

fn hostile_json() -> impl proptest::strategy::Strategy<Value = Json> {
    use proptest::prelude::*;
    let text = "[a-z0-9 :#\\-\\[\\]{},&*!|>'\"%@`\\\\\n\t\u{2028}é]{0,8}";
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        (-1000i64..1000).prop_map(Json::from),
        text.prop_map(Json::from),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::btree_map(text, inner, 0..4)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Any user value, written with `toYaml`/`toJson` into the manifest or embedded in a
    /// string, reads back as exactly that value.
    #[test]
    fn serialised_user_values_read_back_exactly(v in hostile_json()) {
        let src = "y:{{ .vars.v | toYaml | nindent 2 }}\nj: {{ .vars.v | toJson }}\n\
                   q: {{ .vars.v | toJson | quote }}\nb: |\n{{ .vars.v | toYaml | indent 2 }}\n";
        let doc = one(src, json!({"vars": {"v": v.clone()}}));
        proptest::prop_assert_eq!(&doc["y"], &v);
        proptest::prop_assert_eq!(&doc["j"], &v);
        let q: Json = serde_json::from_str(doc["q"].as_str().unwrap_or("")).unwrap_or(Json::Bool(false));
        proptest::prop_assert_eq!(&q, &v);
        let b = doc["b"].as_str().unwrap_or("").trim_end_matches('\n').to_owned();
        let from_block = crate::template::funcs::lookup("fromYaml")
            .map(|f| (f.func)(&[Value::str(b.clone())], &super::env()));
        let expect = Value::from_json(&v, false);
        let got = from_block.and_then(Result::ok).unwrap_or(Value::Str("unparsed".into()));
        let same = crate::template::funcs::args::deep_eq(&got, &expect)
            || (b.is_empty() && matches!(v, Json::Null));
        proptest::prop_assert!(same, "block {b:?} read back as {got:?}");
    }
}

/// The examples of docs/template-functions.md, rendered as the document says.
#[test]
fn documented_examples_render_as_documented() {
    let rows = [
        (r#"trimAll "$" "$5.00""#, "5.00"),
        (r#"untitle "Hello World""#, "hello world"),
        (r#"abbrev 5 "hello world""#, "he..."),
        (r#"snakecase "HTTPServer""#, "http_server"),
        (r#"camelcase "a_b""#, "AB"),
        (r#"wrap 5 "ab cd ef""#, "ab cd\nef"),
        (r#"(split "$" "a$b")._1"#, "b"),
        (r#"(splitn "$" 2 "a$b$c")._1"#, "b$c"),
        (r#"join "," (list 1 2)"#, "1,2"),
        (r#"compact (list 1 "" 0)"#, "[1]"),
        (r#"untilStep 0 10 4"#, "[0 4 8]"),
        (r#"seq 0 2 6"#, "0 2 4 6"),
        (r#"round 1.2345 2"#, "1.23"),
        (r#"toRawJson "<a>""#, "\"<a>\""),
        (r#"(fromJson "{\"a\":1}").a"#, "1"),
        (r#"regexReplaceAll "a(x*)b" "-axxb-" "${1}W""#, "-xxW-"),
        (r#"dateInZone "15:04" now "+02:00""#, "16:07"),
        (
            r#"toDate "2006-01-02" "2017-12-31""#,
            "2017-12-31T00:00:00Z",
        ),
        (r#"unixEpoch now"#, "1709647629"),
        (r#"ago "2024-03-05T13:05:06Z""#, "1h2m3s"),
        (r#"truncName 10 "very-long-name-that""#, "very-long"),
        (r#"k8sName "My App_v1.2""#, "my-app-v1-2"),
        (r#"yamlQuote "yes""#, "\"yes\""),
        (r#"yamlSafe "a: b""#, "a- b"),
        (r#"formatQuantity 536870912"#, "512Mi"),
        (r#"chunk 2 (list 1 2 3)"#, "[[1 2] [3]]"),
        (r#"toDecimal "0755""#, "493"),
        (r#"(semver "v1.2.3").Minor"#, "2"),
        (r#"semverCompare "^1.2.0" "1.4.1""#, "true"),
        (r#"now | dateModify "-1.5h""#, "2024-03-05T12:37:09Z"),
    ];
    for (expr, want) in rows {
        let src = format!("{{{{ {expr} }}}}");
        let now = "2024-03-05T14:07:09Z".parse().unwrap();
        let out = Template::parse("t", &src)
            .and_then(|t| t.execute(&Value::Nil, now, Budget::default()))
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(out.as_plain(), want, "{expr}");
    }
}
