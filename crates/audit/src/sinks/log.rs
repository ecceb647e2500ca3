//! The structured log sink: one line per event under the tracing target
//! `breakglass_audit`, as JSON (the envelope in the field `event`) or for people.

use breakglass_api::audit_config::{AuditLogFormat, AuditLogLevel, LogSinkConfig};

use crate::event::AuditEvent;

/// The log sink.
pub struct LogSink {
    config: String,
    sink: String,
    level: AuditLogLevel,
    format: AuditLogFormat,
}

macro_rules! at_level {
    ($level:expr, $($rest:tt)+) => {
        match $level {
            AuditLogLevel::Debug => tracing::debug!(target: "breakglass_audit", $($rest)+),
            AuditLogLevel::Info => tracing::info!(target: "breakglass_audit", $($rest)+),
            AuditLogLevel::Warn => tracing::warn!(target: "breakglass_audit", $($rest)+),
            AuditLogLevel::Error => tracing::error!(target: "breakglass_audit", $($rest)+),
        }
    };
}

impl LogSink {
    /// A log sink.
    pub fn new(config: &str, sink: &str, settings: LogSinkConfig) -> Self {
        Self {
            config: config.to_owned(),
            sink: sink.to_owned(),
            level: settings.level.unwrap_or(AuditLogLevel::Info),
            format: settings.format.unwrap_or(AuditLogFormat::Json),
        }
    }

    /// Writes one line.
    pub fn write(&self, e: &AuditEvent) {
        match self.format {
            AuditLogFormat::Json => {
                let json = serde_json::to_string(e).unwrap_or_default();
                at_level!(self.level, config = %self.config, sink = %self.sink, event = %json, "audit {}", e.type_);
            }
            AuditLogFormat::Console => {
                at_level!(
                    self.level,
                    config = %self.config,
                    sink = %self.sink,
                    id = %e.id,
                    severity = e.severity.as_str(),
                    user = %e.actor.user,
                    cluster = %e.target.cluster,
                    kind = %e.target.kind,
                    namespace = %e.target.namespace,
                    name = %e.target.name,
                    "audit {}",
                    e.type_
                );
            }
        }
    }
}
