//! DenyPolicy rule matching, scopes and precedence (tests-doc §3.3).

use std::collections::BTreeMap;

use breakglass_api::DenyPolicy;
use breakglass_api::deny_policy::{DenyPolicyScope, DenyRule};

use super::fixtures::*;
use crate::authz::deny::*;
use crate::authz::*;

fn rule(text: &str) -> DenyRule {
    yaml(text)
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn rule_matching_table() {
    // (rule, request, matches)
    let cases: Vec<(&str, ResourceAttributes, bool)> = vec![
        // verbs / apiGroups / resources: exact or `*`, no globbing.
        (
            "{verbs: [delete], apiGroups: [''], resources: [pods]}",
            res("delete", "pods").ns("default"),
            true,
        ),
        (
            "{verbs: [delete], apiGroups: [''], resources: [pods]}",
            res("list", "pods").ns("default"),
            false,
        ),
        (
            "{verbs: ['*'], apiGroups: [''], resources: [pods]}",
            res("list", "pods"),
            true,
        ),
        (
            "{verbs: ['get*'], apiGroups: [''], resources: [pods]}",
            res("get", "pods"),
            false,
        ),
        (
            "{verbs: [get], apiGroups: [apps], resources: [deployments]}",
            res("get", "deployments").group("apps"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [apps], resources: [deployments]}",
            res("get", "deployments"),
            false,
        ),
        (
            "{verbs: [get], apiGroups: ['*'], resources: ['*']}",
            res("get", "anything").group("x.io"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [secrets]}",
            res("get", "configmaps"),
            false,
        ),
        // subresources: empty ⇒ any (main resource too); else exact or `*`.
        (
            "{verbs: [create], apiGroups: [''], resources: [pods]}",
            res("create", "pods").sub("exec"),
            true,
        ),
        (
            "{verbs: [create], apiGroups: [''], resources: [pods], subresources: []}",
            res("create", "pods").sub("exec"),
            true,
        ),
        (
            "{verbs: [create], apiGroups: [''], resources: [pods], subresources: [exec]}",
            res("create", "pods").sub("exec"),
            true,
        ),
        (
            "{verbs: [create], apiGroups: [''], resources: [pods], subresources: [exec]}",
            res("create", "pods").sub("attach"),
            false,
        ),
        (
            "{verbs: [create], apiGroups: [''], resources: [pods], subresources: [exec]}",
            res("create", "pods"),
            false,
        ),
        (
            "{verbs: [create], apiGroups: [''], resources: [pods], subresources: ['*']}",
            res("create", "pods").sub("attach"),
            true,
        ),
        // resourceNames: globs, empty ⇒ any.
        (
            "{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: [database-password]}",
            res("get", "secrets").named("database-password"),
            true,
        ),
        (
            "{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: [database-password]}",
            res("get", "secrets").named("other"),
            false,
        ),
        (
            "{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: [database-password]}",
            res("list", "secrets"),
            false,
        ),
        (
            "{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: ['db-*']}",
            res("get", "secrets").named("db-main"),
            true,
        ),
        (
            "{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: ['db-?']}",
            res("get", "secrets").named("db-12"),
            false,
        ),
        (
            "{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: ['*']}",
            res("list", "secrets"),
            true,
        ),
        // namespaces: empty filter ⇒ any namespace, also cluster-scoped requests.
        (
            "{verbs: [get], apiGroups: [''], resources: [pods]}",
            res("get", "pods").ns("anything"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [pods], namespaces: {}}",
            res("get", "pods").ns("anything"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [nodes]}",
            res("get", "nodes"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [pods], namespaces: {patterns: [production]}}",
            res("get", "pods").ns("production"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [pods], namespaces: {patterns: [production]}}",
            res("get", "pods").ns("default"),
            false,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [pods], namespaces: {patterns: ['app-*']}}",
            res("get", "pods").ns("app-frontend"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [pods], namespaces: {patterns: ['app-*']}}",
            res("get", "pods").ns("service-backend"),
            false,
        ),
        // `*` matches the empty namespace of a cluster-scoped request (path.Match semantics).
        (
            "{verbs: [get], apiGroups: [''], resources: [namespaces], namespaces: {patterns: ['*']}}",
            res("get", "namespaces"),
            true,
        ),
        (
            "{verbs: [get], apiGroups: [''], resources: [namespaces], namespaces: {patterns: [production]}}",
            res("get", "namespaces"),
            false,
        ),
    ];
    for (i, (text, req, want)) in cases.into_iter().enumerate() {
        let r = rule(text);
        let got = rule_matches(&r, 0, &req, NamespaceLabels::NotFetched);
        assert_eq!(got, Ok(want), "case {i}: {text} vs {req:?}");
    }
}

#[test]
fn selector_terms_read_namespace_labels() {
    let selector = rule(
        "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {env: prod}}]}}",
    );
    let prod = labels(&[("env", "prod")]);
    let staging = labels(&[("env", "staging")]);
    let req = res("get", "pods").ns("shop");
    assert_eq!(
        rule_matches(&selector, 0, &req, NamespaceLabels::Known(&prod)),
        Ok(true)
    );
    assert_eq!(
        rule_matches(&selector, 0, &req, NamespaceLabels::Known(&staging)),
        Ok(false)
    );
    // Undecidable ⇒ error (the caller denies), never a silent "no match".
    assert!(matches!(
        rule_matches(&selector, 3, &req, NamespaceLabels::Unavailable),
        Err(EvalError::LabelsUnavailable { field, namespace }) if field == "rules[3].namespaces" && namespace == "shop"
    ));
    assert!(matches!(
        rule_matches(&selector, 0, &req, NamespaceLabels::NotFetched),
        Err(EvalError::LabelsNotFetched { .. })
    ));
    // A cluster-scoped request has no namespace to select: no match, no error.
    assert_eq!(
        rule_matches(
            &selector,
            0,
            &res("get", "nodes"),
            NamespaceLabels::Unavailable
        ),
        Ok(false)
    );

    let expressions = rule(
        "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}]}}",
    );
    let none = labels(&[]);
    assert_eq!(
        rule_matches(&expressions, 0, &req, NamespaceLabels::Known(&none)),
        Ok(true)
    );
    assert_eq!(
        rule_matches(&expressions, 0, &req, NamespaceLabels::Known(&prod)),
        Ok(false)
    );
}

#[test]
fn mixed_filters_use_labels_only_when_the_pattern_misses() {
    let mixed = rule(
        "{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [kube-system], selectorTerms: [{matchLabels: {tier: critical}}]}}",
    );
    let critical = labels(&[("tier", "critical")]);
    let kube = res("get", "pods").ns("kube-system");
    let shop = res("get", "pods").ns("shop");
    // The pattern decides without labels.
    assert_eq!(
        rule_matches(&mixed, 0, &kube, NamespaceLabels::Unavailable),
        Ok(true)
    );
    assert!(!rules_need_labels(std::slice::from_ref(&mixed), &kube));
    // Otherwise the selector does.
    assert!(rules_need_labels(std::slice::from_ref(&mixed), &shop));
    assert_eq!(
        rule_matches(&mixed, 0, &shop, NamespaceLabels::Known(&critical)),
        Ok(true)
    );
    assert!(rule_matches(&mixed, 0, &shop, NamespaceLabels::Unavailable).is_err());
}

#[test]
fn label_needs_table() {
    // (rules, request, needs labels)
    let cases: Vec<(&str, ResourceAttributes, bool)> = vec![
        (
            "[{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [prod]}}]",
            res("get", "pods").ns("x"),
            false,
        ),
        (
            "[{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}]",
            res("get", "pods").ns("x"),
            true,
        ),
        (
            "[{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}]",
            res("get", "nodes"),
            false,
        ),
        // A rule that cannot match never needs labels.
        (
            "[{verbs: [delete], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}]",
            res("get", "pods").ns("x"),
            false,
        ),
        (
            "[{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]",
            res("get", "pods").ns("x"),
            false,
        ),
        ("[]", res("get", "pods").ns("x"), false),
    ];
    for (i, (text, req, want)) in cases.into_iter().enumerate() {
        let rules: Vec<DenyRule> = yaml(text);
        assert_eq!(rules_need_labels(&rules, &req), want, "case {i}: {text}");
    }
}

#[test]
fn malformed_globs_fail_closed_only_when_reached() {
    let bad_name =
        rule("{verbs: [get], apiGroups: [''], resources: [secrets], resourceNames: ['[invalid']}");
    assert!(matches!(
        rule_matches(&bad_name, 1, &res("get", "secrets").named("x"), NamespaceLabels::NotFetched),
        Err(EvalError::BadPattern { field, pattern }) if field == "rules[1].resourceNames" && pattern == "[invalid"
    ));
    // The verb already rules the rule out: the bad glob is never evaluated.
    assert_eq!(
        rule_matches(
            &bad_name,
            1,
            &res("delete", "secrets").named("x"),
            NamespaceLabels::NotFetched
        ),
        Ok(false)
    );
    let bad_ns =
        rule("{verbs: [get], apiGroups: [''], resources: [pods], namespaces: {patterns: ['[x']}}");
    assert!(matches!(
        rule_matches(&bad_ns, 0, &res("get", "pods").ns("x"), NamespaceLabels::NotFetched),
        Err(EvalError::BadPattern { field, .. }) if field == "rules[0].namespaces.patterns"
    ));
}

#[test]
fn first_matching_rule_reports_the_index() {
    let rules: Vec<DenyRule> = yaml(
        "[{verbs: [delete], apiGroups: [''], resources: [pods]}, {verbs: [get], apiGroups: [''], resources: [secrets]}, {verbs: ['*'], apiGroups: [''], resources: [secrets]}]",
    );
    let labels = NamespaceLabels::NotFetched;
    assert_eq!(
        first_matching_rule(&rules, &res("get", "secrets"), labels),
        Ok(Some(1))
    );
    assert_eq!(
        first_matching_rule(&rules, &res("list", "secrets"), labels),
        Ok(Some(2))
    );
    assert_eq!(
        first_matching_rule(&rules, &res("get", "pods"), labels),
        Ok(None)
    );
    assert_eq!(
        first_matching_rule(&[], &res("get", "pods"), labels),
        Ok(None)
    );
}

#[test]
fn scope_table() {
    let scope = |text: &str| -> DenyPolicyScope { yaml(text) };
    let global = PolicyScope {
        cluster: "prod-eu",
        tenant: Some("tenant-a"),
        session: None,
    };
    let in_session = PolicyScope {
        session: Some("s-1"),
        ..global
    };
    let no_tenant = PolicyScope {
        tenant: None,
        ..global
    };
    // (appliesTo, scope, applies)
    let cases: Vec<(&str, PolicyScope<'_>, bool)> = vec![
        ("{}", global, true),
        ("{clusters: []}", global, true),
        ("{clusters: [prod-eu]}", global, true),
        ("{clusters: [other-cluster]}", global, false),
        ("{clusters: ['*']}", global, true),
        // Exact or `*` only: a glob is a literal.
        ("{clusters: ['prod-*']}", global, false),
        ("{tenants: [tenant-a]}", global, true),
        ("{tenants: [tenant-b]}", global, false),
        ("{tenants: [tenant-a]}", no_tenant, false),
        ("{tenants: ['*']}", no_tenant, true),
        ("{sessions: [s-1]}", global, false),
        ("{sessions: [s-1]}", in_session, true),
        ("{sessions: [s-2]}", in_session, false),
        ("{sessions: ['*']}", global, true),
        (
            "{sessions: ['high-risk-session-*']}",
            PolicyScope {
                session: Some("high-risk-session-1"),
                ..global
            },
            false,
        ),
        // AND across lists.
        (
            "{clusters: [prod-eu], tenants: [tenant-a], sessions: [s-1]}",
            in_session,
            true,
        ),
        (
            "{clusters: [prod-eu], tenants: [tenant-b], sessions: [s-1]}",
            in_session,
            false,
        ),
        ("{clusters: [other], tenants: [tenant-a]}", global, false),
    ];
    for (i, (text, sc, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            scope_matches(Some(&scope(text)), &sc),
            want,
            "case {i}: {text} vs {sc:?}"
        );
    }
    assert!(scope_matches(None, &global));
}

#[test]
fn precedence_sorts_ascending_with_default_100_and_is_stable() {
    let p = |name: &str, prec: Option<i32>| {
        let mut d = policy(
            name,
            "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
        );
        d.spec.precedence = prec;
        d
    };
    let (a, b, c, d, e) = (
        p("a-200", Some(200)),
        p("b-nil", None),
        p("c-10", Some(10)),
        p("d-100", Some(100)),
        p("e-0", Some(0)),
    );
    let input: Vec<&DenyPolicy> = vec![&a, &b, &c, &d, &e];
    let names: Vec<&str> = by_precedence(&input).into_iter().map(policy_name).collect();
    assert_eq!(names, ["e-0", "c-10", "b-nil", "d-100", "a-200"]);
    // Reversed input: equal precedences keep the caller's order.
    let input: Vec<&DenyPolicy> = vec![&d, &b];
    let names: Vec<&str> = by_precedence(&input).into_iter().map(policy_name).collect();
    assert_eq!(names, ["d-100", "b-nil"]);
}
