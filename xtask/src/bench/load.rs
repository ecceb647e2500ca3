//! The load generator (keep-alive HTTP clients over the corpus) and the target
//! apiservers' own request counters (`apiserver_request_total` from their `/metrics`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use breakglass_testenv::TestEnv;

use super::corpus::{Review, TARGETS};

/// The corpus, serialised once, with the answers it expects.
pub struct Corpus {
    items: Arc<Vec<(String, bytes::Bytes, bool)>>,
}

/// How many mismatches and errors are kept as examples.
const SAMPLES: usize = 5;

/// What one phase measured.
#[derive(Debug, Default, Clone)]
pub struct Phase {
    /// Printed name.
    pub name: String,
    /// Reviews answered.
    pub count: u64,
    /// Wall time of the phase.
    pub elapsed: Duration,
    /// Latencies, sorted (µs).
    latencies: Vec<u32>,
    /// Answers that differ from the corpus's expectation.
    pub mismatches: u64,
    /// Transport errors and non-200 answers.
    pub errors: u64,
    /// The first few mismatches and errors, for the report.
    pub samples: Vec<String>,
    /// Server RSS after the phase, MiB.
    pub rss_mib: f64,
    /// SubjectAccessReview creates the targets served during the phase.
    pub sar_creates: f64,
    /// All requests the targets served during the phase, less their background.
    pub target_requests: f64,
    /// For the cold start: distinct (group, target) pairs needing an RBAC answer.
    pub group_targets: Option<usize>,
}

impl Phase {
    /// Reviews per second.
    pub fn throughput(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency percentile, ms.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        // Nearest rank; the epsilon keeps 0.999 * 1000 from rounding up past 999.
        let rank = ((p / 100.0) * self.latencies.len() as f64 - 1e-9).ceil() as usize;
        let i = rank.clamp(1, self.latencies.len()) - 1;
        f64::from(self.latencies[i]) / 1000.0
    }

    /// `n` per answered review.
    pub fn per_review(&self, n: f64) -> f64 {
        n / (self.count.max(1) as f64)
    }

    /// Fills the target counts from two scrapes around the phase.
    pub fn set_targets(&mut self, before: &Counts, after: &Counts, background: &Background) {
        self.sar_creates = after.sar_creates - before.sar_creates;
        let raw = after.total - before.total;
        self.target_requests = (raw - background.per_second * self.elapsed.as_secs_f64()).max(0.0);
    }

    fn merge(&mut self, other: Phase) {
        self.count += other.count;
        self.mismatches += other.mismatches;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
        self.samples.extend(other.samples);
        self.samples.truncate(SAMPLES);
    }
}

impl Corpus {
    /// The corpus against the server at `base`.
    pub fn new(base: &str, reviews: &[Review]) -> Self {
        let items = reviews
            .iter()
            .map(|r| {
                (
                    format!("{base}/api/breakglass/webhook/authorize/{}", r.cluster),
                    bytes::Bytes::from(serde_json::to_vec(&r.body).unwrap_or_default()),
                    r.kind.allowed(),
                )
            })
            .collect();
        Self {
            items: Arc::new(items),
        }
    }

    /// Every review once, spread over `clients`.
    pub async fn pass(&self, clients: usize) -> anyhow::Result<Phase> {
        let n = self.items.len();
        self.run(
            clients,
            move |client, i| {
                (i < n / clients + usize::from(client < n % clients))
                    .then_some(i * clients + client)
            },
            None,
        )
        .await
    }

    /// `clients` clients for `duration`, each cycling through the corpus from its own
    /// offset.
    pub async fn timed(&self, clients: usize, duration: Duration) -> anyhow::Result<Phase> {
        let n = self.items.len();
        self.run(
            clients,
            move |client, i| Some((client * n / clients.max(1) + i) % n),
            Some(duration),
        )
        .await
    }

    async fn run<F>(
        &self,
        clients: usize,
        pick: F,
        duration: Option<Duration>,
    ) -> anyhow::Result<Phase>
    where
        F: Fn(usize, usize) -> Option<usize> + Send + Sync + Copy + 'static,
    {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for client in 0..clients.max(1) {
            let items = self.items.clone();
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(10))
                    .build()?;
                let mut phase = Phase::default();
                let mut i = 0;
                while let Some(k) = pick(client, i) {
                    if duration.is_some_and(|d| started.elapsed() >= d) {
                        break;
                    }
                    i += 1;
                    let (url, body, allowed) = &items[k];
                    let t = Instant::now();
                    let answer = post(&http, url, body.clone()).await;
                    let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                    phase.count += 1;
                    phase.latencies.push(us);
                    let sample = match answer {
                        Ok((a, _)) if a == *allowed => None,
                        Ok((_, reply)) => {
                            phase.mismatches += 1;
                            Some(format!(
                                "expected allowed={allowed} for review {k}: {reply}"
                            ))
                        }
                        Err(e) => {
                            phase.errors += 1;
                            Some(format!("review {k}: {e:#}"))
                        }
                    };
                    if let Some(s) = sample.filter(|_| phase.samples.len() < SAMPLES) {
                        phase.samples.push(s);
                    }
                }
                anyhow::Ok(phase)
            }));
        }
        let mut total = Phase::default();
        for t in tasks {
            total.merge(t.await??);
        }
        total.elapsed = started.elapsed();
        total.latencies.sort_unstable();
        Ok(total)
    }
}

/// Posts one review; its `status.allowed` and the reply's `status`.
async fn post(
    http: &reqwest::Client,
    url: &str,
    body: bytes::Bytes,
) -> anyhow::Result<(bool, serde_json::Value)> {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let code = r.status();
    let bytes = r.bytes().await?;
    anyhow::ensure!(
        code.is_success(),
        "HTTP {code}: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
    );
    let mut v: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok((v["status"]["allowed"] == true, v["status"].take()))
}

/// Sums of `apiserver_request_total` over the targets.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// Every request.
    pub total: f64,
    /// `POST subjectaccessreviews`.
    pub sar_creates: f64,
}

/// The targets' request rate while the server is idle (their controllers, leases and
/// kwok, and the server's own probes).
#[derive(Debug, Default, Clone)]
pub struct Background {
    /// Requests per second over both targets.
    pub per_second: f64,
}

/// Admin clients of the targets, for their metrics.
pub struct Targets {
    clients: BTreeMap<&'static str, kube::Client>,
}

impl Targets {
    /// Connects to every target.
    pub async fn connect(env: &TestEnv) -> anyhow::Result<Self> {
        let mut clients = BTreeMap::new();
        for t in TARGETS {
            clients.insert(t, env.target_client(t).await?);
        }
        Ok(Self { clients })
    }

    /// Reads both targets' counters.
    pub async fn scrape(&self) -> anyhow::Result<Counts> {
        let mut counts = Counts::default();
        for (name, c) in &self.clients {
            let req = http::Request::get("/metrics").body(Vec::new())?;
            let text = c
                .request_text(req)
                .await
                .with_context(|| format!("reading /metrics of {name}"))?;
            let one = parse_counts(&text);
            counts.total += one.total;
            counts.sar_creates += one.sar_creates;
        }
        Ok(counts)
    }

    /// The idle request rate over `window`.
    pub async fn background(&self, window: Duration) -> anyhow::Result<Background> {
        let before = self.scrape().await?;
        tokio::time::sleep(window).await;
        let after = self.scrape().await?;
        // The scrape itself is one request per target.
        let scrapes = TARGETS.len() as f64;
        Ok(Background {
            per_second: ((after.total - before.total - scrapes) / window.as_secs_f64()).max(0.0),
        })
    }
}

/// `apiserver_request_total` summed, and its SubjectAccessReview creates.
pub fn parse_counts(text: &str) -> Counts {
    let mut counts = Counts::default();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        counts.total += v;
        if labels.contains("resource=\"subjectaccessreviews\"") && labels.contains("verb=\"POST\"")
        {
            counts.sar_creates += v;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_and_sar_creates() {
        let text = "# HELP apiserver_request_total x\n\
            apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"\",group=\"authorization.k8s.io\",resource=\"subjectaccessreviews\",scope=\"resource\",subresource=\"\",verb=\"POST\",version=\"v1\"} 12\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"pods\",scope=\"namespace\",subresource=\"\",verb=\"LIST\",version=\"v1\"} 30\n\
            apiserver_request_duration_seconds_count{verb=\"POST\"} 99\n";
        let c = parse_counts(text);
        assert!((c.total - 42.0).abs() < 1e-9);
        assert!((c.sar_creates - 12.0).abs() < 1e-9);
    }

    #[test]
    fn percentiles_by_rank() {
        let mut p = Phase {
            latencies: (1..=1000).map(|v| v * 1000).collect(),
            count: 1000,
            elapsed: Duration::from_secs(2),
            ..Phase::default()
        };
        p.latencies.sort_unstable();
        assert!((p.percentile(50.0) - 500.0).abs() < 1e-9);
        assert!((p.percentile(99.0) - 990.0).abs() < 1e-9);
        assert!((p.percentile(99.9) - 999.0).abs() < 1e-9);
        assert!((p.throughput() - 500.0).abs() < 1e-9);
    }
}
