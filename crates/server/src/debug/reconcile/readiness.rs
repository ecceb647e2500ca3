//! Readiness of an active session's auxiliary and pod-template resources, read again
//! (controller identity) every `READINESS_REFRESH` until each is ready, so
//! `status.auxiliaryResourceStatuses[].ready` follows a claim being bound or a budget
//! being observed.

use breakglass_api::debug_session::{
    AuxiliaryResourceStatus, DebugSession, DebugSessionState as State, RenderedResourceStatus,
};
use breakglass_core::debug::readiness::{self, Readiness};
use kube::{Client, ResourceExt};

use super::{Reconciler, patch_status, state};
use crate::debug::{apply, target};
use crate::session_writes::WriteError;

/// At most this many objects are read per session and pass (a template's resources
/// are few; the bound keeps one session from stalling the reconciler).
const MAX_READS: usize = 64;

fn pending(created: Option<bool>, ready: Option<bool>, deleted: Option<bool>) -> bool {
    created == Some(true) && ready != Some(true) && deleted != Some(true)
}

fn needs_refresh(s: &DebugSession) -> bool {
    let Some(st) = s.status.as_ref() else {
        return false;
    };
    let aux = st.auxiliary_resource_statuses.iter().flatten().any(|a| {
        pending(a.created, a.ready, a.deleted)
            || a.additional_resources
                .iter()
                .flatten()
                .any(|r| pending(r.created, r.ready, r.deleted))
    });
    let pt = st
        .pod_template_resource_statuses
        .iter()
        .flatten()
        .any(|r| pending(r.created, r.ready, r.deleted));
    aux || pt
}

/// Reads one recorded object and judges it; `None` when the read failed (kept as is).
async fn judge(
    client: &Client,
    api_version: &str,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Option<Option<Readiness>> {
    let info = target::kind_of(api_version, kind)?;
    match apply::read(client, info, namespace, name).await {
        Ok(Some(o)) => Some(Some(readiness::assess(
            kind,
            &serde_json::to_value(&o).unwrap_or_default(),
        ))),
        Ok(None) => Some(None),
        Err(_) => None,
    }
}

impl Reconciler {
    /// Refreshes the readiness of every active session with resources not yet ready.
    pub(super) async fn refresh_readiness(&mut self) {
        let sessions = self
            .ctx
            .stores
            .debug_sessions
            .filter(|s| state(s) == State::Active && needs_refresh(s));
        for s in sessions {
            let Ok(client) = self.ctx.clusters.get(&s.spec.cluster).await else {
                continue;
            };
            let Some(st) = s.status.as_ref() else {
                continue;
            };
            let mut aux = st.auxiliary_resource_statuses.clone().unwrap_or_default();
            let mut pt = st
                .pod_template_resource_statuses
                .clone()
                .unwrap_or_default();
            let mut reads = 0;
            let mut changed = false;
            for a in &mut aux {
                changed |= refresh_auxiliary(&client, a, &mut reads).await;
            }
            for r in &mut pt {
                changed |= refresh_rendered(&client, r, &mut reads).await;
            }
            if !changed {
                continue;
            }
            let mut fields = serde_json::Map::new();
            if !aux.is_empty() {
                fields.insert(
                    "auxiliaryResourceStatuses".to_owned(),
                    serde_json::json!(aux),
                );
            }
            if !pt.is_empty() {
                fields.insert(
                    "podTemplateResourceStatuses".to_owned(),
                    serde_json::json!(pt),
                );
            }
            match patch_status(&self.ctx.hub, &s, serde_json::Value::Object(fields)).await {
                Ok(()) => {
                    tracing::debug!(debug_session = %s.name_any(), "debug session resource readiness updated");
                }
                Err(WriteError::NotFound | WriteError::Conflict) => {}
                Err(e) => {
                    tracing::warn!(debug_session = %s.name_any(), error = %e, "writing resource readiness failed");
                }
            }
        }
    }
}

async fn refresh_auxiliary(
    client: &Client,
    a: &mut AuxiliaryResourceStatus,
    reads: &mut usize,
) -> bool {
    let mut changed = false;
    if pending(a.created, a.ready, a.deleted) && *reads < MAX_READS {
        *reads += 1;
        let (Some(api_version), Some(kind), Some(name)) =
            (&a.api_version, &a.kind, &a.resource_name)
        else {
            return false;
        };
        if let Some(r) = judge(client, api_version, kind, name, a.namespace.as_deref()).await {
            let status = r.map_or("NotFound", Readiness::as_str).to_owned();
            let ready = r.is_some_and(Readiness::is_ready);
            changed |= a.ready != Some(ready) || a.ready_status.as_deref() != Some(&status);
            a.ready = Some(ready);
            a.ready_status = Some(status);
        }
    }
    for r in a.additional_resources.iter_mut().flatten() {
        changed |= refresh_rendered(client, r, reads).await;
    }
    changed
}

async fn refresh_rendered(
    client: &Client,
    r: &mut RenderedResourceStatus,
    reads: &mut usize,
) -> bool {
    if !pending(r.created, r.ready, r.deleted) || *reads >= MAX_READS {
        return false;
    }
    *reads += 1;
    let Some(j) = judge(
        client,
        &r.api_version,
        &r.kind,
        &r.name,
        r.namespace.as_deref(),
    )
    .await
    else {
        return false;
    };
    let ready = j.is_some_and(Readiness::is_ready);
    let changed = r.ready != Some(ready);
    r.ready = Some(ready);
    changed
}
