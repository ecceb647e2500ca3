//! Prometheus metrics of the audit pipeline (`breakglass_audit_*` once registered under
//! the server's `breakglass` prefix). Labels are bounded by the AuditConfigs and their
//! sinks, which operators create.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label set of an AuditConfig.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConfigLabel {
    /// AuditConfig name.
    pub config: String,
}

/// Label set of a sink.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    /// AuditConfig name.
    pub config: String,
    /// Sink name.
    pub sink: String,
    /// Sink type.
    pub sink_type: String,
}

/// Every audit metric. Cloning is cheap: metrics are shared handles.
#[derive(Clone, Default)]
pub struct AuditMetrics {
    /// Events taken from the queue and handed to the sinks.
    pub events_processed: Family<ConfigLabel, Counter>,
    /// Events that found the queue (and, for sensitive events, the reserved lane) full.
    pub events_dropped: Family<ConfigLabel, Counter>,
    /// Events waiting in the queue.
    pub queue_depth: Family<ConfigLabel, Gauge>,
    /// Events a sink delivered.
    pub sink_sent: Family<SinkLabel, Counter>,
    /// Events a sink failed to deliver (after retries, or refused by an open breaker).
    pub sink_failed: Family<SinkLabel, Counter>,
    /// Events that found a sink's buffer full.
    pub sink_dropped: Family<SinkLabel, Counter>,
    /// Breaker state per sink: 0 closed, 1 open, 2 half-open.
    pub sink_breaker_state: Family<SinkLabel, Gauge>,
    /// Webhook decisions that found the server's intake full (before any AuditConfig).
    pub intake_dropped: Counter,
}

impl AuditMetrics {
    /// Registers every metric in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "audit_events_processed",
            "Audit events handed to the sinks",
            m.events_processed.clone(),
        );
        registry.register(
            "audit_events_dropped",
            "Audit events dropped because the queue was full",
            m.events_dropped.clone(),
        );
        registry.register(
            "audit_queue_depth",
            "Audit events waiting in the queue",
            m.queue_depth.clone(),
        );
        registry.register(
            "audit_sink_events_sent",
            "Audit events a sink delivered",
            m.sink_sent.clone(),
        );
        registry.register(
            "audit_sink_events_failed",
            "Audit events a sink failed to deliver",
            m.sink_failed.clone(),
        );
        registry.register(
            "audit_sink_events_dropped",
            "Audit events dropped because a sink's buffer was full",
            m.sink_dropped.clone(),
        );
        registry.register(
            "audit_sink_circuit_breaker_state",
            "Circuit breaker of a sink: 0 closed, 1 open, 2 half-open",
            m.sink_breaker_state.clone(),
        );
        registry.register(
            "audit_intake_dropped",
            "Webhook decisions not recorded because the audit intake was full",
            m.intake_dropped.clone(),
        );
        m
    }
}
