//! `ClusterPolicies`: the policies it hands a request decide exactly as all of them do.

use std::sync::Arc;

use breakglass_api::DenyPolicy;
use breakglass_api::breakglass_session::BreakglassSessionState;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use super::fixtures::*;
use super::world::*;
use crate::authz::policy_index::ClusterPolicies;
use crate::authz::*;

/// Policies for every index path: scopes (cluster, tenant, session, `*`), precedence
/// ties, wildcard and literal verbs and resources, subresources, name and namespace
/// patterns (malformed ones too), selector terms, impersonation and pod-security rules.
const POLICIES: &[&str] = &[
    "{rules: [{verbs: [delete], apiGroups: [''], resources: [pods]}]}",
    "{precedence: 10, rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: ['db*']}]}",
    "{precedence: 10, rules: [{verbs: [get, list], apiGroups: ['', apps], resources: [secrets, deployments], resourceNames: [web-0, 'db-?ain']}]}",
    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [prod]}}]}",
    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: ['kube-*', 'pr[o]d']}}]}",
    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: ['[bad']}}]}",
    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {env: prod}}]}}]}",
    "{rules: [{verbs: [get], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [kube-system], selectorTerms: [{matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}]}}]}",
    "{appliesTo: {sessions: [s1]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: [configmaps, pods]}]}",
    "{appliesTo: {sessions: ['*']}, precedence: 5, rules: [{verbs: [create], apiGroups: [''], resources: [pods], subresources: [exec]}]}",
    "{appliesTo: {clusters: [other]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
    "{appliesTo: {clusters: [prod-eu, other]}, precedence: 5, rules: [{verbs: ['*'], apiGroups: [''], resources: [pods], subresources: ['*']}]}",
    "{appliesTo: {tenants: [tenant-a]}, rules: [{verbs: [list], apiGroups: [apps], resources: ['*']}]}",
    "{appliesTo: {tenants: ['*'], clusters: ['*']}, precedence: 10, rules: [{verbs: [get], apiGroups: [''], resources: [pods], subresources: [log]}]}",
    "{appliesTo: {tenants: [tenant-b]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
    "{rules: [{verbs: [get], apiGroups: [''], resources: [secrets], resourceNames: ['[broken']}]}",
    "{rules: [{verbs: ['*'], apiGroups: [''], resources: [users, groups], resourceNames: ['adm*', '[x']}]}",
    "{rules: [{verbs: [], apiGroups: ['*'], resources: ['*']}, {verbs: ['*'], apiGroups: [], resources: ['*']}]}",
    "{impersonationRules: [{identities: [admin]}]}",
    "{appliesTo: {sessions: [s2]}, impersonationRules: [{}]}",
    "{podSecurityRules: {riskFactors: {privilegedContainer: 100, hostNetwork: 30}, thresholds: [{maxScore: 40, action: allow}, {maxScore: 90, action: warn}, {maxScore: 1000, action: deny}]}}",
    "{precedence: 10, podSecurityRules: {failMode: open, blockFactors: [hostPID], thresholds: [{maxScore: 1000, action: allow}], exemptions: {namespaces: {selectorTerms: [{matchLabels: {env: dev}}]}}}}",
    "{podSecurityRules: {appliesTo: {subresources: [attach]}, thresholds: []}}",
    "{podSecurityRules: {thresholds: [{maxScore: 1000, action: warn}]}, rules: [{verbs: [delete], apiGroups: ['*'], resources: [pods]}]}",
    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: [secrets, deployments], resourceNames: ['[bad'], namespaces: {patterns: [kube-system]}}]}",
];

const PODS: &[&str] = &[
    "{containers: [{name: app}]}",
    "{hostNetwork: true, containers: [{name: app}]}",
    "{hostPID: true, containers: [{name: app, securityContext: {privileged: true}}]}",
];

fn request_strategy() -> impl Strategy<Value = ResourceAttributes> {
    (
        select(vec![
            "get",
            "list",
            "delete",
            "create",
            "*",
            "impersonate",
            "impersonate:user-info",
            "impersonate-on:user-info:get",
            "impersonate:bogus",
        ]),
        select(vec![
            "pods",
            "secrets",
            "configmaps",
            "users",
            "groups",
            "deployments",
            "*",
        ]),
        // `batch` and `status` are named by no rule: only wildcards match them.
        select(vec!["", "apps", "batch"]),
        select(vec!["", "exec", "attach", "log", "status"]),
        select(vec!["", "default", "prod", "kube-system"]),
        select(vec!["", "web-0", "db-main", "admin", "*"]),
    )
        .prop_map(
            |(verb, resource, group, sub, ns, name)| ResourceAttributes {
                verb: verb.into(),
                group: group.into(),
                resource: resource.into(),
                subresource: sub.into(),
                namespace: ns.into(),
                name: name.into(),
                ..ResourceAttributes::default()
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    request: ResourceAttributes,
    sessions: Vec<BreakglassSessionState>,
    policies: Vec<usize>,
    tenant: Option<&'static str>,
    labels: Option<Option<&'static str>>,
    pod: Option<usize>,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    use BreakglassSessionState::*;
    (
        request_strategy(),
        proptest::collection::vec(select(vec![Approved, Approved, Pending]), 0..3),
        subsequence((0..POLICIES.len()).collect::<Vec<_>>(), 0..=POLICIES.len()),
        proptest::option::of(select(vec!["tenant-a", "tenant-b"])),
        proptest::option::of(proptest::option::of(select(vec!["prod", "dev"]))),
        proptest::option::of(0..PODS.len()),
    )
        .prop_map(|(request, sessions, policies, tenant, labels, pod)| Case {
            request,
            sessions,
            policies,
            tenant,
            labels,
            pod,
        })
}

fn world(case: &Case, policies: Vec<DenyPolicy>) -> World {
    let mut w = World::new(request(case.request.clone()));
    if let Some(c) = w.cluster.as_mut() {
        c.tenant = case.tenant.map(str::to_owned);
    }
    for (i, state) in case.sessions.iter().enumerate() {
        w = w.session_with(
            session_in(
                &format!("s{}", i + 1),
                USER,
                CLUSTER,
                "admins",
                *state,
                3600,
            ),
            overrides("{enabled: true, maxAllowedScore: 150, namespaceScope: {patterns: [prod]}}"),
        );
    }
    w.policies = policies;
    match case.labels {
        Some(Some(env)) => w = w.labels(&[("env", env)]),
        Some(None) => w.labels_unavailable = true,
        None => {}
    }
    match case.pod {
        Some(i) => {
            let ns = if case.request.namespace.is_empty() {
                "default"
            } else {
                case.request.namespace.as_str()
            };
            let name = if case.request.name.is_empty() {
                "web-0"
            } else {
                case.request.name.as_str()
            };
            w = w.pod(pod(&format!(
                "{{metadata: {{name: '{name}', namespace: {ns}}}, spec: {}}}",
                PODS[i]
            )));
        }
        None => w.pod_unavailable = true,
    }
    w
}

fn all_policies(case: &Case) -> Vec<DenyPolicy> {
    case.policies
        .iter()
        .map(|&p| policy(&format!("p{p}"), POLICIES[p]))
        .collect()
}

fn relevant(case: &Case) -> (Vec<DenyPolicy>, usize) {
    let prepared = ClusterPolicies::new(
        all_policies(case).into_iter().map(Arc::new),
        CLUSTER,
        case.tenant,
    );
    let kept = prepared
        .relevant(&case.request)
        .into_iter()
        .cloned()
        .collect();
    (kept, prepared.len())
}

fn allow_admins(c: &Candidate) -> ProbeOutcome {
    ProbeOutcome::Allowed {
        group: c.spellings[0].clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The relevant policies decide every request exactly as all policies do: the
    /// same decision (reason and trace included) and the same data fetched.
    #[test]
    fn relevant_policies_decide_like_all(case in case_strategy()) {
        let everything = world(&case, all_policies(&case));
        let (kept, _) = relevant(&case);
        let indexed = world(&case, kept);
        prop_assert_eq!(indexed.needs(), everything.needs());
        prop_assert_eq!(indexed.decide_with(&allow_admins), everything.decide_with(&allow_admins));
    }
}

/// The index leaves out what cannot matter: other clusters and tenants, other
/// resources and verbs, namespaces no pattern matches; and keeps what can fail.
#[test]
fn leaves_out_what_cannot_matter() {
    let names = |case: &Case| -> Vec<String> {
        relevant(case)
            .0
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect()
    };
    let case = |verb: &str, resource: &str, ns: &str, policies: &[usize]| Case {
        request: res(verb, resource).ns(ns),
        sessions: vec![],
        policies: policies.to_vec(),
        tenant: Some("tenant-a"),
        labels: None,
        pod: None,
    };
    // Another cluster, another tenant: never prepared.
    let c = case("get", "pods", "", &[10, 14]);
    assert_eq!(relevant(&c).1, 0);
    // A rule for another verb or resource.
    assert!(names(&case("get", "pods", "", &[0])).is_empty());
    assert_eq!(names(&case("delete", "pods", "", &[0])), ["p0"]);
    assert!(names(&case("delete", "secrets", "", &[0])).is_empty());
    // Namespace patterns that cannot match; a malformed one is kept (it fails closed).
    assert!(names(&case("get", "pods", "dev", &[3, 4])).is_empty());
    assert_eq!(names(&case("get", "pods", "kube-public", &[3, 4])), ["p4"]);
    assert_eq!(names(&case("get", "pods", "dev", &[5])), ["p5"]);
    // Selector terms decide by labels: kept for a namespaced request only.
    assert_eq!(names(&case("get", "pods", "dev", &[6])), ["p6"]);
    assert!(names(&case("get", "nodes", "", &[6])).is_empty());
    // Names: kept when a pattern matches, or when one is malformed.
    let named = |name: &str, policies: &[usize]| Case {
        request: res("get", "secrets").named(name),
        ..case("get", "secrets", "", policies)
    };
    assert!(names(&named("web-0", &[1])).is_empty());
    assert_eq!(names(&named("db-main", &[1])), ["p1"]);
    assert_eq!(names(&named("web-0", &[15])), ["p15"]);
    // A malformed name pattern fails whatever the namespace (regression: it was left
    // out when its namespace patterns missed).
    assert_eq!(names(&named("web-0", &[24])), ["p24"]);
    // Empty verb or group lists never match.
    assert!(names(&case("get", "pods", "", &[17])).is_empty());
    // In evaluation order: precedence, then the given order.
    assert_eq!(
        names(&case("delete", "pods", "prod", &[11, 0, 3, 8])),
        ["p11", "p0", "p3", "p8"]
    );
}
