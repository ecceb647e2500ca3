//! Audit events of breakglass: the reference's envelope, the event types we emit, the
//! pipeline (filters, sampling, a bounded queue with workers and a reserved lane for
//! sensitive events) and the sinks (structured log, webhook, Kubernetes Events, Kafka).
//!
//! [`filter`] and [`breaker`] are pure (no I/O, no clock of their own); the pipeline
//! and sinks do the I/O. Nothing here ever blocks the caller of [`Manager::emit`].

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod breaker;
pub mod event;
pub mod filter;
pub mod metrics;
pub mod pipeline;
pub mod sinks;
pub mod types;

pub use event::{Actor, AuditEvent, Severity, Target};
pub use pipeline::{BuildContext, ConfigStats, Manager, SinkStats};

/// Why a sink could not be built or could not deliver.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A setting cannot be honoured (unsupported codec, missing Secret key, …).
    #[error("{0}")]
    Config(String),
    /// Delivery failed.
    #[error("{0}")]
    Delivery(String),
    /// The sink's circuit breaker is open.
    #[error("circuit breaker open")]
    BreakerOpen,
}

/// Installs ring as the process-wide TLS provider for tests that build HTTP clients
/// (the server does this at start).
#[doc(hidden)]
pub fn install_crypto_provider_for_tests() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
