//! Watches of the session pods on each target (one per cluster with an active session,
//! on the `managed-by=breakglass` label), so `status.allowedPods` follows the pods as
//! they are scheduled, become ready, restart or go away — without polling.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use breakglass_core::debug::workload;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
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
}

impl PodWatches {
    /// No watches yet; every change on a watched cluster sends the cluster's name on
    /// `dirty`.
    pub fn new(dirty: mpsc::UnboundedSender<String>) -> Self {
        Self {
            watches: HashMap::new(),
            tasks: JoinSet::new(),
            dirty,
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
