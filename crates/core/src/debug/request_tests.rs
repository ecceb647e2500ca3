use std::collections::BTreeMap;

use breakglass_api::DebugSessionClusterBinding;
use breakglass_api::common::NamespaceFilter;
use breakglass_api::debug_common::{
    DebugRequestReasonConfig, DebugSessionConstraints, DebugSessionConstraintsOverride,
    ExtraDeployVariable, NamespaceConstraints, NamespaceConstraintsOverride, SchedulingConstraints,
    SchedulingOption, SchedulingOptions,
};
use breakglass_api::debug_session::{
    BindingReference, DebugSession, DebugSessionSpec, DebugSessionState, DebugSessionStatus,
};
use breakglass_api::debug_session_cluster_binding::{
    DebugSessionClusterBindingSpec, TemplateReference,
};
use breakglass_api::debug_session_template::{DebugSessionTemplate, DebugSessionTemplateSpec};

use super::*;
use crate::debug::merge::effective_template;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn template(spec: DebugSessionTemplateSpec) -> DebugSessionTemplate {
    DebugSessionTemplate::new("net", spec)
}

fn binding(spec: DebugSessionClusterBindingSpec) -> DebugSessionClusterBinding {
    let mut b = DebugSessionClusterBinding::new("b", spec);
    b.metadata.namespace = Some("team".into());
    b
}

/// Plans `asked` for requester alice (groups `developers`) on cluster `c1`.
fn run(
    t: &DebugSessionTemplate,
    b: Option<&DebugSessionClusterBinding>,
    asked: &Asked<'_>,
) -> Result<Planned, RequestError> {
    let groups = strings(&["developers"]);
    let requester = Requester {
        user: "alice",
        email: Some("alice@example.com"),
        groups: &groups,
    };
    let effective = effective_template(&t.spec, b.map(|b| &b.spec));
    plan(
        &Context {
            template: t,
            binding: b,
            effective: &effective,
            cluster: "c1",
            requester: &requester,
            display_name: Some("Alice"),
        },
        asked,
    )
}

fn field_of(r: &Result<Planned, RequestError>) -> Option<(bool, String)> {
    match r {
        Ok(_) => None,
        Err(RequestError::Invalid { field, .. }) => Some((true, field.clone())),
        Err(RequestError::Forbidden { field, .. }) => Some((false, field.clone())),
    }
}

#[test]
fn minimal_request_fills_the_spec() {
    let b = binding(DebugSessionClusterBindingSpec {
        template_ref: Some(TemplateReference { name: "net".into() }),
        ..Default::default()
    });
    let planned = run(&template(Default::default()), Some(&b), &Asked::default());
    let Ok(planned) = planned else {
        unreachable!("{planned:?}")
    };
    let spec = planned.spec;
    assert_eq!(spec.template_ref, "net");
    assert_eq!(spec.cluster, "c1");
    assert_eq!(spec.requested_by, "alice");
    assert_eq!(
        spec.requested_by_email.as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(spec.user_groups, Some(strings(&["developers"])));
    assert_eq!(spec.target_namespace.as_deref(), Some("breakglass-debug"));
    assert_eq!(
        spec.binding_ref,
        Some(BindingReference {
            name: "b".into(),
            namespace: "team".into()
        })
    );
    assert_eq!(
        planned.warnings,
        vec!["Target namespace defaulted to 'breakglass-debug'".to_owned()]
    );
}

#[test]
fn duration_table() {
    let t = template(DebugSessionTemplateSpec {
        constraints: Some(DebugSessionConstraints {
            max_duration: Some("2h".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    for (d, ok) in [
        ("30m", true),
        ("2h", true),
        ("2h1s", false),
        ("0s", false),
        ("-1h", false),
        ("soon", false),
        ("", true),
    ] {
        let r = run(
            &t,
            None,
            &Asked {
                requested_duration: Some(d),
                ..Default::default()
            },
        );
        assert_eq!(r.is_ok(), ok, "{d}: {r:?}");
        if !ok {
            assert_eq!(field_of(&r), Some((true, "requestedDuration".into())));
        }
    }
    // A binding lowers the maximum.
    let b = binding(DebugSessionClusterBindingSpec {
        constraints: Some(DebugSessionConstraintsOverride {
            max_duration: Some("1h".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(
        run(
            &t,
            Some(&b),
            &Asked {
                requested_duration: Some("90m"),
                ..Default::default()
            }
        )
        .is_err()
    );
}

#[test]
fn reason_table() {
    let free = template(Default::default());
    assert!(run(&free, None, &Asked::default()).is_ok_and(|p| p.spec.reason.is_none()));
    let strict = template(DebugSessionTemplateSpec {
        request_reason: Some(DebugRequestReasonConfig {
            mandatory: Some(true),
            min_length: Some(5),
            max_length: Some(20),
            ..Default::default()
        }),
        ..Default::default()
    });
    for (reason, ok) in [
        (None, false),
        (Some("  "), false),
        (Some("abc"), false),
        (Some("node is down"), true),
        (Some("this reason is far too long"), false),
    ] {
        let r = run(
            &strict,
            None,
            &Asked {
                reason,
                ..Default::default()
            },
        );
        assert_eq!(r.is_ok(), ok, "{reason:?}: {r:?}");
    }
    let r = run(
        &strict,
        None,
        &Asked {
            reason: Some("<b>node</b> down"),
            ..Default::default()
        },
    );
    assert_eq!(
        r.ok().and_then(|p| p.spec.reason).as_deref(),
        Some("bnodeb down")
    );
}

fn patterns(p: &[&str]) -> Option<NamespaceFilter> {
    Some(NamespaceFilter {
        patterns: Some(strings(p)),
        selector_terms: None,
    })
}

#[test]
fn namespace_table() {
    let open = template(Default::default());
    let constrained = template(DebugSessionTemplateSpec {
        namespace_constraints: Some(NamespaceConstraints {
            allowed_namespaces: patterns(&["app-*"]),
            denied_namespaces: patterns(&["app-secret"]),
            default_namespace: Some("app-debug".into()),
            allow_user_namespace: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    });
    let closed = template(DebugSessionTemplateSpec {
        target_namespace: Some("dbg".into()),
        namespace_constraints: Some(NamespaceConstraints {
            allowed_namespaces: patterns(&["app-*"]),
            ..Default::default()
        }),
        ..Default::default()
    });
    let narrowing = binding(DebugSessionClusterBindingSpec {
        namespace_constraints: Some(NamespaceConstraintsOverride {
            allowed_namespaces: patterns(&["app-team-*"]),
            default_namespace: Some("app-team-debug".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let ns = |t: &DebugSessionTemplate, b: Option<&DebugSessionClusterBinding>, n: Option<&str>| {
        run(
            t,
            b,
            &Asked {
                target_namespace: n,
                ..Default::default()
            },
        )
        .map(|p| p.spec.target_namespace.unwrap_or_default())
        .map_err(|e| e.to_string())
    };
    assert_eq!(
        ns(&open, None, Some("anything")),
        Ok("anything".into()),
        "no constraints ⇒ as requested"
    );
    assert_eq!(ns(&open, None, None), Ok("breakglass-debug".into()));
    assert_eq!(ns(&constrained, None, None), Ok("app-debug".into()));
    assert_eq!(ns(&constrained, None, Some("app-x")), Ok("app-x".into()));
    assert!(
        ns(&constrained, None, Some("app-secret")).is_err(),
        "denied"
    );
    assert!(
        ns(&constrained, None, Some("kube-system")).is_err(),
        "not allowed"
    );
    assert!(ns(&constrained, None, Some("Bad_Name")).is_err());
    assert_eq!(
        ns(&closed, None, None),
        Ok("dbg".into()),
        "template targetNamespace as default"
    );
    assert_eq!(
        ns(&closed, None, Some("dbg")),
        Ok("dbg".into()),
        "the default always passes"
    );
    assert!(
        ns(&closed, None, Some("app-x")).is_err(),
        "allowUserNamespace is off"
    );
    assert_eq!(
        ns(&constrained, Some(&narrowing), None),
        Ok("app-team-debug".into())
    );
    assert!(
        ns(&constrained, Some(&narrowing), Some("app-x")).is_err(),
        "binding narrows"
    );
    assert_eq!(
        ns(&constrained, Some(&narrowing), Some("app-team-1")),
        Ok("app-team-1".into())
    );
    let warned = run(&constrained, None, &Asked::default()).map(|p| p.warnings);
    assert_eq!(
        warned,
        Ok(vec!["Target namespace defaulted to 'app-debug'".to_owned()])
    );
}

fn option(name: &str, default: bool, groups: &[&str], node: &[(&str, &str)]) -> SchedulingOption {
    SchedulingOption {
        name: name.into(),
        display_name: name.into(),
        default: default.then_some(true),
        allowed_groups: (!groups.is_empty()).then(|| strings(groups)),
        scheduling_constraints: Some(SchedulingConstraints {
            node_selector: Some(map(node)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn scheduling_option_table() {
    let with = |required: bool, options: Vec<SchedulingOption>| {
        template(DebugSessionTemplateSpec {
            scheduling_constraints: Some(SchedulingConstraints {
                node_selector: Some(map(&[("os", "linux")])),
                ..Default::default()
            }),
            scheduling_options: Some(SchedulingOptions {
                required: Some(required),
                options,
            }),
            ..Default::default()
        })
    };
    let pick = |t: &DebugSessionTemplate, s: Option<&str>| {
        run(
            t,
            None,
            &Asked {
                selected_scheduling_option: s,
                ..Default::default()
            },
        )
    };
    let t = with(
        true,
        vec![
            option("std", true, &[], &[("pool", "std")]),
            option("gpu", false, &["sre"], &[("pool", "gpu")]),
        ],
    );
    let p = pick(&t, None).ok();
    assert_eq!(
        p.as_ref()
            .and_then(|p| p.spec.selected_scheduling_option.as_deref()),
        Some("std")
    );
    let ns = p
        .and_then(|p| p.spec.resolved_scheduling_constraints)
        .and_then(|c| c.node_selector);
    assert_eq!(ns, Some(map(&[("os", "linux"), ("pool", "std")])));
    assert_eq!(
        field_of(&pick(&t, Some("gpu"))),
        Some((false, "selectedSchedulingOption".into())),
        "403"
    );
    assert_eq!(
        field_of(&pick(&t, Some("nope"))),
        Some((true, "selectedSchedulingOption".into()))
    );
    let no_default = with(true, vec![option("std", false, &[], &[])]);
    assert_eq!(
        field_of(&pick(&no_default, None)),
        Some((true, "selectedSchedulingOption".into()))
    );
    let conflicting = with(false, vec![option("win", false, &[], &[("os", "windows")])]);
    assert!(
        pick(&conflicting, Some("win")).is_err(),
        "nodeSelector conflict"
    );
    let none = template(Default::default());
    let p = pick(&none, Some("std"));
    assert!(
        p.as_ref()
            .is_ok_and(|p| p.warnings.iter().any(|w| w.contains("ignored"))),
        "{p:?}"
    );
}

#[test]
fn request_node_selector_must_not_contradict() {
    let t = template(DebugSessionTemplateSpec {
        scheduling_constraints: Some(SchedulingConstraints {
            node_selector: Some(map(&[("os", "linux")])),
            ..Default::default()
        }),
        ..Default::default()
    });
    let ok = map(&[("zone", "a")]);
    assert!(
        run(
            &t,
            None,
            &Asked {
                node_selector: Some(&ok),
                ..Default::default()
            }
        )
        .is_ok()
    );
    let bad = map(&[("os", "windows")]);
    let r = run(
        &t,
        None,
        &Asked {
            node_selector: Some(&bad),
            ..Default::default()
        },
    );
    assert_eq!(field_of(&r), Some((true, "nodeSelector".into())));
    let invalid = map(&[("bad key!", "x")]);
    assert!(
        run(
            &t,
            None,
            &Asked {
                node_selector: Some(&invalid),
                ..Default::default()
            }
        )
        .is_err()
    );
}

#[test]
fn extra_values_must_be_declared() {
    let t = template(DebugSessionTemplateSpec {
        extra_deploy_variables: Some(vec![
            ExtraDeployVariable {
                name: "size".into(),
                ..Default::default()
            },
            ExtraDeployVariable {
                name: "privileged".into(),
                allowed_groups: Some(strings(&["sre"])),
                ..Default::default()
            },
        ]),
        ..Default::default()
    });
    let values = |pairs: &[(&str, serde_json::Value)]| -> BTreeMap<String, serde_json::Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    let good = values(&[("size", serde_json::json!("10Gi"))]);
    let r = run(
        &t,
        None,
        &Asked {
            extra_deploy_values: Some(&good),
            ..Default::default()
        },
    );
    assert_eq!(r.ok().and_then(|p| p.spec.extra_deploy_values), Some(good));
    let unknown = values(&[("sizee", serde_json::json!(1))]);
    let r = run(
        &t,
        None,
        &Asked {
            extra_deploy_values: Some(&unknown),
            ..Default::default()
        },
    );
    assert_eq!(field_of(&r), Some((true, "extraDeployValues.sizee".into())));
    let sre_only = values(&[("privileged", serde_json::json!(true))]);
    let r = run(
        &t,
        None,
        &Asked {
            extra_deploy_values: Some(&sre_only),
            ..Default::default()
        },
    );
    assert_eq!(
        field_of(&r),
        Some((false, "extraDeployValues.privileged".into()))
    );
}

#[test]
fn invitations_are_bounded() {
    let t = template(Default::default());
    let two = strings(&["bob", "carol@example.com", "bob"]);
    let r = run(
        &t,
        None,
        &Asked {
            invited_participants: Some(&two),
            ..Default::default()
        },
    );
    assert_eq!(
        r.ok().and_then(|p| p.spec.invited_participants),
        Some(strings(&["bob", "carol@example.com"]))
    );
    let many: Vec<String> = (0..33).map(|i| format!("u{i}")).collect();
    assert!(
        run(
            &t,
            None,
            &Asked {
                invited_participants: Some(&many),
                ..Default::default()
            }
        )
        .is_err()
    );
    let spaced = strings(&["bob smith"]);
    let r = run(
        &t,
        None,
        &Asked {
            invited_participants: Some(&spaced),
            ..Default::default()
        },
    );
    assert_eq!(field_of(&r), Some((true, "invitedParticipants[0]".into())));
}

#[test]
fn session_names_are_bounded_labels() {
    for (user, cluster) in [
        ("alice@example.com", "prod-eu-1"),
        (&"u".repeat(200)[..], &"c".repeat(200)[..]),
        ("ÄÖÜ", "--"),
        ("", ""),
    ] {
        let name = session_name(user, cluster, 1_764_000_000_123_456_789);
        assert!(name.len() <= 63, "{name}");
        assert!(is_dns_label(&name), "{name}");
        assert!(name.starts_with("debug-"), "{name}");
    }
    assert_eq!(
        session_name("Alice@Example.com", "prod-1", 35),
        "debug-alice-example-com-prod-1-z"
    );
    assert_ne!(session_name("a", "c", 1), session_name("a", "c", 2));
    let labels = session_labels("debug-a-c-1", &"t".repeat(100), "c");
    assert!(labels.values().all(|v| v.len() <= 63));
}

fn session(
    template: &str,
    binding: Option<&str>,
    user: &str,
    state: Option<DebugSessionState>,
) -> DebugSession {
    let mut s = DebugSession::new(
        "s",
        DebugSessionSpec {
            template_ref: template.into(),
            requested_by: user.into(),
            binding_ref: binding.map(|n| BindingReference {
                name: n.into(),
                namespace: "team".into(),
            }),
            ..Default::default()
        },
    );
    s.status = state.map(|state| DebugSessionStatus {
        state: Some(state),
        ..Default::default()
    });
    s
}

#[test]
fn limits_table() {
    let t = template(DebugSessionTemplateSpec {
        constraints: Some(DebugSessionConstraints {
            max_concurrent_sessions: Some(2),
            ..Default::default()
        }),
        ..Default::default()
    });
    let existing = [
        session("net", Some("b"), "alice", None),
        session("net", None, "bob", Some(DebugSessionState::Active)),
        session("net", Some("b"), "carol", Some(DebugSessionState::Expired)),
        session(
            "other",
            Some("b"),
            "alice",
            Some(DebugSessionState::PendingApproval),
        ),
    ];
    let err = check_limits(&existing, &t, None, "dave").err();
    assert!(
        matches!(
            err,
            Some(LimitError::Concurrent {
                count: 2,
                limit: 2,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        check_limits(&existing[1..], &t, None, "dave").is_ok(),
        "terminal sessions do not count"
    );
    // The binding's own limit counts only its sessions.
    let mut b = binding(DebugSessionClusterBindingSpec {
        constraints: Some(DebugSessionConstraintsOverride {
            max_concurrent_sessions: Some(2),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(check_limits(&existing, &t, Some(&b), "dave").is_ok());
    b.spec.max_active_sessions_per_user = Some(2);
    let err = check_limits(&existing, &t, Some(&b), "alice").err();
    assert!(
        matches!(err, Some(LimitError::PerUser { count: 2, .. })),
        "{err:?}"
    );
    b.spec.max_active_sessions_per_user = None;
    b.spec.max_active_sessions_total = Some(2);
    let err = check_limits(&existing, &t, Some(&b), "dave").err();
    assert!(
        matches!(err, Some(LimitError::Total { count: 2, .. })),
        "{err:?}"
    );
    b.spec.max_active_sessions_total = Some(3);
    assert!(check_limits(&existing, &t, Some(&b), "dave").is_ok());
}

#[test]
fn namespace_selector_terms_use_live_labels() {
    use breakglass_api::common::NamespaceSelectorTerm;
    let term = |k: &str, v: &str| NamespaceSelectorTerm {
        match_labels: Some(map(&[(k, v)])),
        match_expressions: None,
    };
    let t = template(DebugSessionTemplateSpec {
        namespace_constraints: Some(NamespaceConstraints {
            allowed_namespaces: Some(NamespaceFilter {
                patterns: None,
                selector_terms: Some(vec![term("debug-enabled", "true")]),
            }),
            denied_namespaces: Some(NamespaceFilter {
                patterns: Some(strings(&["kube-*"])),
                selector_terms: None,
            }),
            default_namespace: Some("dbg".into()),
            allow_user_namespace: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    });
    let groups = strings(&["developers"]);
    let requester = Requester {
        user: "alice",
        email: None,
        groups: &groups,
    };
    let effective = effective_template(&t.spec, None);
    let ctx = Context {
        template: &t,
        binding: None,
        effective: &effective,
        cluster: "c1",
        requester: &requester,
        display_name: None,
    };
    let ask = |ns: Option<&'static str>| Asked {
        target_namespace: ns,
        ..Default::default()
    };
    // Which namespace the server must read.
    assert_eq!(
        namespace_to_read(&ctx, &ask(Some("team-a"))),
        Ok(Some("team-a".into()))
    );
    assert_eq!(namespace_to_read(&ctx, &ask(None)), Ok(None), "the default");
    assert_eq!(
        namespace_to_read(&ctx, &ask(Some("kube-system"))),
        Ok(None),
        "denied by name"
    );
    let opted_in = LiveNamespace::Exists(map(&[("debug-enabled", "true")]));
    let plain = LiveNamespace::Exists(map(&[]));
    let with_live = |ns: &'static str, live: Option<&LiveNamespace>| {
        plan(
            &ctx,
            &Asked {
                target_namespace: Some(ns),
                live_namespace: live,
                ..Default::default()
            },
        )
        .map(|p| p.spec.target_namespace.unwrap_or_default())
        .map_err(|e| e.to_string())
    };
    assert_eq!(with_live("team-a", Some(&opted_in)), Ok("team-a".into()));
    assert!(
        with_live("team-a", Some(&plain))
            .is_err_and(|e| e.starts_with("targetNamespace: namespace \"team-a\" is not allowed")),
    );
    assert!(
        with_live("team-a", None).is_err_and(|e| e.contains("were not read")),
        "fail closed without the lookup"
    );
    assert!(
        with_live("team-a", Some(&LiveNamespace::Missing))
            .is_err_and(|e| e.contains("does not exist on cluster \"c1\"")),
    );
    assert!(
        with_live("kube-system", Some(&opted_in)).is_err(),
        "deny wins"
    );
}

#[test]
fn typed_values_are_stored_normalised_with_defaults() {
    use breakglass_api::debug_common::{ExtraDeployInputType, ExtraDeployOption};
    let t = template(DebugSessionTemplateSpec {
        extra_deploy_variables: Some(vec![
            ExtraDeployVariable {
                name: "replicas".into(),
                input_type: Some(ExtraDeployInputType::Number),
                default: Some(serde_json::json!("2")),
                ..Default::default()
            },
            ExtraDeployVariable {
                name: "tools".into(),
                input_type: Some(ExtraDeployInputType::MultiSelect),
                options: Some(vec![
                    ExtraDeployOption {
                        value: "gdb".into(),
                        ..Default::default()
                    },
                    ExtraDeployOption {
                        value: "perf".into(),
                        allowed_groups: Some(strings(&["sre"])),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            },
        ]),
        ..Default::default()
    });
    let given: BTreeMap<String, serde_json::Value> =
        BTreeMap::from([("tools".to_owned(), serde_json::json!("gdb"))]);
    let r = run(
        &t,
        None,
        &Asked {
            extra_deploy_values: Some(&given),
            ..Default::default()
        },
    );
    assert_eq!(
        r.ok()
            .and_then(|p| p.spec.extra_deploy_values)
            .map(|v| serde_json::to_value(v).unwrap_or_default()),
        Some(serde_json::json!({"replicas": 2, "tools": ["gdb"]}))
    );
    let perf: BTreeMap<String, serde_json::Value> =
        BTreeMap::from([("tools".to_owned(), serde_json::json!(["perf"]))]);
    let r = run(
        &t,
        None,
        &Asked {
            extra_deploy_values: Some(&perf),
            ..Default::default()
        },
    );
    assert_eq!(
        field_of(&r),
        Some((false, "extraDeployValues.tools".into())),
        "403"
    );
    assert!(
        run(&t, None, &Asked::default()).is_ok_and(|p| p.spec.extra_deploy_values
            == Some(BTreeMap::from([(
                "replicas".to_owned(),
                serde_json::json!(2)
            )])))
    );
}

#[test]
fn option_constraints_merge_onto_the_effective_ones() {
    use k8s_openapi::api::core::v1::Toleration;
    let toleration = |key: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        ..Default::default()
    };
    let t = template(DebugSessionTemplateSpec {
        scheduling_constraints: Some(SchedulingConstraints {
            tolerations: Some(vec![toleration("base")]),
            denied_node_labels: Some(map(&[("gpu", "a100")])),
            ..Default::default()
        }),
        scheduling_options: Some(SchedulingOptions {
            required: Some(true),
            options: vec![SchedulingOption {
                name: "wide".into(),
                display_name: "Wide".into(),
                default: Some(true),
                scheduling_constraints: Some(SchedulingConstraints {
                    tolerations: Some(vec![toleration("extra")]),
                    denied_node_labels: Some(map(&[("gpu", "*")])),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        }),
        ..Default::default()
    });
    let resolved = run(&t, None, &Asked::default())
        .ok()
        .and_then(|p| p.spec.resolved_scheduling_constraints)
        .unwrap_or_default();
    let keys: Vec<Option<String>> = resolved
        .tolerations
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(
        keys,
        [Some("base".into()), Some("extra".into())],
        "appended"
    );
    assert_eq!(
        resolved.denied_node_labels,
        Some(map(&[("gpu", "*")])),
        "* dominates"
    );
    // A default option the requester may not choose is refused, not silently applied.
    let mut restricted = t.clone();
    if let Some(o) = restricted
        .spec
        .scheduling_options
        .as_mut()
        .and_then(|o| o.options.first_mut())
    {
        o.allowed_groups = Some(strings(&["sre"]));
    }
    assert_eq!(
        field_of(&run(&restricted, None, &Asked::default())),
        Some((false, "selectedSchedulingOption".into()))
    );
}
