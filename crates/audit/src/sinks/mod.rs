//! The sinks. Each delivers a batch (one event unless the sink batches) or fails; the
//! pipeline retries, counts and trips the breaker.

pub mod kafka;
pub mod kubernetes;
pub mod log;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use breakglass_api::audit_config::{AuditSink, AuditSinkType};

use crate::AuditError;
use crate::event::AuditEvent;
use crate::pipeline::BuildContext;

/// A built sink.
pub enum Sink {
    /// Structured log lines.
    Log(log::LogSink),
    /// HTTP webhook.
    Webhook(webhook::WebhookSink),
    /// Kubernetes Events on the hub.
    Kubernetes(kubernetes::KubernetesSink),
    /// Kafka topic.
    Kafka(kafka::KafkaSink),
}

fn missing(sink: &AuditSink, block: &str) -> AuditError {
    AuditError::Config(format!(
        "sink {} of type {} needs its {block} settings",
        sink.name,
        sink.type_.as_str()
    ))
}

impl Sink {
    /// Builds `sink` of AuditConfig `config`.
    pub fn build(config: &str, sink: &AuditSink, ctx: &BuildContext) -> Result<Self, AuditError> {
        Ok(match sink.type_ {
            AuditSinkType::Log => Self::Log(log::LogSink::new(
                config,
                &sink.name,
                sink.log.clone().unwrap_or_default(),
            )),
            AuditSinkType::Webhook => Self::Webhook(webhook::WebhookSink::new(
                sink.webhook
                    .as_ref()
                    .ok_or_else(|| missing(sink, "webhook"))?,
                ctx,
            )?),
            AuditSinkType::Kubernetes => {
                Self::Kubernetes(kubernetes::KubernetesSink::new(config, ctx)?)
            }
            AuditSinkType::Kafka => Self::Kafka(kafka::KafkaSink::new(
                sink.kafka.as_ref().ok_or_else(|| missing(sink, "kafka"))?,
                ctx,
            )?),
        })
    }

    /// Events per delivery.
    pub fn batch_size(&self) -> usize {
        match self {
            Self::Webhook(w) => w.batch_size(),
            Self::Kafka(k) => k.batch_size(),
            Self::Log(_) | Self::Kubernetes(_) => 1,
        }
    }

    /// How long an incomplete batch waits for more events.
    pub fn batch_timeout(&self) -> Duration {
        match self {
            Self::Kafka(k) => k.batch_timeout(),
            _ => Duration::from_secs(1),
        }
    }

    /// Delivers `batch`.
    pub async fn deliver(&self, batch: &[Arc<AuditEvent>]) -> Result<(), AuditError> {
        match self {
            Self::Log(l) => {
                for e in batch {
                    l.write(e);
                }
                Ok(())
            }
            Self::Webhook(w) => w.deliver(batch).await,
            Self::Kubernetes(k) => k.deliver(batch).await,
            Self::Kafka(k) => k.deliver(batch).await,
        }
    }
}
