//! Watches of the session pods on each target (one per cluster with an active session,
//! on the `managed-by=breakglass` label), so `status.allowedPods` follows the pods as
//! they are scheduled, become ready, restart or go away — without polling. The same
//! clusters' node names are watched too: a node that appears or goes away may change
//! what a glob `deniedNodes` pattern excludes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use breakglass_core::debug::workload;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

struct Watch {
    store: Store<Pod>,
    synced: Arc<AtomicBool>,
    epoch: u64,
}

/// The pod watches of the leader; dropping it stops them.
pub struct PodWatches {
    watches: HashMap<String, Watch>,
    tasks: JoinSet<()>,
    dirty: mpsc::UnboundedSender<String>,
    nodes: mpsc::UnboundedSender<String>,
}

impl PodWatches {
    /// No watches yet; every pod change on a watched cluster sends the cluster's name
    /// on `dirty`, every change of its node names on `nodes`.
    pub fn new(dirty: mpsc::UnboundedSender<String>, nodes: mpsc::UnboundedSender<String>) -> Self {
        Self {
            watches: HashMap::new(),
            tasks: JoinSet::new(),
            dirty,
            nodes,
        }
    }

    /// Makes sure `cluster` is watched with the client of `epoch` (a rebuilt client,
    /// e.g. after rotated credentials, restarts the watch).
    pub fn ensure(&mut self, cluster: &str, client: &Client, epoch: u64) {
        if self.watches.get(cluster).is_some_and(|w| w.epoch == epoch) {
            return;
        }
        let (store, writer) = reflector::store::<Pod>();
        let synced = Arc::new(AtomicBool::new(false));
        let api: Api<Pod> = Api::all(client.clone());
        let config = watcher::Config::default().labels(&workload::managed_selector());
        let dirty = self.dirty.clone();
        let name = cluster.to_owned();
        let flag = synced.clone();
        self.tasks.spawn(async move {
            let stream = watcher::watcher(api, config)
                .default_backoff()
                .reflect(writer);
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(Event::InitDone) => flag.store(true, Ordering::Release),
                    Ok(Event::Init | Event::InitApply(_)) => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(cluster = %name, error = %e, "debug pod watch failed, retrying");
                        continue;
                    }
                }
                if flag.load(Ordering::Acquire) && dirty.send(name.clone()).is_err() {
                    return;
                }
            }
        });
        self.tasks.spawn(watch_nodes(
            client.clone(),
            cluster.to_owned(),
            self.nodes.clone(),
        ));
        tracing::info!(cluster, "watching debug session pods");
        self.watches.insert(
            cluster.to_owned(),
            Watch {
                store,
                synced,
                epoch,
            },
        );
    }

    /// The watched pods of `cluster`, once its watch has listed them all.
    pub fn pods(&self, cluster: &str) -> Option<Vec<Arc<Pod>>> {
        let w = self.watches.get(cluster)?;
        w.synced.load(Ordering::Acquire).then(|| w.store.state())
    }
}

/// Sends `cluster` on `changed` whenever the set of its node names changes after the
/// first complete list.
async fn watch_nodes(client: Client, cluster: String, changed: mpsc::UnboundedSender<String>) {
    let api: Api<PartialObjectMeta<Node>> = Api::all(client);
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut names = std::collections::BTreeSet::new();
    let mut listing = std::collections::BTreeSet::new();
    let mut synced = false;
    while let Some(event) = stream.next().await {
        let before = names.clone();
        let done = matches!(event, Ok(Event::InitDone));
        match event {
            Ok(Event::Init) => listing.clear(),
            Ok(Event::InitApply(n)) => {
                listing.insert(n.metadata.name.unwrap_or_default());
            }
            Ok(Event::InitDone) => {
                names = std::mem::take(&mut listing);
            }
            Ok(Event::Apply(n)) => {
                names.insert(n.metadata.name.unwrap_or_default());
            }
            Ok(Event::Delete(n)) => {
                names.remove(&n.metadata.name.unwrap_or_default());
            }
            Err(e) => {
                tracing::warn!(cluster = %cluster, error = %e, "node watch failed, retrying");
                continue;
            }
        }
        if synced && names != before && changed.send(cluster.clone()).is_err() {
            return;
        }
        synced |= done;
    }
}
