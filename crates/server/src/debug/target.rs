//! Writes on target clusters: deploying a session's workload and removing everything
//! labelled with a session again (also leftovers of sessions a crashed leader never
//! cleaned up).
//!
//! Everything is found by label, never by a name remembered in the session's status,
//! so objects created just before a crash (the status write lost) are found as well.

use std::collections::{BTreeMap, BTreeSet};

use breakglass_api::debug_session::{DebugSession, DeployedResourceRef};
use breakglass_core::debug::workload::{self, Workload};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::NamespaceResourceScope;
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    /// An object of the workload's name exists and belongs to something else.
    #[error("{kind} {namespace}/{name} already exists and does not belong to this session")]
    Foreign {
        /// Kind.
        kind: &'static str,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
}

/// The longest one target operation may take: a hung target must not stall the
/// reconciler, which serves every cluster.
pub const TARGET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

async fn bounded<T>(
    what: &'static str,
    work: impl std::future::Future<Output = Result<T, TargetError>>,
) -> Result<T, TargetError> {
    tokio::time::timeout(TARGET_TIMEOUT, work)
        .await
        .unwrap_or(Err(TargetError::Timeout { what }))
}

fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> TargetError {
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

/// Creates the workload, or accepts the one already there when it carries this
/// session's labels (a redeploy after a lost status write); with `reapply` that one is
/// updated to `workload`. Returns what was deployed.
pub async fn deploy(
    client: &Client,
    session: &DebugSession,
    workload: &Workload,
    reapply: bool,
) -> Result<DeployedResourceRef, TargetError> {
    bounded("deploying the workload", async {
        match workload {
            Workload::DaemonSet(ds) => create_owned(client, session, ds, reapply).await,
            Workload::Deployment(d) => create_owned(client, session, d, reapply).await,
        }
    })
    .await
}

async fn create_owned<K>(
    client: &Client,
    session: &DebugSession,
    object: &K,
    reapply: bool,
) -> Result<DeployedResourceRef, TargetError>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + std::fmt::Debug,
{
    let ns = object.meta().namespace.clone().unwrap_or_default();
    let name = object.name_any();
    let kind = K::kind(&()).into_owned();
    let api: Api<K> = Api::namespaced(client.clone(), &ns);
    let created = match api.create(&PostParams::default(), object).await {
        Ok(o) => o,
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let existing = api
                .get(&name)
                .await
                .map_err(kube_err(format!("reading {kind} {ns}/{name}")))?;
            let ours = workload::selector_labels(session);
            if !ours
                .iter()
                .all(|(k, v)| existing.labels().get(k) == Some(v))
            {
                return Err(TargetError::Foreign {
                    kind: static_kind(&kind),
                    namespace: ns,
                    name,
                });
            }
            if reapply {
                let pp = PatchParams::apply("breakglass").force();
                api.patch(&name, &pp, &Patch::Apply(object))
                    .await
                    .map_err(kube_err(format!("updating {kind} {ns}/{name}")))?
            } else {
                existing
            }
        }
        Err(e) => return Err(kube_err(format!("creating {kind} {ns}/{name}"))(e)),
    };
    Ok(DeployedResourceRef {
        api_version: K::api_version(&()).into_owned(),
        kind,
        name,
        namespace: Some(ns),
        source: Some("workload".to_owned()),
        uid: created.meta().uid.clone(),
    })
}

fn static_kind(kind: &str) -> &'static str {
    match kind {
        "DaemonSet" => "DaemonSet",
        "Deployment" => "Deployment",
        _ => "object",
    }
}

/// Deletes every object matching `selector` on the target: workloads first (their
/// pods go with them), then any pod left, without a grace period (debug pods hold no
/// state worth waiting for). Returns how many objects were deleted.
pub async fn delete_labelled(client: &Client, selector: &str) -> Result<usize, TargetError> {
    bounded("deleting the session's objects", async {
        let mut deleted = 0;
        deleted += delete_all::<DaemonSet>(client, selector, DeleteParams::background()).await?;
        deleted += delete_all::<Deployment>(client, selector, DeleteParams::background()).await?;
        let now = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::background()
        };
        deleted += delete_all::<Pod>(client, selector, now).await?;
        Ok(deleted)
    })
    .await
}

async fn delete_all<K>(
    client: &Client,
    selector: &str,
    dp: DeleteParams,
) -> Result<usize, TargetError>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let kind = K::kind(&()).into_owned();
    let list = Api::<K>::all(client.clone())
        .list_metadata(&ListParams::default().labels(selector))
        .await
        .map_err(kube_err(format!("listing {kind}s labelled {selector}")))?;
    let mut deleted = 0;
    for item in list.items {
        let ns = item.metadata.namespace.clone().unwrap_or_default();
        let name = item.metadata.name.clone().unwrap_or_default();
        if item.metadata.deletion_timestamp.is_some() && kind != "Pod" {
            continue;
        }
        match Api::<K>::namespaced(client.clone(), &ns)
            .delete(&name, &dp)
            .await
        {
            Ok(_) => deleted += 1,
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(kube_err(format!("deleting {kind} {ns}/{name}"))(e)),
        }
    }
    Ok(deleted)
}

/// The sessions (hub namespace, name label values) that own labelled objects on the
/// target.
pub async fn owners(client: &Client) -> Result<BTreeSet<(String, String)>, TargetError> {
    bounded("listing labelled objects", async {
        let selector = workload::managed_selector();
        let lp = ListParams::default().labels(&selector);
        let mut out = BTreeSet::new();
        let mut add = |labels: Option<BTreeMap<String, String>>| {
            if let Some(o) = labels.as_ref().and_then(workload::owner_of) {
                out.insert(o);
            }
        };
        for ds in Api::<DaemonSet>::all(client.clone())
            .list_metadata(&lp)
            .await
            .map_err(kube_err("listing DaemonSets"))?
            .items
        {
            add(ds.metadata.labels);
        }
        for d in Api::<Deployment>::all(client.clone())
            .list_metadata(&lp)
            .await
            .map_err(kube_err("listing Deployments"))?
            .items
        {
            add(d.metadata.labels);
        }
        for p in Api::<Pod>::all(client.clone())
            .list_metadata(&lp)
            .await
            .map_err(kube_err("listing pods"))?
            .items
        {
            add(p.metadata.labels);
        }
        Ok(out)
    })
    .await
}

/// The selector of an owner as [`owners`] reports it.
pub fn owner_selector(namespace_label: &str, name_label: &str) -> String {
    format!(
        "{}={name_label},{}={namespace_label}",
        breakglass_api::labels::DEBUG_SESSION,
        workload::SESSION_NAMESPACE
    )
}
