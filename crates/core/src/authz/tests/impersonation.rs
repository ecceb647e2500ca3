//! Impersonation verbs, guards and impersonation rules (tests-doc §2.5).

use breakglass_api::cluster_config::LegacyImpersonationFallback;
use breakglass_api::common::ImpersonationMode;
use breakglass_api::deny_policy::ImpersonationDenyRule;

use super::fixtures::*;
use crate::authz::impersonation::*;
use crate::authz::*;

#[test]
fn verb_spellings() {
    use ImpersonationMode::*;
    let ok = |v: ImpersonationVerb| VerbClass::Impersonation(v);
    let cases = [
        ("impersonate", ok(ImpersonationVerb::Legacy)),
        (
            "impersonate:user-info",
            ok(ImpersonationVerb::Identity(UserInfo)),
        ),
        (
            "impersonate:serviceaccount",
            ok(ImpersonationVerb::Identity(ServiceAccount)),
        ),
        (
            "impersonate:arbitrary-node",
            ok(ImpersonationVerb::Identity(ArbitraryNode)),
        ),
        (
            "impersonate:associated-node",
            ok(ImpersonationVerb::Identity(AssociatedNode)),
        ),
        (
            "impersonate-on:user-info:list",
            ok(ImpersonationVerb::Action {
                mode: UserInfo,
                verb: "list".into(),
            }),
        ),
        (
            "impersonate-on:serviceaccount:create",
            ok(ImpersonationVerb::Action {
                mode: ServiceAccount,
                verb: "create".into(),
            }),
        ),
        // Unrecognised (tests-doc §2.5 list, plus edge spellings).
        ("impersonate:some-future-mode", VerbClass::Unrecognised),
        (
            "impersonate-on:some-future-mode:list",
            VerbClass::Unrecognised,
        ),
        ("impersonate:", VerbClass::Unrecognised),
        ("impersonate-on:user-info", VerbClass::Unrecognised),
        ("impersonate-on:user-info:", VerbClass::Unrecognised),
        ("impersonate:legacy", VerbClass::Unrecognised),
        ("impersonate-on:legacy:list", VerbClass::Unrecognised),
        ("impersonate-on", VerbClass::Unrecognised),
        ("impersonate-on:", VerbClass::Unrecognised),
        (
            "impersonate-on:user-info:list:extra",
            VerbClass::Unrecognised,
        ),
        // Not impersonation at all.
        ("get", VerbClass::NotImpersonation),
        ("impersonator", VerbClass::NotImpersonation),
        ("Impersonate", VerbClass::NotImpersonation),
        ("", VerbClass::NotImpersonation),
    ];
    for (verb, want) in cases {
        assert_eq!(classify_verb(verb), want, "{verb:?}");
    }
}

fn imp(verb: &str, resource: &str, name: &str) -> ResourceAttributes {
    res(verb, resource)
        .named(name)
        .group("authentication.k8s.io")
}

fn settings(deny_unrecognised: bool, legacy: LegacyImpersonationFallback) -> ImpersonationSettings {
    ImpersonationSettings {
        deny_unrecognised_verbs: deny_unrecognised,
        legacy_fallback: legacy,
    }
}

#[test]
fn guards() {
    use LegacyImpersonationFallback::*;
    let strict = settings(true, Allow);
    let lenient = settings(false, Allow);
    let check = |r: &ResourceAttributes, s: &ImpersonationSettings| {
        check_guards(r, s, CLUSTER).map(|p| p.map(|p| p.warnings))
    };

    // Unrecognised verbs: denied by default, let through when configured.
    for verb in [
        "impersonate:some-future-mode",
        "impersonate-on:some-future-mode:list",
        "impersonate:",
        "impersonate-on:user-info",
        "impersonate-on:user-info:",
        "impersonate:legacy",
        "impersonate-on:legacy:list",
    ] {
        assert_eq!(
            check(&imp(verb, "users", "bob"), &strict),
            Err(GuardDenial::UnrecognisedVerb { verb: verb.into() }),
            "{verb}"
        );
        assert_eq!(
            check(&imp(verb, "users", "bob"), &lenient),
            Ok(Some(vec![])),
            "{verb}"
        );
    }
    // system:masters, by any identity verb, even when unrecognised verbs are let through.
    for verb in [
        "impersonate",
        "impersonate:user-info",
        "impersonate:some-future-mode",
    ] {
        assert_eq!(
            check(&res(verb, "groups").named("system:masters"), &lenient),
            Err(GuardDenial::SystemMasters),
            "{verb}"
        );
    }
    assert_eq!(
        check(
            &res("impersonate", "users").named("system:masters"),
            &strict
        ),
        Ok(Some(vec![])),
        "a user of that name is not the group"
    );
    // The wildcard name.
    assert_eq!(
        check(&imp("impersonate:user-info", "groups", "*"), &strict),
        Err(GuardDenial::Wildcard {
            resource: "groups".into()
        })
    );
    assert_eq!(
        check(&res("impersonate", "users").named("*"), &strict),
        Err(GuardDenial::Wildcard {
            resource: "users".into()
        })
    );
    // Action checks name the target object, not an identity.
    assert_eq!(
        check(
            &res("impersonate-on:user-info:get", "pods").named("*"),
            &strict
        ),
        Ok(Some(vec![]))
    );
    // Legacy fallback.
    assert_eq!(
        check(
            &res("impersonate", "users").named("bob"),
            &settings(true, Forbidden)
        ),
        Err(GuardDenial::LegacyForbidden)
    );
    let warned = check(
        &res("impersonate", "users").named("bob"),
        &settings(true, Warn),
    )
    .unwrap()
    .unwrap();
    assert_eq!(warned.len(), 1);
    assert!(
        warned[0].contains("legacy (unconstrained) impersonation"),
        "{warned:?}"
    );
    assert_eq!(
        check(
            &imp("impersonate:user-info", "users", "bob"),
            &settings(true, Forbidden)
        ),
        Ok(Some(vec![]))
    );
    // Ordinary requests are not impersonation.
    assert_eq!(check(&res("get", "pods"), &strict), Ok(None));
}

fn rule(text: &str) -> ImpersonationDenyRule {
    yaml(text)
}

fn request_of(r: &ResourceAttributes) -> ImpersonationRequest {
    check_guards(
        r,
        &settings(false, LegacyImpersonationFallback::Allow),
        CLUSTER,
    )
    .unwrap()
    .unwrap()
    .request
}

fn matches_rule(rule_text: &str, r: &ResourceAttributes) -> bool {
    rule_matches(
        &rule(rule_text),
        0,
        &request_of(r),
        NamespaceLabels::NotFetched,
    )
    .unwrap()
}

#[test]
fn identity_rules() {
    let users = |verb: &str, name: &str| imp(verb, "users", name);
    let sa = |verb: &str, ns: &str, name: &str| res(verb, "serviceaccounts").ns(ns).named(name);
    // (rule, request, matches)
    let cases: Vec<(&str, ResourceAttributes, bool)> = vec![
        // The empty rule denies all impersonation.
        ("{}", users("impersonate:user-info", "bob"), true),
        ("{}", res("impersonate", "users").named("bob"), true),
        ("{}", res("impersonate-on:user-info:list", "pods"), true),
        ("{}", users("impersonate:some-future-mode", "bob"), true),
        // Identities (globs), legacy and constrained alike.
        (
            "{identities: [admin]}",
            users("impersonate:user-info", "admin"),
            true,
        ),
        (
            "{identities: [admin]}",
            res("impersonate", "users").named("admin"),
            true,
        ),
        (
            "{identities: [admin]}",
            users("impersonate:user-info", "bob"),
            false,
        ),
        (
            "{identities: ['platform-*']}",
            res("impersonate", "groups").named("platform-sre"),
            true,
        ),
        // Identity rules never match the action check.
        (
            "{identities: [admin]}",
            res("impersonate-on:user-info:list", "pods"),
            false,
        ),
        // Modes.
        (
            "{modes: [user-info], identities: [admin]}",
            res("impersonate", "users").named("admin"),
            false,
        ),
        (
            "{modes: [legacy], identities: [admin]}",
            res("impersonate", "users").named("admin"),
            true,
        ),
        (
            "{modes: [user-info]}",
            users("impersonate:user-info", "x"),
            true,
        ),
        (
            "{modes: [serviceaccount]}",
            users("impersonate:user-info", "x"),
            false,
        ),
        (
            "{modes: [user-info]}",
            users("impersonate:some-future-mode", "x"),
            false,
        ),
        // Identity resources.
        (
            "{identityResources: [groups]}",
            res("impersonate", "groups").named("g"),
            true,
        ),
        (
            "{identityResources: [groups]}",
            res("impersonate", "users").named("g"),
            false,
        ),
        (
            "{identityResources: [uids]}",
            imp("impersonate:user-info", "uids", "1234"),
            true,
        ),
        (
            "{identityResources: [nodes]}",
            imp("impersonate:arbitrary-node", "nodes", "node-1"),
            true,
        ),
        // Service accounts: bare name or full user name; namespaces only for them.
        (
            "{identities: [deployer]}",
            sa("impersonate:serviceaccount", "ci", "deployer"),
            true,
        ),
        (
            "{identities: ['system:serviceaccount:ci:*']}",
            sa("impersonate:serviceaccount", "ci", "deployer"),
            true,
        ),
        (
            "{identities: ['system:serviceaccount:ci:*']}",
            sa("impersonate:serviceaccount", "prod", "deployer"),
            false,
        ),
        (
            "{namespaces: {patterns: [kube-*]}}",
            sa("impersonate", "kube-system", "admin"),
            true,
        ),
        (
            "{namespaces: {patterns: [kube-*]}}",
            sa("impersonate", "ci", "admin"),
            false,
        ),
        (
            "{namespaces: {patterns: [kube-*]}}",
            users("impersonate:user-info", "admin"),
            false,
        ),
        // User extras: the key is the subresource.
        (
            "{extraKeys: [scopes]}",
            imp("impersonate:user-info", "userextras", "view").sub("scopes"),
            true,
        ),
        (
            "{extraKeys: [scopes]}",
            imp("impersonate:user-info", "userextras", "view").sub("dn"),
            false,
        ),
        (
            "{extraKeys: [scopes]}",
            users("impersonate:user-info", "view"),
            false,
        ),
        // Unrecognised verbs let through match only unconstrained rules.
        (
            "{identities: [bob]}",
            users("impersonate:some-future-mode", "bob"),
            false,
        ),
    ];
    for (i, (text, req, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            matches_rule(text, &req),
            want,
            "case {i}: {text} vs {req:?}"
        );
    }
}

#[test]
fn action_rules() {
    let on = |verb: &str, resource: &str| res(verb, resource).ns("default");
    let write_secrets = "{actionVerbs: [create, update, patch, delete], targetResources: [secrets], targetAPIGroups: ['']}";
    let cases: Vec<(&str, ResourceAttributes, bool)> = vec![
        (
            write_secrets,
            on("impersonate-on:user-info:create", "secrets"),
            true,
        ),
        (
            write_secrets,
            on("impersonate-on:serviceaccount:delete", "secrets"),
            true,
        ),
        (
            write_secrets,
            on("impersonate-on:user-info:get", "secrets"),
            false,
        ),
        (
            write_secrets,
            on("impersonate-on:user-info:create", "configmaps"),
            false,
        ),
        (
            write_secrets,
            on("impersonate-on:user-info:create", "secrets").group("example.io"),
            false,
        ),
        // Action rules never match identity checks.
        (
            write_secrets,
            imp("impersonate:user-info", "users", "bob"),
            false,
        ),
        (
            write_secrets,
            res("impersonate", "users").named("bob"),
            false,
        ),
        (
            "{actionVerbs: ['*']}",
            on("impersonate-on:user-info:watch", "pods"),
            true,
        ),
        (
            "{actionVerbs: [get], targetResources: [pods]}",
            on("impersonate-on:user-info:get", "pods").sub("log"),
            true,
        ),
        (
            "{actionVerbs: [get], targetResources: [pods/log]}",
            on("impersonate-on:user-info:get", "pods").sub("log"),
            true,
        ),
        (
            "{actionVerbs: [get], targetResources: ['pods/*']}",
            on("impersonate-on:user-info:get", "pods").sub("exec"),
            true,
        ),
        (
            "{actionVerbs: [get], targetResources: [pods/log]}",
            on("impersonate-on:user-info:get", "pods"),
            false,
        ),
        (
            "{modes: [serviceaccount], actionVerbs: [get]}",
            on("impersonate-on:user-info:get", "pods"),
            false,
        ),
    ];
    for (i, (text, req, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            matches_rule(text, &req),
            want,
            "case {i}: {text} vs {req:?}"
        );
    }
}

#[test]
fn rule_errors_and_label_needs() {
    let sa = res("impersonate:serviceaccount", "serviceaccounts")
        .ns("ci")
        .named("deployer");
    let bad = rule("{identities: ['[bad']}");
    assert!(matches!(
        rule_matches(&bad, 2, &request_of(&sa), NamespaceLabels::NotFetched),
        Err(EvalError::BadPattern { field, .. }) if field == "impersonationRules[2].identities"
    ));
    let selector = rule("{namespaces: {selectorTerms: [{matchLabels: {protected: 'true'}}]}}");
    assert!(rules_need_labels(
        std::slice::from_ref(&selector),
        &request_of(&sa)
    ));
    assert!(matches!(
        rule_matches(&selector, 0, &request_of(&sa), NamespaceLabels::Unavailable),
        Err(EvalError::LabelsUnavailable { .. })
    ));
    let protected = [("protected".to_owned(), "true".to_owned())].into();
    assert_eq!(
        rule_matches(
            &selector,
            0,
            &request_of(&sa),
            NamespaceLabels::Known(&protected)
        ),
        Ok(true)
    );
    let users = imp("impersonate:user-info", "users", "bob");
    assert!(!rules_need_labels(
        std::slice::from_ref(&selector),
        &request_of(&users)
    ));
    assert_eq!(
        rule_matches(
            &selector,
            0,
            &request_of(&users),
            NamespaceLabels::Unavailable
        ),
        Ok(false)
    );
    let rules = [rule("{identities: [x]}"), rule("{identities: [bob]}")];
    assert_eq!(
        first_matching_rule(&rules, &request_of(&users), NamespaceLabels::NotFetched),
        Ok(Some(1))
    );
}
