//! Exact session timers, run by the leader.
//!
//! Every session's next deadline (approval timeout, scheduled start, expiry, idle
//! expiry, deletion after retention) comes from its status, so a restart loses
//! nothing. The timer keeps all deadlines in one ordered set and sleeps until the
//! earliest; a watch event for a session recomputes that session's deadline. When a
//! deadline is due the session is re-read from the hub, the state machine applied and
//! the result written with optimistic concurrency (a conflict means someone acted
//! first: re-read and decide again).

use std::collections::{BTreeSet, HashMap};

use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_core::session::{self, Deadline, SessionEvent, TimerAction};
use jiff::Timestamp;
use kube::api::{DeleteParams, Preconditions};
use kube::{Api, Client};
use tokio::sync::broadcast::error::RecvError;

use crate::events::EventBus;
use crate::metrics::{self, Metrics};
use crate::session_writes::{self, WriteError};
use crate::store::{ClusterLookup, Stores};

/// A session without a state (its creation was interrupted between the create and
/// the status write) is deleted after this long, so it cannot block new requests.
pub const STATELESS_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

type Key = (String, String);

/// What is due for one session and when.
fn due(session: &BreakglassSession, stores: &Stores, now: Timestamp) -> Option<Deadline> {
    let state = session.status.as_ref().and_then(|s| s.state);
    let Some(state) = state else {
        let created = session
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, |t| t.0);
        return Some(Deadline {
            at: created.checked_add(STATELESS_GRACE).unwrap_or(now),
            action: TimerAction::Delete,
        });
    };
    if session.metadata.deletion_timestamp.is_some() {
        return None;
    }
    if !state.is_terminal()
        && stores.clusters.is_synced()
        && matches!(
            stores.cluster(&session.spec.cluster),
            ClusterLookup::Missing
        )
    {
        return Some(Deadline {
            at: now,
            action: TimerAction::Apply(SessionEvent::ClusterRemoved),
        });
    }
    session::next_deadline(session, now)
}

/// The timer set.
#[derive(Default)]
struct Schedule {
    queue: BTreeSet<(Timestamp, Key)>,
    by_key: HashMap<Key, Timestamp>,
}

impl Schedule {
    fn set(&mut self, key: Key, at: Option<Timestamp>) {
        if let Some(old) = self.by_key.remove(&key) {
            self.queue.remove(&(old, key.clone()));
        }
        if let Some(at) = at {
            self.queue.insert((at, key.clone()));
            self.by_key.insert(key, at);
        }
    }

    fn next(&self) -> Option<Timestamp> {
        self.queue.first().map(|(t, _)| *t)
    }

    fn pop_due(&mut self, now: Timestamp) -> Vec<Key> {
        let mut out = Vec::new();
        while let Some((t, _)) = self.queue.first() {
            if *t > now {
                break;
            }
            if let Some((_, key)) = self.queue.pop_first() {
                self.by_key.remove(&key);
                out.push(key);
            }
        }
        out
    }

    fn len(&self) -> usize {
        self.by_key.len()
    }
}

/// Runs the timers until the task is aborted (when leadership is lost).
pub async fn run(hub: Client, stores: Stores, bus: EventBus, metrics: Metrics) {
    let mut session_changes = stores.sessions.subscribe();
    let mut cluster_changes = stores.clusters.subscribe();
    stores.sessions.wait_synced().await;
    stores.clusters.wait_synced().await;
    let mut schedule = Schedule::default();
    rescan(&stores, &mut schedule);
    tracing::info!(timers = schedule.len(), "session timers started");
    loop {
        let now = Timestamp::now();
        for key in schedule.pop_due(now) {
            handle(&hub, &stores, &bus, &metrics, &key, &mut schedule).await;
        }
        let sleep = match schedule.next() {
            Some(at) => {
                let wait = at.duration_since(Timestamp::now());
                std::time::Duration::try_from(wait).unwrap_or_default()
            }
            None => std::time::Duration::from_secs(3600),
        };
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            change = session_changes.recv() => match change {
                Ok(c) if !c.name.is_empty() => {
                    let key = (c.namespace.clone(), c.name.clone());
                    let at = if c.deleted {
                        None
                    } else {
                        stores
                            .sessions
                            .get(Some(&c.namespace), &c.name)
                            .and_then(|s| due(&s, &stores, Timestamp::now()))
                            .map(|d| d.at)
                    };
                    schedule.set(key, at);
                }
                Ok(_) | Err(RecvError::Lagged(_)) => rescan(&stores, &mut schedule),
                Err(RecvError::Closed) => return,
            },
            change = cluster_changes.recv() => match change {
                // A ClusterConfig appeared or disappeared: sessions may need to end.
                Ok(c) if c.deleted || c.name.is_empty() => rescan(&stores, &mut schedule),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => rescan(&stores, &mut schedule),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

fn rescan(stores: &Stores, schedule: &mut Schedule) {
    let now = Timestamp::now();
    *schedule = Schedule::default();
    for s in stores.sessions.all() {
        let key = (
            s.metadata.namespace.clone().unwrap_or_default(),
            s.metadata.name.clone().unwrap_or_default(),
        );
        schedule.set(key, due(&s, stores, now).map(|d| d.at));
    }
}

/// Handles a due deadline of one session: re-reads it, re-checks what is due, acts.
async fn handle(
    hub: &Client,
    stores: &Stores,
    bus: &EventBus,
    metrics: &Metrics,
    key: &Key,
    schedule: &mut Schedule,
) {
    let api: Api<BreakglassSession> = Api::namespaced(hub.clone(), &key.0);
    for attempt in 0..5 {
        let session = match api.get_opt(&key.1).await {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(session = %key.1, error = %e, "reading session for its timer failed");
                // Try again shortly rather than losing the deadline.
                schedule.set(key.clone(), Some(retry_at()));
                return;
            }
        };
        let now = Timestamp::now();
        let Some(deadline) = due(&session, stores, now) else {
            return;
        };
        if deadline.at > now {
            schedule.set(key.clone(), Some(deadline.at));
            return;
        }
        match deadline.action {
            TimerAction::Delete => {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        resource_version: session.metadata.resource_version.clone(),
                        uid: session.metadata.uid.clone(),
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(&key.1, &dp).await {
                    Ok(_) => {
                        metrics
                            .session_deleted
                            .get_or_create(&metrics::cluster(&session.spec.cluster))
                            .inc();
                        tracing::info!(session = %key.1, namespace = %key.0, "session deleted after its retention");
                        return;
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 => continue,
                    Err(kube::Error::Api(s)) if s.code == 404 => return,
                    Err(e) => {
                        tracing::warn!(session = %key.1, error = %e, "deleting session failed");
                        schedule.set(key.clone(), Some(retry_at()));
                        return;
                    }
                }
            }
            TimerAction::Apply(event) => {
                match session_writes::transition(hub, bus, metrics, &session, event, "system", now)
                    .await
                {
                    Ok(_) => return,
                    Err(WriteError::Conflict) => {
                        tracing::debug!(session = %key.1, attempt, "timer write conflicted, re-reading");
                        continue;
                    }
                    Err(WriteError::NotFound) => return,
                    Err(WriteError::Transition(e)) => {
                        tracing::warn!(session = %key.1, error = %e, "timer event refused by the state machine");
                        return;
                    }
                    Err(WriteError::Kube(e)) => {
                        tracing::warn!(session = %key.1, error = %e, "writing timer transition failed");
                        schedule.set(key.clone(), Some(retry_at()));
                        return;
                    }
                }
            }
        }
    }
    schedule.set(key.clone(), Some(retry_at()));
}

fn retry_at() -> Timestamp {
    Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(1))
        .unwrap_or_else(|_| Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn schedule_orders_and_replaces_deadlines() {
        let mut s = Schedule::default();
        let k = |n: &str| ("ns".to_owned(), n.to_owned());
        s.set(k("a"), Some(ts(30)));
        s.set(k("b"), Some(ts(10)));
        s.set(k("c"), Some(ts(20)));
        assert_eq!(s.next(), Some(ts(10)));
        // Moving "b" later reorders; removing "c" drops it.
        s.set(k("b"), Some(ts(40)));
        s.set(k("c"), None);
        assert_eq!(s.next(), Some(ts(30)));
        assert_eq!(s.len(), 2);
        assert_eq!(s.pop_due(ts(35)), vec![k("a")]);
        assert_eq!(s.pop_due(ts(35)), Vec::<Key>::new());
        assert_eq!(s.pop_due(ts(40)), vec![k("b")]);
        assert_eq!(s.next(), None);
    }
}
