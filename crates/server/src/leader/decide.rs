//! The election's decisions, without I/O or clock: what to do with the Lease as read,
//! and whether this replica may still act as leader.
//!
//! The rules are client-go's: a follower never trusts the time written in the Lease
//! (clocks differ); it takes a Lease only after the record has not changed for a whole
//! lease duration *as measured on its own monotonic clock*. A leader considers itself
//! leader only until `renew deadline` after it last *sent* a renewal that succeeded, and
//! the renew deadline is shorter than the lease duration, so the old leader has stopped
//! before any follower may take over, even when the hub never answers again. Every
//! write carries the resourceVersion that was read, so a Lease another replica has
//! written meanwhile is never overwritten.

use std::time::{Duration, Instant};

/// Timing of the election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a Lease stays valid without renewal (written into the Lease).
    pub lease: Duration,
    /// A leader stops its writers when its last successful renewal was sent longer
    /// ago than this. Must be shorter than `lease`.
    pub renew_deadline: Duration,
    /// Time between two attempts to acquire or renew.
    pub retry: Duration,
    /// Upper bound of every single Lease request.
    pub call_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry: Duration::from_secs(2),
            call_timeout: Duration::from_secs(2),
        }
    }
}

/// Why a [`Timing`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    /// The renew deadline is not shorter than the lease.
    #[error("renew deadline {renew_deadline:?} must be shorter than the lease duration {lease:?}")]
    DeadlineNotBelowLease {
        /// The renew deadline.
        renew_deadline: Duration,
        /// The lease duration.
        lease: Duration,
    },
    /// Two requests of one attempt would not fit into the renew deadline.
    #[error(
        "two Lease requests ({call_timeout:?} each) must fit into the renew deadline {renew_deadline:?}"
    )]
    CallsExceedDeadline {
        /// The per-request timeout.
        call_timeout: Duration,
        /// The renew deadline.
        renew_deadline: Duration,
    },
    /// A duration of zero.
    #[error("retry period and request timeout must be positive")]
    Zero,
}

impl Timing {
    /// Checks the relations the safety argument relies on.
    pub fn validate(&self) -> Result<(), TimingError> {
        if self.retry.is_zero() || self.call_timeout.is_zero() {
            return Err(TimingError::Zero);
        }
        if self.renew_deadline >= self.lease {
            return Err(TimingError::DeadlineNotBelowLease {
                renew_deadline: self.renew_deadline,
                lease: self.lease,
            });
        }
        if self.call_timeout * 2 > self.renew_deadline {
            return Err(TimingError::CallsExceedDeadline {
                call_timeout: self.call_timeout,
                renew_deadline: self.renew_deadline,
            });
        }
        Ok(())
    }
}

/// The parts of a Lease the election reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The holder; `None` when empty (released).
    pub holder: Option<String>,
    /// `spec.leaseDurationSeconds`.
    pub duration: Duration,
    /// `spec.leaseTransitions`.
    pub transitions: i32,
    /// `metadata.resourceVersion`: changes with every write, renewals included.
    pub resource_version: String,
}

/// What the replica remembers between attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// The record last seen (holder, resourceVersion) and when it was first seen.
    observed: Option<(Option<String>, String, Instant)>,
    /// This replica acts as leader strictly before this instant.
    leading_until: Option<Instant>,
}

/// What to do next with the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No Lease exists: create it, held by us.
    Create,
    /// We hold it: write a new renew time, on this resourceVersion only.
    Renew {
        /// Precondition of the write.
        resource_version: String,
    },
    /// It is free or its holder let it run out: take it, on this resourceVersion only.
    Acquire {
        /// Precondition of the write.
        resource_version: String,
        /// The new `leaseTransitions`.
        transitions: i32,
    },
    /// Another replica holds it validly: do nothing.
    Follow {
        /// The holder.
        holder: String,
    },
}

impl Memory {
    /// True while this replica may act as leader.
    pub fn is_leader(&self, now: Instant) -> bool {
        self.leading_until.is_some_and(|until| now < until)
    }

    /// The instant leadership ends unless renewed (`None` when not leading).
    pub fn leading_until(&self) -> Option<Instant> {
        self.leading_until
    }

    /// Records what a read returned (`None`: no Lease) at `now`, and decides.
    pub fn observe(&mut self, me: &str, lease: Option<&Record>, now: Instant) -> Step {
        let Some(record) = lease else {
            self.observed = None;
            self.leading_until = None;
            return Step::Create;
        };
        let key = (record.holder.clone(), record.resource_version.clone());
        let first_seen = match &self.observed {
            Some((holder, rv, at)) if (holder, rv) == (&key.0, &key.1) => *at,
            _ => now,
        };
        self.observed = Some((key.0, key.1, first_seen));
        match record.holder.as_deref() {
            Some(holder) if holder == me => Step::Renew {
                resource_version: record.resource_version.clone(),
            },
            None => Step::Acquire {
                resource_version: record.resource_version.clone(),
                transitions: record.transitions.saturating_add(1),
            },
            Some(holder) => {
                // Someone else holds it: whatever we believed, we are not leader now.
                self.leading_until = None;
                let expired = now.saturating_duration_since(first_seen) >= record.duration;
                if expired {
                    Step::Acquire {
                        resource_version: record.resource_version.clone(),
                        transitions: record.transitions.saturating_add(1),
                    }
                } else {
                    Step::Follow {
                        holder: holder.to_owned(),
                    }
                }
            }
        }
    }

    /// Records a write (create, renew or acquire) that the hub accepted; `sent_at` is
    /// when the request was sent, so the deadline never outlasts the hub's view.
    pub fn written(&mut self, sent_at: Instant, timing: &Timing) {
        let until = sent_at + timing.renew_deadline;
        // A slow answer to an older request must not shorten a newer deadline.
        self.leading_until = Some(self.leading_until.map_or(until, |u| u.max(until)));
    }

    /// Records that another replica won a write race: we are not leader.
    pub fn lost(&mut self) {
        self.leading_until = None;
    }

    /// Stops acting as leader (shutdown, or after releasing).
    pub fn resign(&mut self) {
        self.leading_until = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rec(holder: Option<&str>, rv: &str) -> Record {
        Record {
            holder: holder.map(str::to_owned),
            duration: Duration::from_secs(15),
            transitions: 3,
            resource_version: rv.to_owned(),
        }
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn default_timing_is_valid_and_bad_ones_are_named() {
        assert_eq!(Timing::default().validate(), Ok(()));
        let bad = Timing {
            renew_deadline: Duration::from_secs(15),
            ..Timing::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(TimingError::DeadlineNotBelowLease { .. })
        ));
        let slow = Timing {
            call_timeout: Duration::from_secs(6),
            ..Timing::default()
        };
        assert!(matches!(
            slow.validate(),
            Err(TimingError::CallsExceedDeadline { .. })
        ));
        let zero = Timing {
            retry: Duration::ZERO,
            ..Timing::default()
        };
        assert_eq!(zero.validate(), Err(TimingError::Zero));
    }

    #[test]
    fn a_missing_lease_is_created_and_a_free_one_acquired() {
        let t0 = Instant::now();
        let mut m = Memory::default();
        assert_eq!(m.observe("a", None, t0), Step::Create);
        assert_eq!(
            m.observe("a", Some(&rec(None, "7")), t0),
            Step::Acquire {
                resource_version: "7".into(),
                transitions: 4
            }
        );
        assert!(!m.is_leader(t0));
    }

    #[test]
    fn our_own_lease_is_renewed_on_its_resource_version() {
        let t0 = Instant::now();
        let mut m = Memory::default();
        assert_eq!(
            m.observe("a", Some(&rec(Some("a"), "9")), t0),
            Step::Renew {
                resource_version: "9".into()
            }
        );
    }

    #[test]
    fn leadership_ends_at_the_renew_deadline_without_any_answer() {
        let timing = Timing::default();
        let t0 = Instant::now();
        let mut m = Memory::default();
        m.written(t0, &timing);
        assert!(m.is_leader(t0));
        assert!(m.is_leader(secs(t0, 9)));
        // Nothing else happens (hub silent): the deadline alone ends leadership.
        assert!(!m.is_leader(secs(t0, 10)));
        assert_eq!(m.leading_until(), Some(secs(t0, 10)));
        // A renewal extends it from when it was sent.
        m.written(secs(t0, 2), &timing);
        assert!(m.is_leader(secs(t0, 11)));
        assert!(!m.is_leader(secs(t0, 12)));
        // A late answer to an older request does not shorten it.
        m.written(secs(t0, 1), &timing);
        assert_eq!(m.leading_until(), Some(secs(t0, 12)));
    }

    #[test]
    fn a_follower_waits_a_full_lease_on_its_own_clock_after_the_last_change() {
        let t0 = Instant::now();
        let mut m = Memory::default();
        let held = rec(Some("b"), "1");
        assert_eq!(
            m.observe("a", Some(&held), t0),
            Step::Follow { holder: "b".into() }
        );
        assert_eq!(
            m.observe("a", Some(&held), secs(t0, 14)),
            Step::Follow { holder: "b".into() }
        );
        // b renewed at 14 s (new resourceVersion): the wait starts again.
        let renewed = rec(Some("b"), "2");
        assert_eq!(
            m.observe("a", Some(&renewed), secs(t0, 14)),
            Step::Follow { holder: "b".into() }
        );
        assert_eq!(
            m.observe("a", Some(&renewed), secs(t0, 28)),
            Step::Follow { holder: "b".into() }
        );
        assert_eq!(
            m.observe("a", Some(&renewed), secs(t0, 29)),
            Step::Acquire {
                resource_version: "2".into(),
                transitions: 4
            }
        );
    }

    #[test]
    fn the_old_leader_never_takes_the_lease_back_after_a_partition() {
        let timing = Timing::default();
        let t0 = Instant::now();
        let mut old = Memory::default();
        old.observe("a", Some(&rec(Some("a"), "1")), t0);
        old.written(t0, &timing);
        // Partition: no reads succeed; the deadline passes.
        assert!(!old.is_leader(secs(t0, 10)));
        // Heal at 40 s: b holds the Lease. The old leader follows and, as long as b
        // keeps renewing, never acquires.
        let mut t = 40;
        let mut rv = 10;
        while t < 200 {
            let step = old.observe("a", Some(&rec(Some("b"), &rv.to_string())), secs(t0, t));
            assert_eq!(step, Step::Follow { holder: "b".into() }, "at {t}s");
            assert!(!old.is_leader(secs(t0, t)));
            t += 2;
            rv += 1;
        }
    }

    #[test]
    fn seeing_another_holder_ends_leadership_at_once() {
        let timing = Timing::default();
        let t0 = Instant::now();
        let mut m = Memory::default();
        m.written(t0, &timing);
        assert!(m.is_leader(secs(t0, 1)));
        m.observe("a", Some(&rec(Some("b"), "5")), secs(t0, 1));
        assert!(!m.is_leader(secs(t0, 1)));
        let mut m2 = Memory::default();
        m2.written(t0, &timing);
        m2.lost();
        assert!(!m2.is_leader(t0));
        let mut m3 = Memory::default();
        m3.written(t0, &timing);
        m3.resign();
        assert!(!m3.is_leader(t0));
    }

    #[test]
    fn a_deleted_lease_ends_leadership() {
        let timing = Timing::default();
        let t0 = Instant::now();
        let mut m = Memory::default();
        m.written(t0, &timing);
        assert_eq!(m.observe("a", None, secs(t0, 1)), Step::Create);
        assert!(!m.is_leader(secs(t0, 1)));
    }

    /// Two replicas, every interleaving of a partition of the leader: the old leader's
    /// deadline always ends before the follower may acquire.
    #[test]
    fn at_most_one_leader_for_every_partition_start_and_length() {
        let timing = Timing::default();
        for start in 0..20u64 {
            for length in [1u64, 5, 9, 11, 16, 40] {
                let t0 = Instant::now();
                let (mut a, mut b) = (Memory::default(), Memory::default());
                let mut lease = rec(None, "0");
                let mut rv = 0u64;
                let mut holder_history = Vec::new();
                // Time in half seconds; both attempt every 2 s, b offset by 1 s.
                for tick in 0..240u64 {
                    let now = t0 + Duration::from_millis(tick * 500);
                    let sec = tick / 2;
                    let a_cut = sec >= start && sec < start + length;
                    for (who, mem, cut, phase) in [("a", &mut a, a_cut, 0), ("b", &mut b, false, 2)]
                    {
                        if tick % 4 != phase || cut {
                            continue;
                        }
                        match mem.observe(who, Some(&lease), now) {
                            Step::Renew { resource_version }
                            | Step::Acquire {
                                resource_version, ..
                            } => {
                                assert_eq!(resource_version, lease.resource_version);
                                rv += 1;
                                lease.holder = Some(who.to_owned());
                                lease.resource_version = rv.to_string();
                                mem.written(now, &timing);
                            }
                            Step::Follow { .. } | Step::Create => {}
                        }
                    }
                    assert!(
                        !(a.is_leader(now) && b.is_leader(now)),
                        "two leaders at {tick} (partition {start}+{length})"
                    );
                    holder_history.push(lease.holder.clone());
                }
                // Once b took over, a never holds the Lease again.
                if let Some(first_b) = holder_history
                    .iter()
                    .position(|h| h.as_deref() == Some("b"))
                {
                    assert!(
                        holder_history[first_b..]
                            .iter()
                            .all(|h| h.as_deref() == Some("b")),
                        "a took the Lease back (partition {start}+{length})"
                    );
                }
            }
        }
    }
}
