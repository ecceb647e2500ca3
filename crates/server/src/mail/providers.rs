//! MailProvider objects turned into senders, kept current on every replica: a change
//! of a MailProvider or of a Secret one references rebuilds that provider's transport
//! and queue (the old queue still delivers what it holds).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breakglass_api::mail_provider::MailProvider;
use breakglass_mail::queue::QueueFull;
use breakglass_mail::{
    Observer, OutgoingMail, Queue, RetryPolicy, Security, SendError, SmtpSettings, SmtpTransport,
};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::Notify;

use super::Mailer;
use super::metrics::{self, MailMetrics};
use crate::store::Mirror;

/// Bound of every SMTP network step and of reading the password Secret.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often providers are rebuilt even without a change event (picks up Secrets whose
/// change was missed).
pub const RESYNC: Duration = Duration::from_secs(60);

/// Whether a provider can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usability {
    /// Settings are complete.
    Usable,
    /// Why not.
    Unusable(String),
}

/// What this replica saw of its own sends through a provider.
#[derive(Debug, Default)]
pub struct SendStats {
    inner: Mutex<(Option<jiff::Timestamp>, Option<String>)>,
}

impl SendStats {
    /// Time of the last attempt and the error of the last failed one (cleared by a
    /// success).
    pub fn get(&self) -> (Option<jiff::Timestamp>, Option<String>) {
        self.inner.lock().map(|g| g.clone()).unwrap_or_default()
    }

    fn record(&self, error: Option<String>) {
        if let Ok(mut g) = self.inner.lock() {
            *g = (Some(jiff::Timestamp::now()), error);
        }
    }
}

/// What a MailProvider asks for; a provider is rebuilt when this changes.
#[derive(Debug, Clone, PartialEq)]
struct Desired {
    generation: Option<i64>,
    is_default: bool,
    disabled: bool,
    settings: Result<(SmtpSettings, RetryPolicy), String>,
    password: Option<Result<(), String>>,
}

/// One MailProvider, ready to send (or not).
pub struct Provider {
    /// Its name.
    pub name: String,
    /// `metadata.generation` it was built from.
    pub generation: Option<i64>,
    /// `spec.default`.
    pub is_default: bool,
    /// `spec.disabled`.
    pub disabled: bool,
    /// Whether its settings are complete.
    pub usability: Usability,
    /// Reading the password Secret: `None` without `passwordRef`.
    pub password: Option<Result<(), String>>,
    /// This replica's last send attempt and error.
    pub stats: Arc<SendStats>,
    desired: Option<Desired>,
    transport: Option<Arc<SmtpTransport>>,
    queue: Option<Queue>,
    metrics: MailMetrics,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("is_default", &self.is_default)
            .field("disabled", &self.disabled)
            .field("usability", &self.usability)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// A provider without transport (tests of the routing).
    pub fn inert(name: &str, is_default: bool, disabled: bool, usability: Usability) -> Self {
        Self {
            name: name.to_owned(),
            generation: None,
            is_default,
            disabled,
            usability,
            password: None,
            stats: Arc::default(),
            desired: None,
            transport: None,
            queue: None,
            metrics: MailMetrics::default(),
        }
    }

    fn build(name: &str, desired: Desired, stats: Arc<SendStats>, metrics: &MailMetrics) -> Self {
        let mut usability = match &desired.settings {
            Ok(_) => Usability::Usable,
            Err(e) => Usability::Unusable(e.clone()),
        };
        let mut transport = None;
        let mut queue = None;
        if let Ok((settings, policy)) = &desired.settings
            && !desired.disabled
        {
            match SmtpTransport::new(settings) {
                Ok(t) => {
                    let t = Arc::new(t);
                    let observer = Arc::new(ProviderObserver {
                        name: name.to_owned(),
                        metrics: metrics.clone(),
                        stats: stats.clone(),
                    });
                    queue = Some(Queue::start(t.clone(), *policy, observer));
                    transport = Some(t);
                }
                Err(e) => usability = Usability::Unusable(e.to_string()),
            }
        }
        Self {
            name: name.to_owned(),
            generation: desired.generation,
            is_default: desired.is_default,
            disabled: desired.disabled,
            usability,
            password: desired.password.clone(),
            stats,
            desired: Some(desired),
            transport,
            queue,
            metrics: metrics.clone(),
        }
    }

    /// Queues a mail; never waits.
    pub fn enqueue(&self, mail: OutgoingMail) {
        let label = metrics::provider(&self.name);
        let Some(queue) = &self.queue else {
            self.metrics.failed.get_or_create(&label).inc();
            tracing::warn!(provider = %self.name, to = %mail.to, "mail provider has no transport; mail not sent");
            return;
        };
        // Count before the worker can finish it, so the gauge never goes below zero.
        self.metrics.queue_depth.get_or_create(&label).inc();
        match queue.enqueue(mail) {
            Ok(()) => {
                self.metrics.queued.get_or_create(&label).inc();
            }
            Err(QueueFull) => {
                self.metrics.queue_depth.get_or_create(&label).dec();
            }
        }
    }

    /// Mails queued or being sent.
    pub fn depth(&self) -> usize {
        self.queue.as_ref().map_or(0, Queue::depth)
    }

    /// Connects to the server (`None` when there is no transport to check).
    pub async fn check(&self) -> Option<Result<(), String>> {
        let t = self.transport.as_ref()?;
        Some(
            match tokio::time::timeout(SMTP_TIMEOUT * 2, t.check()).await {
                Ok(r) => r.map_err(|e| e.message),
                Err(_) => Err(format!("no answer within {:?}", SMTP_TIMEOUT * 2)),
            },
        )
    }
}

struct ProviderObserver {
    name: String,
    metrics: MailMetrics,
    stats: Arc<SendStats>,
}

impl Observer for ProviderObserver {
    fn attempted(&self, mail: &OutgoingMail, attempt: u32, result: Result<(), &SendError>) {
        match result {
            Ok(()) => self.stats.record(None),
            Err(e) => {
                self.stats.record(Some(e.message.clone()));
                self.metrics
                    .send_failures
                    .get_or_create(&metrics::provider(&self.name))
                    .inc();
                tracing::warn!(provider = %self.name, kind = mail.kind.name(), about = %mail.about, to = %mail.to, attempt, error = %e, "mail delivery attempt failed");
            }
        }
    }

    fn delivered(&self, mail: &OutgoingMail) {
        let label = metrics::provider(&self.name);
        self.metrics.sent.get_or_create(&label).inc();
        self.metrics.queue_depth.get_or_create(&label).dec();
        tracing::info!(provider = %self.name, kind = mail.kind.name(), about = %mail.about, to = %mail.to, "mail sent");
    }

    fn gave_up(&self, mail: &OutgoingMail, error: &SendError) {
        let label = metrics::provider(&self.name);
        self.metrics.failed.get_or_create(&label).inc();
        self.metrics.queue_depth.get_or_create(&label).dec();
        tracing::error!(provider = %self.name, kind = mail.kind.name(), about = %mail.about, to = %mail.to, error = %error, "mail given up");
    }

    fn dropped(&self, mail: &OutgoingMail) {
        self.metrics
            .dropped
            .get_or_create(&metrics::provider(&self.name))
            .inc();
        tracing::warn!(provider = %self.name, kind = mail.kind.name(), about = %mail.about, to = %mail.to, "mail queue full; mail dropped");
    }
}

/// The retry policy of a MailProvider, CRD defaults and bounds applied.
pub fn policy_of(mp: &MailProvider) -> RetryPolicy {
    let r = mp.spec.retry.clone().unwrap_or_default();
    let defaults = RetryPolicy::default();
    RetryPolicy {
        retries: r
            .count
            .map_or(defaults.retries, |c| c.clamp(0, 10).unsigned_abs()),
        initial_backoff: r.initial_backoff_ms.map_or(defaults.initial_backoff, |ms| {
            Duration::from_millis(u64::from(ms.clamp(10, 60_000).unsigned_abs()))
        }),
        max_backoff: defaults.max_backoff,
        queue_size: r.queue_size.map_or(defaults.queue_size, |q| {
            usize::try_from(q.clamp(10, 10_000)).unwrap_or(defaults.queue_size)
        }),
    }
}

async fn read_password(hub: &Client, mp: &MailProvider) -> Option<Result<String, String>> {
    let r = mp.spec.smtp.password_ref.as_ref()?;
    let api: Api<Secret> = Api::namespaced(hub.clone(), &r.namespace);
    let key = r.key_or_default();
    let what = format!("Secret {}/{} key {key}", r.namespace, r.name);
    Some(
        match tokio::time::timeout(SMTP_TIMEOUT, api.get_opt(&r.name)).await {
            Err(_) => Err(format!("reading {what}: no answer from the hub")),
            Ok(Err(e)) => Err(format!("reading {what}: {e}")),
            Ok(Ok(None)) => Err(format!("{what}: not found")),
            Ok(Ok(Some(s))) => match s.data.as_ref().and_then(|d| d.get(key)) {
                None => Err(format!("{what}: no such key")),
                Some(bytes) => String::from_utf8(bytes.0.clone())
                    .map(|p| p.trim_end_matches(['\r', '\n']).to_owned())
                    .map_err(|_| format!("{what}: not UTF-8")),
            },
        },
    )
}

async fn desired_of(hub: &Client, mp: &MailProvider) -> Desired {
    let spec = &mp.spec;
    let password = read_password(hub, mp).await;
    let errors: Vec<String> = breakglass_core::validation::validate_mail_provider(mp)
        .iter()
        .map(ToString::to_string)
        .collect();
    let settings = if !errors.is_empty() {
        Err(errors.join("; "))
    } else {
        match (&password, spec.smtp.username.as_deref()) {
            (Some(Err(e)), _) => Err(e.clone()),
            (Some(Ok(p)), Some(user)) => Ok(Some((user.to_owned(), p.clone()))),
            (None, Some(_)) => Err("smtp.username is set without smtp.passwordRef".to_owned()),
            (Some(Ok(_)), None) => Err("smtp.passwordRef is set without smtp.username".to_owned()),
            (None, None) => Ok(None),
        }
        .and_then(|credentials| {
            let port = u16::try_from(spec.smtp.port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("smtp.port {} is not a port", spec.smtp.port))?;
            Ok((
                SmtpSettings {
                    host: spec.smtp.host.clone(),
                    port,
                    security: Security::for_port(port, spec.smtp.disable_tls == Some(true)),
                    credentials,
                    ca_pem: spec.smtp.certificate_authority.clone(),
                    insecure_skip_verify: spec.smtp.insecure_skip_verify == Some(true),
                    sender_address: spec.sender.address.clone(),
                    sender_name: spec.sender.name.clone(),
                    timeout: SMTP_TIMEOUT,
                },
                policy_of(mp),
            ))
        })
    };
    Desired {
        generation: mp.metadata.generation,
        is_default: spec.default == Some(true),
        disabled: spec.disabled == Some(true),
        settings,
        password: password.map(|r| r.map(|_| ())),
    }
}

/// Rebuilds the providers whose object or Secret changed; keeps the others.
async fn reconcile(mailer: &Mailer, hub: &Client, mirror: &Mirror<MailProvider>) {
    let current = mailer.providers();
    let mut next = BTreeMap::new();
    for mp in mirror.all() {
        let Some(name) = mp.metadata.name.clone() else {
            continue;
        };
        let desired = desired_of(hub, &mp).await;
        if let Some(p) = current.get(&name)
            && p.desired.as_ref() == Some(&desired)
        {
            next.insert(name, p.clone());
            continue;
        }
        let stats = current
            .get(&name)
            .map(|p| p.stats.clone())
            .unwrap_or_default();
        let p = Provider::build(&name, desired, stats, mailer.metrics());
        tracing::info!(
            provider = %name,
            default = p.is_default,
            disabled = p.disabled,
            usable = ?p.usability,
            "mail provider loaded"
        );
        next.insert(name, Arc::new(p));
    }
    for gone in current.keys().filter(|k| !next.contains_key(*k)) {
        tracing::info!(provider = %gone, "mail provider removed");
    }
    mailer.set_providers(next);
}

/// Secrets the providers reference, as `namespace/name`.
fn referenced_secrets(mirror: &Mirror<MailProvider>) -> BTreeSet<String> {
    mirror
        .all()
        .iter()
        .filter_map(|mp| mp.spec.smtp.password_ref.as_ref())
        .map(|r| format!("{}/{}", r.namespace, r.name))
        .collect()
}

/// Starts the MailProvider watch and keeps `mailer`'s providers current; returns the
/// mirror (the status writer reads it).
pub fn watch(mailer: Arc<Mailer>, hub: Client, changed: Arc<Notify>) -> Mirror<MailProvider> {
    let mirror: Mirror<MailProvider> = Mirror::start(hub.clone());
    let secret_changed = Arc::new(Notify::new());
    {
        let mirror = mirror.clone();
        let hub = hub.clone();
        let wake = secret_changed.clone();
        tokio::spawn(async move {
            let api: Api<PartialObjectMeta<Secret>> = Api::all(hub);
            let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                let meta = match event {
                    Ok(Event::Apply(m) | Event::Delete(m)) => m,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::debug!(error = %e, "secret watch (mail) failed, retrying");
                        continue;
                    }
                };
                let key = format!(
                    "{}/{}",
                    meta.metadata.namespace.unwrap_or_default(),
                    meta.metadata.name.unwrap_or_default()
                );
                if referenced_secrets(&mirror).contains(&key) {
                    wake.notify_one();
                }
            }
        });
    }
    let m = mirror.clone();
    tokio::spawn(async move {
        let mut changes = m.subscribe();
        m.wait_synced().await;
        loop {
            reconcile(&mailer, &hub, &m).await;
            changed.notify_one();
            tokio::select! {
                r = changes.recv() => {
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                }
                () = secret_changed.notified() => {}
                () = tokio::time::sleep(RESYNC) => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            while changes.try_recv().is_ok() {}
        }
    });
    mirror
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use breakglass_api::mail_provider::{MailProviderSpec, RetryConfig};

    use super::*;

    fn mp(retry: Option<RetryConfig>) -> MailProvider {
        MailProvider::new(
            "m",
            MailProviderSpec {
                retry,
                ..Default::default()
            },
        )
    }

    #[test]
    fn retry_policy_takes_the_crd_defaults_and_bounds() {
        let p = policy_of(&mp(None));
        assert_eq!(
            (p.retries, p.initial_backoff, p.queue_size),
            (3, Duration::from_millis(100), 1000)
        );
        let p = policy_of(&mp(Some(RetryConfig {
            count: Some(50),
            initial_backoff_ms: Some(1),
            queue_size: Some(1_000_000),
        })));
        assert_eq!(
            (p.retries, p.initial_backoff, p.queue_size),
            (10, Duration::from_millis(10), 10_000)
        );
        let p = policy_of(&mp(Some(RetryConfig {
            count: Some(0),
            initial_backoff_ms: Some(500),
            queue_size: Some(20),
        })));
        assert_eq!(
            (p.retries, p.initial_backoff, p.queue_size),
            (0, Duration::from_millis(500), 20)
        );
    }
}
