//! The pipeline: one per enabled AuditConfig, combined in a [`Manager`].
//!
//! [`Manager::emit`] never waits: per config it applies the filters and sampling and
//! hands the event to a bounded queue with `try_send`. When the queue is full, a
//! sensitive event (and, with `dropOnFull: false`, any event) goes to a reserved lane of
//! its own (a second bounded queue with its own worker); when that is full too, the
//! event is written to the process log at ERROR with its full envelope and counted as
//! dropped, so it is never lost silently. Other events are counted as dropped.
//!
//! `queue.workers` workers take events from the queue and fan them out to each sink
//! whose filter admits them into the sink's own bounded buffer: ordinary events with
//! `try_send` (counted as dropped by that sink when full), sensitive ones waiting up to
//! two seconds for room (then logged at ERROR), so a slow sink hardly holds up another. Each sink has one task that batches, delivers
//! with retries and backoff through its circuit breaker, and counts what it sent and
//! what failed; a sensitive event a sink could not deliver is logged at ERROR.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breakglass_api::AuditConfig;
use breakglass_api::audit_config::{AuditConfigStatus, AuditSinkStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::breaker::{self, Breaker};
use crate::event::AuditEvent;
use crate::filter::{ConfigFilter, Sampling, SinkFilter};
use crate::metrics::{AuditMetrics, ConfigLabel, SinkLabel};
use crate::sinks::Sink;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

/// Default queue size (the CRD's default).
pub const DEFAULT_QUEUE_SIZE: usize = 100_000;
/// Default number of workers.
pub const DEFAULT_WORKERS: usize = 5;
/// The reserved lane holds this fraction of the queue size (at least 1000 events).
const RESERVED_DIVISOR: usize = 10;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What one sink did.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Events delivered.
    pub sent: AtomicU64,
    /// Events not delivered.
    pub failed: AtomicU64,
    /// Events that found the sink's buffer full.
    pub dropped: AtomicU64,
    /// The sink was built and its breaker is not open.
    pub ready: AtomicBool,
    /// Last error.
    pub last_error: Mutex<Option<String>>,
    /// Last successful delivery.
    pub last_success: Mutex<Option<jiff::Timestamp>>,
    /// Breaker state name.
    pub breaker: Mutex<&'static str>,
}

/// What one AuditConfig's pipeline did; kept across reloads under the config's name.
#[derive(Debug, Default)]
pub struct ConfigStats {
    /// Events handed to sinks.
    pub processed: AtomicU64,
    /// Events dropped at the queue.
    pub dropped: AtomicU64,
    /// When the last event was processed.
    pub last_event: Mutex<Option<jiff::Timestamp>>,
    /// Why the configuration (or one of its sinks) is not usable.
    pub error: Mutex<Option<String>>,
    /// Sinks in use.
    pub active_sinks: Mutex<Vec<String>>,
    /// Per sink, by name.
    pub sinks: Mutex<BTreeMap<String, Arc<SinkStats>>>,
}

impl ConfigStats {
    fn sink(&self, name: &str) -> Arc<SinkStats> {
        lock(&self.sinks)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// The status to write for generation `generation`.
    pub fn status(&self, generation: Option<i64>, now: jiff::Timestamp) -> AuditConfigStatus {
        let error = lock(&self.error).clone();
        let active = lock(&self.active_sinks).clone();
        let sinks = lock(&self.sinks);
        let statuses: Vec<AuditSinkStatus> = sinks
            .iter()
            .map(|(name, s)| AuditSinkStatus {
                name: name.clone(),
                ready: Some(s.ready.load(Ordering::Relaxed)),
                last_error: lock(&s.last_error).clone(),
                last_success_time: lock(&s.last_success).map(Time),
                events_written: Some(count(&s.sent)),
            })
            .collect();
        let all_ready = error.is_none() && statuses.iter().all(|s| s.ready == Some(true));
        let (status, reason, message) = match (&error, all_ready) {
            (Some(e), _) => ("False", "ConfigurationInvalid", e.clone()),
            (None, true) => (
                "True",
                "SinksReady",
                format!("{} sink(s) ready", active.len()),
            ),
            (None, false) => (
                "False",
                "SinkUnavailable",
                statuses
                    .iter()
                    .filter(|s| s.ready != Some(true))
                    .map(|s| {
                        format!(
                            "{}: {}",
                            s.name,
                            s.last_error.as_deref().unwrap_or("not ready")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        };
        AuditConfigStatus {
            observed_generation: generation,
            conditions: Some(vec![Condition {
                type_: "Ready".to_owned(),
                status: status.to_owned(),
                reason: reason.to_owned(),
                message,
                observed_generation: generation,
                last_transition_time: Time(now),
            }]),
            active_sinks: Some(active),
            events_processed: Some(count(&self.processed)),
            events_dropped: Some(count(&self.dropped)),
            last_event_time: lock(&self.last_event).map(Time),
            sink_statuses: Some(statuses),
        }
    }
}

fn count(c: &AtomicU64) -> i64 {
    i64::try_from(c.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
}

/// Stats of every AuditConfig by name, shared by successive managers.
#[derive(Debug, Clone, Default)]
pub struct StatsRegistry(Arc<Mutex<HashMap<String, Arc<ConfigStats>>>>);

impl StatsRegistry {
    /// The stats of `config` (created on first use).
    pub fn get(&self, config: &str) -> Arc<ConfigStats> {
        lock(&self.0).entry(config.to_owned()).or_default().clone()
    }

    /// Forgets configs not in `keep`.
    pub fn retain(&self, keep: &[String]) {
        lock(&self.0).retain(|k, _| keep.contains(k));
    }
}

/// What building sinks needs from the server.
#[derive(Clone)]
pub struct BuildContext {
    /// Client of the hub (Kubernetes Event sinks); `None` refuses kubernetes sinks.
    pub hub: Option<kube::Client>,
    /// The controller namespace: Secrets are read there, and Events about objects
    /// without a namespace go there.
    pub namespace: String,
    /// This replica's name (reported as the Events' reporting instance).
    pub instance: String,
    /// Secrets of the controller namespace referenced by sinks: name → key → bytes.
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Metrics.
    pub metrics: AuditMetrics,
    /// Stats, kept across reloads.
    pub stats: StatsRegistry,
}

impl BuildContext {
    /// The value of `key` in Secret `name`.
    pub fn secret_value(
        &self,
        r: &breakglass_api::audit_config::SecretKeySelector,
        key: &str,
    ) -> Result<Option<&[u8]>, crate::AuditError> {
        if let Some(ns) = r.namespace.as_deref()
            && ns != self.namespace
        {
            return Err(crate::AuditError::Config(format!(
                "Secret {ns}/{}: only Secrets in the controller namespace {} can be used",
                r.name, self.namespace
            )));
        }
        let data = self.secrets.get(&r.name).ok_or_else(|| {
            crate::AuditError::Config(format!("Secret {}/{} not found", self.namespace, r.name))
        })?;
        Ok(data.get(key).map(Vec::as_slice))
    }
}

struct SinkHandle {
    name: String,
    filter: SinkFilter,
    tx: mpsc::Sender<Arc<AuditEvent>>,
    stats: Arc<SinkStats>,
    label: SinkLabel,
    dropped: Counter,
}

struct ConfigPipeline {
    name: String,
    filter: ConfigFilter,
    sampling: Sampling,
    drop_on_full: bool,
    main: mpsc::Sender<Arc<AuditEvent>>,
    reserved: mpsc::Sender<Arc<AuditEvent>>,
    stats: Arc<ConfigStats>,
    depth: Gauge,
    dropped: Counter,
}

/// The audit pipelines of every enabled AuditConfig. Dropping a manager closes its
/// queues; its workers and sinks finish what they hold and stop.
#[derive(Default)]
pub struct Manager {
    configs: Vec<ConfigPipeline>,
}

impl Manager {
    /// A manager that records nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// True when no AuditConfig is in effect.
    pub fn is_empty(&self) -> bool {
        self.configs.is_empty()
    }

    /// Names of the configs in effect.
    pub fn config_names(&self) -> Vec<String> {
        self.configs.iter().map(|c| c.name.clone()).collect()
    }

    /// Builds the pipelines of the enabled `configs` and starts their workers and sink
    /// tasks (needs a Tokio runtime). A config or sink that cannot be built is left out
    /// and its error recorded in its stats, for the status.
    pub fn build(configs: &[AuditConfig], ctx: &BuildContext) -> Self {
        let mut out = Vec::new();
        for config in configs.iter().filter(|c| c.spec.enabled()) {
            let name = config.name_any();
            let stats = ctx.stats.get(&name);
            match ConfigPipeline::start(&name, config, ctx, stats.clone()) {
                Ok(p) => out.push(p),
                Err(e) => {
                    tracing::warn!(config = %name, error = %e, "audit configuration not usable");
                    *lock(&stats.error) = Some(e);
                    lock(&stats.active_sinks).clear();
                }
            }
        }
        Self { configs: out }
    }

    /// Records `event` in every config that admits it. Never waits.
    pub fn emit(&self, event: AuditEvent) {
        if self.configs.is_empty() {
            return;
        }
        let event = Arc::new(event);
        for c in &self.configs {
            c.offer(&event);
        }
    }
}

impl ConfigPipeline {
    fn start(
        name: &str,
        config: &AuditConfig,
        ctx: &BuildContext,
        stats: Arc<ConfigStats>,
    ) -> Result<Self, String> {
        let spec = &config.spec;
        let filter = ConfigFilter::new(spec)?;
        let sampling = Sampling::new(spec);
        let queue = spec.queue.as_ref();
        let size = queue
            .and_then(|q| q.size)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_QUEUE_SIZE);
        let workers = queue
            .and_then(|q| q.workers)
            .and_then(|w| usize::try_from(w).ok())
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_WORKERS)
            .min(100);
        let drop_on_full = queue.and_then(|q| q.drop_on_full).unwrap_or(true);
        let mut sinks = Vec::new();
        let mut errors = Vec::new();
        let mut names = Vec::new();
        for s in &spec.sinks {
            let sink_stats = stats.sink(&s.name);
            let label = SinkLabel {
                config: name.to_owned(),
                sink: s.name.clone(),
                sink_type: s.type_.as_str().to_owned(),
            };
            match Sink::build(name, s, ctx) {
                Ok(sink) => {
                    sink_stats.ready.store(true, Ordering::Relaxed);
                    *lock(&sink_stats.last_error) = None;
                    *lock(&sink_stats.breaker) = breaker::State::Closed.as_str();
                    ctx.metrics.sink_breaker_state.get_or_create(&label).set(0);
                    let (tx, rx) = mpsc::channel(size);
                    tokio::spawn(run_sink(
                        sink,
                        rx,
                        sink_stats.clone(),
                        label.clone(),
                        ctx.metrics.clone(),
                    ));
                    names.push(s.name.clone());
                    sinks.push(SinkHandle {
                        name: s.name.clone(),
                        filter: SinkFilter::new(s),
                        tx,
                        stats: sink_stats,
                        dropped: ctx.metrics.sink_dropped.get_or_create(&label).clone(),
                        label,
                    });
                }
                Err(e) => {
                    tracing::warn!(config = %name, sink = %s.name, error = %e, "audit sink not usable");
                    sink_stats.ready.store(false, Ordering::Relaxed);
                    *lock(&sink_stats.last_error) = Some(e.to_string());
                    errors.push(format!("sink {}: {e}", s.name));
                }
            }
        }
        lock(&stats.sinks).retain(|k, _| spec.sinks.iter().any(|s| &s.name == k));
        *lock(&stats.active_sinks) = names;
        *lock(&stats.error) = None;
        if sinks.is_empty() {
            return Err(if errors.is_empty() {
                "no sinks".to_owned()
            } else {
                errors.join("; ")
            });
        }
        let sinks = Arc::new(sinks);
        let label = ConfigLabel {
            config: name.to_owned(),
        };
        let (main, main_rx) = mpsc::channel::<Arc<AuditEvent>>(size);
        let (reserved, reserved_rx) =
            mpsc::channel::<Arc<AuditEvent>>((size / RESERVED_DIVISOR).max(1000));
        let main_rx = Arc::new(tokio::sync::Mutex::new(main_rx));
        let depth = ctx.metrics.queue_depth.get_or_create(&label).clone();
        let worker = Worker {
            sinks,
            stats: stats.clone(),
            processed: ctx.metrics.events_processed.get_or_create(&label).clone(),
        };
        // Workers take what is queued in slices (one wake-up per slice, not per event).
        for _ in 0..workers {
            let rx = main_rx.clone();
            let w = worker.clone();
            let depth = depth.clone();
            tokio::spawn(async move {
                let mut slice = Vec::with_capacity(WORKER_SLICE);
                loop {
                    let n = rx.lock().await.recv_many(&mut slice, WORKER_SLICE).await;
                    if n == 0 {
                        break;
                    }
                    depth.dec_by(i64::try_from(n).unwrap_or(i64::MAX));
                    for event in slice.drain(..) {
                        w.dispatch(&event).await;
                    }
                }
            });
        }
        tokio::spawn(async move {
            let mut rx = reserved_rx;
            while let Some(event) = rx.recv().await {
                worker.dispatch(&event).await;
            }
        });
        Ok(Self {
            name: name.to_owned(),
            filter,
            sampling,
            drop_on_full,
            main,
            reserved,
            stats,
            depth,
            dropped: ctx.metrics.events_dropped.get_or_create(&label).clone(),
        })
    }

    fn offer(&self, event: &Arc<AuditEvent>) {
        if !self.filter.admits(event) || !self.sampling.keeps(event) {
            return;
        }
        match self.main.try_send(event.clone()) {
            Ok(()) => {
                self.depth.inc();
            }
            Err(TrySendError::Full(e) | TrySendError::Closed(e)) => {
                if (e.is_sensitive() || !self.drop_on_full)
                    && self.reserved.try_send(e.clone()).is_ok()
                {
                    return;
                }
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.dropped.inc();
                if e.is_sensitive() || !self.drop_on_full {
                    fallback(&e, &self.name, "queue full");
                }
            }
        }
    }
}

/// Writes an event that could not be delivered to the process log, so that it is on
/// record somewhere.
fn fallback(event: &AuditEvent, config: &str, why: &str) {
    let json = serde_json::to_string(event).unwrap_or_default();
    tracing::error!(
        target: "breakglass_audit",
        config,
        event_type = %event.type_,
        event = %json,
        "audit event not delivered ({why}); recorded here instead"
    );
}

/// Events a worker takes from the queue at once.
const WORKER_SLICE: usize = 64;

#[derive(Clone)]
struct Worker {
    sinks: Arc<Vec<SinkHandle>>,
    stats: Arc<ConfigStats>,
    processed: Counter,
}

impl Worker {
    async fn dispatch(&self, event: &Arc<AuditEvent>) {
        self.stats.processed.fetch_add(1, Ordering::Relaxed);
        *lock(&self.stats.last_event) = Some(event.timestamp);
        self.processed.inc();
        for s in self.sinks.iter() {
            if !s.filter.admits(event) {
                continue;
            }
            let queued = if event.is_sensitive() {
                s.tx.send_timeout(event.clone(), SENSITIVE_WAIT)
                    .await
                    .is_ok()
            } else {
                s.tx.try_send(event.clone()).is_ok()
            };
            if !queued {
                s.stats.dropped.fetch_add(1, Ordering::Relaxed);
                s.dropped.inc();
                if event.is_sensitive() {
                    fallback(
                        event,
                        &s.label.config,
                        &format!("buffer of sink {} full", s.name),
                    );
                }
            }
        }
    }
}

/// How long a worker waits for room in a sink's buffer for a sensitive event (ordinary
/// events are dropped at once when it is full).
const SENSITIVE_WAIT: Duration = Duration::from_secs(2);

/// Delivery attempts per batch before it counts as failed.
const ATTEMPTS: u32 = 3;
/// Backoff before the second attempt; doubled for each further one.
const BACKOFF: Duration = Duration::from_millis(200);

async fn run_sink(
    sink: Sink,
    mut rx: mpsc::Receiver<Arc<AuditEvent>>,
    stats: Arc<SinkStats>,
    label: SinkLabel,
    metrics: AuditMetrics,
) {
    let mut breaker = Breaker::default();
    let batch_size = sink.batch_size().max(1);
    let timeout = sink.batch_timeout();
    let mut batch = Vec::with_capacity(batch_size);
    loop {
        batch.clear();
        if rx.recv_many(&mut batch, batch_size).await == 0 {
            break;
        }
        if batch.len() < batch_size {
            let deadline = tokio::time::Instant::now() + timeout;
            while batch.len() < batch_size {
                let room = batch_size - batch.len();
                match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        let n = batch.len() as u64;
        let result = deliver(&sink, &batch, &mut breaker).await;
        let state = breaker.state(Instant::now());
        *lock(&stats.breaker) = state.as_str();
        metrics
            .sink_breaker_state
            .get_or_create(&label)
            .set(state.gauge());
        match result {
            Ok(()) => {
                stats.sent.fetch_add(n, Ordering::Relaxed);
                stats.ready.store(true, Ordering::Relaxed);
                *lock(&stats.last_success) = Some(jiff::Timestamp::now());
                metrics.sink_sent.get_or_create(&label).inc_by(n);
            }
            Err(e) => {
                stats.failed.fetch_add(n, Ordering::Relaxed);
                stats
                    .ready
                    .store(state == breaker::State::Closed, Ordering::Relaxed);
                *lock(&stats.last_error) = Some(e.to_string());
                metrics.sink_failed.get_or_create(&label).inc_by(n);
                tracing::warn!(config = %label.config, sink = %label.sink, events = n, error = %e, "audit sink delivery failed");
                for event in batch.iter().filter(|e| e.is_sensitive()) {
                    fallback(event, &label.config, &format!("sink {}: {e}", label.sink));
                }
            }
        }
    }
}

async fn deliver(
    sink: &Sink,
    batch: &[Arc<AuditEvent>],
    breaker: &mut Breaker,
) -> Result<(), crate::AuditError> {
    if !breaker.allow(Instant::now()) {
        return Err(crate::AuditError::BreakerOpen);
    }
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(BACKOFF * 2u32.pow(attempt - 1)).await;
        }
        match sink.deliver(batch).await {
            Ok(()) => {
                breaker.success();
                return Ok(());
            }
            Err(e) => {
                let permanent = matches!(e, crate::AuditError::Config(_));
                last = Some(e);
                if permanent {
                    break;
                }
            }
        }
    }
    if breaker.failure(Instant::now()) {
        tracing::warn!("audit sink circuit breaker opened");
    }
    Err(last.unwrap_or_else(|| crate::AuditError::Delivery("no attempt made".to_owned())))
}
