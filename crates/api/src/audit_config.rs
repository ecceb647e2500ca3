//! `AuditConfig`: where audit events go, which ones, and how they are queued.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::NamespaceFilter;
use crate::macros::string_enum;

/// Audit sinks, filtering, sampling and queueing; enabled AuditConfigs are combined.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "AuditConfig",
    plural = "auditconfigs",
    singular = "auditconfig",
    shortname = "ac",
    status = "AuditConfigStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "Where audit events go, which ones, and how they are queued.",
    printcolumn(name = "Enabled", type_ = "boolean", json_path = ".spec.enabled"),
    printcolumn(name = "Sinks", type_ = "string", json_path = ".status.activeSinks"),
    printcolumn(
        name = "Processed",
        type_ = "integer",
        json_path = ".status.eventsProcessed"
    ),
    printcolumn(
        name = "Dropped",
        type_ = "integer",
        json_path = ".status.eventsDropped"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AuditConfigSpec {
    /// The configuration is in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub enabled: Option<bool>,
    /// Destinations of audit events (at least one).
    #[schemars(length(min = 1))]
    pub sinks: Vec<AuditSink>,
    /// Event queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<AuditQueueConfig>,
    /// Which events are recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtering: Option<AuditFilterConfig>,
    /// Sampling of high-volume events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<AuditSamplingConfig>,
}

impl AuditConfigSpec {
    /// `enabled`, defaulted.
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

fn some_true() -> Option<bool> {
    Some(true)
}

fn some_false() -> Option<bool> {
    Some(false)
}

/// A destination of audit events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditSink {
    /// Unique name (DNS label).
    #[schemars(length(min = 1, max = 63), regex(pattern = crate::DNS_LABEL_PATTERN))]
    pub name: String,
    /// Kind of sink; the block of the same name configures it.
    #[serde(rename = "type")]
    pub type_: AuditSinkType,
    /// Kafka settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaSinkConfig>,
    /// Webhook settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSinkConfig>,
    /// Log settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogSinkConfig>,
    /// Kubernetes Event settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSinkConfig>,
    /// Event type globs sent to this sink (empty: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// Least severity sent to this sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<AuditSeverity>,
}

string_enum! {
    /// Kind of audit sink.
    pub enum AuditSinkType {
        /// Structured log lines.
        Log = "log",
        /// HTTP webhook.
        Webhook = "webhook",
        /// Kafka topic.
        Kafka = "kafka",
        /// Kubernetes Events.
        Kubernetes = "kubernetes",
    }
}

string_enum! {
    /// Severity of an audit event.
    pub enum AuditSeverity {
        /// Informational.
        Info = "info",
        /// Warning.
        Warning = "warning",
        /// Critical.
        Critical = "critical",
    }
}

/// A Secret by name (in the controller namespace).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the Secret (must be the controller namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Kafka sink settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSinkConfig {
    /// Broker addresses.
    #[schemars(length(min = 1))]
    pub brokers: Vec<String>,
    /// Topic.
    #[schemars(length(min = 1, max = 249))]
    pub topic: String,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<KafkaTlsConfig>,
    /// SASL authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<KafkaSaslConfig>,
    /// Events per batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_kafka_batch_size", range(min = 1, max = 10000))]
    pub batch_size: Option<i32>,
    /// Seconds before an incomplete batch is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_batch_timeout", range(min = 0, max = 60))]
    pub batch_timeout_seconds: Option<i32>,
    /// Acknowledgements required (-1 all, 0 none, 1 leader).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_required_acks", range(min = -1, max = 1))]
    pub required_acks: Option<i32>,
    /// Compression codec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_compression")]
    pub compression: Option<KafkaCompression>,
    /// Send without waiting for acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub r#async: Option<bool>,
}

fn default_kafka_batch_size() -> Option<i32> {
    Some(100)
}

fn default_batch_timeout() -> Option<i32> {
    Some(1)
}

fn default_required_acks() -> Option<i32> {
    Some(-1)
}

fn default_compression() -> Option<KafkaCompression> {
    Some(KafkaCompression::Snappy)
}

/// TLS to Kafka.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTlsConfig {
    /// Use TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub enabled: Option<bool>,
    /// Secret with the CA (key `ca.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeySelector>,
    /// Secret with the client certificate (keys `tls.crt`, `tls.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_secret_ref: Option<SecretKeySelector>,
    /// Skip TLS verification (discouraged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// SASL authentication to Kafka.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSaslConfig {
    /// Mechanism.
    pub mechanism: KafkaSaslMechanism,
    /// Secret with keys `username` and `password`.
    pub credentials_secret_ref: SecretKeySelector,
}

string_enum! {
    /// SASL mechanism.
    pub enum KafkaSaslMechanism {
        /// PLAIN.
        Plain = "PLAIN",
        /// SCRAM-SHA-256.
        ScramSha256 = "SCRAM-SHA-256",
        /// SCRAM-SHA-512.
        ScramSha512 = "SCRAM-SHA-512",
    }
}

string_enum! {
    /// Kafka compression codec.
    pub enum KafkaCompression {
        /// No compression.
        None = "none",
        /// gzip.
        Gzip = "gzip",
        /// snappy.
        Snappy = "snappy",
        /// lz4.
        Lz4 = "lz4",
        /// zstd.
        Zstd = "zstd",
    }
}

/// Webhook sink settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSinkConfig {
    /// URL events are posted to.
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
    /// HTTP headers added to requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Secret with key `token` (Bearer) or `username` and `password` (Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<SecretKeySelector>,
    /// Request timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_webhook_timeout", range(min = 1, max = 30))]
    pub timeout_seconds: Option<i32>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<WebhookTlsConfig>,
    /// Events per request; above 1 the body is `{events, count}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_webhook_batch_size", range(min = 1, max = 1000))]
    pub batch_size: Option<i32>,
    /// URL batches are posted to (url when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_url: Option<String>,
}

fn default_webhook_timeout() -> Option<i32> {
    Some(5)
}

fn default_webhook_batch_size() -> Option<i32> {
    Some(1)
}

/// TLS to a webhook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTlsConfig {
    /// Secret with the CA (key `ca.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeySelector>,
    /// Skip TLS verification (discouraged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// Log sink settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogSinkConfig {
    /// Log level of audit lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_log_level")]
    pub level: Option<AuditLogLevel>,
    /// Line format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_log_format")]
    pub format: Option<AuditLogFormat>,
}

fn default_log_level() -> Option<AuditLogLevel> {
    Some(AuditLogLevel::Info)
}

fn default_log_format() -> Option<AuditLogFormat> {
    Some(AuditLogFormat::Json)
}

string_enum! {
    /// Log level of audit lines.
    pub enum AuditLogLevel {
        /// debug.
        Debug = "debug",
        /// info.
        Info = "info",
        /// warn.
        Warn = "warn",
        /// error.
        Error = "error",
    }
}

string_enum! {
    /// Format of audit log lines.
    pub enum AuditLogFormat {
        /// JSON.
        Json = "json",
        /// Human-readable.
        Console = "console",
    }
}

/// Kubernetes Event sink settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesSinkConfig {
    /// Audit event types that become Kubernetes Events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
}

/// Audit event queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditQueueConfig {
    /// Events held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_queue_size", range(min = 1000, max = 10_000_000))]
    pub size: Option<i32>,
    /// Workers draining the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_workers", range(min = 1, max = 100))]
    pub workers: Option<i32>,
    /// Drop events when the queue is full instead of blocking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub drop_on_full: Option<bool>,
}

fn default_queue_size() -> Option<i32> {
    Some(100_000)
}

fn default_workers() -> Option<i32> {
    Some(5)
}

/// Which audit events are recorded; exclusions win.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilterConfig {
    /// Event types recorded (empty: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_event_types: Option<Vec<String>>,
    /// Event types not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_event_types: Option<Vec<String>>,
    /// User globs recorded (empty: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_users: Option<Vec<String>>,
    /// User globs not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_users: Option<Vec<String>>,
    /// Namespaces recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_namespaces: Option<NamespaceFilter>,
    /// Namespaces not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_namespaces: Option<NamespaceFilter>,
    /// Resources recorded (empty: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_resources: Option<Vec<String>>,
    /// Resources not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_resources: Option<Vec<String>>,
}

/// Sampling of high-volume audit events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditSamplingConfig {
    /// Fraction of high-volume events kept ("0.0" to "1.0").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        default = "default_sampling_rate",
        regex(pattern = r"^(0(\.[0-9]+)?|1(\.0+)?)$")
    )]
    pub rate: Option<String>,
    /// Event types that are sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_volume_event_types: Option<Vec<String>>,
    /// Event types that are never sampled away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always_capture_event_types: Option<Vec<String>>,
}

fn default_sampling_rate() -> Option<String> {
    Some("1.0".to_owned())
}

/// Observed state of an AuditConfig.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditConfigStatus {
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Names of the sinks in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_sinks: Option<Vec<String>>,
    /// Events processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_processed: Option<i64>,
    /// Events dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_dropped: Option<i64>,
    /// When the last event was processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_time: Option<Time>,
    /// State of each sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink_statuses: Option<Vec<AuditSinkStatus>>,
}

/// State of one audit sink.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditSinkStatus {
    /// Name of the sink.
    pub name: String,
    /// The sink accepts events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// Last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Last successful write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_time: Option<Time>,
    /// Events written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_written: Option<i64>,
}
