//! The authorization webhook, enforced by the real target apiservers: `kubectl` with Dex
//! tokens against target-a and target-b (upstream scenarios §2.3, §2.4, §3.4).

use std::time::{Duration, Instant};

use breakglass_api::deny_policy::DenyPolicy;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const A: &str = "target-a";
const B: &str = "target-b";

/// Namespaces and RBAC on the targets for one test: the group `oidc:<group>` may do
/// what `rules` allow in every namespace of the test.
pub(crate) struct Target {
    id: String,
    env: TestEnv,
    namespaces: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    policies: Vec<String>,
}

impl Target {
    pub(crate) async fn new(env: &TestEnv, id: &str) -> anyhow::Result<Self> {
        Ok(Self {
            id: id.to_owned(),
            env: env.clone(),
            namespaces: Vec::new(),
            roles: Vec::new(),
            policies: Vec::new(),
        })
    }

    /// Creates a DenyPolicy on the hub, removed with the fixture.
    pub(crate) async fn policy(&mut self, name: &str, spec: Value) -> anyhow::Result<()> {
        policy(&self.env, name, spec).await?;
        self.policies.push(name.to_owned());
        Ok(())
    }

    /// Creates namespace `name` on `cluster` with `labels`.
    pub(crate) async fn namespace(
        &mut self,
        env: &TestEnv,
        cluster: &str,
        name: &str,
        labels: Value,
    ) -> anyhow::Result<()> {
        let client = env.target_client(cluster).await?;
        let api: Api<Namespace> = Api::all(client);
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?,
        )
        .await?;
        self.namespaces.push((cluster.to_owned(), name.to_owned()));
        Ok(())
    }

    /// Binds `oidc:<group>` to a role with `rules` in namespace `ns` of `cluster`.
    pub(crate) async fn grant(
        &mut self,
        env: &TestEnv,
        cluster: &str,
        ns: &str,
        group: &str,
        rules: Value,
    ) -> anyhow::Result<()> {
        let client = env.target_client(cluster).await?;
        let role_name = format!("bg-e2e-{}-{group}", self.id);
        let roles: Api<ClusterRole> = Api::all(client.clone());
        if roles.get_opt(&role_name).await?.is_none() {
            roles
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(
                        json!({"metadata": {"name": role_name}, "rules": rules}),
                    )?,
                )
                .await?;
            self.roles.push((cluster.to_owned(), role_name.clone()));
        }
        let bindings: Api<RoleBinding> = Api::namespaced(client, ns);
        bindings
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": {"name": role_name},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("{}{group}", env.group_prefix())}],
                }))?,
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn cleanup(mut self, env: &TestEnv) -> anyhow::Result<()> {
        remove(env, &self.namespaces, &self.roles, &self.policies).await;
        self.namespaces.clear();
        self.roles.clear();
        self.policies.clear();
        Ok(())
    }
}

async fn remove(
    env: &TestEnv,
    namespaces: &[(String, String)],
    roles: &[(String, String)],
    policies: &[String],
) {
    for name in policies {
        let _ = delete_policy(env, name).await;
    }
    for (cluster, ns) in namespaces {
        if let Ok(client) = env.target_client(cluster).await {
            let api: Api<Namespace> = Api::all(client);
            let _ = api.delete(ns, &DeleteParams::background()).await;
        }
    }
    for (cluster, role) in roles {
        if let Ok(client) = env.target_client(cluster).await {
            let api: Api<ClusterRole> = Api::all(client);
            let _ = api.delete(role, &DeleteParams::default()).await;
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if self.namespaces.is_empty() && self.roles.is_empty() && self.policies.is_empty() {
            return;
        }
        let env = self.env.clone();
        let (namespaces, roles, policies) = (
            std::mem::take(&mut self.namespaces),
            std::mem::take(&mut self.roles),
            std::mem::take(&mut self.policies),
        );
        run_detached(move || async move { remove(&env, &namespaces, &roles, &policies).await });
    }
}

pub(crate) fn broad_rules() -> Value {
    json!([
        {"apiGroups": [""], "resources": ["pods", "pods/exec", "pods/attach", "pods/portforward", "pods/log", "configmaps", "secrets", "services", "serviceaccounts"], "verbs": ["*"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "daemonsets"], "verbs": ["*"]},
    ])
}

/// `kubectl auth can-i …` as the token's user: true for "yes".
pub(crate) async fn can_i(
    env: &TestEnv,
    cluster: &str,
    token: &str,
    args: &[&str],
) -> anyhow::Result<bool> {
    let mut full = vec!["auth", "can-i"];
    full.extend_from_slice(args);
    let out = env.kubectl(cluster, Some(token), &full).await?;
    let answer = out.stdout.trim();
    if answer == "yes" {
        Ok(true)
    } else if answer == "no" || answer.starts_with("no - ") {
        Ok(false)
    } else {
        anyhow::bail!("kubectl auth can-i {args:?}: {answer:?} / {}", out.stderr)
    }
}

/// Waits until `can_i` gives `want`; returns how long that took.
pub(crate) async fn until_can_i(
    env: &TestEnv,
    cluster: &str,
    token: &str,
    args: &[&str],
    want: bool,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        if can_i(env, cluster, token, args).await? == want {
            return Ok(started.elapsed());
        }
        if started.elapsed() > timeout {
            anyhow::bail!(
                "kubectl auth can-i {args:?} on {cluster} did not become {want} within {timeout:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A session of the requester for `group` on `cluster`, approved by the approver (both
/// bearer tokens); its name.
pub(crate) async fn approved_session(
    url: &str,
    requester: &str,
    approver: &str,
    cluster: &str,
    group: &str,
) -> anyhow::Result<String> {
    let name = client(url, requester)?
        .request_session(&session_request(cluster, group))
        .await?
        .name()
        .to_owned();
    client(url, approver)?
        .approve_session(&name, &Default::default())
        .await?;
    Ok(name)
}

#[tokio::test]
async fn kubectl_follows_the_session_lifecycle() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "whlife").await?;
    let group = fx.group("pods-admin");
    let ns = format!("wh-{}", fx.id);
    let mut target = Target::new(&env, &fx.id).await?;
    for cluster in [A, B] {
        target.namespace(&env, cluster, &ns, json!({})).await?;
        target
            .grant(
                &env,
                cluster,
                &ns,
                &group,
                json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
            )
            .await?;
    }
    fx.escalation(
        "esc",
        with(
            spec(&[A], &group),
            json!({"maxValidFor": "8s", "approvalTimeout": "8s"}),
        ),
    )
    .await?;
    fx.escalation("long", with(spec(&[A], &fx.group("long")), json!({})))
        .await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let requester2 = token(&env, "requester2").await?;
    let approver = token(&env, "approver").await?;
    let list = ["list", "pods", "-n", ns.as_str()];

    // No session: Forbidden, and the reason says what to do.
    let out = env
        .kubectl(A, Some(&requester), &["get", "pods", "-n", &ns])
        .await?;
    assert!(!out.success(), "{}", out.stdout);
    assert!(
        out.stderr.contains("Forbidden") || out.stderr.contains("forbidden"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Access denied"),
        "reason missing: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("?search={A}")),
        "link missing: {}",
        out.stderr
    );
    assert!(!can_i(&env, A, &requester, &list).await?);

    // Pending grants nothing; approved grants exactly the bound rights, only on target-a.
    let r = api.request(&requester, A, &group, json!({})).await?;
    let name = r.name();
    assert!(
        !can_i(&env, A, &requester, &list).await?,
        "a pending session must not grant"
    );
    assert_eq!(
        api.act(&name, "approve", &approver, None).await?.status,
        200
    );
    let took = until_can_i(&env, A, &requester, &list, true, Duration::from_secs(5)).await?;
    note(&format!("webhook: access after approval in {took:?}"));
    let out = env
        .kubectl(A, Some(&requester), &["get", "pods", "-n", &ns])
        .await?;
    assert!(out.success(), "{}", out.stderr);
    // The allow carries the grant id the target's audit log records: this session, the
    // escalation it came from and who approved it.
    let r = api
        .call(
            "POST",
            &format!("/api/breakglass/webhook/authorize/{A}"),
            None,
            Some(review(
                "requester@example.com",
                &["system:authenticated"],
                json!({"verb": "list", "resource": "pods", "namespace": ns, "version": "v1"}),
            )),
        )
        .await?;
    assert_eq!(r.body["status"]["allowed"], true, "{}", r.text);
    let reason = r.body["status"]["reason"].as_str().unwrap_or_default();
    let grant = breakglass_core::authz::grant::Grant::find(reason).expect("a grant id");
    assert_eq!(grant.name, name, "{reason}");
    assert_eq!(grant.cluster, A);
    assert_eq!(grant.detail.as_deref(), Some(group.as_str()), "{reason}");
    assert_eq!(grant.origin.as_deref(), Some("esc"), "{reason}");
    assert_eq!(
        grant.approver.as_deref(),
        Some("approver@example.com"),
        "{reason}"
    );
    assert!(
        !can_i(&env, A, &requester, &["delete", "pods", "-n", &ns]).await?,
        "RBAC of the group limits the grant"
    );
    assert!(!can_i(&env, A, &requester, &["list", "secrets", "-n", &ns]).await?);
    assert!(
        !can_i(&env, B, &requester, &list).await?,
        "a session for target-a must not work on target-b"
    );
    assert!(
        !can_i(&env, A, &requester2, &list).await?,
        "another user of the same group has no session"
    );

    // Expiry: Forbidden again within 2 s of expiresAt.
    let s = fx.session(&name).await?;
    let expires = s
        .status
        .and_then(|st| st.expires_at)
        .map(|t| t.0)
        .expect("expiresAt");
    until_can_i(&env, A, &requester, &list, false, Duration::from_secs(20)).await?;
    let late = jiff::Timestamp::now().duration_since(expires);
    note(&format!("webhook: forbidden {late:?} after expiresAt"));
    assert!(
        late.as_secs_f64() <= 2.0,
        "still allowed {late:?} after expiry"
    );

    // Drop, cancel, withdraw and reject each end access at once.
    let long = fx.group("long");
    target
        .grant(
            &env,
            A,
            &ns,
            &long,
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
        )
        .await?;
    for how in ["drop", "cancel"] {
        let name = approved_session(&server.url, &requester, &approver, A, &long).await?;
        until_can_i(&env, A, &requester, &list, true, Duration::from_secs(5)).await?;
        let actor = if how == "cancel" {
            &approver
        } else {
            &requester
        };
        assert_eq!(api.act(&name, how, actor, None).await?.status, 200);
        let took = until_can_i(&env, A, &requester, &list, false, Duration::from_secs(5)).await?;
        note(&format!("webhook: forbidden {took:?} after {how}"));
        assert!(
            took <= Duration::from_secs(2),
            "{how}: still allowed after {took:?}"
        );
    }
    for how in ["withdraw", "reject"] {
        let name = api.request(&requester, A, &long, json!({})).await?.name();
        let actor = if how == "reject" {
            &approver
        } else {
            &requester
        };
        assert_eq!(api.act(&name, how, actor, None).await?.status, 200);
        assert!(!can_i(&env, A, &requester, &list).await?, "{how}");
    }
    // The activity of the granted requests reached the session status.
    let name = approved_session(&server.url, &requester, &approver, A, &long).await?;
    until_can_i(&env, A, &requester, &list, true, Duration::from_secs(5)).await?;
    wait_for(Duration::from_secs(10), "lastActivity", || async {
        let s = fx.session(&name).await?;
        Ok(s.status
            .is_some_and(|st| st.last_activity.is_some() && st.activity_count.unwrap_or(0) >= 1))
    })
    .await?;
    target.cleanup(&env).await?;
    fx.cleanup().await
}

pub(crate) async fn policy(env: &TestEnv, name: &str, spec: Value) -> anyhow::Result<()> {
    let hub = env.hub_client().await?;
    let api: Api<DenyPolicy> = Api::all(hub);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "DenyPolicy",
            "metadata": {"name": name},
            "spec": spec,
        }))?,
    )
    .await?;
    Ok(())
}

pub(crate) async fn delete_policy(env: &TestEnv, name: &str) -> anyhow::Result<()> {
    let api: Api<DenyPolicy> = Api::all(env.hub_client().await?);
    let _ = api.delete(name, &DeleteParams::default()).await;
    Ok(())
}

#[tokio::test]
async fn deny_policies_guard_what_sessions_grant() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "whdeny").await?;
    let group = fx.group("ops");
    let ns = format!("wh-{}", fx.id);
    let prod = format!("wh-{}-production", fx.id);
    let labelled = format!("wh-{}-labelled", fx.id);
    let critical = format!("wh-{}-critical", fx.id);
    let mut target = Target::new(&env, &fx.id).await?;
    target.namespace(&env, A, &ns, json!({})).await?;
    target.namespace(&env, A, &prod, json!({})).await?;
    target
        .namespace(
            &env,
            A,
            &labelled,
            json!({"env": format!("prod-{}", fx.id)}),
        )
        .await?;
    target.namespace(&env, A, &critical, json!({})).await?;
    for n in [&ns, &prod, &labelled, &critical] {
        target.grant(&env, A, n, &group, broad_rules()).await?;
    }
    fx.escalation("esc", spec(&[A], &group)).await?;
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let session = approved_session(&server.url, &requester, &approver, A, &group).await?;
    until_can_i(
        &env,
        A,
        &requester,
        &["list", "pods", "-n", &ns],
        true,
        Duration::from_secs(5),
    )
    .await?;

    let mine = json!({"patterns": [format!("wh-{}*", fx.id)]});
    let p = |n: &str| format!("e2e-{}-{n}", fx.id);
    // DP-001 verbs, DP-002 resources, DP-004 API groups, DP-005 resource names, DP-007
    // precedence (two policies both enforced), DP-011 a policy for another cluster.
    target.policy(&p("verbs"), json!({"rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"], "namespaces": mine}]})).await?;
    target.policy(&p("secrets"), json!({"precedence": 10, "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"], "namespaces": mine}]})).await?;
    target.policy(&p("apps"), json!({"precedence": 50, "rules": [{"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*"], "namespaces": mine}]})).await?;
    target.policy(&p("names"), json!({"rules": [{"verbs": ["*"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["database-*"], "namespaces": mine}]})).await?;
    target.policy(&p("elsewhere"), json!({"appliesTo": {"clusters": ["other-cluster"]}, "rules": [{"verbs": ["*"], "apiGroups": [""], "resources": ["serviceaccounts"], "namespaces": mine}]})).await?;
    target.policy(&p("prod"), json!({"appliesTo": {"clusters": [A]}, "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": {"patterns": [prod.clone()]}}]})).await?;
    policy(
        &env,
        &p("labels"),
        json!({"rules": [{"verbs": ["*"], "apiGroups": [""], "resources": ["pods"],
        "namespaces": {"selectorTerms": [{"matchLabels": {"env": format!("prod-{}", fx.id)}}]}}]}),
    )
    .await?;
    target.policy(
        &p("mixed"),
        json!({"rules": [{"verbs": ["delete"], "apiGroups": [""], "resources": ["configmaps"],
            "namespaces": {"patterns": [critical.clone()], "selectorTerms": [{"matchLabels": {"env": format!("prod-{}", fx.id)}}]}}]}),
    )
    .await?;
    target.policy(&p("session"), json!({"appliesTo": {"sessions": [session.clone()]}, "rules": [{"verbs": ["create"], "apiGroups": [""], "resources": ["services"], "namespaces": mine}]})).await?;

    let n = ns.as_str();
    let cases: Vec<(Vec<&str>, bool, &str)> = vec![
        (vec!["delete", "pods", "-n", n], false, "DP-001 delete pods"),
        (vec!["list", "pods", "-n", n], true, "DP-001 list pods"),
        (vec!["get", "secrets", "-n", n], false, "DP-002 secrets"),
        (
            vec!["get", "configmaps", "-n", n],
            true,
            "DP-002 configmaps",
        ),
        (
            vec!["get", "deployments.apps", "-n", n],
            false,
            "DP-004 apps",
        ),
        (
            vec!["get", "services", "-n", n],
            true,
            "DP-004 core services",
        ),
        (
            vec!["get", "configmaps/database-password", "-n", n],
            false,
            "DP-005 named",
        ),
        (
            vec!["get", "configmaps/other-configmap", "-n", n],
            true,
            "DP-005 other name",
        ),
        (
            vec!["get", "serviceaccounts", "-n", n],
            true,
            "DP-011 other cluster",
        ),
        (
            vec!["get", "pods", "-n", &prod],
            false,
            "DP-003 production namespace",
        ),
        (
            vec!["get", "pods", "-n", &labelled],
            false,
            "label selector",
        ),
        (
            vec!["get", "configmaps", "-n", &labelled],
            true,
            "label selector other resource",
        ),
        (
            vec!["create", "services", "-n", n],
            false,
            "session-scoped policy",
        ),
        (
            vec!["delete", "configmaps", "-n", &critical],
            false,
            "mixed filter: pattern",
        ),
        (
            vec!["delete", "configmaps", "-n", &labelled],
            false,
            "mixed filter: selector",
        ),
        (
            vec!["delete", "configmaps", "-n", n],
            true,
            "mixed filter: neither",
        ),
    ];
    for (args, want, what) in &cases {
        until_can_i(&env, A, &requester, args, *want, Duration::from_secs(5))
            .await
            .map_err(|e| e.context(*what))?;
    }
    // The reason names the policy and what can be done.
    let out = env
        .kubectl(A, Some(&requester), &["get", "secrets", "-n", n])
        .await?;
    assert!(
        out.stderr
            .contains(&format!("Denied by policy {}", p("secrets"))),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("breakglass escalation(s) available"),
        "{}",
        out.stderr
    );
    // Precedence: both the precedence-10 and the precedence-50 policies hold, and a
    // request both would deny names the one evaluated first.
    target.policy(&p("secrets-too"), json!({"precedence": 5, "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"], "namespaces": mine}]})).await?;
    wait_for(Duration::from_secs(5), "precedence 5 wins", || async {
        let out = env
            .kubectl(A, Some(&requester), &["get", "secrets", "-n", n])
            .await?;
        Ok(out
            .stderr
            .contains(&format!("Denied by policy {}", p("secrets-too"))))
    })
    .await?;
    // Label changes on the target are seen (namespace labels are watched).
    let namespaces: Api<Namespace> = Api::all(env.target_client(A).await?);
    namespaces
        .patch(
            &labelled,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": {"env": "dev"}}})),
        )
        .await?;
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "pods", "-n", &labelled],
        true,
        Duration::from_secs(5),
    )
    .await?;
    // Deleting a policy takes effect without a restart.
    delete_policy(&env, &p("verbs")).await?;
    until_can_i(
        &env,
        A,
        &requester,
        &["delete", "pods", "-n", n],
        true,
        Duration::from_secs(5),
    )
    .await?;
    for name in [
        "secrets",
        "secrets-too",
        "apps",
        "names",
        "elsewhere",
        "prod",
        "labels",
        "session",
        "mixed",
    ] {
        delete_policy(&env, &p(name)).await?;
    }
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "secrets", "-n", n],
        true,
        Duration::from_secs(5),
    )
    .await?;
    target.cleanup(&env).await?;
    fx.cleanup().await
}

pub(crate) fn pod(name: &str, spec: Value) -> anyhow::Result<Pod> {
    let mut full = json!({"containers": [{"name": "main", "image": "busybox:stable"}]});
    if let (Some(f), Some(s)) = (full.as_object_mut(), spec.as_object()) {
        for (k, v) in s {
            f.insert(k.clone(), v.clone());
        }
    }
    Ok(serde_json::from_value(
        json!({"metadata": {"name": name}, "spec": full}),
    )?)
}

#[tokio::test]
async fn pod_security_rules_score_real_pods() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "whpod").await?;
    let group = fx.group("exec");
    let override_group = fx.group("sre");
    let ns = format!("wh-{}", fx.id);
    let exempt = format!("wh-{}-system", fx.id);
    let mut target = Target::new(&env, &fx.id).await?;
    target.namespace(&env, A, &ns, json!({})).await?;
    target.namespace(&env, A, &exempt, json!({})).await?;
    for n in [&ns, &exempt] {
        target.grant(&env, A, n, &group, broad_rules()).await?;
        target
            .grant(&env, A, n, &override_group, broad_rules())
            .await?;
    }
    let client = env.target_client(A).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let specs = [
        ("safe", json!({})),
        ("hostnet", json!({"hostNetwork": true})),
        ("hostpid", json!({"hostPID": true})),
        (
            "privileged",
            json!({"containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"privileged": true}}]}),
        ),
        (
            "sysadmin",
            json!({"containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}),
        ),
        (
            "netraw",
            json!({"containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"capabilities": {"add": ["NET_RAW"]}}}]}),
        ),
        (
            "netadmin-hostnet",
            json!({"hostNetwork": true, "containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}),
        ),
    ];
    for (name, spec) in &specs {
        pods.create(&PostParams::default(), &pod(name, spec.clone())?)
            .await?;
    }
    let exempt_pods: Api<Pod> = Api::namespaced(client, &exempt);
    exempt_pods
        .create(&PostParams::default(), &pod("privileged", json!({"containers": [{"name": "main", "image": "busybox:stable", "securityContext": {"privileged": true}}]}))?)
        .await?;

    // A user no other test uses, so the reasons depend only on this test's sessions.
    fx.escalation(
        "esc",
        with(
            spec(&[A], &group),
            json!({"allowed": {"clusters": [A], "groups": ["breakglass-admins"]}}),
        ),
    )
    .await?;
    fx.escalation(
        "sre",
        with(
            spec(&[A], &override_group),
            json!({"podSecurityOverrides": {"enabled": true, "maxAllowedScore": 200}}),
        ),
    )
    .await?;
    let requester = token(&env, "admin").await?;
    let requester2 = token(&env, "requester2").await?;
    let approver = token(&env, "approver").await?;
    let session = approved_session(&server.url, &requester, &approver, A, &group).await?;
    let sre_session =
        approved_session(&server.url, &requester2, &approver, A, &override_group).await?;
    let policy_name = format!("e2e-{}-podsec", fx.id);
    target.policy(&policy_name, json!({
        "appliesTo": {"clusters": [A], "sessions": [session.clone(), sre_session.clone()]},
        "podSecurityRules": {
            "riskFactors": {"hostNetwork": 40, "hostPID": 50, "privilegedContainer": 100, "capabilities": {"SYS_ADMIN": 90, "NET_ADMIN": 30, "NET_RAW": 10}},
            "thresholds": [
                {"maxScore": 49, "action": "allow"},
                {"maxScore": 79, "action": "warn"},
                {"maxScore": 1000, "action": "deny", "reason": "risk score {{.Score}} too high ({{.Factors}})"}
            ],
            "blockFactors": ["hostPID"],
            "exemptions": {"namespaces": {"patterns": [exempt.clone()]}},
            "failMode": "closed"
        }
    })).await?;

    let exec = |pod: &str, namespace: &str| {
        vec![
            "create".to_owned(),
            format!("pods/{pod}"),
            "--subresource=exec".to_owned(),
            "-n".to_owned(),
            namespace.to_owned(),
        ]
    };
    let cases: Vec<(&str, &str, &str, bool, &str)> = vec![
        (&requester, "safe", ns.as_str(), true, "score 0"),
        (
            &requester,
            "hostnet",
            ns.as_str(),
            true,
            "hostNetwork 40 ≤ 49",
        ),
        (&requester, "netraw", ns.as_str(), true, "NET_RAW 10"),
        (
            &requester,
            "netadmin-hostnet",
            ns.as_str(),
            true,
            "hostNetwork + NET_ADMIN = 70: warn, allowed",
        ),
        (&requester, "sysadmin", ns.as_str(), false, "SYS_ADMIN 90"),
        (
            &requester,
            "privileged",
            ns.as_str(),
            false,
            "privileged 100",
        ),
        (
            &requester,
            "hostpid",
            ns.as_str(),
            false,
            "hostPID is a block factor",
        ),
        (
            &requester,
            "missing-pod",
            ns.as_str(),
            false,
            "fail closed without the pod",
        ),
        (
            &requester,
            "privileged",
            exempt.as_str(),
            true,
            "exempt namespace",
        ),
        (
            &requester2,
            "privileged",
            ns.as_str(),
            true,
            "escalation override maxAllowedScore 200",
        ),
        (
            &requester2,
            "hostpid",
            ns.as_str(),
            false,
            "block factors hold despite the override",
        ),
    ];
    for (who, pod, namespace, want, what) in &cases {
        let args = exec(pod, namespace);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        until_can_i(&env, A, who, &args, *want, Duration::from_secs(5))
            .await
            .map_err(|e| e.context(*what))?;
    }
    // attach is scored too; log is not (not in the default subresources).
    assert!(
        !can_i(
            &env,
            A,
            &requester,
            &[
                "create",
                "pods/privileged",
                "--subresource=attach",
                "-n",
                &ns
            ]
        )
        .await?
    );
    assert!(
        can_i(
            &env,
            A,
            &requester,
            &["get", "pods/privileged", "--subresource=log", "-n", &ns]
        )
        .await?
    );
    // Real kubectl exec: refused by the webhook with the rendered reason.
    let out = env
        .kubectl(
            A,
            Some(&requester),
            &["exec", "-n", &ns, "sysadmin", "--", "true"],
        )
        .await?;
    assert!(!out.success());
    assert!(
        out.stderr.contains("risk score 90 too high"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("capability:SYS_ADMIN:main"),
        "{}",
        out.stderr
    );
    // An allowed exec passes authorization (and then fails only because simulated
    // nodes do not stream).
    let out = env
        .kubectl(
            A,
            Some(&requester),
            &["exec", "-n", &ns, "safe", "--", "true"],
        )
        .await?;
    assert!(
        !out.stderr.to_lowercase().contains("forbidden"),
        "{}",
        out.stderr
    );
    target.cleanup(&env).await?;
    fx.cleanup().await
}

/// Sends headers announcing a `len`-byte body and a few bytes of it; returns the status.
async fn oversized_status(base: &str, path: &str, len: usize) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n{{\"apiVersion\""
    );
    stream.write_all(head.as_bytes()).await?;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await??;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status line in {text:?}"))
}

fn review(user: &str, groups: &[&str], attrs: Value) -> Value {
    let mut spec = json!({"user": user, "groups": groups});
    if let Some(s) = spec.as_object_mut() {
        if attrs.get("path").is_some() {
            s.insert("nonResourceAttributes".to_owned(), attrs);
        } else {
            s.insert("resourceAttributes".to_owned(), attrs);
        }
    }
    json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec})
}

#[tokio::test]
async fn the_endpoint_answers_every_well_formed_review_and_refuses_the_rest() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let api = RestClient::new(&server.url);
    let path = |c: &str| format!("/api/breakglass/webhook/authorize/{c}");
    let pods = json!({"verb": "list", "resource": "pods", "namespace": "default", "version": "v1"});

    let r = api
        .call(
            "POST",
            &path("no-such-cluster"),
            None,
            Some(review(
                "alice@example.com",
                &["oidc:developers"],
                pods.clone(),
            )),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["apiVersion"], "authorization.k8s.io/v1");
    assert_eq!(r.body["kind"], "SubjectAccessReview");
    assert_eq!(r.body["status"]["allowed"], false);
    assert!(
        r.body["status"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("is not registered with Breakglass"),
        "{}",
        r.text
    );
    assert!(
        r.body["status"].get("denied").is_none(),
        "deny is 'no opinion' unless configured"
    );
    // No session: denied, HTTP 200.
    let r = api
        .call(
            "POST",
            &path(A),
            None,
            Some(review(
                "nobody@example.com",
                &["system:authenticated"],
                pods.clone(),
            )),
        )
        .await?;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"]["allowed"], false);
    assert!(
        r.body["status"]["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Access denied"),
        "{}",
        r.text
    );
    // Legacy path and non-resource requests.
    let r = api
        .call(
            "POST",
            &format!("/breakglass/webhook/authorize/{A}"),
            None,
            Some(review(
                "nobody@example.com",
                &[],
                json!({"path": "/healthz", "verb": "get"}),
            )),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"]["allowed"], false);
    // v1beta1 reviews are answered in v1beta1.
    let beta = json!({"apiVersion": "authorization.k8s.io/v1beta1", "kind": "SubjectAccessReview",
        "spec": {"user": "nobody@example.com", "group": ["oidc:developers"], "resourceAttributes": pods}});
    let r = api.call("POST", &path(A), None, Some(beta)).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["apiVersion"], "authorization.k8s.io/v1beta1");
    // Malformed input: 4xx, never a 5xx.
    for (body, what) in [
        ("", "empty"),
        ("{", "truncated"),
        ("[]", "array"),
        (
            r#"{"apiVersion":"v1","kind":"Pod","spec":{}}"#,
            "wrong kind",
        ),
        (
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview"}"#,
            "no spec",
        ),
        (
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"x"}}"#,
            "no attributes",
        ),
        (
            r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":7,"resourceAttributes":{}}}"#,
            "wrong type",
        ),
    ] {
        let r = api.raw("POST", &path(A), None, body).await?;
        assert_eq!(r.status, 422, "{what}: {} {}", r.status, r.text);
        assert!(r.body["error"].is_string(), "{what}: {}", r.text);
    }
    // Oversized: refused from the announced length, before the body is read.
    let status = oversized_status(&server.url, &path(A), 2 << 20).await?;
    assert_eq!(status, 413);
    let r = api.call("GET", &path(A), None, None).await?;
    assert_eq!(r.status, 405);
    // Metrics record decisions by cluster, result and stage, with latency.
    let metrics = api.call("GET", "/metrics", None, None).await?;
    assert!(metrics.text.contains("breakglass_webhook_sar_decisions_total{cluster=\"_unknown\",decision=\"denied\",deny_source=\"cluster-missing\",stage=\"cluster-missing\"}"), "decisions metric missing");
    assert!(
        metrics
            .text
            .contains("breakglass_webhook_sar_duration_seconds_bucket{"),
        "latency histogram missing"
    );
    assert!(
        metrics
            .text
            .contains("breakglass_webhook_sar_malformed_total"),
        "malformed counter missing"
    );
    Ok(())
}

#[tokio::test]
async fn webhook_callers_can_be_required_to_authenticate() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    let dir = work_dir().join(format!("tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(A), "s3cret-for-target-a\n")?;
    let mut spec = ServerSpec::on_free_port("bg-e2e-webhook-auth", "webhook-auth")?;
    spec.extra_args = vec![
        "--enable-cleanup=false".to_owned(),
        "--enable-controllers=false".to_owned(),
    ];
    spec.extra_server_config = format!(
        "webhook:\n  tokenDirectory: {}\n  explicitPolicyDeny: true\n",
        dir.display()
    );
    let own = ServerProcess::start(&env, spec).await?;
    let api = RestClient::new(&own.url());
    let body = review(
        "nobody@example.com",
        &[],
        json!({"verb": "get", "resource": "pods", "version": "v1"}),
    );
    let path = format!("/api/breakglass/webhook/authorize/{A}");
    assert_eq!(
        api.call("POST", &path, None, Some(body.clone()))
            .await?
            .status,
        401
    );
    assert_eq!(
        api.call("POST", &path, Some("wrong"), Some(body.clone()))
            .await?
            .status,
        401
    );
    // The token is checked before the body is read: garbage from an unauthenticated
    // caller is a 401, never a 422. (A large one may see the connection closed while
    // still sending, as its body is never read.)
    let r = api
        .raw("POST", &path, Some("wrong"), "not a review")
        .await?;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["code"], "UNAUTHORIZED", "{}", r.text);
    let r = api
        .call(
            "POST",
            &path,
            Some("s3cret-for-target-a"),
            Some(body.clone()),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    // A cluster without a token file is refused (fail closed).
    let r = api
        .call(
            "POST",
            &format!("/api/breakglass/webhook/authorize/{B}"),
            Some("s3cret-for-target-a"),
            Some(body),
        )
        .await?;
    assert_eq!(r.status, 401, "{}", r.text);
    own.stop()?;
    Ok(())
}

#[tokio::test]
async fn impersonation_guards() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let api = RestClient::new(&server.url);
    let path = format!("/api/breakglass/webhook/authorize/{A}");
    for (attrs, fragment) in [
        (
            json!({"verb": "impersonate", "resource": "groups", "name": "system:masters", "version": "v1"}),
            "system:masters",
        ),
        (
            json!({"verb": "impersonate:some-future-mode", "resource": "users", "name": "x", "group": "authentication.k8s.io", "version": "v1"}),
            "does not recognise",
        ),
        (
            json!({"verb": "impersonate", "resource": "users", "name": "*", "version": "v1"}),
            "wildcard",
        ),
    ] {
        let r = api
            .call(
                "POST",
                &path,
                None,
                Some(review("alice@example.com", &["oidc:developers"], attrs)),
            )
            .await?;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"]["allowed"], false);
        assert!(
            r.body["status"]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains(fragment),
            "{fragment}: {}",
            r.text
        );
    }
    Ok(())
}

/// Decisions aligned with the reference (issue #8): a DenyPolicy scoped to one of the
/// user's sessions denies the request even when another session would grant it, and a
/// namespace that does not exist fails closed while a label-selector rule is in scope.
/// Also: an oversized review is refused with a 422 that names the limit.
#[tokio::test]
async fn reference_aligned_decisions_and_review_limits() -> anyhow::Result<()> {
    use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let api = RestClient::new(&server.url);

    // 100,000 groups: refused while reading, with the count and the limit.
    let groups: Vec<String> = (0..100_000).map(|i| format!("g{i}")).collect();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let big = review(
        "alice@example.com",
        &groups,
        json!({"verb": "get", "resource": "pods", "version": "v1"}),
    );
    let r = api
        .call(
            "POST",
            &format!("/api/breakglass/webhook/authorize/{A}"),
            None,
            Some(big),
        )
        .await?;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        r.body["error"], "spec.groups: 100000 entries exceed the limit of 5000",
        "{}",
        r.text
    );

    let fx = Fixture::new(&env, "whref").await?;
    let ops = fx.group("ops");
    let viewers = fx.group("viewers");
    let ns = format!("wh-{}", fx.id);
    let missing = format!("wh-{}-missing", fx.id);
    let mut target = Target::new(&env, &fx.id).await?;
    target.namespace(&env, A, &ns, json!({})).await?;
    for g in [&ops, &viewers] {
        target.grant(&env, A, &ns, g, broad_rules()).await?;
    }
    // `viewers` may read limitranges in every namespace, including ones that do not
    // exist (a resource no other test asks about: the requester is shared).
    let all_name = format!("bg-e2e-{}-viewers-all", fx.id);
    let client = env.target_client(A).await?;
    let roles: Api<ClusterRole> = Api::all(client.clone());
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": all_name},
                "rules": [{"apiGroups": [""], "resources": ["limitranges"], "verbs": ["get", "list"]}]}))?,
        )
        .await?;
    let crbs: Api<ClusterRoleBinding> = Api::all(client);
    crbs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": all_name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": all_name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("{}{viewers}", env.group_prefix())}],
        }))?,
    )
    .await?;
    fx.escalation("esc-ops", spec(&[A], &ops)).await?;
    fx.escalation("esc-viewers", spec(&[A], &viewers)).await?;
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let s_ops = approved_session(&server.url, &requester, &approver, A, &ops).await?;
    approved_session(&server.url, &requester, &approver, A, &viewers).await?;
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "secrets", "-n", &ns],
        true,
        Duration::from_secs(5),
    )
    .await?;
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "limitranges", "-n", &missing],
        true,
        Duration::from_secs(5),
    )
    .await?;

    // A policy scoped to the ops session denies, although the viewers session grants.
    let p = |n: &str| format!("e2e-{}-{n}", fx.id);
    target
        .policy(&p("ops-secrets"), json!({"appliesTo": {"sessions": [s_ops]},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "namespaces": {"patterns": [ns.clone()]}}]}))
        .await?;
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "secrets", "-n", &ns],
        false,
        Duration::from_secs(5),
    )
    .await
    .map_err(|e| e.context("session-scoped policy with a second session"))?;
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "configmaps", "-n", &ns],
        true,
        Duration::from_secs(5),
    )
    .await?;

    // A label-selector rule in scope and a namespace that does not exist: fail closed.
    target
        .policy(&p("labelled"), json!({"rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["limitranges"],
            "namespaces": {"selectorTerms": [{"matchLabels": {"env": format!("prod-{}", fx.id)}}]}}]}))
        .await?;
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "limitranges", "-n", &missing],
        false,
        Duration::from_secs(5),
    )
    .await
    .map_err(|e| e.context("missing namespace with a selector rule"))?;
    let out = env
        .kubectl(A, Some(&requester), &["get", "limitranges", "-n", &missing])
        .await?;
    assert!(
        out.stderr.contains("DenyPolicy evaluation failed")
            && out.stderr.contains("does not exist"),
        "{}",
        out.stderr
    );
    // An existing namespace without the label is still allowed.
    until_can_i(
        &env,
        A,
        &requester,
        &["get", "limitranges", "-n", &ns],
        true,
        Duration::from_secs(5),
    )
    .await?;

    let _ = crbs.delete(&all_name, &DeleteParams::default()).await;
    let _ = roles.delete(&all_name, &DeleteParams::default()).await;
    target.cleanup(&env).await?;
    fx.cleanup().await
}

/// `escalatedGroup: oidc:system:masters` is refused by validation (the escalation never
/// becomes Ready), and a session holding such a group — written by another tool — never
/// grants: before, the group check also tried the stripped `system:masters`, which the
/// target answers "allowed" for everything.
#[tokio::test]
async fn system_groups_are_never_granted() -> anyhow::Result<()> {
    use breakglass_api::breakglass_escalation::BreakglassEscalation;
    use breakglass_api::breakglass_session::BreakglassSession;
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "whsys").await?;
    let api = RestClient::new(&server.url);
    let name = format!("masters-{}", fx.id);
    fx.escalation_unchecked(&name, spec(&[A], "oidc:system:masters"))
        .await?;
    fx.wait_escalation(&name, "False").await?;
    let escs: Api<BreakglassEscalation> = Api::namespaced(fx.hub(), &fx.ns);
    let stored = escs.get(&name).await?;
    let conditions = stored.status.and_then(|s| s.conditions).unwrap_or_default();
    let validated = conditions
        .iter()
        .find(|c| c.type_ == "ConfigValidated")
        .ok_or_else(|| anyhow::anyhow!("no ConfigValidated condition: {conditions:?}"))?;
    assert_eq!(validated.status, "False");
    assert!(
        validated.message.contains("must not contain \"system:\""),
        "{}",
        validated.message
    );

    // A session another tool wrote, Approved, for that group.
    let user = "requester2@example.com";
    let sessions: Api<BreakglassSession> = Api::namespaced(fx.hub(), &fx.ns);
    let created = sessions
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
                "kind": "BreakglassSession",
                "metadata": {"generateName": "masters-", "namespace": fx.ns},
                "spec": {"cluster": A, "user": user, "grantedGroup": "oidc:system:masters", "maxValidFor": "1h"},
            }))?,
        )
        .await?;
    let session = created.metadata.name.unwrap_or_default();
    let now = jiff::Timestamp::now();
    let expires = now.checked_add(jiff::SignedDuration::from_mins(30))?;
    patch_status(
        &fx.hub(),
        &fx.ns,
        &session,
        json!({"state": "Approved", "approvedAt": now.to_string(), "expiresAt": expires.to_string()}),
    )
    .await?;
    let path = format!("/api/breakglass/webhook/authorize/{A}");
    let nodes = review(
        user,
        &["oidc:developers", "system:authenticated"],
        json!({"verb": "list", "resource": "nodes", "version": "v1"}),
    );
    wait_for(Duration::from_secs(5), "the session is seen", || async {
        let r = api.call("POST", &path, None, Some(nodes.clone())).await?;
        anyhow::ensure!(r.status == 200, "{}", r.text);
        anyhow::ensure!(r.body["status"]["allowed"] == false, "granted: {}", r.text);
        Ok(r.body["status"]["reason"]
            .as_str()
            .is_some_and(|s| s.contains("grant a system: group")))
    })
    .await?;
    let token2 = token(&env, "requester2").await?;
    assert!(!can_i(&env, A, &token2, &["list", "nodes"]).await?);
    let _ = sessions.delete(&session, &DeleteParams::default()).await;
    fx.cleanup().await
}
