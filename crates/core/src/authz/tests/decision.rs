//! The pipeline at SAR level: what the reference's webhook tests expect (tests-doc §2.3,
//! §2.4, §2.5, §3.4) and the contract with the server.

use breakglass_api::breakglass_session::BreakglassSessionState;
use breakglass_api::cluster_config::LegacyImpersonationFallback;

use super::fixtures::*;
use super::world::*;
use crate::authz::*;

fn cluster_admin() -> World {
    World::new(request(res("get", "pods").ns("default"))).session(approved("s1", "cluster-admin"))
}

fn with_request(w: World, r: ResourceAttributes) -> World {
    World {
        request: request(r),
        ..w
    }
}

fn assert_allowed(d: &Decision) {
    assert!(d.allowed, "expected allowed: {d:#?}");
}

fn assert_denied(d: &Decision, fragment: &str) {
    assert!(!d.allowed, "expected denied: {d:#?}");
    assert!(
        d.reason.contains(fragment),
        "reason {:?} lacks {fragment:?}",
        d.reason
    );
}

// ---- §2.4 webhook authorization decisions -------------------------------------------

#[test]
fn approved_session_needs_the_group_check_and_is_allowed_with_the_session_reason() {
    // Approved by ann, created from escalation sre-admin: both go into the grant id.
    let mut session = approved("s1", "cluster-admin");
    if let Some(st) = session.status.as_mut() {
        st.approver = Some("ann@example.com".into());
    }
    session.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "breakglass.t-caas.telekom.com/v1alpha1".into(),
            kind: "BreakglassEscalation".into(),
            name: "sre-admin".into(),
            uid: "uid-1".into(),
            ..Default::default()
        },
    ]);
    let w = World::new(request(res("get", "pods").ns("default"))).session(session);
    let plan = w.with_input(
        NamespaceLabels::NotFetched,
        PodInfo::NotFetched,
        |input| match precheck(input, &w.config) {
            PreCheck::NeedsGroupCheck(plan) => plan,
            PreCheck::Decided(d) => panic!("must need the group check: {d:#?}"),
        },
    );
    assert_eq!(plan.candidates.len(), 1);
    let c = &plan.candidates[0];
    assert_eq!(
        (c.session.as_str(), c.namespace.as_str(), c.group.as_str()),
        ("s1", "breakglass", "cluster-admin")
    );
    // The request's groups carry `oidc:`, so that spelling is tried first.
    assert_eq!(
        c.spellings,
        [
            "oidc:cluster-admin",
            "cluster-admin",
            "keycloak:cluster-admin"
        ]
    );
    assert_eq!(plan.combined_groups(), c.spellings);

    let d = w.decide();
    assert_allowed(&d);
    assert_eq!(
        d.reason,
        "Allowed by breakglass session (session=s1, sessionGroup=cluster-admin, impersonationGroup=oidc:cluster-admin) [grant v1 kind=session cluster=prod-eu session=breakglass/s1 escalation=sre-admin group=cluster-admin approver=ann%40example.com]"
    );
    let grant = crate::authz::grant::Grant::find(&d.reason).expect("a grant id");
    assert_eq!(
        (
            grant.name.as_str(),
            grant.origin.as_deref(),
            grant.approver.as_deref()
        ),
        ("s1", Some("sre-admin"), Some("ann@example.com"))
    );
    assert_eq!(d.deny_source(), "session");
    assert_eq!(d.decision_label(), "allowed");
    assert_eq!(d.trace.allowing_session(), Some(("breakglass", "s1")));
    assert_eq!(
        d.trace.stage,
        Stage::Session {
            session: "s1".into(),
            namespace: "breakglass".into(),
            group: "cluster-admin".into(),
            impersonation_group: "oidc:cluster-admin".into()
        }
    );
}

#[test]
fn sessions_that_do_not_grant_access_are_denied() {
    use BreakglassSessionState::*;
    let s = |name: &str, user: &str, cluster: &str, state, expires: i64| {
        session_in(name, user, cluster, "cluster-admin", state, expires)
    };
    // (case, session, fragment of the reason)
    let cases = [
        ("no session", None, "Access denied"),
        (
            "pending",
            Some(s("p1", USER, CLUSTER, Pending, 3600)),
            "waiting for approval",
        ),
        (
            "expired state",
            Some(s("e1", USER, CLUSTER, Expired, -60)),
            "Access denied",
        ),
        (
            "approved but past expiresAt",
            Some(s("e2", USER, CLUSTER, Approved, -1)),
            "Access denied",
        ),
        (
            "expires exactly now",
            Some(s("e3", USER, CLUSTER, Approved, 0)),
            "Access denied",
        ),
        (
            "rejected",
            Some(s("r1", USER, CLUSTER, Rejected, 3600)),
            "Access denied",
        ),
        (
            "withdrawn",
            Some(s("w1", USER, CLUSTER, Withdrawn, 3600)),
            "Access denied",
        ),
        (
            "scheduled",
            Some(s("sch", USER, CLUSTER, WaitingForScheduledTime, 7200)),
            "scheduled start",
        ),
        (
            "other cluster",
            Some(s("o1", USER, "other-cluster", Approved, 3600)),
            "on cluster prod-eu",
        ),
        (
            "other user",
            Some(s("u1", "bob@example.com", CLUSTER, Approved, 3600)),
            "Access denied",
        ),
    ];
    for (case, session, fragment) in cases {
        let mut w = World::new(request(res("get", "pods").ns("default")));
        if let Some(s) = session {
            w = w.session(s);
        }
        let d = w.decide();
        assert_denied(&d, fragment);
        assert!(
            d.reason.starts_with("Access denied"),
            "{case}: {}",
            d.reason
        );
        assert_eq!(d.deny_source(), "final", "{case}");
        assert!(
            matches!(d.trace.stage, Stage::NoSession { .. }),
            "{case}: {:?}",
            d.trace.stage
        );
    }
}

#[test]
fn an_empty_user_matches_no_session() {
    let s = session_in(
        "anon",
        "",
        CLUSTER,
        "cluster-admin",
        BreakglassSessionState::Approved,
        3600,
    );
    let mut w = World::new(request(res("get", "pods"))).session(s);
    w.request.user = String::new();
    assert_denied(&w.decide(), "Access denied");
}

#[test]
fn a_session_for_another_group_does_not_grant_this_one() {
    // The target cluster's RBAC allows only `secret-readers`; the session grants `viewers`.
    let w =
        World::new(request(res("get", "secrets").ns("default"))).session(approved("s1", "viewers"));
    let d = w.decide_with(&|c| {
        if c.group == "secret-readers" {
            ProbeOutcome::Allowed {
                group: c.group.clone(),
            }
        } else {
            ProbeOutcome::NotAllowed
        }
    });
    assert_denied(&d, "Access denied");
    assert!(d.reason.contains("viewers"), "{}", d.reason);
    assert_eq!(
        d.trace.stage,
        Stage::Final {
            candidates: 1,
            failed_checks: 0
        }
    );
    assert_eq!(d.deny_source(), "final");
}

#[test]
fn identity_provider_issuer_checks() {
    let with_issuer = |issuer: Option<&str>, session_issuer: Option<&str>, allow_mismatch: bool| {
        let mut s = approved("s1", "cluster-admin");
        s.spec.identity_provider_issuer = session_issuer.map(str::to_owned);
        s.spec.identity_provider_name = Some("corp".into());
        s.spec.allow_idp_mismatch = Some(allow_mismatch);
        let mut w = cluster_admin();
        w.sessions = vec![(s, None)];
        w.request.issuer = issuer.map(str::to_owned);
        w.decide()
    };
    let d = with_issuer(
        Some("https://other.example.com"),
        Some("https://corp.example.com"),
        false,
    );
    assert_denied(&d, "different identity provider");
    assert!(d.reason.contains("(corp)"), "{}", d.reason);
    assert_eq!(d.trace.idp_mismatch_sessions, ["s1"]);
    assert!(matches!(
        d.trace.stage,
        Stage::NoSession {
            idp_mismatch: 1,
            ..
        }
    ));
    // A session without a recorded issuer cannot prove it matches.
    assert_denied(
        &with_issuer(Some("https://corp.example.com"), None, false),
        "different identity provider",
    );
    assert_allowed(&with_issuer(
        Some("https://corp.example.com"),
        Some("https://corp.example.com/"),
        false,
    ));
    assert_allowed(&with_issuer(
        Some("https://other.example.com"),
        Some("https://corp.example.com"),
        true,
    ));
    assert_allowed(&with_issuer(None, Some("https://corp.example.com"), false));
}

#[test]
fn non_resource_requests_skip_deny_policies() {
    let all = policy(
        "deny-everything",
        "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
    );
    let mut w = cluster_admin().policy(all);
    w.request = non_resource("get", "/healthz");
    let d = w.decide();
    assert_allowed(&d);
    // The same policy denies a resource request.
    let d = with_request(w, res("get", "pods")).decide();
    assert_denied(&d, "Denied by policy deny-everything");
}

#[test]
fn combined_probe_and_failed_checks() {
    let w = cluster_admin().session(approved("s2", "viewers"));
    let plan = w.with_input(
        NamespaceLabels::NotFetched,
        PodInfo::NotFetched,
        |input| match precheck(input, &w.config) {
            PreCheck::NeedsGroupCheck(p) => p,
            PreCheck::Decided(d) => panic!("{d:#?}"),
        },
    );
    let combined = GroupCheckResults {
        combined: ProbeOutcome::Allowed {
            group: String::new(),
        },
        sessions: vec![],
    };
    let d = finalize(plan.clone(), &combined, &w.config);
    assert_allowed(&d);
    assert_eq!(d.reason, "Allowed by RBAC (groupCount=2)");
    assert_eq!(d.deny_source(), "rbac");
    assert_eq!(d.trace.allowing_session(), None);

    // Errors are noted, never an allow.
    let failed = GroupCheckResults {
        combined: ProbeOutcome::Failed,
        sessions: vec![SessionCheck {
            namespace: "breakglass".into(),
            session: "s1".into(),
            outcome: ProbeOutcome::Failed,
        }],
    };
    let d = finalize(plan.clone(), &failed, &w.config);
    assert_denied(&d, "check(s) against the cluster failed");
    assert_eq!(
        d.trace.stage,
        Stage::Final {
            candidates: 2,
            failed_checks: 2
        }
    );

    // An allow for a spelling the plan never offered, or for an unknown session, is ignored.
    let bogus = GroupCheckResults {
        combined: ProbeOutcome::NotAllowed,
        sessions: vec![
            SessionCheck {
                namespace: "breakglass".into(),
                session: "s1".into(),
                outcome: ProbeOutcome::Allowed {
                    group: "system:masters".into(),
                },
            },
            SessionCheck {
                namespace: "breakglass".into(),
                session: "someone-elses".into(),
                outcome: ProbeOutcome::Allowed {
                    group: "cluster-admin".into(),
                },
            },
        ],
    };
    let d = finalize(plan.clone(), &bogus, &w.config);
    assert_denied(&d, "Access denied");
    assert_eq!(d.trace.warnings.len(), 1, "{:?}", d.trace.warnings);

    // The first candidate in plan order wins.
    let both = GroupCheckResults {
        combined: ProbeOutcome::NotRun,
        sessions: ["s2", "s1"]
            .into_iter()
            .map(|s| SessionCheck {
                namespace: "breakglass".into(),
                session: s.into(),
                outcome: ProbeOutcome::Allowed {
                    group: if s == "s1" {
                        "cluster-admin".into()
                    } else {
                        "viewers".into()
                    },
                },
            })
            .collect(),
    };
    let d = finalize(plan, &both, &w.config);
    assert_eq!(d.trace.allowing_session(), Some(("breakglass", "s1")));
    assert!(
        d.reason.contains("impersonationGroup=cluster-admin"),
        "{}",
        d.reason
    );
}

#[test]
fn cluster_must_be_registered() {
    let mut w = cluster_admin();
    w.cluster = None;
    let d = w.decide();
    assert_denied(&d, "is not registered with Breakglass");
    assert!(d.reason.contains("\"prod-eu\""), "{}", d.reason);
    assert_eq!(d.deny_source(), "cluster-missing");
    assert_eq!(d.trace.stage.name(), "cluster-missing");
    assert!(w.needs().is_empty());
}

#[test]
fn debug_session_seam_comes_before_deny_policies() {
    let no_exec = policy(
        "no-exec",
        "{rules: [{verbs: ['*'], apiGroups: [''], resources: [pods], subresources: [exec]}]}",
    );
    let mut w = World::new(request(
        res("create", "pods")
            .ns("default")
            .named("web-0")
            .sub("exec"),
    ))
    .policy(no_exec);
    w.debug = Some(DebugSessionAllow {
        session: "dbg-1".into(),
        namespace: "breakglass".into(),
        template: "net-debug".into(),
        approver: Some("ann@example.com".into()),
        role: "participant".into(),
        operation: "exec".into(),
    });
    assert!(
        w.needs().is_empty(),
        "nothing to fetch when the seam decides"
    );
    let d = w.decide();
    assert_allowed(&d);
    assert_eq!(
        d.reason,
        "Allowed by debug session dbg-1 (role: participant, operation: exec) [grant v1 kind=debug cluster=prod-eu session=breakglass/dbg-1 template=net-debug role=participant operation=exec approver=ann%40example.com]"
    );
    assert_eq!(d.deny_source(), "debug-session");

    // A viewer's `get` on the pod itself (what kubectl reads before exec) passes the
    // seam too, ahead of a policy denying every pod verb.
    let no_pods = policy(
        "no-pods",
        "{rules: [{verbs: ['*'], apiGroups: [''], resources: [pods]}]}",
    );
    let mut viewer =
        World::new(request(res("get", "pods").ns("default").named("web-0"))).policy(no_pods);
    viewer.debug = Some(DebugSessionAllow {
        session: "dbg-1".into(),
        namespace: "breakglass".into(),
        template: "net-debug".into(),
        approver: None,
        role: "viewer".into(),
        operation: "get".into(),
    });
    let d = viewer.decide();
    assert_allowed(&d);
    assert_eq!(
        d.reason,
        "Allowed by debug session dbg-1 (role: viewer, operation: get) [grant v1 kind=debug cluster=prod-eu session=breakglass/dbg-1 template=net-debug role=viewer operation=get]"
    );

    // The seam only covers pod operations: otherwise it is ignored (and noted).
    let w = World {
        request: request(res("get", "secrets").ns("default")),
        ..w
    };
    let d = w.decide();
    assert_denied(&d, "Access denied");
    assert!(
        d.trace.warnings.iter().any(|x| x.contains("dbg-1")),
        "{:?}",
        d.trace.warnings
    );
}

// ---- §2.3 deny policies -------------------------------------------------------------

#[test]
fn deny_policy_scenarios() {
    // (case, policies, request, denied by)
    let dp = |name: &str, spec: &str| policy(name, spec);
    let cases: Vec<(
        &str,
        Vec<breakglass_api::DenyPolicy>,
        ResourceAttributes,
        Option<&str>,
    )> = vec![
        (
            "DP-001 delete pods",
            vec![dp(
                "no-delete",
                "{rules: [{verbs: [delete], apiGroups: [''], resources: [pods]}]}",
            )],
            res("delete", "pods").ns("default").named("x"),
            Some("no-delete"),
        ),
        (
            "DP-001 list pods",
            vec![dp(
                "no-delete",
                "{rules: [{verbs: [delete], apiGroups: [''], resources: [pods]}]}",
            )],
            res("list", "pods").ns("default"),
            None,
        ),
        (
            "DP-002 secrets",
            vec![dp(
                "no-secrets",
                "{rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets]}]}",
            )],
            res("get", "secrets").ns("default"),
            Some("no-secrets"),
        ),
        (
            "DP-002 configmaps",
            vec![dp(
                "no-secrets",
                "{rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets]}]}",
            )],
            res("get", "configmaps").ns("default"),
            None,
        ),
        (
            "DP-003 production",
            vec![dp(
                "no-prod",
                "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [production]}}]}",
            )],
            res("get", "pods").ns("production"),
            Some("no-prod"),
        ),
        (
            "DP-003 default",
            vec![dp(
                "no-prod",
                "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [production]}}]}",
            )],
            res("get", "services").ns("default"),
            None,
        ),
        (
            "DP-004 apps",
            vec![dp(
                "no-apps",
                "{rules: [{verbs: ['*'], apiGroups: [apps], resources: ['*']}]}",
            )],
            res("get", "deployments").ns("default").group("apps"),
            Some("no-apps"),
        ),
        (
            "DP-004 core",
            vec![dp(
                "no-apps",
                "{rules: [{verbs: ['*'], apiGroups: [apps], resources: ['*']}]}",
            )],
            res("get", "services").ns("default"),
            None,
        ),
        (
            "DP-005 named secret",
            vec![dp(
                "db-password",
                "{rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets, configmaps], resourceNames: [database-password], namespaces: {patterns: ['*']}}]}",
            )],
            res("get", "secrets")
                .ns("default")
                .named("database-password"),
            Some("db-password"),
        ),
        (
            "DP-005 other name",
            vec![dp(
                "db-password",
                "{rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets, configmaps], resourceNames: [database-password], namespaces: {patterns: ['*']}}]}",
            )],
            res("get", "configmaps")
                .ns("default")
                .named("other-configmap"),
            None,
        ),
        (
            "DP-007 precedence 10",
            vec![
                dp(
                    "p10",
                    "{precedence: 10, rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets]}]}",
                ),
                dp(
                    "p50",
                    "{precedence: 50, rules: [{verbs: ['*'], apiGroups: [''], resources: [configmaps]}]}",
                ),
            ],
            res("get", "secrets").ns("default"),
            Some("p10"),
        ),
        (
            "DP-007 precedence 50",
            vec![
                dp(
                    "p10",
                    "{precedence: 10, rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets]}]}",
                ),
                dp(
                    "p50",
                    "{precedence: 50, rules: [{verbs: ['*'], apiGroups: [''], resources: [configmaps]}]}",
                ),
            ],
            res("get", "configmaps").ns("default"),
            Some("p50"),
        ),
        (
            "DP-007 services",
            vec![
                dp(
                    "p10",
                    "{precedence: 10, rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets]}]}",
                ),
                dp(
                    "p50",
                    "{precedence: 50, rules: [{verbs: ['*'], apiGroups: [''], resources: [configmaps]}]}",
                ),
            ],
            res("get", "services").ns("default"),
            None,
        ),
        (
            "precedence winner",
            vec![
                dp(
                    "c-200",
                    "{precedence: 200, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
                ),
                dp(
                    "b-nil",
                    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
                ),
                dp(
                    "a-10",
                    "{precedence: 10, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
                ),
            ],
            res("get", "pods"),
            Some("a-10"),
        ),
        (
            "in-process get secrets",
            vec![
                dp(
                    "get-secrets",
                    "{precedence: 10, rules: [{verbs: [get], apiGroups: [''], resources: [secrets]}]}",
                ),
                dp(
                    "delete-secrets",
                    "{rules: [{verbs: [delete], apiGroups: [''], resources: [secrets]}]}",
                ),
            ],
            res("get", "secrets").ns("x"),
            Some("get-secrets"),
        ),
        (
            "in-process delete secrets",
            vec![
                dp(
                    "get-secrets",
                    "{precedence: 10, rules: [{verbs: [get], apiGroups: [''], resources: [secrets]}]}",
                ),
                dp(
                    "delete-secrets",
                    "{rules: [{verbs: [delete], apiGroups: [''], resources: [secrets]}]}",
                ),
            ],
            res("delete", "secrets").ns("x"),
            Some("delete-secrets"),
        ),
        (
            "in-process list secrets",
            vec![
                dp(
                    "get-secrets",
                    "{precedence: 10, rules: [{verbs: [get], apiGroups: [''], resources: [secrets]}]}",
                ),
                dp(
                    "delete-secrets",
                    "{rules: [{verbs: [delete], apiGroups: [''], resources: [secrets]}]}",
                ),
            ],
            res("list", "secrets").ns("x"),
            None,
        ),
        (
            "DP-011 other cluster",
            vec![dp(
                "elsewhere",
                "{appliesTo: {clusters: [other-cluster]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
            )],
            res("list", "serviceaccounts").ns("default"),
            None,
        ),
        (
            "this cluster",
            vec![dp(
                "here",
                "{appliesTo: {clusters: [prod-eu]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
            )],
            res("list", "serviceaccounts").ns("default"),
            Some("here"),
        ),
        (
            "tenant",
            vec![dp(
                "tenant-a",
                "{appliesTo: {tenants: [tenant-a]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
            )],
            res("get", "pods"),
            Some("tenant-a"),
        ),
        (
            "other tenant",
            vec![dp(
                "tenant-b",
                "{appliesTo: {tenants: [tenant-b]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
            )],
            res("get", "pods"),
            None,
        ),
        (
            "protect critical namespaces",
            vec![dp(
                "protect-critical-resources",
                "{precedence: 100, rules: [{verbs: [delete], apiGroups: [''], resources: [namespaces], resourceNames: [kube-system, kube-node-lease, default]}, {verbs: [delete], apiGroups: [''], resources: [secrets], resourceNames: [database-credentials, tls-certs]}]}",
            )],
            res("delete", "namespaces").named("kube-system"),
            Some("protect-critical-resources"),
        ),
        (
            "orphaned namespace",
            vec![dp(
                "protect-critical-resources",
                "{precedence: 100, rules: [{verbs: [delete], apiGroups: [''], resources: [namespaces], resourceNames: [kube-system, kube-node-lease, default]}]}",
            )],
            res("delete", "namespaces").named("orphaned-namespace"),
            None,
        ),
    ];
    for (case, policies, req, denied_by) in cases {
        let mut w = with_request(cluster_admin(), req);
        w.policies = policies;
        w.escalations = 2;
        let d = w.decide();
        match denied_by {
            Some(name) => {
                assert!(!d.allowed, "{case}: {d:#?}");
                assert_eq!(
                    d.reason,
                    format!("Denied by policy {name}; 2 breakglass escalation(s) available"),
                    "{case}"
                );
                assert_eq!(d.deny_source(), "global", "{case}");
                assert!(
                    matches!(&d.trace.stage, Stage::DenyPolicy { policy, pass: Pass::Global, .. } if policy == name),
                    "{case}"
                );
            }
            None => {
                assert!(d.allowed, "{case}: {d:#?}");
                assert!(!d.reason.contains("policy"), "{case}: {}", d.reason);
            }
        }
    }
}

#[test]
fn deny_reason_fragments_and_link() {
    let mut w = with_request(cluster_admin(), res("create", "pods").ns("default")).policy(policy(
        "no-create",
        "{rules: [{verbs: [create], apiGroups: [''], resources: [pods]}]}",
    ));
    assert_eq!(
        w.decide().reason,
        "Denied by policy no-create; No breakglass flow available for your user"
    );
    w.escalations = 1;
    w.config.ui_base_url = Some("https://breakglass.example.com".into());
    w.cluster.as_mut().unwrap().name = CLUSTER.into();
    assert_eq!(
        w.decide().reason,
        "Denied by policy no-create; 1 breakglass escalation(s) available; see https://breakglass.example.com?search=prod-eu"
    );
    // The no-session denial links too; the cluster name is URL-encoded.
    w.sessions.clear();
    let d = w.decide();
    assert!(d.reason.ends_with("; 1 breakglass escalation(s) available; see https://breakglass.example.com?search=prod-eu"), "{}", d.reason);
    assert_eq!(message::query_escape("a b/c&d?é"), "a+b%2Fc%26d%3F%C3%A9");
    // The IDP hint, hardened and not.
    w.request.issuer = Some("https://corp.example.com".into());
    w.idp = IdpHints {
        issuer_idp_name: Some("corp".into()),
        available: vec!["corp".into(), "partners".into()],
    };
    let d = w.decide();
    assert!(
        d.reason
            .contains("(Your token was authenticated by 'corp')"),
        "{}",
        d.reason
    );
    assert!(
        !d.reason.contains("partners"),
        "hardened hints do not list providers: {}",
        d.reason
    );
    w.config.hardened_idp_hints = false;
    assert!(
        w.decide()
            .reason
            .contains("available identity providers: corp, partners")
    );
}

#[test]
fn session_scoped_policy_denies_while_that_session_is_active() {
    let scoped = policy(
        "no-secrets-for-s1",
        "{appliesTo: {sessions: [s1]}, rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets]}]}",
    );
    let w = with_request(cluster_admin(), res("get", "secrets").ns("default")).policy(scoped);
    // The targeted session alone: denied with the policy's reason.
    let d = w.decide();
    assert_denied(&d, "Denied by policy no-secrets-for-s1");
    assert_eq!(d.deny_source(), "session");
    assert!(
        matches!(&d.trace.stage, Stage::DenyPolicy { pass: Pass::Session(s), .. } if s == "s1")
    );
    // As in the reference, a match in any session's pass denies the request: another
    // session of the user that would grant does not get around it.
    let w2 = w.session(approved("s2", "secret-readers"));
    let d = w2.decide();
    assert_denied(&d, "Denied by policy no-secrets-for-s1");
    assert_eq!(d.trace.allowing_session(), None);
    assert!(
        matches!(&d.trace.stage, Stage::DenyPolicy { pass: Pass::Session(s), .. } if s == "s1")
    );
    // A request the policy does not cover is still allowed through either session.
    let mut w2 = w2;
    w2.request = request(res("get", "pods").ns("default"));
    assert_allowed(&w2.decide());
}

#[test]
fn namespace_selector_and_mixed_filters_at_sar_level() {
    let selector = policy(
        "prod-namespaces",
        "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {env: prod}}]}}]}",
    );
    let mixed = policy(
        "mixed",
        "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [kube-system], selectorTerms: [{matchExpressions: [{key: tier, operator: In, values: [critical]}]}]}}]}",
    );
    let w = |p: &breakglass_api::DenyPolicy, ns: &str| {
        with_request(cluster_admin(), res("get", "configmaps").ns(ns)).policy(p.clone())
    };

    let d = w(&selector, "shop").labels(&[("env", "prod")]).decide();
    assert_denied(&d, "Denied by policy prod-namespaces");
    assert!(d.reason.to_lowercase().contains("denied") && d.reason.contains("policy"));
    let d = w(&selector, "shop").labels(&[("env", "dev")]).decide();
    assert_allowed(&d);
    assert!(!d.reason.contains("prod-namespaces"));

    assert_denied(&w(&mixed, "kube-system").decide(), "Denied by policy mixed");
    assert_denied(
        &w(&mixed, "payments")
            .labels(&[("tier", "critical")])
            .decide(),
        "Denied by policy mixed",
    );
    assert_allowed(&w(&mixed, "payments").labels(&[("tier", "web")]).decide());

    // Labels unavailable while a selector rule could match: fail closed.
    let mut unavailable = w(&selector, "shop");
    unavailable.labels_unavailable = true;
    let d = unavailable.decide();
    assert_denied(
        &d,
        "DenyPolicy evaluation failed; request denied fail-closed",
    );
    assert_eq!(d.deny_source(), "policy-error");
    assert!(d.reason.contains("try again"), "{}", d.reason);
}

#[test]
fn a_missing_namespace_fails_closed_when_a_selector_rule_is_in_scope() {
    let selector = policy(
        "prod-namespaces",
        "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {env: prod}}]}}]}",
    );
    let mut w = with_request(cluster_admin(), res("get", "configmaps").ns("nope")).policy(selector);
    w.namespace_missing = true;
    let d = w.decide();
    // Before, a missing namespace counted as one without labels and the session allowed.
    assert_denied(
        &d,
        "DenyPolicy evaluation failed; request denied fail-closed (policy prod-namespaces: rules[0].namespaces selects namespaces by label, and namespace nope does not exist on the cluster)",
    );
    assert_eq!(d.deny_source(), "policy-error");
    assert!(matches!(
        &d.trace.stage,
        Stage::PolicyError {
            error: EvalError::NamespaceMissing { .. },
            ..
        }
    ));
    // Without a selector rule in scope, a missing namespace changes nothing.
    let mut plain = with_request(cluster_admin(), res("get", "configmaps").ns("nope"));
    plain.namespace_missing = true;
    assert_allowed(&plain.decide());
}

#[test]
fn a_session_granting_a_system_group_never_grants() {
    for group in [
        "system:masters",
        "oidc:system:masters",
        "OIDC:System:Masters",
    ] {
        let w =
            World::new(request(res("get", "secrets").ns("default"))).session(approved("s1", group));
        // The target cluster would allow any spelling it is asked about.
        let d = w.decide_with(&|c| ProbeOutcome::Allowed {
            group: c.spellings.first().cloned().unwrap_or_default(),
        });
        assert!(!d.allowed, "{group}: {d:?}");
        assert_eq!(d.trace.system_group_sessions, ["s1"], "{group}");
        assert!(d.reason.contains("grant a system: group"), "{}", d.reason);
    }
    // Another session still works, and the system one is reported.
    let w = World::new(request(res("get", "pods").ns("default")))
        .session(approved("s1", "oidc:system:masters"))
        .session(approved("s2", "viewers"));
    let d = w.decide();
    assert_eq!(d.trace.allowing_session(), Some(("breakglass", "s2")));
    assert_eq!(d.trace.system_group_sessions, ["s1"]);
}

#[test]
fn data_needs_table() {
    let selector = policy(
        "sel",
        "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}]}",
    );
    let pattern = policy(
        "pat",
        "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [prod]}}]}",
    );
    let mixed = policy(
        "mix",
        "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [prod], selectorTerms: [{matchLabels: {a: b}}]}}]}",
    );
    let delete_only = policy(
        "del",
        "{rules: [{verbs: [delete], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}]}",
    );
    let elsewhere = policy(
        "else",
        "{appliesTo: {clusters: [other]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}]}",
    );
    let for_s1 = policy(
        "s1",
        "{appliesTo: {sessions: [s1]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}]}",
    );
    let pods = policy(
        "pods",
        "{podSecurityRules: {thresholds: [{maxScore: 10, action: allow}]}}",
    );
    let pods_exempt = policy(
        "pods-exempt",
        "{podSecurityRules: {exemptions: {namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}}}",
    );
    let get = res("get", "pods").ns("shop");
    let exec = res("create", "pods").ns("shop").named("web-0").sub("exec");
    let fetch_labels = Some("shop".to_owned());
    let fetch_pod = Some(PodRef {
        namespace: "shop".into(),
        name: "web-0".into(),
    });
    // (case, policies, request, labels, pod)
    type Case<'a> = (
        &'a str,
        Vec<&'a breakglass_api::DenyPolicy>,
        ResourceAttributes,
        Option<String>,
        Option<PodRef>,
    );
    let cases: Vec<Case<'_>> = vec![
        ("no policies", vec![], get.clone(), None, None),
        ("pattern only", vec![&pattern], get.clone(), None, None),
        (
            "selector only",
            vec![&selector],
            get.clone(),
            fetch_labels.clone(),
            None,
        ),
        (
            "selector, cluster-scoped",
            vec![&selector],
            res("get", "nodes"),
            None,
            None,
        ),
        (
            "mixed, pattern hits",
            vec![&mixed],
            get.clone().ns("prod"),
            None,
            None,
        ),
        (
            "mixed, pattern misses",
            vec![&mixed],
            get.clone(),
            fetch_labels.clone(),
            None,
        ),
        (
            "rule cannot match",
            vec![&delete_only],
            get.clone(),
            None,
            None,
        ),
        ("other cluster", vec![&elsewhere], get.clone(), None, None),
        (
            "session-scoped, user has s1",
            vec![&for_s1],
            get.clone(),
            fetch_labels.clone(),
            None,
        ),
        (
            "pod security, exec",
            vec![&pods],
            exec.clone(),
            None,
            fetch_pod.clone(),
        ),
        (
            "pod security, log",
            vec![&pods],
            exec.clone().sub("log"),
            None,
            None,
        ),
        (
            "pod security, get",
            vec![&pods],
            get.clone().named("web-0"),
            None,
            None,
        ),
        (
            "pod security with selector exemption",
            vec![&pods_exempt],
            exec.clone(),
            fetch_labels.clone(),
            fetch_pod.clone(),
        ),
    ];
    for (case, policies, req, labels, pod) in cases {
        let mut w = with_request(cluster_admin(), req);
        w.policies = policies.into_iter().cloned().collect();
        let needs = w.needs();
        assert_eq!(needs.namespace_labels, labels, "{case}");
        assert_eq!(needs.pod, pod, "{case}");
    }
    // Non-resource requests never need anything.
    let mut w = cluster_admin().policy(selector);
    w.request = non_resource("get", "/api");
    assert!(w.needs().is_empty());
}

// ---- §2.5 impersonation --------------------------------------------------------------

#[test]
fn impersonation_guards_at_sar_level() {
    let imp = |verb: &str, resource: &str, name: &str| {
        with_request(
            cluster_admin(),
            res(verb, resource)
                .named(name)
                .group("authentication.k8s.io"),
        )
    };
    for verb in [
        "impersonate:some-future-mode",
        "impersonate-on:some-future-mode:list",
        "impersonate:",
        "impersonate-on:user-info",
        "impersonate-on:user-info:",
        "impersonate:legacy",
        "impersonate-on:legacy:list",
    ] {
        let d = imp(verb, "users", "bob").decide();
        assert_denied(&d, "does not recognise");
        assert_eq!(d.deny_source(), "impersonation-unrecognised-verb", "{verb}");
        // Unless the cluster lets unrecognised verbs through.
        let mut lenient = imp(verb, "users", "bob");
        lenient
            .cluster
            .as_mut()
            .unwrap()
            .impersonation
            .deny_unrecognised_verbs = false;
        assert_allowed(&lenient.decide());
    }
    for verb in ["impersonate", "impersonate:user-info"] {
        let d = imp(verb, "groups", "system:masters").decide();
        assert_denied(&d, "system:masters");
        assert_eq!(d.deny_source(), "system-masters");
    }
    let d = imp("impersonate:user-info", "groups", "*").decide();
    assert_denied(&d, "wildcard");
    assert_eq!(d.deny_source(), "system-masters-wildcard");

    let mut forbidden = imp("impersonate", "users", "bob");
    forbidden
        .cluster
        .as_mut()
        .unwrap()
        .impersonation
        .legacy_fallback = LegacyImpersonationFallback::Forbidden;
    let d = forbidden.decide();
    assert_denied(&d, "legacy (unconstrained) impersonation is forbidden");
    assert_eq!(d.deny_source(), "legacy-fallback-forbidden");
    // Constrained impersonation is still fine there.
    let mut constrained = imp("impersonate:user-info", "users", "bob");
    constrained.cluster = forbidden.cluster.clone();
    assert_allowed(&constrained.decide());
    // Warn allows and says so.
    let mut warn = imp("impersonate", "users", "bob");
    warn.cluster.as_mut().unwrap().impersonation.legacy_fallback =
        LegacyImpersonationFallback::Warn;
    let d = warn.decide();
    assert_allowed(&d);
    assert_eq!(d.trace.warnings.len(), 1);
    // Every recognised spelling of an ordinary identity passes the guards.
    for verb in [
        "impersonate",
        "impersonate:user-info",
        "impersonate:serviceaccount",
        "impersonate:arbitrary-node",
        "impersonate:associated-node",
        "impersonate-on:user-info:list",
    ] {
        assert_allowed(&imp(verb, "users", "bob").decide());
    }
}

#[test]
fn impersonation_deny_policies_at_sar_level() {
    let identity = policy(
        "no-admin-impersonation",
        "{impersonationRules: [{identities: [admin], reason: 'admin is protected'}]}",
    );
    let writes = policy(
        "no-secret-writes",
        "{impersonationRules: [{actionVerbs: [create, update, patch, delete], targetResources: [secrets], targetAPIGroups: ['']}]}",
    );
    let w = |r: ResourceAttributes| {
        with_request(cluster_admin(), r)
            .policy(identity.clone())
            .policy(writes.clone())
    };

    let d = w(res("impersonate:user-info", "users")
        .named("admin")
        .group("authentication.k8s.io"))
    .decide();
    assert_denied(
        &d,
        "Impersonation denied by policy no-admin-impersonation: admin is protected",
    );
    assert_eq!(d.deny_source(), "impersonation-policy");
    assert!(matches!(
        &d.trace.stage,
        Stage::ImpersonationPolicy {
            rule: 0,
            pass: Pass::Global,
            ..
        }
    ));
    // Legacy verb also denied; other identities unaffected.
    assert_denied(
        &w(res("impersonate", "users").named("admin")).decide(),
        "no-admin-impersonation",
    );
    assert_allowed(
        &w(res("impersonate:user-info", "users")
            .named("bob")
            .group("authentication.k8s.io"))
        .decide(),
    );
    // Action verbs: writing secrets under impersonation denied, reading not, other resources not.
    assert_denied(
        &w(res("impersonate-on:user-info:create", "secrets").ns("default")).decide(),
        "no-secret-writes",
    );
    assert_allowed(&w(res("impersonate-on:user-info:get", "secrets").ns("default")).decide());
    assert_allowed(&w(res("impersonate-on:user-info:create", "configmaps").ns("default")).decide());
    // Ordinary requests are unaffected by impersonation rules.
    assert_allowed(&w(res("create", "secrets").ns("default")).decide());
    // Impersonation rules also apply per session.
    let scoped = policy(
        "s1-no-impersonation",
        "{appliesTo: {sessions: [s1]}, impersonationRules: [{}]}",
    );
    let d = with_request(cluster_admin(), res("impersonate", "users").named("bob"))
        .policy(scoped)
        .decide();
    assert_denied(&d, "s1-no-impersonation");
    assert!(matches!(
        &d.trace.stage,
        Stage::ImpersonationPolicy {
            pass: Pass::Session(_),
            ..
        }
    ));
    // A broken impersonation rule fails closed.
    let broken = policy("broken", "{impersonationRules: [{identities: ['[x']}]}");
    let d = with_request(cluster_admin(), res("impersonate", "users").named("bob"))
        .policy(broken)
        .decide();
    assert_denied(&d, "fail-closed");
    assert_eq!(d.deny_source(), "impersonation-policy-error");
}

// ---- §3.4 pod security at SAR level -------------------------------------------------

const POD_POLICY: &str = "{podSecurityRules: {riskFactors: {privilegedContainer: 100, hostNetwork: 50, hostPID: 75}, thresholds: [{maxScore: 79, action: allow}, {maxScore: 1000, action: deny}]}}";

fn exec_world(spec: &str, ns: &str) -> World {
    let p = pod(&format!(
        "{{metadata: {{name: web-0, namespace: {ns}}}, spec: {spec}}}"
    ));
    with_request(
        cluster_admin(),
        res("create", "pods").ns(ns).named("web-0").sub("exec"),
    )
    .pod(p)
}

const PRIVILEGED: &str = "{containers: [{name: app, securityContext: {privileged: true}}]}";
const SAFE: &str = "{containers: [{name: app}]}";

#[test]
fn pod_security_scenarios() {
    let psr = |name: &str, rules: &str| policy(name, &format!("{{podSecurityRules: {rules}}}"));
    let base = "{riskFactors: {privilegedContainer: 100, hostNetwork: 50, hostPID: 75}, thresholds: [{maxScore: 79, action: allow}, {maxScore: 1000, action: deny}]";
    let with = |extra: &str| format!("{base}{extra}}}");

    let d = exec_world(PRIVILEGED, "default")
        .policy(policy("privileged-exec", POD_POLICY))
        .decide();
    assert_denied(&d, "Denied by policy privileged-exec");
    assert_eq!(d.deny_source(), "session");
    assert!(
        matches!(
            &d.trace.stage,
            Stage::PodSecurity {
                score: Some(100),
                ..
            }
        ),
        "{:?}",
        d.trace.stage
    );
    assert_eq!(d.trace.pod_security.len(), 1);
    assert_eq!(d.trace.pod_security[0].action, "deny");

    assert_allowed(
        &exec_world(SAFE, "default")
            .policy(policy("privileged-exec", POD_POLICY))
            .decide(),
    );

    let d = exec_world("{hostNetwork: true, containers: [{name: a}]}", "default")
        .policy(psr("block", "{riskFactors: {hostNetwork: 50}, thresholds: [{maxScore: 1000, action: allow}], blockFactors: [hostNetwork]}"))
        .decide();
    assert_denied(&d, "blocked security factor detected");

    assert_allowed(
        &exec_world(PRIVILEGED, "kube-system")
            .policy(psr(
                "exempt",
                &with(", exemptions: {namespaces: {patterns: [kube-system]}}"),
            ))
            .decide(),
    );

    // failMode when the pod cannot be fetched.
    let mut closed = exec_world(PRIVILEGED, "default").policy(policy("closed", POD_POLICY));
    closed.pod_unavailable = true;
    assert_denied(&closed.decide(), "(fail-closed)");
    let mut open = exec_world(PRIVILEGED, "default").policy(psr("open", &with(", failMode: open")));
    open.pod_unavailable = true;
    assert_allowed(&open.decide());

    // attach is evaluated; portforward to a hostPID pod with a block factor denied.
    let mut attach = exec_world(PRIVILEGED, "default").policy(policy("p", POD_POLICY));
    attach.request = request(
        res("create", "pods")
            .ns("default")
            .named("web-0")
            .sub("attach"),
    );
    assert_denied(&attach.decide(), "Denied by policy p");
    let mut pf = exec_world("{hostPID: true, containers: [{name: a}]}", "default").policy(psr(
        "no-host-pid",
        "{thresholds: [{maxScore: 1000, action: allow}], blockFactors: [hostPID]}",
    ));
    pf.request = request(
        res("create", "pods")
            .ns("default")
            .named("web-0")
            .sub("portforward"),
    );
    assert_denied(&pf.decide(), "blocked security factor detected");

    // Scope exec only: exec denied, attach allowed.
    let exec_only = psr("exec-only", &with(", appliesTo: {subresources: [exec]}"));
    assert_denied(
        &exec_world(PRIVILEGED, "default")
            .policy(exec_only.clone())
            .decide(),
        "exec-only",
    );
    let mut attach = exec_world(PRIVILEGED, "default").policy(exec_only);
    attach.request = request(
        res("create", "pods")
            .ns("default")
            .named("web-0")
            .sub("attach"),
    );
    assert_allowed(&attach.decide());

    // Exempt label.
    let labelled = pod(
        "{metadata: {name: web-0, namespace: default, labels: {breakglass/exempt: 'true'}}, spec: {containers: [{name: app, securityContext: {privileged: true}}]}}",
    );
    let mut w = exec_world(PRIVILEGED, "default").policy(psr(
        "labels",
        &with(", exemptions: {podLabels: {breakglass/exempt: 'true'}}"),
    ));
    w.pod = Some(labelled);
    assert_allowed(&w.decide());

    // The use-case policy: a templated reason reaches the user.
    let usecase = policy(
        "restrict-privileged-exec",
        "{podSecurityRules: {riskFactors: {privilegedContainer: 100, hostNetwork: 50, hostPID: 75}, thresholds: [{maxScore: 49, action: allow}, {maxScore: 100, action: deny, reason: 'Exec into privileged pods requires SRE escalation'}], exemptions: {namespaces: {patterns: [kube-system]}}}}",
    );
    let d = exec_world(PRIVILEGED, "default").policy(usecase).decide();
    assert_eq!(
        d.reason,
        "Denied by policy restrict-privileged-exec: Exec into privileged pods requires SRE escalation; No breakglass flow available for your user"
    );
}

#[test]
fn warn_threshold_allows_with_a_warning() {
    let p = policy(
        "cumulative",
        "{podSecurityRules: {riskFactors: {hostNetwork: 30, hostPID: 30, runAsRoot: 30}, thresholds: [{maxScore: 59, action: allow}, {maxScore: 89, action: warn}, {maxScore: 1000, action: deny}]}}",
    );
    let one = exec_world("{hostNetwork: true, containers: [{name: a}]}", "default")
        .policy(p.clone())
        .decide();
    assert_allowed(&one);
    assert!(one.trace.warnings.is_empty());
    let two = exec_world(
        "{hostNetwork: true, hostPID: true, containers: [{name: a}]}",
        "default",
    )
    .policy(p.clone())
    .decide();
    assert_allowed(&two);
    assert_eq!(two.trace.warnings.len(), 1, "{:?}", two.trace.warnings);
    assert!(
        two.trace.warnings[0].contains("risk score 60"),
        "{:?}",
        two.trace.warnings
    );
    assert_eq!(two.trace.pod_security[0].action, "warn");
    assert!(!two.trace.pod_security[0].overridden);
    let three = exec_world("{hostNetwork: true, hostPID: true, containers: [{name: a, securityContext: {runAsUser: 0}}]}", "default")
        .policy(p)
        .decide();
    assert_denied(&three, "Denied by policy cumulative");
}

#[test]
fn escalation_override_applies_to_its_own_session_only() {
    let sre = overrides("{enabled: true, maxAllowedScore: 200}");
    let w = |sessions: Vec<(&str, &str, bool)>| {
        let mut w = exec_world(PRIVILEGED, "default").policy(policy("privileged-exec", POD_POLICY));
        w.sessions.clear();
        for (name, group, with_override) in sessions {
            let s = approved(name, group);
            w = if with_override {
                w.session_with(s, sre.clone())
            } else {
                w.session(s)
            };
        }
        w
    };
    // The override's maxAllowedScore 200 covers the privileged pod's 100.
    let d = w(vec![("s1", "sre", true)]).decide();
    assert_allowed(&d);
    assert_eq!(d.trace.pod_security[0].action, "allow");
    assert!(d.trace.pod_security[0].overridden);
    // Without it, denied.
    assert_denied(
        &w(vec![("s1", "sre", false)]).decide(),
        "Denied by policy privileged-exec",
    );
    // Two sessions: the override of s1's escalation is not lent to s2, whose pass
    // denies — and a deny in any session's pass denies the request.
    let both = w(vec![("s1", "viewer", true), ("s2", "pod-exec", false)]);
    let d = both.decide();
    assert_denied(&d, "Denied by policy privileged-exec");
    assert!(
        matches!(&d.trace.stage, Stage::PodSecurity { pass: Pass::Session(s), .. } if s == "s2"),
        "{:?}",
        d.trace.stage
    );
}

#[test]
fn deny_source_and_stage_labels() {
    let cases = [
        (Stage::ClusterMissing, "cluster-missing", "cluster-missing"),
        (
            Stage::DebugSession {
                session: "d".into(),
                role: "owner".into(),
                operation: "exec".into(),
            },
            "debug-session",
            "debug-session",
        ),
        (
            Stage::ImpersonationGuard(impersonation::GuardDenial::SystemMasters),
            "impersonation",
            "system-masters",
        ),
        (
            Stage::ImpersonationGuard(impersonation::GuardDenial::LegacyForbidden),
            "impersonation",
            "legacy-fallback-forbidden",
        ),
        (Stage::Rbac { group_count: 1 }, "rbac", "rbac"),
        (
            Stage::NoSession {
                pending: 0,
                scheduled: 0,
                idp_mismatch: 0,
            },
            "no-session",
            "final",
        ),
        (
            Stage::Final {
                candidates: 1,
                failed_checks: 0,
            },
            "final",
            "final",
        ),
        (
            Stage::PolicyError {
                policy: "p".into(),
                pass: Pass::Global,
                impersonation: false,
                error: EvalError::PodNotFetched {
                    namespace: "n".into(),
                    name: "p".into(),
                },
            },
            "policy-error",
            "policy-error",
        ),
    ];
    for (stage, name, source) in cases {
        assert_eq!(stage.name(), name, "{stage:?}");
        assert_eq!(stage.source_label(), source, "{stage:?}");
    }
}

#[test]
fn bad_glob_in_a_policy_denies_fail_closed() {
    let broken = policy(
        "broken",
        "{rules: [{verbs: [get], apiGroups: [''], resources: [secrets], resourceNames: ['[oops']}]}",
    );
    let d = with_request(
        cluster_admin(),
        res("get", "secrets").ns("default").named("x"),
    )
    .policy(broken.clone())
    .decide();
    assert_denied(
        &d,
        "DenyPolicy evaluation failed; request denied fail-closed (policy broken: rules[0].resourceNames",
    );
    assert!(d.reason.contains("ask the policy owner"), "{}", d.reason);
    // Unreached, the broken rule does not matter.
    assert_allowed(
        &with_request(
            cluster_admin(),
            res("get", "configmaps").ns("default").named("x"),
        )
        .policy(broken)
        .decide(),
    );
}
