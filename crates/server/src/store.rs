//! In-memory mirrors of the hub's breakglass objects, kept current by watches.
//!
//! Every replica runs one reflector per kind. Readers (API handlers, the webhook, the
//! timers) never wait for the hub: they read the last state the watch delivered. Each
//! change is also announced on a broadcast channel so the timers and reconcilers can
//! react to exactly the object that changed.

// Seeded per process; the keys (cluster, user, object names) are looked up per review.
use foldhash::{HashMap, HashMapExt};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_api::debug_pod_template::DebugPodTemplate;
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBinding;
use breakglass_api::debug_session_template::DebugSessionTemplate;
use breakglass_api::deny_policy::DenyPolicy;
use breakglass_api::identity_provider::IdentityProvider;
use breakglass_api::mail_provider::MailProvider;
use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};

use serde::de::DeserializeOwned;
use tokio::sync::{broadcast, watch};

/// A change to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// True when the object was deleted.
    pub deleted: bool,
}

/// One kind's mirror and its change feed.
#[derive(Clone)]
pub struct Mirror<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    changes: broadcast::Sender<Change>,
    /// Turns true at the first complete list. (A watch channel rather than the store's
    /// own readiness future: that one wakes only the last of several waiters.)
    synced: watch::Receiver<bool>,
    /// Since when the watch has failed without a good event in between.
    failing_since: Arc<Mutex<Option<Instant>>>,
    /// Bumped after every event the store applied; [`Mirror::by_name`]'s index is
    /// rebuilt when it is behind.
    version: Arc<AtomicU64>,
    names: Arc<RwLock<NameIndex<K>>>,
}

/// Objects by name (in any namespace), as of a version of the store.
struct NameIndex<K> {
    version: u64,
    by_name: HashMap<String, Vec<Arc<K>>>,
}

impl<K> Default for NameIndex<K> {
    fn default() -> Self {
        Self {
            // Never a version the store had: the first lookup builds the index.
            version: u64::MAX,
            by_name: HashMap::new(),
        }
    }
}

impl<K> Mirror<K>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    /// Starts watching every object of the kind in every namespace. The watch retries
    /// with backoff forever; the task ends with the process.
    pub fn start(client: Client) -> Self {
        Self::watch(Api::all(client)).0
    }

    /// Starts watching what `api` lists; the returned task handle stops the watch.
    pub fn watch(api: Api<K>) -> (Self, tokio::task::JoinHandle<()>) {
        let (store, writer) = reflector::store::<K>();
        let (changes, _) = broadcast::channel(4096);
        let (flag, synced) = watch::channel(false);
        let feed = changes.clone();
        let kind = K::kind(&()).into_owned();
        let failing_since = Arc::new(Mutex::new(None));
        let failing = failing_since.clone();
        let version = Arc::new(AtomicU64::new(0));
        let bump = version.clone();
        let task = tokio::spawn(async move {
            let stream = watcher::watcher(api, watcher::Config::default())
                .default_backoff()
                .reflect(writer);
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                // The reflector has applied the event to the store by now.
                bump.fetch_add(1, Ordering::Release);
                set_failing(&failing, event.is_err());
                match event {
                    Ok(Event::Apply(obj) | Event::InitApply(obj)) => {
                        let _ = feed.send(change_of(&obj, false));
                    }
                    Ok(Event::Delete(obj)) => {
                        let _ = feed.send(change_of(&obj, true));
                    }
                    Ok(Event::InitDone) => {
                        if !flag.send_replace(true) {
                            tracing::info!(kind = %kind, "watch synced");
                        }
                        // A re-list may have dropped objects silently: tell subscribers
                        // to rescan everything.
                        let _ = feed.send(Change {
                            namespace: String::new(),
                            name: String::new(),
                            deleted: false,
                        });
                    }
                    Ok(Event::Init) => {}
                    Err(err) => {
                        tracing::warn!(kind = %kind, error = %err, "watch failed, retrying")
                    }
                }
            }
        });
        (
            Self {
                store,
                changes,
                synced,
                failing_since,
                version,
                names: Arc::default(),
            },
            task,
        )
    }

    /// A mirror holding exactly `objects`, with no watch behind it (for benchmarks and
    /// tests of the decision path that run without a hub).
    pub fn from_objects(objects: impl IntoIterator<Item = K>) -> Self {
        let (store, mut writer) = reflector::store::<K>();
        writer.apply_watcher_event(&Event::Init);
        for obj in objects {
            writer.apply_watcher_event(&Event::InitApply(obj));
        }
        writer.apply_watcher_event(&Event::InitDone);
        let (changes, _) = broadcast::channel(16);
        let (_flag, synced) = watch::channel(true);
        Self {
            store,
            changes,
            synced,
            failing_since: Arc::new(Mutex::new(None)),
            version: Arc::new(AtomicU64::new(0)),
            names: Arc::default(),
        }
    }

    /// The current objects.
    pub fn all(&self) -> Vec<Arc<K>> {
        self.store.state()
    }

    /// One object by namespace and name (namespace `None` for cluster-scoped kinds).
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let mut key = ObjectRef::new(name);
        if let Some(ns) = namespace {
            key = key.within(ns);
        }
        self.store.get(&key)
    }

    /// Objects matching `predicate`.
    pub fn filter(&self, predicate: impl Fn(&K) -> bool) -> Vec<Arc<K>> {
        self.store.state_filter(predicate)
    }

    /// Objects named `name` in any namespace: a hash lookup in an index rebuilt (once)
    /// after the store changed, since name lookups run per review and changes are rare.
    pub fn by_name(&self, name: &str) -> Vec<Arc<K>> {
        let version = self.version.load(Ordering::Acquire);
        {
            let names = self
                .names
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if names.version == version {
                return names.by_name.get(name).cloned().unwrap_or_default();
            }
        }
        let mut by_name: HashMap<String, Vec<Arc<K>>> = HashMap::new();
        for o in self.store.state() {
            if let Some(n) = o.meta().name.clone() {
                by_name.entry(n).or_default().push(o);
            }
        }
        let found = by_name.get(name).cloned().unwrap_or_default();
        *self
            .names
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = NameIndex { version, by_name };
        found
    }

    /// True once the first full list has been received.
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// How long the watch has been failing without a good event (`None`: healthy).
    pub fn failing_for(&self, now: Instant) -> Option<Duration> {
        lock(&self.failing_since).map(|since| now.saturating_duration_since(since))
    }

    /// Waits until the first full list has been received.
    pub async fn wait_synced(&self) {
        let mut rx = self.synced.clone();
        let _ = rx.wait_for(|synced| *synced).await;
    }

    /// Subscribes to changes. A change with an empty name means "rescan everything".
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }
}

fn lock<T: Copy>(m: &Mutex<T>) -> T {
    *m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn set_failing(failing: &Mutex<Option<Instant>>, failed: bool) {
    let mut f = failing
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !failed {
        *f = None;
    } else if f.is_none() {
        *f = Some(Instant::now());
    }
}

fn change_of<K: Resource>(obj: &K, deleted: bool) -> Change {
    Change {
        namespace: obj.meta().namespace.clone().unwrap_or_default(),
        name: obj.meta().name.clone().unwrap_or_default(),
        deleted,
    }
}

/// The mirrors of every kind the server reads.
#[derive(Clone)]
pub struct Stores {
    /// BreakglassSessions.
    pub sessions: Mirror<BreakglassSession>,
    /// BreakglassEscalations.
    pub escalations: Mirror<BreakglassEscalation>,
    /// ClusterConfigs.
    pub clusters: Mirror<ClusterConfig>,
    /// IdentityProviders.
    pub identity_providers: Mirror<IdentityProvider>,
    /// DenyPolicies.
    pub deny_policies: Mirror<DenyPolicy>,
    /// DebugSessions.
    pub debug_sessions: Mirror<DebugSession>,
    /// DebugSessionTemplates.
    pub debug_templates: Mirror<DebugSessionTemplate>,
    /// DebugSessionClusterBindings.
    pub debug_bindings: Mirror<DebugSessionClusterBinding>,
    /// DebugPodTemplates.
    pub debug_pod_templates: Mirror<DebugPodTemplate>,
    /// MailProviders.
    pub mail_providers: Mirror<MailProvider>,
    /// AuditConfigs.
    pub audit_configs: Mirror<breakglass_api::AuditConfig>,
}

impl Stores {
    /// Starts every watch.
    pub fn start(client: &Client) -> Self {
        Self {
            sessions: Mirror::start(client.clone()),
            escalations: Mirror::start(client.clone()),
            clusters: Mirror::start(client.clone()),
            identity_providers: Mirror::start(client.clone()),
            deny_policies: Mirror::start(client.clone()),
            debug_sessions: Mirror::start(client.clone()),
            debug_templates: Mirror::start(client.clone()),
            debug_bindings: Mirror::start(client.clone()),
            debug_pod_templates: Mirror::start(client.clone()),
            mail_providers: Mirror::start(client.clone()),
            audit_configs: Mirror::start(client.clone()),
        }
    }

    /// Mirrors holding nothing, with no watch behind them (tests and benchmarks
    /// fill in what they need with struct-update syntax).
    pub fn empty() -> Self {
        Self {
            sessions: Mirror::from_objects([]),
            escalations: Mirror::from_objects([]),
            clusters: Mirror::from_objects([]),
            identity_providers: Mirror::from_objects([]),
            deny_policies: Mirror::from_objects([]),
            debug_sessions: Mirror::from_objects([]),
            debug_templates: Mirror::from_objects([]),
            debug_bindings: Mirror::from_objects([]),
            debug_pod_templates: Mirror::from_objects([]),
            mail_providers: Mirror::from_objects([]),
            audit_configs: Mirror::from_objects([]),
        }
    }

    /// True once every watch has listed its objects.
    pub fn is_synced(&self) -> bool {
        self.sessions.is_synced()
            && self.escalations.is_synced()
            && self.clusters.is_synced()
            && self.identity_providers.is_synced()
            && self.deny_policies.is_synced()
            && self.debug_sessions.is_synced()
            && self.debug_templates.is_synced()
            && self.debug_bindings.is_synced()
            && self.debug_pod_templates.is_synced()
            && self.mail_providers.is_synced()
    }

    /// Why the mirrors cannot be trusted now: a watch that has been failing for longer
    /// than `bound` (its objects may be stale). `None` when all are healthy.
    pub fn unhealthy(&self, now: Instant, bound: Duration) -> Option<String> {
        let watches = [
            ("BreakglassSession", self.sessions.failing_for(now)),
            ("BreakglassEscalation", self.escalations.failing_for(now)),
            ("ClusterConfig", self.clusters.failing_for(now)),
            ("IdentityProvider", self.identity_providers.failing_for(now)),
            ("DenyPolicy", self.deny_policies.failing_for(now)),
            ("DebugSession", self.debug_sessions.failing_for(now)),
            (
                "DebugSessionTemplate",
                self.debug_templates.failing_for(now),
            ),
            (
                "DebugSessionClusterBinding",
                self.debug_bindings.failing_for(now),
            ),
            (
                "DebugPodTemplate",
                self.debug_pod_templates.failing_for(now),
            ),
            ("MailProvider", self.mail_providers.failing_for(now)),
        ];
        watches.into_iter().find_map(|(kind, failing)| {
            failing
                .filter(|f| *f > bound)
                .map(|f| format!("the {kind} watch has been failing for {}s", f.as_secs()))
        })
    }

    /// Waits until every watch has listed its objects.
    pub async fn wait_synced(&self) {
        self.sessions.wait_synced().await;
        self.escalations.wait_synced().await;
        self.clusters.wait_synced().await;
        self.identity_providers.wait_synced().await;
        self.deny_policies.wait_synced().await;
        self.debug_sessions.wait_synced().await;
        self.debug_templates.wait_synced().await;
        self.debug_bindings.wait_synced().await;
        self.debug_pod_templates.wait_synced().await;
        self.mail_providers.wait_synced().await;
    }
}

/// How a cluster name resolves to ClusterConfigs (names are meant to be unique across
/// namespaces; duplicates fail closed).
#[derive(Debug, Clone)]
pub enum ClusterLookup {
    /// Exactly one ClusterConfig has the name.
    Found(Arc<ClusterConfig>),
    /// None has it.
    Missing,
    /// Several namespaces hold a ClusterConfig of that name.
    Ambiguous,
}

impl Stores {
    /// Resolves a cluster name (the ClusterConfig's name, or its `spec.clusterID`).
    pub fn cluster(&self, name: &str) -> ClusterLookup {
        let mut by_name = self.clusters.by_name(name);
        if by_name.is_empty() {
            by_name = self
                .clusters
                .filter(|c| c.spec.cluster_id.as_deref() == Some(name));
        }
        match by_name.len() {
            0 => ClusterLookup::Missing,
            1 => by_name
                .pop()
                .map_or(ClusterLookup::Missing, ClusterLookup::Found),
            _ => ClusterLookup::Ambiguous,
        }
    }
}

/// When the hub last answered this replica (Lease reads and writes, the hub probe). A
/// hub that does not answer may leave watches hanging without an error, so readiness
/// also looks at this.
#[derive(Clone, Default)]
pub struct HubContact(Arc<Mutex<Option<Instant>>>);

impl HubContact {
    /// Records an answer now.
    pub fn record(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }

    /// Time since the last answer (`None`: never answered).
    pub fn silent_for(&self, now: Instant) -> Option<Duration> {
        lock(&self.0).map(|at| now.saturating_duration_since(at))
    }

    /// Asks the hub for its version every `every` (bounded by `timeout`) and records
    /// each answer; runs until aborted.
    pub async fn probe_loop(self, hub: Client, every: Duration, timeout: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match tokio::time::timeout(timeout, hub.apiserver_version()).await {
                Ok(Ok(_)) => self.record(),
                Ok(Err(e)) => tracing::warn!(error = %e, "hub probe failed"),
                Err(_) => tracing::warn!(timeout = ?timeout, "hub probe timed out"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_name_finds_every_namespace_and_follows_changes() {
        let pod = |ns: &str, name: &str| -> k8s_openapi::api::core::v1::Pod {
            serde_json::from_value(serde_json::json!({"metadata": {"namespace": ns, "name": name}}))
                .unwrap_or_default()
        };
        let m = Mirror::from_objects([pod("a", "x"), pod("b", "x"), pod("a", "y")]);
        assert_eq!(m.by_name("x").len(), 2);
        assert_eq!(m.by_name("y").len(), 1);
        assert!(m.by_name("z").is_empty());
        // A later change (as the watch task applies it: store, then version).
        let (store, mut writer) = reflector::store::<k8s_openapi::api::core::v1::Pod>();
        writer.apply_watcher_event(&Event::InitDone);
        let m2 = Mirror { store, ..m.clone() };
        m2.version.fetch_add(1, Ordering::Release);
        assert!(
            m2.by_name("x").is_empty(),
            "the index was rebuilt from the new store"
        );
        writer.apply_watcher_event(&Event::Apply(pod("c", "x")));
        m2.version.fetch_add(1, Ordering::Release);
        assert_eq!(m2.by_name("x").len(), 1);
    }

    #[test]
    fn a_failing_watch_is_reported_after_the_bound_and_clears_on_success() {
        let failing = Mutex::new(None);
        set_failing(&failing, true);
        let since = lock(&failing);
        assert!(since.is_some());
        // Later failures keep the first instant.
        set_failing(&failing, true);
        assert_eq!(lock(&failing), since);
        set_failing(&failing, false);
        assert_eq!(lock(&failing), None);
    }

    #[test]
    fn stores_name_the_watch_that_keeps_failing() {
        let stores = Stores {
            sessions: Mirror::from_objects([]),
            escalations: Mirror::from_objects([]),
            clusters: Mirror::from_objects([]),
            identity_providers: Mirror::from_objects([]),
            deny_policies: Mirror::from_objects([]),
            ..Stores::empty()
        };
        let bound = Duration::from_secs(10);
        let now = Instant::now();
        assert_eq!(stores.unhealthy(now, bound), None);
        set_failing(&stores.clusters.failing_since, true);
        let since = lock(&stores.clusters.failing_since).unwrap_or(now);
        assert_eq!(
            stores.unhealthy(since + Duration::from_secs(5), bound),
            None
        );
        let reason = stores.unhealthy(since + Duration::from_secs(11), bound);
        assert!(
            reason
                .as_deref()
                .is_some_and(|r| r.contains("ClusterConfig watch")),
            "{reason:?}"
        );
        set_failing(&stores.clusters.failing_since, false);
        assert_eq!(
            stores.unhealthy(since + Duration::from_secs(60), bound),
            None
        );
    }

    #[test]
    fn hub_contact_measures_silence() {
        let contact = HubContact::default();
        let now = Instant::now();
        assert_eq!(contact.silent_for(now), None);
        contact.record();
        let later = Instant::now() + Duration::from_secs(12);
        assert!(
            contact
                .silent_for(later)
                .is_some_and(|d| d >= Duration::from_secs(11))
        );
    }
}
