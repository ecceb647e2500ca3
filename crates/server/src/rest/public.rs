//! Discovery endpoints the UI and CLI read before sign-in (no authentication).

use axum::Json;
use axum::extract::State;
use breakglass_api::rest::public::{
    BuildInfo, FrontendConfig, FrontendView, IdentityProviderInfo, IdpList, IdpView,
    KeycloakMetadata,
};
use breakglass_core::escalation as esc_core;

use crate::config::UserIdentifierClaim;
use crate::error::ApiError;
use crate::http::AppState;

/// `GET /api/config`.
pub async fn frontend_config(State(state): State<AppState>) -> Json<FrontendConfig> {
    let app = &state.app;
    let idps = enabled_idps(&state);
    let first = idps.first();
    Json(FrontendConfig {
        frontend: FrontendView {
            oidc_authority: first
                .map(|i| i.spec.oidc.authority.clone())
                .unwrap_or_default(),
            oidc_client_id: first
                .map(|i| i.spec.oidc.client_id.clone())
                .unwrap_or_default(),
            branding_name: app.config.frontend.branding_name.clone(),
            ui_flavour: app
                .config
                .frontend
                .ui_flavour
                .clone()
                .unwrap_or_else(|| "oss".to_owned()),
        },
    })
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
pub async fn identity_provider(
    State(state): State<AppState>,
) -> Result<Json<IdentityProviderInfo>, ApiError> {
    let idps = enabled_idps(&state);
    let idp = idps
        .first()
        .ok_or_else(|| ApiError::NotFound("no identity provider is configured".to_owned()))?;
    Ok(Json(IdentityProviderInfo {
        type_: "OIDC".to_owned(),
        authority: idp.spec.oidc.authority.clone(),
        direct_authority: idp.spec.oidc.authority.clone(),
        client_id: idp.spec.oidc.client_id.clone(),
        keycloak_metadata: idp.spec.keycloak.as_ref().map(|k| KeycloakMetadata {
            base_url: k.base_url.clone(),
            realm: k.realm.clone(),
        }),
    }))
}

/// `GET /api/config/idps`: every provider and which providers each escalation allows
/// (an empty list means any).
pub async fn idps(State(state): State<AppState>) -> Json<IdpList> {
    let app = &state.app;
    let mut all = app.stores.identity_providers.all();
    all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let providers: Vec<IdpView> = all
        .iter()
        .map(|i| IdpView {
            name: i.metadata.name.clone(),
            display_name: i
                .spec
                .display_name
                .clone()
                .or_else(|| i.metadata.name.clone()),
            issuer: i.effective_issuer().to_owned(),
            enabled: i.spec.disabled != Some(true),
            oidc_authority: i.spec.oidc.authority.clone(),
            oidc_client_id: i.spec.oidc.client_id.clone(),
            // What `bgctl auth login` uses: the public CLI client and its extra scopes.
            cli_client_id: i
                .spec
                .oidc
                .cli_client_id
                .clone()
                .unwrap_or_else(|| i.spec.oidc.client_id.clone()),
            cli_scopes: i.spec.oidc.cli_scopes.clone().unwrap_or_default(),
            ui_scopes: i.spec.oidc.ui_scopes.clone().unwrap_or_default(),
        })
        .collect();
    let mut mapping = std::collections::BTreeMap::new();
    for e in app.stores.escalations.all() {
        let name = e.metadata.name.clone().unwrap_or_default();
        let allowed = esc_core::request_idps(&e.spec)
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        mapping.insert(name, allowed);
    }
    Json(IdpList {
        identity_providers: providers,
        escalation_idp_mapping: mapping,
        // The claim sessions are keyed by (clusters may override it), so `bgctl auth
        // status` shows the same name the server uses.
        user_identifier_claim: match app
            .config
            .kubernetes
            .user_identifier_claim
            .unwrap_or_default()
        {
            UserIdentifierClaim::Email => "email",
            UserIdentifierClaim::PreferredUsername => "preferred_username",
            UserIdentifierClaim::Sub => "sub",
        }
        .to_owned(),
    })
}

/// `GET /api/debug/buildinfo`: the server's version, for `bgctl version`.
pub async fn buildinfo() -> Json<BuildInfo> {
    Json(BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        // Set by release builds; local builds have no meaningful date.
        build_date: option_env!("BREAKGLASS_BUILD_DATE")
            .unwrap_or("unknown")
            .to_owned(),
    })
}
