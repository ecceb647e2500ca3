//! The dispatcher: type meta, metadata, aliases, strict decoding of the whole object.

use breakglass_core::validation::{
    ALL_ALIASES, ErrorType, ObjectError, normalize_aliases, validate_object,
};
use serde_json::json;

use crate::support::{errors, merge, warnings, yaml};

const TEMPLATE: &str = crate::debug_session_template::BASE;

fn patched(base: &str, patch: serde_json::Value) -> serde_json::Value {
    let mut doc = yaml(base);
    merge(&mut doc, &patch);
    doc
}

#[test]
fn documents_that_are_not_ours() {
    assert_eq!(
        validate_object(&json!("text")),
        Err(ObjectError::NotAnObject)
    );
    assert_eq!(
        validate_object(&json!([1, 2])),
        Err(ObjectError::NotAnObject)
    );
    assert_eq!(
        validate_object(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})),
        Err(ObjectError::Foreign {
            api_version: "v1".into(),
            kind: "Secret".into()
        })
    );
    assert_eq!(
        validate_object(&json!({"apiVersion": "apps/v1", "kind": "Deployment"}))
            .unwrap_err()
            .to_string(),
        "apps/v1, Kind=Deployment is not a breakglass kind"
    );
}

#[test]
fn type_meta() {
    let cases = [
        (
            json!({"apiVersion": null}),
            vec!["apiVersion: Required value"],
        ),
        (
            json!({"apiVersion": "breakglass.telekom.de/v1alpha1"}),
            vec![
                "apiVersion: Invalid value: \"breakglass.telekom.de/v1alpha1\": the API group breakglass.telekom.de was renamed; use breakglass.t-caas.telekom.com/v1alpha1",
            ],
        ),
        (
            json!({"apiVersion": "breakglass.t-caas.telekom.com/v1beta1"}),
            vec![
                "apiVersion: Unsupported value: \"breakglass.t-caas.telekom.com/v1beta1\": supported values: \"breakglass.t-caas.telekom.com/v1alpha1\"",
            ],
        ),
        (json!({"kind": null}), vec!["kind: Required value"]),
        (
            json!({"kind": "DebugTemplate"}),
            vec![
                "kind: Unsupported value: \"DebugTemplate\": supported values: \"BreakglassEscalation\", \"BreakglassSession\", \"DenyPolicy\", \"ClusterConfig\", \"IdentityProvider\", \"MailProvider\", \"AuditConfig\", \"DebugPodTemplate\", \"DebugSessionTemplate\", \"DebugSessionClusterBinding\", \"DebugSession\"",
            ],
        ),
    ];
    for (patch, expected) in cases {
        assert_eq!(
            errors(&patched(TEMPLATE, patch.clone())),
            expected,
            "{patch}"
        );
    }
}

#[test]
fn metadata() {
    let cases = [
        (
            json!({"metadata": {"name": null}}),
            vec!["metadata.name: Required value: name or generateName is required"],
        ),
        (
            json!({"metadata": {"name": null, "generateName": "debug-"}}),
            vec![],
        ),
        (
            json!({"metadata": {"name": "Network_Debug"}}),
            vec![
                "metadata.name: Invalid value: \"Network_Debug\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ],
        ),
        (
            json!({"metadata": {"labels": {"app.kubernetes.io/name": "debug", "bad key": "x"}}}),
            vec![
                "metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            ],
        ),
        (
            json!({"metadata": {"annotations": {"example.com/note": "free text: anything"}}}),
            vec![],
        ),
        (
            json!({"metadata": {"uid": 5}}),
            vec!["metadata.uid: Invalid value: 5: must be a string"],
        ),
        (
            json!({"metadata": {"owner": "me"}}),
            vec!["metadata.owner: unknown field"],
        ),
        (json!({"specs": {}}), vec!["specs: unknown field"]),
        (json!({"spec": null}), vec!["spec: Required value"]),
    ];
    for (patch, expected) in cases {
        assert_eq!(
            errors(&patched(TEMPLATE, patch.clone())),
            expected,
            "{patch}"
        );
    }
    // Namespaced kinds check the namespace; cluster-scoped kinds ignore it with a warning.
    let session = patched(
        crate::debug_session::BASE,
        json!({"metadata": {"namespace": "Breakglass"}}),
    );
    assert_eq!(
        errors(&session),
        vec![
            "metadata.namespace: Invalid value: \"Breakglass\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    let template = patched(TEMPLATE, json!({"metadata": {"namespace": "breakglass"}}));
    assert!(errors(&template).is_empty());
    assert_eq!(
        warnings(&template),
        vec![
            "metadata.namespace: DebugSessionTemplate is cluster-scoped; the namespace is ignored"
        ]
    );
}

#[test]
fn report_names_the_object() {
    let r = validate_object(&yaml(crate::debug_session::BASE)).unwrap();
    assert_eq!(
        (r.kind.as_str(), r.name.as_str(), r.namespace.as_str()),
        ("DebugSession", "debug-alice-prod-eu-1", "breakglass")
    );
    assert!(r.is_valid());
    let r = validate_object(&patched(
        TEMPLATE,
        json!({"spec": {"replicas": 0, "bogus": 1}}),
    ))
    .unwrap();
    let types: Vec<ErrorType> = r.errors.iter().map(|e| e.error_type).collect();
    assert_eq!(types, vec![ErrorType::UnknownField, ErrorType::Invalid]);
}

#[test]
fn every_error_of_an_object_is_reported() {
    let doc = patched(
        TEMPLATE,
        json!({"spec": {"mode": "shell", "replicas": "two", "bogus": true, "constraints": {"maxDuration": "forever"}, "allowed": {"groups": ["a", "a"]}}}),
    );
    assert_eq!(
        errors(&doc),
        vec![
            "spec.mode: Unsupported value: \"shell\": supported values: \"workload\", \"kubectl-debug\", \"hybrid\"",
            "spec.replicas: Invalid value: \"two\": must be an integer",
            "spec.bogus: unknown field",
            "spec.allowed.groups[1]: Duplicate value: \"a\"",
            "spec.constraints.maxDuration: Invalid value: \"forever\": must be a duration such as \"30m\", \"2h\" or \"1d\" (whole numbers with units ns, us, ms, s, m, h, d)",
        ]
    );
}

#[test]
fn aliases_are_rewritten_and_reported() {
    let doc = patched(
        TEMPLATE,
        json!({"spec": {
            "mode": "hybrid",
            "podTemplateRef": "netshoot",
            "terminalSharing": {"enabled": true, "method": "screen"},
            "kubectlDebug": {"ephemeralContainers": {"allowedNamespaces": ["app-*"]}, "podCopy": {"deniedNamespaces": ["kube-*"]}},
            "namespaceConstraints": {"allowedPatterns": ["debug-*"], "deniedNamespaces": ["debug-prod"]}
        }}),
    );
    let r = validate_object(&doc).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let applied: Vec<(&str, &str)> = r
        .aliases
        .iter()
        .map(|a| (a.name, a.path.as_str()))
        .collect();
    assert_eq!(
        applied,
        vec![
            ("podTemplateRef-string", "spec.podTemplateRef"),
            ("terminalSharing-method", "spec.terminalSharing.method"),
            (
                "namespaceFilter-list",
                "spec.kubectlDebug.ephemeralContainers.allowedNamespaces"
            ),
            (
                "namespaceFilter-list",
                "spec.kubectlDebug.podCopy.deniedNamespaces"
            ),
            (
                "namespaceConstraints-patterns",
                "spec.namespaceConstraints.allowedPatterns"
            ),
            (
                "namespaceFilter-list",
                "spec.namespaceConstraints.deniedNamespaces"
            ),
        ]
    );
    assert_eq!(r.warnings.len(), applied.len(), "each alias is a warning");
    assert!(applied.iter().all(|(name, _)| ALL_ALIASES.contains(name)));
}

#[test]
fn normalize_aliases_rewrites_in_place() {
    let mut doc = json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugPodTemplate",
        "spec": {"podSpec": {"containers": [{"name": "a", "image": "b"}]}}
    });
    let applied = normalize_aliases(&mut doc);
    assert_eq!(applied.len(), 1);
    assert_eq!(
        applied[0].to_warning().to_string(),
        "spec.podSpec: podSpec is read as template.spec; move the pod spec under template.spec"
    );
    assert_eq!(
        doc["spec"],
        json!({"template": {"spec": {"containers": [{"name": "a", "image": "b"}]}}})
    );

    let mut other = json!({"apiVersion": "v1", "kind": "ConfigMap", "spec": {"podSpec": {}}});
    assert!(normalize_aliases(&mut other).is_empty());
    let mut old_group = json!({"apiVersion": "breakglass.telekom.de/v1alpha1", "kind": "DebugPodTemplate", "spec": {"podSpec": {}}});
    assert!(normalize_aliases(&mut old_group).is_empty());
}

#[test]
fn aliases_never_overwrite_the_current_spelling() {
    let both = [
        (
            crate::debug_session_template::BASE,
            json!({"spec": {"terminalSharing": {"provider": "tmux", "method": "screen"}}}),
            "spec.terminalSharing.method: unknown field",
        ),
        (
            crate::debug_session_template::BASE,
            json!({"spec": {"namespaceConstraints": {"allowedNamespaces": {"patterns": ["a"]}, "allowedPatterns": ["b"]}}}),
            "spec.namespaceConstraints.allowedPatterns: unknown field",
        ),
    ];
    for (base, patch, expected) in both {
        assert_eq!(errors(&patched(base, patch)), vec![expected]);
    }
    let pod = json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugPodTemplate",
        "metadata": {"name": "p"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "b"}]}}, "podSpec": {"containers": []}}
    });
    assert_eq!(errors(&pod), vec!["spec.podSpec: unknown field"]);
}
