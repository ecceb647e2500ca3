//! The webhook's indexes over the watched state: sessions by (cluster, user), kept
//! current from the session mirror, so a decision reads only the caller's sessions (the
//! same [`ByUser`] index serves debug sessions by participant); the Ready escalations by
//! the cluster they target, with the requester groups each one is offered to, so a
//! decision counts them with one lookup per group; and the DenyPolicies by the cluster
//! they apply to, prepared so a decision reads only those that can matter for its
//! request ([`ClusterPolicies`]).
//!
//! Reads on the decision path allocate nothing but what they return: lookups take
//! borrowed keys, lists are shared by reference count, and what is derived from a kind
//! is computed once per change of that kind.
//!
//! Synchronous by design: the watch task applies changes, serving code only reads, and
//! nothing here holds a hub client — a decision can never turn into a hub request.

// Seeded per process; the keys (cluster, user, object names) are looked up per review.
use foldhash::{HashMap, HashMapExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::deny_policy::DenyPolicy;
use breakglass_core::authz::policy_index::ClusterPolicies;
use breakglass_core::escalation as esc_core;
use tokio::sync::broadcast::error::RecvError;

use crate::store::Mirror;

/// `(cluster, user)`: the key a decision looks up, exact and case-sensitive like the SAR user.
pub type UserKey = (String, String);
type ObjectKey = (String, String);

/// A kind indexed by the `(cluster, user)` keys of the people it concerns.
pub trait UserKeyed: kube::Resource<DynamicType = ()> + Clone + Send + Sync + 'static {
    /// The keys this object is found under (none: not indexed).
    fn user_keys(&self) -> Vec<UserKey>;
}

impl UserKeyed for BreakglassSession {
    fn user_keys(&self) -> Vec<UserKey> {
        vec![(self.spec.cluster.clone(), self.spec.user.clone())]
    }
}

/// The objects of one `(cluster, user)` key, shared with every decision that reads them.
type Shared<K> = Arc<[Arc<K>]>;

struct Inner<K> {
    /// cluster → user → objects: looked up with borrowed strings, so a read allocates
    /// nothing and hands out the list by reference count.
    by_user: HashMap<String, HashMap<String, Shared<K>>>,
    placed: HashMap<ObjectKey, Vec<UserKey>>,
}

impl<K> Default for Inner<K> {
    fn default() -> Self {
        Self {
            by_user: HashMap::new(),
            placed: HashMap::new(),
        }
    }
}

fn is_object<K: kube::Resource>(o: &K, (namespace, name): &ObjectKey) -> bool {
    o.meta().namespace.as_deref().unwrap_or_default() == namespace
        && o.meta().name.as_deref().unwrap_or_default() == name
}

impl<K: UserKeyed> Inner<K> {
    fn remove(&mut self, key: &ObjectKey) {
        for (cluster, user) in self.placed.remove(key).unwrap_or_default() {
            let Some(users) = self.by_user.get_mut(&cluster) else {
                continue;
            };
            if let Some(list) = users.get_mut(&user) {
                let kept: Vec<Arc<K>> = list
                    .iter()
                    .filter(|s| !is_object(s.as_ref(), key))
                    .cloned()
                    .collect();
                if kept.is_empty() {
                    users.remove(&user);
                } else {
                    *list = kept.into();
                }
            }
            if users.is_empty() {
                self.by_user.remove(&cluster);
            }
        }
    }

    fn insert(&mut self, object: Arc<K>) {
        let key = object_key(object.as_ref());
        self.remove(&key);
        let mut users = object.user_keys();
        users.sort();
        users.dedup();
        if users.is_empty() {
            return;
        }
        for (cluster, user) in &users {
            let list = self
                .by_user
                .entry(cluster.clone())
                .or_default()
                .entry(user.clone())
                .or_insert_with(|| Arc::from(Vec::new()));
            let mut grown = list.to_vec();
            grown.push(object.clone());
            *list = grown.into();
        }
        self.placed.insert(key, users);
    }

    fn get(&self, cluster: &str, user: &str) -> Option<&Shared<K>> {
        self.by_user.get(cluster)?.get(user)
    }
}

fn object_key<K: kube::Resource>(s: &K) -> ObjectKey {
    (
        s.meta().namespace.clone().unwrap_or_default(),
        s.meta().name.clone().unwrap_or_default(),
    )
}

/// Objects by the `(cluster, user)` keys of [`UserKeyed`], kept current from a mirror.
pub struct ByUser<K> {
    inner: Arc<RwLock<Inner<K>>>,
}

impl<K> Clone for ByUser<K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<K> Default for ByUser<K> {
    fn default() -> Self {
        Self {
            inner: Arc::new(RwLock::new(Inner::default())),
        }
    }
}

/// Sessions by `(spec.cluster, spec.user)`, exact and case-sensitive like the SAR user.
pub type SessionIndex = ByUser<BreakglassSession>;

/// The objects of one key as a slice: empty without allocating when there are none.
pub struct Objects<K>(Option<Shared<K>>);

impl<K> Default for Objects<K> {
    fn default() -> Self {
        Self(None)
    }
}

impl<K> std::ops::Deref for Objects<K> {
    type Target = [Arc<K>];
    fn deref(&self) -> &[Arc<K>] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl<K> ByUser<K>
where
    K: UserKeyed + std::fmt::Debug + serde::de::DeserializeOwned,
{
    /// An index of exactly these objects, not kept current.
    pub fn from_sessions(objects: impl IntoIterator<Item = Arc<K>>) -> Self {
        let mut inner = Inner::default();
        for s in objects {
            inner.insert(s);
        }
        Self {
            inner: Arc::new(RwLock::new(inner)),
        }
    }

    /// An index that follows `mirror` (a task applies every change).
    pub fn follow(mirror: Mirror<K>) -> Self {
        let index = Self::default();
        let target = index.clone();
        let mut changes = mirror.subscribe();
        tokio::spawn(async move {
            mirror.wait_synced().await;
            target.rebuild(&mirror);
            loop {
                match changes.recv().await {
                    Ok(c) if !c.name.is_empty() => {
                        let key = (c.namespace.clone(), c.name.clone());
                        let current = mirror.get(Some(&c.namespace), &c.name);
                        let mut inner = target.write();
                        match current {
                            Some(s) if !c.deleted => inner.insert(s),
                            _ => inner.remove(&key),
                        }
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => target.rebuild(&mirror),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        index
    }

    /// Applies a created or updated object (what the watch delivers).
    pub fn apply(&self, object: Arc<K>) {
        self.write().insert(object);
    }

    /// Removes a deleted object.
    pub fn delete(&self, namespace: &str, name: &str) {
        self.write()
            .remove(&(namespace.to_owned(), name.to_owned()));
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<K>> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K>> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn rebuild(&self, mirror: &Mirror<K>) {
        let mut fresh = Inner::default();
        for s in mirror.all() {
            fresh.insert(s);
        }
        *self.write() = fresh;
    }

    /// The objects indexed under the user on the cluster.
    pub fn get(&self, cluster: &str, user: &str) -> Vec<Arc<K>> {
        self.read()
            .get(cluster, user)
            .map(|list| list.to_vec())
            .unwrap_or_default()
    }

    /// The objects indexed under the user on the cluster, shared rather than copied
    /// (the decision path: no allocation, one reference count).
    pub fn shared(&self, cluster: &str, user: &str) -> Objects<K> {
        Objects(self.read().get(cluster, user).cloned())
    }

    /// Number of indexed objects.
    pub fn len(&self) -> usize {
        self.read().placed.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Values computed per cluster from one kind's mirror, each reused until the next change
/// of any object of the kind. Only registered clusters are looked up (the webhook path
/// names the cluster, so values for arbitrary names are never built).
struct PerCluster<V> {
    version: Arc<AtomicU64>,
    values: Arc<RwLock<HashMap<String, (u64, V)>>>,
}

impl<V> Clone for PerCluster<V> {
    fn clone(&self) -> Self {
        Self {
            version: self.version.clone(),
            values: self.values.clone(),
        }
    }
}

/// Values kept before the cache is cleared (more registered clusters than this only
/// cost a recomputation).
const MAX_CLUSTERS: usize = 10_000;

impl<V: Clone> PerCluster<V> {
    fn new() -> Self {
        Self {
            version: Arc::new(AtomicU64::new(0)),
            values: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    fn invalidate(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.values
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The value for `cluster`: the cached one when it is current and `fits`, else a
    /// fresh one from `build` (stored unless a change came in meanwhile).
    fn get(&self, cluster: &str, fits: impl Fn(&V) -> bool, build: impl FnOnce() -> V) -> V {
        let version = self.version.load(Ordering::Acquire);
        if let Some((v, value)) = self
            .values
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(cluster)
            && *v == version
            && fits(value)
        {
            return value.clone();
        }
        let value = build();
        let mut cache = self
            .values
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A change since the read: do not store a value that may already be stale.
        if self.version.load(Ordering::Acquire) == version {
            if cache.len() >= MAX_CLUSTERS {
                cache.clear();
            }
            cache.insert(cluster.to_owned(), (version, value.clone()));
        }
        value
    }
}

/// Calls `invalidate` once the mirror is synced and on every change after that.
fn invalidate_on_change<K>(mirror: Mirror<K>, invalidate: impl Fn() + Send + 'static)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let mut changes = mirror.subscribe();
    tokio::spawn(async move {
        mirror.wait_synced().await;
        invalidate();
        loop {
            match changes.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => invalidate(),
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// Ready escalations by the cluster they target, in namespace/name order, with what a
/// decision asks of them prepared per cluster; and every escalation by namespace and
/// name, for the owner of a session.
#[derive(Clone)]
pub struct EscalationIndex {
    mirror: Mirror<BreakglassEscalation>,
    by_cluster: PerCluster<Arc<ClusterEscalations>>,
    /// Namespace → name → escalation, computed on first use after a change.
    by_key: Arc<RwLock<Option<VersionedByKey>>>,
}

type EscalationsByKey = HashMap<String, HashMap<String, Arc<BreakglassEscalation>>>;

/// The by-key map and the index version it was computed at.
type VersionedByKey = (u64, Arc<EscalationsByKey>);

/// The Ready escalations that target one cluster, and which of them each (prefix-
/// stripped) requester group may request.
pub struct ClusterEscalations {
    list: Arc<[Arc<BreakglassEscalation>]>,
    /// The OIDC prefixes `by_group` was built with.
    prefixes: Vec<String>,
    /// Allowed group (prefixes stripped, never empty) → positions in `list`.
    by_group: HashMap<String, Vec<u32>>,
}

impl ClusterEscalations {
    fn new(list: Arc<[Arc<BreakglassEscalation>]>, prefixes: &[String]) -> Self {
        let mut by_group: HashMap<String, Vec<u32>> = HashMap::new();
        for (pos, e) in list.iter().enumerate() {
            let pos = u32::try_from(pos).unwrap_or(u32::MAX);
            let allowed = e.spec.allowed.as_ref().and_then(|a| a.groups.as_deref());
            for group in allowed.unwrap_or_default() {
                let group = esc_core::strip_prefix(group, prefixes);
                if group.is_empty() {
                    continue;
                }
                let positions = by_group.entry(group.to_owned()).or_default();
                if positions.last() != Some(&pos) {
                    positions.push(pos);
                }
            }
        }
        Self {
            list,
            prefixes: prefixes.to_vec(),
            by_group,
        }
    }

    /// How many of the escalations a caller with `groups` (as sent, prefixes included;
    /// `system:authenticated` is added) authenticated by `provider` may request: the
    /// count of `breakglass_core::escalation::is_available_to_set`, from one lookup per
    /// group.
    pub fn available(&self, groups: &[String], provider: Option<&str>) -> usize {
        let mut positions: smallvec::SmallVec<[u32; 16]> = smallvec::SmallVec::new();
        let stripped = groups
            .iter()
            .map(|g| esc_core::strip_prefix(g, &self.prefixes))
            .chain(["system:authenticated"]);
        for group in stripped {
            if let Some(list) = self.by_group.get(group) {
                positions.extend_from_slice(list);
            }
        }
        positions.sort_unstable();
        positions.dedup();
        positions
            .into_iter()
            .filter_map(|pos| self.list.get(pos as usize))
            .filter(|e| esc_core::provider_may_request(&e.spec, provider))
            .count()
    }
}

fn escalation_targets(e: &BreakglassEscalation, cluster: &str) -> bool {
    e.is_ready() && breakglass_core::escalation::targets_cluster(&e.spec, cluster)
}

impl EscalationIndex {
    /// An index over `mirror` without a task (for mirrors that never change).
    pub fn new(mirror: Mirror<BreakglassEscalation>) -> Self {
        Self {
            mirror,
            by_cluster: PerCluster::new(),
            by_key: Arc::new(RwLock::new(None)),
        }
    }

    /// An index that follows `mirror`: every change invalidates what was computed.
    pub fn follow(mirror: Mirror<BreakglassEscalation>) -> Self {
        let index = Self::new(mirror.clone());
        let target = index.clone();
        invalidate_on_change(mirror, move || target.invalidate());
        index
    }

    /// Drops everything computed (an escalation was applied or deleted).
    pub fn invalidate(&self) {
        self.by_cluster.invalidate();
    }

    fn cluster(&self, cluster: &str, prefixes: &[String]) -> Arc<ClusterEscalations> {
        self.by_cluster.get(
            cluster,
            |c| c.prefixes == prefixes,
            || Arc::new(ClusterEscalations::new(self.list(cluster), prefixes)),
        )
    }

    /// The Ready escalations that target `cluster`, in namespace/name order.
    pub fn targeting(&self, cluster: &str) -> Arc<[Arc<BreakglassEscalation>]> {
        // The list does not depend on the prefixes; keep whatever entry is cached.
        self.by_cluster
            .get(
                cluster,
                |_| true,
                || Arc::new(ClusterEscalations::new(self.list(cluster), &[])),
            )
            .list
            .clone()
    }

    fn list(&self, cluster: &str) -> Arc<[Arc<BreakglassEscalation>]> {
        let mut list: Vec<_> = self
            .mirror
            .all()
            .into_iter()
            .filter(|e| escalation_targets(e, cluster))
            .collect();
        list.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });
        list.into()
    }

    /// How many escalations targeting `cluster` a caller with `groups` (as sent)
    /// authenticated by `provider` may request (see [`ClusterEscalations::available`]).
    pub fn available(
        &self,
        cluster: &str,
        groups: &[String],
        provider: Option<&str>,
        prefixes: &[String],
    ) -> usize {
        self.cluster(cluster, prefixes).available(groups, provider)
    }

    /// The escalation `namespace/name` if its uid is `uid` (a session's owner, which
    /// may have been replaced by another of the same name).
    pub fn owner(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> Option<Arc<BreakglassEscalation>> {
        self.by_key()
            .get(namespace)?
            .get(name)
            .filter(|e| e.metadata.uid.as_deref() == Some(uid))
            .cloned()
    }

    fn by_key(&self) -> Arc<EscalationsByKey> {
        let version = self.by_cluster.version.load(Ordering::Acquire);
        if let Some((v, map)) = self
            .by_key
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && *v == version
        {
            return map.clone();
        }
        let mut map = EscalationsByKey::new();
        for e in self.mirror.all() {
            let namespace = e.metadata.namespace.clone().unwrap_or_default();
            let name = e.metadata.name.clone().unwrap_or_default();
            map.entry(namespace).or_default().insert(name, e);
        }
        let map = Arc::new(map);
        let mut slot = self
            .by_key
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.by_cluster.version.load(Ordering::Acquire) == version {
            *slot = Some((version, map.clone()));
        }
        map
    }
}

/// DenyPolicies by the cluster (and its tenant) they apply to, prepared for the
/// decision ([`ClusterPolicies`]: evaluation order, rules indexed by resource and verb).
#[derive(Clone)]
pub struct DenyPolicyIndex {
    mirror: Mirror<DenyPolicy>,
    by_cluster: PerCluster<Arc<ClusterPolicies>>,
}

impl DenyPolicyIndex {
    /// An index over `mirror` without a task (for mirrors that never change).
    pub fn new(mirror: Mirror<DenyPolicy>) -> Self {
        Self {
            mirror,
            by_cluster: PerCluster::new(),
        }
    }

    /// An index that follows `mirror`: every change invalidates what was computed.
    pub fn follow(mirror: Mirror<DenyPolicy>) -> Self {
        let index = Self::new(mirror.clone());
        let target = index.clone();
        invalidate_on_change(mirror, move || target.invalidate());
        index
    }

    /// Drops everything computed (a policy was applied or deleted).
    pub fn invalidate(&self) {
        self.by_cluster.invalidate();
    }

    /// The DenyPolicies whose `appliesTo.clusters` covers `cluster`, in mirror order
    /// (computed on every call: the decision reads [`Self::prepared`]).
    pub fn for_cluster(&self, cluster: &str) -> Vec<Arc<DenyPolicy>> {
        self.mirror.filter(|p| {
            breakglass_core::authz::deny::applies_to_cluster(p.spec.applies_to.as_ref(), cluster)
        })
    }

    /// The policies that apply on `cluster` (the name in the webhook path) with its
    /// ClusterConfig's `tenant`, prepared once per cluster and change. Ties in
    /// precedence keep the mirror's order.
    pub fn prepared(&self, cluster: &str, tenant: Option<&str>) -> Arc<ClusterPolicies> {
        self.by_cluster.get(
            cluster,
            |p| p.tenant() == tenant,
            || Arc::new(ClusterPolicies::new(self.mirror.all(), cluster, tenant)),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use breakglass_api::breakglass_session::BreakglassSessionSpec;

    fn session(ns: &str, name: &str, cluster: &str, user: &str) -> Arc<BreakglassSession> {
        let mut s = BreakglassSession::new(
            name,
            BreakglassSessionSpec {
                cluster: cluster.to_owned(),
                user: user.to_owned(),
                granted_group: "g".to_owned(),
                ..Default::default()
            },
        );
        s.metadata.namespace = Some(ns.to_owned());
        Arc::new(s)
    }

    #[test]
    fn insert_move_and_remove() {
        let index = SessionIndex::from_sessions([
            session("a", "s1", "c1", "alice"),
            session("a", "s2", "c1", "alice"),
            session("b", "s1", "c2", "alice"),
        ]);
        assert_eq!(index.get("c1", "alice").len(), 2);
        assert_eq!(index.get("c2", "alice").len(), 1);
        assert!(index.get("c1", "Alice").is_empty(), "users compare exactly");
        // An update that changes the user moves the session.
        index.write().insert(session("a", "s2", "c1", "bob"));
        assert_eq!(index.get("c1", "alice").len(), 1);
        assert_eq!(index.get("c1", "bob").len(), 1);
        index.write().remove(&("a".to_owned(), "s1".to_owned()));
        assert!(index.get("c1", "alice").is_empty());
        assert_eq!(index.len(), 2);
    }

    fn escalation(name: &str, clusters: &[&str], ready: bool) -> BreakglassEscalation {
        use breakglass_api::breakglass_escalation::{
            BreakglassEscalationAllowed, BreakglassEscalationSpec,
        };
        let mut e = BreakglassEscalation::new(
            name,
            BreakglassEscalationSpec {
                allowed: Some(BreakglassEscalationAllowed {
                    clusters: Some(clusters.iter().map(|c| (*c).to_owned()).collect()),
                    groups: Some(vec!["dev".to_owned()]),
                }),
                escalated_group: "g".to_owned(),
                ..Default::default()
            },
        );
        e.metadata.namespace = Some("bg".to_owned());
        // Generation 0 without conditions counts as Ready; a later generation without a
        // Ready condition does not.
        e.metadata.generation = Some(if ready { 0 } else { 2 });
        e
    }

    #[tokio::test]
    async fn escalations_are_listed_by_the_cluster_they_target() {
        let mirror = Mirror::from_objects([
            escalation("prod", &["prod-*"], true),
            escalation("all", &["*"], true),
            escalation("staging", &["staging"], true),
            escalation("not-ready", &["*"], false),
        ]);
        let index = EscalationIndex::new(mirror);
        let names = |c: &str| -> Vec<String> {
            index
                .targeting(c)
                .iter()
                .filter_map(|e| e.metadata.name.clone())
                .collect()
        };
        assert_eq!(names("prod-eu"), ["all", "prod"]);
        assert_eq!(names("staging"), ["all", "staging"]);
        assert_eq!(names("other"), ["all"]);
        // Reused until invalidated, then recomputed.
        let first = index.targeting("prod-eu");
        assert!(Arc::ptr_eq(&first, &index.targeting("prod-eu")));
        index.invalidate();
        let again = index.targeting("prod-eu");
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(again.len(), 2);
    }

    #[tokio::test]
    async fn deny_policies_are_listed_by_the_clusters_they_apply_to() {
        let policy = |name: &str, clusters: Option<&[&str]>| -> DenyPolicy {
            let applies = clusters.map(|c| serde_json::json!({"clusters": c}));
            serde_json::from_value(serde_json::json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DenyPolicy",
                "metadata": {"name": name},
                "spec": {"appliesTo": applies, "rules": []}
            }))
            .unwrap()
        };
        let index = DenyPolicyIndex::new(Mirror::from_objects([
            policy("a-only", Some(&["a"])),
            policy("star", Some(&["*"])),
            policy("everywhere", None),
            policy("empty-list", Some(&[])),
            policy("b-only", Some(&["b"])),
        ]));
        let names = |c: &str| -> Vec<String> {
            let mut n: Vec<String> = index
                .for_cluster(c)
                .iter()
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names("a"), ["a-only", "empty-list", "everywhere", "star"]);
        assert_eq!(names("b"), ["b-only", "empty-list", "everywhere", "star"]);
        assert_eq!(names("c"), ["empty-list", "everywhere", "star"]);
    }
}
