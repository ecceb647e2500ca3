//! What the webhook asks target clusters, behind a trait so that the decision path can
//! run against a local implementation (benchmarks, or a future local RBAC evaluator).
//!
//! The Kubernetes implementation keeps short-lived caches: group checks and pod specs
//! for a few seconds (they only change what the target's RBAC or the pod says, never
//! whether a session is valid, which is decided from the watched state), and namespace
//! labels from a watch per cluster.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breakglass_core::authz::{Attributes, SarRequest};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::PostParams;

use crate::clusters::{ClusterClients, ConnectError};
use crate::rbac::TargetRbac;
use crate::store::Mirror;
use breakglass_core::rbac::Request as RbacRequest;

/// A boxed future, so the trait stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The user the group check asks about: a synthetic user carrying only the session's
/// group, so the answer reflects exactly what that group grants.
pub const SESSION_CHECK_USER: &str = "system:breakglass-session";

/// Why a target cluster could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AccessError {
    /// No client for the cluster.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The cluster answered with an error or not at all.
    #[error("cluster {cluster}: {message}")]
    Cluster {
        /// The cluster.
        cluster: String,
        /// What failed.
        message: String,
    },
}

/// Questions the decision path asks a target cluster.
pub trait TargetAccess: Send + Sync {
    /// May a user holding only `group` do the request on `cluster`?
    fn group_allowed<'a>(
        &'a self,
        cluster: &'a str,
        group: &'a str,
        request: &'a SarRequest,
    ) -> BoxFuture<'a, Result<bool, AccessError>>;

    /// Labels of a namespace, `None` when it does not exist (a rule that selects by
    /// label then fails closed).
    fn namespace_labels<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, AccessError>>;

    /// A pod, `None` when it does not exist.
    fn pod<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Pod>>, AccessError>>;
}

/// Cache lifetimes of [`KubeAccess`].
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// How long a group-check answer is reused.
    pub group_check_ttl: Duration,
    /// How long a fetched pod is reused.
    pub pod_ttl: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            group_check_ttl: Duration::from_secs(5),
            pod_ttl: Duration::from_secs(3),
        }
    }
}

/// Entries kept per cache before it is cleared, bounding memory under a flood of
/// distinct requests.
const MAX_ENTRIES: usize = 50_000;

struct TtlCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> TtlCache<K, V> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    fn put(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now()));
    }
}

struct NamespaceWatch {
    epoch: u64,
    started: Instant,
    mirror: Mirror<Namespace>,
    task: tokio::task::JoinHandle<()>,
}

impl NamespaceWatch {
    fn start(client: &kube::Client, epoch: u64) -> Self {
        let (mirror, task) = Mirror::<Namespace>::watch(Api::all(client.clone()));
        Self {
            epoch,
            started: Instant::now(),
            mirror,
            task,
        }
    }
}

impl Drop for NamespaceWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A failing namespace watch is replaced by a fresh one (which starts with a full list)
/// at most this often, bounding the lists a persistently failing watch costs.
const NAMESPACE_WATCH_RESTART: Duration = Duration::from_secs(10);

/// Where the labels of a namespace come from, given the state of the cluster's
/// namespace watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelSource {
    /// The watch has listed and is healthy: its mirror is current.
    Mirror,
    /// The watch is still on its first list: ask the cluster directly.
    Direct,
    /// The listed watch is failing: it may have missed a label added since (and a
    /// watch that resumes quietly never says it recovered), so replace it with a fresh
    /// one and ask the cluster directly until that one has listed.
    Restart,
    /// The watch is failing (for this long) and cannot be replaced yet: fail closed.
    Unavailable(Duration),
}

fn label_source(synced: bool, failing_for: Option<Duration>, age: Duration) -> LabelSource {
    match (synced, failing_for) {
        (true, None) => LabelSource::Mirror,
        (false, None) => LabelSource::Direct,
        (true, Some(_)) if age >= NAMESPACE_WATCH_RESTART => LabelSource::Restart,
        (_, Some(d)) => LabelSource::Unavailable(d),
    }
}

/// [`TargetAccess`] against the real target clusters.
pub struct KubeAccess {
    clusters: ClusterClients,
    /// The mirrored RBAC that answers group checks; `None` sends every one as a
    /// SubjectAccessReview.
    rbac: Option<Arc<TargetRbac>>,
    groups: TtlCache<(String, String, String), bool>,
    pods: TtlCache<(String, String, String), Option<Arc<Pod>>>,
    namespaces: Mutex<HashMap<String, NamespaceWatch>>,
}

impl KubeAccess {
    /// Asks the clusters of `clusters`.
    pub fn new(
        clusters: ClusterClients,
        rbac: Option<Arc<TargetRbac>>,
        cache: CacheSettings,
    ) -> Self {
        Self {
            clusters,
            rbac,
            groups: TtlCache::new(cache.group_check_ttl),
            pods: TtlCache::new(cache.pod_ttl),
            namespaces: Mutex::new(HashMap::new()),
        }
    }

    /// The state of the cluster's namespace watch (started, or restarted when its
    /// client changed or it is failing) and its mirror.
    fn namespace_source(
        &self,
        cluster: &str,
        client: &kube::Client,
        epoch: u64,
    ) -> (LabelSource, Option<Mirror<Namespace>>) {
        let mut watches = self
            .namespaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let source = match watches.get(cluster) {
            Some(w) if w.epoch == epoch => label_source(
                w.mirror.is_synced(),
                w.mirror.failing_for(now),
                now.saturating_duration_since(w.started),
            ),
            _ => LabelSource::Restart,
        };
        if source == LabelSource::Restart {
            if watches.contains_key(cluster) {
                tracing::info!(cluster, "restarting the namespace watch");
            }
            watches.insert(cluster.to_owned(), NamespaceWatch::start(client, epoch));
        }
        (source, watches.get(cluster).map(|w| w.mirror.clone()))
    }
}

fn cluster_error(cluster: &str, e: impl std::fmt::Display) -> AccessError {
    AccessError::Cluster {
        cluster: cluster.to_owned(),
        message: e.to_string(),
    }
}

/// The question for the mirrored RBAC, borrowed from `request`.
pub fn rbac_request(request: &SarRequest) -> RbacRequest<'_> {
    match &request.attributes {
        Attributes::Resource(r) => RbacRequest::Resource {
            verb: &r.verb,
            group: &r.group,
            resource: &r.resource,
            subresource: &r.subresource,
            namespace: &r.namespace,
            name: &r.name,
        },
        Attributes::NonResource(n) => RbacRequest::NonResource {
            verb: &n.verb,
            path: &n.path,
        },
    }
}

/// The SubjectAccessReview that asks whether `group` may do `request`.
pub fn group_review(group: &str, request: &SarRequest) -> SubjectAccessReview {
    let mut spec = SubjectAccessReviewSpec {
        user: Some(SESSION_CHECK_USER.to_owned()),
        groups: Some(vec![group.to_owned()]),
        ..SubjectAccessReviewSpec::default()
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    match &request.attributes {
        Attributes::Resource(r) => {
            spec.resource_attributes = Some(ResourceAttributes {
                namespace: some(&r.namespace),
                verb: some(&r.verb),
                group: Some(r.group.clone()),
                version: some(&r.version),
                resource: some(&r.resource),
                subresource: some(&r.subresource),
                name: some(&r.name),
                ..ResourceAttributes::default()
            });
        }
        Attributes::NonResource(n) => {
            spec.non_resource_attributes = Some(NonResourceAttributes {
                path: some(&n.path),
                verb: some(&n.verb),
            });
        }
    }
    SubjectAccessReview {
        spec,
        ..SubjectAccessReview::default()
    }
}

impl TargetAccess for KubeAccess {
    fn group_allowed<'a>(
        &'a self,
        cluster: &'a str,
        group: &'a str,
        request: &'a SarRequest,
    ) -> BoxFuture<'a, Result<bool, AccessError>> {
        Box::pin(async move {
            if let Some(rbac) = &self.rbac
                && let Ok(allowed) = rbac
                    .allows(
                        cluster,
                        SESSION_CHECK_USER,
                        &[group],
                        &rbac_request(request),
                    )
                    .await
            {
                return Ok(allowed);
            }
            let key = (
                cluster.to_owned(),
                group.to_owned(),
                format!("{:?}", request.attributes),
            );
            if let Some(hit) = self.groups.get(&key) {
                return Ok(hit);
            }
            let client = self.clusters.get(cluster).await?;
            let api: Api<SubjectAccessReview> = Api::all(client);
            let answer = tokio::time::timeout(
                Duration::from_secs(3),
                api.create(&PostParams::default(), &group_review(group, request)),
            )
            .await
            .map_err(|_| cluster_error(cluster, "SubjectAccessReview timed out after 3s"))?
            .map_err(|e| cluster_error(cluster, e))?;
            let allowed = answer
                .status
                .is_some_and(|s| s.allowed && s.denied != Some(true));
            self.groups.put(key, allowed);
            Ok(allowed)
        })
    }

    fn namespace_labels<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, AccessError>> {
        Box::pin(async move {
            let (client, epoch) = self.clusters.get_versioned(cluster).await?;
            match self.namespace_source(cluster, &client, epoch) {
                (LabelSource::Mirror, Some(mirror)) => {
                    return Ok(mirror
                        .get(None, namespace)
                        .map(|ns| ns.metadata.labels.clone().unwrap_or_default()));
                }
                (LabelSource::Unavailable(failing), _) => {
                    return Err(cluster_error(
                        cluster,
                        format!(
                            "the namespace watch has been failing for {}s; its labels may \
                             be stale",
                            failing.as_secs()
                        ),
                    ));
                }
                _ => {}
            }
            // The watch is (re)listing: ask directly.
            let api: Api<Namespace> = Api::all(client);
            let ns = tokio::time::timeout(Duration::from_secs(3), api.get_opt(namespace))
                .await
                .map_err(|_| cluster_error(cluster, "reading the namespace timed out after 3s"))?
                .map_err(|e| cluster_error(cluster, e))?;
            Ok(ns.map(|n| n.metadata.labels.unwrap_or_default()))
        })
    }

    fn pod<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Pod>>, AccessError>> {
        Box::pin(async move {
            let key = (cluster.to_owned(), namespace.to_owned(), name.to_owned());
            if let Some(hit) = self.pods.get(&key) {
                return Ok(hit);
            }
            let client = self.clusters.get(cluster).await?;
            let api: Api<Pod> = Api::namespaced(client, namespace);
            let pod = tokio::time::timeout(Duration::from_secs(3), api.get_opt(name))
                .await
                .map_err(|_| cluster_error(cluster, "reading the pod timed out after 3s"))?
                .map_err(|e| cluster_error(cluster, e))?
                .map(Arc::new);
            self.pods.put(key, pod.clone());
            Ok(pod)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use breakglass_core::authz::{NonResourceAttributes as NR, ResourceAttributes as RA};

    fn request(attributes: Attributes) -> SarRequest {
        SarRequest {
            user: "alice@example.com".to_owned(),
            groups: vec!["oidc:developers".to_owned()],
            uid: None,
            extra: BTreeMap::new(),
            issuer: None,
            attributes,
        }
    }

    #[test]
    fn group_reviews_carry_only_the_group_and_the_attributes() {
        let r = request(Attributes::Resource(RA {
            verb: "create".to_owned(),
            group: String::new(),
            version: "v1".to_owned(),
            resource: "pods".to_owned(),
            subresource: "exec".to_owned(),
            namespace: "default".to_owned(),
            name: "web-0".to_owned(),
        }));
        let review = group_review("oidc:pods-admin", &r);
        assert_eq!(review.spec.user.as_deref(), Some(SESSION_CHECK_USER));
        assert_eq!(review.spec.groups, Some(vec!["oidc:pods-admin".to_owned()]));
        let ra = review.spec.resource_attributes.unwrap_or_default();
        assert_eq!(
            ra.group.as_deref(),
            Some(""),
            "the core group is sent explicitly"
        );
        assert_eq!(ra.subresource.as_deref(), Some("exec"));
        assert_eq!(ra.name.as_deref(), Some("web-0"));
        assert!(review.spec.extra.is_none() && review.spec.uid.is_none());
        let r = request(Attributes::NonResource(NR {
            path: "/healthz".to_owned(),
            verb: "get".to_owned(),
        }));
        let review = group_review("g", &r);
        assert!(review.spec.resource_attributes.is_none());
        assert_eq!(
            review
                .spec
                .non_resource_attributes
                .and_then(|n| n.path)
                .as_deref(),
            Some("/healthz")
        );
    }

    /// Regression: a synced namespace watch was trusted while failing, so a namespace
    /// labelled protected after the failure was not denied.
    #[test]
    fn a_failing_namespace_watch_fails_closed_until_it_recovers() {
        let second = Duration::from_secs(1);
        let young = Duration::ZERO;
        let old = NAMESPACE_WATCH_RESTART;
        // First list still running: a direct read.
        assert_eq!(label_source(false, None, young), LabelSource::Direct);
        // Listed and healthy: the mirror.
        assert_eq!(label_source(true, None, old), LabelSource::Mirror);
        // Listed but failing: never the mirror. A fresh watch (its full list replaces
        // what may have been missed) with direct reads meanwhile, or, right after a
        // restart, a refusal.
        assert_eq!(label_source(true, Some(second), old), LabelSource::Restart);
        assert_eq!(
            label_source(true, Some(second), young),
            LabelSource::Unavailable(second)
        );
        // Failing before it ever listed: the cluster is not answering; refuse.
        assert_eq!(
            label_source(false, Some(second), old),
            LabelSource::Unavailable(second)
        );
        // Recovered (a good event, or the fresh watch listed): the mirror again.
        assert_eq!(label_source(true, None, young), LabelSource::Mirror);
    }

    #[test]
    fn ttl_cache_expires_and_is_bounded() {
        let cache: TtlCache<u32, bool> = TtlCache::new(Duration::from_millis(30));
        cache.put(1, true);
        assert_eq!(cache.get(&1), Some(true));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&1), None);
        let off: TtlCache<u32, bool> = TtlCache::new(Duration::ZERO);
        off.put(1, true);
        assert_eq!(off.get(&1), None);
        let big: TtlCache<usize, bool> = TtlCache::new(Duration::from_secs(60));
        for i in 0..=MAX_ENTRIES {
            big.put(i, true);
        }
        let len = big.entries.lock().map(|e| e.len()).unwrap_or(0);
        assert!(len <= MAX_ENTRIES, "{len}");
    }
}
