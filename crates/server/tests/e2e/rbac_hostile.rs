//! The RBAC mirror under attack or failure (`breakglass_server::rbac`): whatever happens
//! to the mirror, a group check gets the target's true answer, and it is answered
//! locally only while the mirror is complete.
//!
//! - the server's target credentials lose the right to list/watch Roles and
//!   RoleBindings while it runs: group checks fall back to SubjectAccessReviews (and
//!   stay correct while the target's RBAC changes), and the mirror answers again
//!   within its restart window once the right is back;
//! - a flood of Roles past `webhook.localRBACMaxObjects`: group checks fall back
//!   (reason `too_large`), also for a binding created after the bound was crossed,
//!   and the mirror answers again once the flood is gone.
//!
//! Each test registers a ClusterConfig of its own (reaching a real target) and runs a
//! server of its own, so that the shared identities and the shared server are never
//! touched; the server's webhook receives the SubjectAccessReview a target apiserver
//! sends.

use std::time::{Duration, Instant};

use breakglass_api::cluster_config::ClusterConfig;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

/// Label on every object these tests create (value: the test's kind), so that a failed
/// run's leftovers are removed by the next run.
const LABEL: &str = "breakglass.e2e/rbac-hostile";

const LOCAL: &str = "breakglass_webhook_rbac_local_checks_total";
const FALLBACK: &str = "breakglass_webhook_rbac_fallback_checks_total";

/// The sum of a metric's samples whose label set contains every one of `labels`.
async fn metric(url: &str, name: &str, labels: &[&str]) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("{url}/metrics")).await?.text().await?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// Removes what a previous run of the `kind` test left behind (hub and `target`).
async fn remove_leftovers(env: &TestEnv, target: &str, kind: &str) {
    let lp = ListParams::default().labels(&format!("{LABEL}={kind}"));
    let dp = DeleteParams::background();
    if let Ok(hub) = env.hub_client().await {
        let _ = Api::<ClusterConfig>::namespaced(hub.clone(), SYSTEM_NS)
            .delete_collection(&dp, &lp)
            .await;
        let _ = Api::<Secret>::namespaced(hub, SYSTEM_NS)
            .delete_collection(&dp, &lp)
            .await;
    }
    if let Ok(client) = env.target_client(target).await {
        let _ = Api::<ClusterRoleBinding>::all(client.clone())
            .delete_collection(&dp, &lp)
            .await;
        let _ = Api::<ClusterRole>::all(client.clone())
            .delete_collection(&dp, &lp)
            .await;
        let nss: Api<Namespace> = Api::all(client);
        if let Ok(list) = nss.list(&lp).await {
            for ns in list {
                if let Some(name) = ns.metadata.name {
                    let _ = nss.delete(&name, &dp).await;
                }
            }
        }
    }
}

/// Removes the test's objects when it ends, also when it fails or panics.
struct Cleanup {
    env: TestEnv,
    target: &'static str,
    kind: &'static str,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (env, target, kind) = (self.env.clone(), self.target, self.kind);
        run_detached(move || async move { remove_leftovers(&env, target, kind).await });
    }
}

/// Registers ClusterConfig `name` on the hub, reaching its target through
/// `kubeconfig`, and waits until the leader `server` reports it Ready.
async fn register_cluster(
    env: &TestEnv,
    name: &str,
    kind: &str,
    kubeconfig: &str,
) -> anyhow::Result<()> {
    let hub = env.hub_client().await?;
    let secret = format!("{name}-kubeconfig");
    Api::<Secret>::namespaced(hub.clone(), SYSTEM_NS)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": secret, "labels": {LABEL: kind}},
                "stringData": {"value": kubeconfig}}))?,
        )
        .await?;
    let ccs: Api<ClusterConfig> = Api::namespaced(hub, SYSTEM_NS);
    ccs.create(&PostParams::default(), &serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
        "metadata": {"name": name, "namespace": SYSTEM_NS, "labels": {LABEL: kind}},
        "spec": {"tenant": "tenant-hostile", "kubeconfigSecretRef": {"name": secret, "namespace": SYSTEM_NS}}}))?)
        .await?;
    wait_for(
        Duration::from_secs(30),
        &format!("{name} Ready"),
        || async {
            let cc = ccs.get(name).await?;
            Ok(cc
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True"))
        },
    )
    .await
}

/// A server of the test's own (leader of its own Lease) with `webhook` settings
/// `webhook` (indented lines). SubjectAccessReview answers are not cached
/// (`groupCheckCacheTTL: 0s`; by default they may be 5 s old), so that every fallback
/// answer is the target's current one.
async fn own_server(env: &TestEnv, id: &str, webhook: &str) -> anyhow::Result<ServerProcess> {
    let lease = format!("bg-e2e-hostile-{id}");
    let mut spec = ServerSpec::on_free_port(&lease, &format!("hostile-{id}"))?;
    spec.extra_server_config = format!("webhook:\n  groupCheckCacheTTL: 0s\n{webhook}");
    let server = ServerProcess::start(env, spec).await?;
    wait_leader(
        env,
        &lease,
        &format!("hostile-{id}"),
        Duration::from_secs(30),
    )
    .await?;
    Ok(server)
}

/// Asks the server's webhook for `cluster` what the target apiserver would ask for
/// `requester@example.com` (group `developers`): `verb` on core `resource` in `ns`.
#[derive(Clone)]
struct Webhook {
    api: RestClient,
    path: String,
    group_prefix: String,
}

impl Webhook {
    fn new(server: &ServerProcess, env: &TestEnv, cluster: &str) -> Self {
        Self {
            api: RestClient::new(&server.url()),
            path: format!("/api/breakglass/webhook/authorize/{cluster}"),
            group_prefix: env.group_prefix().to_owned(),
        }
    }

    async fn allows(&self, verb: &str, resource: &str, ns: &str) -> anyhow::Result<bool> {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "requester@example.com",
                "groups": [format!("{}developers", self.group_prefix), "system:authenticated"],
                "resourceAttributes": {"verb": verb, "resource": resource, "namespace": ns, "version": "v1"}}});
        let r = self.api.call("POST", &self.path, None, Some(body)).await?;
        anyhow::ensure!(r.status == 200, "webhook: {} {}", r.status, r.text);
        Ok(r.body["status"]["allowed"].as_bool().unwrap_or(false))
    }
}

/// An escalation to `group` on `cluster` and an approved session of the requester.
async fn approved_session(
    fx: &Fixture,
    server: &ServerProcess,
    env: &TestEnv,
    cluster: &str,
    group: &str,
) -> anyhow::Result<()> {
    fx.escalation("esc", spec(&[cluster], group)).await?;
    let api = RestClient::new(&server.url());
    let requester = token(env, "requester").await?;
    let approver = token(env, "approver").await?;
    let r = api.request(&requester, cluster, group, json!({})).await?;
    anyhow::ensure!(r.status == 201, "session request: {}", r.text);
    let approved = api.act(&r.name(), "approve", &approver, None).await?;
    anyhow::ensure!(approved.status == 200, "approval: {}", approved.text);
    Ok(())
}

/// A ClusterRole with `rules`, labelled for cleanup.
async fn cluster_role(
    client: &kube::Client,
    name: &str,
    kind: &str,
    rules: Value,
) -> anyhow::Result<()> {
    Api::<ClusterRole>::all(client.clone())
        .patch(
            name,
            &PatchParams::apply("breakglass-e2e").force(),
            &Patch::Apply(&json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name, "labels": {LABEL: kind}}, "rules": rules})),
        )
        .await?;
    Ok(())
}

/// Binds group `oidc:<group>` to ClusterRole `role` in `ns` (RoleBinding `role`).
async fn bind(
    env: &TestEnv,
    client: &kube::Client,
    ns: &str,
    role: &str,
    group: &str,
) -> anyhow::Result<()> {
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                "name": format!("{}{group}", env.group_prefix())}]}))?)
        .await?;
    Ok(())
}

/// The rules of `breakglass-target` in `config/rbac/target.yaml`.
fn documented_target_rules() -> anyhow::Result<Vec<Value>> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/rbac/target.yaml");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(&path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    docs.into_iter()
        .find(|d| d["metadata"]["name"] == "breakglass-target")
        .and_then(|d| d["rules"].as_array().cloned())
        .ok_or_else(|| anyhow::anyhow!("no breakglass-target ClusterRole in target.yaml"))
}

/// Whether a rule grants anything on Roles or RoleBindings.
fn about_roles(rule: &Value) -> bool {
    rule["resources"]
        .as_array()
        .is_some_and(|r| r.iter().any(|r| r == "roles" || r == "rolebindings"))
}

/// The server's target credentials lose list/watch on Roles and RoleBindings while it
/// runs. Group checks fall back to SubjectAccessReviews (reason `failing`) and follow
/// the target's RBAC as it changes during the outage; once the right is restored the
/// mirror is rebuilt within its restart window and answers locally again.
#[tokio::test]
async fn a_cut_watch_falls_back_answers_correctly_and_recovers() -> anyhow::Result<()> {
    const KIND: &str = "cut";
    let Some(env) = env()? else { return Ok(()) };
    let started = Instant::now();
    const T: &str = "target-a";
    // While its ClusterConfig exists every server on the hub mirrors it and logs the
    // 403s: not alongside the test that requires a log without any.
    let _hub = exclusive().await?;
    remove_leftovers(&env, T, KIND).await;
    let _cleanup = Cleanup {
        env: env.clone(),
        target: T,
        kind: KIND,
    };
    let id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let cluster = format!("rh-{id}");
    let target = env.target_client(T).await?;
    let ns = format!("rh-{id}");
    Api::<Namespace>::all(target.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns, "labels": {LABEL: KIND}}}))?,
        )
        .await?;
    // The server reaches the target as a ServiceAccount with the documented rights,
    // through a ClusterRole of this test's own that it can narrow.
    let identity = format!("bg-e2e-rh-{id}");
    let full = documented_target_rules()?;
    let cut: Vec<Value> = full.iter().filter(|r| !about_roles(r)).cloned().collect();
    anyhow::ensure!(cut.len() < full.len(), "target.yaml grants no Role rights");
    cluster_role(&target, &identity, KIND, Value::Array(full.clone())).await?;
    let kubeconfig = crate::rbac::service_account_kubeconfig(
        &env,
        T,
        (ns.as_str(), identity.as_str()),
        &identity,
        None,
    )
    .await?;
    // The binding the helper made, labelled for cleanup.
    Api::<ClusterRoleBinding>::all(target.clone())
        .patch(
            &identity,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {LABEL: KIND}}})),
        )
        .await?;
    let server = own_server(&env, &id, "").await?;
    register_cluster(&env, &cluster, KIND, &kubeconfig).await?;
    let fx = Fixture::new(&env, "rbhostile").await?;
    let group = fx.group("cut");
    let (pods, configmaps) = (format!("{identity}-pods"), format!("{identity}-cm"));
    cluster_role(
        &target,
        &pods,
        KIND,
        json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
    )
    .await?;
    cluster_role(
        &target,
        &configmaps,
        KIND,
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]),
    )
    .await?;
    bind(&env, &target, &ns, &pods, &group).await?;
    approved_session(&fx, &server, &env, &cluster, &group).await?;
    let hook = Webhook::new(&server, &env, &cluster);
    let url = server.url();
    let c = format!("cluster=\"{cluster}\"");
    let counts = || async {
        Ok::<_, anyhow::Error>((
            metric(&url, LOCAL, &[&c]).await?,
            metric(&url, FALLBACK, &[&c]).await?,
        ))
    };

    // Healthy: answered from the mirror.
    wait_for(
        Duration::from_secs(15),
        "the session grants pods, locally",
        || async {
            let (local, _) = counts().await?;
            Ok(hook.allows("get", "pods", &ns).await? && counts().await?.0 > local)
        },
    )
    .await?;

    // The cut. Open watches keep the rights they were started with, so the Secret is
    // touched (as a credential rotation would): the cluster's client is rebuilt and its
    // mirror re-lists with the narrowed rights.
    cluster_role(&target, &identity, KIND, Value::Array(cut)).await?;
    let cut_at = Instant::now();
    Api::<Secret>::namespaced(env.hub_client().await?, SYSTEM_NS)
        .patch(
            &format!("{cluster}-kubeconfig"),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"breakglass.e2e/rotated": id}}})),
        )
        .await?;
    let failing = "reason=\"failing\"";
    wait_for(
        Duration::from_secs(20),
        "group checks fall back as failing",
        || async {
            let before = metric(&url, FALLBACK, &[&c, failing]).await?;
            hook.allows("get", "pods", &ns).await?;
            Ok(metric(&url, FALLBACK, &[&c, failing]).await? > before)
        },
    )
    .await?;
    note(&format!(
        "rbac hostile: the cut was seen after {:?}",
        cut_at.elapsed()
    ));

    // The target's RBAC changes during the outage; every answer must be the target's.
    let (local0, fallback0) = counts().await?;
    let failing0 = metric(&url, FALLBACK, &[&c, failing]).await?;
    Api::<RoleBinding>::namespaced(target.clone(), &ns)
        .delete(&pods, &DeleteParams::default())
        .await?;
    bind(&env, &target, &ns, &configmaps, &group).await?;
    let decisions = [
        ("get", "configmaps", true),
        ("list", "configmaps", true),
        ("get", "pods", false),
        ("delete", "configmaps", false),
        ("get", "secrets", false),
    ];
    for (verb, resource, want) in decisions {
        anyhow::ensure!(
            hook.allows(verb, resource, &ns).await? == want,
            "during the outage: {verb} {resource} should be {want}"
        );
    }
    let (local1, fallback1) = counts().await?;
    anyhow::ensure!(
        local1 == local0,
        "the mirror answered while a watch was failing: local {local0} -> {local1}"
    );
    anyhow::ensure!(
        fallback1 >= fallback0 + decisions.len() as f64,
        "every group check went to the target: fallback {fallback0} -> {fallback1}"
    );
    anyhow::ensure!(
        metric(&url, FALLBACK, &[&c, failing]).await? > failing0,
        "fallbacks counted as failing"
    );

    // The right comes back: the failing mirror is replaced within its restart window
    // (10 s failing, the supervisor's 5 s tick, a list) and answers locally again.
    cluster_role(&target, &identity, KIND, Value::Array(full)).await?;
    let restored_at = Instant::now();
    wait_for(
        Duration::from_secs(30),
        "the mirror answers again",
        || async {
            let (local, _) = counts().await?;
            Ok(hook.allows("get", "configmaps", &ns).await? && counts().await?.0 > local)
        },
    )
    .await?;
    let recovered = restored_at.elapsed();
    note(&format!(
        "rbac hostile: mirror local again {recovered:?} after the right was restored"
    ));
    anyhow::ensure!(
        recovered <= Duration::from_secs(25),
        "recovery took {recovered:?}"
    );
    let (local2, fallback2) = counts().await?;
    for (verb, resource, want) in decisions {
        anyhow::ensure!(
            hook.allows(verb, resource, &ns).await? == want,
            "after recovery: {verb} {resource} should be {want}"
        );
    }
    let (local3, fallback3) = counts().await?;
    anyhow::ensure!(
        local3 >= local2 + decisions.len() as f64 && fallback3 == fallback2,
        "after recovery every group check is local: local {local2} -> {local3}, fallback {fallback2} -> {fallback3}"
    );
    server.stop()?;
    fx.cleanup().await?;
    note(&format!(
        "rbac hostile: cut watch test took {:?}",
        started.elapsed()
    ));
    Ok(())
}

/// RBAC objects on a target (the four kinds the mirror holds).
async fn rbac_objects(client: &kube::Client) -> anyhow::Result<usize> {
    let lp = ListParams::default();
    Ok(Api::<ClusterRole>::all(client.clone())
        .list(&lp)
        .await?
        .items
        .len()
        + Api::<ClusterRoleBinding>::all(client.clone())
            .list(&lp)
            .await?
            .items
            .len()
        + Api::<Role>::all(client.clone())
            .list(&lp)
            .await?
            .items
            .len()
        + Api::<RoleBinding>::all(client.clone())
            .list(&lp)
            .await?
            .items
            .len())
}

/// A flood of Roles takes the target past `webhook.localRBACMaxObjects` while the
/// server runs: group checks fall back (reason `too_large`) and stay correct, also for
/// a binding created and one deleted after the bound was crossed; once the flood is
/// deleted the mirror answers locally again.
#[tokio::test]
async fn a_flood_past_the_bound_falls_back_and_never_answers_from_a_partial_mirror()
-> anyhow::Result<()> {
    flood_scenario("flood", false).await
}

/// The same with the flood in place before the server starts, so that the mirror's
/// first list of Roles already crosses the bound (that list is dropped, not half
/// kept): it falls back from the start and answers locally once the flood is gone.
#[tokio::test]
async fn a_mirror_listed_past_the_bound_falls_back_and_recovers_once_the_flood_goes()
-> anyhow::Result<()> {
    flood_scenario("flood-start", true).await
}

/// One flood at a time: each test's bound leaves no room for the other's flood.
static FLOODS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn flood_scenario(kind: &'static str, before_start: bool) -> anyhow::Result<()> {
    let _one_flood = FLOODS.lock().await;
    const T: &str = "target-b";
    let Some(env) = env()? else { return Ok(()) };
    let started = Instant::now();
    remove_leftovers(&env, T, kind).await;
    let _cleanup = Cleanup {
        env: env.clone(),
        target: T,
        kind,
    };
    let id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let cluster = format!("rf-{id}");
    let target = env.target_client(T).await?;
    let ns = format!("rf-{id}");
    Api::<Namespace>::all(target.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns, "labels": {LABEL: kind}}}))?,
        )
        .await?;
    let (pods, configmaps) = (format!("bg-e2e-rf-{id}-pods"), format!("bg-e2e-rf-{id}-cm"));
    cluster_role(
        &target,
        &pods,
        kind,
        json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
    )
    .await?;
    cluster_role(
        &target,
        &configmaps,
        kind,
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]),
    )
    .await?;
    let fx = Fixture::new(&env, "rbflood").await?;
    let group = fx.group("flood");
    bind(&env, &target, &ns, &configmaps, &group).await?;
    // A grant through a Role, the kind the flood is made of: a mirror that kept part
    // of a list (or none of it) would deny it.
    Api::<Role>::namespaced(target.clone(), &ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "metadata": {"name": "secrets", "labels": {LABEL: "grant"}},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}))?,
        )
        .await?;
    Api::<RoleBinding>::namespaced(target.clone(), &ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "metadata": {"name": "secrets"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secrets"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                "name": format!("{}{group}", env.group_prefix())}]}))?,
        )
        .await?;
    // Room for what other tests create meanwhile, not for the flood.
    let bound = rbac_objects(&target).await? + 25;
    // The flood (before the server starts, or once its mirror answers). Before the
    // start it holds more Roles than the bound, so that the first list of Roles alone
    // crosses it.
    let count = if before_start { bound + 20 } else { 60 };
    let roles: Api<Role> = Api::namespaced(target.clone(), &ns);
    let flood = || async {
        let rule = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]);
        let made: Vec<anyhow::Result<()>> = futures::future::join_all((0..count).map(|i| {
            let (roles, rule) = (roles.clone(), rule.clone());
            async move {
                roles
                    .create(&PostParams::default(), &serde_json::from_value(json!({
                        "metadata": {"name": format!("flood-{i}"), "labels": {LABEL: kind}}, "rules": rule}))?)
                    .await?;
                Ok(())
            }
        }))
        .await;
        made.into_iter()
            .collect::<anyhow::Result<Vec<()>>>()
            .map(|_| Instant::now())
    };
    let mut flooded = if before_start {
        Some(flood().await?)
    } else {
        None
    };
    let server = own_server(&env, &id, &format!("  localRBACMaxObjects: {bound}\n")).await?;
    // The hub identity of testenv, as target-b's own ClusterConfig uses it.
    let secret = Api::<Secret>::namespaced(env.hub_client().await?, SYSTEM_NS)
        .get(&format!("{T}-kubeconfig"))
        .await?;
    let kubeconfig = secret
        .data
        .and_then(|d| d.get("value").cloned())
        .ok_or_else(|| anyhow::anyhow!("{T}-kubeconfig has no value"))?;
    register_cluster(&env, &cluster, kind, &String::from_utf8(kubeconfig.0)?).await?;
    approved_session(&fx, &server, &env, &cluster, &group).await?;
    let hook = Webhook::new(&server, &env, &cluster);
    let url = server.url();
    let c = format!("cluster=\"{cluster}\"");
    let counts = || async {
        Ok::<_, anyhow::Error>((
            metric(&url, LOCAL, &[&c]).await?,
            metric(&url, FALLBACK, &[&c]).await?,
        ))
    };
    if flooded.is_none() {
        wait_for(
            Duration::from_secs(15),
            "the session grants configmaps, locally",
            || async {
                let (local, _) = counts().await?;
                Ok(hook.allows("get", "configmaps", &ns).await? && counts().await?.0 > local)
            },
        )
        .await?;
        flooded = Some(flood().await?);
    }
    let flooded = flooded.unwrap_or_else(Instant::now);
    let too_large = "reason=\"too_large\"";
    wait_for(
        Duration::from_secs(15),
        "group checks fall back as too_large",
        || async {
            let before = metric(&url, FALLBACK, &[&c, too_large]).await?;
            hook.allows("get", "configmaps", &ns).await?;
            Ok(metric(&url, FALLBACK, &[&c, too_large]).await? > before)
        },
    )
    .await?;
    note(&format!(
        "rbac hostile: over the bound ({bound}) seen after {:?}",
        flooded.elapsed()
    ));

    // Past the bound: a binding created and one deleted now decide.
    let (local0, fallback0) = counts().await?;
    let too_large0 = metric(&url, FALLBACK, &[&c, too_large]).await?;
    bind(&env, &target, &ns, &pods, &group).await?;
    Api::<RoleBinding>::namespaced(target.clone(), &ns)
        .delete(&configmaps, &DeleteParams::default())
        .await?;
    let decisions = [
        ("get", "pods", true),
        ("list", "pods", true),
        ("get", "configmaps", false),
        ("delete", "pods", false),
        ("get", "secrets", true),
        ("list", "secrets", false),
    ];
    for (verb, resource, want) in decisions {
        anyhow::ensure!(
            hook.allows(verb, resource, &ns).await? == want,
            "past the bound: {verb} {resource} should be {want}"
        );
    }
    let (local1, fallback1) = counts().await?;
    anyhow::ensure!(
        local1 == local0,
        "the mirror answered past its bound: local {local0} -> {local1}"
    );
    anyhow::ensure!(
        fallback1 >= fallback0 + decisions.len() as f64
            && metric(&url, FALLBACK, &[&c, too_large]).await?
                >= too_large0 + decisions.len() as f64,
        "every group check went to the target as too_large: fallback {fallback0} -> {fallback1}"
    );

    // The flood goes: local answers again, still correct.
    roles
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels(&format!("{LABEL}={kind}")),
        )
        .await?;
    let drained = Instant::now();
    // A mirror that dropped its list re-lists only when it is replaced (10 s after it
    // started, at the supervisor's next 5 s tick).
    wait_for(
        Duration::from_secs(if before_start { 30 } else { 15 }),
        "the mirror answers again",
        || async {
            let (local, _) = counts().await?;
            Ok(hook.allows("get", "pods", &ns).await? && counts().await?.0 > local)
        },
    )
    .await?;
    note(&format!(
        "rbac hostile: local again {:?} after the flood was deleted",
        drained.elapsed()
    ));
    let (local2, fallback2) = counts().await?;
    for (verb, resource, want) in decisions {
        anyhow::ensure!(
            hook.allows(verb, resource, &ns).await? == want,
            "after the flood: {verb} {resource} should be {want}"
        );
    }
    let (local3, fallback3) = counts().await?;
    anyhow::ensure!(
        local3 >= local2 + decisions.len() as f64 && fallback3 == fallback2,
        "after the flood every group check is local: local {local2} -> {local3}, fallback {fallback2} -> {fallback3}"
    );
    server.stop()?;
    fx.cleanup().await?;
    note(&format!(
        "rbac hostile: {kind} test took {:?}",
        started.elapsed()
    ));
    Ok(())
}

/// Moves an attacker with write access to some namespaces (or to ClusterRole labels)
/// might try, answered from the mirror exactly as the target's RBAC would: a
/// RoleBinding in another namespace, a binding to a User, a ServiceAccount or a Group
/// in other letter case named like the escalated group, and a ClusterRole aggregated
/// into (and out of) a bound role. (The group as stored, without the prefix, is one of
/// the spellings that are checked by design, see docs/webhook.md.)
#[tokio::test]
async fn the_mirror_is_not_fooled_by_bindings_elsewhere_or_lookalike_subjects() -> anyhow::Result<()>
{
    const KIND: &str = "moves";
    const T: &str = "target-a";
    let Some(env) = env()? else { return Ok(()) };
    let started = Instant::now();
    remove_leftovers(&env, T, KIND).await;
    let _cleanup = Cleanup {
        env: env.clone(),
        target: T,
        kind: KIND,
    };
    let id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let cluster = format!("rm-{id}");
    let target = env.target_client(T).await?;
    let (ns, other) = (format!("rm-{id}"), format!("rm-{id}-other"));
    for name in [&ns, &other] {
        Api::<Namespace>::all(target.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(
                    json!({"metadata": {"name": name, "labels": {LABEL: KIND}}}),
                )?,
            )
            .await?;
    }
    let fx = Fixture::new(&env, "rbmoves").await?;
    let group = fx.group("moves");
    let subject = format!("{}{group}", env.group_prefix());
    let server = own_server(&env, &id, "").await?;
    let secret = Api::<Secret>::namespaced(env.hub_client().await?, SYSTEM_NS)
        .get(&format!("{T}-kubeconfig"))
        .await?;
    let kubeconfig = secret
        .data
        .and_then(|d| d.get("value").cloned())
        .ok_or_else(|| anyhow::anyhow!("{T}-kubeconfig has no value"))?;
    register_cluster(&env, &cluster, KIND, &String::from_utf8(kubeconfig.0)?).await?;
    approved_session(&fx, &server, &env, &cluster, &group).await?;
    let hook = Webhook::new(&server, &env, &cluster);
    let url = server.url();
    let c = format!("cluster=\"{cluster}\"");

    // Pods in the other namespace only; lookalike subjects for secrets in ours.
    let pods = format!("bg-e2e-rm-{id}-pods");
    let secrets = format!("bg-e2e-rm-{id}-secrets");
    cluster_role(
        &target,
        &pods,
        KIND,
        json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
    )
    .await?;
    cluster_role(
        &target,
        &secrets,
        KIND,
        json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
    )
    .await?;
    bind(&env, &target, &other, &pods, &group).await?;
    Api::<RoleBinding>::namespaced(target.clone(), &ns)
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "lookalikes"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": secrets},
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": subject},
                {"kind": "ServiceAccount", "name": subject.replace(':', "-"), "namespace": ns},
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": subject.to_uppercase()},
            ]}))?)
        .await?;
    // An aggregated role, bound in our namespace, with nothing aggregated yet.
    let aggregate = format!("bg-e2e-rm-{id}-agg");
    let selector = format!("bg-e2e-rm-{id}/aggregate");
    Api::<ClusterRole>::all(target.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "metadata": {"name": aggregate, "labels": {LABEL: KIND}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {&selector: "true"}}]}}))?,
        )
        .await?;
    bind(&env, &target, &ns, &aggregate, &group).await?;
    let fallback0 = metric(&url, FALLBACK, &[&c]).await?;
    wait_for(
        Duration::from_secs(15),
        "pods in the other namespace, locally",
        || async {
            let local = metric(&url, LOCAL, &[&c]).await?;
            Ok(hook.allows("get", "pods", &other).await?
                && metric(&url, LOCAL, &[&c]).await? > local)
        },
    )
    .await?;
    for (verb, resource, namespace, want, why) in [
        (
            "get",
            "pods",
            ns.as_str(),
            false,
            "a RoleBinding in another namespace",
        ),
        (
            "get",
            "secrets",
            ns.as_str(),
            false,
            "a User, ServiceAccount or upper-case Group named like the group",
        ),
        (
            "get",
            "configmaps",
            ns.as_str(),
            false,
            "an aggregated role with nothing aggregated",
        ),
    ] {
        anyhow::ensure!(
            hook.allows(verb, resource, namespace).await? == want,
            "{why} decided {verb} {resource} in {namespace}"
        );
    }

    // A labelled ClusterRole is aggregated in by the controller manager: the grant
    // follows, and goes again with the label.
    let part = format!("bg-e2e-rm-{id}-part");
    let roles: Api<ClusterRole> = Api::all(target.clone());
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "metadata": {"name": part, "labels": {LABEL: KIND, &selector: "true"}},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}))?,
        )
        .await?;
    let aggregated = Instant::now();
    wait_for(
        Duration::from_secs(20),
        "the aggregated rule grants",
        || async { hook.allows("get", "configmaps", &ns).await },
    )
    .await?;
    note(&format!(
        "rbac hostile: aggregation followed after {:?}",
        aggregated.elapsed()
    ));
    anyhow::ensure!(
        !hook.allows("delete", "configmaps", &ns).await?,
        "only what was aggregated"
    );
    roles
        .patch(
            &part,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {&selector: null}}})),
        )
        .await?;
    wait_for(
        Duration::from_secs(20),
        "the aggregated rule is withdrawn",
        || async { Ok(!hook.allows("get", "configmaps", &ns).await?) },
    )
    .await?;
    anyhow::ensure!(
        metric(&url, FALLBACK, &[&c]).await? == fallback0,
        "every group check was answered from the mirror"
    );
    server.stop()?;
    fx.cleanup().await?;
    note(&format!(
        "rbac hostile: moves test took {:?}",
        started.elapsed()
    ));
    Ok(())
}
