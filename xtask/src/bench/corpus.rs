//! The bench's state and review corpus, generated from a seed so every run (and every
//! server under comparison) sees exactly the same objects and reviews.

use serde_json::{Value, json};

/// The two target clusters of testenv.
pub const TARGETS: [&str; 2] = ["target-a", "target-b"];
/// Label on every object the bench creates (hub and targets), for clean-up.
pub const LABEL: &str = "breakglass.t-caas.telekom.com/bench";
/// Hub namespace of the bench's escalations and sessions.
pub const HUB_NS: &str = "breakglass-bench";
/// Namespaces on the targets (RoleBindings and DenyPolicy scopes).
pub const TARGET_NAMESPACES: usize = 10;

/// How much state and how many reviews.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Distinct users with sessions.
    pub users: usize,
    /// Approved sessions.
    pub sessions: usize,
    /// Escalations (one escalated group each).
    pub escalations: usize,
    /// DenyPolicies.
    pub deny_policies: usize,
    /// Reviews in the corpus.
    pub reviews: usize,
}

impl Sizes {
    /// The setup: 1,000 sessions of 500 users, 50 escalations, 50 DenyPolicies,
    /// 5,000 reviews.
    pub const FULL: Sizes = Sizes {
        users: 500,
        sessions: 1000,
        escalations: 50,
        deny_policies: 50,
        reviews: 5000,
    };
    /// The smoke run: small enough for a test, same shape.
    pub const SMOKE: Sizes = Sizes {
        users: 20,
        sessions: 40,
        escalations: 10,
        deny_policies: 5,
        reviews: 200,
    };
}

/// splitmix64: a tiny deterministic generator (the corpus must not depend on a crate's
/// version of a random algorithm).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// One RBAC rule: (apiGroup, resource, subresource, verbs).
type Rule = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// What an escalated group may do on the targets. Five templates, chosen by the
/// escalation's index.
const TEMPLATES: [&[Rule]; 5] = [
    &[
        ("", "pods", "", &["get", "list", "watch"]),
        ("", "pods", "log", &["get"]),
    ],
    &[
        ("", "configmaps", "", &["get", "list"]),
        ("", "secrets", "", &["get"]),
    ],
    &[(
        "apps",
        "deployments",
        "",
        &["get", "list", "update", "patch"],
    )],
    &[
        ("", "services", "", &["*"]),
        ("", "endpoints", "", &["get", "list"]),
    ],
    &[
        ("", "pods", "exec", &["create", "get"]),
        ("", "pods", "", &["get"]),
    ],
];

/// The escalated group of escalation `i` (without the OIDC prefix).
pub fn group(i: usize) -> String {
    format!("bench-g{i:02}")
}

/// A target namespace by index.
pub fn namespace(k: usize) -> String {
    format!("bench-ns-{k}")
}

/// Escalations with an even index are bound cluster-wide (ClusterRoleBinding), odd ones
/// in one namespace (RoleBinding).
fn bound_namespace(i: usize) -> Option<String> {
    (i % 2 == 1).then(|| namespace(i % TARGET_NAMESPACES))
}

/// A bench user.
pub fn user(u: usize) -> String {
    format!("bench-user-{u:03}@bench.example")
}

/// Sessions: user `s % users` on one cluster (by the user's parity), with the group
/// `(s * 7 + s / users) % escalations`; a user's second session is on the same cluster
/// with another group, so reviews on the other cluster have no session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Index of the user.
    pub user: usize,
    /// Cluster name.
    pub cluster: &'static str,
    /// Index of the escalation (group).
    pub group: usize,
}

/// The sessions of `sizes`.
pub fn sessions(sizes: &Sizes) -> Vec<Session> {
    (0..sizes.sessions)
        .map(|s| {
            let u = s % sizes.users;
            Session {
                user: u,
                cluster: TARGETS[u % 2],
                group: (s * 7 + s / sizes.users) % sizes.escalations,
            }
        })
        .collect()
}

/// The hub objects: escalations (`BreakglassEscalation` JSON) by index.
pub fn escalation(i: usize) -> Value {
    json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "BreakglassEscalation",
        "metadata": {"name": format!("bench-esc-{i:02}"), "namespace": HUB_NS, "labels": {LABEL: "webhook"}},
        "spec": {
            "allowed": {"clusters": TARGETS, "groups": ["developers"]},
            "approvers": {"groups": ["sre-leads"]},
            "escalatedGroup": group(i),
            "maxValidFor": "24h",
            "approvalTimeout": "1h",
        },
    })
}

/// The rule of template `j % 5` that DenyPolicy `j` denies: its first rule on a
/// resource itself (not a subresource).
fn deny_rule(j: usize) -> Rule {
    let tpl = TEMPLATES[j % TEMPLATES.len()];
    tpl.iter()
        .copied()
        .find(|r| r.2.is_empty())
        .unwrap_or(tpl[0])
}

/// DenyPolicy `j`: denies the first verb of [`deny_rule`] on objects named
/// `bench-locked-<j>` in namespace `bench-ns-<j % 10>`, on both targets.
pub fn deny_policy(j: usize) -> Value {
    let (api_group, resource, _, verbs) = deny_rule(j);
    json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DenyPolicy",
        "metadata": {"name": format!("bench-deny-{j:02}"), "labels": {LABEL: "webhook"}},
        "spec": {
            "appliesTo": {"clusters": TARGETS},
            "rules": [{
                "verbs": [concrete_verb(verbs, 0)],
                "apiGroups": [api_group],
                "resources": [resource],
                "namespaces": {"patterns": [namespace(j % TARGET_NAMESPACES)]},
                "resourceNames": [format!("bench-locked-{j}")],
            }],
        },
    })
}

/// A verb a request can carry (templates may say `*`).
fn concrete_verb(verbs: &[&str], k: usize) -> &'static str {
    match verbs[k % verbs.len()] {
        "*" => ["get", "list", "create", "delete"][k % 4],
        "get" => "get",
        "list" => "list",
        "watch" => "watch",
        "update" => "update",
        "patch" => "patch",
        _ => "create",
    }
}

/// The RBAC of escalation `i` on a target: a ClusterRole and its binding to
/// `<prefix><group>`.
pub fn rbac(i: usize, prefix: &str) -> (Value, Value) {
    let name = group(i);
    let rules: Vec<Value> = TEMPLATES[i % TEMPLATES.len()]
        .iter()
        .map(|(g, r, sub, verbs)| {
            let resource = if sub.is_empty() {
                (*r).to_owned()
            } else {
                format!("{r}/{sub}")
            };
            json!({"apiGroups": [g], "resources": [resource], "verbs": verbs})
        })
        .collect();
    let labels = json!({LABEL: "webhook"});
    let role = json!({"metadata": {"name": name, "labels": labels}, "rules": rules});
    let subject = json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("{prefix}{name}")}]);
    let role_ref =
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name});
    let binding = match bound_namespace(i) {
        Some(ns) => {
            json!({"kind": "RoleBinding", "metadata": {"name": name, "namespace": ns, "labels": labels}, "roleRef": role_ref, "subjects": subject})
        }
        None => {
            json!({"kind": "ClusterRoleBinding", "metadata": {"name": name, "labels": labels}, "roleRef": role_ref, "subjects": subject})
        }
    };
    (role, binding)
}

/// Why a review is in the corpus, and what the answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// Allowed by one of the user's sessions (its group's RBAC allows it).
    Session,
    /// The user has no session on this cluster.
    NoSession,
    /// The user's sessions' groups do not allow it (needs an RBAC answer per group).
    NotInRbac,
    /// A session would allow it, a DenyPolicy denies it.
    DenyPolicy,
}

impl Kind {
    /// Whether the webhook must allow it.
    pub fn allowed(self) -> bool {
        self == Kind::Session
    }
}

/// One review of the corpus.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Review {
    /// Target cluster (the webhook path's last segment).
    pub cluster: String,
    /// Why it is here.
    pub kind: Kind,
    /// The SubjectAccessReview the apiserver would send.
    pub body: Value,
}

/// The groups an apiserver sends for a bench user: the OIDC group the escalations
/// allow (with the targets' prefix, as the apiserver adds it) and
/// `system:authenticated`.
const SAR_GROUPS: [&str; 2] = ["oidc:developers", "system:authenticated"];

fn sar(user: &str, attrs: Value) -> Value {
    json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": SAR_GROUPS, "resourceAttributes": attrs},
    })
}

fn attrs(rule: Rule, verb_pick: usize, ns: &str, name: Option<&str>) -> Value {
    let (g, r, sub, verbs) = rule;
    let mut a = json!({"verb": concrete_verb(verbs, verb_pick), "group": g, "version": "v1", "resource": r, "namespace": ns});
    if !sub.is_empty() {
        a["subresource"] = json!(sub);
    }
    if let Some(n) = name {
        a["name"] = json!(n);
    }
    a
}

/// The corpus: 60 % allowed by a session, 25 % denied (half without a session on the
/// cluster, half outside the groups' RBAC), 15 % denied by a DenyPolicy.
pub fn reviews(sizes: &Sizes, seed: u64) -> Vec<Review> {
    let mut rng = Rng::new(seed);
    let sessions = sessions(sizes);
    (0..sizes.reviews)
        .map(|_| {
            let roll = rng.below(100);
            if roll < 60 {
                allowed(&mut rng, &sessions)
            } else if roll < 85 {
                denied(&mut rng, sizes, &sessions, roll < 72)
            } else {
                deny_policy_review(&mut rng, sizes, &sessions)
                    .unwrap_or_else(|| allowed(&mut rng, &sessions))
            }
        })
        .collect()
}

fn allowed(rng: &mut Rng, sessions: &[Session]) -> Review {
    let s = &sessions[rng.below(sessions.len())];
    let tpl = TEMPLATES[s.group % TEMPLATES.len()];
    let rule = tpl[rng.below(tpl.len())];
    let ns = bound_namespace(s.group).unwrap_or_else(|| namespace(rng.below(TARGET_NAMESPACES)));
    let name = format!("obj-{}", rng.below(1000));
    let verb = rng.below(4);
    // list and watch carry no name.
    let named = !matches!(concrete_verb(rule.3, verb), "list" | "watch");
    Review {
        cluster: s.cluster.to_owned(),
        kind: Kind::Session,
        body: sar(
            &user(s.user),
            attrs(rule, verb, &ns, named.then_some(name.as_str())),
        ),
    }
}

fn denied(rng: &mut Rng, sizes: &Sizes, sessions: &[Session], no_session: bool) -> Review {
    let s = &sessions[rng.below(sessions.len())];
    if no_session {
        // The same user on the other cluster.
        let other = TARGETS[(s.user + 1) % 2];
        let tpl = TEMPLATES[s.group % TEMPLATES.len()];
        return Review {
            cluster: other.to_owned(),
            kind: Kind::NoSession,
            body: sar(&user(s.user), attrs(tpl[0], 0, &namespace(0), None)),
        };
    }
    // No template allows deleting nodes, namespaces or roles.
    let (g, r) = [
        ("", "nodes"),
        ("", "namespaces"),
        ("rbac.authorization.k8s.io", "roles"),
    ][rng.below(3)];
    let ns = if r == "roles" {
        namespace(rng.below(TARGET_NAMESPACES))
    } else {
        String::new()
    };
    let _ = sizes;
    Review {
        cluster: s.cluster.to_owned(),
        kind: Kind::NotInRbac,
        body: sar(
            &user(s.user),
            json!({"verb": "delete", "group": g, "version": "v1", "resource": r, "namespace": ns, "name": format!("victim-{}", rng.below(100))}),
        ),
    }
}

/// A review a session allows but DenyPolicy `j` denies: a session whose group has the
/// policy's template and whose binding covers the policy's namespace.
fn deny_policy_review(rng: &mut Rng, sizes: &Sizes, sessions: &[Session]) -> Option<Review> {
    let j = rng.below(sizes.deny_policies);
    let ns = namespace(j % TARGET_NAMESPACES);
    let fits: Vec<&Session> = sessions
        .iter()
        .filter(|s| {
            s.group % TEMPLATES.len() == j % TEMPLATES.len()
                && bound_namespace(s.group).is_none_or(|b| b == ns)
        })
        .collect();
    if fits.is_empty() {
        return None;
    }
    let s = fits[rng.below(fits.len())];
    let rule = deny_rule(j);
    Some(Review {
        cluster: s.cluster.to_owned(),
        kind: Kind::DenyPolicy,
        body: sar(
            &user(s.user),
            attrs(rule, 0, &ns, Some(&format!("bench-locked-{j}"))),
        ),
    })
}

/// The distinct (cluster, group) pairs the corpus needs an RBAC answer for: every group
/// of the user's sessions on the review's cluster, for reviews of users with one.
pub fn group_targets(sizes: &Sizes, reviews: &[Review]) -> usize {
    let sessions = sessions(sizes);
    let mut pairs = std::collections::BTreeSet::new();
    for r in reviews {
        let u = r.body["spec"]["user"].as_str().unwrap_or_default();
        for s in sessions
            .iter()
            .filter(|s| s.cluster == r.cluster && user(s.user) == u)
        {
            pairs.insert((s.cluster, s.group));
        }
    }
    pairs.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_deterministic_and_mixed() {
        let a = reviews(&Sizes::FULL, 7);
        let b = reviews(&Sizes::FULL, 7);
        assert_eq!(
            serde_json::to_string(&a.iter().map(|r| &r.body).collect::<Vec<_>>()).unwrap(),
            serde_json::to_string(&b.iter().map(|r| &r.body).collect::<Vec<_>>()).unwrap()
        );
        let count = |k: Kind| a.iter().filter(|r| r.kind == k).count();
        assert_eq!(a.len(), 5000);
        assert!(
            (2800..3200).contains(&count(Kind::Session)),
            "{}",
            count(Kind::Session)
        );
        assert!(count(Kind::NoSession) > 400);
        assert!(count(Kind::NotInRbac) > 400);
        assert!(count(Kind::DenyPolicy) > 500, "{}", count(Kind::DenyPolicy));
        let other = reviews(&Sizes::FULL, 8);
        assert_ne!(a[0].body, other[0].body, "the seed matters");
    }

    #[test]
    fn every_user_has_sessions_on_one_cluster_only() {
        let s = sessions(&Sizes::FULL);
        assert_eq!(s.len(), 1000);
        for u in 0..500 {
            let mine: Vec<_> = s.iter().filter(|x| x.user == u).collect();
            assert_eq!(mine.len(), 2);
            assert_eq!(mine[0].cluster, mine[1].cluster);
            assert_ne!(mine[0].group, mine[1].group, "two groups per user");
        }
        // Every escalation's group is used by some session.
        for g in 0..50 {
            assert!(s.iter().any(|x| x.group == g), "group {g} unused");
        }
    }
}
