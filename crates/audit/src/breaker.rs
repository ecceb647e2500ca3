//! A circuit breaker per sink (the reference wraps sinks in sony/gobreaker): after
//! `threshold` consecutive failed deliveries it opens and refuses deliveries at once for
//! `open_for`; then one trial delivery is let through (half-open): success closes it,
//! failure opens it again. Pure: the caller passes the time.

use std::time::{Duration, Instant};

/// Consecutive failures that open the breaker.
pub const DEFAULT_THRESHOLD: u32 = 5;
/// How long an open breaker refuses deliveries.
pub const DEFAULT_OPEN_FOR: Duration = Duration::from_secs(30);

/// State of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Deliveries go through.
    Closed,
    /// Deliveries are refused.
    Open,
    /// One trial delivery is in flight.
    HalfOpen,
}

impl State {
    /// The metric value: 0 closed, 1 open, 2 half-open.
    pub const fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }

    /// The name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

/// The breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    failures: u32,
    opened_at: Option<Instant>,
    trial: bool,
}

impl Default for Breaker {
    fn default() -> Self {
        Self::new(DEFAULT_THRESHOLD, DEFAULT_OPEN_FOR)
    }
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            failures: 0,
            opened_at: None,
            trial: false,
        }
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> State {
        match self.opened_at {
            None => State::Closed,
            Some(at) if now.duration_since(at) < self.open_for => State::Open,
            Some(_) => State::HalfOpen,
        }
    }

    /// Whether a delivery may start at `now`; in half-open only one trial at a time.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state(now) {
            State::Closed => true,
            State::Open => false,
            State::HalfOpen if self.trial => false,
            State::HalfOpen => {
                self.trial = true;
                true
            }
        }
    }

    /// Records a successful delivery: closes the breaker.
    pub fn success(&mut self) {
        self.failures = 0;
        self.opened_at = None;
        self.trial = false;
    }

    /// Records a failed delivery at `now`; returns true when this opened the breaker.
    pub fn failure(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        let was_open = self.opened_at.is_some();
        if self.trial || self.failures >= self.threshold {
            self.opened_at = Some(now);
            self.trial = false;
            return !was_open || self.failures > self.threshold;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(10));
        assert!(b.allow(t0));
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        // A success in between resets the count.
        b.success();
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        assert_eq!(b.state(t0), State::Closed);
        assert!(b.failure(t0));
        assert_eq!(b.state(t0), State::Open);
        assert!(!b.allow(t0 + Duration::from_secs(9)));
    }

    #[test]
    fn half_open_lets_one_trial_through() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, Duration::from_secs(10));
        b.failure(t0);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.state(later), State::HalfOpen);
        assert!(b.allow(later));
        assert!(!b.allow(later), "only one trial at a time");
        // The trial fails: open again for a full period.
        b.failure(later);
        assert_eq!(b.state(later + Duration::from_secs(5)), State::Open);
        let again = later + Duration::from_secs(10);
        assert!(b.allow(again));
        b.success();
        assert_eq!(b.state(again), State::Closed);
        assert!(b.allow(again));
        assert!(b.allow(again));
    }

    #[test]
    fn gauge_values() {
        assert_eq!(State::Closed.gauge(), 0);
        assert_eq!(State::Open.gauge(), 1);
        assert_eq!(State::HalfOpen.gauge(), 2);
    }
}
