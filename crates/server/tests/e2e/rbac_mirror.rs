//! Group checks from the mirrored target RBAC (`breakglass_server::rbac`):
//!
//! - a differential test: random but realistic RBAC on target-a and random requests,
//!   every answer of the mirror compared with the target apiserver's own
//!   SubjectAccessReview (`RBAC_DIFF_REQUESTS`, default 1,500; `RBAC_DIFF_SEED`;
//!   `cargo xtask rbac-diff` runs 10,000);
//! - kubectl through the webhook: grants come from the mirror (no SubjectAccessReview
//!   to the target), and a removed RoleBinding or a narrowed role denies the very next
//!   request.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use breakglass_core::rbac::Request;
use breakglass_server::rbac::ClusterRbac;
use futures::StreamExt;
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;
use crate::webhook::{Target, can_i};

const A: &str = "target-a";

/// A deterministic pseudo-random sequence (xorshift64*), so a seed reproduces a run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
    /// 1..=max distinct picks.
    fn some<T: Clone + PartialEq>(&mut self, from: &[T], max: usize) -> Vec<T> {
        let n = 1 + self.below(max);
        let mut out = Vec::new();
        for _ in 0..n {
            let v = self.pick(from).clone();
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }
}

const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
    "*",
];
const API_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "rbac.authorization.k8s.io",
    "example.com",
    "*",
];
const RULE_RESOURCES: &[&str] = &[
    "pods",
    "pods/exec",
    "pods/log",
    "pods/status",
    "*/status",
    "*/scale",
    "deployments",
    "deployments/scale",
    "secrets",
    "configmaps",
    "nodes",
    "jobs",
    "roles",
    "*",
    "serviceaccounts/token",
];
const NAMES: &[&str] = &["a", "b", "web-0"];
const URLS: &[&str] = &[
    "/healthz",
    "/healthz/*",
    "/metrics",
    "/api/*",
    "/apis",
    "/logs/*",
    "*",
    "/version",
];
const REQ_RESOURCES: &[&str] = &[
    "pods",
    "deployments",
    "secrets",
    "configmaps",
    "nodes",
    "jobs",
    "roles",
    "serviceaccounts",
];
const REQ_SUBRESOURCES: &[&str] = &["", "", "", "exec", "log", "status", "scale", "token"];
const REQ_NAMES: &[&str] = &["", "", "a", "b", "web-0", "c"];
const PATHS: &[&str] = &[
    "/healthz",
    "/healthz/etcd",
    "/metrics",
    "/api",
    "/api/v1",
    "/apis",
    "/logs/x",
    "/version",
    "/readyz",
];

fn strings(v: &[&str]) -> Value {
    json!(v)
}

/// One random rule; `cluster_scoped` rules may be non-resource rules.
fn random_rule(rng: &mut Rng, cluster_scoped: bool) -> Value {
    if cluster_scoped && rng.chance(25) {
        return json!({"verbs": strings(&rng.some(&["get", "post", "*"], 2)),
            "nonResourceURLs": strings(&rng.some(URLS, 2))});
    }
    let mut rule = json!({
        "verbs": strings(&rng.some(VERBS, 3)),
        "apiGroups": strings(&rng.some(API_GROUPS, 2)),
        "resources": strings(&rng.some(RULE_RESOURCES, 3)),
    });
    if rng.chance(30) {
        rule["resourceNames"] = strings(&rng.some(NAMES, 2));
    }
    rule
}

fn rules(rng: &mut Rng, cluster_scoped: bool) -> Value {
    let n = 1 + rng.below(3);
    Value::Array((0..n).map(|_| random_rule(rng, cluster_scoped)).collect())
}

/// The random world of one run: objects to create and the vocabulary of subjects.
struct World {
    id: String,
    namespaces: Vec<String>,
    groups: Vec<String>,
    users: Vec<String>,
    cluster_roles: Vec<Value>,
    cluster_bindings: Vec<Value>,
    roles: Vec<Value>,
    bindings: Vec<Value>,
}

const LABEL: &str = "breakglass.e2e/rbac-diff";

fn world(rng: &mut Rng, id: &str) -> World {
    let p = format!("rbd-{id}");
    let namespaces: Vec<String> = (0..3).map(|i| format!("{p}-ns{i}")).collect();
    let groups: Vec<String> = (0..10).map(|i| format!("{p}-g{i}")).collect();
    let sa = |ns: &str, name: &str| format!("system:serviceaccount:{ns}:{name}");
    let users = vec![
        breakglass_server::target_access::SESSION_CHECK_USER.to_owned(),
        format!("{p}-alice"),
        sa(&namespaces[0], "sa0"),
        sa(&namespaces[1], "sa1"),
        sa("default", "sa0"),
    ];
    let meta = |name: String, ns: Option<&str>| {
        let mut m = json!({"name": name, "labels": {LABEL: id}});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        m
    };
    let agg_label = format!("{p}-agg");
    let mut cluster_roles = Vec::new();
    for i in 0..20 {
        let mut m = meta(format!("{p}-cr{i}"), None);
        if i < 4 {
            m["labels"][&agg_label] = json!(if i % 2 == 0 { "x" } else { "y" });
        }
        cluster_roles.push(json!({"metadata": m, "rules": rules(rng, true)}));
    }
    for (i, v) in ["x", "y"].iter().enumerate() {
        cluster_roles.push(json!({"metadata": meta(format!("{p}-agg{i}"), None),
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {&agg_label: v}}]}}));
    }
    let cr_names: Vec<String> = cluster_roles
        .iter()
        .map(|r| {
            r["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .chain([format!("{p}-missing")])
        .collect();
    let mut roles = Vec::new();
    for i in 0..12 {
        let ns = rng.pick(&namespaces).clone();
        roles.push(json!({"metadata": meta(format!("{p}-r{}", i % 6), Some(&ns)), "rules": rules(rng, false)}));
    }
    // Names may repeat within a namespace: keep the first.
    let mut seen = std::collections::HashSet::new();
    roles.retain(|r| {
        seen.insert((
            r["metadata"]["namespace"].to_string(),
            r["metadata"]["name"].to_string(),
        ))
    });
    let subject = |rng: &mut Rng, namespaced: bool| -> Value {
        match rng.below(10) {
            0..=5 => json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                "name": if rng.chance(10) { "system:serviceaccounts".to_owned() } else { rng.pick(&groups).clone() }}),
            6 | 7 => {
                json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": rng.pick(&users).clone()})
            }
            _ => {
                let name = rng.pick(&["sa0", "sa1"]).to_string();
                if namespaced && rng.chance(50) {
                    json!({"kind": "ServiceAccount", "name": name})
                } else {
                    let ns = if rng.chance(80) {
                        rng.pick(&namespaces).clone()
                    } else {
                        "default".to_owned()
                    };
                    json!({"kind": "ServiceAccount", "name": name, "namespace": ns})
                }
            }
        }
    };
    let subjects = |rng: &mut Rng, namespaced: bool| {
        let n = 1 + rng.below(3);
        Value::Array((0..n).map(|_| subject(rng, namespaced)).collect())
    };
    let role_ref = |kind: &str, name: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name});
    let mut cluster_bindings = Vec::new();
    for i in 0..12 {
        cluster_bindings.push(json!({"metadata": meta(format!("{p}-crb{i}"), None),
            "roleRef": role_ref("ClusterRole", rng.pick(&cr_names).as_str()),
            "subjects": subjects(rng, false)}));
    }
    let role_names: Vec<String> = (0..6).map(|i| format!("{p}-r{i}")).collect();
    let mut bindings = Vec::new();
    for i in 0..20 {
        let ns = rng.pick(&namespaces).clone();
        let rr = if rng.chance(50) {
            role_ref("Role", rng.pick(&role_names).as_str())
        } else {
            role_ref("ClusterRole", rng.pick(&cr_names).as_str())
        };
        bindings.push(json!({"metadata": meta(format!("{p}-rb{i}"), Some(&ns)),
            "roleRef": rr, "subjects": subjects(rng, true)}));
    }
    World {
        id: id.to_owned(),
        namespaces,
        groups,
        users,
        cluster_roles,
        cluster_bindings,
        roles,
        bindings,
    }
}

/// One random question: user, groups, request.
#[derive(Debug, Clone)]
struct Question {
    user: String,
    groups: Vec<String>,
    /// `(verb, group, resource, subresource, namespace, name)` or `(verb, path)`.
    resource: Option<[String; 6]>,
    non_resource: Option<[String; 2]>,
}

impl Question {
    fn request(&self) -> Request<'_> {
        match (&self.resource, &self.non_resource) {
            (Some([verb, group, resource, subresource, namespace, name]), _) => Request::Resource {
                verb,
                group,
                resource,
                subresource,
                namespace,
                name,
            },
            (None, Some([verb, path])) => Request::NonResource { verb, path },
            (None, None) => Request::NonResource { verb: "", path: "" },
        }
    }

    fn review(&self) -> anyhow::Result<SubjectAccessReview> {
        let mut spec = json!({"user": self.user, "groups": self.groups});
        if let Some([verb, group, resource, subresource, namespace, name]) = &self.resource {
            spec["resourceAttributes"] = json!({"verb": verb, "group": group, "resource": resource,
                "subresource": subresource, "namespace": namespace, "name": name});
        } else if let Some([verb, path]) = &self.non_resource {
            spec["nonResourceAttributes"] = json!({"verb": verb, "path": path});
        }
        Ok(serde_json::from_value(json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}))?)
    }
}

fn question(rng: &mut Rng, w: &World) -> Question {
    let user = rng.pick(&w.users).clone();
    let mut groups: Vec<String> = if rng.chance(15) {
        Vec::new()
    } else {
        rng.some(&w.groups, 3)
    };
    if rng.chance(10) {
        groups.push(
            rng.pick(&[
                "system:authenticated",
                "system:serviceaccounts",
                "system:masters",
                "system:authenticated",
            ])
            .to_string(),
        );
    }
    if rng.chance(20) {
        let path = if rng.chance(70) {
            rng.pick(PATHS).to_string()
        } else {
            format!("/logs/{}", rng.pick(&["a", "b/c", ""]))
        };
        return Question {
            user,
            groups,
            resource: None,
            non_resource: Some([rng.pick(&["get", "post", "put"]).to_string(), path]),
        };
    }
    let ns = match rng.below(10) {
        0..=6 => rng.pick(&w.namespaces).clone(),
        7 => "default".to_owned(),
        _ => String::new(),
    };
    let verb = rng.pick(&VERBS[..VERBS.len() - 1]).to_string();
    let group = rng.pick(&API_GROUPS[..API_GROUPS.len() - 1]).to_string();
    Question {
        user,
        groups,
        resource: Some([
            verb,
            group,
            rng.pick(REQ_RESOURCES).to_string(),
            rng.pick(REQ_SUBRESOURCES).to_string(),
            ns,
            rng.pick(REQ_NAMES).to_string(),
        ]),
        non_resource: None,
    }
}

async fn create_world(client: &kube::Client, w: &World) -> anyhow::Result<()> {
    let pp = PostParams::default();
    let nss: Api<Namespace> = Api::all(client.clone());
    for ns in &w.namespaces {
        nss.create(
            &pp,
            &serde_json::from_value(json!({"metadata": {"name": ns, "labels": {LABEL: w.id}}}))?,
        )
        .await?;
    }
    let crs: Api<ClusterRole> = Api::all(client.clone());
    for r in &w.cluster_roles {
        crs.create(&pp, &serde_json::from_value(r.clone())?).await?;
    }
    for r in &w.roles {
        let ns = r["metadata"]["namespace"].as_str().unwrap_or_default();
        Api::<Role>::namespaced(client.clone(), ns)
            .create(&pp, &serde_json::from_value(r.clone())?)
            .await?;
    }
    let crbs: Api<ClusterRoleBinding> = Api::all(client.clone());
    for b in &w.cluster_bindings {
        crbs.create(&pp, &serde_json::from_value(b.clone())?)
            .await?;
    }
    for b in &w.bindings {
        let ns = b["metadata"]["namespace"].as_str().unwrap_or_default();
        Api::<RoleBinding>::namespaced(client.clone(), ns)
            .create(&pp, &serde_json::from_value(b.clone())?)
            .await?;
    }
    Ok(())
}

async fn delete_world(client: &kube::Client, id: &str) {
    let lp = ListParams::default().labels(&format!("{LABEL}={id}"));
    let dp = DeleteParams::background();
    let _ = Api::<ClusterRoleBinding>::all(client.clone())
        .delete_collection(&dp, &lp)
        .await;
    let _ = Api::<ClusterRole>::all(client.clone())
        .delete_collection(&dp, &lp)
        .await;
    let nss: Api<Namespace> = Api::all(client.clone());
    if let Ok(list) = nss.list(&lp).await {
        for ns in list {
            if let Some(name) = ns.metadata.name {
                let _ = nss.delete(&name, &dp).await;
            }
        }
    }
}

async fn apiserver_allows(client: &kube::Client, q: &Question) -> anyhow::Result<bool> {
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let r = api.create(&PostParams::default(), &q.review()?).await?;
    Ok(r.status
        .is_some_and(|s| s.allowed && s.denied != Some(true)))
}

/// Sentinels of every kind, created after the world: each kind's watch delivers in
/// order, so once both sides see a kind's sentinel they have seen all of that kind.
async fn sync_both(client: &kube::Client, w: &World, mirror: &ClusterRbac) -> anyhow::Result<()> {
    let p = format!("rbd-{}", w.id);
    // The aggregation controller first: its writes must precede the sentinels.
    let crs: Api<ClusterRole> = Api::all(client.clone());
    for i in 0..2 {
        let name = format!("{p}-agg{i}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        loop {
            let rules = serde_json::to_string(&crs.get(&name).await?.rules)?;
            if rules == last && rules != "null" && rules != "[]" {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{name} was not aggregated: {rules}"
            );
            last = rules;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let ns = &w.namespaces[0];
    let group = format!("{p}-sentinel");
    let rule = json!([{"verbs": ["get"], "apiGroups": ["sentinel.example.com"], "resources": ["cr", "r"]}]);
    let meta = |name: &str, ns: Option<&str>| {
        let mut m = json!({"name": name, "labels": {LABEL: w.id}});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        m
    };
    let subjects =
        json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group}]);
    let pp = PostParams::default();
    let sentinel_cr = format!("{p}-sentinel");
    crs.create(
        &pp,
        &serde_json::from_value(json!({"metadata": meta(&sentinel_cr, None), "rules": rule}))?,
    )
    .await?;
    Api::<Role>::namespaced(client.clone(), ns)
        .create(
            &pp,
            &serde_json::from_value(
                json!({"metadata": meta("sentinel", Some(ns)), "rules": rule}),
            )?,
        )
        .await?;
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&pp, &serde_json::from_value(json!({"metadata": meta(&sentinel_cr, None),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": sentinel_cr},
            "subjects": subjects}))?)
        .await?;
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&pp, &serde_json::from_value(json!({"metadata": meta("sentinel", Some(ns)),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sentinel"},
            "subjects": subjects}))?)
        .await?;
    let probe = |resource: &str, namespace: &str| Question {
        user: "rbd-sentinel-user".to_owned(),
        groups: vec![group.clone()],
        resource: Some([
            "get".to_owned(),
            "sentinel.example.com".to_owned(),
            resource.to_owned(),
            String::new(),
            namespace.to_owned(),
            String::new(),
        ]),
        non_resource: None,
    };
    // The ClusterRole/ClusterRoleBinding pair (cluster-wide) and the Role/RoleBinding
    // pair (only through the namespace's binding, since the ClusterRole lacks "r").
    let probes = [probe("cr", ""), probe("r", ns)];
    wait_for(
        Duration::from_secs(20),
        "both sides see the sentinels",
        || async {
            for q in &probes {
                let local = mirror.allows(
                    &q.user,
                    &q.groups.iter().map(String::as_str).collect::<Vec<_>>(),
                    &q.request(),
                );
                if local != Ok(true) || !apiserver_allows(client, q).await? {
                    return Ok(false);
                }
            }
            Ok(true)
        },
    )
    .await
}

/// Random RBAC and requests; the mirror must answer every request exactly as the
/// apiserver's own SubjectAccessReview does.
#[tokio::test]
async fn the_mirror_answers_exactly_as_the_apiserver() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let count: usize = std::env::var("RBAC_DIFF_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500);
    let seed: u64 = std::env::var("RBAC_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let client = env.target_client(A).await?;
    let id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let mut rng = Rng::new(seed);
    let w = world(&mut rng, &id);
    let mirror = ClusterRbac::watch(A, &client);
    let outcome = async {
        create_world(&client, &w).await?;
        sync_both(&client, &w, &mirror).await?;
        let questions: Vec<Question> = (0..count).map(|_| question(&mut rng, &w)).collect();
        let started = Instant::now();
        let answers: Vec<anyhow::Result<bool>> = futures::stream::iter(&questions)
            .map(|q| apiserver_allows(&client, q))
            .buffered(8)
            .collect()
            .await;
        let took = started.elapsed();
        let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
        let mut mismatches = Vec::new();
        for (q, theirs) in questions.iter().zip(answers) {
            let theirs = theirs?;
            let groups: Vec<&str> = q.groups.iter().map(String::as_str).collect();
            let ours = mirror
                .allows(&q.user, &groups, &q.request())
                .map_err(|f| anyhow::anyhow!("the mirror stopped answering: {f:?}"))?;
            *tally.entry(if theirs { "allowed" } else { "denied" }).or_default() += 1;
            if ours != theirs {
                // Ask both again: a disagreement that persists is a semantic one.
                let theirs_again = apiserver_allows(&client, q).await?;
                let ours_again = mirror.allows(&q.user, &groups, &q.request()).unwrap_or(!theirs_again);
                if ours_again != theirs_again {
                    mismatches.push(format!(
                        "{q:?}: apiserver {theirs_again}, mirror {ours_again} (grant {:?})",
                        mirror.explain(&q.user, &groups, &q.request())
                    ));
                }
            }
        }
        note(&format!(
            "rbac differential: seed {seed}, {count} requests ({tally:?}), {} disagreements; {} objects mirrored; apiserver answered in {took:?}",
            mismatches.len(),
            mirror.counts().objects()
        ));
        anyhow::ensure!(
            mismatches.is_empty(),
            "seed {seed}: {} of {count} answers differ:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
        // Both answers must have been seen, or the corpus proves little.
        anyhow::ensure!(
            tally.get("allowed").copied().unwrap_or(0) > count / 50,
            "seed {seed}: too few allowed requests to be meaningful: {tally:?}"
        );
        Ok(())
    }
    .await;
    delete_world(&client, &id).await;
    outcome
}

/// kubectl as a session holder: the webhook's group checks are answered by the
/// server's mirror of target-a's RBAC (no fallback to SubjectAccessReviews), and
/// removing the RoleBinding, or narrowing its role, denies the next request.
#[tokio::test]
async fn grants_follow_the_targets_rbac_at_once() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "rbmirror").await?;
    let group = fx.group("mirror");
    let ns = format!("rbm-{}", fx.id);
    let mut target = Target::new(&env, &fx.id).await?;
    target.namespace(&env, A, &ns, json!({})).await?;
    target
        .grant(
            &env,
            A,
            &ns,
            &group,
            json!([{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list"]}]),
        )
        .await?;
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let r = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        api.act(&r.name(), "approve", &approver, None).await?.status,
        200
    );
    let metric = |name: &'static str| {
        let url = server.url.clone();
        async move { metric_sum(&url, name, &format!("cluster=\"{A}\"")).await }
    };
    let pods = ["get", "pods", "-n", ns.as_str()];
    wait_for(Duration::from_secs(10), "the session grants", || async {
        Ok(env.kubectl(A, Some(&requester), &pods).await?.success())
    })
    .await?;
    let fallback_before = metric("breakglass_webhook_rbac_fallback_checks_total").await?;
    let local_before = metric("breakglass_webhook_rbac_local_checks_total").await?;
    for args in [pods, ["get", "configmaps", "-n", ns.as_str()]] {
        let out = env.kubectl(A, Some(&requester), &args).await?;
        assert!(out.success(), "{args:?}: {}", out.stderr);
    }
    assert!(
        !can_i(&env, A, &requester, &["delete", "pods", "-n", &ns]).await?,
        "the role grants reading only"
    );
    let local_after = metric("breakglass_webhook_rbac_local_checks_total").await?;
    assert!(
        local_after >= local_before + 3.0,
        "group checks answered locally: {local_before} -> {local_after}"
    );
    assert_eq!(
        metric("breakglass_webhook_rbac_fallback_checks_total").await?,
        fallback_before,
        "no group check went to the target"
    );

    // Narrowing the role: configmaps go, pods stay.
    let client = env.target_client(A).await?;
    let role = format!("bg-e2e-{}-{group}", fx.id);
    let roles: Api<ClusterRole> = Api::all(client.clone());
    roles
        .replace(
            &role,
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": role,
                "resourceVersion": roles.get(&role).await?.metadata.resource_version},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}))?,
        )
        .await?;
    let out = env
        .kubectl(A, Some(&requester), &["get", "configmaps", "-n", &ns])
        .await?;
    assert!(
        !out.success(),
        "a narrowed role still granted: {}",
        out.stdout
    );
    assert!(env.kubectl(A, Some(&requester), &pods).await?.success());

    // Removing the binding: the very next request is denied.
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), &ns);
    let started = Instant::now();
    bindings.delete(&role, &DeleteParams::default()).await?;
    let out = env.kubectl(A, Some(&requester), &pods).await?;
    let took = started.elapsed();
    assert!(
        !out.success(),
        "the next request after the RoleBinding's removal was allowed: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains("forbidden") || out.stderr.contains("Forbidden"),
        "{}",
        out.stderr
    );
    note(&format!(
        "rbac mirror: RoleBinding removed -> kubectl denied, {took:?} including kubectl"
    ));
    assert_eq!(
        metric("breakglass_webhook_rbac_fallback_checks_total").await?,
        fallback_before,
        "no group check went to the target"
    );
    target.cleanup(&env).await?;
    fx.cleanup().await
}

/// The sum of a metric's samples whose labels contain `labels`, from `/metrics`.
async fn metric_sum(url: &str, name: &str, labels: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("{url}/metrics")).await?.text().await?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{') && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// `breakglass_revocation_latency_seconds`: a session that expires, and one that is
/// dropped, are each observed once, at the first decision that no longer rests on
/// them. (The `automation` user, whom no other test gives sessions on target-a, so
/// that nothing else moves its counters.)
#[tokio::test]
async fn revocations_are_timed_to_the_first_decision_that_reflects_them() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "revoke").await?;
    let group = fx.group("revoke");
    let long_group = fx.group("revoke-long");
    let ns = format!("rvk-{}", fx.id);
    let mut target = Target::new(&env, &fx.id).await?;
    target.namespace(&env, A, &ns, json!({})).await?;
    for g in [&group, &long_group] {
        target
            .grant(
                &env,
                A,
                &ns,
                g,
                json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]),
            )
            .await?;
    }
    let automation = |group: &str, valid: &str| {
        let mut esc = spec(&[A], group);
        esc["allowed"]["groups"] = json!(["automation"]);
        with(esc, json!({"maxValidFor": valid, "approvalTimeout": valid}))
    };
    fx.escalation("short", automation(&group, "4s")).await?;
    fx.escalation("long", automation(&long_group, "1h")).await?;
    let api = RestClient::new(&server.url);
    let user = token(&env, "automation").await?;
    let approver = token(&env, "approver").await?;
    let count = |cause: &'static str| {
        let url = server.url.clone();
        async move {
            metric_sum(
                &url,
                "breakglass_revocation_latency_seconds_count",
                &format!("cause=\"{cause}\""),
            )
            .await
        }
    };
    let list = ["list", "pods", "-n", ns.as_str()];

    let expired_before = count("expired").await?;
    let r = api.request(&user, A, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        api.act(&r.name(), "approve", &approver, None).await?.status,
        200
    );
    crate::webhook::until_can_i(&env, A, &user, &list, true, Duration::from_secs(5)).await?;
    crate::webhook::until_can_i(&env, A, &user, &list, false, Duration::from_secs(20)).await?;
    assert_eq!(
        count("expired").await?,
        expired_before + 1.0,
        "the expiry is observed once"
    );

    let ended_before = count("ended").await?;
    let r = api.request(&user, A, &long_group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();
    assert_eq!(
        api.act(&name, "approve", &approver, None).await?.status,
        200
    );
    crate::webhook::until_can_i(&env, A, &user, &list, true, Duration::from_secs(5)).await?;
    assert_eq!(api.act(&name, "drop", &user, None).await?.status, 200);
    crate::webhook::until_can_i(&env, A, &user, &list, false, Duration::from_secs(5)).await?;
    assert_eq!(
        count("ended").await?,
        ended_before + 1.0,
        "the drop is observed once"
    );
    target.cleanup(&env).await?;
    fx.cleanup().await
}
