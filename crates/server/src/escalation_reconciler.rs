//! The escalation reconciler (leader only): validates every BreakglassEscalation and
//! its references and writes its conditions, `Ready` among them. Escalations that are
//! not Ready are neither offered nor used, so a broken or half-configured escalation
//! fails closed.

use breakglass_api::breakglass_escalation::{BreakglassEscalation, BreakglassEscalationStatus};
use breakglass_core::escalation::{KnownObjects, readiness_conditions};
use breakglass_core::validation::validate_breakglass_escalation;
use kube::api::PatchParams;
use kube::{Api, Client};
use tokio::sync::broadcast::error::RecvError;

use crate::store::Stores;

/// Runs until aborted: reconciles every escalation at start and whenever an
/// escalation, IdentityProvider, ClusterConfig or DenyPolicy changes.
pub async fn run(hub: Client, stores: Stores) {
    let mut esc_changes = stores.escalations.subscribe();
    let mut idp_changes = stores.identity_providers.subscribe();
    let mut cc_changes = stores.clusters.subscribe();
    let mut dp_changes = stores.deny_policies.subscribe();
    stores.wait_synced().await;
    loop {
        for esc in stores.escalations.all() {
            reconcile(&hub, &stores, &esc).await;
        }
        // Wait for any change, then coalesce the burst.
        let closed = tokio::select! {
            r = esc_changes.recv() => matches!(r, Err(RecvError::Closed)),
            r = idp_changes.recv() => matches!(r, Err(RecvError::Closed)),
            r = cc_changes.recv() => matches!(r, Err(RecvError::Closed)),
            r = dp_changes.recv() => matches!(r, Err(RecvError::Closed)),
        };
        if closed {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        for rx in [
            &mut esc_changes,
            &mut idp_changes,
            &mut cc_changes,
            &mut dp_changes,
        ] {
            while rx.try_recv().is_ok() {}
        }
    }
}

fn names<K: kube::Resource>(objects: &[std::sync::Arc<K>]) -> Vec<String> {
    objects
        .iter()
        .filter_map(|o| o.meta().name.clone())
        .collect()
}

async fn reconcile(hub: &Client, stores: &Stores, esc: &BreakglassEscalation) {
    let idps = names(&stores.identity_providers.all());
    let clusters = names(&stores.clusters.all());
    let policies = names(&stores.deny_policies.all());
    let errors: Vec<String> = validate_breakglass_escalation(esc)
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut conditions = readiness_conditions(
        &esc.spec,
        &errors,
        KnownObjects {
            identity_providers: &idps,
            cluster_configs: &clusters,
            deny_policies: &policies,
        },
        esc.metadata.generation,
        jiff::Timestamp::now(),
    );
    let current = esc
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    // Keep transition times of unchanged conditions, and skip the write when nothing
    // but the clock would change.
    let mut merged = current.clone();
    for c in conditions.drain(..) {
        breakglass_core::condition::set(&mut merged, c);
    }
    let observed = esc.metadata.generation;
    if merged == current && esc.status.as_ref().and_then(|s| s.observed_generation) == observed {
        return;
    }
    let status = BreakglassEscalationStatus {
        observed_generation: observed,
        conditions: Some(merged),
        ..esc.status.clone().unwrap_or_default()
    };
    let ns = esc.metadata.namespace.clone().unwrap_or_default();
    let name = esc.metadata.name.clone().unwrap_or_default();
    let api: Api<BreakglassEscalation> = Api::namespaced(hub.clone(), &ns);
    let patch = crate::session_writes::conditional_status_patch(
        esc.metadata.resource_version.as_deref(),
        serde_json::json!({
            "observedGeneration": status.observed_generation,
            "conditions": status.conditions,
        }),
    );
    match api
        .patch_status(&name, &PatchParams::default(), &patch)
        .await
    {
        Ok(_) => {
            tracing::info!(escalation = %name, namespace = %ns, ready = esc_ready(&status), "escalation status updated")
        }
        // Changed since we read it: its change event brings it back here.
        Err(e) if crate::hub_answer::is_conflict(&e) => {
            tracing::debug!(escalation = %name, "escalation changed meanwhile; status not written")
        }
        Err(e) => {
            tracing::warn!(escalation = %name, error = %e, "writing escalation status failed")
        }
    }
}

fn esc_ready(status: &BreakglassEscalationStatus) -> bool {
    status
        .conditions
        .as_deref()
        .and_then(|c| breakglass_core::condition::find(c, "Ready"))
        .is_some_and(|c| c.status == "True")
}
