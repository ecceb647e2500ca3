//! The target clusters' RBAC, mirrored in memory so that group checks are answered
//! without a round trip (see [`breakglass_core::rbac`] for the semantics).
//!
//! One [`ClusterRbac`] per registered target watches its Roles, ClusterRoles,
//! RoleBindings and ClusterRoleBindings and keeps only what the authorizer reads
//! (rules, role references, subjects) in an [`RbacIndex`]. A supervisor starts one for
//! every ClusterConfig, replaces it when the cluster's client is rebuilt or its watch
//! keeps failing, and drops it when the cluster goes away.
//!
//! The index answers only while it is known to be complete and current: every kind
//! listed, no watch failing, not over the size bound. Otherwise the group check falls
//! back to a SubjectAccessReview against the target ([`Fallback`] says why), which is
//! counted and logged. A re-list makes its kind unusable until it completes, because
//! the list is the only way to learn of deletions missed while disconnected.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use breakglass_core::rbac::{Binding, RbacIndex, Request, Rules, rules_of};
use futures::StreamExt;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{Notify, watch};

use crate::clusters::ClusterClients;
use crate::metrics::{ClusterLabel, ClusterReasonLabel};
use crate::store::Mirror;

/// RBAC objects one cluster may hold before its index is abandoned for
/// SubjectAccessReviews (memory stays bounded whatever a target holds).
pub const DEFAULT_MAX_OBJECTS: usize = 200_000;

/// A watch failing this long is replaced by a fresh one (a full list): a watch that
/// resumes quietly after an error never says so, and a list is the only way to learn
/// what was missed.
const RESTART_FAILING_AFTER: Duration = Duration::from_secs(10);

/// A mirror whose list of a kind crossed the size bound is replaced by a fresh one
/// (a full list) after this, doubled with every replacement that crossed it again, up
/// to [`OVERFLOW_RETRY_MAX`]: the dropped list is the only count of that
/// kind, so only a new list can tell when the target is back under the bound, and a
/// target that stays too large is listed at most every few minutes.
const OVERFLOW_RETRY_FIRST: Duration = Duration::from_secs(10);

/// The longest wait between re-lists of a target that stays over the bound.
const OVERFLOW_RETRY_MAX: Duration = Duration::from_secs(320);

/// How long a group check waits for a newly started watch to list before asking the
/// target instead.
const COLD_START_WAIT: Duration = Duration::from_secs(1);

/// At most one warning a minute per cluster about group checks sent to the target.
const FALLBACK_LOG_EVERY: Duration = Duration::from_secs(60);

/// How often the supervisor looks at the registered clusters when nothing wakes it.
const SUPERVISE_EVERY: Duration = Duration::from_secs(5);

/// The four kinds, as slots in [`Health`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ClusterRole = 0,
    ClusterRoleBinding = 1,
    Role = 2,
    RoleBinding = 3,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::ClusterRole => "ClusterRole",
            Self::ClusterRoleBinding => "ClusterRoleBinding",
            Self::Role => "Role",
            Self::RoleBinding => "RoleBinding",
        }
    }

    fn clear(self, ix: &mut RbacIndex) {
        match self {
            Self::ClusterRole => ix.clear_cluster_roles(),
            Self::ClusterRoleBinding => ix.clear_cluster_bindings(),
            Self::Role => ix.clear_roles(),
            Self::RoleBinding => ix.clear_bindings(),
        }
    }
}

/// One object reduced to what the index keeps.
enum Item {
    ClusterRole(String, Rules),
    ClusterRoleBinding(String, Binding),
    Role(String, String, Rules),
    RoleBinding(String, String, Binding),
}

impl Item {
    fn put(self, ix: &mut RbacIndex) {
        match self {
            Self::ClusterRole(name, rules) => ix.put_cluster_role(&name, rules),
            Self::ClusterRoleBinding(name, b) => ix.put_cluster_binding(&name, b),
            Self::Role(ns, name, rules) => ix.put_role(&ns, &name, rules),
            Self::RoleBinding(ns, name, b) => ix.put_binding(&ns, &name, b),
        }
    }
}

/// A watched RBAC kind.
trait RbacObject:
    kube::Resource<DynamicType = ()>
    + Clone
    + std::fmt::Debug
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
    const KIND: Kind;
    fn item(&self) -> Option<Item>;
    fn remove(&self, ix: &mut RbacIndex);
}

fn name_of(meta: &kube::api::ObjectMeta) -> Option<String> {
    meta.name.clone()
}

fn namespaced(meta: &kube::api::ObjectMeta) -> Option<(String, String)> {
    Some((meta.namespace.clone()?, meta.name.clone()?))
}

impl RbacObject for ClusterRole {
    const KIND: Kind = Kind::ClusterRole;
    fn item(&self) -> Option<Item> {
        Some(Item::ClusterRole(
            name_of(&self.metadata)?,
            rules_of(self.rules.as_ref()),
        ))
    }
    fn remove(&self, ix: &mut RbacIndex) {
        if let Some(name) = self.metadata.name.as_deref() {
            ix.remove_cluster_role(name);
        }
    }
}

impl RbacObject for ClusterRoleBinding {
    const KIND: Kind = Kind::ClusterRoleBinding;
    fn item(&self) -> Option<Item> {
        Some(Item::ClusterRoleBinding(
            name_of(&self.metadata)?,
            Binding::from(self),
        ))
    }
    fn remove(&self, ix: &mut RbacIndex) {
        if let Some(name) = self.metadata.name.as_deref() {
            ix.remove_cluster_binding(name);
        }
    }
}

impl RbacObject for Role {
    const KIND: Kind = Kind::Role;
    fn item(&self) -> Option<Item> {
        let (ns, name) = namespaced(&self.metadata)?;
        Some(Item::Role(ns, name, rules_of(self.rules.as_ref())))
    }
    fn remove(&self, ix: &mut RbacIndex) {
        if let Some((ns, name)) = namespaced(&self.metadata) {
            ix.remove_role(&ns, &name);
        }
    }
}

impl RbacObject for RoleBinding {
    const KIND: Kind = Kind::RoleBinding;
    fn item(&self) -> Option<Item> {
        let (ns, name) = namespaced(&self.metadata)?;
        Some(Item::RoleBinding(ns, name, Binding::from(self)))
    }
    fn remove(&self, ix: &mut RbacIndex) {
        if let Some((ns, name)) = namespaced(&self.metadata) {
            ix.remove_binding(&ns, &name);
        }
    }
}

/// Why the index cannot answer now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// No watch runs for the cluster yet.
    NotStarted,
    /// A kind is (re-)listing.
    Syncing,
    /// A watch is failing.
    Failing,
    /// The cluster holds more RBAC objects than the bound.
    TooLarge,
}

impl Fallback {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Syncing => "syncing",
            Self::Failing => "failing",
            Self::TooLarge => "too_large",
        }
    }
}

#[derive(Debug, Default)]
struct Health {
    listed: [bool; 4],
    failing_since: [Option<Instant>; 4],
    /// The index holds more objects than the bound.
    too_large: bool,
    /// The last list of a kind crossed the bound and was dropped: the kind stays
    /// unlisted, and the index's own count (which lacks it) cannot clear this.
    overflowed: [bool; 4],
}

impl Health {
    fn fallback(&self) -> Option<Fallback> {
        if self.too_large || self.overflowed.iter().any(|o| *o) {
            Some(Fallback::TooLarge)
        } else if self.failing_since.iter().any(Option::is_some) {
            Some(Fallback::Failing)
        } else if !self.listed.iter().all(|l| *l) {
            Some(Fallback::Syncing)
        } else {
            None
        }
    }

    fn failing_for(&self, now: Instant) -> Option<Duration> {
        self.failing_since
            .iter()
            .flatten()
            .min()
            .map(|since| now.saturating_duration_since(*since))
    }
}

/// The mirrored RBAC of one cluster.
pub struct ClusterRbac {
    cluster: String,
    epoch: u64,
    started: Instant,
    /// How many mirrors before this one were replaced because a list crossed the
    /// bound (the back-off of [`OVERFLOW_RETRY_FIRST`]).
    overflow_restarts: u32,
    index: RwLock<RbacIndex>,
    health: Mutex<Health>,
    /// Whether the index may answer: [`Health::fallback`] is `None`. Read on every
    /// group check without taking the health lock.
    usable: AtomicBool,
    ready: watch::Sender<bool>,
    max_objects: usize,
    objects: Gauge,
    /// Group checks answered (this cluster's child of the family, so that counting
    /// costs no label lookup per check).
    answered: Counter,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for ClusterRbac {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().map(std::mem::take).unwrap_or_default() {
            t.abort();
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ClusterRbac {
    /// Starts the four watches of `cluster` through `client`.
    fn start(
        cluster: &str,
        client: &kube::Client,
        (epoch, overflow_restarts): (u64, u32),
        max_objects: usize,
        objects: Gauge,
        answered: Counter,
    ) -> Arc<Self> {
        let (ready, _) = watch::channel(false);
        let this = Arc::new(Self {
            cluster: cluster.to_owned(),
            epoch,
            started: Instant::now(),
            overflow_restarts,
            index: RwLock::new(RbacIndex::new()),
            health: Mutex::new(Health::default()),
            usable: AtomicBool::new(false),
            ready,
            max_objects,
            objects,
            answered,
            tasks: Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&this);
        let tasks = vec![
            tokio::spawn(run_watch::<ClusterRole>(
                weak.clone(),
                Api::all(client.clone()),
            )),
            tokio::spawn(run_watch::<ClusterRoleBinding>(
                weak.clone(),
                Api::all(client.clone()),
            )),
            tokio::spawn(run_watch::<Role>(weak.clone(), Api::all(client.clone()))),
            tokio::spawn(run_watch::<RoleBinding>(weak, Api::all(client.clone()))),
        ];
        *locked(&this.tasks) = tasks;
        this
    }

    /// Starts watching `cluster`'s RBAC through `client`, outside any [`TargetRbac`]
    /// (tests that compare the mirror with the apiserver).
    pub fn watch(cluster: &str, client: &kube::Client) -> Arc<Self> {
        Self::start(
            cluster,
            client,
            (0, 0),
            DEFAULT_MAX_OBJECTS,
            Gauge::default(),
            Counter::default(),
        )
    }

    /// What grants `request`, described (`None`: nothing, or the index cannot answer).
    pub fn explain(&self, user: &str, groups: &[&str], request: &Request<'_>) -> Option<String> {
        if self.fallback().is_some() {
            return None;
        }
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index
            .find(user, groups, request)
            .map(|g| format!("{:?}", g.via))
    }

    /// An index holding `index`, complete and never watched (tests and benchmarks).
    pub fn fixed(cluster: &str, index: RbacIndex) -> Arc<Self> {
        let (ready, _) = watch::channel(true);
        Arc::new(Self {
            cluster: cluster.to_owned(),
            epoch: 0,
            started: Instant::now(),
            overflow_restarts: 0,
            index: RwLock::new(index),
            health: Mutex::new(Health {
                listed: [true; 4],
                ..Health::default()
            }),
            usable: AtomicBool::new(true),
            ready,
            max_objects: usize::MAX,
            objects: Gauge::default(),
            answered: Counter::default(),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Why the index cannot answer, or `None` when it can.
    pub fn fallback(&self) -> Option<Fallback> {
        if self.usable.load(Ordering::Acquire) {
            None
        } else {
            locked(&self.health).fallback().or(Some(Fallback::Syncing))
        }
    }

    /// Waits until the index can answer or `limit` passes; whether it can.
    pub async fn wait_usable(&self, limit: Duration) -> bool {
        let mut rx = self.ready.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|r| *r))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The answer of the index, `Err` when it cannot answer now.
    pub fn allows(
        &self,
        user: &str,
        groups: &[&str],
        request: &Request<'_>,
    ) -> Result<bool, Fallback> {
        if let Some(f) = self.fallback() {
            return Err(f);
        }
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(index.allows(user, groups, request))
    }

    /// Object counts of the index.
    pub fn counts(&self) -> breakglass_core::rbac::Counts {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .counts()
    }

    fn update_health(&self, change: impl FnOnce(&mut Health)) {
        let mut health = locked(&self.health);
        let before = health.fallback();
        change(&mut health);
        let after = health.fallback();
        self.usable.store(after.is_none(), Ordering::Release);
        self.ready.send_replace(after.is_none());
        if before != after {
            match after {
                None => {
                    tracing::info!(cluster = %self.cluster, "target RBAC mirrored; group checks are answered locally")
                }
                Some(f) if before.is_none() => tracing::warn!(
                    cluster = %self.cluster, reason = f.label(),
                    "target RBAC mirror unusable; group checks fall back to SubjectAccessReviews"
                ),
                Some(_) => {}
            }
        }
    }

    /// Applies `change` to the index and re-checks the size bound.
    fn write(&self, change: impl FnOnce(&mut RbacIndex)) {
        let objects = {
            let mut index = self
                .index
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            change(&mut index);
            index.objects()
        };
        self.objects.set(i64::try_from(objects).unwrap_or(i64::MAX));
        let too_large = objects > self.max_objects;
        if too_large != locked(&self.health).too_large {
            if too_large {
                tracing::error!(
                    cluster = %self.cluster, objects, bound = self.max_objects,
                    "target RBAC exceeds the mirror's bound; group checks use SubjectAccessReviews"
                );
            }
            self.update_health(|h| h.too_large = too_large);
        }
    }
}

/// Follows one kind into the cluster's index until the cluster's [`ClusterRbac`] is
/// dropped.
async fn run_watch<K: RbacObject>(owner: std::sync::Weak<ClusterRbac>, api: Api<K>) {
    let slot = K::KIND as usize;
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    // Objects of a (re-)list, put in at once when it completes.
    let mut listing: Vec<Item> = Vec::new();
    // The current list went over the bound: it is dropped and the kind stays unlisted.
    let mut overflow = false;
    while let Some(event) = stream.next().await {
        let Some(this) = owner.upgrade() else { return };
        match event {
            Err(e) => {
                tracing::warn!(cluster = %this.cluster, kind = K::KIND.name(), error = %e, "RBAC watch failed, retrying");
                this.update_health(|h| {
                    h.failing_since[slot].get_or_insert_with(Instant::now);
                });
                continue;
            }
            Ok(Event::Init) => {
                listing.clear();
                overflow = false;
                this.update_health(|h| {
                    h.listed[slot] = false;
                    h.failing_since[slot] = None;
                });
            }
            Ok(Event::InitApply(obj)) => {
                if overflow {
                    continue;
                }
                listing.extend(obj.item());
                if listing.len() > this.max_objects {
                    // Memory stays bounded while listing too.
                    overflow = true;
                    listing = Vec::new();
                    tracing::error!(
                        cluster = %this.cluster, kind = K::KIND.name(), bound = this.max_objects,
                        "target RBAC exceeds the mirror's bound; group checks use SubjectAccessReviews"
                    );
                    this.update_health(|h| h.overflowed[slot] = true);
                }
            }
            Ok(Event::InitDone) if overflow => {
                this.update_health(|h| {
                    h.overflowed[slot] = true;
                    h.failing_since[slot] = None;
                });
            }
            Ok(Event::InitDone) => {
                let items = std::mem::take(&mut listing);
                this.write(|ix| {
                    K::KIND.clear(ix);
                    for item in items {
                        item.put(ix);
                    }
                });
                this.update_health(|h| {
                    h.listed[slot] = true;
                    h.overflowed[slot] = false;
                    h.failing_since[slot] = None;
                });
            }
            Ok(Event::Apply(obj)) => {
                if let Some(item) = obj.item() {
                    this.write(|ix| item.put(ix));
                }
                this.update_health(|h| h.failing_since[slot] = None);
            }
            Ok(Event::Delete(obj)) => {
                this.write(|ix| obj.remove(ix));
                this.update_health(|h| h.failing_since[slot] = None);
            }
        }
    }
}

/// Metrics of the mirrors.
#[derive(Clone, Default)]
pub struct RbacMetrics {
    /// Group checks answered from the mirror, by cluster.
    pub local: Family<ClusterLabel, Counter>,
    /// Group checks sent to the target as SubjectAccessReviews, by cluster and reason.
    pub fallback: Family<ClusterReasonLabel, Counter>,
    /// RBAC objects mirrored, by cluster.
    pub objects: Family<ClusterLabel, Gauge>,
}

/// The mirrors of every registered target.
pub struct TargetRbac {
    clusters: ClusterClients,
    entries: RwLock<HashMap<String, Arc<ClusterRbac>>>,
    wake: Notify,
    max_objects: usize,
    /// When a fallback was last logged, per cluster (one line a minute at most).
    warned: Mutex<HashMap<String, Instant>>,
    /// Metrics.
    pub metrics: RbacMetrics,
}

impl TargetRbac {
    /// Mirrors for the clusters `clients` connects to; none runs until
    /// [`TargetRbac::supervise`] starts them.
    pub fn new(clusters: ClusterClients, max_objects: usize, metrics: RbacMetrics) -> Arc<Self> {
        Arc::new(Self {
            clusters,
            entries: RwLock::new(HashMap::new()),
            wake: Notify::new(),
            max_objects,
            warned: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// The mirror of `cluster`, if one runs.
    pub fn get(&self, cluster: &str) -> Option<Arc<ClusterRbac>> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(cluster)
            .cloned()
    }

    /// Installs a mirror (tests and benchmarks).
    pub fn insert(&self, rbac: Arc<ClusterRbac>) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(rbac.cluster.clone(), rbac);
    }

    /// Answers from the mirror of `cluster`, waiting briefly for one that has just
    /// started; `Err` says why the target must be asked instead.
    pub async fn allows(
        &self,
        cluster: &str,
        user: &str,
        groups: &[&str],
        request: &Request<'_>,
    ) -> Result<bool, Fallback> {
        let Some(rbac) = self.get(cluster) else {
            self.wake.notify_one();
            return Err(self.fell_back(cluster, Fallback::NotStarted));
        };
        let answer = match rbac.allows(user, groups, request) {
            Err(Fallback::Syncing) if rbac.started.elapsed() < COLD_START_WAIT => {
                let left = COLD_START_WAIT.saturating_sub(rbac.started.elapsed());
                rbac.wait_usable(left).await;
                rbac.allows(user, groups, request)
            }
            other => other,
        };
        match answer {
            Ok(allowed) => {
                rbac.answered.inc();
                Ok(allowed)
            }
            Err(f) => Err(self.fell_back(cluster, f)),
        }
    }

    fn fell_back(&self, cluster: &str, why: Fallback) -> Fallback {
        self.metrics
            .fallback
            .get_or_create(&ClusterReasonLabel {
                cluster: cluster.to_owned(),
                reason: why.label().to_owned(),
            })
            .inc();
        let now = Instant::now();
        let mut warned = locked(&self.warned);
        let due = warned
            .get(cluster)
            .is_none_or(|at| now.saturating_duration_since(*at) >= FALLBACK_LOG_EVERY);
        if due {
            if warned.len() > 10_000 {
                warned.clear();
            }
            warned.insert(cluster.to_owned(), now);
            tracing::warn!(
                cluster,
                reason = why.label(),
                "group check sent to the target as a SubjectAccessReview: its RBAC mirror cannot answer"
            );
        } else {
            tracing::debug!(
                cluster,
                reason = why.label(),
                "group check sent to the target"
            );
        }
        why
    }

    /// Starts, replaces and stops mirrors so that every registered cluster has a
    /// current one; runs until the process ends.
    pub async fn supervise(
        self: Arc<Self>,
        clusters: Mirror<breakglass_api::cluster_config::ClusterConfig>,
    ) {
        let mut changes = clusters.subscribe();
        clusters.wait_synced().await;
        loop {
            self.supervise_once(&clusters).await;
            tokio::select! {
                () = tokio::time::sleep(SUPERVISE_EVERY) => {}
                () = self.wake.notified() => {}
                _ = changes.recv() => {}
            }
        }
    }

    async fn supervise_once(
        &self,
        clusters: &Mirror<breakglass_api::cluster_config::ClusterConfig>,
    ) {
        let names: Vec<String> = clusters
            .all()
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        let now = Instant::now();
        for name in &names {
            let (client, epoch) = match self.clusters.get_versioned(name).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(cluster = %name, error = %e, "no client for the RBAC mirror");
                    continue;
                }
            };
            let current = self.get(name);
            let overflowed = current
                .as_ref()
                .is_some_and(|r| locked(&r.health).overflowed.iter().any(|o| *o));
            let replace = match &current {
                None => true,
                Some(r) if r.epoch != epoch => true,
                Some(r) => {
                    let age = now.saturating_duration_since(r.started);
                    let failing = locked(&r.health).failing_for(now);
                    (failing.is_some_and(|f| f >= RESTART_FAILING_AFTER)
                        && age >= RESTART_FAILING_AFTER)
                        || (overflowed && age >= overflow_retry(r.overflow_restarts))
                }
            };
            if replace {
                if current.is_some() {
                    tracing::info!(cluster = %name, "restarting the RBAC mirror");
                }
                let objects = self
                    .metrics
                    .objects
                    .get_or_create(&ClusterLabel {
                        cluster: name.clone(),
                    })
                    .clone();
                let answered = self
                    .metrics
                    .local
                    .get_or_create(&ClusterLabel {
                        cluster: name.clone(),
                    })
                    .clone();
                let overflow_restarts = match &current {
                    Some(r) if overflowed && r.epoch == epoch => r.overflow_restarts + 1,
                    _ => 0,
                };
                let rbac = ClusterRbac::start(
                    name,
                    &client,
                    (epoch, overflow_restarts),
                    self.max_objects,
                    objects,
                    answered,
                );
                self.insert(rbac);
            }
        }
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|name, _| names.contains(name));
    }
}

/// How long a mirror whose list crossed the bound runs before it is replaced, after
/// `restarts` such replacements in a row.
fn overflow_retry(restarts: u32) -> Duration {
    OVERFLOW_RETRY_FIRST
        .saturating_mul(1 << restarts.min(16))
        .min(OVERFLOW_RETRY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overflowed_list_is_retried_with_back_off() {
        assert_eq!(overflow_retry(0), Duration::from_secs(10));
        assert_eq!(overflow_retry(1), Duration::from_secs(20));
        assert_eq!(overflow_retry(5), Duration::from_secs(320));
        assert_eq!(overflow_retry(60), Duration::from_secs(320));
    }

    #[test]
    fn health_answers_only_when_listed_healthy_and_bounded() {
        let mut h = Health::default();
        assert_eq!(h.fallback(), Some(Fallback::Syncing));
        h.listed = [true, true, true, false];
        assert_eq!(h.fallback(), Some(Fallback::Syncing));
        h.listed = [true; 4];
        assert_eq!(h.fallback(), None);
        let now = Instant::now();
        h.failing_since[2] = Some(now);
        assert_eq!(h.fallback(), Some(Fallback::Failing));
        assert_eq!(
            h.failing_for(now + Duration::from_secs(3)),
            Some(Duration::from_secs(3))
        );
        h.failing_since[2] = None;
        h.too_large = true;
        assert_eq!(h.fallback(), Some(Fallback::TooLarge));
        // A dropped list keeps the mirror too large even when the index's own count
        // (which lacks that kind) is under the bound.
        h.too_large = false;
        h.overflowed[2] = true;
        assert_eq!(h.fallback(), Some(Fallback::TooLarge));
    }
}
