//! Auxiliary resources and allowed kinds in plans (structured templates: no engine).

use super::*;

fn cm(name: &str, extra: Json) -> Json {
    let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}});
    if let (Some(m), Some(e)) = (o.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    o
}

fn aux(name: &str, category: &str, object: Json, extra: Json) -> Json {
    let mut r = json!({"name": name, "category": category, "template": object});
    if let (Some(m), Some(e)) = (r.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    r
}

fn with_aux(resources: Json, extra: Json) -> DebugSessionTemplateSpec {
    let mut t = json!({"auxiliaryResources": resources});
    if let (Some(m), Some(e)) = (t.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    template(t)
}

fn names(p: &DeployPlan) -> Vec<String> {
    p.objects.iter().map(|o| o.name.clone()).collect()
}

#[test]
fn enabling_follows_required_overrides_and_defaults() {
    let resources = json!([
        aux("netpol", "network-policy", cm("netpol", json!({})), json!({})),
        aux("mon", "monitoring", cm("mon", json!({})), json!({})),
        aux("cfg", "configmap", cm("cfg", json!({})), json!({})),
        {"name": "plain", "template": cm("plain", json!({}))},
    ]);
    let s = session(json!({}));
    let pod = structured_pod(json!({}));
    let cases: &[(Json, &[&str])] = &[
        (json!({}), &[]),
        (
            json!({"requiredAuxiliaryResourceCategories": ["network-policy"]}),
            &["netpol"],
        ),
        // Defaults by category, and by name (F5: the reference reads them per name).
        (
            json!({"auxiliaryResourceDefaults": {"monitoring": true, "plain": true}}),
            &["mon", "plain"],
        ),
        (
            json!({"auxiliaryResourceDefaults": {"cfg": true}}),
            &["cfg"],
        ),
        // The category key wins over the name key.
        (
            json!({"auxiliaryResourceDefaults": {"configmap": false, "cfg": true}}),
            &[],
        ),
        // Required wins over a false default.
        (
            json!({"requiredAuxiliaryResourceCategories": ["monitoring"], "auxiliaryResourceDefaults": {"monitoring": false}}),
            &["mon"],
        ),
    ];
    for (extra, want) in cases {
        let t = with_aux(resources.clone(), extra.clone());
        let p = plan_for(&s, &t, Some(&pod)).unwrap();
        let mut got = names(&p);
        got.retain(|n| n != SESSION);
        assert_eq!(got, *want, "{extra}");
    }
    // A binding switches a default off (merge writes it over the defaults) but cannot
    // switch off a category it or the template requires.
    let tpl = with_aux(
        resources.clone(),
        json!({"auxiliaryResourceDefaults": {"monitoring": true, "configmap": true}}),
    );
    let b: breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec =
        serde_json::from_value(json!({
            "auxiliaryResourceOverrides": {"monitoring": false, "network-policy": false, "configmap": false},
            "requiredAuxiliaryResourceCategories": ["network-policy"],
        }))
        .unwrap();
    let eff = merge::effective_template(&tpl, Some(&b));
    let p = plan_for(&s, &eff, Some(&pod)).unwrap();
    assert_eq!(names(&p), ["netpol", SESSION]);
    // A required category nobody provides.
    let t = with_aux(
        resources,
        json!({"requiredAuxiliaryResourceCategories": ["rbac"]}),
    );
    assert_eq!(
        plan_for(&s, &t, Some(&pod)).unwrap_err().to_string(),
        "auxiliary resource category \"rbac\" is required but no auxiliary resource of the template has it"
    );
}

#[test]
fn order_labels_and_keep_marks() {
    let s = session(json!({}));
    let t = with_aux(
        json!([
            aux(
                "after",
                "c",
                cm("after", json!({})),
                json!({"createBefore": false})
            ),
            aux(
                "kept",
                "c",
                cm(
                    "kept",
                    json!({"metadata": {"name": "kept", "labels": {"own": "x", "app.kubernetes.io/managed-by": "someone"}}})
                ),
                json!({"deleteAfter": false, "failurePolicy": "warn"})
            ),
        ]),
        json!({"requiredAuxiliaryResourceCategories": ["c"], "resourceQuota": {"maxPods": 2, "enforceResourceRequests": false, "enforceResourceLimits": false}, "labels": {"team": "sre"}}),
    );
    let p = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap();
    assert_eq!(
        names(&p),
        [
            format!("{SESSION}-quota"),
            "kept".into(),
            SESSION.into(),
            "after".into()
        ]
    );
    let kept = &p.objects[1];
    assert_eq!(
        kept.source,
        Source::Auxiliary {
            name: "kept".into(),
            category: Some("c".into()),
            failure_policy: AuxiliaryResourceFailurePolicy::Warn,
            delete_after: false
        }
    );
    assert_eq!(
        label(kept, "breakglass.telekom.com/debug-resource"),
        Some("auxiliary")
    );
    assert_eq!(
        label(kept, "breakglass.telekom.com/auxiliary-resource"),
        Some("kept")
    );
    assert_eq!(
        label(kept, "breakglass.telekom.com/debug-keep"),
        Some("true")
    );
    assert_eq!(label(kept, "own"), Some("x"));
    assert_eq!(label(kept, "team"), Some("sre"));
    assert_eq!(
        label(kept, "app.kubernetes.io/managed-by"),
        Some("breakglass"),
        "ours win"
    );
    assert_eq!(
        kept.object["metadata"]["namespace"], "debug-ns",
        "namespace set"
    );
    assert_eq!(
        label(&p.objects[3], "breakglass.telekom.com/debug-keep"),
        None
    );
}

#[test]
fn kinds_namespaces_and_duplicates_are_policy_refusals() {
    let s = session(json!({}));
    let pod = structured_pod(json!({}));
    let refuse = |object: Json, extra: Json, policy: &str| {
        let t = with_aux(
            json!([aux("r", "c", object, json!({"failurePolicy": policy}))]),
            {
                let mut e = json!({"requiredAuxiliaryResourceCategories": ["c"]});
                if let (Some(m), Some(x)) = (e.as_object_mut(), extra.as_object()) {
                    m.extend(x.clone());
                }
                e
            },
        );
        plan_for(&s, &t, Some(&pod)).unwrap_err().to_string()
    };
    // Even under `ignore`: policy is not a render failure.
    assert_eq!(
        refuse(
            cm(
                "x",
                json!({"metadata": {"name": "x", "namespace": "kube-system"}})
            ),
            json!({}),
            "ignore"
        ),
        "auxiliary resource \"r\": ConfigMap \"x\" names namespace \"kube-system\"; objects of a session must be in its target namespace \"debug-ns\""
    );
    assert_eq!(
        refuse(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"}}),
            json!({}),
            "fail"
        ),
        "auxiliary resource \"r\": ClusterRoleBinding is cluster-scoped; debug sessions create namespaced objects only"
    );
    let msg = refuse(
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "x"}}),
        json!({}),
        "warn",
    );
    assert!(msg.starts_with("auxiliary resource \"r\": kind DaemonSet (apps/v1) is not allowed; allowed kinds: policy/v1 PodDisruptionBudget, v1 ServiceAccount"), "{msg}");
    let msg = refuse(
        cm("x", json!({})),
        json!({"allowedAuxiliaryResourceKinds": [{"group": "networking.k8s.io", "kind": "NetworkPolicy"}]}),
        "fail",
    );
    assert_eq!(
        msg,
        "auxiliary resource \"r\": kind ConfigMap (v1) is not allowed; allowed kinds: networking.k8s.io/v1 NetworkPolicy"
    );
    let msg = refuse(
        json!({"apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget", "metadata": {"name": "x"}}),
        json!({}),
        "fail",
    );
    assert!(
        msg.contains("kind PodDisruptionBudget (policy/v1beta1) is not allowed"),
        "{msg}"
    );
    let msg = refuse(
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}}),
        json!({}),
        "fail",
    );
    assert!(
        msg.contains("kind Widget (example.com/v1) is not allowed"),
        "{msg}"
    );
    // Same kind and name twice.
    let t = with_aux(
        json!([
            aux("a", "c", cm("same", json!({})), json!({})),
            aux("b", "c", cm("same", json!({})), json!({}))
        ]),
        json!({"requiredAuxiliaryResourceCategories": ["c"]}),
    );
    assert_eq!(
        plan_for(&s, &t, Some(&pod)).unwrap_err().to_string(),
        "auxiliary resource \"b\": a ConfigMap named \"same\" is already planned for this session"
    );
}

#[test]
fn render_failures_follow_the_failure_policy() {
    let s = session(json!({}));
    let pod = structured_pod(json!({}));
    let broken = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    let t = |policy: Json| {
        with_aux(
            json!([
                aux("broken", "c", broken.clone(), policy),
                aux("ok", "c", cm("ok", json!({})), json!({}))
            ]),
            json!({"requiredAuxiliaryResourceCategories": ["c"]}),
        )
    };
    assert_eq!(
        plan_for(&s, &t(json!({})), Some(&pod))
            .unwrap_err()
            .to_string(),
        "auxiliary resource \"broken\": the document has no metadata.name"
    );
    let p = plan_for(&s, &t(json!({"failurePolicy": "warn"})), Some(&pod)).unwrap();
    assert_eq!(names(&p), ["ok", SESSION]);
    assert_eq!(
        p.warnings,
        [
            "auxiliary resource \"broken\" was not deployed (failurePolicy warn): the document has no metadata.name"
        ]
    );
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(
        p.skipped[0].failure_policy,
        AuxiliaryResourceFailurePolicy::Warn
    );
    // `ignore` (and the deprecated `optional: true`) record it quietly.
    for policy in [
        json!({"failurePolicy": "ignore"}),
        json!({"optional": true}),
    ] {
        let p = plan_for(&s, &t(policy), Some(&pod)).unwrap();
        assert!(p.warnings.is_empty());
        assert_eq!(
            p.skipped,
            [SkippedAuxiliary {
                name: "broken".into(),
                category: Some("c".into()),
                failure_policy: AuxiliaryResourceFailurePolicy::Ignore,
                message: "the document has no metadata.name".into(),
            }]
        );
    }
}

#[test]
fn object_names_follow_kubernetes_rules() {
    let s = session(json!({}));
    let pod = structured_pod(json!({}));
    let one = |object: Json| {
        let t = with_aux(
            json!([aux("r", "c", object, json!({}))]),
            json!({"requiredAuxiliaryResourceCategories": ["c"]}),
        );
        plan_for(&s, &t, Some(&pod)).map(|p| p.objects.len())
    };
    assert_eq!(
        one(cm("Bad Name", json!({}))).unwrap_err().to_string(),
        "auxiliary resource \"r\": the document names a ConfigMap \"Bad Name\", which is not a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253)"
    );
    let svc =
        |name: &str| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}});
    assert!(
        one(svc("a.b"))
            .unwrap_err()
            .to_string()
            .contains("is not a DNS label")
    );
    assert!(
        one(svc("1abc"))
            .unwrap_err()
            .to_string()
            .contains("is not a DNS label")
    );
    assert_eq!(one(svc("debug-svc")).unwrap(), 2);
    let role = |name: &str| json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name}});
    assert_eq!(one(role("debug:reader")).unwrap(), 2);
    assert!(
        one(role("a/b"))
            .unwrap_err()
            .to_string()
            .contains("is not a valid path segment")
    );
    assert_eq!(one(cm("a.b-c", json!({}))).unwrap(), 2);
    // A bad name is a rendering failure: `ignore` skips the resource.
    let t = with_aux(
        json!([aux(
            "r",
            "c",
            cm("Bad", json!({})),
            json!({"failurePolicy": "ignore"})
        )]),
        json!({"requiredAuxiliaryResourceCategories": ["c"]}),
    );
    assert_eq!(plan_for(&s, &t, Some(&pod)).unwrap().skipped.len(), 1);
}
