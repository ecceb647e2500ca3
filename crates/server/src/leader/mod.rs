//! Leader election on a Lease: every replica serves HTTP, only the leader runs the
//! writers (timers, reconcilers).

use std::future::Future;
use std::pin::Pin;

use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

/// Lease validity in seconds; a crashed leader is replaced after at most this long.
pub const LEASE_SECONDS: u64 = 15;
/// The leader renews this many seconds before the lease runs out.
pub const GRACE_SECONDS: u64 = 5;

/// Starts the leader-only tasks. `spawn` is called each time this replica becomes the
/// leader; its tasks are aborted when leadership is lost.
pub type Spawner = Box<dyn Fn() -> Vec<JoinHandle<()>> + Send + Sync>;

/// Settings of the election.
#[derive(Debug, Clone)]
pub struct Election {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub lease: String,
    /// This replica's identity in the Lease.
    pub identity: String,
}

/// Runs the election until `shutdown` completes, then releases the Lease so another
/// replica takes over at once. Without an election (`None`) the tasks just run.
pub async fn run(
    client: Client,
    election: Option<Election>,
    metrics: Metrics,
    spawn: Spawner,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Result<(), kube_lease_manager::LeaseManagerError> {
    let Some(election) = election else {
        metrics.leader.set(1);
        let tasks = spawn();
        shutdown.await;
        abort(tasks);
        return Ok(());
    };
    let mut shutdown = shutdown;
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let mut backoff = std::time::Duration::from_secs(1);
    // The election restarts after any failure; writers only run while it says so.
    'elect: loop {
        let built = LeaseManagerBuilder::new(client.clone(), &election.lease)
            .with_namespace(&election.namespace)
            .with_identity(&election.identity)
            .with_duration(LEASE_SECONDS)
            .with_grace(GRACE_SECONDS)
            .build()
            .await;
        let manager = match built {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, lease = %election.lease, "cannot start leader election; retrying");
                tokio::select! {
                    () = &mut shutdown => break 'elect,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
                continue;
            }
        };
        backoff = std::time::Duration::from_secs(1);
        let (mut leading, handle) = manager.watch().await;
        let mut health = tokio::time::interval(std::time::Duration::from_secs(1));
        // The lease manager looks at another holder's Lease only when it would expire;
        // watching the Lease lets a follower take over as soon as a leader releases it.
        let released = lease_released(client.clone(), &election);
        tokio::pin!(released);
        loop {
            tokio::select! {
                () = &mut released, if tasks.is_empty() => {
                    tracing::info!(lease = %election.lease, "the Lease was released; trying to take it");
                    drop(leading);
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), handle).await;
                    continue 'elect;
                }
                () = &mut shutdown => {
                    abort(std::mem::take(&mut tasks));
                    metrics.leader.set(0);
                    // Closing the channel makes the manager release the Lease.
                    drop(leading);
                    match tokio::time::timeout(std::time::Duration::from_secs(5), handle).await {
                        Ok(Ok(Ok(_))) => tracing::info!("lease released"),
                        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "releasing the lease failed"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "lease task failed"),
                        Err(_) => tracing::warn!("releasing the lease timed out"),
                    }
                    break 'elect;
                }
                changed = leading.changed() => {
                    if changed.is_err() {
                        tracing::error!(lease = %election.lease, "leader election stopped; stopping writers and restarting it");
                        metrics.leader.set(0);
                        abort(std::mem::take(&mut tasks));
                        if let Ok(Err(e)) = handle.await {
                            tracing::error!(error = %e, "leader election failed");
                        }
                        continue 'elect;
                    }
                    let is_leader = *leading.borrow_and_update();
                    if is_leader && tasks.is_empty() {
                        tracing::info!(lease = %election.lease, identity = %election.identity, "became leader");
                        metrics.leader.set(1);
                        tasks = spawn();
                    } else if !is_leader && !tasks.is_empty() {
                        tracing::warn!(lease = %election.lease, "lost leadership; stopping writers");
                        metrics.leader.set(0);
                        abort(std::mem::take(&mut tasks));
                    }
                }
                _ = health.tick() => {
                    // A writer that ended on its own (it should not) is restarted.
                    if !tasks.is_empty() && tasks.iter().any(JoinHandle::is_finished) {
                        tracing::error!("a leader task ended unexpectedly; restarting the writers");
                        abort(std::mem::take(&mut tasks));
                        tasks = spawn();
                    }
                }
            }
        }
    }
    metrics.leader.set(0);
    Ok(())
}

/// Completes when another replica's Lease becomes free (it was released), as seen by a
/// watch. A Lease that is free from the start does not count: the manager takes it.
async fn lease_released(client: Client, election: &Election) {
    use futures::StreamExt;
    use k8s_openapi::api::coordination::v1::Lease;
    use kube::runtime::WatchStreamExt;
    use kube::runtime::watcher::{self, Event};
    let api: kube::Api<Lease> = kube::Api::namespaced(client, &election.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={}", election.lease));
    let stream = watcher::watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    let mut held_by_other = false;
    while let Some(event) = stream.next().await {
        if let Ok(Event::Apply(lease) | Event::InitApply(lease)) = event {
            match lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                .filter(|h| !h.is_empty())
            {
                None if held_by_other => return,
                None => {}
                Some(holder) => held_by_other = holder != election.identity,
            }
        }
    }
    std::future::pending::<()>().await;
}

fn abort(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        t.abort();
    }
}
