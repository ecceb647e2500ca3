//! `GET /api/breakglassEscalations`: what the caller may request.

use axum::Json;
use axum::extract::{Query, State};
use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::rest::escalations::{EscalationList, EscalationView};
use breakglass_core::escalation::{self as esc_core};
use breakglass_core::glob;

use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::identity;
use crate::rest::views;
use crate::store::ClusterLookup;

pub use breakglass_api::rest::escalations::EscalationQuery;

/// `GET /api/breakglassEscalations` → `{items, total}`.
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<EscalationQuery>,
) -> Result<Json<EscalationList>, ApiError> {
    let app = &state.app;
    let prefixes = app.prefixes();
    let groups = identity::groups(app.prefixes(), &caller);
    let active_only = q.active_only.unwrap_or(true);
    let clusters = app.stores.clusters.all();
    let mut items: Vec<_> = app
        .stores
        .escalations
        .all()
        .into_iter()
        .filter(|e| esc_core::requester_in_allowed_groups(&e.spec, &groups, prefixes))
        .filter(|e| {
            !active_only || esc_core::provider_may_request(&e.spec, Some(caller.provider.as_str()))
        })
        .filter(|e| match q.cluster.as_deref().filter(|c| !c.is_empty()) {
            None => true,
            Some(c) => {
                esc_core::targets_cluster(&e.spec, c)
                    || entries(e)
                        .iter()
                        .any(|entry| glob::glob_match(c, entry).unwrap_or(false))
            }
        })
        .filter(|e| {
            !active_only
                || (e.is_ready()
                    && clusters.iter().any(|cc| {
                        let name = cc.metadata.name.as_deref().unwrap_or_default();
                        esc_core::targets_cluster(&e.spec, name)
                            && matches!(app.stores.cluster(name), ClusterLookup::Found(_))
                            && cc.is_ready()
                    }))
        })
        .collect();
    items.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    let items: Vec<EscalationView> = items.iter().map(|e| views::escalation(e)).collect();
    let total = items.len();
    Ok(Json(EscalationList { items, total }))
}

fn entries(e: &BreakglassEscalation) -> Vec<String> {
    let mut out: Vec<String> = e
        .spec
        .allowed
        .as_ref()
        .and_then(|a| a.clusters.clone())
        .unwrap_or_default();
    out.extend(e.spec.cluster_config_refs.clone().unwrap_or_default());
    out
}
