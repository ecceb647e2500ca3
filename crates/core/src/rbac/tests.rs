#![allow(clippy::unwrap_used)]

use super::*;

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
    let list = |l: &[&str]| (!l.is_empty()).then(|| l.iter().map(|s| (*s).to_owned()).collect());
    PolicyRule {
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        api_groups: list(groups),
        resources: list(resources),
        resource_names: list(names),
        non_resource_urls: None,
    }
}

fn urls(verbs: &[&str], urls: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        non_resource_urls: Some(urls.iter().map(|s| (*s).to_owned()).collect()),
        ..PolicyRule::default()
    }
}

fn res<'a>(
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    sub: &'a str,
    ns: &'a str,
    name: &'a str,
) -> Request<'a> {
    Request::Resource {
        verb,
        group,
        resource,
        subresource: sub,
        namespace: ns,
        name,
    }
}

fn one(r: PolicyRule) -> Rule {
    Rule::from(&r)
}

#[test]
fn verbs_groups_and_resources_match_literally_or_by_star() {
    let r = one(rule(&["get", "list"], &["apps"], &["deployments"], &[]));
    assert!(r.allows(&res("get", "apps", "deployments", "", "a", "x")));
    assert!(r.allows(&res("list", "apps", "deployments", "", "", "")));
    assert!(!r.allows(&res("delete", "apps", "deployments", "", "a", "x")));
    assert!(
        !r.allows(&res("get", "", "deployments", "", "a", "x")),
        "core group is not apps"
    );
    assert!(!r.allows(&res("get", "apps", "statefulsets", "", "a", "x")));
    // Case matters, as in the apiserver.
    assert!(!r.allows(&res("GET", "apps", "deployments", "", "a", "x")));
    // A requested `*` is a literal, not a wildcard.
    assert!(!r.allows(&res("*", "apps", "deployments", "", "a", "x")));
    let star = one(rule(&["*"], &["*"], &["*"], &[]));
    assert!(star.allows(&res(
        "escalate",
        "rbac.authorization.k8s.io",
        "roles",
        "",
        "",
        ""
    )));
    assert!(
        star.allows(&res("create", "", "pods", "exec", "a", "p")),
        "* covers subresources"
    );
    let core = one(rule(&["get"], &[""], &["pods"], &[]));
    assert!(core.allows(&res("get", "", "pods", "", "a", "p")));
    assert!(!core.allows(&res("get", "apps", "pods", "", "a", "p")));
}

#[test]
fn subresources_need_their_combined_name_or_star_slash() {
    let pods = one(rule(&["create", "get"], &[""], &["pods"], &[]));
    assert!(
        !pods.allows(&res("create", "", "pods", "exec", "a", "p")),
        "pods does not cover pods/exec"
    );
    let exec = one(rule(&["create"], &[""], &["pods/exec"], &[]));
    assert!(exec.allows(&res("create", "", "pods", "exec", "a", "p")));
    assert!(
        !exec.allows(&res("create", "", "pods", "", "a", "p")),
        "pods/exec does not cover pods"
    );
    assert!(!exec.allows(&res("create", "", "pods", "attach", "a", "p")));
    assert!(
        !exec.allows(&res("create", "", "pod", "s/exec", "a", "p")),
        "no string splicing"
    );
    let any_exec = one(rule(&["create"], &[""], &["*/exec"], &[]));
    assert!(any_exec.allows(&res("create", "", "pods", "exec", "a", "p")));
    assert!(any_exec.allows(&res("create", "", "nodes", "exec", "", "n")));
    assert!(!any_exec.allows(&res("create", "", "pods", "", "a", "p")));
    assert!(!any_exec.allows(&res("create", "", "pods", "execute", "a", "p")));
    let pods_star = one(rule(&["get"], &[""], &["pods/*"], &[]));
    assert!(
        !pods_star.allows(&res("get", "", "pods", "log", "a", "p")),
        "pods/* is a literal"
    );
}

#[test]
fn resource_names_restrict_to_named_objects() {
    let r = one(rule(&["get", "list"], &[""], &["configmaps"], &["a", "b"]));
    assert!(r.allows(&res("get", "", "configmaps", "", "ns", "a")));
    assert!(!r.allows(&res("get", "", "configmaps", "", "ns", "c")));
    assert!(
        !r.allows(&res("list", "", "configmaps", "", "ns", "")),
        "a collection has no name"
    );
}

#[test]
fn non_resource_urls_match_exactly_or_by_trailing_star() {
    let r = one(urls(&["get"], &["/healthz", "/api/*", "/logs**"]));
    let nr = |verb, path| Request::NonResource { verb, path };
    assert!(r.allows(&nr("get", "/healthz")));
    assert!(!r.allows(&nr("get", "/healthz/etcd")));
    assert!(r.allows(&nr("get", "/api/v1")));
    assert!(r.allows(&nr("get", "/api/")));
    assert!(!r.allows(&nr("get", "/api")));
    assert!(
        r.allows(&nr("get", "/logs")),
        "all trailing stars are trimmed"
    );
    assert!(r.allows(&nr("get", "/logsx/y")));
    assert!(!r.allows(&nr("post", "/healthz")));
    let all = one(urls(&["*"], &["*"]));
    assert!(all.allows(&nr("delete", "/anything")));
    // Resource rules never match non-resource requests, nor the reverse.
    let resources = one(rule(&["*"], &["*"], &["*"], &[]));
    assert!(!resources.allows(&nr("get", "/healthz")));
    assert!(!all.allows(&res("get", "", "pods", "", "a", "p")));
}

const USER: &str = "system:breakglass-session";

fn rb(
    ns: &str,
    name: &str,
    kind: &str,
    role: &str,
    subjects: &[(&str, Option<&str>, &str)],
) -> (String, String, Binding) {
    (
        ns.to_owned(),
        name.to_owned(),
        Binding::new(Some(ns), kind, role, subjects.iter().copied()),
    )
}

fn index() -> RbacIndex {
    let mut ix = RbacIndex::new();
    ix.put_cluster_role(
        "pod-reader",
        rules_of(Some(&vec![rule(&["get", "list"], &[""], &["pods"], &[])])),
    );
    ix.put_cluster_role(
        "healthz",
        rules_of(Some(&vec![urls(&["get"], &["/healthz"])])),
    );
    ix.put_role(
        "team-a",
        "exec",
        rules_of(Some(&vec![rule(&["create"], &[""], &["pods/exec"], &[])])),
    );
    ix.put_cluster_binding(
        "readers",
        Binding::new(
            None,
            "ClusterRole",
            "pod-reader",
            [("Group", None, "oidc:readers")],
        ),
    );
    ix.put_cluster_binding(
        "health",
        Binding::new(
            None,
            "ClusterRole",
            "healthz",
            [("Group", None, "oidc:health")],
        ),
    );
    let (ns, name, b) = rb(
        "team-a",
        "exec",
        "Role",
        "exec",
        &[("Group", None, "oidc:exec")],
    );
    ix.put_binding(&ns, &name, b);
    let (ns, name, b) = rb(
        "team-a",
        "read",
        "ClusterRole",
        "pod-reader",
        &[("Group", None, "oidc:ns-readers")],
    );
    ix.put_binding(&ns, &name, b);
    ix
}

#[test]
fn cluster_bindings_apply_everywhere_role_bindings_only_in_their_namespace() {
    let ix = index();
    let get = |ns| res("get", "", "pods", "", ns, "p");
    assert!(ix.allows(USER, &["oidc:readers"], &get("team-a")));
    assert!(
        ix.allows(USER, &["oidc:readers"], &get("")),
        "cluster-wide list via a ClusterRoleBinding"
    );
    assert!(ix.allows(USER, &["oidc:ns-readers"], &get("team-a")));
    assert!(!ix.allows(USER, &["oidc:ns-readers"], &get("team-b")));
    assert!(
        !ix.allows(USER, &["oidc:ns-readers"], &get("")),
        "RoleBindings never grant cluster-wide"
    );
    let exec = |ns| res("create", "", "pods", "exec", ns, "p");
    assert!(ix.allows(USER, &["oidc:exec"], &exec("team-a")));
    assert!(!ix.allows(USER, &["oidc:exec"], &exec("team-b")));
    assert!(!ix.allows(USER, &["oidc:readers"], &exec("team-a")));
    // Non-resource URLs only through ClusterRoleBindings.
    let healthz = Request::NonResource {
        verb: "get",
        path: "/healthz",
    };
    assert!(ix.allows(USER, &["oidc:health"], &healthz));
    assert!(!ix.allows(USER, &["oidc:readers"], &healthz));
    // Nobody else; groups compare exactly.
    assert!(!ix.allows(USER, &[], &get("team-a")));
    assert!(!ix.allows(USER, &["oidc:Readers"], &get("team-a")));
    assert!(!ix.allows(USER, &["readers"], &get("team-a")));
    let grant = ix.find(USER, &["oidc:exec"], &exec("team-a")).unwrap();
    assert_eq!(
        grant.via,
        Via::RoleBinding {
            namespace: "team-a",
            binding: "exec",
            role: &RoleRef::Role("exec".into())
        }
    );
}

#[test]
fn role_refs_resolve_like_the_apiserver() {
    let mut ix = index();
    // A ClusterRoleBinding cannot grant a Role (there is no namespace to find it in).
    ix.put_cluster_binding(
        "crb-role",
        Binding::new(None, "Role", "exec", [("Group", None, "g1")]),
    );
    assert!(!ix.allows(
        USER,
        &["g1"],
        &res("create", "", "pods", "exec", "team-a", "p")
    ));
    // A RoleBinding's Role is its own namespace's.
    ix.put_role(
        "team-b",
        "exec",
        rules_of(Some(&vec![rule(&["get"], &[""], &["secrets"], &[])])),
    );
    let (ns, name, b) = rb("team-b", "b", "Role", "exec", &[("Group", None, "g2")]);
    ix.put_binding(&ns, &name, b);
    assert!(!ix.allows(
        USER,
        &["g2"],
        &res("create", "", "pods", "exec", "team-b", "p")
    ));
    assert!(ix.allows(USER, &["g2"], &res("get", "", "secrets", "", "team-b", "s")));
    // A missing role, or an unknown kind, grants nothing — until the role appears.
    let (ns, name, b) = rb(
        "team-b",
        "later",
        "ClusterRole",
        "not-yet",
        &[("Group", None, "g3")],
    );
    ix.put_binding(&ns, &name, b);
    ix.put_cluster_binding(
        "odd",
        Binding::new(None, "Other", "pod-reader", [("Group", None, "g3")]),
    );
    let get = res("get", "", "pods", "", "team-b", "p");
    assert!(!ix.allows(USER, &["g3"], &get));
    ix.put_cluster_role(
        "not-yet",
        rules_of(Some(&vec![rule(&["get"], &[""], &["pods"], &[])])),
    );
    assert!(ix.allows(USER, &["g3"], &get));
    ix.remove_cluster_role("not-yet");
    assert!(!ix.allows(USER, &["g3"], &get));
}

#[test]
fn subjects_user_group_and_service_account_forms() {
    let mut ix = index();
    let get = res("get", "", "pods", "", "team-a", "p");
    ix.put_cluster_binding(
        "subjects",
        Binding::new(
            None,
            "ClusterRole",
            "pod-reader",
            [
                ("User", None, "alice"),
                ("ServiceAccount", Some("kube-system"), "robot"),
                // No namespace in a ClusterRoleBinding: never applies.
                ("ServiceAccount", None, "orphan"),
                ("ServiceAccount", Some(""), "orphan2"),
                // Unknown kinds never apply.
                ("Robot", None, "alice-group"),
            ],
        ),
    );
    assert!(ix.allows("alice", &[], &get));
    assert!(!ix.allows("Alice", &[], &get));
    assert!(
        !ix.allows("bob", &["alice"], &get),
        "a user subject is not a group"
    );
    assert!(ix.allows("system:serviceaccount:kube-system:robot", &[], &get));
    assert!(!ix.allows("system:serviceaccount:default:robot", &[], &get));
    assert!(!ix.allows("system:serviceaccount::orphan", &[], &get));
    assert!(!ix.allows("system:serviceaccount:team-a:orphan", &[], &get));
    assert!(!ix.allows(USER, &["alice-group"], &get));
    // In a RoleBinding, an empty namespace means the binding's.
    let (ns, name, b) = rb(
        "team-a",
        "sa",
        "ClusterRole",
        "pod-reader",
        &[
            ("ServiceAccount", None, "local"),
            ("ServiceAccount", Some("other"), "remote"),
        ],
    );
    ix.put_binding(&ns, &name, b);
    assert!(ix.allows("system:serviceaccount:team-a:local", &[], &get));
    assert!(ix.allows("system:serviceaccount:other:remote", &[], &get));
    assert!(!ix.allows("system:serviceaccount:other:local", &[], &get));
    assert!(!ix.allows(
        "system:serviceaccount:team-a:local",
        &[],
        &res("get", "", "pods", "", "team-b", "p")
    ));
    // Service account groups are ordinary groups.
    ix.put_cluster_binding(
        "all-sa",
        Binding::new(
            None,
            "ClusterRole",
            "healthz",
            [("Group", None, "system:serviceaccounts")],
        ),
    );
    let healthz = Request::NonResource {
        verb: "get",
        path: "/healthz",
    };
    assert!(ix.allows(USER, &["system:serviceaccounts"], &healthz));
    assert!(
        !ix.allows("system:serviceaccount:a:b", &[], &healthz),
        "groups are not derived from the name"
    );
}

#[test]
fn the_privileged_group_is_allowed_everything() {
    let ix = RbacIndex::new();
    assert!(ix.allows(
        USER,
        &[PRIVILEGED_GROUP],
        &res("delete", "", "nodes", "", "", "n")
    ));
    assert!(ix.allows(
        USER,
        &["x", PRIVILEGED_GROUP],
        &Request::NonResource {
            verb: "get",
            path: "/x"
        }
    ));
    assert!(
        !ix.allows(
            PRIVILEGED_GROUP,
            &[],
            &Request::NonResource {
                verb: "get",
                path: "/x"
            }
        ),
        "as a user name it is nothing"
    );
    assert!(!ix.allows(
        USER,
        &["System:Masters"],
        &Request::NonResource {
            verb: "get",
            path: "/x"
        }
    ));
}

#[test]
fn updates_and_removals_take_effect_at_once() {
    let mut ix = index();
    let get = res("get", "", "pods", "", "team-a", "p");
    // Replacing a binding's subjects revokes the old ones.
    ix.put_cluster_binding(
        "readers",
        Binding::new(
            None,
            "ClusterRole",
            "pod-reader",
            [("Group", None, "oidc:new-readers")],
        ),
    );
    assert!(!ix.allows(USER, &["oidc:readers"], &get));
    assert!(ix.allows(USER, &["oidc:new-readers"], &get));
    ix.remove_cluster_binding("readers");
    assert!(!ix.allows(USER, &["oidc:new-readers"], &get));
    // Narrowing a role's rules.
    ix.put_role(
        "team-a",
        "exec",
        rules_of(Some(&vec![rule(&["get"], &[""], &["pods/log"], &[])])),
    );
    assert!(!ix.allows(
        USER,
        &["oidc:exec"],
        &res("create", "", "pods", "exec", "team-a", "p")
    ));
    ix.remove_binding("team-a", "read");
    assert!(!ix.allows(USER, &["oidc:ns-readers"], &get));
    // Removing a role and binding leaves no empty namespace behind.
    ix.remove_binding("team-a", "exec");
    ix.remove_role("team-a", "exec");
    assert_eq!(ix.counts().roles + ix.counts().role_bindings, 0);
    assert_eq!(ix.objects(), ix.counts().objects());
    assert!(ix.namespaces.is_empty());
    // Two bindings naming the same group: removing one keeps the other's grant.
    ix.put_cluster_binding(
        "one",
        Binding::new(None, "ClusterRole", "pod-reader", [("Group", None, "g")]),
    );
    ix.put_cluster_binding(
        "two",
        Binding::new(
            None,
            "ClusterRole",
            "pod-reader",
            [("Group", None, "g"), ("Group", None, "g")],
        ),
    );
    ix.remove_cluster_binding("one");
    assert!(ix.allows(USER, &["g"], &get));
    ix.remove_cluster_binding("two");
    assert!(!ix.allows(USER, &["g"], &get));
    assert!(
        !ix.cluster_by_subject.groups.contains_key("g")
            && !ix.cluster_by_subject.groups.contains_key("oidc:readers"),
        "no empty subject entries are kept"
    );
}

#[test]
fn clearing_a_kind_forgets_it_entirely() {
    let mut ix = index();
    ix.clear_cluster_bindings();
    ix.clear_bindings();
    assert!(!ix.allows(
        USER,
        &["oidc:readers"],
        &res("get", "", "pods", "", "team-a", "p")
    ));
    assert!(!ix.allows(
        USER,
        &["oidc:exec"],
        &res("create", "", "pods", "exec", "team-a", "p")
    ));
    let c = ix.counts();
    assert_eq!(
        (
            c.cluster_role_bindings,
            c.role_bindings,
            c.cluster_roles,
            c.roles
        ),
        (0, 0, 2, 1)
    );
    ix.clear_roles();
    ix.clear_cluster_roles();
    assert_eq!(ix.counts().objects(), 0);
    assert_eq!(ix.objects(), 0);
    assert!(ix.namespaces.is_empty());
}

#[test]
fn objects_convert_from_the_api_types() {
    use k8s_openapi::api::rbac::v1::{
        AggregationRule, RoleRef as ApiRoleRef, Subject as ApiSubject,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let meta = |ns: Option<&str>, name: &str| ObjectMeta {
        namespace: ns.map(str::to_owned),
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    };
    let mut ix = RbacIndex::new();
    // Aggregated: the controller has written the rules; they are what counts.
    ix.apply_cluster_role(&ClusterRole {
        metadata: meta(None, "agg"),
        aggregation_rule: Some(AggregationRule::default()),
        rules: Some(vec![rule(&["get"], &[""], &["pods"], &[])]),
    });
    ix.apply_role(&Role {
        metadata: meta(Some("n"), "r"),
        rules: Some(vec![rule(&["list"], &[""], &["secrets"], &[])]),
    });
    let subject = |kind: &str, ns: Option<&str>, name: &str| ApiSubject {
        kind: kind.to_owned(),
        name: name.to_owned(),
        namespace: ns.map(str::to_owned),
        api_group: None,
    };
    ix.apply_cluster_binding(&ClusterRoleBinding {
        metadata: meta(None, "c"),
        role_ref: ApiRoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "ClusterRole".to_owned(),
            name: "agg".to_owned(),
        },
        subjects: Some(vec![subject("Group", None, "g")]),
    });
    ix.apply_binding(&RoleBinding {
        metadata: meta(Some("n"), "b"),
        role_ref: ApiRoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "Role".to_owned(),
            name: "r".to_owned(),
        },
        subjects: Some(vec![subject("ServiceAccount", None, "sa")]),
    });
    assert!(ix.allows(USER, &["g"], &res("get", "", "pods", "", "", "")));
    assert!(ix.allows(
        "system:serviceaccount:n:sa",
        &[],
        &res("list", "", "secrets", "", "n", "")
    ));
    assert_eq!(
        ix.counts(),
        Counts {
            cluster_roles: 1,
            cluster_role_bindings: 1,
            roles: 1,
            role_bindings: 1,
            rules: 2
        }
    );
    // No rules at all (an aggregated role before the controller filled it).
    ix.apply_cluster_role(&ClusterRole {
        metadata: meta(None, "agg"),
        aggregation_rule: Some(AggregationRule::default()),
        rules: None,
    });
    assert!(!ix.allows(USER, &["g"], &res("get", "", "pods", "", "", "")));
}

/// The indexed evaluation against a brute-force model that scans every binding, over
/// random sequences of puts and removals (the index must forget replaced subjects,
/// removed bindings and roles exactly).
mod model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        ClusterRole(u8, Vec<PolicyRule>),
        RemoveClusterRole(u8),
        Role(u8, u8, Vec<PolicyRule>),
        RemoveRole(u8, u8),
        ClusterBinding(u8, bool, u8, Vec<(u8, u8)>),
        RemoveClusterBinding(u8),
        Binding(u8, u8, bool, u8, Vec<(u8, u8)>),
        RemoveBinding(u8, u8),
    }

    const VERBS: [&str; 3] = ["get", "list", "*"];
    const RESOURCES: [&str; 4] = ["pods", "pods/exec", "*/exec", "*"];

    fn policy_rule() -> impl Strategy<Value = PolicyRule> {
        (0..3usize, 0..4usize, proptest::bool::ANY).prop_map(|(v, r, named)| {
            rule(
                &[VERBS[v]],
                &[""],
                &[RESOURCES[r]],
                if named { &["a"] } else { &[] },
            )
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        let rules = || proptest::collection::vec(policy_rule(), 0..3);
        let subjects = || proptest::collection::vec((0..3u8, 0..4u8), 0..3);
        prop_oneof![
            (0..4u8, rules()).prop_map(|(n, r)| Op::ClusterRole(n, r)),
            (0..4u8).prop_map(Op::RemoveClusterRole),
            (0..3u8, 0..4u8, rules()).prop_map(|(ns, n, r)| Op::Role(ns, n, r)),
            (0..3u8, 0..4u8).prop_map(|(ns, n)| Op::RemoveRole(ns, n)),
            (0..4u8, proptest::bool::ANY, 0..4u8, subjects())
                .prop_map(|(n, c, r, s)| Op::ClusterBinding(n, c, r, s)),
            (0..4u8).prop_map(Op::RemoveClusterBinding),
            (0..3u8, 0..4u8, proptest::bool::ANY, 0..4u8, subjects())
                .prop_map(|(ns, n, c, r, s)| Op::Binding(ns, n, c, r, s)),
            (0..3u8, 0..4u8).prop_map(|(ns, n)| Op::RemoveBinding(ns, n)),
        ]
    }

    fn subject(kind: u8, who: u8) -> (&'static str, Option<&'static str>, String) {
        match kind {
            0 => ("Group", None, format!("g{who}")),
            1 => ("User", None, format!("u{who}")),
            _ => ("ServiceAccount", None, format!("sa{who}")),
        }
    }

    /// A binding in the model: to a ClusterRole (or a Role), its name, its subjects.
    type ModelBinding = (bool, String, Vec<(u8, u8)>);

    /// The model: every object as given, evaluated by scanning.
    #[derive(Default)]
    struct Model {
        cluster_roles: BTreeMap<String, Vec<PolicyRule>>,
        roles: BTreeMap<(String, String), Vec<PolicyRule>>,
        cluster_bindings: BTreeMap<String, ModelBinding>,
        bindings: BTreeMap<(String, String), ModelBinding>,
    }

    fn applies(ns: Option<&str>, subjects: &[(u8, u8)], user: &str, groups: &[&str]) -> bool {
        subjects.iter().any(|(k, w)| {
            let (kind, _, name) = subject(*k, *w);
            match kind {
                "Group" => groups.contains(&name.as_str()),
                "User" => user == name,
                _ => ns.is_some_and(|ns| user == format!("system:serviceaccount:{ns}:{name}")),
            }
        })
    }

    impl Model {
        fn allows(&self, user: &str, groups: &[&str], request: &Request<'_>) -> bool {
            let any = |rules: Option<&Vec<PolicyRule>>| {
                rules.is_some_and(|r| r.iter().any(|r| Rule::from(r).allows(request)))
            };
            for (cluster_role, role, subjects) in self.cluster_bindings.values() {
                if applies(None, subjects, user, groups)
                    && *cluster_role
                    && any(self.cluster_roles.get(role))
                {
                    return true;
                }
            }
            let Request::Resource { namespace, .. } = *request else {
                return false;
            };
            for ((ns, _), (cluster_role, role, subjects)) in &self.bindings {
                if ns == namespace && applies(Some(ns), subjects, user, groups) {
                    let rules = if *cluster_role {
                        self.cluster_roles.get(role)
                    } else {
                        self.roles.get(&(ns.clone(), role.clone()))
                    };
                    if any(rules) {
                        return true;
                    }
                }
            }
            false
        }
    }

    fn binding(ns: Option<&str>, cluster_role: bool, role: &str, subjects: &[(u8, u8)]) -> Binding {
        let subjects: Vec<_> = subjects.iter().map(|(k, w)| subject(*k, *w)).collect();
        Binding::new(
            ns,
            if cluster_role { "ClusterRole" } else { "Role" },
            role,
            subjects.iter().map(|(k, n, s)| (*k, *n, s.as_str())),
        )
    }

    proptest! {
        #[test]
        fn the_index_answers_like_a_full_scan(ops in proptest::collection::vec(op(), 1..40)) {
            let mut ix = RbacIndex::new();
            let mut m = Model::default();
            for op in ops {
                match op {
                    Op::ClusterRole(n, r) => {
                        ix.put_cluster_role(&format!("cr{n}"), rules_of(Some(&r)));
                        m.cluster_roles.insert(format!("cr{n}"), r);
                    }
                    Op::RemoveClusterRole(n) => {
                        ix.remove_cluster_role(&format!("cr{n}"));
                        m.cluster_roles.remove(&format!("cr{n}"));
                    }
                    Op::Role(ns, n, r) => {
                        ix.put_role(&format!("ns{ns}"), &format!("r{n}"), rules_of(Some(&r)));
                        m.roles.insert((format!("ns{ns}"), format!("r{n}")), r);
                    }
                    Op::RemoveRole(ns, n) => {
                        ix.remove_role(&format!("ns{ns}"), &format!("r{n}"));
                        m.roles.remove(&(format!("ns{ns}"), format!("r{n}")));
                    }
                    Op::ClusterBinding(n, c, r, s) => {
                        let role = if c { format!("cr{r}") } else { format!("r{r}") };
                        ix.put_cluster_binding(&format!("crb{n}"), binding(None, c, &role, &s));
                        m.cluster_bindings.insert(format!("crb{n}"), (c, role, s));
                    }
                    Op::RemoveClusterBinding(n) => {
                        ix.remove_cluster_binding(&format!("crb{n}"));
                        m.cluster_bindings.remove(&format!("crb{n}"));
                    }
                    Op::Binding(ns, n, c, r, s) => {
                        let ns = format!("ns{ns}");
                        let role = if c { format!("cr{r}") } else { format!("r{r}") };
                        ix.put_binding(&ns, &format!("rb{n}"), binding(Some(&ns), c, &role, &s));
                        m.bindings.insert((ns, format!("rb{n}")), (c, role, s));
                    }
                    Op::RemoveBinding(ns, n) => {
                        ix.remove_binding(&format!("ns{ns}"), &format!("rb{n}"));
                        m.bindings.remove(&(format!("ns{ns}"), format!("rb{n}")));
                    }
                }
                // The running count the mirror checks its bound with.
                prop_assert_eq!(
                    ix.objects(),
                    m.cluster_roles.len() + m.roles.len() + m.cluster_bindings.len() + m.bindings.len()
                );
                prop_assert_eq!(ix.objects(), ix.counts().objects());
            }
            let users = ["u0", "u1", "system:serviceaccount:ns0:sa0", "system:serviceaccount:ns1:sa2", "x"];
            let group_sets: [&[&str]; 4] = [&[], &["g0"], &["g1", "g3"], &["g2"]];
            for user in users {
                for groups in group_sets {
                    for ns in ["ns0", "ns1", "ns2", ""] {
                        for (verb, sub, name) in [("get", "", "a"), ("list", "", ""), ("create", "exec", "b"), ("get", "exec", "a")] {
                            let request = res(verb, "", "pods", sub, ns, name);
                            prop_assert_eq!(
                                ix.allows(user, groups, &request),
                                m.allows(user, groups, &request),
                                "{} {:?} {:?}", user, groups, request
                            );
                        }
                    }
                }
            }
        }
    }
}
