//! Discovery endpoints the UI and CLI read before sign-in (no authentication).

use axum::Json;
use axum::extract::State;
use breakglass_core::escalation as esc_core;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::AppState;

/// `GET /api/config`.
pub async fn frontend_config(State(state): State<AppState>) -> Json<Value> {
    let app = &state.app;
    let idps = enabled_idps(&state);
    let first = idps.first();
    Json(json!({
        "frontend": {
            "oidcAuthority": first.map(|i| i.spec.oidc.authority.clone()).unwrap_or_default(),
            "oidcClientID": first.map(|i| i.spec.oidc.client_id.clone()).unwrap_or_default(),
            "brandingName": app.config.frontend.branding_name,
            "uiFlavour": app.config.frontend.ui_flavour.clone().unwrap_or_else(|| "oss".to_owned()),
        }
    }))
}

fn enabled_idps(
    state: &AppState,
) -> Vec<std::sync::Arc<breakglass_api::identity_provider::IdentityProvider>> {
    let mut idps = state
        .app
        .stores
        .identity_providers
        .filter(|i| i.spec.disabled != Some(true));
    idps.sort_by(|a, b| {
        (b.spec.primary == Some(true), &a.metadata.name)
            .cmp(&(a.spec.primary == Some(true), &b.metadata.name))
    });
    idps
}

/// `GET /api/identity-provider`: the first enabled provider, 404 when none.
pub async fn identity_provider(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let idps = enabled_idps(&state);
    let idp = idps
        .first()
        .ok_or_else(|| ApiError::NotFound("no identity provider is configured".to_owned()))?;
    let mut body = json!({
        "type": "OIDC",
        "authority": idp.spec.oidc.authority,
        "directAuthority": idp.spec.oidc.authority,
        "clientId": idp.spec.oidc.client_id,
    });
    if let Some(k) = &idp.spec.keycloak {
        body["keycloakMetadata"] = json!({ "baseUrl": k.base_url, "realm": k.realm });
    }
    Ok(Json(body))
}

/// `GET /api/config/idps`: every provider and which providers each escalation allows
/// (an empty list means any).
pub async fn idps(State(state): State<AppState>) -> Json<Value> {
    let app = &state.app;
    let mut all = app.stores.identity_providers.all();
    all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let providers: Vec<Value> = all
        .iter()
        .map(|i| {
            json!({
                "name": i.metadata.name,
                "displayName": i.spec.display_name.clone().or_else(|| i.metadata.name.clone()),
                "issuer": i.effective_issuer(),
                "enabled": i.spec.disabled != Some(true),
                "oidcAuthority": i.spec.oidc.authority,
                "oidcClientID": i.spec.oidc.client_id,
                // What `bgctl auth login` uses: the public CLI client and its extra scopes.
                "cliClientID": i.spec.oidc.cli_client_id.clone()
                    .unwrap_or_else(|| i.spec.oidc.client_id.clone()),
                "cliScopes": i.spec.oidc.cli_scopes.clone().unwrap_or_default(),
            })
        })
        .collect();
    let mut mapping = serde_json::Map::new();
    for e in app.stores.escalations.all() {
        let name = e.metadata.name.clone().unwrap_or_default();
        let allowed = esc_core::request_idps(&e.spec)
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        mapping.insert(name, json!(allowed));
    }
    Json(json!({
        "identityProviders": providers,
        "escalationIDPMapping": mapping,
        // The claim sessions are keyed by (clusters may override it), so `bgctl auth
        // status` shows the same name the server uses.
        "userIdentifierClaim": app.config.kubernetes.user_identifier_claim.unwrap_or_default(),
    }))
}

/// `GET /api/debug/buildinfo`: the server's version, for `bgctl version`.
pub async fn buildinfo() -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        // Set by release builds; local builds have no meaningful date.
        "buildDate": option_env!("BREAKGLASS_BUILD_DATE").unwrap_or("unknown"),
    }))
}
