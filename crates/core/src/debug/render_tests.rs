use super::*;
use serde_json::json;

fn session() -> DebugSession {
    serde_json::from_value(json!({
        "metadata": {"name": "debug-alice-prod-x1", "namespace": "breakglass", "labels": {"breakglass.telekom.com/debug-cluster": "prod"}},
        "spec": {
            "cluster": "prod",
            "templateRef": "net-debug",
            "requestedBy": "alice@example.com",
            "requestedByEmail": "alice@example.com",
            "requestedByDisplayName": "Alice",
            "reason": "INC-1: packet loss",
            "targetNamespace": "debug-ns",
            "nodeSelector": {"node-pool": "highmem"},
            "bindingRef": {"name": "spec-binding", "namespace": "teams"},
            "extraDeployValues": {
                "image": "busybox:1.36",
                "replicas": 3,
                "ratio": 1.5,
                "debug": true,
                "tools": ["tcpdump", "strace"],
                "unknown": "dropped",
                "empty": null,
            },
        },
        "status": {
            "approval": {"approvedBy": "bob@example.com"},
            "expiresAt": "2026-06-01T13:00:00Z",
            "resolvedBinding": {"name": "b", "namespace": "teams"},
        },
    }))
    .unwrap()
}

fn effective() -> DebugSessionTemplateSpec {
    serde_json::from_value(json!({
        "displayName": "Network debug",
        "labels": {"team": "sre"},
        "annotations": {"note": "x"},
        "extraDeployVariables": [
            {"name": "image", "default": "alpine"},
            {"name": "replicas", "inputType": "number"},
            {"name": "ratio", "inputType": "number"},
            {"name": "debug", "inputType": "boolean"},
            {"name": "tools", "inputType": "multiSelect", "options": [{"value": "tcpdump"}, {"value": "strace"}]},
            {"name": "size", "inputType": "storageSize", "default": "10Gi"},
            {"name": "verbose", "inputType": "boolean"},
            {"name": "empty"},
            {"name": "nothing"},
        ],
    }))
    .unwrap()
}

fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| match v {
        Value::Map(m) => m.get(k).unwrap_or(&Value::Nil),
        _ => &Value::Nil,
    })
}

fn now() -> jiff::Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

fn data() -> Value {
    let s = session();
    let t = effective();
    let vars = vars(&s, &t);
    let enabled = vec!["netpol".to_owned()];
    context(&ContextInput {
        session: &s,
        effective: &t,
        vars: &vars,
        now: now(),
        enabled_resources: &enabled,
    })
}

#[test]
fn variables_are_strings_from_values_then_defaults() {
    let v = vars(&session(), &effective());
    let shown: Vec<(&str, &str, bool)> = v
        .iter()
        .map(|(k, v)| {
            let t = v.as_text().unwrap();
            (k.as_str(), t.as_str(), t.is_tainted())
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("debug", "true", true),
            ("image", "busybox:1.36", true),
            ("ratio", "1.5", true),
            ("replicas", "3", true),
            ("size", "10Gi", false),
            ("tools", "tcpdump,strace", true),
            ("verbose", "false", false),
        ],
        "undeclared keys, nulls and variables without value or default are absent"
    );
}

#[test]
fn context_has_the_reference_keys_with_taint_where_users_wrote() {
    let d = data();
    // (path, value, tainted)
    let cases = [
        ("session.name", "debug-alice-prod-x1", false),
        ("session.namespace", "breakglass", false),
        ("session.cluster", "prod", false),
        ("session.requestedBy", "alice@example.com", true),
        ("session.approvedBy", "bob@example.com", true),
        ("session.reason", "INC-1: packet loss", true),
        ("session.expiresAt", "2026-06-01T13:00:00Z", false),
        ("target.namespace", "debug-ns", true),
        ("target.clusterName", "prod", false),
        ("template.name", "net-debug", false),
        ("template.displayName", "Network debug", false),
        ("binding.name", "b", false),
        ("binding.namespace", "teams", false),
        ("labels.team", "sre", false),
        ("annotations.note", "x", false),
        ("vars.image", "busybox:1.36", true),
        ("vars.size", "10Gi", false),
        ("now", "2026-06-01T12:00:00Z", false),
        // Go-style views (§0.5).
        ("Session.Name", "debug-alice-prod-x1", false),
        ("Session.Namespace", "breakglass", false),
        (
            "Session.Labels.breakglass.telekom.com/debug-cluster",
            "",
            false,
        ),
        ("Session.Spec.Cluster", "prod", false),
        ("Session.Spec.TemplateRef", "net-debug", false),
        ("Session.Spec.RequestedBy", "alice@example.com", true),
        ("Session.Spec.User", "alice@example.com", true),
        ("Session.Spec.RequestedByEmail", "alice@example.com", true),
        ("Session.Spec.RequestedByDisplayName", "Alice", true),
        ("Session.Spec.TargetNamespace", "debug-ns", true),
        ("Session.Spec.Reason", "INC-1: packet loss", true),
        ("Session.Spec.NodeSelector.node-pool", "highmem", true),
        ("Session.Spec.BindingRef.Name", "b", false),
        ("Session.Status.ApprovedBy", "bob@example.com", true),
        ("Target.Namespace", "debug-ns", true),
        ("Target.ClusterName", "prod", false),
        ("Template.Name", "net-debug", false),
        ("Template.DisplayName", "Network debug", false),
        ("Vars.image", "busybox:1.36", true),
        ("Labels.team", "sre", false),
        ("Annotations.note", "x", false),
        ("TargetNamespace", "debug-ns", true),
    ];
    for (path, want, tainted) in cases {
        if want.is_empty() {
            continue; // label keys with dots are reached with `index`, not paths
        }
        let t = at(&d, path)
            .as_text()
            .unwrap_or_else(|| panic!("{path} is not a string"));
        assert_eq!((t.as_str(), t.is_tainted()), (want, tainted), "{path}");
    }
    let Value::Map(labels) = at(&d, "Session.Labels") else {
        panic!("Session.Labels is not a map");
    };
    assert_eq!(
        labels.get("breakglass.telekom.com/debug-cluster"),
        Some(&Value::str("prod"))
    );
    assert_eq!(
        at(&d, "enabledResources"),
        &Value::List(vec![Value::str("netpol")])
    );
    assert_eq!(at(&d, "EnabledResources"), at(&d, "enabledResources"));
}

#[test]
fn missing_optional_parts_are_empty_strings() {
    let mut s = session();
    s.status = None;
    s.spec.reason = None;
    let t = DebugSessionTemplateSpec::default();
    let vars = vars(&s, &t);
    let d = context(&ContextInput {
        session: &s,
        effective: &t,
        vars: &vars,
        now: now(),
        enabled_resources: &[],
    });
    for path in [
        "session.approvedBy",
        "session.reason",
        "session.expiresAt",
        "template.displayName",
    ] {
        assert_eq!(at(&d, path), &Value::str(""), "{path}");
    }
    // Without a resolved binding the session's bindingRef is used.
    assert_eq!(at(&d, "binding.name"), &Value::str("spec-binding"));
    assert_eq!(at(&d, "vars"), &Value::Map(BTreeMap::new()));
}
