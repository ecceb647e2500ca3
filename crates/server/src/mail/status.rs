//! MailProvider status (leader only): `Ready`, `PasswordLoaded`, `Healthy` (an SMTP
//! connect and NOOP every [`HEALTH_INTERVAL`]), `lastHealthCheck`, and the leader's own
//! `lastSendAttempt` / `lastSendError`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use breakglass_api::mail_provider::{MailProvider, MailProviderStatus};
use breakglass_core::condition::{self, FALSE, TRUE};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::PatchParams;
use kube::{Api, Client};
use tokio::sync::Notify;

use super::metrics;
use super::{Mailer, Provider, Usability};
use crate::store::Mirror;

/// How often the leader checks that each provider's SMTP server answers.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(60);
/// How often status is refreshed without a change (send results).
pub const STATUS_INTERVAL: Duration = Duration::from_secs(15);

/// The last health check of a provider.
#[derive(Debug, Clone)]
struct Health {
    at: Instant,
    time: jiff::Timestamp,
    result: Result<(), String>,
    /// The provider build it checked (a rebuild is checked at once).
    of: usize,
}

/// The status the leader writes for a provider; `current` keeps transition times.
pub fn desired_status(
    mp: &MailProvider,
    provider: Option<&Provider>,
    health: Option<(jiff::Timestamp, &Result<(), String>)>,
    now: jiff::Timestamp,
) -> MailProviderStatus {
    let current = mp.status.clone().unwrap_or_default();
    let mut conditions = current.conditions.clone().unwrap_or_default();
    let generation = mp.metadata.generation;
    let mut set = |type_: &str, status: &str, reason: &str, message: String| {
        let mut c = condition::new(type_, status, reason, message, now);
        c.observed_generation = generation;
        condition::set(&mut conditions, c);
    };
    match provider {
        None => set(
            "Ready",
            FALSE,
            "NotLoaded",
            "the server has not loaded this provider yet".to_owned(),
        ),
        Some(p) if p.disabled => set(
            "Ready",
            FALSE,
            "Disabled",
            "spec.disabled is true".to_owned(),
        ),
        Some(p) => match &p.usability {
            Usability::Usable => set("Ready", TRUE, "Configured", "ready to send".to_owned()),
            Usability::Unusable(why) => set("Ready", FALSE, "InvalidConfiguration", why.clone()),
        },
    }
    match provider.and_then(|p| p.password.as_ref()) {
        Some(Ok(())) => set(
            "PasswordLoaded",
            TRUE,
            "SecretRead",
            "password read".to_owned(),
        ),
        Some(Err(e)) => set("PasswordLoaded", FALSE, "SecretUnreadable", e.clone()),
        None => {}
    }
    match health {
        Some((_, Ok(()))) => set(
            "Healthy",
            TRUE,
            "Reachable",
            "the SMTP server answered".to_owned(),
        ),
        Some((_, Err(e))) => set("Healthy", FALSE, "Unreachable", e.clone()),
        None => set(
            "Healthy",
            "Unknown",
            "NotChecked",
            "no transport to check (disabled or not configured)".to_owned(),
        ),
    }
    if provider.is_some_and(|p| p.password.is_none()) {
        conditions.retain(|c| c.type_ != "PasswordLoaded");
    }
    let (last_attempt, last_error) = provider.map(|p| p.stats.get()).unwrap_or_default();
    MailProviderStatus {
        observed_generation: generation,
        conditions: Some(conditions),
        last_health_check: health.map(|(t, _)| Time(t)).or(current.last_health_check),
        last_send_attempt: last_attempt.map(Time).or(current.last_send_attempt),
        last_send_error: match last_attempt {
            Some(_) => last_error,
            None => current.last_send_error,
        },
    }
}

async fn write(hub: &Client, mp: &MailProvider, status: &MailProviderStatus) {
    let name = mp.metadata.name.clone().unwrap_or_default();
    let api: Api<MailProvider> = Api::all(hub.clone());
    let patch = crate::session_writes::conditional_status_patch(
        mp.metadata.resource_version.as_deref(),
        serde_json::json!({
            "observedGeneration": status.observed_generation,
            "conditions": status.conditions,
            "lastHealthCheck": status.last_health_check,
            "lastSendAttempt": status.last_send_attempt,
            "lastSendError": status.last_send_error,
        }),
    );
    match tokio::time::timeout(
        Duration::from_secs(10),
        api.patch_status(&name, &PatchParams::default(), &patch),
    )
    .await
    {
        Ok(Ok(_)) => tracing::debug!(provider = %name, "mail provider status written"),
        Ok(Err(e)) if crate::hub_answer::is_conflict(&e) => {
            tracing::debug!(provider = %name, "mail provider changed meanwhile; status not written")
        }
        Ok(Err(e)) => {
            tracing::warn!(provider = %name, error = %e, "writing mail provider status failed")
        }
        Err(_) => tracing::warn!(provider = %name, "writing mail provider status timed out"),
    }
}

/// Runs until aborted (when leadership ends): health checks and status writes.
pub async fn run(
    mailer: Arc<Mailer>,
    hub: Client,
    mirror: Mirror<MailProvider>,
    changed: Arc<Notify>,
) {
    let mut health: BTreeMap<String, Health> = BTreeMap::new();
    mirror.wait_synced().await;
    loop {
        let providers = mailer.providers();
        health.retain(|k, _| providers.contains_key(k));
        for mp in mirror.all() {
            let Some(name) = mp.metadata.name.clone() else {
                continue;
            };
            let provider = providers.get(&name);
            let build = provider.map_or(0, |p| Arc::as_ptr(p) as usize);
            let due = health
                .get(&name)
                .is_none_or(|h| h.of != build || h.at.elapsed() >= HEALTH_INTERVAL);
            if due && let Some(p) = provider {
                match p.check().await {
                    Some(result) => {
                        mailer
                            .metrics()
                            .healthy
                            .get_or_create(&metrics::provider(&name))
                            .set(i64::from(result.is_ok()));
                        if let Err(e) = &result {
                            tracing::warn!(provider = %name, error = %e, "mail provider health check failed");
                        }
                        health.insert(
                            name.clone(),
                            Health {
                                at: Instant::now(),
                                time: jiff::Timestamp::now(),
                                result,
                                of: build,
                            },
                        );
                    }
                    None => {
                        health.remove(&name);
                    }
                }
            }
            let h = health.get(&name).map(|h| (h.time, &h.result));
            let status =
                desired_status(&mp, provider.map(AsRef::as_ref), h, jiff::Timestamp::now());
            if mp.status.as_ref() != Some(&status) {
                write(&hub, &mp, &status).await;
            }
        }
        tokio::select! {
            () = changed.notified() => {}
            () = tokio::time::sleep(STATUS_INTERVAL) => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use breakglass_api::mail_provider::MailProviderSpec;

    use super::*;

    fn find<'a>(
        s: &'a MailProviderStatus,
        t: &str,
    ) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        s.conditions
            .as_ref()
            .and_then(|c| condition::find(c, t))
            .unwrap()
    }

    #[test]
    fn conditions_follow_the_provider() {
        let mp = MailProvider::new("m", MailProviderSpec::default());
        let now = jiff::Timestamp::UNIX_EPOCH;
        let usable = Provider::inert("m", true, false, Usability::Usable);
        let s = desired_status(&mp, Some(&usable), Some((now, &Ok(()))), now);
        assert_eq!(find(&s, "Ready").status, "True");
        assert_eq!(find(&s, "Healthy").status, "True");
        assert_eq!(s.last_health_check, Some(Time(now)));
        let s = desired_status(&mp, Some(&usable), Some((now, &Err("refused".into()))), now);
        assert_eq!(find(&s, "Healthy").status, "False");
        assert_eq!(find(&s, "Healthy").message, "refused");
        let off = Provider::inert("m", true, true, Usability::Usable);
        let s = desired_status(&mp, Some(&off), None, now);
        assert_eq!(find(&s, "Ready").reason, "Disabled");
        assert_eq!(find(&s, "Healthy").status, "Unknown");
        let broken = Provider::inert("m", false, false, Usability::Unusable("no secret".into()));
        let s = desired_status(&mp, Some(&broken), None, now);
        assert_eq!(find(&s, "Ready").status, "False");
        assert_eq!(find(&s, "Ready").message, "no secret");
    }

    #[test]
    fn an_unchanged_status_compares_equal_so_nothing_is_written() {
        let mut mp = MailProvider::new("m", MailProviderSpec::default());
        let p = Provider::inert("m", true, false, Usability::Usable);
        let t0 = jiff::Timestamp::UNIX_EPOCH;
        let s = desired_status(&mp, Some(&p), Some((t0, &Ok(()))), t0);
        mp.status = Some(s.clone());
        let later = t0 + jiff::SignedDuration::from_secs(30);
        assert_eq!(desired_status(&mp, Some(&p), Some((t0, &Ok(()))), later), s);
    }
}
