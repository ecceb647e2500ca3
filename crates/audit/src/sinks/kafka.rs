//! The Kafka sink, with rskafka (pure Rust): JSON messages keyed by the session
//! (`namespace/name`, so one session's events stay in order on one partition) or else
//! the event id, batched by `batchSize` / `batchTimeoutSeconds`, compressed with gzip or
//! snappy, over TLS (CA and client certificate from Secrets) and SASL PLAIN or
//! SCRAM-SHA-256/512 (credentials from a Secret).
//!
//! Refused with a clear error (the sink is not ready): `lz4` and `zstd` compression
//! (their implementations are C libraries), `requiredAcks` other than -1 and
//! `async: true` (the client always waits for every in-sync replica), and
//! `tls.insecureSkipVerify` (give the CA instead).

use std::sync::Arc;
use std::time::Duration;

use breakglass_api::audit_config::{KafkaCompression, KafkaSaslMechanism, KafkaSinkConfig};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{ClientBuilder, Credentials, SaslConfig};
use rskafka::record::Record;
use tokio::sync::Mutex;

use crate::AuditError;
use crate::event::AuditEvent;
use crate::pipeline::BuildContext;

/// Longest wait for connecting or producing one batch.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The Kafka sink.
pub struct KafkaSink {
    brokers: Vec<String>,
    topic: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    sasl: Option<SaslConfig>,
    compression: Compression,
    batch_size: usize,
    batch_timeout: Duration,
    partitions: Mutex<Vec<PartitionClient>>,
}

fn refuse(m: impl Into<String>) -> AuditError {
    AuditError::Config(m.into())
}

impl KafkaSink {
    /// Builds the sink (connects on first delivery).
    pub fn new(cfg: &KafkaSinkConfig, ctx: &BuildContext) -> Result<Self, AuditError> {
        if cfg.brokers.is_empty() {
            return Err(refuse("kafka.brokers is empty"));
        }
        let compression = match cfg.compression.unwrap_or(KafkaCompression::Snappy) {
            KafkaCompression::None => Compression::NoCompression,
            KafkaCompression::Gzip => Compression::Gzip,
            KafkaCompression::Snappy => Compression::Snappy,
            other => {
                return Err(refuse(format!(
                    "kafka.compression {} is not supported; use none, gzip or snappy",
                    other.as_str()
                )));
            }
        };
        if cfg.required_acks.unwrap_or(-1) != -1 {
            return Err(refuse(
                "kafka.requiredAcks must be -1: the client always waits for every in-sync replica",
            ));
        }
        if cfg.r#async == Some(true) {
            return Err(refuse(
                "kafka.async is not supported: every batch is acknowledged before it counts as sent",
            ));
        }
        let tls = match &cfg.tls {
            Some(t) if t.enabled != Some(false) => Some(Arc::new(tls_config(t, ctx)?)),
            _ => None,
        };
        let sasl = match &cfg.sasl {
            None => None,
            Some(s) => {
                let get = |key: &str| -> Result<String, AuditError> {
                    let v = ctx
                        .secret_value(&s.credentials_secret_ref, key)?
                        .ok_or_else(|| {
                            refuse(format!(
                                "Secret {} has no key {key}",
                                s.credentials_secret_ref.name
                            ))
                        })?;
                    String::from_utf8(v.to_vec())
                        .map(|v| v.trim().to_owned())
                        .map_err(|_| refuse(format!("{key} is not UTF-8")))
                };
                let creds = Credentials::new(get("username")?, get("password")?);
                Some(match s.mechanism {
                    KafkaSaslMechanism::Plain => SaslConfig::Plain(creds),
                    KafkaSaslMechanism::ScramSha256 => SaslConfig::ScramSha256(creds),
                    KafkaSaslMechanism::ScramSha512 => SaslConfig::ScramSha512(creds),
                })
            }
        };
        Ok(Self {
            brokers: cfg.brokers.clone(),
            topic: cfg.topic.clone(),
            tls,
            sasl,
            compression,
            batch_size: usize::try_from(cfg.batch_size.unwrap_or(100).clamp(1, 10_000))
                .unwrap_or(100),
            batch_timeout: Duration::from_secs(
                cfg.batch_timeout_seconds
                    .unwrap_or(1)
                    .clamp(0, 60)
                    .unsigned_abs()
                    .into(),
            ),
            partitions: Mutex::new(Vec::new()),
        })
    }

    /// Events per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// How long an incomplete batch waits.
    pub fn batch_timeout(&self) -> Duration {
        self.batch_timeout
    }

    async fn connect(&self) -> Result<Vec<PartitionClient>, AuditError> {
        let mut builder = ClientBuilder::new(self.brokers.clone())
            .client_id("breakglass-audit")
            .backoff_config(rskafka::BackoffConfig {
                deadline: Some(IO_TIMEOUT),
                ..rskafka::BackoffConfig::default()
            });
        if let Some(tls) = &self.tls {
            builder = builder.tls_config(tls.clone());
        }
        if let Some(sasl) = &self.sasl {
            builder = builder.sasl_config(sasl.clone());
        }
        let client = builder
            .build()
            .await
            .map_err(|e| AuditError::Delivery(format!("connecting to Kafka: {e}")))?;
        let topics = client
            .list_topics()
            .await
            .map_err(|e| AuditError::Delivery(format!("listing topics: {e}")))?;
        let partitions: Vec<i32> = topics
            .into_iter()
            .find(|t| t.name == self.topic)
            .map(|t| t.partitions.into_iter().collect())
            .unwrap_or_else(|| vec![0]);
        let mut clients = Vec::new();
        for p in partitions {
            clients.push(
                client
                    .partition_client(self.topic.clone(), p, UnknownTopicHandling::Retry)
                    .await
                    .map_err(|e| AuditError::Delivery(format!("partition {p}: {e}")))?,
            );
        }
        Ok(clients)
    }

    /// Produces `batch`, grouped by partition.
    pub async fn deliver(&self, batch: &[Arc<AuditEvent>]) -> Result<(), AuditError> {
        let mut partitions = self.partitions.lock().await;
        if partitions.is_empty() {
            *partitions = tokio::time::timeout(IO_TIMEOUT, self.connect())
                .await
                .map_err(|_| AuditError::Delivery("connecting to Kafka timed out".into()))??;
        }
        let n = partitions.len().max(1);
        let mut groups: Vec<Vec<Record>> = (0..n).map(|_| Vec::new()).collect();
        for e in batch {
            let key = match e.session() {
                Some((ns, name)) => format!("{ns}/{name}"),
                None => e.id.clone(),
            };
            let value = serde_json::to_vec(e.as_ref())
                .map_err(|err| AuditError::Delivery(format!("encoding: {err}")))?;
            let idx = partition_of(&key, n);
            groups[idx].push(Record {
                key: Some(key.into_bytes()),
                value: Some(value),
                headers: [("type".to_owned(), e.type_.clone().into_bytes())].into(),
                timestamp: rskafka::chrono::DateTime::from_timestamp_millis(
                    e.timestamp.as_millisecond(),
                )
                .unwrap_or_default(),
            });
        }
        for (client, records) in partitions.iter().zip(groups) {
            if records.is_empty() {
                continue;
            }
            let produced =
                tokio::time::timeout(IO_TIMEOUT, client.produce(records, self.compression)).await;
            let failure = match produced {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(format!("producing to {}: {e}", self.topic)),
                Err(_) => Some(format!("producing to {} timed out", self.topic)),
            };
            if let Some(f) = failure {
                // Reconnect on the next delivery (leaders may have moved).
                partitions.clear();
                return Err(AuditError::Delivery(f));
            }
        }
        Ok(())
    }
}

/// FNV-1a of the key modulo the partition count.
fn partition_of(key: &str, n: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    usize::try_from(h % n as u64).unwrap_or(0)
}

fn tls_config(
    t: &breakglass_api::audit_config::KafkaTlsConfig,
    ctx: &BuildContext,
) -> Result<rustls::ClientConfig, AuditError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    if t.insecure_skip_verify == Some(true) {
        return Err(refuse(
            "kafka.tls.insecureSkipVerify is not supported; give the broker's CA in caSecretRef",
        ));
    }
    let builder = rustls::ClientConfig::builder();
    let builder = match &t.ca_secret_ref {
        Some(r) => {
            let pem = ctx
                .secret_value(r, "ca.crt")?
                .ok_or_else(|| refuse(format!("Secret {} has no key ca.crt", r.name)))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| refuse(format!("CA in Secret {}: {e}", r.name)))?;
                roots
                    .add(cert)
                    .map_err(|e| refuse(format!("CA in Secret {}: {e}", r.name)))?;
            }
            builder.with_root_certificates(roots)
        }
        None => {
            use rustls_platform_verifier::BuilderVerifierExt as _;
            builder
                .with_platform_verifier()
                .map_err(|e| refuse(format!("system trust store: {e}")))?
        }
    };
    match &t.client_cert_secret_ref {
        None => Ok(builder.with_no_client_auth()),
        Some(r) => {
            let crt = ctx
                .secret_value(r, "tls.crt")?
                .ok_or_else(|| refuse(format!("Secret {} has no key tls.crt", r.name)))?;
            let key = ctx
                .secret_value(r, "tls.key")?
                .ok_or_else(|| refuse(format!("Secret {} has no key tls.key", r.name)))?;
            let certs = CertificateDer::pem_slice_iter(crt)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| refuse(format!("tls.crt in Secret {}: {e}", r.name)))?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| refuse(format!("tls.key in Secret {}: {e}", r.name)))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| refuse(format!("client certificate: {e}")))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_in_range() {
        for n in 1..8 {
            let p = partition_of("breakglass/s-1", n);
            assert!(p < n);
            assert_eq!(p, partition_of("breakglass/s-1", n));
        }
    }
}
