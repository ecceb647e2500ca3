//! Session activity for idle timeouts, recorded by the webhook without a write per
//! request.
//!
//! Each allowed decision that a session granted calls [`ActivityTracker::record`]; the
//! tracker keeps the latest time and a count per session in memory and writes them to
//! `status.lastActivity` / `status.activityCount` every flush interval, with optimistic
//! concurrency and monotonic merging (the time never moves backwards, counts add up),
//! so several replicas can flush the same session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use breakglass_api::breakglass_session::BreakglassSession;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, Client};
use tokio::sync::Mutex;

use crate::session_writes::{self, WriteError};

/// Sessions tracked between two flushes; activity of further sessions is dropped (and
/// logged) rather than growing memory without bound.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    last: Timestamp,
    count: i64,
}

/// Buffered activity per session (`namespace`, `name`).
#[derive(Clone, Default)]
pub struct ActivityTracker {
    buffer: Arc<Mutex<HashMap<(String, String), Seen>>>,
}

impl ActivityTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the session granted a request at `at`.
    pub async fn record(&self, namespace: &str, name: &str, at: Timestamp) {
        let mut buffer = self.buffer.lock().await;
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(seen) = buffer.get_mut(&key) {
            seen.last = seen.last.max(at);
            seen.count += 1;
        } else if buffer.len() < MAX_TRACKED {
            buffer.insert(key, Seen { last: at, count: 1 });
        } else {
            tracing::warn!(session = name, "activity buffer full; activity dropped");
        }
    }

    /// Sessions with unflushed activity.
    pub async fn pending(&self) -> usize {
        self.buffer.lock().await.len()
    }

    /// Flushes every `interval` until the task is aborted.
    pub async fn flush_loop(self, hub: Client, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.flush(&hub).await;
        }
    }

    /// Writes the buffered activity now.
    pub async fn flush(&self, hub: &Client) {
        let batch: Vec<((String, String), Seen)> = self.buffer.lock().await.drain().collect();
        for ((ns, name), seen) in batch {
            if let Err(e) = write(hub, &ns, &name, seen).await {
                tracing::warn!(session = %name, namespace = %ns, error = %e, "flushing session activity failed; retrying next flush");
                let mut buffer = self.buffer.lock().await;
                let entry = buffer.entry((ns, name)).or_insert(Seen {
                    last: seen.last,
                    count: 0,
                });
                entry.last = entry.last.max(seen.last);
                entry.count += seen.count;
            }
        }
    }
}

async fn write(hub: &Client, ns: &str, name: &str, seen: Seen) -> Result<(), WriteError> {
    let api: Api<BreakglassSession> = Api::namespaced(hub.clone(), ns);
    for _ in 0..5 {
        let Some(session) = api.get_opt(name).await? else {
            return Ok(());
        };
        let mut status = session.status.clone().unwrap_or_default();
        let last = status
            .last_activity
            .as_ref()
            .map_or(seen.last, |t| t.0.max(seen.last));
        status.last_activity = Some(Time(last));
        status.activity_count = Some(
            status
                .activity_count
                .unwrap_or(0)
                .saturating_add(seen.count),
        );
        match session_writes::write_status(hub, &session, status).await {
            Ok(_) => return Ok(()),
            Err(WriteError::Conflict) => continue,
            Err(WriteError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Err(WriteError::Conflict)
}
