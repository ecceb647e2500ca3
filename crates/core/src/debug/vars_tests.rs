use serde_json::json;

use super::*;

fn var(name: &str, ty: ExtraDeployInputType) -> ExtraDeployVariable {
    ExtraDeployVariable {
        name: name.into(),
        input_type: Some(ty),
        ..Default::default()
    }
}

fn with_rules(mut v: ExtraDeployVariable, rules: ExtraDeployValidation) -> ExtraDeployVariable {
    v.validation = Some(rules);
    v
}

fn opt(value: &str, disabled: bool, groups: &[&str]) -> ExtraDeployOption {
    ExtraDeployOption {
        value: value.into(),
        disabled: disabled.then_some(true),
        allowed_groups: (!groups.is_empty())
            .then(|| groups.iter().map(|g| (*g).to_owned()).collect()),
        ..Default::default()
    }
}

fn groups(g: &[&str]) -> Vec<String> {
    g.iter().map(|s| (*s).to_owned()).collect()
}

/// Runs rows of (input, expected normalised value or the error's message prefix).
fn table(v: &ExtraDeployVariable, rows: &[(Value, Result<Value, &str>)]) {
    let dev = groups(&["developers"]);
    for (input, want) in rows {
        let got = normalise(v, input, Some(&dev)).map_err(|e| e.to_string());
        match (want, &got) {
            (Ok(w), Ok(g)) => assert_eq!(g, w, "{}: {input}", v.name),
            (Err(w), Err(g)) => assert!(g.starts_with(w), "{}: {input}: {g:?} vs {w:?}", v.name),
            _ => unreachable!("{}: {input}: got {got:?}, want {want:?}", v.name),
        }
    }
}

#[test]
fn boolean_table() {
    let v = var("debug", ExtraDeployInputType::Boolean);
    table(
        &v,
        &[
            (json!(true), Ok(json!(true))),
            (json!(false), Ok(json!(false))),
            (json!("true"), Ok(json!(true))),
            (json!("FALSE"), Ok(json!(false))),
            (json!("yes"), Err("must be true or false")),
            (json!(1), Err("must be true or false")),
            (json!(["true"]), Err("must be true or false")),
        ],
    );
}

#[test]
fn number_table() {
    let v = with_rules(
        var("replicas", ExtraDeployInputType::Number),
        ExtraDeployValidation {
            min: Some("1".into()),
            max: Some("10.5".into()),
            ..Default::default()
        },
    );
    table(
        &v,
        &[
            (json!(3), Ok(json!(3))),
            (json!(2.5), Ok(json!(2.5))),
            (json!("4"), Ok(json!(4))),
            (json!(" 7 "), Ok(json!(7))),
            (json!("1.25"), Ok(json!(1.25))),
            (json!("1e1"), Ok(json!(10.0))),
            (json!(10.5), Ok(json!(10.5))),
            (json!(0), Err("must be at least 1")),
            (json!("-3"), Err("must be at least 1")),
            (json!(11), Err("must be at most 10.5")),
            (json!("abc"), Err("must be a number")),
            (json!("inf"), Err("must be a number")),
            (json!("NaN"), Err("must be a number")),
            (json!("0x10"), Err("must be a number")),
            (json!("1 2"), Err("must be a number")),
            (json!(true), Err("must be a number")),
        ],
    );
    let broken = with_rules(
        var("n", ExtraDeployInputType::Number),
        ExtraDeployValidation {
            min: Some("one".into()),
            ..Default::default()
        },
    );
    table(
        &broken,
        &[(
            json!(5),
            Err("the template's rule validation.min is invalid"),
        )],
    );
}

#[test]
fn text_table() {
    let v = with_rules(
        var("label", ExtraDeployInputType::Text),
        ExtraDeployValidation {
            min_length: Some(3),
            max_length: Some(5),
            pattern: Some("^[a-z][a-z0-9-]*$".into()),
            pattern_error: Some("lower-case letters, digits and dashes".into()),
            ..Default::default()
        },
    );
    table(
        &v,
        &[
            (json!("abc"), Ok(json!("abc"))),
            (json!("a-1"), Ok(json!("a-1"))),
            (json!("ab"), Err("must be at least 3 characters long")),
            (json!("abcdef"), Err("must be at most 5 characters long")),
            (json!("ÄBC"), Err("lower-case letters, digits and dashes")),
            (json!("1abc"), Err("lower-case letters, digits and dashes")),
            (json!(123), Err("must be text")),
        ],
    );
    // Lengths count characters, not bytes; the pattern is unanchored unless it says so.
    let plain = with_rules(
        var("t", ExtraDeployInputType::Text),
        ExtraDeployValidation {
            max_length: Some(3),
            pattern: Some("b".into()),
            ..Default::default()
        },
    );
    table(
        &plain,
        &[
            (json!("äbö"), Ok(json!("äbö"))),
            (json!("xyz"), Err("must match the pattern \"b\"")),
        ],
    );
    // The default type is text.
    let untyped = ExtraDeployVariable {
        name: "x".into(),
        ..Default::default()
    };
    table(
        &untyped,
        &[
            (json!("any"), Ok(json!("any"))),
            (json!(1), Err("must be text")),
        ],
    );
    let bad = with_rules(
        var("t", ExtraDeployInputType::Text),
        ExtraDeployValidation {
            pattern: Some("(".into()),
            ..Default::default()
        },
    );
    table(
        &bad,
        &[(
            json!("x"),
            Err("the template's rule validation.pattern is invalid"),
        )],
    );
}

#[test]
fn huge_patterns_are_refused() {
    assert!(compile_pattern(&"a".repeat(MAX_PATTERN_LEN + 1)).is_err());
    // Small text, huge automaton.
    assert_eq!(
        compile_pattern(r"\w{1000}\w{1000}\w{1000}")
            .err()
            .as_deref(),
        Some("too complex")
    );
    assert!(compile_pattern("^[a-z]+$").is_ok());
}

#[test]
fn storage_table() {
    let v = with_rules(
        var("disk", ExtraDeployInputType::StorageSize),
        ExtraDeployValidation {
            min_storage: Some("1Gi".into()),
            max_storage: Some("100Gi".into()),
            ..Default::default()
        },
    );
    table(
        &v,
        &[
            (json!("10Gi"), Ok(json!("10Gi"))),
            (json!(" 1Gi "), Ok(json!("1Gi"))),
            (json!("2G"), Ok(json!("2G"))),
            (json!(2_147_483_648_u64), Ok(json!("2147483648"))),
            (json!("100Gi"), Ok(json!("100Gi"))),
            (json!("1023Mi"), Err("must be at least 1Gi")),
            (json!("101Gi"), Err("must be at most 100Gi")),
            (json!("-1Gi"), Err("must not be negative")),
            (json!(-5), Err("must not be negative")),
            (json!("ten gigs"), Err("\"ten gigs\" is not a quantity")),
            (json!(true), Err("must be a storage size")),
        ],
    );
}

#[test]
fn select_table() {
    let mut v = var("level", ExtraDeployInputType::Select);
    v.options = Some(vec![
        opt("info", false, &[]),
        opt("debug", false, &[]),
        opt("trace", true, &[]),
        opt("raw", false, &["sre"]),
    ]);
    table(
        &v,
        &[
            (json!("info"), Ok(json!("info"))),
            (json!("debug"), Ok(json!("debug"))),
            (
                json!("verbose"),
                Err("\"verbose\" is not one of the options (info, debug, raw)"),
            ),
            (json!("trace"), Err("option \"trace\" is disabled")),
            (json!("raw"), Err("you may not choose option \"raw\"")),
            (json!(["info"]), Err("must be one of the option values")),
        ],
    );
    let sre = groups(&["sre"]);
    assert_eq!(normalise(&v, &json!("raw"), Some(&sre)), Ok(json!("raw")));
    // An administrator's default is not subject to option groups.
    assert_eq!(normalise(&v, &json!("raw"), None), Ok(json!("raw")));
}

#[test]
fn multi_select_table() {
    let mut v = with_rules(
        var("tools", ExtraDeployInputType::MultiSelect),
        ExtraDeployValidation {
            min_items: Some(1),
            max_items: Some(3),
            ..Default::default()
        },
    );
    v.options = Some(vec![
        opt("tcpdump", false, &[]),
        opt("strace", false, &[]),
        opt("gdb", false, &[]),
        opt("curl", false, &[]),
        opt("old", true, &[]),
        opt("perf", false, &["sre"]),
    ]);
    table(
        &v,
        &[
            (
                json!(["strace", "tcpdump"]),
                Ok(json!(["strace", "tcpdump"])),
            ),
            (json!("tcpdump, gdb"), Ok(json!(["tcpdump", "gdb"]))),
            (json!("curl,"), Ok(json!(["curl"]))),
            (json!([]), Err("choose at least 1 of the options")),
            (json!(""), Err("choose at least 1 of the options")),
            (
                json!(["tcpdump", "strace", "gdb", "curl"]),
                Err("choose at most 3 of the options"),
            ),
            (
                json!(["gdb", "gdb"]),
                Err("option \"gdb\" is selected twice"),
            ),
            (json!(["nmap"]), Err("\"nmap\" is not one of the options")),
            (json!(["old"]), Err("option \"old\" is disabled")),
            (json!(["perf"]), Err("you may not choose option \"perf\"")),
            (json!([1]), Err("must be a list of option values")),
            (json!(true), Err("must be a list of option values")),
        ],
    );
}

#[test]
fn resolve_applies_defaults_groups_and_required() {
    let mut level = var("level", ExtraDeployInputType::Select);
    level.options = Some(vec![opt("info", false, &[]), opt("debug", false, &[])]);
    level.default = Some(json!("info"));
    let mut debug = var("debug", ExtraDeployInputType::Boolean);
    debug.default = Some(json!("false"));
    let mut label = var("label", ExtraDeployInputType::Text);
    label.required = Some(true);
    let mut privileged = var("privileged", ExtraDeployInputType::Boolean);
    privileged.allowed_groups = Some(groups(&["sre*"]));
    privileged.default = Some(json!(false));
    let optional = var("note", ExtraDeployInputType::Text);
    let declared = vec![level, debug, label, privileged, optional];
    let dev = groups(&["developers"]);
    let given = |pairs: Value| -> BTreeMap<String, Value> {
        serde_json::from_value(pairs).unwrap_or_default()
    };

    let ok = resolve(
        &declared,
        Some(&given(json!({"label": "x", "level": "debug"}))),
        &dev,
    );
    assert_eq!(
        ok.map(|m| serde_json::to_value(m).unwrap_or_default()),
        Ok(json!({"debug": false, "label": "x", "level": "debug", "privileged": false}))
    );
    let err = |pairs: Value, g: &[String]| {
        resolve(&declared, Some(&given(pairs)), g)
            .err()
            .map(|e| (e.field(), e.is_forbidden(), e.to_string()))
    };
    assert_eq!(
        err(json!({}), &dev),
        Some((
            "extraDeployValues.label".into(),
            false,
            "extraDeployValues.label: a value is required".into()
        ))
    );
    assert_eq!(
        err(json!({"label": null}), &dev).map(|e| e.2),
        Some("extraDeployValues.label: a value is required".into()),
        "null is no value"
    );
    assert_eq!(
        err(json!({"label": ""}), &dev).map(|e| e.2),
        Some("extraDeployValues.label: a value is required".into())
    );
    assert_eq!(
        err(json!({"label": "x", "privileged": true}), &dev),
        Some((
            "extraDeployValues.privileged".into(),
            true,
            "extraDeployValues.privileged: you may not set this variable".into()
        ))
    );
    assert!(
        resolve(
            &declared,
            Some(&given(json!({"label": "x", "privileged": "true"}))),
            &groups(&["sre-leads"])
        )
        .is_ok_and(|m| m.get("privileged") == Some(&json!(true)))
    );
    assert_eq!(
        err(json!({"label": "x", "lable": "y"}), &dev),
        Some((
            "extraDeployValues.lable".into(),
            false,
            "extraDeployValues.lable: not a variable this template declares".into()
        ))
    );
    assert_eq!(
        err(json!({"label": "x".repeat(MAX_VALUE_BYTES)}), &dev).map(|e| e.2),
        Some(format!(
            "extraDeployValues.label: at most {MAX_VALUE_BYTES} bytes"
        ))
    );
    let many: BTreeMap<String, Value> = (0..=MAX_VALUES)
        .map(|i| (format!("v{i}"), json!(1)))
        .collect();
    assert_eq!(
        resolve(&declared, Some(&many), &dev)
            .err()
            .map(|e| e.to_string()),
        Some(format!("extraDeployValues: at most {MAX_VALUES} values"))
    );
}

#[test]
fn a_bad_default_is_refused_naming_the_variable() {
    let mut v = var("replicas", ExtraDeployInputType::Number);
    v.default = Some(json!("many"));
    let r = resolve(&[v], None, &[]);
    assert_eq!(
        r.err().map(|e| e.to_string()),
        Some(
            "extraDeployValues.replicas: the template's default is invalid: must be a number (JSON number or decimal text)"
                .into()
        )
    );
}

#[test]
fn definition_checks() {
    let fields = |v: &ExtraDeployVariable| -> Vec<String> {
        check_definition(v)
            .iter()
            .map(|e| format!("{}: {}", e.field.join("."), e.message))
            .collect()
    };
    let mut n = with_rules(
        var("n", ExtraDeployInputType::Number),
        ExtraDeployValidation {
            min: Some("5".into()),
            max: Some("1".into()),
            ..Default::default()
        },
    );
    n.default = Some(json!(3));
    assert_eq!(
        fields(&n),
        vec![
            "validation.min: must not exceed validation.max",
            "default: must be at least 5"
        ]
    );
    let mut s = with_rules(
        var("s", ExtraDeployInputType::StorageSize),
        ExtraDeployValidation {
            min_storage: Some("2Gi".into()),
            max_storage: Some("1Gi".into()),
            ..Default::default()
        },
    );
    s.default = Some(json!("1Gi"));
    assert_eq!(
        fields(&s),
        vec![
            "validation.minStorage: must not exceed validation.maxStorage",
            "default: must be at least 2Gi"
        ]
    );
    let mut t = with_rules(
        var("t", ExtraDeployInputType::Text),
        ExtraDeployValidation {
            pattern: Some("([a-z]".into()),
            ..Default::default()
        },
    );
    t.default = Some(json!("abc"));
    let f = fields(&t);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].starts_with("validation.pattern: not a valid regular expression"),
        "{f:?}"
    );
    let mut sel = var("sel", ExtraDeployInputType::Select);
    sel.options = Some(vec![opt("a", false, &[]), opt("b", true, &[])]);
    sel.default = Some(json!("b"));
    assert_eq!(fields(&sel), vec!["default: option \"b\" is disabled"]);
    sel.default = Some(json!("a"));
    assert!(fields(&sel).is_empty());
    let mut multi = var("m", ExtraDeployInputType::MultiSelect);
    multi.options = Some(vec![opt("a", false, &["sre"])]);
    multi.default = Some(json!(["a"]));
    assert!(fields(&multi).is_empty(), "defaults ignore option groups");
    let mut b = var("b", ExtraDeployInputType::Boolean);
    b.default = Some(json!("maybe"));
    assert_eq!(fields(&b), vec!["default: must be true or false"]);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Decimal text is read as Rust reads it (never `inf`/`nan`), and a number
        /// variable stores the same value whether it came as text or as JSON.
        #[test]
        fn decimal_text_agrees_with_json(int in -1_000_000i64..1_000_000, frac in 0u32..1000) {
            let text = format!("{int}.{frac:03}");
            let parsed = parse_decimal(&text);
            prop_assert_eq!(parsed, text.parse::<f64>().ok());
            let v = var("n", ExtraDeployInputType::Number);
            let from_text = normalise(&v, &json!(text), None);
            let from_json = normalise(&v, &json!(parsed.unwrap_or_default()), None);
            prop_assert_eq!(from_text, from_json);
            let whole = normalise(&v, &json!(int.to_string()), None);
            prop_assert_eq!(whole, Ok(json!(int)));
        }

        /// Whatever a requester sends, a multiSelect stores distinct declared, enabled
        /// option values or refuses.
        #[test]
        fn multi_select_stores_only_distinct_options(items in proptest::collection::vec("[a-d ,]{0,4}", 0..6)) {
            let mut v = var("m", ExtraDeployInputType::MultiSelect);
            v.options = Some(vec![opt("a", false, &[]), opt("b", false, &[]), opt("c", true, &[])]);
            for input in [json!(items.join(",")), json!(items)] {
                if let Ok(Value::Array(stored)) = normalise(&v, &input, Some(&[])) {
                    let mut seen = HashSet::new();
                    for s in &stored {
                        prop_assert!(s == "a" || s == "b", "{s}");
                        prop_assert!(seen.insert(s.clone()));
                    }
                }
            }
        }
    }
}
