//! Expiry of pod copies (`kubectlDebug.podCopy.ttl`): at a copy's `expiresAt` the leader
//! deletes it on the target and drops its record and its `allowedPods` entry; a wake-up
//! is scheduled for the next expiry, so copies go at their deadline, not at a sweep.

use breakglass_api::debug_session::DebugSession;
use breakglass_core::debug::kubectl::pods;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};

use super::{Reconciler, key_of, patch_status};
use crate::debug::target::TARGET_TIMEOUT;
use crate::session_writes::WriteError;

impl Reconciler {
    /// Deletes the session's expired pod copies and schedules the next expiry.
    pub(super) async fn expire_copies(&mut self, s: &DebugSession) -> Result<(), WriteError> {
        let Some(status) = s.status.as_ref() else {
            return Ok(());
        };
        let now = Timestamp::now();
        let (expired, next) = pods::expire_copies(status, now);
        if !expired.is_empty() {
            let client = match self.ctx.clusters.get(&s.spec.cluster).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(debug_session = %s.name_any(), error = %e, "pod copies not expired: target unavailable");
                    self.retry_later(key_of(s));
                    return Ok(());
                }
            };
            for copy in &expired {
                let api: Api<Pod> = Api::namespaced(client.clone(), &copy.copy_namespace);
                let deleted = tokio::time::timeout(
                    TARGET_TIMEOUT,
                    api.delete(&copy.copy_name, &DeleteParams::background()),
                )
                .await;
                match deleted {
                    Ok(Ok(_)) => {}
                    Ok(Err(kube::Error::Api(e))) if e.code == 404 => {}
                    Ok(Err(e)) => {
                        tracing::warn!(debug_session = %s.name_any(), copy = %copy.copy_name, error = %e, "expired pod copy not deleted; retrying");
                        self.retry_later(key_of(s));
                        return Ok(());
                    }
                    Err(_) => {
                        self.retry_later(key_of(s));
                        return Ok(());
                    }
                }
                tracing::info!(debug_session = %s.name_any(), cluster = %s.spec.cluster, copy = %format!("{}/{}", copy.copy_namespace, copy.copy_name), "expired pod copy deleted");
            }
            let fields = serde_json::json!({
                "kubectlDebugStatus": next.kubectl_debug_status,
                "allowedPods": next.allowed_pods,
            });
            patch_status(&self.ctx.hub, s, fields).await?;
        }
        let key = key_of(s);
        let Some(at) = pods::next_copy_expiry(&next) else {
            // Nothing left to expire: forget the wake-up so the map does not grow.
            self.copy_wakes.remove(&key);
            return Ok(());
        };
        if self.copy_wakes.get(&key) != Some(&at) {
            self.copy_wakes.insert(key.clone(), at);
            let wait = at.duration_since(now).unsigned_abs();
            let tx = self.retry.clone();
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let _ = tx.send(key);
            });
        }
        Ok(())
    }
}
