//! Mail metrics per provider (`breakglass_mail_*`, `breakglass_mailprovider_*`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label set with only a provider.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabel {
    /// MailProvider name.
    pub provider: String,
}

/// Label set of a mail that found no provider.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderReasonLabel {
    /// The provider named (empty: the default was wanted).
    pub provider: String,
    /// `missing`, `disabled`, `unusable` or `no-default`.
    pub reason: String,
}

/// The label of `provider`.
pub fn provider(name: &str) -> ProviderLabel {
    ProviderLabel {
        provider: name.to_owned(),
    }
}

/// Every mail metric. Cloning is cheap: metrics are shared handles.
#[derive(Clone, Default)]
pub struct MailMetrics {
    /// Mails accepted into a provider's queue.
    pub queued: Family<ProviderLabel, Counter>,
    /// Mails delivered.
    pub sent: Family<ProviderLabel, Counter>,
    /// Delivery attempts that failed (each retry counts).
    pub send_failures: Family<ProviderLabel, Counter>,
    /// Mails given up after their last retry (or a permanent error, or a template error).
    pub failed: Family<ProviderLabel, Counter>,
    /// Mails dropped because the queue was full.
    pub dropped: Family<ProviderLabel, Counter>,
    /// Mails queued or being sent.
    pub queue_depth: Family<ProviderLabel, Gauge>,
    /// Mails not sent because no usable provider was found.
    pub unroutable: Family<ProviderReasonLabel, Counter>,
    /// 1 while the provider's last health check succeeded (leader only).
    pub healthy: Family<ProviderLabel, Gauge>,
    /// Override templates that failed to load.
    pub template_errors: Counter,
}

impl MailMetrics {
    /// Creates the metrics and registers them (the registry carries the `breakglass`
    /// prefix).
    pub fn new(r: &mut Registry) -> Self {
        let m = Self::default();
        r.register(
            "mail_queued",
            "Mails accepted into a provider's queue",
            m.queued.clone(),
        );
        r.register("mail_sent", "Mails delivered", m.sent.clone());
        r.register(
            "mail_send_failure",
            "Mail delivery attempts that failed",
            m.send_failures.clone(),
        );
        r.register(
            "mail_failed",
            "Mails given up after the last retry",
            m.failed.clone(),
        );
        r.register(
            "mail_queue_dropped",
            "Mails dropped because the provider's queue was full",
            m.dropped.clone(),
        );
        r.register(
            "mail_queue_depth",
            "Mails queued or being sent",
            m.queue_depth.clone(),
        );
        r.register(
            "mail_unroutable",
            "Mails not sent because the provider was missing, disabled or unusable",
            m.unroutable.clone(),
        );
        r.register(
            "mailprovider_status",
            "1 while the provider's last health check succeeded (leader only)",
            m.healthy.clone(),
        );
        r.register(
            "mail_template_errors",
            "Override templates that failed to load",
            m.template_errors.clone(),
        );
        m
    }
}
