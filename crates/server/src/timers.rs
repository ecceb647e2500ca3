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
use breakglass_core::debug::session::DebugTimers;
use breakglass_core::session::{self, Deadline, SessionEvent, TimerAction};
use jiff::Timestamp;
use kube::api::{DeleteParams, Preconditions};
use kube::{Api, Client};
use tokio::sync::broadcast::error::RecvError;

use crate::events::EventBus;
use crate::hub_answer::{is_conflict, is_not_found};
use crate::metrics::{self, Metrics};
use crate::session_writes::{self, WithStatus, WriteError};
use crate::store::{ClusterLookup, Mirror, Stores};

/// A session without a state (its creation was interrupted between the create and
/// the status write) is deleted after this long, so it cannot block new requests.
pub const STATELESS_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

type Key = (String, String);

/// What a timer does when it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<E> {
    /// Apply this event of the kind's state machine.
    Apply(E),
    /// Delete the object (retention over, or it never got a state).
    Delete,
}

/// The earliest timer of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<E> {
    /// When (in the past: due now).
    pub at: Timestamp,
    /// What.
    pub action: Action<E>,
}

/// Everything a timer needs to act.
#[derive(Clone)]
pub struct Context {
    /// The hub.
    pub hub: Client,
    /// The mirrors.
    pub stores: Stores,
    /// Lifecycle events.
    pub bus: EventBus,
    /// Metrics.
    pub metrics: Metrics,
    /// Server-wide debug-session timers (approval timeout, retention).
    pub debug: DebugTimers,
}

/// What a kind's deadline may depend on besides the object itself.
#[derive(Clone, Copy)]
pub struct TimerEnv<'a> {
    /// The mirrors.
    pub stores: &'a Stores,
    /// Server-wide debug-session timers.
    pub debug: &'a DebugTimers,
}

impl Context {
    /// The environment deadlines are computed in.
    pub fn env(&self) -> TimerEnv<'_> {
        TimerEnv {
            stores: &self.stores,
            debug: &self.debug,
        }
    }
}

/// A session kind the timers drive: its deadlines live in its status (a restart loses
/// nothing) and its transitions are written with optimistic concurrency. Implemented
/// for BreakglassSession and (in `crate::debug::timers`) DebugSession.
pub trait TimedKind: WithStatus {
    /// An event of the kind's state machine.
    type Event: Send + std::fmt::Debug;
    /// The mirror of the kind.
    fn mirror(stores: &Stores) -> &Mirror<Self>;
    /// The cluster the object is for (metrics).
    fn cluster(&self) -> &str;
    /// Its earliest timer at `now` (`None`: nothing to do).
    fn due(&self, env: &TimerEnv<'_>, now: Timestamp) -> Option<Due<Self::Event>>;
    /// Applies a due event and writes the result on the object's resourceVersion.
    fn fire(
        &self,
        ctx: &Context,
        event: Self::Event,
        now: Timestamp,
    ) -> impl std::future::Future<Output = Result<(), WriteError>> + Send;
}

impl TimedKind for BreakglassSession {
    type Event = SessionEvent;

    fn mirror(stores: &Stores) -> &Mirror<Self> {
        &stores.sessions
    }

    fn cluster(&self) -> &str {
        &self.spec.cluster
    }

    fn due(&self, env: &TimerEnv<'_>, now: Timestamp) -> Option<Due<SessionEvent>> {
        due(self, env.stores, now).map(|d| Due {
            at: d.at,
            action: match d.action {
                TimerAction::Apply(e) => Action::Apply(e),
                TimerAction::Delete => Action::Delete,
            },
        })
    }

    async fn fire(
        &self,
        ctx: &Context,
        event: SessionEvent,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        session_writes::transition(&ctx.hub, &ctx.bus, &ctx.metrics, self, event, "system", now)
            .await
            .map(|_| ())
    }
}

/// What is due for one BreakglassSession and when.
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

/// Runs the timers of the kind `K` until the task is aborted (when leadership ends).
pub async fn run<K: TimedKind>(ctx: Context) {
    let stores = ctx.stores.clone();
    let mirror = K::mirror(&stores);
    let mut object_changes = mirror.subscribe();
    let mut cluster_changes = stores.clusters.subscribe();
    mirror.wait_synced().await;
    stores.clusters.wait_synced().await;
    let mut schedule = Schedule::default();
    rescan::<K>(&ctx, &mut schedule);
    tracing::info!(kind = %K::kind(&()), timers = schedule.len(), "session timers started");
    loop {
        let now = Timestamp::now();
        for key in schedule.pop_due(now) {
            handle::<K>(&ctx, &key, &mut schedule).await;
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
            change = object_changes.recv() => match change {
                Ok(c) if !c.name.is_empty() => {
                    let key = (c.namespace.clone(), c.name.clone());
                    let at = if c.deleted {
                        None
                    } else {
                        mirror
                            .get(Some(&c.namespace), &c.name)
                            .and_then(|s| s.due(&ctx.env(), Timestamp::now()))
                            .map(|d| d.at)
                    };
                    schedule.set(key, at);
                }
                Ok(_) | Err(RecvError::Lagged(_)) => rescan::<K>(&ctx, &mut schedule),
                Err(RecvError::Closed) => return,
            },
            change = cluster_changes.recv() => match change {
                // A ClusterConfig appeared or disappeared: sessions may need to end.
                Ok(c) if c.deleted || c.name.is_empty() => rescan::<K>(&ctx, &mut schedule),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => rescan::<K>(&ctx, &mut schedule),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

fn rescan<K: TimedKind>(ctx: &Context, schedule: &mut Schedule) {
    let now = Timestamp::now();
    *schedule = Schedule::default();
    for s in K::mirror(&ctx.stores).all() {
        let key = (
            s.meta().namespace.clone().unwrap_or_default(),
            s.meta().name.clone().unwrap_or_default(),
        );
        schedule.set(key, s.due(&ctx.env(), now).map(|d| d.at));
    }
}

/// What became of one attempt at a due timer.
enum Outcome {
    /// Done (or nothing to do).
    Done,
    /// Someone wrote first: re-read and decide again.
    Again,
    /// Try again shortly rather than losing the deadline.
    Retry,
    /// Not due yet: at this time.
    Later(Timestamp),
}

/// Handles a due deadline of one object: re-reads it, re-checks what is due, acts.
async fn handle<K: TimedKind>(ctx: &Context, key: &Key, schedule: &mut Schedule) {
    let api: Api<K> = Api::namespaced(ctx.hub.clone(), &key.0);
    for attempt in 0..5 {
        let object = match api.get_opt(&key.1).await {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(session = %key.1, error = %e, "reading session for its timer failed");
                schedule.set(key.clone(), Some(retry_at()));
                return;
            }
        };
        match act(ctx, &api, key, &object, attempt).await {
            Outcome::Done => return,
            Outcome::Again => {}
            Outcome::Retry => {
                schedule.set(key.clone(), Some(retry_at()));
                return;
            }
            Outcome::Later(at) => {
                schedule.set(key.clone(), Some(at));
                return;
            }
        }
    }
    schedule.set(key.clone(), Some(retry_at()));
}

/// One attempt at what is due for `object` as just read.
async fn act<K: TimedKind>(
    ctx: &Context,
    api: &Api<K>,
    key: &Key,
    object: &K,
    attempt: u32,
) -> Outcome {
    let now = Timestamp::now();
    let Some(deadline) = object.due(&ctx.env(), now) else {
        return Outcome::Done;
    };
    if deadline.at > now {
        return Outcome::Later(deadline.at);
    }
    match deadline.action {
        Action::Delete => {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: object.meta().resource_version.clone(),
                    uid: object.meta().uid.clone(),
                }),
                ..DeleteParams::default()
            };
            match api.delete(&key.1, &dp).await {
                Ok(_) => {
                    ctx.metrics
                        .session_deleted
                        .get_or_create(&metrics::cluster(object.cluster()))
                        .inc();
                    tracing::info!(session = %key.1, namespace = %key.0, "session deleted after its retention");
                    Outcome::Done
                }
                Err(e) if is_conflict(&e) => Outcome::Again,
                Err(e) if is_not_found(&e) => Outcome::Done,
                Err(e) => {
                    tracing::warn!(session = %key.1, error = %e, "deleting session failed");
                    Outcome::Retry
                }
            }
        }
        Action::Apply(event) => match object.fire(ctx, event, now).await {
            Ok(()) | Err(WriteError::NotFound) => Outcome::Done,
            Err(WriteError::Conflict) => {
                tracing::debug!(session = %key.1, attempt, "timer write conflicted, re-reading");
                Outcome::Again
            }
            Err(WriteError::Transition(e)) => {
                tracing::warn!(session = %key.1, error = %e, "timer event refused by the state machine");
                Outcome::Done
            }
            Err(WriteError::Kube(e)) => {
                tracing::warn!(session = %key.1, error = %e, "writing timer transition failed");
                Outcome::Retry
            }
        },
    }
}

fn retry_at() -> Timestamp {
    Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(1))
        .unwrap_or_else(|_| Timestamp::now())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use breakglass_api::cluster_config::ClusterConfig;

    fn stores(clusters: &[&str]) -> Stores {
        let ccs = clusters.iter().map(|name| {
            serde_json::from_value::<ClusterConfig>(serde_json::json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
                "kind": "ClusterConfig",
                "metadata": {"name": name, "namespace": "ns"},
                "spec": {"clusterID": name},
            }))
            .unwrap()
        });
        Stores {
            sessions: Mirror::from_objects([]),
            escalations: Mirror::from_objects([]),
            clusters: Mirror::from_objects(ccs),
            identity_providers: Mirror::from_objects([]),
            deny_policies: Mirror::from_objects([]),
            ..Stores::empty()
        }
    }

    fn env(stores: &Stores) -> TimerEnv<'_> {
        static DEBUG: std::sync::OnceLock<DebugTimers> = std::sync::OnceLock::new();
        TimerEnv {
            stores,
            debug: DEBUG.get_or_init(DebugTimers::default),
        }
    }

    fn session(status: serde_json::Value) -> BreakglassSession {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "BreakglassSession",
            "metadata": {"name": "s", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"cluster": "c1", "user": "u@example.com", "grantedGroup": "g"},
            "status": status,
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_session_without_state_is_deleted_after_the_grace() {
        let s = session(serde_json::json!({}));
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let due = TimedKind::due(&s, &env(&stores(&["c1"])), now).expect("a timer");
        assert_eq!(due.action, Action::Delete);
        assert_eq!(due.at, "2026-01-01T00:01:00Z".parse().unwrap());
        assert_eq!(TimedKind::cluster(&s), "c1");
    }

    #[tokio::test]
    async fn a_live_session_of_a_removed_cluster_ends_now() {
        let s = session(serde_json::json!({"state": "Pending"}));
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let due = TimedKind::due(&s, &env(&stores(&["other"])), now).expect("a timer");
        assert_eq!(due.at, now);
        assert_eq!(due.action, Action::Apply(SessionEvent::ClusterRemoved));
        // With its cluster present, the state machine's own deadline applies.
        let due = TimedKind::due(&s, &env(&stores(&["c1"])), now);
        assert_ne!(
            due.map(|d| d.action),
            Some(Action::Apply(SessionEvent::ClusterRemoved))
        );
    }

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
