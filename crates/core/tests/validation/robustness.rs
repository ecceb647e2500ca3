//! No input makes validation panic.

use breakglass_core::validation::validate_object;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::yaml;

/// Values substituted at every position of a valid object.
fn substitutes() -> Vec<Value> {
    vec![
        Value::Null,
        json!(""),
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(1.5),
        json!(true),
        json!([]),
        json!({}),
        json!(["x", "x"]),
        json!({"x": {}}),
        json!("x".repeat(300)),
        json!("{{ if }}[*?\u{0}"),
    ]
}

fn paths(value: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                at.push(json!(k));
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                at.push(json!(i));
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn set(doc: &mut Value, path: &[Value], new: Value) {
    let mut cur = doc;
    for step in path {
        cur = match step {
            Value::String(k) => &mut cur[k.as_str()],
            Value::Number(i) => &mut cur[i.as_u64().unwrap_or(0) as usize],
            _ => return,
        };
    }
    *cur = new;
}

#[test]
fn every_position_of_every_base_tolerates_any_value() {
    let bases = [
        crate::session::BASE,
        crate::debug_session::BASE,
        crate::debug_session_template::BASE,
    ];
    let mut checked = 0;
    for base in bases {
        let doc = yaml(base);
        let mut all = Vec::new();
        paths(&doc, &mut Vec::new(), &mut all);
        for path in all {
            for sub in substitutes() {
                let mut d = doc.clone();
                set(&mut d, &path, sub);
                let _ = validate_object(&d);
                checked += 1;
            }
        }
    }
    assert!(checked > 500);
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9 .:*?\\[\\]{}/@_-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("groups".to_string()),
                    Just("clusters".to_string()),
                    Just("mode".to_string()),
                    Just("patterns".to_string()),
                    Just("podTemplateRef".to_string()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_specs_never_panic(kind in prop::sample::select(breakglass_core::validation::KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>()), spec in arbitrary_json()) {
        let doc = json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": kind,
            "metadata": {"name": "x"},
            "spec": spec,
        });
        let _ = validate_object(&doc);
    }
}
