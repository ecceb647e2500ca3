//! Differential test of the decision path: over a seeded random state and review corpus,
//! [`decide`](super::decide) (indexes, prepared policies, shared lists) must return
//! exactly what the pipeline returns when it is handed the plain inputs the way the
//! webhook gathered them before the indexes: every DenyPolicy in mirror order, the
//! user's sessions filtered from the mirror, owners looked up in the mirror, and the
//! escalations counted one by one with `escalation::is_available`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_api::deny_policy::DenyPolicy;
use breakglass_api::identity_provider::IdentityProvider;
use breakglass_core::authz::{
    self, Attributes, AuthzInput, ClusterInfo, Decision, GroupCheckResults, IdpHints,
    NamespaceLabels, NonResourceAttributes, PodInfo, ProbeOutcome, ResourceAttributes, SarRequest,
    SessionCheck, SessionInput,
};
use breakglass_core::escalation as esc_core;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::app::{App, Settings};
use crate::config::Config;
use crate::store::{ClusterLookup, Mirror, Stores};
use crate::target_access::{AccessError, BoxFuture, TargetAccess};

/// A deterministic xorshift sequence, so a failure names a reproducible review.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const CLUSTERS: usize = 12;
const USERS: usize = 60;
const SESSIONS: usize = 400;
const POLICIES: usize = 160;
const ESCALATIONS: usize = 10;
const REVIEWS: usize = 4_000;

fn obj<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn cluster_name(i: usize) -> String {
    format!("c-{i}")
}

fn clusters() -> Vec<ClusterConfig> {
    (0..CLUSTERS)
        .map(|i| {
            let mut spec = json!({"kubeconfigSecretRef": {"name": "x", "namespace": "bg"}});
            if i % 4 != 3 {
                spec["tenant"] = json!(format!("tenant-{}", i % 3));
            }
            if i == 5 {
                spec["clusterID"] = json!("alias-5");
            }
            match i % 6 {
                1 => spec["constrainedImpersonation"] = json!({"legacyFallback": "Forbidden"}),
                2 => spec["constrainedImpersonation"] = json!({"legacyFallback": "Warn"}),
                4 => spec["constrainedImpersonation"] = json!({"denyUnrecognisedVerbs": false}),
                _ => {}
            }
            obj(json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
                "metadata": {"name": cluster_name(i), "namespace": "bg"}, "spec": spec}))
        })
        .collect()
}

fn escalations(rng: &mut Rng) -> Vec<BreakglassEscalation> {
    (0..ESCALATIONS)
        .map(|t| {
            let clusters = rng.pick(&["c-*", "c-1", "c-[0-5]", "*", "c-1?"]);
            let mut spec = json!({"allowed": {"clusters": [clusters], "groups": [format!("team-{}", t % 5), format!("oidc:team-{}", (t + 1) % 5)]},
                "approvers": {"groups": ["leads"]}, "escalatedGroup": format!("team-{t}-admin")});
            if t % 3 == 0 {
                spec["podSecurityOverrides"] = json!({"enabled": true, "maxAllowedScore": 150,
                    "namespaceScope": {"patterns": ["prod-*"]}});
            }
            if t % 4 == 1 {
                spec["allowedIdentityProviders"] = json!(["corp"]);
            }
            let ready = t % 5 != 4;
            obj(json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "BreakglassEscalation",
                "metadata": {"name": format!("esc-{t}"), "namespace": "bg", "uid": format!("uid-{t}"),
                    "generation": if ready { 0 } else { 2 }},
                "spec": spec}))
        })
        .collect()
}

fn sessions(rng: &mut Rng, now: Timestamp) -> Vec<BreakglassSession> {
    let later = now
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let earlier = now
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap();
    (0..SESSIONS)
        .map(|i| {
            let user = rng.below(USERS);
            let team = rng.below(ESCALATIONS);
            let cluster = if rng.chance(85) {
                cluster_name(user % CLUSTERS)
            } else {
                cluster_name(rng.below(CLUSTERS))
            };
            let (state, until) = match rng.below(10) {
                0 => ("Expired", earlier),
                1 => ("Pending", later),
                2 => ("WaitingForScheduledTime", later),
                3 => ("Rejected", earlier),
                _ => ("Approved", later),
            };
            let group = match rng.below(12) {
                0 => "system:masters".to_owned(),
                1 => format!("oidc:team-{team}-admin"),
                2 => format!("team-{team}-viewer"),
                _ => format!("team-{team}-admin"),
            };
            // The uid of the owner matches but for a few replaced escalations.
            let uid = if rng.chance(90) {
                format!("uid-{team}")
            } else {
                "uid-old".to_owned()
            };
            let mut spec = json!({"cluster": cluster, "user": format!("user-{user}@example.com"),
                "grantedGroup": group});
            match rng.below(4) {
                0 => {
                    spec["identityProviderIssuer"] = json!("https://idp.example.com");
                    spec["identityProviderName"] = json!("corp");
                }
                1 => {
                    spec["identityProviderIssuer"] = json!("https://other.example.com/");
                    spec["identityProviderName"] = json!("other");
                }
                2 => spec["allowIDPMismatch"] = json!(true),
                _ => {}
            }
            let mut status = json!({"state": state, "expiresAt": until.to_string()});
            if state == "WaitingForScheduledTime" {
                status["scheduledStartTime"] = json!(later.to_string());
            }
            if state == "Approved" || state == "Expired" {
                status["approvedAt"] = json!(earlier.to_string());
                status["approver"] = json!("lead@example.com");
            }
            obj(json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "BreakglassSession",
                "metadata": {"name": format!("s-{i}"), "namespace": if i % 7 == 0 { "bg-b" } else { "bg" },
                    "ownerReferences": [{"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "BreakglassEscalation",
                        "name": format!("esc-{team}"), "uid": uid, "controller": true}]},
                "spec": spec, "status": status}))
        })
        .collect()
}

fn policy_rule(rng: &mut Rng) -> Value {
    let mut rule = json!({
        "verbs": [rng.pick(&["get", "list", "delete", "create", "patch", "*", "impersonate:user-info"])],
        "apiGroups": [rng.pick(&["", "apps", "*"])],
        "resources": [rng.pick(&["pods", "secrets", "deployments", "users", "groups", "*"])],
    });
    match rng.below(6) {
        0 => rule["subresources"] = json!([rng.pick(&["exec", "log", "*"])]),
        1 => rule["resourceNames"] = json!([rng.pick(&["db-*", "web-0", "[bad", "adm?n"])]),
        _ => {}
    }
    match rng.below(6) {
        0 => {
            rule["namespaces"] =
                json!({"patterns": [rng.pick(&["prod-*", "team-?", "kube-system", "[bad", "*"])]})
        }
        1 => rule["namespaces"] = json!({"selectorTerms": [{"matchLabels": {"env": "prod"}}]}),
        2 => {
            rule["namespaces"] = json!({"patterns": ["kube-*"], "selectorTerms": [{"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}]})
        }
        _ => {}
    }
    rule
}

fn policies(rng: &mut Rng) -> Vec<DenyPolicy> {
    (0..POLICIES)
        .map(|p| {
            let mut spec = json!({});
            match rng.below(8) {
                0 => spec["appliesTo"] = json!({"clusters": [cluster_name(rng.below(CLUSTERS)), cluster_name(rng.below(CLUSTERS))]}),
                1 => spec["appliesTo"] = json!({"tenants": [format!("tenant-{}", rng.below(3))]}),
                2 => spec["appliesTo"] = json!({"sessions": [format!("s-{}", rng.below(SESSIONS))]}),
                3 => spec["appliesTo"] = json!({"clusters": ["*"], "tenants": ["*"]}),
                4 => spec["appliesTo"] = json!({"clusters": ["alias-5", "c-5"]}),
                _ => {}
            }
            if rng.chance(70) {
                // Few distinct precedences: ties are common, and keep the mirror order.
                spec["precedence"] = json!(rng.below(4) * 10);
            }
            match rng.below(10) {
                0 => {
                    spec["podSecurityRules"] = json!({
                        "riskFactors": {"hostNetwork": 40, "privilegedContainer": 100},
                        "thresholds": [{"maxScore": 49, "action": "allow"}, {"maxScore": 99, "action": "warn"},
                            {"maxScore": 1000, "action": "deny"}],
                        "blockFactors": if rng.chance(50) { json!(["hostPID"]) } else { json!([]) },
                        "exemptions": {"namespaces": {"selectorTerms": [{"matchLabels": {"env": "dev"}}]}}});
                }
                1 => spec["impersonationRules"] = json!([{"identities": ["admin*"]}]),
                _ => {
                    let rules: Vec<Value> = (0..1 + rng.below(3)).map(|_| policy_rule(rng)).collect();
                    spec["rules"] = json!(rules);
                }
            }
            obj(json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DenyPolicy",
                "metadata": {"name": format!("policy-{p}")}, "spec": spec}))
        })
        .collect()
}

fn identity_providers() -> Vec<IdentityProvider> {
    ["corp", "other"]
        .iter()
        .map(|name| {
            obj(json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "IdentityProvider",
                "metadata": {"name": name},
                "spec": {"issuer": format!("https://{}.example.com", if *name == "corp" { "idp" } else { "other" }),
                    "oidc": {"authority": "https://idp.example.com", "clientID": "breakglass", "expectedAudience": "breakglass"}}}))
        })
        .collect()
}

fn reviews(rng: &mut Rng) -> Vec<(String, SarRequest)> {
    (0..REVIEWS)
        .map(|_| {
            let user = rng.below(USERS);
            let cluster = match rng.below(20) {
                0 => "alias-5".to_owned(),
                1 => "not-registered".to_owned(),
                2..=4 => cluster_name(rng.below(CLUSTERS)),
                _ => cluster_name(user % CLUSTERS),
            };
            let attributes = if rng.chance(5) {
                Attributes::NonResource(NonResourceAttributes {
                    path: "/healthz".to_owned(),
                    verb: "get".to_owned(),
                })
            } else {
                let pod_op = rng.chance(20);
                let (verb, resource, sub, name) = if pod_op {
                    (
                        rng.pick(&["create", "get"]),
                        "pods",
                        rng.pick(&["exec", "attach", "log", ""]),
                        rng.pick(&["web-0", "risky-0", "gone"]),
                    )
                } else {
                    (
                        rng.pick(&[
                            "get",
                            "list",
                            "delete",
                            "create",
                            "patch",
                            "impersonate",
                            "impersonate:user-info",
                            "impersonate:bogus",
                            "impersonate-on:user-info:get",
                        ]),
                        rng.pick(&["pods", "secrets", "deployments", "users", "groups", "nodes"]),
                        "",
                        rng.pick(&["", "", "db-main", "web-0", "admin", "*", "system:masters"]),
                    )
                };
                Attributes::Resource(ResourceAttributes {
                    verb: verb.to_owned(),
                    group: if resource == "deployments" {
                        "apps"
                    } else {
                        ""
                    }
                    .to_owned(),
                    version: "v1".to_owned(),
                    resource: resource.to_owned(),
                    subresource: sub.to_owned(),
                    namespace: rng
                        .pick(&[
                            "prod-a",
                            "team-1",
                            "kube-system",
                            "dev",
                            "",
                            "missing",
                            "broken",
                        ])
                        .to_owned(),
                    name: name.to_owned(),
                })
            };
            let issuer = match rng.below(4) {
                0 => Some("https://idp.example.com/".to_owned()),
                1 => Some("https://other.example.com".to_owned()),
                _ => None,
            };
            let request = SarRequest {
                user: if rng.chance(2) {
                    String::new()
                } else {
                    format!("user-{user}@example.com")
                },
                groups: vec![
                    format!("oidc:team-{}", rng.below(5)),
                    format!("team-{}", rng.below(5)),
                    "system:authenticated".to_owned(),
                ],
                issuer,
                attributes,
                ..SarRequest::default()
            };
            (cluster, request)
        })
        .collect()
}

/// The target clusters: `*-admin` groups may do anything but nodes; `prod-*`
/// namespaces carry `env=prod`, `dev` carries `env=dev`; `missing` does not exist and
/// `broken` cannot be read; `risky-0` is privileged, `gone` does not exist.
struct Targets {
    labels: HashMap<&'static str, BTreeMap<String, String>>,
    pods: HashMap<&'static str, Arc<Pod>>,
}

impl Targets {
    fn new() -> Self {
        let env = |v: &str| BTreeMap::from([("env".to_owned(), v.to_owned())]);
        let labels = HashMap::from([
            ("prod-a", env("prod")),
            ("dev", env("dev")),
            ("team-1", BTreeMap::new()),
            ("kube-system", BTreeMap::new()),
        ]);
        let pods = HashMap::from([
            (
                "web-0",
                Arc::new(obj(
                    json!({"metadata": {"name": "web-0"}, "spec": {"containers": [{"name": "app"}]}}),
                )),
            ),
            (
                "risky-0",
                Arc::new(obj(
                    json!({"metadata": {"name": "risky-0"}, "spec": {"hostNetwork": true,
                    "containers": [{"name": "app", "securityContext": {"privileged": true}}]}}),
                )),
            ),
        ]);
        Self { labels, pods }
    }

    fn labels(&self, namespace: &str) -> Result<Option<&BTreeMap<String, String>>, ()> {
        match namespace {
            "broken" => Err(()),
            ns => Ok(self.labels.get(ns)),
        }
    }

    fn group_allowed(group: &str, request: &SarRequest) -> bool {
        match &request.attributes {
            Attributes::Resource(r) => group.ends_with("-admin") && r.resource != "nodes",
            Attributes::NonResource(_) => false,
        }
    }
}

struct Access(Arc<Targets>);

impl TargetAccess for Access {
    fn group_allowed<'a>(
        &'a self,
        _cluster: &'a str,
        group: &'a str,
        request: &'a SarRequest,
    ) -> BoxFuture<'a, Result<bool, AccessError>> {
        Box::pin(async move { Ok(Targets::group_allowed(group, request)) })
    }
    fn namespace_labels<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, AccessError>> {
        Box::pin(async move {
            self.0
                .labels(namespace)
                .map(|l| l.cloned())
                .map_err(|()| AccessError::Cluster {
                    cluster: cluster.to_owned(),
                    message: "unreadable".to_owned(),
                })
        })
    }
    fn pod<'a>(
        &'a self,
        _cluster: &'a str,
        _namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Pod>>, AccessError>> {
        Box::pin(async move { Ok(self.0.pods.get(name).cloned()) })
    }
}

fn app(stores: Stores, targets: Arc<Targets>) -> App {
    crate::install_crypto_provider();
    let hub =
        kube::Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
    let config = Config::parse(
        "server:\n  hardenedIDPHints: false\nfrontend:\n  baseURL: https://breakglass.example.com\nkubernetes:\n  oidcPrefixes: ['oidc:', 'keycloak:']\n",
    )
    .unwrap();
    let mut registry = prometheus_client::registry::Registry::default();
    App {
        authz: super::authz_config(&config),
        config: Arc::new(config),
        settings: Settings::default(),
        hub: hub.clone(),
        clusters: crate::clusters::ClusterClients::new(hub, stores.clone()),
        auth: crate::auth::Authenticator::new(),
        auth_ready: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        metrics: crate::metrics::Metrics::new(&mut registry),
        events: crate::events::EventBus::new(),
        activity: crate::activity::ActivityTracker::new(),
        sessions_by_user: crate::index::SessionIndex::from_sessions(stores.sessions.all()),
        debug_sessions_by_user: crate::debug::index::DebugSessionIndex::default(),
        escalations_by_cluster: crate::index::EscalationIndex::new(stores.escalations.clone()),
        deny_policies_by_cluster: crate::index::DenyPolicyIndex::new(stores.deny_policies.clone()),
        access: Arc::new(Access(targets)),
        audit: crate::audit::Audit::new(breakglass_audit::metrics::AuditMetrics::default()),
        stores,
    }
}

/// The decision from the plain inputs (see the module docs), with the same target
/// answers as [`Access`].
fn reference(
    app: &App,
    targets: &Targets,
    cluster: &str,
    request: &SarRequest,
    now: Timestamp,
) -> Decision {
    let stores = &app.stores;
    let info = match stores.cluster(cluster) {
        ClusterLookup::Found(cc) => Some(ClusterInfo::from_cluster_config(&cc)),
        ClusterLookup::Missing | ClusterLookup::Ambiguous => None,
    };
    let mine: Vec<Arc<BreakglassSession>> = stores
        .sessions
        .filter(|s| s.spec.cluster == cluster && s.spec.user == request.user);
    let overrides: Vec<_> = mine
        .iter()
        .map(|s| {
            let owner = breakglass_core::session::owning_escalation(s)?;
            let esc = stores
                .escalations
                .get(s.metadata.namespace.as_deref(), &owner.name)
                .filter(|e| e.metadata.uid.as_deref() == Some(owner.uid.as_str()))?;
            esc.spec.pod_security_overrides.clone()
        })
        .collect();
    let inputs: Vec<SessionInput<'_>> = mine
        .iter()
        .zip(&overrides)
        .map(|(s, o)| SessionInput {
            session: s,
            pod_security_overrides: o.as_ref(),
        })
        .collect();
    let all_policies = stores.deny_policies.all();
    let policies: Vec<&DenyPolicy> = all_policies.iter().map(AsRef::as_ref).collect();
    let idps = stores.identity_providers.all();
    let issuer_idp_name = request.issuer.as_deref().and_then(|iss| {
        idps.iter()
            .find(|i| i.effective_issuer() == iss.trim_end_matches('/'))
            .and_then(|i| i.metadata.name.clone())
    });
    let mut groups = esc_core::normalize_groups(&request.groups, app.prefixes());
    groups.push("system:authenticated".to_owned());
    let escalations_available = if info.is_some() {
        let wanted = esc_core::Request {
            cluster,
            user_groups: &groups,
            provider: issuer_idp_name.as_deref(),
        };
        stores
            .escalations
            .all()
            .iter()
            .filter(|e| esc_core::is_available(e, &wanted, app.prefixes()))
            .count()
    } else {
        0
    };
    let idp = IdpHints {
        issuer_idp_name,
        available: idps
            .iter()
            .filter(|i| i.spec.disabled != Some(true))
            .filter_map(|i| i.metadata.name.clone())
            .collect(),
    };
    let input = AuthzInput {
        cluster_name: cluster,
        cluster: info.as_ref(),
        request,
        sessions: &inputs,
        policies: &policies,
        debug_session: None,
        escalations_available,
        idp: &idp,
        namespace_labels: NamespaceLabels::NotFetched,
        pod: PodInfo::NotFetched,
        now,
    };
    authz::decide(
        &input,
        &app.authz,
        |needs, filled| {
            if let Some(ns) = &needs.namespace_labels {
                filled.namespace_labels = match targets.labels(ns) {
                    Ok(Some(l)) => NamespaceLabels::Known(l),
                    Ok(None) => NamespaceLabels::Missing,
                    Err(()) => NamespaceLabels::Unavailable,
                };
            }
            if let Some(p) = &needs.pod {
                filled.pod = match targets.pods.get(p.name.as_str()) {
                    Some(pod) => PodInfo::Known(pod),
                    None => PodInfo::Unavailable,
                };
            }
        },
        |plan| {
            // As the webhook's group check: candidates in order, each spelling in
            // order, stop at the first allow.
            let mut results = GroupCheckResults::default();
            for c in &plan.candidates {
                let allowed = c
                    .spellings
                    .iter()
                    .find(|s| Targets::group_allowed(s, request));
                results.sessions.push(SessionCheck {
                    namespace: c.namespace.clone(),
                    session: c.session.clone(),
                    outcome: match allowed {
                        Some(group) => ProbeOutcome::Allowed {
                            group: group.clone(),
                        },
                        None => ProbeOutcome::NotAllowed,
                    },
                });
                if allowed.is_some() {
                    break;
                }
            }
            results
        },
    )
}

/// Every review of the corpus decides identically on both paths, and the corpus
/// reaches every stage the policies and sessions can decide in.
#[tokio::test]
async fn indexed_decisions_equal_the_plain_pipeline() {
    let now = Timestamp::now();
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let stores = Stores {
        clusters: Mirror::from_objects(clusters()),
        escalations: Mirror::from_objects(escalations(&mut rng)),
        sessions: Mirror::from_objects(sessions(&mut rng, now)),
        deny_policies: Mirror::from_objects(policies(&mut rng)),
        identity_providers: Mirror::from_objects(identity_providers()),
        ..Stores::empty()
    };
    let targets = Arc::new(Targets::new());
    let app = app(stores, targets.clone());
    let mut mix: BTreeMap<String, usize> = BTreeMap::new();
    let mut stages: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (cluster, request)) in reviews(&mut rng).iter().enumerate() {
        let indexed = super::decide(&app, cluster, request, now).await;
        let plain = reference(&app, &targets, cluster, request, now);
        assert_eq!(
            indexed, plain,
            "review {i} on {cluster}: {request:#?}\nindexed: {indexed:#?}\nplain: {plain:#?}"
        );
        *mix.entry(format!(
            "{}/{}",
            indexed.decision_label(),
            indexed.deny_source()
        ))
        .or_default() += 1;
        *stages.entry(indexed.trace.stage.name()).or_default() += 1;
    }
    for stage in [
        "deny-policy",
        "pod-security",
        "policy-error",
        "impersonation",
        "session",
        "no-session",
        "final",
    ] {
        assert!(
            stages.get(stage).is_some_and(|n| *n >= 5),
            "the corpus should reach the stage {stage} several times: {stages:?}"
        );
    }
    for stage in [
        "allowed/session",
        "denied/cluster-missing",
        "denied/global",
        "denied/policy-error",
        "denied/final",
        "denied/impersonation-policy",
        "denied/system-masters",
        "denied/legacy-fallback-forbidden",
    ] {
        assert!(
            mix.get(stage).is_some_and(|n| *n >= 5),
            "the corpus should reach {stage} several times: {mix:?}"
        );
    }
}
