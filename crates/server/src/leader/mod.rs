//! Leader election on a `coordination.k8s.io/v1` Lease: every replica serves HTTP, only
//! the leader runs the writers (timers, reconcilers).
//!
//! The decisions live in [`decide`] (pure); this module reads and writes the Lease with
//! a timeout on every request and starts or stops the writers. Writers stop when the
//! local renew deadline passes, whether or not the hub answers at all.

pub mod decide;

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::task::JoinHandle;

pub use decide::{Memory, Record, Step, Timing, TimingError};

use crate::hub_answer::is_conflict;
use crate::metrics::Metrics;
use crate::store::HubContact;

/// Starts the leader-only tasks. `spawn` is called each time this replica becomes the
/// leader; its tasks are aborted when leadership ends.
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
    /// Lease duration, renew deadline, retry period, request timeout.
    pub timing: Timing,
}

/// Why one attempt on the Lease failed.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("no answer from the hub within {0:?}")]
    Timeout(std::time::Duration),
    #[error("another replica wrote the Lease first")]
    Conflict,
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// Where the writers stand.
struct Writers {
    tasks: Vec<JoinHandle<()>>,
    spawn: Spawner,
    metrics: Metrics,
}

impl Writers {
    fn start(&mut self) {
        if self.tasks.is_empty() {
            self.metrics.leader.set(1);
            self.tasks = (self.spawn)();
        }
    }

    fn stop(&mut self) {
        self.metrics.leader.set(0);
        for t in std::mem::take(&mut self.tasks) {
            t.abort();
        }
    }

    fn running(&self) -> bool {
        !self.tasks.is_empty()
    }

    /// A writer that ended on its own (it should not) is restarted.
    fn restart_finished(&mut self) {
        if self.running() && self.tasks.iter().any(JoinHandle::is_finished) {
            tracing::error!("a leader task ended unexpectedly; restarting the writers");
            self.stop();
            self.start();
        }
    }
}

/// Runs the election until `shutdown` completes, then releases the Lease (if still
/// held, and only the version this replica wrote) so another replica takes over at
/// once. Without an election (`None`) the tasks just run.
pub async fn run(
    client: Client,
    election: Option<Election>,
    metrics: Metrics,
    hub: HubContact,
    spawn: Spawner,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
) {
    let mut writers = Writers {
        tasks: Vec::new(),
        spawn,
        metrics,
    };
    let Some(election) = election else {
        writers.start();
        shutdown.await;
        writers.stop();
        return;
    };
    let api: Api<Lease> = Api::namespaced(client, &election.namespace);
    let mut shutdown = shutdown;
    let mut memory = Memory::default();
    let mut held: Option<Lease> = None;
    let mut next = tokio::time::Instant::now();
    loop {
        let deadline = memory.leading_until().map(tokio::time::Instant::from_std);
        let attempt = async {
            tokio::time::sleep_until(next).await;
            attempt(&api, &election, &mut memory, &hub).await
        };
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            () = sleep_until_opt(deadline), if writers.running() => {
                tracing::warn!(lease = %election.lease, "leadership not renewed within the renew deadline; stopping writers");
                writers.stop();
            }
            outcome = attempt => {
                next = tokio::time::Instant::now() + election.timing.retry;
                held = outcome.or(held);
                apply(&memory, &mut writers, &election);
            }
        }
        writers.restart_finished();
    }
    writers.stop();
    release(&api, &election, &mut memory, held).await;
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Starts or stops the writers to match the election's state now.
fn apply(memory: &Memory, writers: &mut Writers, election: &Election) {
    let leading = memory.is_leader(Instant::now());
    if leading && !writers.running() {
        tracing::info!(lease = %election.lease, identity = %election.identity, "became leader");
        writers.start();
    } else if !leading && writers.running() {
        tracing::warn!(lease = %election.lease, "lost leadership; stopping writers");
        writers.stop();
    }
}

/// One read-decide-write round. Returns the Lease as written when a write succeeded.
async fn attempt(
    api: &Api<Lease>,
    election: &Election,
    memory: &mut Memory,
    hub: &HubContact,
) -> Option<Lease> {
    let timeout = election.timing.call_timeout;
    let current = match call(timeout, api.get_opt(&election.lease)).await {
        Ok(lease) => lease,
        Err(e) => {
            tracing::warn!(lease = %election.lease, error = %e, "reading the Lease failed");
            return None;
        }
    };
    hub.record();
    let step = memory.observe(
        &election.identity,
        current.as_ref().map(record_of).as_ref(),
        Instant::now(),
    );
    let sent_at = Instant::now();
    let result = match &step {
        Step::Follow { .. } => return None,
        Step::Create => {
            let lease = lease_for(election, None, 0, true);
            call(timeout, api.create(&PostParams::default(), &lease)).await
        }
        Step::Renew { resource_version } => {
            let transitions = current.as_ref().map_or(0, |l| record_of(l).transitions);
            let mut lease = lease_for(election, current.as_ref(), transitions, false);
            lease.metadata.resource_version = Some(resource_version.clone());
            call(
                timeout,
                api.replace(&election.lease, &PostParams::default(), &lease),
            )
            .await
        }
        Step::Acquire {
            resource_version,
            transitions,
        } => {
            let mut lease = lease_for(election, current.as_ref(), *transitions, true);
            lease.metadata.resource_version = Some(resource_version.clone());
            call(
                timeout,
                api.replace(&election.lease, &PostParams::default(), &lease),
            )
            .await
        }
    };
    match result {
        Ok(written) => {
            hub.record();
            if !matches!(step, Step::Renew { .. }) {
                tracing::info!(lease = %election.lease, identity = %election.identity, "acquired the Lease");
            }
            memory.written(sent_at, &election.timing);
            Some(written)
        }
        Err(CallError::Conflict) => {
            hub.record();
            tracing::info!(lease = %election.lease, "another replica wrote the Lease first");
            memory.lost();
            None
        }
        Err(e) => {
            tracing::warn!(lease = %election.lease, error = %e, "writing the Lease failed");
            None
        }
    }
}

/// Gives the Lease up on shutdown, only if this replica still leads and only on the
/// resourceVersion it wrote last (never over another holder's write).
async fn release(api: &Api<Lease>, election: &Election, memory: &mut Memory, held: Option<Lease>) {
    let leading = memory.is_leader(Instant::now());
    memory.resign();
    let Some(mut lease) = held.filter(|_| leading) else {
        return;
    };
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
    }
    let timeout = election.timing.call_timeout;
    match call(
        timeout,
        api.replace(&election.lease, &PostParams::default(), &lease),
    )
    .await
    {
        Ok(_) => tracing::info!(lease = %election.lease, "lease released"),
        Err(e) => tracing::warn!(lease = %election.lease, error = %e, "releasing the lease failed"),
    }
}

async fn call<T>(
    timeout: std::time::Duration,
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, CallError> {
    match tokio::time::timeout(timeout, request).await {
        Err(_) => Err(CallError::Timeout(timeout)),
        Ok(Err(e)) if is_conflict(&e) => Err(CallError::Conflict),
        Ok(Err(e)) => Err(CallError::Kube(e)),
        Ok(Ok(v)) => Ok(v),
    }
}

/// The election's view of a Lease.
pub fn record_of(lease: &Lease) -> Record {
    let spec = lease.spec.clone().unwrap_or_default();
    Record {
        holder: spec.holder_identity.filter(|h| !h.is_empty()),
        duration: std::time::Duration::from_secs(
            u64::try_from(spec.lease_duration_seconds.unwrap_or(0).max(1)).unwrap_or(1),
        ),
        transitions: spec.lease_transitions.unwrap_or(0),
        resource_version: lease.metadata.resource_version.clone().unwrap_or_default(),
    }
}

/// The Lease this replica writes: held by it, renewed now. `acquired` sets a new
/// acquire time (a new term).
fn lease_for(
    election: &Election,
    current: Option<&Lease>,
    transitions: i32,
    acquired: bool,
) -> Lease {
    let now = MicroTime(jiff::Timestamp::now());
    let previous = current.and_then(|l| l.spec.clone()).unwrap_or_default();
    let metadata = current.map_or_else(
        || ObjectMeta {
            name: Some(election.lease.clone()),
            namespace: Some(election.namespace.clone()),
            ..ObjectMeta::default()
        },
        |l| l.metadata.clone(),
    );
    Lease {
        metadata,
        spec: Some(LeaseSpec {
            holder_identity: Some(election.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(election.timing.lease.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: if acquired {
                Some(now.clone())
            } else {
                previous.acquire_time.clone()
            },
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..previous
        }),
    }
}
