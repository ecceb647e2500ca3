//! How long a revoked session kept granting: from its deadline (`expiresAt`) or from
//! the moment this replica learned it ended (withdrawn, dropped, cancelled, deleted) to
//! the first decision for the same user and cluster that no longer rests on it.
//!
//! The webhook notes which session last allowed each (cluster, user); when a later
//! decision for that pair is not allowed by it and the session no longer grants, the
//! time since its revocation is observed in `breakglass_revocation_latency_seconds`
//! (`cause`: `expired` for a deadline, `ended` for a state change or deletion). The
//! figure includes the time until the user's next request, so it is an upper bound of
//! how stale a decision could have been; a session that still grants was never
//! revoked and is not observed.
//!
//! RBAC revocations on the target have no time this replica can know (the apiserver
//! records none for a deletion); the mirror applies them from the next review after
//! their watch event ([`crate::rbac`]).

use std::collections::HashMap;
use std::sync::Mutex;

use breakglass_api::breakglass_session::BreakglassSession;
use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// Pairs (and ended sessions) remembered before the tables are cleared, bounding memory.
const MAX_ENTRIES: usize = 100_000;

/// Independent tables, each for the (cluster, user) pairs that hash to it, so that
/// concurrent reviews of different users rarely wait on one lock.
const SHARDS: usize = 16;

/// Label of a revocation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CauseLabel {
    /// `expired` or `ended`.
    pub cause: String,
}

fn histogram() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

type SessionKey = (String, String);

#[derive(Default)]
struct Tables {
    /// The session that last allowed a request of a user, by cluster and user.
    last_allow: HashMap<String, HashMap<String, SessionKey>>,
    /// How many pairs rest on each session.
    resting: HashMap<SessionKey, usize>,
    /// When this replica learned that a session stopped granting, for sessions that
    /// some pair rests on.
    ended: HashMap<SessionKey, Timestamp>,
    entries: usize,
}

impl Tables {
    fn forget(&mut self, cluster: &str, user: &str) {
        let Some(users) = self.last_allow.get_mut(cluster) else {
            return;
        };
        let Some(key) = users.remove(user) else {
            return;
        };
        if users.is_empty() {
            self.last_allow.remove(cluster);
        }
        self.entries = self.entries.saturating_sub(1);
        if let Some(n) = self.resting.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.resting.remove(&key);
                self.ended.remove(&key);
            }
        }
    }

    fn rest(&mut self, cluster: &str, user: &str, key: SessionKey) {
        if self.entries >= MAX_ENTRIES / SHARDS {
            *self = Self::default();
        }
        *self.resting.entry(key.clone()).or_default() += 1;
        self.last_allow
            .entry(cluster.to_owned())
            .or_default()
            .insert(user.to_owned(), key);
        self.entries += 1;
    }
}

/// The revocation clock and its histogram.
#[derive(Clone)]
pub struct RevocationClock {
    /// Each shard is self-contained: a pair's last session and the counts and end
    /// times of the sessions its pairs rest on.
    tables: std::sync::Arc<[Mutex<Tables>; SHARDS]>,
    /// Revocation latency by cause.
    pub latency: Family<CauseLabel, Histogram, fn() -> Histogram>,
}

impl Default for RevocationClock {
    fn default() -> Self {
        Self {
            tables: std::sync::Arc::default(),
            latency: Family::new_with_constructor(histogram),
        }
    }
}

/// What a session's current state says about its revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// It still grants.
    No,
    /// Its deadline passed at this time.
    Expired(Timestamp),
    /// It ended by a state change or deletion (when is known only from the watch).
    Ended,
}

/// Judges `session` (`None`: deleted) at `now`.
pub fn revoked(session: Option<&BreakglassSession>, now: Timestamp) -> Revoked {
    use breakglass_api::breakglass_session::BreakglassSessionState as State;
    let Some(s) = session else {
        return Revoked::Ended;
    };
    use breakglass_api::breakglass_session::SessionEndReason;
    let status = s.status.as_ref();
    let ended_early = status
        .and_then(|st| st.reason_ended)
        .is_some_and(|r| r != SessionEndReason::TimeExpired);
    // A passed deadline is the revocation time whatever the state says since (the
    // expiry timer moves the state a moment later); a session ended otherwise (drop,
    // cancel) counts from when that was learned, or from the deadline the ending set.
    match status.and_then(|st| st.expires_at.as_ref()) {
        Some(t) if t.0 <= now && !ended_early => Revoked::Expired(t.0),
        Some(_) if status.and_then(|st| st.state) == Some(State::Approved) && !ended_early => {
            Revoked::No
        }
        _ => Revoked::Ended,
    }
}

fn locked(m: &Mutex<Tables>) -> std::sync::MutexGuard<'_, Tables> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The shard of (cluster, user).
fn shard(cluster: &str, user: &str) -> usize {
    use std::hash::BuildHasher;
    let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one((cluster, user));
    // The modulo keeps the index in range on every pointer width.
    (h % SHARDS as u64) as usize
}

impl RevocationClock {
    /// A session changed in the watched state: if some pair rests on it and it no
    /// longer grants, remember when that was learned.
    pub fn session_changed(
        &self,
        namespace: &str,
        name: &str,
        session: Option<&BreakglassSession>,
        now: Timestamp,
    ) {
        if revoked(session, now) != Revoked::Ended {
            return;
        }
        // A deleted session no longer says its cluster, so every shard is asked; this
        // runs once per session change, not per review.
        let key = (namespace.to_owned(), name.to_owned());
        for m in self.tables.iter() {
            let mut t = locked(m);
            if t.resting.contains_key(&key) && !t.ended.contains_key(&key) {
                t.ended.insert(key.clone(), now);
            }
        }
    }

    /// Follows the sessions' watch, remembering when ended sessions were learned of.
    pub fn follow(&self, sessions: crate::store::Mirror<BreakglassSession>) {
        let clock = self.clone();
        let mut changes = sessions.subscribe();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(c) if !c.name.is_empty() => {
                        let current = sessions.get(Some(&c.namespace), &c.name);
                        clock.session_changed(
                            &c.namespace,
                            &c.name,
                            current.as_deref(),
                            Timestamp::now(),
                        );
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    /// A decision for (cluster, user): `allowed_by` the session that allowed it, if
    /// any; `lookup` finds a session's current state. Observes a revocation when the
    /// pair's previous session no longer grants.
    pub fn decided(
        &self,
        cluster: &str,
        user: &str,
        allowed_by: Option<(&str, &str)>,
        now: Timestamp,
        lookup: impl FnOnce(&str, &str) -> Option<std::sync::Arc<BreakglassSession>>,
    ) {
        let mut t = locked(&self.tables[shard(cluster, user)]);
        let previous = t.last_allow.get(cluster).and_then(|u| u.get(user));
        if let Some(prev) = previous
            && allowed_by == Some((prev.0.as_str(), prev.1.as_str()))
        {
            return;
        }
        if let Some(prev) = previous.cloned() {
            let observed = match revoked(lookup(&prev.0, &prev.1).as_deref(), now) {
                Revoked::No => None,
                Revoked::Expired(at) => Some(("expired", at)),
                Revoked::Ended => t.ended.get(&prev).map(|at| ("ended", *at)),
            };
            match observed {
                Some((cause, at)) => {
                    let seconds = now.duration_since(at).as_secs_f64().max(0.0);
                    self.latency
                        .get_or_create(&CauseLabel {
                            cause: cause.to_owned(),
                        })
                        .observe(seconds);
                    t.forget(cluster, user);
                }
                // Still granting (this request was simply not covered), or ended at an
                // unknown time: keep resting on it only while it still grants.
                None if allowed_by.is_some() => t.forget(cluster, user),
                None => return,
            }
        }
        if let Some((ns, name)) = allowed_by {
            t.rest(cluster, user, (ns.to_owned(), name.to_owned()));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use breakglass_api::breakglass_session::{BreakglassSessionState, BreakglassSessionStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use prometheus_client::encoding::text::encode;
    use std::sync::Arc;

    fn session(state: BreakglassSessionState, expires: Timestamp) -> Arc<BreakglassSession> {
        Arc::new(BreakglassSession {
            status: Some(BreakglassSessionStatus {
                state: Some(state),
                expires_at: Some(Time(expires)),
                ..BreakglassSessionStatus::default()
            }),
            ..BreakglassSession::default()
        })
    }

    fn exported(clock: &RevocationClock) -> String {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("revocation_latency_seconds", "", clock.latency.clone());
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn the_first_decision_after_a_deadline_observes_the_delay() {
        let clock = RevocationClock::default();
        let t0: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let deadline = t0 + jiff::SignedDuration::from_secs(60);
        let active = session(BreakglassSessionState::Approved, deadline);
        clock.decided("c", "alice", Some(("ns", "s1")), t0, |_, _| {
            Some(active.clone())
        });
        // A denial while the session still grants (another request) observes nothing.
        clock.decided("c", "alice", None, t0, |_, _| Some(active.clone()));
        assert!(!exported(&clock).contains("_count{cause"));
        // 250 ms after the deadline: observed once, as expired.
        let later = deadline + jiff::SignedDuration::from_millis(250);
        // The expiry timer has already moved the state: still the deadline that counts.
        let expired = session(BreakglassSessionState::Expired, deadline);
        clock.session_changed("ns", "s1", Some(&expired), later);
        clock.decided("c", "alice", None, later, |_, _| Some(expired.clone()));
        let text = exported(&clock);
        assert!(
            text.contains("revocation_latency_seconds_count{cause=\"expired\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("revocation_latency_seconds_sum{cause=\"expired\"} 0.25"),
            "{text}"
        );
        clock.decided("c", "alice", None, later, |_, _| Some(active.clone()));
        assert!(exported(&clock).contains("_count{cause=\"expired\"} 1"));
    }

    #[test]
    fn an_ended_session_counts_from_when_the_watch_said_so() {
        let clock = RevocationClock::default();
        let t0: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let far = t0 + jiff::SignedDuration::from_secs(3600);
        let active = session(BreakglassSessionState::Approved, far);
        clock.decided("c", "bob", Some(("ns", "s2")), t0, |_, _| {
            Some(active.clone())
        });
        // Not resting on it: another session's end is not remembered.
        clock.session_changed("ns", "other", None, t0);
        assert!(clock.tables.iter().all(|m| locked(m).ended.is_empty()));
        let learned = t0 + jiff::SignedDuration::from_secs(5);
        let withdrawn = session(BreakglassSessionState::Withdrawn, far);
        clock.session_changed("ns", "s2", Some(&withdrawn), learned);
        let next = learned + jiff::SignedDuration::from_millis(40);
        clock.decided("c", "bob", None, next, |_, _| Some(withdrawn.clone()));
        let text = exported(&clock);
        assert!(text.contains("_count{cause=\"ended\"} 1"), "{text}");
        assert!(text.contains("_sum{cause=\"ended\"} 0.04"), "{text}");
        // Nothing is left behind.
        for m in clock.tables.iter() {
            let t = locked(m);
            assert!(t.last_allow.is_empty() && t.resting.is_empty() && t.ended.is_empty());
        }
    }

    #[test]
    fn one_session_shared_by_users_of_every_shard_is_observed_once_per_user() {
        let clock = RevocationClock::default();
        let t0: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let far = t0 + jiff::SignedDuration::from_secs(3600);
        let active = session(BreakglassSessionState::Approved, far);
        let users: Vec<String> = (0..200).map(|i| format!("user-{i}")).collect();
        for u in &users {
            clock.decided("c", u, Some(("ns", "shared")), t0, |_, _| {
                Some(active.clone())
            });
        }
        let used = clock
            .tables
            .iter()
            .filter(|m| !locked(m).last_allow.is_empty())
            .count();
        assert!(used > SHARDS / 2, "pairs spread over {used} shards");
        // Deleted: the watch no longer says which cluster it was for.
        let learned = t0 + jiff::SignedDuration::from_secs(1);
        clock.session_changed("ns", "shared", None, learned);
        let next = learned + jiff::SignedDuration::from_millis(10);
        for u in &users {
            clock.decided("c", u, None, next, |_, _| None);
        }
        let text = exported(&clock);
        assert!(text.contains("_count{cause=\"ended\"} 200"), "{text}");
        for m in clock.tables.iter() {
            let t = locked(m);
            assert!(t.last_allow.is_empty() && t.resting.is_empty() && t.ended.is_empty());
        }
    }

    #[test]
    fn moving_to_another_session_while_the_first_still_grants_observes_nothing() {
        let clock = RevocationClock::default();
        let t0: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let active = session(
            BreakglassSessionState::Approved,
            t0 + jiff::SignedDuration::from_secs(60),
        );
        clock.decided("c", "carol", Some(("ns", "a")), t0, |_, _| {
            Some(active.clone())
        });
        clock.decided("c", "carol", Some(("ns", "b")), t0, |_, _| {
            Some(active.clone())
        });
        assert!(!exported(&clock).contains("_count{cause"));
        let t = locked(&clock.tables[shard("c", "carol")]);
        assert_eq!(t.resting.len(), 1);
        assert_eq!(
            t.last_allow["c"]["carol"],
            ("ns".to_owned(), "b".to_owned())
        );
    }
}
