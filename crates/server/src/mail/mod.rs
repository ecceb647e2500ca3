//! Notification e-mail: follows the lifecycle event bus, picks the MailProvider, renders
//! the templates and hands each mail to that provider's bounded queue.
//!
//! Nothing here runs on an API request: handlers only publish events, and a full queue
//! drops the mail. Every replica sends the mails of the events it caused (API calls on
//! any replica, timers on the leader); only the leader writes MailProvider status.
//!
//! Provider choice for an event: the escalation's `spec.mailProvider`, else the
//! ClusterConfig's `spec.mailProvider`, else the default provider. A named provider that
//! is missing, disabled or unusable sends nothing (warning log and
//! `breakglass_mail_unroutable_total`); it never falls back to the default, so mail
//! meant for one SMTP server never leaves through another.

pub mod debug;
pub mod metrics;
pub mod providers;
pub mod sessions;
pub mod status;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use breakglass_mail::{MailContext, MailKind, OutgoingMail, Templates};

pub use metrics::MailMetrics;
pub use providers::{Provider, Usability};

use crate::config::Config;

/// Why an event's mail has no provider to go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unroutable {
    /// The named provider does not exist.
    Missing(String),
    /// The named provider is disabled.
    Disabled(String),
    /// The named provider cannot send (bad settings, Secret missing).
    Unusable(String, String),
    /// Nothing was named and there is no enabled default provider.
    NoDefault,
}

impl Unroutable {
    /// Metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Unroutable::Missing(_) => "missing",
            Unroutable::Disabled(_) => "disabled",
            Unroutable::Unusable(..) => "unusable",
            Unroutable::NoDefault => "no-default",
        }
    }

    /// The provider named (empty for no default).
    pub fn provider(&self) -> &str {
        match self {
            Unroutable::Missing(n) | Unroutable::Disabled(n) | Unroutable::Unusable(n, _) => n,
            Unroutable::NoDefault => "",
        }
    }
}

/// Picks the provider among `providers` (name → provider): the first of `named` that is
/// set, else the default one. Pure apart from reading the map.
pub fn route(
    providers: &BTreeMap<String, Arc<Provider>>,
    named: &[Option<&str>],
) -> Result<Arc<Provider>, Unroutable> {
    let wanted = named
        .iter()
        .flatten()
        .map(|n| n.trim())
        .find(|n| !n.is_empty());
    let provider = match wanted {
        Some(name) => providers
            .get(name)
            .cloned()
            .ok_or_else(|| Unroutable::Missing(name.to_owned()))?,
        None => {
            // The admission webhook allows one default; should two exist, the first by
            // name wins, deterministically on every replica.
            let mut defaults = providers.values().filter(|p| p.is_default && !p.disabled);
            defaults.next().cloned().ok_or(Unroutable::NoDefault)?
        }
    };
    if provider.disabled {
        return Err(Unroutable::Disabled(provider.name.clone()));
    }
    if let Usability::Unusable(why) = &provider.usability {
        return Err(Unroutable::Unusable(provider.name.clone(), why.clone()));
    }
    Ok(provider)
}

/// The server's mail sender.
pub struct Mailer {
    disabled: bool,
    brand: String,
    base_url: String,
    group_addresses: BTreeMap<String, String>,
    templates: Templates,
    providers: RwLock<BTreeMap<String, Arc<Provider>>>,
    metrics: MailMetrics,
}

/// One mail to render: the recipient and the values for the templates.
pub struct Addressed {
    /// Recipient address.
    pub to: String,
    /// Template values (`recipient` is filled in from `to`).
    pub context: MailContext,
}

impl Mailer {
    /// A mailer for the configuration. Overridden templates that do not load are
    /// reported and the built-in ones used.
    pub fn new(config: &Config, metrics: MailMetrics) -> Arc<Self> {
        let templates = match config.mail.templates_dir.as_deref() {
            Some(dir) if !dir.is_empty() => match Templates::load(Path::new(dir)) {
                Ok(t) => {
                    tracing::info!(dir, overridden = ?t.overridden(), "mail templates loaded");
                    t
                }
                Err(e) => {
                    tracing::error!(dir, error = %e, "mail templates not loaded; using the built-in templates");
                    metrics.template_errors.inc();
                    Templates::default()
                }
            },
            _ => Templates::default(),
        };
        if config.mail.disabled {
            tracing::info!("e-mail notifications are disabled");
        }
        Arc::new(Self {
            disabled: config.mail.disabled,
            brand: config
                .frontend
                .branding_name
                .clone()
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| "Breakglass".to_owned()),
            base_url: config
                .frontend
                .base_url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            group_addresses: config.mail.group_addresses.clone(),
            templates,
            providers: RwLock::new(BTreeMap::new()),
            metrics,
        })
    }

    /// Whether mail is switched off server-wide.
    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// The metrics.
    pub fn metrics(&self) -> &MailMetrics {
        &self.metrics
    }

    /// `mail.groupAddresses`.
    pub fn group_addresses(&self) -> &BTreeMap<String, String> {
        &self.group_addresses
    }

    /// A template context with brand and base URL set.
    pub fn context(&self) -> MailContext {
        MailContext {
            brand: self.brand.clone(),
            base_url: self.base_url.clone(),
            ..MailContext::default()
        }
    }

    /// `<baseURL><path>`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The current providers by name.
    pub fn providers(&self) -> BTreeMap<String, Arc<Provider>> {
        self.providers.read().map(|p| p.clone()).unwrap_or_default()
    }

    /// Replaces the providers (the watch calls this).
    pub fn set_providers(&self, providers: BTreeMap<String, Arc<Provider>>) {
        if let Ok(mut p) = self.providers.write() {
            *p = providers;
        }
    }

    /// Renders and queues one mail per recipient through the provider chosen from
    /// `named` (first set name wins, else the default). Never waits for SMTP.
    pub fn send(&self, named: &[Option<&str>], kind: MailKind, about: &str, mails: Vec<Addressed>) {
        if self.disabled || mails.is_empty() {
            return;
        }
        let provider = match route(&self.providers(), named) {
            Ok(p) => p,
            Err(why) => {
                self.metrics
                    .unroutable
                    .get_or_create(&metrics::ProviderReasonLabel {
                        provider: why.provider().to_owned(),
                        reason: why.reason().to_owned(),
                    })
                    .inc_by(mails.len() as u64);
                tracing::warn!(
                    kind = kind.name(),
                    about,
                    provider = why.provider(),
                    reason = why.reason(),
                    detail = ?why,
                    recipients = mails.len(),
                    "no usable mail provider; mail not sent"
                );
                return;
            }
        };
        for Addressed { to, mut context } in mails {
            context.recipient = to.clone();
            let rendered = match self.templates.render(kind, &context) {
                Ok(r) => r,
                Err(e) => {
                    self.metrics
                        .failed
                        .get_or_create(&metrics::provider(&provider.name))
                        .inc();
                    tracing::error!(kind = kind.name(), about, error = %e, "mail template failed");
                    continue;
                }
            };
            provider.enqueue(OutgoingMail {
                kind,
                about: about.to_owned(),
                to,
                subject: rendered.subject,
                html: rendered.html,
                text: rendered.text,
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn providers(list: &[(&str, bool, bool, bool)]) -> BTreeMap<String, Arc<Provider>> {
        list.iter()
            .map(|(name, default, disabled, usable)| {
                (
                    (*name).to_owned(),
                    Arc::new(Provider::inert(
                        name,
                        *default,
                        *disabled,
                        if *usable {
                            Usability::Usable
                        } else {
                            Usability::Unusable("password Secret missing".into())
                        },
                    )),
                )
            })
            .collect()
    }

    #[test]
    fn the_first_named_provider_wins_else_the_default() {
        let p = providers(&[
            ("a-default", true, false, true),
            ("esc", false, false, true),
            ("cc", false, false, true),
        ]);
        assert_eq!(route(&p, &[Some("esc"), Some("cc")]).unwrap().name, "esc");
        assert_eq!(route(&p, &[None, Some("cc")]).unwrap().name, "cc");
        assert_eq!(route(&p, &[Some(" "), None]).unwrap().name, "a-default");
        assert_eq!(route(&p, &[]).unwrap().name, "a-default");
    }

    #[test]
    fn a_named_provider_that_cannot_send_is_not_replaced_by_the_default() {
        let p = providers(&[
            ("default", true, false, true),
            ("off", false, true, true),
            ("broken", false, false, false),
        ]);
        assert_eq!(
            route(&p, &[Some("gone")]).unwrap_err(),
            Unroutable::Missing("gone".into())
        );
        assert_eq!(
            route(&p, &[Some("off")]).unwrap_err(),
            Unroutable::Disabled("off".into())
        );
        assert_eq!(
            route(&p, &[Some("broken")]).unwrap_err().reason(),
            "unusable"
        );
    }

    #[test]
    fn a_disabled_default_is_no_default() {
        let p = providers(&[("d", true, true, true), ("other", false, false, true)]);
        assert_eq!(route(&p, &[None]).unwrap_err(), Unroutable::NoDefault);
        let p = providers(&[("b", true, false, true), ("a", true, false, true)]);
        assert_eq!(route(&p, &[None]).unwrap().name, "a");
    }
}
