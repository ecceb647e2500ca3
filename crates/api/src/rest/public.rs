//! REST wire types: the discovery endpoints read before sign-in (`/api/config`,
//! `/api/config/idps`, `/api/identity-provider`, `/api/debug/buildinfo`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /api/config` → `{frontend: {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrontendConfig {
    /// What the UI needs to sign in.
    pub frontend: FrontendView,
}

/// The UI's sign-in settings: the first enabled identity provider (primary first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FrontendView {
    /// OIDC authority of the default provider (empty when none).
    pub oidc_authority: String,
    /// OIDC client ID of the default provider (empty when none).
    #[serde(rename = "oidcClientID")]
    pub oidc_client_id: String,
    /// Product name shown by the UI.
    #[serde(default)]
    pub branding_name: Option<String>,
    /// UI flavour (`oss` by default).
    pub ui_flavour: String,
}

/// `GET /api/config/idps` → every provider and which providers each escalation allows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdpList {
    /// Every IdentityProvider, by name.
    pub identity_providers: Vec<IdpView>,
    /// Escalation name → providers allowed to request it (empty: any).
    #[serde(rename = "escalationIDPMapping")]
    pub escalation_idp_mapping: BTreeMap<String, Vec<String>>,
    /// The token claim the server names users by (`email`, `preferred_username`, `sub`;
    /// clusters may override it), so clients show the same name.
    #[serde(default)]
    pub user_identifier_claim: String,
}

/// One IdentityProvider as clients see it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdpView {
    /// Object name.
    #[serde(default)]
    pub name: Option<String>,
    /// Shown name (the object name when unset).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Issuer of its tokens.
    pub issuer: String,
    /// Not disabled.
    pub enabled: bool,
    /// OIDC authority.
    pub oidc_authority: String,
    /// OIDC client ID.
    #[serde(rename = "oidcClientID")]
    pub oidc_client_id: String,
    /// Public client the command-line client logs in with (`oidcClientID` when the
    /// provider names none).
    #[serde(default, rename = "cliClientID")]
    pub cli_client_id: String,
    /// Scopes the command-line client requests besides its defaults.
    #[serde(default)]
    pub cli_scopes: Vec<String>,
    /// Scopes the web UI requests besides its defaults.
    #[serde(default)]
    pub ui_scopes: Vec<String>,
}

/// `GET /api/identity-provider` → the default provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProviderInfo {
    /// Always `OIDC`.
    #[serde(rename = "type")]
    pub type_: String,
    /// OIDC authority.
    pub authority: String,
    /// The same authority (the reference's field for a direct, unproxied authority).
    pub direct_authority: String,
    /// OIDC client ID.
    pub client_id: String,
    /// Keycloak details, when the provider is Keycloak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keycloak_metadata: Option<KeycloakMetadata>,
}

/// Keycloak base URL and realm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeycloakMetadata {
    /// Keycloak base URL.
    pub base_url: String,
    /// Realm.
    pub realm: String,
}

/// `GET /api/debug/buildinfo` → the server's version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// Version of the server binary.
    pub version: String,
    /// When it was built (`unknown` for local builds).
    pub build_date: String,
}
