//! The client-side rate limit of the hub's requests to one target cluster:
//! ClusterConfig `spec.qps` and `spec.burst`, a token bucket with client-go's semantics
//! (`qps` tokens per second refill a bucket of `burst` tokens; every request takes one).
//!
//! It is a tower layer in the kube client stack, shared by the cluster's client and the
//! impersonating clients derived from it, so the limit covers everything the hub sends
//! to that cluster. A request waits for a token, but never longer than [`MAX_WAIT`]: a
//! request that would wait longer fails at once (the webhook fails closed on it and its
//! own 3 s deadline on target reads is never reached by waiting here).
//!
//! Unset fields differ from client-go on purpose. client-go's 5/s with a burst of 10 would
//! throttle the webhook's own reads (an uncached group check per new user and group) far
//! below what one apiserver asks of it; the reference leaves them at client-go's defaults.
//! Here neither field set means no client-side limit (the target's API Priority and
//! Fairness still protects it); one field set fills in the other (see [`ClientLimit`]).

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::Request;
use kube::client::Body;
use prometheus_client::metrics::counter::Counter;
use tower::buffer::Buffer;
use tower::{BoxError, Layer, Service, ServiceExt as _};

use crate::metrics::Metrics;

/// The longest a request waits for a token before it fails.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// client-go's default burst, used when only `qps` is set and it is smaller.
pub const DEFAULT_BURST: u32 = 10;

/// How many requests may queue in front of the limiter of one cluster (kube's own
/// client buffer has the same size).
const QUEUE: usize = 1024;

/// A rate limit of one cluster's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimit {
    /// Tokens added per second.
    pub qps: NonZeroU32,
    /// Size of the bucket: requests allowed at once after a quiet period.
    pub burst: NonZeroU32,
}

impl ClientLimit {
    /// The limit a ClusterConfig asks for: `None` (no limit) when neither field is set.
    /// Only `qps`: the burst is the larger of `qps` and client-go's 10. Only `burst`: the
    /// bucket refills once per second (`qps` = `burst`). Values below 1 are refused by
    /// validation; should one get here, it counts as 1 (the strictest limit).
    pub fn from_spec(qps: Option<i32>, burst: Option<i32>) -> Option<Self> {
        let positive =
            |v: i32| NonZeroU32::new(u32::try_from(v).unwrap_or(0)).unwrap_or(NonZeroU32::MIN);
        let (qps, burst) = match (qps.map(positive), burst.map(positive)) {
            (None, None) => return None,
            (Some(q), Some(b)) => (q, b),
            (Some(q), None) => (
                q,
                q.max(NonZeroU32::new(DEFAULT_BURST).unwrap_or(NonZeroU32::MIN)),
            ),
            (None, Some(b)) => (b, b),
        };
        Some(Self { qps, burst })
    }
}

/// Counters of one cluster's limiter.
#[derive(Clone, Default)]
struct Counters {
    /// Requests that had to wait for a token.
    waited: Counter,
    /// Requests that failed because no token came within [`MAX_WAIT`].
    rejected: Counter,
}

/// The layer: one token bucket for one cluster.
#[derive(Clone)]
pub struct TargetRateLimit {
    limiter: Arc<DefaultDirectRateLimiter>,
    cluster: Arc<str>,
    max_wait: Duration,
    counters: Counters,
}

impl TargetRateLimit {
    /// A bucket for `cluster` with `limit`, counting into `metrics` when given.
    pub fn new(cluster: &str, limit: ClientLimit, metrics: Option<&Metrics>) -> Self {
        let quota = Quota::per_second(limit.qps).allow_burst(limit.burst);
        let counters = metrics.map_or_else(Counters::default, |m| {
            let label = crate::metrics::cluster(cluster);
            Counters {
                waited: m.target_client_throttled.get_or_create(&label).clone(),
                rejected: m.target_client_rejected.get_or_create(&label).clone(),
            }
        });
        Self {
            limiter: Arc::new(RateLimiter::direct(quota)),
            cluster: cluster.into(),
            max_wait: MAX_WAIT,
            counters,
        }
    }

    /// The same bucket with another bound on the wait (tests).
    #[must_use]
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Waits for a token: `Ok(waited)` when one came (`waited` says whether the request
    /// had to wait), [`Throttled`] when none came within the bound.
    pub async fn acquire(&self) -> Result<bool, Throttled> {
        if self.limiter.check().is_ok() {
            return Ok(false);
        }
        self.counters.waited.inc();
        let started = Instant::now();
        match tokio::time::timeout(self.max_wait, self.limiter.until_ready()).await {
            Ok(()) => Ok(true),
            Err(_) => {
                self.counters.rejected.inc();
                Err(Throttled {
                    cluster: self.cluster.to_string(),
                    waited: started.elapsed(),
                })
            }
        }
    }
}

/// No token came within the bound: the request was not sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "client-side rate limit of cluster {cluster:?} (ClusterConfig spec.qps/burst): no token within {waited:?}"
)]
pub struct Throttled {
    /// The cluster.
    pub cluster: String,
    /// How long the request waited.
    pub waited: Duration,
}

impl<S> Layer<S> for TargetRateLimit
where
    S: Service<Request<Body>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + Sync,
    S::Response: Send + 'static,
{
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            // Waiting happens per request, off the inner service: a queue in front of
            // it lets every request wait on its own and then go through a clone.
            inner: Buffer::new(inner, QUEUE),
            limit: self.clone(),
        }
    }
}

/// The rate-limited service.
pub struct RateLimited<S>
where
    S: Service<Request<Body>>,
{
    inner: Buffer<Request<Body>, S::Future>,
    limit: TargetRateLimit,
}

impl<S> Service<Request<Body>> for RateLimited<S>
where
    S: Service<Request<Body>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + Sync,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness of the inner service is awaited per request, after its token.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let limit = self.limit.clone();
        Box::pin(async move {
            limit.acquire().await?;
            inner.oneshot(request).await
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use http::Response;

    fn nz(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[test]
    fn unset_fields_take_documented_defaults() {
        assert_eq!(ClientLimit::from_spec(None, None), None);
        assert_eq!(
            ClientLimit::from_spec(Some(3), None),
            Some(ClientLimit {
                qps: nz(3),
                burst: nz(10)
            })
        );
        assert_eq!(
            ClientLimit::from_spec(Some(50), None),
            Some(ClientLimit {
                qps: nz(50),
                burst: nz(50)
            })
        );
        assert_eq!(
            ClientLimit::from_spec(None, Some(7)),
            Some(ClientLimit {
                qps: nz(7),
                burst: nz(7)
            })
        );
        assert_eq!(
            ClientLimit::from_spec(Some(0), Some(-4)),
            Some(ClientLimit {
                qps: nz(1),
                burst: nz(1)
            })
        );
    }

    /// A burst goes through at once, then requests are spaced at the rate.
    #[tokio::test]
    async fn burst_then_rate() {
        let limit = TargetRateLimit::new(
            "a",
            ClientLimit {
                qps: nz(20),
                burst: nz(5),
            },
            None,
        );
        let started = Instant::now();
        for _ in 0..5 {
            assert!(!limit.acquire().await.unwrap(), "the burst does not wait");
        }
        assert!(started.elapsed() < Duration::from_millis(20));
        for _ in 0..10 {
            assert!(
                limit.acquire().await.unwrap(),
                "beyond the burst, requests wait"
            );
        }
        // 10 more at 20/s: about 500 ms.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(450), "{took:?}");
        assert!(took < Duration::from_millis(900), "{took:?}");
        assert_eq!(limit.counters.waited.get(), 10);
    }

    /// A request that cannot get a token within the bound fails instead of waiting on.
    #[tokio::test]
    async fn the_wait_is_bounded() {
        let limit = TargetRateLimit::new(
            "a",
            ClientLimit {
                qps: nz(1),
                burst: nz(1),
            },
            None,
        )
        .with_max_wait(Duration::from_millis(100));
        limit.acquire().await.unwrap();
        let started = Instant::now();
        let err = limit.acquire().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(300));
        assert!(err.to_string().contains("cluster \"a\""), "{err}");
        assert_eq!(limit.counters.rejected.get(), 1);
    }

    /// Through the service: the inner service is called only with a token.
    #[tokio::test]
    async fn the_layer_spaces_requests() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = calls.clone();
        let inner = tower::service_fn(move |_req: Request<Body>| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok::<_, BoxError>(Response::new(Body::empty())) }
        });
        let layer = TargetRateLimit::new(
            "a",
            ClientLimit {
                qps: nz(10),
                burst: nz(2),
            },
            None,
        );
        let mut svc = layer.layer(inner);
        let started = Instant::now();
        for _ in 0..5 {
            let req = Request::builder().uri("/").body(Body::empty()).unwrap();
            svc.ready().await.unwrap().call(req).await.unwrap();
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 5);
        // Two at once, three at 10/s.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(250), "{took:?}");
    }
}
