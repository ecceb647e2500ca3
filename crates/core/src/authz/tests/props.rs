//! Properties of the pipeline over generated worlds.

use std::collections::BTreeSet;

use breakglass_api::breakglass_session::BreakglassSessionState;
use breakglass_api::deny_policy::RiskFactors;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use super::fixtures::*;
use super::world::*;
use crate::authz::pod_security::assess;
use crate::authz::*;

/// DenyPolicy specs covering every rule kind, scope and fail path.
const POLICIES: &[&str] = &[
    "{rules: [{verbs: [delete], apiGroups: [''], resources: [pods]}]}",
    "{precedence: 10, rules: [{verbs: ['*'], apiGroups: [''], resources: [secrets], resourceNames: ['db*']}]}",
    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [prod]}}]}",
    "{rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: {selectorTerms: [{matchLabels: {env: prod}}]}}]}",
    "{rules: [{verbs: [get], apiGroups: ['*'], resources: ['*'], namespaces: {patterns: [kube-system], selectorTerms: [{matchExpressions: [{key: env, operator: NotIn, values: [dev]}]}]}}]}",
    "{appliesTo: {sessions: [s1]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: [configmaps]}]}",
    "{appliesTo: {clusters: [other]}, rules: [{verbs: ['*'], apiGroups: ['*'], resources: ['*']}]}",
    "{appliesTo: {tenants: [tenant-a]}, rules: [{verbs: [list], apiGroups: [apps], resources: ['*']}]}",
    "{rules: [{verbs: [get], apiGroups: [''], resources: [secrets], resourceNames: ['[broken']}]}",
    "{impersonationRules: [{identities: [admin]}]}",
    "{appliesTo: {sessions: [s2]}, impersonationRules: [{}]}",
    "{podSecurityRules: {riskFactors: {privilegedContainer: 100, hostNetwork: 30}, thresholds: [{maxScore: 40, action: allow}, {maxScore: 90, action: warn}, {maxScore: 1000, action: deny}]}}",
    "{podSecurityRules: {failMode: open, blockFactors: [hostPID], thresholds: [{maxScore: 1000, action: allow}], exemptions: {namespaces: {selectorTerms: [{matchLabels: {env: dev}}]}}}}",
    "{podSecurityRules: {appliesTo: {subresources: [attach]}, thresholds: []}}",
];

const PODS: &[&str] = &[
    "{containers: [{name: app}]}",
    "{hostNetwork: true, containers: [{name: app}]}",
    "{hostPID: true, containers: [{name: app, securityContext: {privileged: true}}]}",
    "{containers: [{name: app, securityContext: {runAsUser: 0, capabilities: {add: [NET_ADMIN]}}}]}",
];

#[derive(Debug, Clone)]
struct Spec {
    request: ResourceAttributes,
    non_resource: bool,
    sessions: Vec<(usize, BreakglassSessionState, bool)>,
    policies: Vec<usize>,
    labels: Option<Option<&'static str>>,
    pod: Option<usize>,
    allowed_groups: BTreeSet<&'static str>,
}

const GROUPS: [&str; 3] = ["cluster-admin", "viewers", "pod-exec"];

fn request_strategy() -> impl Strategy<Value = ResourceAttributes> {
    (
        select(vec![
            "get",
            "list",
            "delete",
            "create",
            "impersonate",
            "impersonate:user-info",
            "impersonate:bogus",
        ]),
        select(vec![
            "pods",
            "secrets",
            "configmaps",
            "users",
            "deployments",
        ]),
        select(vec!["", "apps"]),
        select(vec!["", "exec", "attach", "log"]),
        select(vec!["", "default", "prod", "kube-system"]),
        select(vec!["", "web-0", "db-main", "admin"]),
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

fn spec_strategy() -> impl Strategy<Value = Spec> {
    use BreakglassSessionState::*;
    (
        request_strategy(),
        any::<bool>(),
        proptest::collection::vec(
            (
                0..GROUPS.len(),
                select(vec![Approved, Approved, Pending, Expired]),
                any::<bool>(),
            ),
            0..3,
        ),
        subsequence((0..POLICIES.len()).collect::<Vec<_>>(), 0..5),
        proptest::option::of(proptest::option::of(select(vec!["prod", "dev"]))),
        proptest::option::of(0..PODS.len()),
        subsequence(GROUPS.to_vec(), 0..=GROUPS.len()),
    )
        .prop_map(
            |(request, nr, sessions, policies, labels, pod, groups)| Spec {
                request,
                non_resource: nr && sessions.is_empty(),
                sessions,
                policies,
                labels,
                pod,
                allowed_groups: groups.into_iter().collect(),
            },
        )
}

fn build(spec: &Spec, extra_policy: Option<usize>) -> World {
    let mut w = World::new(if spec.non_resource {
        non_resource("get", "/healthz")
    } else {
        request(spec.request.clone())
    });
    for (i, (g, state, with_override)) in spec.sessions.iter().enumerate() {
        let s = session_in(
            &format!("s{}", i + 1),
            USER,
            CLUSTER,
            GROUPS[*g],
            *state,
            3600,
        );
        w = if *with_override {
            w.session_with(
                s,
                overrides("{enabled: true, maxAllowedScore: 150, exemptFactors: [hostPID]}"),
            )
        } else {
            w.session(s)
        };
    }
    for (n, p) in spec.policies.iter().chain(extra_policy.iter()).enumerate() {
        w = w.policy(policy(&format!("p{n}-{p}"), POLICIES[*p]));
    }
    match spec.labels {
        Some(Some(env)) => w = w.labels(&[("env", env)]),
        Some(None) => w.labels_unavailable = true,
        None => {}
    }
    match spec.pod {
        Some(i) => {
            let ns = if spec.request.namespace.is_empty() {
                "default"
            } else {
                spec.request.namespace.as_str()
            };
            let name = if spec.request.name.is_empty() {
                "web-0"
            } else {
                spec.request.name.as_str()
            };
            w = w.pod(pod(&format!(
                "{{metadata: {{name: {name}, namespace: {ns}}}, spec: {}}}",
                PODS[i]
            )));
        }
        None => w.pod_unavailable = true,
    }
    w
}

fn run(w: &World, allowed: &BTreeSet<&'static str>) -> Decision {
    w.decide_with(&|c| {
        if allowed.contains(c.group.as_str()) {
            ProbeOutcome::Allowed {
                group: c.spellings[0].clone(),
            }
        } else {
            ProbeOutcome::NotAllowed
        }
    })
}

fn is_policy_stage(s: &Stage) -> bool {
    matches!(
        s,
        Stage::DenyPolicy { .. }
            | Stage::PodSecurity { .. }
            | Stage::PolicyError { .. }
            | Stage::ImpersonationPolicy { .. }
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Without policies nothing is ever denied by a policy.
    #[test]
    fn no_policy_never_denies_by_policy(spec in spec_strategy()) {
        let spec = Spec { policies: vec![], ..spec };
        let w = build(&spec, None);
        let d = run(&w, &spec.allowed_groups);
        prop_assert!(!is_policy_stage(&d.trace.stage), "{:?}", d.trace.stage);
        prop_assert!(d.trace.system_group_sessions.is_empty());
    }

    /// Adding a policy never turns a deny into an allow.
    #[test]
    fn adding_a_policy_never_allows_more(spec in spec_strategy(), extra in 0..POLICIES.len()) {
        let before = run(&build(&spec, None), &spec.allowed_groups);
        let after = run(&build(&spec, Some(extra)), &spec.allowed_groups);
        prop_assert!(before.allowed || !after.allowed, "before {before:#?}\nafter {after:#?}");
    }

    /// What `data_needs` leaves out is never read: the precheck is the same whatever
    /// the unfetched data would have been.
    #[test]
    fn unfetched_data_is_never_read(spec in spec_strategy(), alt_env in select(vec!["prod", "dev"]), alt_pod in 0..PODS.len()) {
        let w = build(&spec, None);
        let needs = w.needs();
        let labels = match (&w.labels, w.labels_unavailable) {
            (Some(l), false) => NamespaceLabels::Known(l),
            _ => NamespaceLabels::Unavailable,
        };
        let pod_info = match (&w.pod, w.pod_unavailable) {
            (Some(p), false) => PodInfo::Known(p),
            _ => PodInfo::Unavailable,
        };
        let base_labels = if needs.namespace_labels.is_some() { labels } else { NamespaceLabels::NotFetched };
        let base_pod = if needs.pod.is_some() { pod_info } else { PodInfo::NotFetched };
        let base = w.with_input(base_labels, base_pod, |i| precheck(i, &w.config));
        let alt_map: std::collections::BTreeMap<String, String> = [("env".to_owned(), alt_env.to_owned())].into();
        let alt = pod(&format!(
            "{{metadata: {{name: {}, namespace: {}}}, spec: {}}}",
            if spec.request.name.is_empty() { "web-0" } else { &spec.request.name },
            if spec.request.namespace.is_empty() { "default" } else { &spec.request.namespace },
            PODS[alt_pod]
        ));
        if needs.namespace_labels.is_none() {
            for l in [NamespaceLabels::Known(&alt_map), NamespaceLabels::Unavailable] {
                prop_assert_eq!(&w.with_input(l, base_pod, |i| precheck(i, &w.config)), &base);
            }
        }
        if needs.pod.is_none() {
            for p in [PodInfo::Known(&alt), PodInfo::Unavailable] {
                prop_assert_eq!(&w.with_input(base_labels, p, |i| precheck(i, &w.config)), &base);
            }
        }
    }

    /// The order the server lists sessions in does not matter.
    #[test]
    fn session_order_does_not_matter(spec in spec_strategy()) {
        let w = build(&spec, None);
        let mut reversed = build(&spec, None);
        reversed.sessions.reverse();
        prop_assert_eq!(run(&w, &spec.allowed_groups), run(&reversed, &spec.allowed_groups));
    }

    /// An allow always names its source, and a deny never claims one.
    #[test]
    fn allow_sources(spec in spec_strategy()) {
        let d = run(&build(&spec, None), &spec.allowed_groups);
        let source = d.deny_source();
        if d.allowed {
            prop_assert!(["rbac", "session", "debug-session"].contains(&source), "{source}");
            prop_assert!(d.reason.starts_with("Allowed by"), "{}", d.reason);
        } else {
            prop_assert!(!d.reason.starts_with("Allowed"), "{}", d.reason);
            let claims = matches!(d.trace.stage, Stage::Session { .. } | Stage::Rbac { .. } | Stage::DebugSession { .. });
            prop_assert!(!claims, "{:?}", d.trace.stage);
        }
    }

    /// More risk factors never lower the score, whatever the weights.
    #[test]
    fn score_is_monotone_in_factors(
        features in proptest::collection::vec(any::<bool>(), 8),
        extra in 0..8usize,
        weights in proptest::collection::vec(-50i32..200, 9),
    ) {
        let w = RiskFactors {
            host_network: Some(weights[0]),
            host_pid: Some(weights[1]),
            host_ipc: Some(weights[2]),
            privileged_container: Some(weights[3]),
            host_path_writable: Some(weights[4]),
            host_path_read_only: Some(weights[5]),
            run_as_root: Some(weights[6]),
            capabilities: Some([("NET_ADMIN".to_owned(), weights[7]), ("SYS_ADMIN".to_owned(), weights[8])].into()),
        };
        let mut more = features.clone();
        more[extra] = true;
        let a = assess(&pod_with(&features), Some(&w));
        let b = assess(&pod_with(&more), Some(&w));
        prop_assert!(a.score <= b.score, "{a:?} vs {b:?}");
        prop_assert!(a.score >= 0);
        prop_assert!(a.factors.iter().all(|f| b.factors.contains(f)));
    }

    /// Spellings always contain the stored group exactly once, only ever *add* a
    /// configured prefix to it (never strip one), and never repeat.
    #[test]
    fn spellings_are_complete(group in "[a-z]{1,6}", prefixed in any::<bool>(), seen in proptest::option::of(select(vec!["oidc:", "keycloak:"]))) {
        let prefixes = ["oidc:", "keycloak:"];
        let stored = if prefixed { format!("oidc:{group}") } else { group.clone() };
        let sar_groups: Vec<String> = seen.iter().map(|p| format!("{p}x")).collect();
        let s = oidc::group_spellings(&stored, &sar_groups, &prefixes);
        prop_assert_eq!(s.len(), 3);
        prop_assert!(s.contains(&stored));
        prop_assert!(s.iter().all(|x| x == &stored || prefixes.iter().any(|p| *x == format!("{p}{stored}"))), "{:?}", s);
        let unique: BTreeSet<&String> = s.iter().collect();
        prop_assert_eq!(unique.len(), s.len());
        if let Some(p) = seen {
            prop_assert_eq!(&s[0], &format!("{p}{stored}"));
        } else {
            prop_assert_eq!(&s[0], &stored);
        }
    }

    /// No spelling of any stored group is ever a `system:` group, whatever the
    /// prefixes (even a prefix that is itself `system:`).
    #[test]
    fn spellings_never_reach_system_groups(group in "(oidc:|OIDC:|)(system:|SyStEm:|)[a-z:]{0,8}", prefix in "(oidc:|system:|sys|)") {
        let prefixes = [prefix.as_str(), "keycloak:"];
        for s in oidc::group_spellings(&group, &["oidc:x", "system:authenticated"], &prefixes) {
            prop_assert!(!s.to_ascii_lowercase().starts_with("system:"), "{group} -> {s}");
            prop_assert!(!oidc::could_be_system_group(&s));
        }
    }
}

/// A pod with a subset of: hostNetwork, hostPID, hostIPC, privileged, runAsRoot,
/// NET_ADMIN, writable hostPath, read-only hostPath.
fn pod_with(f: &[bool]) -> k8s_openapi::api::core::v1::Pod {
    let flag = |i: usize| f.get(i).copied().unwrap_or(false);
    let mut caps = vec![];
    if flag(5) {
        caps.push("NET_ADMIN");
    }
    let mut mounts = vec![];
    let mut volumes = vec![];
    if flag(6) {
        mounts.push("{name: rw, mountPath: /rw}");
        volumes.push("{name: rw, hostPath: {path: /rw}}");
    }
    if flag(7) {
        mounts.push("{name: ro, mountPath: /ro, readOnly: true}");
        volumes.push("{name: ro, hostPath: {path: /ro}}");
    }
    pod(&format!(
        "{{metadata: {{name: p}}, spec: {{hostNetwork: {}, hostPID: {}, hostIPC: {}, containers: [{{name: c, volumeMounts: [{}], securityContext: {{privileged: {}, runAsUser: {}, capabilities: {{add: [{}]}}}}}}], volumes: [{}]}}}}",
        flag(0),
        flag(1),
        flag(2),
        mounts.join(", "),
        flag(3),
        if flag(4) { 0 } else { 1000 },
        caps.join(", "),
        volumes.join(", "),
    ))
}
