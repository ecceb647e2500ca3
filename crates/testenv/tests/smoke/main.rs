//! Smoke tests of the test environment: real clusters, Dex, mail and the
//! authorization webhook wiring, and Kafka. They need `cargo xtask testenv up --with kafka`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod auth;
mod clusters;
mod hub;
mod kafka;
mod mail;
mod webhook;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::Api;
use kube::api::{DeleteParams, PostParams};

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() % 1_000_000_000)
        .unwrap_or(0);
    format!("{prefix}-{t}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// The environment, or `None` when the test is skipped.
pub fn env() -> anyhow::Result<Option<TestEnv>> {
    Ok(TestEnv::get()?)
}

/// Polls `f` until it returns `Some`, or fails after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    loop {
        match f().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() > deadline {
            match last_err {
                Some(e) => anyhow::bail!("timed out waiting for {what}: last error: {e:#}"),
                None => anyhow::bail!("timed out waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A fresh namespace whose `default` ServiceAccount exists (so pods can be created).
pub async fn namespace(client: &kube::Client, prefix: &str) -> anyhow::Result<String> {
    let name = unique(prefix);
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"breakglass-testenv/smoke": "true"}},
    }))?;
    nss.create(&PostParams::default(), &ns).await?;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
    eventually(
        Duration::from_secs(60),
        "the default ServiceAccount",
        || {
            let sas = sas.clone();
            async move { Ok(sas.get_opt("default").await?.map(|_| ())) }
        },
    )
    .await?;
    Ok(name)
}

/// Deletes a namespace (best effort).
pub async fn delete_namespace(client: &kube::Client, name: &str) {
    let nss: Api<Namespace> = Api::all(client.clone());
    let _ = nss.delete(name, &DeleteParams::background()).await;
}
