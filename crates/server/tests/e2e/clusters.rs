//! The ClusterConfig reconciler: Ready reflects reachability and credentials; sessions
//! of a removed cluster end.

use std::collections::BTreeMap;
use std::time::Duration;

use breakglass_api::cluster_config::ClusterConfig;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::*;

async fn ready_of(
    api: &Api<ClusterConfig>,
    name: &str,
) -> anyhow::Result<Option<(String, String)>> {
    let cc = api.get(name).await?;
    Ok(cc
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status, c.reason)))
}

async fn wait_ready_reason(
    api: &Api<ClusterConfig>,
    name: &str,
    status: &str,
    reason: &str,
) -> anyhow::Result<()> {
    wait_for(
        Duration::from_secs(20),
        &format!("{name} Ready={status} ({reason})"),
        || async {
            Ok(ready_of(api, name)
                .await?
                .is_some_and(|(s, r)| s == status && r == reason))
        },
    )
    .await
}

fn cluster_config(name: &str, secret: &str) -> anyhow::Result<ClusterConfig> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "ClusterConfig",
        "metadata": {"name": name, "namespace": SYSTEM_NS},
        "spec": {"clusterID": name, "tenant": "tenant-e2e",
                 "kubeconfigSecretRef": {"name": secret, "namespace": SYSTEM_NS, "key": "value"}},
    }))?)
}

async fn copy_kubeconfig(hub: &kube::Client, from: &str, to: &str) -> anyhow::Result<()> {
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), SYSTEM_NS);
    let source = secrets.get(from).await?;
    let mut data = BTreeMap::new();
    if let Some(v) = source.data.and_then(|d| d.get("value").cloned()) {
        data.insert("value".to_owned(), v);
    }
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(to.to_owned()),
            namespace: Some(SYSTEM_NS.to_owned()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    secrets.create(&PostParams::default(), &secret).await?;
    Ok(())
}

#[tokio::test]
async fn ready_follows_the_kubeconfig_secret() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _server = shared_server(&env).await?;
    let hub = env.hub_client().await?;
    let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let name = format!("cc-e2e-{id}");
    let secret_name = format!("cc-e2e-{id}-kubeconfig");
    let ccs: Api<ClusterConfig> = Api::namespaced(hub.clone(), SYSTEM_NS);
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), SYSTEM_NS);
    ccs.create(
        &PostParams::default(),
        &cluster_config(&name, &secret_name)?,
    )
    .await?;
    wait_ready_reason(&ccs, &name, "False", "SecretMissing").await?;
    // The Secret appears: Ready without waiting for the periodic check.
    copy_kubeconfig(&hub, "target-a-kubeconfig", &secret_name).await?;
    wait_ready_reason(&ccs, &name, "True", "KubeconfigValidated").await?;
    // A broken kubeconfig is noticed.
    secrets
        .patch(
            &secret_name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"value": "not: [a kubeconfig"}})),
        )
        .await?;
    wait_ready_reason(&ccs, &name, "False", "KubeconfigParseFailed").await?;
    // A wrong key.
    ccs.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"kubeconfigSecretRef": {"key": "nope"}}})),
    )
    .await?;
    wait_ready_reason(&ccs, &name, "False", "SecretKeyMissing").await?;
    let cc = ccs.get(&name).await?;
    assert_eq!(
        cc.status.and_then(|s| s.observed_generation),
        cc.metadata.generation
    );
    // An unreachable server.
    let mut unreachable = String::from_utf8(
        secrets
            .get("target-a-kubeconfig")
            .await?
            .data
            .and_then(|d| d.get("value").cloned())
            .map(|b| b.0)
            .unwrap_or_default(),
    )?;
    unreachable = unreachable.replace(&env.server_url("target-a")?, "https://127.0.0.1:9");
    secrets
        .patch(
            &secret_name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"value": unreachable}})),
        )
        .await?;
    ccs.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"kubeconfigSecretRef": {"key": "value"}}})),
    )
    .await?;
    wait_ready_reason(&ccs, &name, "False", "ClusterUnreachable").await?;
    ccs.delete(&name, &DeleteParams::default()).await?;
    secrets
        .delete(&secret_name, &DeleteParams::default())
        .await?;
    Ok(())
}

#[tokio::test]
async fn sessions_of_a_deleted_cluster_end() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    let fx = Fixture::new(&env, "ccgone").await?;
    let hub = fx.hub();
    let cluster = format!("cc-gone-{}", fx.id);
    let secret_name = format!("{cluster}-kubeconfig");
    let ccs: Api<ClusterConfig> = Api::namespaced(hub.clone(), SYSTEM_NS);
    copy_kubeconfig(&hub, "target-a-kubeconfig", &secret_name).await?;
    ccs.create(
        &PostParams::default(),
        &cluster_config(&cluster, &secret_name)?,
    )
    .await?;
    wait_ready_reason(&ccs, &cluster, "True", "KubeconfigValidated").await?;
    let group = fx.group("gone");
    fx.escalation("esc", spec(&[&cluster], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let requester2 = token(&env, "requester2").await?;
    let approver = token(&env, "approver").await?;
    let approved = api.request(&requester, &cluster, &group, json!({})).await?;
    assert_eq!(approved.status, 201, "{}", approved.text);
    let approved = approved.name();
    assert_eq!(
        api.act(&approved, "approve", &approver, None).await?.status,
        200
    );
    let pending = api
        .request(&requester2, &cluster, &group, json!({}))
        .await?
        .name();

    ccs.delete(&cluster, &DeleteParams::default()).await?;
    let s = fx
        .wait_state(&approved, "Expired", Duration::from_secs(10))
        .await?;
    assert_eq!(
        s.status
            .and_then(|st| st.reason_ended)
            .map(|r| r.to_string())
            .as_deref(),
        Some("canceled")
    );
    let s = fx
        .wait_state(&pending, "Rejected", Duration::from_secs(10))
        .await?;
    let conditions = s.status.and_then(|st| st.conditions).unwrap_or_default();
    assert!(
        conditions.iter().any(|c| c.reason == "ClusterRemoved"),
        "{conditions:?}"
    );
    // New requests for it are refused.
    let r = api.request(&requester, &cluster, &group, json!({})).await?;
    assert_eq!(r.status, 403, "{}", r.text);
    let secrets: Api<Secret> = Api::namespaced(hub, SYSTEM_NS);
    secrets
        .delete(&secret_name, &DeleteParams::default())
        .await?;
    fx.cleanup().await
}

#[tokio::test]
async fn a_cluster_whose_apiserver_stops_answering_turns_not_ready_fast_and_refuses_sessions()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _hub = exclusive().await?;
    // The default full-check interval (10 minutes): only the health probes can notice.
    let mut spec = ServerSpec::on_free_port("unused", "cc-down")?;
    spec.lease = None;
    spec.extra_args = vec!["--cluster-config-check-interval=10m".to_owned()];
    let server = ServerProcess::start(&env, spec).await?;
    let fx = Fixture::new(&env, "ccdown").await?;
    let hub = fx.hub();
    let cluster = format!("cc-down-{}", fx.id);
    let secret_name = format!("{cluster}-kubeconfig");
    let target: std::net::SocketAddr = env
        .server_url("target-a")?
        .trim_start_matches("https://")
        .parse()?;
    let proxy = FreezableProxy::start(target).await?;
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), SYSTEM_NS);
    let original = String::from_utf8(
        secrets
            .get("target-a-kubeconfig")
            .await?
            .data
            .and_then(|d| d.get("value").cloned())
            .map(|b| b.0)
            .unwrap_or_default(),
    )?;
    let mut secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": secret_name, "namespace": SYSTEM_NS},
        "stringData": {"value": proxy.rewrite(&original)},
    }))?;
    secret.metadata.namespace = Some(SYSTEM_NS.to_owned());
    secrets.create(&PostParams::default(), &secret).await?;
    let ccs: Api<ClusterConfig> = Api::namespaced(hub.clone(), SYSTEM_NS);
    ccs.create(
        &PostParams::default(),
        &cluster_config(&cluster, &secret_name)?,
    )
    .await?;
    wait_ready_reason(&ccs, &cluster, "True", "KubeconfigValidated").await?;
    let group = fx.group("down");
    fx.escalation("esc", spec_of(&cluster, &group)).await?;
    let api = RestClient::new(&server.url());
    let requester = token(&env, "requester").await?;

    // The apiserver stops answering (connections hang): Ready=False within seconds.
    proxy.freeze();
    let frozen = std::time::Instant::now();
    wait_ready_reason(&ccs, &cluster, "False", "ClusterUnreachable").await?;
    let detected = frozen.elapsed();
    note(&format!("unreachable cluster reported after {detected:?}"));
    assert!(detected <= Duration::from_secs(15), "took {detected:?}");
    let refused = api.request(&requester, &cluster, &group, json!({})).await?;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("not ready"), "{}", refused.text);

    // It answers again: Ready and sessions are accepted.
    proxy.thaw();
    wait_for(Duration::from_secs(45), "Ready again", || async {
        Ok(ready_of(&ccs, &cluster)
            .await?
            .is_some_and(|(s, _)| s == "True"))
    })
    .await?;
    let accepted = api.request(&requester, &cluster, &group, json!({})).await?;
    assert_eq!(accepted.status, 201, "{}", accepted.text);

    ccs.delete(&cluster, &DeleteParams::default()).await?;
    secrets
        .delete(&secret_name, &DeleteParams::default())
        .await?;
    server.stop()?;
    fx.cleanup().await
}

fn spec_of(cluster: &str, group: &str) -> serde_json::Value {
    spec(&[cluster], group)
}

/// Times `n` requests to the cluster's apiserver through the hub's client of it.
async fn time_requests(client: &kube::Client, n: usize) -> anyhow::Result<Duration> {
    let started = std::time::Instant::now();
    for _ in 0..n {
        client.apiserver_version().await?;
    }
    Ok(started.elapsed())
}

/// `spec.qps`/`spec.burst` throttle the hub's client of the cluster (client side, before
/// the request leaves), the wait is counted per cluster, and a changed limit takes effect
/// with the rebuilt client.
#[tokio::test]
async fn qps_and_burst_throttle_the_clusters_client() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let hub = env.hub_client().await?;
    let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let name = format!("cc-qps-{id}");
    let ccs: Api<ClusterConfig> = Api::namespaced(hub.clone(), SYSTEM_NS);
    let mut cc = cluster_config(&name, "target-a-kubeconfig")?;
    cc.spec.qps = Some(1);
    cc.spec.burst = Some(1);
    ccs.create(&PostParams::default(), &cc).await?;
    let stores = breakglass_server::store::Stores::start(&hub);
    stores.clusters.wait_synced().await;
    let metrics = breakglass_server::metrics::Metrics::new(
        &mut prometheus_client::registry::Registry::default(),
    );
    let clients = breakglass_server::clusters::ClusterClients::new(hub.clone(), stores.clone())
        .with_metrics(metrics.clone());
    let outcome = async {
        wait_for(
            Duration::from_secs(10),
            "the ClusterConfig is seen",
            || async { Ok(clients.get(&name).await.is_ok()) },
        )
        .await?;
        // Unlimited (target-a has no qps/burst): 4 requests take milliseconds.
        let unlimited = time_requests(&clients.get("target-a").await?, 4).await?;
        // 1/s with a burst of 1: the first goes at once, the other three wait ~1 s each.
        let slow = time_requests(&clients.get(&name).await?, 4).await?;
        note(&format!(
            "target client: 4 requests unlimited {unlimited:?}, at qps 1/burst 1 {slow:?}"
        ));
        assert!(unlimited < Duration::from_millis(900), "{unlimited:?}");
        assert!(slow >= Duration::from_millis(2700), "{slow:?}");
        assert!(slow < Duration::from_secs(6), "{slow:?}");
        let label = breakglass_server::metrics::cluster(&name);
        assert_eq!(
            metrics.target_client_throttled.get_or_create(&label).get(),
            3
        );
        assert_eq!(
            metrics
                .target_client_throttled
                .get_or_create(&breakglass_server::metrics::cluster("target-a"))
                .get(),
            0
        );
        // Raising the limit bumps the generation: the next client has the new bucket.
        let (_, epoch) = clients.get_versioned(&name).await?;
        ccs.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"qps": 100, "burst": 100}})),
        )
        .await?;
        wait_for(Duration::from_secs(10), "the client is rebuilt", || async {
            Ok(clients.get_versioned(&name).await?.1 != epoch)
        })
        .await?;
        let fast = time_requests(&clients.get(&name).await?, 4).await?;
        assert!(fast < Duration::from_millis(900), "{fast:?}");
        assert_eq!(
            metrics.target_client_throttled.get_or_create(&label).get(),
            3
        );
        anyhow::Ok(())
    }
    .await;
    let _ = ccs.delete(&name, &DeleteParams::default()).await;
    outcome
}
