//! `Rendered::documents`: multi-document YAML, empty documents skipped, untrusted
//! values substituted inside scalars only.

use serde_json::json;

use super::{TemplateError, Value, run_value};

fn docs(src: &str, data: serde_json::Value) -> Result<Vec<serde_json::Value>, TemplateError> {
    run_value(src, &Value::from_json(&data, true))?.documents()
}

#[test]
fn documents_are_parsed_and_empty_ones_skipped() {
    let src = "---\n# only a comment\n---\na: 1\nb: [x, z]\n---\n\n---\nc: {d: true}\n";
    let got = docs(src, json!({})).unwrap();
    assert_eq!(
        got,
        vec![json!({"a": 1, "b": ["x", "z"]}), json!({"c": {"d": true}})]
    );
    assert!(docs("", json!({})).unwrap().is_empty());
}

#[test]
fn yaml_1_1_scalars_as_kubernetes_reads_them() {
    let got = docs("mode: 0755\non: yes\nq: \"0755\"\nl: [y, n]\n", json!({})).unwrap();
    assert_eq!(
        got,
        vec![json!({"mode": 493, "on": true, "q": "0755", "l": [true, false]})]
    );
}

#[test]
fn inert_values_keep_their_yaml_type() {
    let src = "replicas: {{ .vars.n }}\nenabled: {{ .vars.b }}\nimage: {{ .vars.img }}\n";
    let got = docs(
        src,
        json!({"vars": {"n": "3", "b": "true", "img": "reg.io/app:1.2"}}),
    )
    .unwrap();
    assert_eq!(
        got,
        vec![json!({"replicas": 3, "enabled": true, "image": "reg.io/app:1.2"})]
    );
}

#[test]
fn hostile_values_stay_inside_one_scalar() {
    let evil = "x\nkind: Secret\n---\nmalicious: [1, 2]";
    let src =
        "kind: Pod\nname: {{ .vars.x }}\nquoted: \"{{ .vars.x }}\"\nlist: [a, {{ .vars.x }}]\n";
    let got = docs(src, json!({"vars": {"x": evil}})).unwrap();
    assert_eq!(
        got,
        vec![json!({"kind": "Pod", "name": evil, "quoted": evil, "list": ["a", evil]})]
    );
}

#[test]
fn values_in_keys_block_scalars_and_comments() {
    let src = "labels:\n  {{ .vars.k }}: v\nscript: |{{ .vars.s | nindent 2 }}\n# {{ .vars.s }}\n";
    let got = docs(
        src,
        json!({"vars": {"k": "a: b", "s": "echo 1\n: not a key\n- x"}}),
    )
    .unwrap();
    assert_eq!(
        got,
        vec![json!({"labels": {"a: b": "v"}, "script": "echo 1\n: not a key\n- x\n"})]
    );
}

#[test]
fn quote_and_to_yaml_shape_the_document_and_keep_values_whole() {
    let src = "a: {{ .vars.x | quote }}\nm:\n{{ .vars.m | toYaml | nindent 2 }}\n";
    let got = docs(src, json!({"vars": {"x": "\"]}{", "m": {"k": "v: w"}}})).unwrap();
    assert_eq!(got, vec![json!({"a": "\"]}{", "m": {"k": "v: w"}})]);
}

#[test]
fn keys_equal_after_substitution_are_an_error() {
    let src = "{{ .vars.a }}: 1\n{{ .vars.b }}: 2\n";
    let e = docs(src, json!({"vars": {"a": "x y", "b": "x y"}})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "template t: rendered output is not valid YAML: document 1: two mapping keys are \
         equal once values are substituted"
    );
}

#[test]
fn yaml_errors_name_the_document_and_never_the_value() {
    let src = "a: 1\n---\nb: [\n";
    let e = docs(src, json!({})).unwrap_err();
    let TemplateError::Yaml { message, .. } = &e else {
        panic!("{e:?}");
    };
    assert!(message.starts_with("document 2: "), "{message}");
    let src = "a: {{ .vars.x }}\na: 2\n";
    let e = docs(src, json!({"vars": {"x": "secret value!"}})).unwrap_err();
    assert!(!e.to_string().contains("secret"), "{e}");
}

#[test]
fn placeholder_prefix_avoids_text_already_present() {
    // A value that looks like a placeholder is just text.
    let src = "a: {{ .vars.x }}\nb: bgtkxq0z\n";
    let got = docs(src, json!({"vars": {"x": "bgtkxq0z bgtkxxq0z"}})).unwrap();
    assert_eq!(
        got,
        vec![json!({"a": "bgtkxq0z bgtkxxq0z", "b": "bgtkxq0z"})]
    );
}

/// The feature document's storage example, rendered with the real library.
#[test]
fn spec_example_renders_with_the_library() {
    let src = "# First document: PodSpec\ncontainers:\n  - name: fio\n    image: wallnerryan/fiotools:latest\n    command: [\"sleep\", \"infinity\"]\nvolumes:\n  - name: test-volume\n    persistentVolumeClaim:\n      claimName: pvc-{{ .session.name | trunc 20 }}\n---\n# Second document: PVC\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: pvc-{{ .session.name | trunc 20 }}\nspec:\n  storageClassName: {{ .vars.storageClass | default \"standard\" }}\n  resources:\n    requests:\n      storage: {{ .vars.pvcSize | default \"10Gi\" }}\n";
    let t = super::Template::parse("storage", src).unwrap();
    let data = Value::Map(
        [
            (
                "session".to_owned(),
                Value::from_json(&json!({"name": "debug-alice-0123456789abcdef"}), false),
            ),
            (
                "vars".to_owned(),
                Value::from_json(&json!({"pvcSize": "20Gi"}), true),
            ),
        ]
        .into_iter()
        .collect(),
    );
    let docs = t
        .execute(&data, super::now(), super::Budget::default())
        .unwrap()
        .documents()
        .unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[0]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        json!("pvc-debug-alice-01234567")
    );
    assert_eq!(docs[1]["spec"]["storageClassName"], json!("standard"));
    assert_eq!(
        docs[1]["spec"]["resources"]["requests"]["storage"],
        json!("20Gi")
    );
}

#[test]
fn required_fails_with_its_message_and_position() {
    let t = super::Template::parse(
        "pod",
        "kind: Pod\nspec:\n  image: {{ required \"image is required\" .vars.image }}\n",
    )
    .unwrap();
    let data = Value::from_json(&json!({"vars": {}}), true);
    let e = t
        .execute(&data, super::now(), super::Budget::default())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "template pod: line 3, column 13: error calling required: image is required"
    );
}

#[test]
fn templates_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<super::Template>();
    assert_send_sync::<super::Rendered>();
}

/// The example of docs/debug-templates.md renders to what the document says.
#[test]
fn documented_example_renders() {
    let src = "containers:\n  - name: debug\n    image: {{ .vars.image | default \"busybox:1.36\" }}\n    command: [\"sleep\", \"{{ .vars.seconds | default \"3600\" }}\"]\n    {{- with .vars.extraEnv }}\n    env:\n      - name: EXTRA\n        value: {{ . | quote }}\n    {{- end }}\n    resources:\n      limits:\n        memory: {{ .vars.memory | default \"256Mi\" }}\n{{- range $i, $port := list 8080 9090 }}\n    # port {{ $i }}: {{ $port }}\n{{- end }}\n";
    let t = super::Template::parse("example", src).unwrap();
    let data = Value::from_json(
        &json!({"vars": {"extraEnv": "a \"b\"\n: c", "memory": "1Gi"}}),
        true,
    );
    let docs = t
        .execute(&data, super::now(), super::Budget::default())
        .unwrap()
        .documents()
        .unwrap();
    assert_eq!(
        docs,
        vec![json!({"containers": [{
            "name": "debug",
            "image": "busybox:1.36",
            "command": ["sleep", "3600"],
            "env": [{"name": "EXTRA", "value": "a \"b\"\n: c"}],
            "resources": {"limits": {"memory": "1Gi"}},
        }]})]
    );
}

/// A render at the default limits (10 000 iterations, about 1 MiB, one placeholder per
/// item) stays fast: the steps are linear.
#[test]
fn large_render_is_linear() {
    let src = "items:\n{{ range $i, $e := .vars.list }}  - name: n{{ $i }}\n    value: {{ $e | quote }}\n{{ end }}";
    let list: Vec<String> = (0..9_999).map(|i| format!("v: {i} #")).collect();
    let data = Value::from_json(&json!({"vars": {"list": list}}), true);
    let t = super::Template::parse("big", src).unwrap();
    let started = std::time::Instant::now();
    let docs = t
        .execute(&data, super::now(), super::Budget::default())
        .unwrap()
        .documents()
        .unwrap();
    assert_eq!(docs[0]["items"].as_array().map(Vec::len), Some(9_999));
    assert_eq!(docs[0]["items"][42]["value"], json!("v: 42 #"));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
