//! Rate limits of the REST API: per source address and per authenticated person, each a
//! token bucket (GCRA), answered with 429, `Retry-After` and the `{error, code}` body.
//!
//! The authorization webhook and the probes are never limited: one apiserver calls the
//! webhook from one address for every user of its cluster, and a throttled probe would
//! restart a healthy replica. Sources are keyed by IPv4 address or IPv6 /64 (one host
//! usually owns a whole /64, so rotating addresses inside it buys nothing). The source is
//! the connecting peer unless that peer is a trusted proxy (`server.trustedProxies`); then
//! the right-most untrusted `X-Forwarded-For` entry is the source.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::HeaderMap;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// How often forgotten keys are dropped from the limiters.
pub const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);

/// `rateLimits.*` in the configuration file (our addition; the reference hard-codes
/// 20 requests/s with a burst of 50 per address).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Limit the REST API at all (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Per source address (or IPv6 /64), over every `/api` request.
    #[serde(default = "default_per_source")]
    pub per_source: Limit,
    /// Per authenticated person (token issuer and subject), over authenticated requests.
    #[serde(default = "default_per_user")]
    pub per_user: Limit,
    /// Per person, over session requests (`POST /api/breakglassSessions` and its alias):
    /// each request costs several hub writes and leaves an object kept for weeks.
    #[serde(default = "default_session_creation")]
    pub session_creation: SlowLimit,
}

/// A rate per minute and the burst allowed on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlowLimit {
    /// Requests per minute, sustained.
    pub per_minute: u32,
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
}

/// A sustained rate and the burst allowed on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            per_source: default_per_source(),
            per_user: default_per_user(),
            session_creation: default_session_creation(),
        }
    }
}

fn default_session_creation() -> SlowLimit {
    SlowLimit {
        per_minute: 10,
        burst: 5,
    }
}

fn enabled_by_default() -> bool {
    true
}

fn default_per_source() -> Limit {
    Limit {
        per_second: 20,
        burst: 50,
    }
}

fn default_per_user() -> Limit {
    Limit {
        per_second: 50,
        burst: 100,
    }
}

/// Why a rate-limit configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitConfigError {
    /// A rate or burst is zero.
    #[error("{field}: must be at least 1")]
    Zero {
        /// Dotted path of the key.
        field: &'static str,
    },
    /// A trusted proxy is neither an address nor a CIDR block.
    #[error("server.trustedProxies[{index}]: {value:?} is not an IP address or CIDR block")]
    Proxy {
        /// Position in the list.
        index: usize,
        /// The entry.
        value: String,
    },
}

/// The key of a source: an IPv4 address or the /64 prefix of an IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4(u32),
    /// The upper 64 bits of an IPv6 address.
    V6(u64),
}

impl From<IpAddr> for SourceKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(u32::from(v4)),
                None => Self::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// The limiters of one server.
pub struct RateLimits {
    sources: Option<DefaultKeyedRateLimiter<SourceKey>>,
    users: Option<DefaultKeyedRateLimiter<String>>,
    creations: Option<DefaultKeyedRateLimiter<String>>,
    trusted: Vec<IpNet>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("sources", &self.sources.as_ref().map(|l| l.len()))
            .field("users", &self.users.as_ref().map(|l| l.len()))
            .field("trusted", &self.trusted)
            .finish()
    }
}

fn quota(
    limit: Limit,
    rate_field: &'static str,
    burst_field: &'static str,
) -> Result<Quota, RateLimitConfigError> {
    let rate = NonZeroU32::new(limit.per_second)
        .ok_or(RateLimitConfigError::Zero { field: rate_field })?;
    let burst =
        NonZeroU32::new(limit.burst).ok_or(RateLimitConfigError::Zero { field: burst_field })?;
    Ok(Quota::per_second(rate).allow_burst(burst))
}

/// Parses `server.trustedProxies`: addresses or CIDR blocks.
pub fn parse_trusted_proxies(entries: &[String]) -> Result<Vec<IpNet>, RateLimitConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let text = entry.trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| RateLimitConfigError::Proxy {
                    index,
                    value: entry.clone(),
                })
        })
        .collect()
}

impl RateLimits {
    /// Limiters for `config`, trusting `X-Forwarded-For` from `trusted_proxies`.
    pub fn new(
        config: &RateLimitConfig,
        trusted_proxies: &[String],
    ) -> Result<Self, RateLimitConfigError> {
        let source_quota = quota(
            config.per_source,
            "rateLimits.perSource.perSecond",
            "rateLimits.perSource.burst",
        )?;
        let user_quota = quota(
            config.per_user,
            "rateLimits.perUser.perSecond",
            "rateLimits.perUser.burst",
        )?;
        let creation_rate = NonZeroU32::new(config.session_creation.per_minute).ok_or(
            RateLimitConfigError::Zero {
                field: "rateLimits.sessionCreation.perMinute",
            },
        )?;
        let creation_burst =
            NonZeroU32::new(config.session_creation.burst).ok_or(RateLimitConfigError::Zero {
                field: "rateLimits.sessionCreation.burst",
            })?;
        let creation_quota = Quota::per_minute(creation_rate).allow_burst(creation_burst);
        let trusted = parse_trusted_proxies(trusted_proxies)?;
        Ok(Self {
            sources: config.enabled.then(|| RateLimiter::keyed(source_quota)),
            users: config.enabled.then(|| RateLimiter::keyed(user_quota)),
            creations: config.enabled.then(|| RateLimiter::keyed(creation_quota)),
            trusted,
            clock: DefaultClock::default(),
        })
    }

    /// The client a request comes from: the peer, or, when the peer is a trusted proxy,
    /// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        while let Some(hop) = hops.pop() {
            match parse_hop(hop) {
                Ok(ip) if self.is_trusted(ip) => continue,
                Ok(ip) => return ip,
                // A garbled entry ends the chain we can believe: the proxy before it
                // is the last address we know.
                Err(_) => return peer,
            }
        }
        peer
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// Takes one request from the source's bucket; `Err` carries the wait until the next.
    pub fn check_source(&self, ip: IpAddr) -> Result<(), Duration> {
        self.take(self.sources.as_ref(), &SourceKey::from(ip))
    }

    /// Takes one request from the person's bucket (`person` is an opaque stable key).
    pub fn check_user(&self, person: &str) -> Result<(), Duration> {
        self.take(self.users.as_ref(), &person.to_owned())
    }

    /// Takes one session request from the person's creation bucket.
    pub fn check_creation(&self, person: &str) -> Result<(), Duration> {
        self.take(self.creations.as_ref(), &person.to_owned())
    }

    /// One request from `key`'s bucket of `limiter` (none configured: always allowed).
    fn take<K: Clone + Eq + std::hash::Hash>(
        &self,
        limiter: Option<&DefaultKeyedRateLimiter<K>>,
        key: &K,
    ) -> Result<(), Duration> {
        limiter.map_or(Ok(()), |l| {
            l.check_key(key)
                .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
        })
    }

    /// Drops buckets that are full again, so the maps hold only recently active keys.
    pub fn cleanup(&self) {
        if let Some(l) = &self.sources {
            l.retain_recent();
            l.shrink_to_fit();
        }
        for l in [&self.users, &self.creations].into_iter().flatten() {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// Runs [`RateLimits::cleanup`] every [`CLEANUP_INTERVAL`] until the task is aborted.
    pub fn spawn_cleanup(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let limits = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CLEANUP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                limits.cleanup();
            }
        })
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port as some gateways
/// write it (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Result<IpAddr, std::net::AddrParseError> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .or_else(|e| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .map_or(Err(e), str::parse)
        })
}

/// True for the routes the per-source limit covers: the REST API, not the webhook.
pub fn is_limited_path(path: &str) -> bool {
    (path == "/api" || path.starts_with("/api/")) && !path.starts_with("/api/breakglass/webhook/")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn limits(per_second: u32, burst: u32, trusted: &[&str]) -> RateLimits {
        let limit = Limit { per_second, burst };
        RateLimits::new(
            &RateLimitConfig {
                enabled: true,
                per_source: limit,
                per_user: limit,
                session_creation: default_session_creation(),
            },
            &trusted.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_then_a_wait_per_source_independently() {
        let l = limits(1, 3, &[]);
        for _ in 0..3 {
            assert!(l.check_source(ip("10.0.0.1")).is_ok());
        }
        let wait = l.check_source(ip("10.0.0.1")).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(
            l.check_source(ip("10.0.0.2")).is_ok(),
            "other sources are not affected"
        );
    }

    #[test]
    fn ipv6_addresses_share_their_slash_64() {
        let l = limits(1, 2, &[]);
        assert!(l.check_source(ip("2001:db8::1")).is_ok());
        assert!(l.check_source(ip("2001:db8::ffff:2")).is_ok());
        assert!(l.check_source(ip("2001:db8::abcd")).is_err(), "same /64");
        assert!(l.check_source(ip("2001:db8:0:1::1")).is_ok(), "next /64");
        assert_eq!(
            SourceKey::from(ip("::ffff:10.0.0.1")),
            SourceKey::from(ip("10.0.0.1"))
        );
    }

    #[test]
    fn users_have_their_own_buckets() {
        let l = limits(1, 1, &[]);
        assert!(l.check_user("iss\0alice").is_ok());
        assert!(l.check_user("iss\0alice").is_err());
        assert!(l.check_user("iss\0bob").is_ok());
    }

    #[test]
    fn session_requests_have_a_slow_bucket_per_person() {
        let l = RateLimits::new(
            &RateLimitConfig {
                session_creation: SlowLimit {
                    per_minute: 1,
                    burst: 2,
                },
                ..RateLimitConfig::default()
            },
            &[],
        )
        .unwrap();
        assert!(l.check_creation("iss\0alice").is_ok());
        assert!(l.check_creation("iss\0alice").is_ok());
        let wait = l.check_creation("iss\0alice").unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(l.check_creation("iss\0bob").is_ok());
        let zero = RateLimitConfig {
            session_creation: SlowLimit {
                per_minute: 0,
                burst: 1,
            },
            ..RateLimitConfig::default()
        };
        assert_eq!(
            RateLimits::new(&zero, &[]).unwrap_err().to_string(),
            "rateLimits.sessionCreation.perMinute: must be at least 1"
        );
    }

    #[test]
    fn disabled_limits_never_refuse() {
        let l = RateLimits::new(
            &RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            },
            &[],
        )
        .unwrap();
        for _ in 0..1000 {
            assert!(l.check_source(ip("10.0.0.1")).is_ok());
            assert!(l.check_user("u").is_ok());
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let l = limits(1, 1, &["10.1.0.0/16", "192.168.1.1"]);
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.7, 198.51.100.2"),
        );
        h.append("x-forwarded-for", HeaderValue::from_static("10.1.2.3"));
        // An untrusted peer's header is ignored: it could name anyone.
        assert_eq!(l.client_ip(ip("198.51.100.9"), &h), ip("198.51.100.9"));
        // From a trusted proxy: the right-most untrusted hop.
        assert_eq!(l.client_ip(ip("10.1.0.5"), &h), ip("198.51.100.2"));
        assert_eq!(l.client_ip(ip("192.168.1.1"), &h), ip("198.51.100.2"));
        // Only proxies in the chain, or no header: the peer.
        let mut only = HeaderMap::new();
        only.append("x-forwarded-for", HeaderValue::from_static("10.1.9.9"));
        assert_eq!(l.client_ip(ip("10.1.0.5"), &only), ip("10.1.0.5"));
        assert_eq!(
            l.client_ip(ip("10.1.0.5"), &HeaderMap::new()),
            ip("10.1.0.5")
        );
        // Gateways that append the port are understood.
        let mut ported = HeaderMap::new();
        ported.append(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.4:5678"),
        );
        assert_eq!(l.client_ip(ip("10.1.0.5"), &ported), ip("198.51.100.4"));
        let mut v6 = HeaderMap::new();
        v6.append(
            "x-forwarded-for",
            HeaderValue::from_static("[2001:db8::7]:443, [2001:db8::8]"),
        );
        assert_eq!(l.client_ip(ip("10.1.0.5"), &v6), ip("2001:db8::8"));
        // A garbled hop stops the walk at the proxy.
        let mut bad = HeaderMap::new();
        bad.append(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, not-an-ip"),
        );
        assert_eq!(l.client_ip(ip("10.1.0.5"), &bad), ip("10.1.0.5"));
    }

    #[test]
    fn bad_configuration_names_the_key() {
        let zero = RateLimitConfig {
            per_user: Limit {
                per_second: 0,
                burst: 5,
            },
            ..RateLimitConfig::default()
        };
        assert_eq!(
            RateLimits::new(&zero, &[]).unwrap_err().to_string(),
            "rateLimits.perUser.perSecond: must be at least 1"
        );
        assert_eq!(
            RateLimits::new(&RateLimitConfig::default(), &["10.0.0.0/33".to_owned()])
                .unwrap_err()
                .to_string(),
            "server.trustedProxies[0]: \"10.0.0.0/33\" is not an IP address or CIDR block"
        );
    }

    #[test]
    fn only_the_rest_api_is_limited() {
        for p in ["/api/breakglassSessions", "/api/config", "/api"] {
            assert!(is_limited_path(p), "{p}");
        }
        for p in [
            "/api/breakglass/webhook/authorize/a",
            "/breakglass/webhook/authorize/a",
            "/healthz",
            "/readyz",
            "/metrics",
            "/apix",
        ] {
            assert!(!is_limited_path(p), "{p}");
        }
    }
}
