//! The webhook's indexes over the watched state: sessions by (cluster, user), kept
//! current from the session mirror, so a decision reads only the caller's sessions (the
//! same [`ByUser`] index serves debug sessions by participant); and
//! the Ready escalations by the cluster they target, so a decision checks only those.
//!
//! Synchronous by design: the watch task applies changes, serving code only reads, and
//! nothing here holds a hub client — a decision can never turn into a hub request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::deny_policy::DenyPolicy;
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

struct Inner<K> {
    by_user: HashMap<UserKey, Vec<Arc<K>>>,
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

impl<K: UserKeyed> Inner<K> {
    fn remove(&mut self, key: &ObjectKey) {
        for user in self.placed.remove(key).unwrap_or_default() {
            if let Some(list) = self.by_user.get_mut(&user) {
                list.retain(|s| object_key(s.as_ref()) != *key);
                if list.is_empty() {
                    self.by_user.remove(&user);
                }
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
        for user in &users {
            self.by_user
                .entry(user.clone())
                .or_default()
                .push(object.clone());
        }
        self.placed.insert(key, users);
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

    fn rebuild(&self, mirror: &Mirror<K>) {
        let mut fresh = Inner::default();
        for s in mirror.all() {
            fresh.insert(s);
        }
        *self.write() = fresh;
    }

    /// The objects indexed under the user on the cluster.
    pub fn get(&self, cluster: &str, user: &str) -> Vec<Arc<K>> {
        let inner = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner
            .by_user
            .get(&(cluster.to_owned(), user.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Number of indexed objects.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .placed
            .len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Objects of one kind by the cluster they apply to: escalations by the cluster they
/// target, DenyPolicies by `appliesTo.clusters`. A cluster's list is computed on first
/// use after a change and reused until the next change of any object of the kind, so a
/// decision walks only what concerns its cluster. Only registered clusters are looked
/// up (the webhook path names the cluster, so lists for arbitrary names are never built).
#[derive(Clone)]
pub struct ByCluster<K: kube::Resource + Clone + 'static>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    mirror: Mirror<K>,
    applies: fn(&K, &str) -> bool,
    version: Arc<AtomicU64>,
    by_cluster: Arc<RwLock<HashMap<String, CachedList<K>>>>,
}

/// A cluster's objects and the index version they were computed at.
type CachedList<K> = (u64, Arc<[Arc<K>]>);

/// Lists kept before the cache is cleared (more registered clusters than this only cost
/// a recomputation).
const MAX_CLUSTERS: usize = 10_000;

/// Ready escalations by the cluster they target, in namespace/name order.
pub type EscalationIndex = ByCluster<BreakglassEscalation>;

/// DenyPolicies by the clusters `appliesTo.clusters` covers, in mirror order (the
/// pipeline sorts by precedence, stably).
pub type DenyPolicyIndex = ByCluster<DenyPolicy>;

fn escalation_targets(e: &BreakglassEscalation, cluster: &str) -> bool {
    e.is_ready() && breakglass_core::escalation::targets_cluster(&e.spec, cluster)
}

fn policy_applies(p: &DenyPolicy, cluster: &str) -> bool {
    breakglass_core::authz::deny::applies_to_cluster(p.spec.applies_to.as_ref(), cluster)
}

impl EscalationIndex {
    /// An index over `mirror` without a task (for mirrors that never change).
    pub fn new(mirror: Mirror<BreakglassEscalation>) -> Self {
        Self::with(mirror, escalation_targets)
    }

    /// An index that follows `mirror`: every change invalidates the lists.
    pub fn follow(mirror: Mirror<BreakglassEscalation>) -> Self {
        Self::new(mirror).followed()
    }

    /// The Ready escalations that target `cluster`, in namespace/name order.
    pub fn targeting(&self, cluster: &str) -> Arc<[Arc<BreakglassEscalation>]> {
        self.get(cluster, |list| {
            list.sort_by(|a, b| {
                (&a.metadata.namespace, &a.metadata.name)
                    .cmp(&(&b.metadata.namespace, &b.metadata.name))
            });
        })
    }
}

impl DenyPolicyIndex {
    /// An index over `mirror` without a task (for mirrors that never change).
    pub fn new(mirror: Mirror<DenyPolicy>) -> Self {
        Self::with(mirror, policy_applies)
    }

    /// An index that follows `mirror`: every change invalidates the lists.
    pub fn follow(mirror: Mirror<DenyPolicy>) -> Self {
        Self::new(mirror).followed()
    }

    /// The DenyPolicies whose `appliesTo.clusters` covers `cluster`.
    pub fn for_cluster(&self, cluster: &str) -> Arc<[Arc<DenyPolicy>]> {
        self.get(cluster, |_| {})
    }
}

impl<K> ByCluster<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    fn with(mirror: Mirror<K>, applies: fn(&K, &str) -> bool) -> Self {
        Self {
            mirror,
            applies,
            version: Arc::new(AtomicU64::new(0)),
            by_cluster: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// Starts the task that invalidates the lists on every change of the mirror.
    fn followed(self) -> Self {
        let target = self.clone();
        let mirror = self.mirror.clone();
        let mut changes = mirror.subscribe();
        tokio::spawn(async move {
            mirror.wait_synced().await;
            target.invalidate();
            loop {
                match changes.recv().await {
                    Ok(_) | Err(RecvError::Lagged(_)) => target.invalidate(),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        self
    }

    /// Drops every computed list (an object was applied or deleted).
    pub fn invalidate(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        self.by_cluster
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn get(&self, cluster: &str, order: impl FnOnce(&mut Vec<Arc<K>>)) -> Arc<[Arc<K>]> {
        let version = self.version.load(Ordering::Acquire);
        if let Some((v, list)) = self
            .by_cluster
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(cluster)
            && *v == version
        {
            return list.clone();
        }
        let mut list: Vec<Arc<K>> = self
            .mirror
            .all()
            .into_iter()
            .filter(|o| (self.applies)(o, cluster))
            .collect();
        order(&mut list);
        let list: Arc<[_]> = list.into();
        let mut cache = self
            .by_cluster
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A change since the read: do not store a list that may already be stale.
        if self.version.load(Ordering::Acquire) == version {
            if cache.len() >= MAX_CLUSTERS {
                cache.clear();
            }
            cache.insert(cluster.to_owned(), (version, list.clone()));
        }
        list
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
