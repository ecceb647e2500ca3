//! Target clusters, the controller's side: reading what a deployment needs, and removing
//! everything labelled with a session again (also leftovers of sessions a crashed
//! leader never cleaned up). Applying a plan is [`super::apply`].
//!
//! Everything is found by label, never by a name remembered in the session's status,
//! so objects created just before a crash (the status write lost) are found as well.

use std::collections::{BTreeMap, BTreeSet};

use breakglass_core::debug::deploy::{KNOWN_KINDS, KindInfo};
use breakglass_core::debug::workload;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams};
use kube::{Api, Client, ResourceExt};

use crate::hub_answer::is_not_found;

/// Why a target write failed; the message is shown on the session.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The target's API refused or failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was attempted.
        what: String,
        /// The error.
        #[source]
        source: kube::Error,
    },
    /// The target did not answer in time.
    #[error("{what}: no answer within {secs} s", secs = TARGET_TIMEOUT.as_secs())]
    Timeout {
        /// What was attempted.
        what: &'static str,
    },
}

/// The longest one target operation may take: a hung target must not stall the
/// reconciler, which serves every cluster.
pub const TARGET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs `work` within [`TARGET_TIMEOUT`].
pub async fn bounded<T>(
    what: &'static str,
    work: impl std::future::Future<Output = Result<T, TargetError>>,
) -> Result<T, TargetError> {
    tokio::time::timeout(TARGET_TIMEOUT, work)
        .await
        .unwrap_or(Err(TargetError::Timeout { what }))
}

/// Wraps a kube error with what was attempted.
pub fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> TargetError {
    let what = what.into();
    move |source| TargetError::Kube { what, source }
}

/// Whether namespace `name` exists on the target.
pub async fn namespace_exists(client: &Client, name: &str) -> Result<bool, TargetError> {
    bounded("reading the target namespace", async {
        Api::<Namespace>::all(client.clone())
            .get_opt(name)
            .await
            .map(|n| n.is_some())
            .map_err(kube_err(format!("reading namespace {name}")))
    })
    .await
}

/// The names of the target's nodes (to expand glob `deniedNodes`).
pub async fn node_names(client: &Client) -> Result<Vec<String>, TargetError> {
    bounded("listing nodes", async {
        let nodes = Api::<Node>::all(client.clone())
            .list_metadata(&ListParams::default())
            .await
            .map_err(kube_err("listing nodes"))?;
        Ok(nodes.items.into_iter().map(|n| n.name_any()).collect())
    })
    .await
}

/// The workload kinds and pods, looked at by cleanup whatever [`KNOWN_KINDS`] holds
/// (sessions deployed before plans existed have only these).
const BASE_KINDS: &[KindInfo] = &[
    KindInfo {
        group: "apps",
        version: "v1",
        kind: "DaemonSet",
        plural: "daemonsets",
        namespaced: true,
    },
    KindInfo {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        namespaced: true,
    },
    KindInfo {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        namespaced: true,
    },
];

/// Namespaces: created for a session (`createIfNotExists`), deleted with it.
pub const NAMESPACE: KindInfo = KindInfo {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    namespaced: false,
};

/// Every namespaced kind cleanup deletes, in deletion order: workloads first (their
/// pods go with them), then everything a plan can hold, pods last. Namespaces are
/// handled apart (after everything in them).
pub fn cleanup_kinds() -> Vec<&'static KindInfo> {
    let same = |a: &KindInfo, b: &KindInfo| a.group == b.group && a.kind == b.kind;
    let mut kinds: Vec<&'static KindInfo> = BASE_KINDS.iter().take(2).collect();
    for k in KNOWN_KINDS {
        if k.namespaced
            && !BASE_KINDS
                .iter()
                .chain(kinds.iter().copied())
                .any(|b| same(b, k))
        {
            kinds.push(k);
        }
    }
    kinds.extend(BASE_KINDS.iter().skip(2));
    kinds
}

/// The kind of an object recorded in a status (`apiVersion`, `kind`), when cleanup knows it.
pub fn kind_of(api_version: &str, kind: &str) -> Option<&'static KindInfo> {
    cleanup_kinds()
        .into_iter()
        .chain(std::iter::once(&NAMESPACE))
        .find(|k| k.kind == kind && k.api_version() == api_version)
}

/// A dynamic API resource for `kind`.
pub fn api_resource(kind: &KindInfo) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(kind.group, kind.version, kind.kind),
        kind.plural,
    )
}

/// What a cleanup deleted: how many objects of each kind (kinds with none left out).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deleted(pub BTreeMap<&'static str, usize>);

impl Deleted {
    /// How many objects were deleted in all.
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    fn add(&mut self, kind: &'static str, n: usize) {
        if n > 0 {
            *self.0.entry(kind).or_default() += n;
        }
    }
}

/// Deletes every object matching `selector` on the target, of every kind a session
/// can create ([`cleanup_kinds`]): workloads first, then the rest, pods without a
/// grace period (debug pods hold no state worth waiting for), and finally namespaces
/// carrying the selector — only namespaces created for the session do, so a namespace
/// we did not create is never deleted; nor is one holding objects kept after their
/// session. Returns how many objects of each kind were deleted.
pub async fn delete_labelled(client: &Client, selector: &str) -> Result<Deleted, TargetError> {
    bounded("deleting the session's objects", async {
        let mut deleted = Deleted::default();
        for kind in cleanup_kinds() {
            let dp = if kind.kind == "Pod" {
                DeleteParams {
                    grace_period_seconds: Some(0),
                    ..DeleteParams::background()
                }
            } else {
                DeleteParams::background()
            };
            deleted.add(kind.kind, delete_all(client, kind, selector, &dp).await?);
        }
        deleted.add(NAMESPACE.kind, delete_namespaces(client, selector).await?);
        Ok(deleted)
    })
    .await
}

async fn delete_all(
    client: &Client,
    kind: &KindInfo,
    selector: &str,
    dp: &DeleteParams,
) -> Result<usize, TargetError> {
    let ar = api_resource(kind);
    let list = Api::<DynamicObject>::all_with(client.clone(), &ar)
        .list_metadata(&ListParams::default().labels(selector))
        .await
        .map_err(kube_err(format!(
            "listing {}s labelled {selector}",
            kind.kind
        )))?;
    let mut deleted = 0;
    for item in list.items {
        let name = item.metadata.name.clone().unwrap_or_default();
        // A pod keeps its grace period once deleting; ask again without one.
        if item.metadata.deletion_timestamp.is_some() && kind.kind != "Pod" {
            continue;
        }
        let api: Api<DynamicObject> = match item.metadata.namespace.as_deref() {
            Some(ns) if kind.namespaced => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        };
        match api.delete(&name, dp).await {
            Ok(_) => deleted += 1,
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                let ns = item.metadata.namespace.unwrap_or_default();
                return Err(kube_err(format!("deleting {} {ns}/{name}", kind.kind))(e));
            }
        }
    }
    Ok(deleted)
}

/// Deletes the namespaces matching `selector` (created for a session), except one that
/// still holds objects kept after their session (`deleteAfter: false`): deleting the
/// namespace would delete them too.
async fn delete_namespaces(client: &Client, selector: &str) -> Result<usize, TargetError> {
    let ar = api_resource(&NAMESPACE);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let list = api
        .list_metadata(&ListParams::default().labels(selector))
        .await
        .map_err(kube_err(format!("listing namespaces labelled {selector}")))?;
    let mut deleted = 0;
    for ns in list.items {
        let name = ns.metadata.name.unwrap_or_default();
        if ns.metadata.deletion_timestamp.is_some() || holds_kept(client, &name).await? {
            continue;
        }
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted += 1,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(kube_err(format!("deleting namespace {name}"))(e)),
        }
    }
    Ok(deleted)
}

/// Whether namespace `ns` holds an object marked to outlive its session.
async fn holds_kept(client: &Client, ns: &str) -> Result<bool, TargetError> {
    let lp = ListParams::default()
        .labels(&format!("{}=true", workload::DEBUG_KEEP))
        .limit(1);
    for kind in cleanup_kinds() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &api_resource(kind));
        let found = api
            .list_metadata(&lp)
            .await
            .map_err(kube_err(format!("listing kept {}s in {ns}", kind.kind)))?;
        if !found.items.is_empty() {
            tracing::info!(
                namespace = ns,
                kind = kind.kind,
                "a session's namespace is kept: it holds objects with deleteAfter: false"
            );
            return Ok(true);
        }
    }
    Ok(false)
}

/// The sessions (hub namespace, name label values) that own labelled objects on the
/// target, among every kind cleanup deletes and namespaces (objects kept after their
/// session, `deleteAfter: false`, do not count).
pub async fn owners(client: &Client) -> Result<BTreeSet<(String, String)>, TargetError> {
    bounded("listing labelled objects", async {
        let selector = format!("{},!{}", workload::managed_selector(), workload::DEBUG_KEEP);
        let lp = ListParams::default().labels(&selector);
        let mut out = BTreeSet::new();
        for kind in cleanup_kinds()
            .into_iter()
            .chain(std::iter::once(&NAMESPACE))
        {
            let items = Api::<DynamicObject>::all_with(client.clone(), &api_resource(kind))
                .list_metadata(&lp)
                .await
                .map_err(kube_err(format!("listing {}s", kind.kind)))?
                .items;
            for item in items {
                if let Some(o) = item.metadata.labels.as_ref().and_then(workload::owner_of) {
                    out.insert(o);
                }
            }
        }
        Ok(out)
    })
    .await
}

/// The cleanup selector of an owner as [`owners`] reports it (objects kept after the
/// session, `deleteAfter: false`, excluded).
pub fn owner_selector(namespace_label: &str, name_label: &str) -> String {
    format!(
        "{}={name_label},{}={namespace_label},!{}",
        breakglass_api::labels::DEBUG_SESSION,
        workload::SESSION_NAMESPACE,
        workload::DEBUG_KEEP
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_looks_at_workloads_first_pods_last_and_every_known_kind_once() {
        let kinds: Vec<&str> = cleanup_kinds().iter().map(|k| k.kind).collect();
        assert_eq!(kinds[..2], ["DaemonSet", "Deployment"]);
        assert_eq!(kinds.last(), Some(&"Pod"));
        for known in KNOWN_KINDS.iter().filter(|k| k.namespaced) {
            let n = cleanup_kinds()
                .iter()
                .filter(|k| k.group == known.group && k.kind == known.kind)
                .count();
            assert_eq!(n, 1, "{}", known.kind);
        }
        assert!(kinds.iter().all(|k| *k != "Namespace"));
        assert_eq!(
            kind_of("apps/v1", "Deployment").map(|k| k.plural),
            Some("deployments")
        );
        assert_eq!(
            kind_of("v1", "Namespace").map(|k| k.plural),
            Some("namespaces")
        );
        assert_eq!(kind_of("v2", "Deployment"), None);
    }
}
