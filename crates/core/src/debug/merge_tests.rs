use std::collections::BTreeMap;

use breakglass_api::common::NamespaceFilter;
use breakglass_api::debug_common::{
    AllowedPodOperations, DebugRequestReasonConfig, DebugSessionAllowed, DebugSessionApprovers,
    DebugSessionConstraints, DebugSessionConstraintsOverride, DebugSessionNotificationConfig,
    ImpersonationConfig, NamespaceConstraints, NamespaceConstraintsOverride, SchedulingConstraints,
    SchedulingOption, SchedulingOptions,
};
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use k8s_openapi::api::core::v1::{
    NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Toleration,
};

use super::*;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn patterns(p: &[&str]) -> NamespaceFilter {
    NamespaceFilter {
        patterns: Some(strings(p)),
        selector_terms: None,
    }
}

fn template() -> DebugSessionTemplateSpec {
    DebugSessionTemplateSpec {
        allowed: Some(DebugSessionAllowed {
            groups: Some(strings(&["developers"])),
            users: None,
            clusters: Some(strings(&["dev-*"])),
            cluster_selector: None,
        }),
        approvers: Some(DebugSessionApprovers {
            groups: Some(strings(&["sre-leads"])),
            ..Default::default()
        }),
        constraints: Some(DebugSessionConstraints {
            max_duration: Some("4h".into()),
            default_duration: Some("1h".into()),
            allow_renewal: Some(true),
            max_renewals: Some(3),
            renewal_limit: None,
            max_concurrent_sessions: Some(2),
        }),
        required_auxiliary_resource_categories: Some(strings(&["network", "rbac"])),
        labels: Some(map(&[("team", "a"), ("tier", "debug")])),
        ..Default::default()
    }
}

#[test]
fn without_binding_the_template_is_unchanged() {
    assert_eq!(effective_template(&template(), None), template());
    let b = DebugSessionClusterBindingSpec::default();
    let merged = effective_template(&template(), Some(&b));
    assert_eq!(merged.approvers, template().approvers);
    assert_eq!(merged.allowed, template().allowed);
    assert_eq!(merged.constraints, template().constraints);
    assert_eq!(merged.namespace_constraints, None);
}

#[test]
fn binding_replaces_whole_blocks() {
    let b = DebugSessionClusterBindingSpec {
        impersonation: Some(ImpersonationConfig {
            user_name: Some("deployer".into()),
            ..Default::default()
        }),
        scheduling_options: Some(SchedulingOptions {
            required: Some(true),
            options: vec![SchedulingOption {
                name: "gpu".into(),
                display_name: "GPU".into(),
                ..Default::default()
            }],
        }),
        notification: Some(DebugSessionNotificationConfig {
            enabled: Some(false),
            ..Default::default()
        }),
        request_reason: Some(DebugRequestReasonConfig {
            mandatory: Some(true),
            ..Default::default()
        }),
        approvers: Some(DebugSessionApprovers {
            users: Some(strings(&["boss"])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let m = effective_template(&template(), Some(&b));
    assert_eq!(m.impersonation, b.impersonation);
    assert_eq!(m.scheduling_options, b.scheduling_options);
    assert_eq!(m.notification, b.notification);
    assert_eq!(m.request_reason, b.request_reason);
    // The template's approver groups are gone: the binding's list wins whole.
    assert_eq!(m.approvers, b.approvers);
}

#[test]
fn binding_with_empty_approvers_means_auto_approve() {
    let b = DebugSessionClusterBindingSpec {
        approvers: Some(DebugSessionApprovers::default()),
        ..Default::default()
    };
    let m = effective_template(&template(), Some(&b));
    assert!(m.approvers.as_ref().is_some_and(|a| !a.has_approvers()));
    assert!(!crate::debug::approval::requires_approval(&m, "dev-1", &[]));
}

#[test]
fn allowed_users_and_groups_replaced_only_when_listed() {
    let listing = DebugSessionClusterBindingSpec {
        allowed: Some(DebugSessionAllowed {
            users: Some(strings(&["alice"])),
            ..Default::default()
        }),
        ..Default::default()
    };
    let m = effective_template(&template(), Some(&listing));
    let allowed = m.allowed.unwrap_or_default();
    assert_eq!(allowed.users, Some(strings(&["alice"])));
    assert_eq!(
        allowed.groups, None,
        "the binding's block replaces the template's groups"
    );
    assert_eq!(allowed.clusters, Some(strings(&["dev-*"])));

    let empty = DebugSessionClusterBindingSpec {
        allowed: Some(DebugSessionAllowed::default()),
        ..Default::default()
    };
    assert_eq!(
        effective_template(&template(), Some(&empty)).allowed,
        template().allowed
    );
}

#[test]
fn constraints_merge_field_by_field() {
    let b = DebugSessionClusterBindingSpec {
        constraints: Some(DebugSessionConstraintsOverride {
            max_duration: Some("2h".into()),
            default_duration: Some("0s".into()),
            allow_renewal: Some(false),
            max_renewals: None,
            renewal_limit: Some(1),
            max_concurrent_sessions: Some(5),
        }),
        ..Default::default()
    };
    let c = effective_template(&template(), Some(&b))
        .constraints
        .unwrap_or_default();
    assert_eq!(c.max_duration.as_deref(), Some("2h"));
    assert_eq!(
        c.default_duration.as_deref(),
        Some("1h"),
        "non-positive is ignored"
    );
    assert_eq!(c.allow_renewal, Some(false));
    assert_eq!(c.max_renewals, Some(3), "unset keeps the template's");
    assert_eq!(c.renewal_limit, Some(1));
    assert_eq!(c.max_concurrent_sessions, Some(5));
}

#[test]
fn required_aux_categories_union() {
    let b = DebugSessionClusterBindingSpec {
        required_auxiliary_resource_categories: Some(strings(&["rbac", "storage"])),
        ..Default::default()
    };
    let m = effective_template(&template(), Some(&b));
    assert_eq!(
        m.required_auxiliary_resource_categories,
        Some(strings(&["network", "rbac", "storage"]))
    );
}

#[test]
fn pod_operations_can_only_be_switched_off() {
    let t = DebugSessionTemplateSpec {
        allowed_pod_operations: Some(AllowedPodOperations {
            exec: Some(true),
            attach: Some(false),
            logs: Some(false),
            port_forward: None,
        }),
        ..Default::default()
    };
    // The binding tries to enable attach and logs and disables exec.
    let b = DebugSessionClusterBindingSpec {
        allowed_pod_operations: Some(AllowedPodOperations {
            exec: Some(false),
            attach: Some(true),
            logs: Some(true),
            port_forward: None,
        }),
        ..Default::default()
    };
    let ops = effective_template(&t, Some(&b))
        .allowed_pod_operations
        .unwrap_or_default();
    assert!(!ops.exec());
    assert!(!ops.attach());
    assert!(!ops.logs());
    assert!(ops.port_forward());
    // Template unset, binding enables logs: logs stay off (template default).
    let b = DebugSessionClusterBindingSpec {
        allowed_pod_operations: Some(AllowedPodOperations {
            logs: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let ops = effective_template(&DebugSessionTemplateSpec::default(), Some(&b))
        .allowed_pod_operations
        .unwrap_or_default();
    assert!(!ops.logs());
    assert!(ops.exec() && ops.attach() && ops.port_forward());
}

#[test]
fn binding_labels_and_annotations_added() {
    let b = DebugSessionClusterBindingSpec {
        labels: Some(map(&[("team", "b"), ("env", "prod")])),
        annotations: Some(map(&[("note", "x")])),
        ..Default::default()
    };
    let m = effective_template(&template(), Some(&b));
    assert_eq!(
        m.labels,
        Some(map(&[("team", "b"), ("tier", "debug"), ("env", "prod")]))
    );
    assert_eq!(m.annotations, Some(map(&[("note", "x")])));
}

fn term(key: &str, op: &str, values: &[&str]) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: Some(vec![NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(strings(values)),
        }]),
        match_fields: None,
    }
}

#[test]
fn scheduling_constraints_added_onto_the_templates() {
    let t = SchedulingConstraints {
        node_selector: Some(map(&[("pool", "debug"), ("os", "linux")])),
        tolerations: Some(vec![Toleration {
            key: Some("a".into()),
            ..Default::default()
        }]),
        denied_nodes: Some(strings(&["master-*"])),
        denied_node_labels: Some(map(&[("zone", "a"), ("gpu", "true")])),
        required_node_affinity: Some(NodeSelector {
            node_selector_terms: vec![term("x", "In", &["1"]), term("x", "In", &["2"])],
        }),
        ..Default::default()
    };
    let b = SchedulingConstraints {
        node_selector: Some(map(&[("pool", "restricted")])),
        tolerations: Some(vec![Toleration {
            key: Some("b".into()),
            ..Default::default()
        }]),
        denied_nodes: Some(strings(&["master-*", "etcd-*"])),
        denied_node_labels: Some(map(&[("zone", "b"), ("gpu", "*")])),
        required_node_affinity: Some(NodeSelector {
            node_selector_terms: vec![term("y", "Exists", &[])],
        }),
        ..Default::default()
    };
    let tpl = DebugSessionTemplateSpec {
        scheduling_constraints: Some(t.clone()),
        ..Default::default()
    };
    let binding = DebugSessionClusterBindingSpec {
        scheduling_constraints: Some(b.clone()),
        ..Default::default()
    };
    let m = effective_template(&tpl, Some(&binding))
        .scheduling_constraints
        .unwrap_or_default();
    assert_eq!(
        m.node_selector,
        Some(map(&[("pool", "restricted"), ("os", "linux")]))
    );
    assert_eq!(m.tolerations.as_ref().map(Vec::len), Some(2));
    assert_eq!(m.denied_nodes, Some(strings(&["master-*", "etcd-*"])));
    assert_eq!(
        m.denied_node_labels,
        Some(map(&[("zone", "a"), ("gpu", "*")]))
    );
    // (x=1 ∨ x=2) ∧ y, then ∧ zone∉{b}: two terms, each with three requirements.
    let req = m.required_node_affinity.unwrap_or_default();
    assert_eq!(req.node_selector_terms.len(), 2);
    for term in &req.node_selector_terms {
        let exprs = term.match_expressions.clone().unwrap_or_default();
        assert_eq!(exprs.len(), 3);
        assert!(exprs.iter().any(|e| e.key == "zone"
            && e.operator == "NotIn"
            && e.values == Some(strings(&["b"]))));
    }
    // A requester's choice may not contradict a configured nodeSelector.
    let refused = merge_scheduling_constraints(Some(&t), Some(&b), NodeSelectorConflict::Refuse);
    assert!(matches!(
        refused,
        Err(SchedulingMergeError::NodeSelectorConflict { key, .. }) if key == "pool"
    ));
}

#[test]
fn node_affinity_product_is_bounded() {
    let many = NodeSelector {
        node_selector_terms: (0..20)
            .map(|i| term("k", "In", &[&i.to_string()]))
            .collect(),
    };
    let anded = and_node_selectors(Some(&many), Some(&many)).unwrap_or_default();
    assert_eq!(anded.node_selector_terms.len(), MAX_NODE_AFFINITY_TERMS);
    let empty = NodeSelector::default();
    assert_eq!(and_node_selectors(Some(&empty), Some(&many)), Some(many));
}

fn ns_template() -> NamespaceConstraints {
    NamespaceConstraints {
        allowed_namespaces: Some(patterns(&["app-*", "debug"])),
        denied_namespaces: Some(patterns(&["app-secret"])),
        default_namespace: Some("debug".into()),
        allow_user_namespace: Some(true),
        ..Default::default()
    }
}

#[test]
fn namespace_allow_lists_intersect_and_deny_lists_unite() {
    let b = NamespaceConstraintsOverride {
        allowed_namespaces: Some(patterns(&["app-team-*", "other", "debug"])),
        denied_namespaces: Some(patterns(&["app-team-x"])),
        ..Default::default()
    };
    let eff = merge_namespace_constraints(Some(&ns_template()), Some(&b));
    assert!(eff.admits("app-team-1"));
    assert!(!eff.admits("app-other"), "binding's allow list narrows");
    assert!(!eff.admits("other"), "template's allow list narrows");
    assert!(!eff.admits("app-secret"), "template's deny applies");
    assert!(!eff.admits("app-team-x"), "binding's deny applies");
    assert!(eff.admits("debug"));
    // The stored single list never admits more than the exact rules.
    let stored = eff.to_constraints().unwrap_or_default();
    let again = merge_namespace_constraints(Some(&stored), None);
    for ns in [
        "app-team-1",
        "app-other",
        "other",
        "app-secret",
        "app-team-x",
        "debug",
    ] {
        assert!(!again.admits(ns) || eff.admits(ns), "{ns} widened");
    }
    assert!(again.admits("debug"));
}

#[test]
fn user_namespace_only_from_the_template_and_deny_wins() {
    let enabling = NamespaceConstraintsOverride {
        allow_user_namespace: Some(true),
        ..Default::default()
    };
    let closed = NamespaceConstraints {
        allow_user_namespace: Some(false),
        ..Default::default()
    };
    assert!(!merge_namespace_constraints(Some(&closed), Some(&enabling)).allow_user_namespace);
    assert!(merge_namespace_constraints(Some(&ns_template()), None).allow_user_namespace);
    let denying = NamespaceConstraintsOverride {
        deny_user_namespace: Some(true),
        ..Default::default()
    };
    assert!(
        !merge_namespace_constraints(Some(&ns_template()), Some(&denying)).allow_user_namespace
    );
    let mut t = ns_template();
    t.deny_user_namespace = Some(true);
    assert!(!merge_namespace_constraints(Some(&t), None).allow_user_namespace);
}

#[test]
fn binding_default_only_when_both_sides_admit_it() {
    let ok = NamespaceConstraintsOverride {
        default_namespace: Some("app-dbg".into()),
        ..Default::default()
    };
    assert_eq!(
        merge_namespace_constraints(Some(&ns_template()), Some(&ok)).default_namespace,
        "app-dbg"
    );
    let outside = NamespaceConstraintsOverride {
        default_namespace: Some("kube-system".into()),
        ..Default::default()
    };
    assert_eq!(
        merge_namespace_constraints(Some(&ns_template()), Some(&outside)).default_namespace,
        "debug"
    );
    let denied_by_binding = NamespaceConstraintsOverride {
        default_namespace: Some("app-x".into()),
        denied_namespaces: Some(patterns(&["app-x"])),
        ..Default::default()
    };
    assert_eq!(
        merge_namespace_constraints(Some(&ns_template()), Some(&denied_by_binding))
            .default_namespace,
        "debug"
    );
    assert_eq!(
        merge_namespace_constraints(None, None).default_namespace,
        "breakglass-debug"
    );
    assert!(!merge_namespace_constraints(None, None).constrained);
}

#[test]
fn malformed_namespace_pattern_denies_everything() {
    let t = NamespaceConstraints {
        allowed_namespaces: Some(patterns(&["[app"])),
        ..Default::default()
    };
    assert!(!merge_namespace_constraints(Some(&t), None).admits("app"));
}
