//! Connections to target clusters, built from ClusterConfigs, and the reconciler that
//! reports whether each cluster is reachable.
//!
//! Every replica keeps one cached client per cluster (the webhook needs them to ask
//! the target's RBAC). A client is rebuilt when its ClusterConfig's generation or its
//! kubeconfig Secret changes. Every client of a cluster sends through one token bucket
//! built from `spec.qps`/`spec.burst` ([`crate::target_limit`]); a spec change bumps the
//! generation, so the rebuilt client gets the new limit. The leader additionally probes
//! every cluster and writes the `Ready` condition.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use breakglass_api::cluster_config::{
    ClusterAuthType, ClusterConfig, ClusterConfigConditionReason as Reason,
    ClusterConfigConditionType as CondType, ClusterConfigStatus,
};
use breakglass_api::common::SecretKeyReference;
use breakglass_core::condition;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{PartialObjectMeta, PatchParams};
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::{Mutex, Notify};

use crate::metrics::Metrics;
use crate::store::{ClusterLookup, Stores};
use crate::target_limit::{ClientLimit, TargetRateLimit};

/// How long a reachability probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no client could be built for a cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// No ClusterConfig has the name.
    #[error("cluster {0:?} is not registered")]
    NotRegistered(String),
    /// Several ClusterConfigs share the name.
    #[error("cluster {0:?} is ambiguous: several ClusterConfigs share the name")]
    Ambiguous(String),
    /// The spec cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// The kubeconfig Secret does not exist.
    #[error("secret {0} not found")]
    SecretMissing(String),
    /// The Secret lacks the key.
    #[error("secret {secret} has no key {key:?}")]
    SecretKeyMissing {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The missing key.
        key: String,
    },
    /// The kubeconfig does not parse or lacks a usable context.
    #[error("kubeconfig in secret {secret} is unusable: {message}")]
    KubeconfigParse {
        /// `namespace/name` of the Secret.
        secret: String,
        /// What is wrong.
        message: String,
    },
    /// The hub could not be asked for the Secret.
    #[error("reading secret {secret}: {message}")]
    Hub {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The error.
        message: String,
    },
}

impl ConnectError {
    /// The ClusterConfig condition reason for this failure.
    pub fn reason(&self) -> Reason {
        match self {
            Self::SecretMissing(_) => Reason::SecretMissing,
            Self::SecretKeyMissing { .. } => Reason::SecretKeyMissing,
            Self::KubeconfigParse { .. } => Reason::KubeconfigParseFailed,
            Self::Hub { .. } => Reason::ClusterUnreachable,
            Self::NotRegistered(_) | Self::Ambiguous(_) | Self::Invalid(_) => {
                Reason::ValidationFailed
            }
        }
    }
}

#[derive(Clone)]
struct Entry {
    /// ClusterConfig UID and generation, Secret resourceVersion.
    fingerprint: (String, i64, String),
    secret: (String, String),
    client: Client,
    /// What `client` was built from, to derive impersonating clients.
    config: kube::Config,
    /// The cluster's rate limit, shared with the impersonating clients.
    limit: Option<TargetRateLimit>,
    /// Increases with every client built, so caches that hold on to a client (watches)
    /// can tell that it was replaced.
    epoch: u64,
}

/// An impersonating client and the epoch of the cluster client it was derived from.
type Impersonating = (u64, Client);

/// Cached clients of the target clusters, shared by all handlers.
#[derive(Clone)]
pub struct ClusterClients {
    hub: Client,
    stores: Stores,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// Impersonating clients by (cluster, user), with the epoch of the client they
    /// were derived from (a rebuilt cluster client makes them stale).
    impersonating: Arc<Mutex<HashMap<(String, String), Impersonating>>>,
    epochs: Arc<std::sync::atomic::AtomicU64>,
    /// Where the rate limiters count throttled requests.
    metrics: Option<Metrics>,
}

/// At most this many impersonating clients are cached (identities come from templates,
/// so a handful per cluster; the cap keeps a misconfiguration from growing the cache).
const MAX_IMPERSONATING: usize = 256;

impl ClusterClients {
    /// An empty cache.
    pub fn new(hub: Client, stores: Stores) -> Self {
        Self {
            hub,
            stores,
            entries: Arc::new(Mutex::new(HashMap::new())),
            impersonating: Arc::new(Mutex::new(HashMap::new())),
            epochs: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            metrics: None,
        }
    }

    /// Counts the clients' throttled requests into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The client of `cluster`, built on first use and rebuilt after changes.
    pub async fn get(&self, cluster: &str) -> Result<Client, ConnectError> {
        self.get_versioned(cluster).await.map(|(c, _)| c)
    }

    /// The client of `cluster` and its epoch (which changes whenever it is rebuilt).
    pub async fn get_versioned(&self, cluster: &str) -> Result<(Client, u64), ConnectError> {
        let cc = match self.stores.cluster(cluster) {
            ClusterLookup::Found(cc) => cc,
            ClusterLookup::Missing => return Err(ConnectError::NotRegistered(cluster.to_owned())),
            ClusterLookup::Ambiguous => return Err(ConnectError::Ambiguous(cluster.to_owned())),
        };
        let key = cc.metadata.name.clone().unwrap_or_default();
        let uid = cc.metadata.uid.clone().unwrap_or_default();
        let generation = cc.metadata.generation.unwrap_or_default();
        {
            let entries = self.entries.lock().await;
            if let Some(e) = entries.get(&key)
                && e.fingerprint.0 == uid
                && e.fingerprint.1 == generation
            {
                return Ok((e.client.clone(), e.epoch));
            }
        }
        let limit = ClientLimit::from_spec(cc.spec.qps, cc.spec.burst)
            .map(|l| TargetRateLimit::new(&key, l, self.metrics.as_ref()));
        let (client, config, secret, secret_rv) = connect(&self.hub, &cc, limit.as_ref()).await?;
        let epoch = self
            .epochs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        self.entries.lock().await.insert(
            key,
            Entry {
                fingerprint: (uid, generation, secret_rv),
                secret,
                client: client.clone(),
                config,
                limit,
                epoch,
            },
        );
        Ok((client, epoch))
    }

    /// A client of `cluster` that acts as `user` (`Impersonate-User`, e.g.
    /// `system:serviceaccount:ns:name`), derived from the cluster's client and cached
    /// per (cluster, user); rebuilt whenever the cluster's client is.
    pub async fn impersonating(&self, cluster: &str, user: &str) -> Result<Client, ConnectError> {
        let (_, epoch) = self.get_versioned(cluster).await?;
        let key = (cluster.to_owned(), user.to_owned());
        if let Some((e, c)) = self.impersonating.lock().await.get(&key)
            && *e == epoch
        {
            return Ok(c.clone());
        }
        let (mut config, limit) = {
            let entries = self.entries.lock().await;
            entries
                .values()
                .find(|e| e.epoch == epoch)
                .map(|e| (e.config.clone(), e.limit.clone()))
                // Rebuilt meanwhile: the next call derives from the new client.
                .ok_or_else(|| {
                    ConnectError::Invalid(format!(
                        "the client of cluster {cluster:?} changed meanwhile"
                    ))
                })?
        };
        config.auth_info.impersonate = Some(user.to_owned());
        config.auth_info.impersonate_groups = None;
        let client = build_client(config, limit.as_ref()).map_err(|e| {
            ConnectError::Invalid(format!("impersonating {user} on cluster {cluster:?}: {e}"))
        })?;
        let mut cache = self.impersonating.lock().await;
        if cache.len() >= MAX_IMPERSONATING {
            cache.clear();
        }
        cache.insert(key, (epoch, client.clone()));
        Ok(client)
    }

    /// Drops cached clients whose kubeconfig lives in Secret `namespace/name` (unless
    /// they were built from exactly `resource_version`). Returns the affected clusters.
    pub async fn invalidate_secret(
        &self,
        namespace: &str,
        name: &str,
        resource_version: Option<&str>,
    ) -> Vec<String> {
        let mut entries = self.entries.lock().await;
        let stale: Vec<String> = entries
            .iter()
            .filter(|(_, e)| {
                e.secret.0 == namespace
                    && e.secret.1 == name
                    && resource_version != Some(e.fingerprint.2.as_str())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in &stale {
            entries.remove(k);
        }
        drop(entries);
        self.impersonating
            .lock()
            .await
            .retain(|(c, _), _| !stale.contains(c));
        stale
    }

    /// Drops the cached client of one cluster (and the clients impersonating on it).
    pub async fn invalidate(&self, cluster: &str) {
        self.entries.lock().await.remove(cluster);
        self.impersonating
            .lock()
            .await
            .retain(|(c, _), _| c != cluster);
    }
}

fn secret_ref(cc: &ClusterConfig) -> Result<&SecretKeyReference, ConnectError> {
    if cc.spec.auth_type() != ClusterAuthType::Kubeconfig
        || cc.spec.oidc_auth.is_some()
        || cc.spec.oidc_from_identity_provider.is_some()
    {
        return Err(ConnectError::Invalid(
            "OIDC authentication to target clusters is not supported by this server; use kubeconfigSecretRef".to_owned(),
        ));
    }
    cc.spec
        .kubeconfig_secret_ref
        .as_ref()
        .ok_or_else(|| ConnectError::Invalid("spec.kubeconfigSecretRef is required".to_owned()))
}

/// Builds a client from the ClusterConfig's kubeconfig Secret. Returns the client,
/// the configuration it was built from, the Secret's namespace and name, and its
/// resourceVersion.
async fn connect(
    hub: &Client,
    cc: &ClusterConfig,
    limit: Option<&TargetRateLimit>,
) -> Result<(Client, kube::Config, (String, String), String), ConnectError> {
    let r = secret_ref(cc)?;
    let key = r
        .key
        .clone()
        .unwrap_or_else(|| SecretKeyReference::DEFAULT_KEY.to_owned());
    let id = format!("{}/{}", r.namespace, r.name);
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), &r.namespace);
    let secret = secrets
        .get_opt(&r.name)
        .await
        .map_err(|e| ConnectError::Hub {
            secret: id.clone(),
            message: e.to_string(),
        })?
        .ok_or_else(|| ConnectError::SecretMissing(id.clone()))?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&key))
        .map(|b| b.0.clone())
        .ok_or_else(|| ConnectError::SecretKeyMissing {
            secret: id.clone(),
            key: key.clone(),
        })?;
    let parse = |message: String| ConnectError::KubeconfigParse {
        secret: id.clone(),
        message,
    };
    let text = String::from_utf8(bytes).map_err(|_| parse("not UTF-8".to_owned()))?;
    let kubeconfig = Kubeconfig::from_yaml(&text).map_err(|e| parse(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| parse(e.to_string()))?;
    let client = build_client(config.clone(), limit).map_err(|e| parse(e.to_string()))?;
    let rv = secret.metadata.resource_version.clone().unwrap_or_default();
    Ok((client, config, (r.namespace.clone(), r.name.clone()), rv))
}

/// A client from `config`, sending through `limit` when the cluster has one.
fn build_client(config: kube::Config, limit: Option<&TargetRateLimit>) -> kube::Result<Client> {
    let builder = ClientBuilder::try_from(config)?;
    Ok(match limit {
        Some(limit) => builder.with_layer(limit).build(),
        None => builder.build(),
    })
}

/// Probes `cluster`: builds (or reuses) its client and asks for the server version.
pub async fn probe(clients: &ClusterClients, cluster: &str) -> Result<String, (Reason, String)> {
    let client = clients
        .get(cluster)
        .await
        .map_err(|e| (e.reason(), e.to_string()))?;
    match tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(info)) => Ok(info.git_version),
        Ok(Err(e)) => Err((
            Reason::ClusterUnreachable,
            format!("cluster unreachable: {e}"),
        )),
        Err(_) => Err((
            Reason::ClusterUnreachable,
            format!(
                "cluster unreachable: no answer within {}s",
                PROBE_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Keeps client caches fresh on every replica: a Secret change drops the clients built
/// from it and wakes the reconciler.
pub fn watch_secrets(clients: ClusterClients, wake: Arc<Notify>) {
    tokio::spawn(async move {
        let api: Api<PartialObjectMeta<Secret>> = Api::all(clients.hub.clone());
        let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let meta = match event {
                Ok(Event::Apply(m) | Event::Delete(m)) => m,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "secret watch failed, retrying");
                    continue;
                }
            };
            let ns = meta.metadata.namespace.clone().unwrap_or_default();
            let name = meta.metadata.name.clone().unwrap_or_default();
            let stale = clients
                .invalidate_secret(&ns, &name, meta.metadata.resource_version.as_deref())
                .await;
            if !stale.is_empty() {
                tracing::info!(secret = %format!("{ns}/{name}"), clusters = ?stale, "kubeconfig secret changed");
                wake.notify_one();
            }
        }
    });
}

/// How often the leader probes a reachable cluster, so an apiserver that goes down is
/// reported `Ready=False` (and refused for new sessions) within seconds.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// The longest wait between probes of a cluster that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// When each cluster is probed next: every [`HEALTH_INTERVAL`] while it answers,
/// backing off exponentially (up to [`MAX_BACKOFF`]) while it fails. Pure: the caller
/// passes the time.
#[derive(Debug, Default)]
pub struct ProbeSchedule {
    clusters: BTreeMap<String, (std::time::Instant, u32)>,
}

impl ProbeSchedule {
    /// The clusters due at `now` among `present` (new clusters are due at once);
    /// forgets clusters that are gone.
    pub fn due(&mut self, present: &[String], now: std::time::Instant) -> Vec<String> {
        self.clusters.retain(|k, _| present.contains(k));
        present
            .iter()
            .filter(|name| self.clusters.get(*name).is_none_or(|(at, _)| *at <= now))
            .cloned()
            .collect()
    }

    /// Records a probe result at `now` and schedules the next probe.
    pub fn record(&mut self, cluster: &str, ok: bool, now: std::time::Instant) {
        let failures = if ok {
            0
        } else {
            self.clusters
                .get(cluster)
                .map_or(0, |(_, f)| *f)
                .saturating_add(1)
        };
        let wait = if failures == 0 {
            HEALTH_INTERVAL
        } else {
            HEALTH_INTERVAL
                .saturating_mul(2u32.saturating_pow(failures - 1))
                .min(MAX_BACKOFF)
        };
        self.clusters
            .insert(cluster.to_owned(), (now + wait, failures));
    }

    /// Makes every cluster due (a spec or Secret change, or the full-check interval).
    pub fn all_due(&mut self) {
        self.clusters.clear();
    }

    /// The earliest scheduled probe.
    pub fn next(&self) -> Option<std::time::Instant> {
        self.clusters.values().map(|(at, _)| *at).min()
    }
}

/// The leader's reconciler: probes every ClusterConfig on change, on Secret change,
/// every `interval`, and in between on the [`ProbeSchedule`]; writes
/// `status.conditions[Ready]` when it changes.
pub async fn reconcile_loop(
    hub: Client,
    stores: Stores,
    clients: ClusterClients,
    metrics: Metrics,
    interval: Duration,
    wake: Arc<Notify>,
) {
    let mut changes = stores.clusters.subscribe();
    stores.clusters.wait_synced().await;
    let mut last_generation: BTreeMap<String, i64> = BTreeMap::new();
    let mut schedule = ProbeSchedule::default();
    let mut full_check = tokio::time::Instant::now() + interval;
    loop {
        let all = stores.clusters.all();
        let present: Vec<String> = all.iter().filter_map(|c| c.metadata.name.clone()).collect();
        for cc in &all {
            let name = cc.metadata.name.clone().unwrap_or_default();
            let generation = cc.metadata.generation.unwrap_or_default();
            if last_generation.get(&name) != Some(&generation) {
                clients.invalidate(&name).await;
                last_generation.insert(name.clone(), generation);
            }
        }
        last_generation.retain(|k, _| present.contains(k));
        let due = schedule.due(&present, std::time::Instant::now());
        let probes = all
            .iter()
            .filter(|cc| cc.metadata.name.as_ref().is_some_and(|n| due.contains(n)))
            .map(|cc| reconcile_one(&hub, &clients, &metrics, cc));
        let results = futures::future::join_all(probes).await;
        let now = std::time::Instant::now();
        for (name, ok) in results {
            schedule.record(&name, ok, now);
        }
        // Wait for the next trigger: a spec change, a Secret change, a due probe or
        // the full check.
        let next_probe = schedule.next().map(tokio::time::Instant::from_std);
        let deadline = next_probe.map_or(full_check, |p| p.min(full_check));
        let woken = wait_trigger(&mut changes, &stores, &last_generation, &wake, deadline).await;
        if woken || tokio::time::Instant::now() >= full_check {
            schedule.all_due();
            full_check = tokio::time::Instant::now() + interval;
        }
    }
}

/// Waits until `deadline` or a change that needs every cluster probed again (returns
/// true then): a spec change, a re-list, or a Secret change.
async fn wait_trigger(
    changes: &mut tokio::sync::broadcast::Receiver<crate::store::Change>,
    stores: &Stores,
    last_generation: &BTreeMap<String, i64>,
    wake: &Notify,
    deadline: tokio::time::Instant,
) -> bool {
    loop {
        tokio::select! {
            changed = changes.recv() => match changed {
                Ok(c) if c.name.is_empty() => return true,
                Ok(c) => {
                    let spec_changed = stores
                        .clusters
                        .get(Some(&c.namespace), &c.name)
                        .is_none_or(|cc| last_generation.get(&c.name) != Some(&cc.metadata.generation.unwrap_or_default()));
                    if spec_changed {
                        return true;
                    }
                }
                Err(_) => return true,
            },
            () = wake.notified() => return true,
            () = tokio::time::sleep_until(deadline) => return false,
        }
    }
}

/// Probes one cluster and writes its Ready condition when it changed. Returns the
/// cluster's name and whether the probe succeeded.
async fn reconcile_one(
    hub: &Client,
    clients: &ClusterClients,
    metrics: &Metrics,
    cc: &ClusterConfig,
) -> (String, bool) {
    let name = cc.metadata.name.clone().unwrap_or_default();
    let ns = cc.metadata.namespace.clone().unwrap_or_default();
    metrics
        .clusterconfigs_checked
        .get_or_create(&crate::metrics::cluster(&name))
        .inc();
    let now = jiff::Timestamp::now();
    let probed = probe(clients, &name).await;
    let ok = probed.is_ok();
    let ready = match probed {
        Ok(version) => condition::new(
            CondType::Ready.as_str(),
            condition::TRUE,
            Reason::KubeconfigValidated.as_str(),
            format!("cluster reachable (Kubernetes {version})"),
            now,
        ),
        Err((reason, message)) => {
            metrics
                .clusterconfigs_failed
                .get_or_create(&crate::metrics::cluster(&name))
                .inc();
            condition::new(
                CondType::Ready.as_str(),
                condition::FALSE,
                reason.as_str(),
                message,
                now,
            )
        }
    };
    let mut conditions = cc
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let before = conditions.clone();
    let mut ready = ready;
    ready.observed_generation = cc.metadata.generation;
    condition::set(&mut conditions, ready);
    let observed = cc.metadata.generation;
    let unchanged =
        before == conditions && cc.status.as_ref().and_then(|s| s.observed_generation) == observed;
    if unchanged {
        return (name, ok);
    }
    let status = ClusterConfigStatus {
        observed_generation: observed,
        conditions: Some(conditions),
    };
    let api: Api<ClusterConfig> = Api::namespaced(hub.clone(), &ns);
    let patch = crate::session_writes::conditional_status_patch(
        cc.metadata.resource_version.as_deref(),
        serde_json::to_value(&status).unwrap_or_default(),
    );
    if let Err(e) = api
        .patch_status(&name, &PatchParams::default(), &patch)
        .await
    {
        // A conflict means the object changed since it was read; the next probe or
        // change event writes from the newer object.
        if crate::hub_answer::is_conflict(&e) {
            tracing::debug!(cluster = %name, "ClusterConfig changed meanwhile; status not written");
        } else {
            tracing::warn!(cluster = %name, error = %e, "writing ClusterConfig status failed");
        }
    } else {
        tracing::info!(cluster = %name, ready = ?status.conditions.as_ref().and_then(|c| condition::find(c, "Ready")).map(|c| c.status.clone()), "ClusterConfig status updated");
    }
    (name, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_clusters_are_probed_every_interval_and_failing_ones_back_off() {
        let t0 = std::time::Instant::now();
        let names = vec!["a".to_owned(), "b".to_owned()];
        let mut s = ProbeSchedule::default();
        assert_eq!(s.due(&names, t0), names, "new clusters are due at once");
        s.record("a", true, t0);
        s.record("b", false, t0);
        assert!(s.due(&names, t0).is_empty());
        assert_eq!(s.next(), Some(t0 + HEALTH_INTERVAL));
        let t1 = t0 + HEALTH_INTERVAL;
        assert_eq!(s.due(&names, t1), names);
        s.record("a", true, t1);
        s.record("b", false, t1);
        // b failed twice: it waits twice as long; a keeps the short interval.
        assert_eq!(s.due(&names, t1 + HEALTH_INTERVAL), vec!["a".to_owned()]);
        assert_eq!(s.due(&names, t1 + HEALTH_INTERVAL * 2), names);
        for _ in 0..10 {
            s.record("b", false, t1);
        }
        assert_eq!(s.due(&names, t1 + MAX_BACKOFF), names, "backoff is capped");
        // Success resets the backoff.
        s.record("b", true, t1);
        assert_eq!(s.due(&names, t1 + HEALTH_INTERVAL), names);
        // A change makes everything due; removed clusters are forgotten.
        s.all_due();
        assert_eq!(s.due(&names, t1), names);
        s.record("a", true, t1);
        assert_eq!(s.due(&["c".to_owned()], t1), vec!["c".to_owned()]);
        assert_eq!(s.next(), None);
    }
}
