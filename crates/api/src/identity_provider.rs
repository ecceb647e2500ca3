//! `IdentityProvider`: an OIDC issuer users log in with, optionally with Keycloak group sync.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::SecretKeyReference;
use crate::macros::string_enum;

/// An OIDC issuer users log in with, optionally with group sync.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "IdentityProvider",
    plural = "identityproviders",
    singular = "identityprovider",
    status = "IdentityProviderStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "An OIDC issuer users log in with, optionally with group sync.",
    printcolumn(name = "Issuer", type_ = "string", json_path = ".spec.issuer"),
    printcolumn(
        name = "GroupSync",
        type_ = "string",
        json_path = ".spec.groupSyncProvider"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProviderSpec {
    /// OIDC settings for user login.
    pub oidc: OidcProviderConfig,
    /// Group membership lookups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_sync_provider: Option<GroupSyncProvider>,
    /// Keycloak group sync (required when groupSyncProvider is Keycloak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keycloak: Option<KeycloakGroupSync>,
    /// Default per-user session limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_limits: Option<SessionLimits>,
    /// Issuer that must equal the token's `iss` (unique across IdentityProviders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253), regex(pattern = r"^https://"))]
    pub issuer: Option<String>,
    /// Deprecated; has no effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Name shown on the login page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub display_name: Option<String>,
    /// Temporarily disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// OIDC settings for user login.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcProviderConfig {
    /// OIDC authority (https).
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^https://"))]
    pub authority: String,
    /// JWKS URL (https; discovered when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https://"))]
    pub jwks_endpoint: Option<String>,
    /// Client ID of the web UI.
    #[serde(rename = "clientID")]
    #[schemars(length(min = 1))]
    pub client_id: String,
    /// Audience tokens must carry.
    #[schemars(length(min = 1))]
    pub expected_audience: String,
    /// Public client the command-line client (`bgctl`) logs in with (loopback redirect,
    /// device code); `bgctl` uses `clientID` when unset.
    #[serde(
        default,
        rename = "cliClientID",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = 253))]
    pub cli_client_id: Option<String>,
    /// Scopes `bgctl` requests besides `openid email profile offline_access`, e.g. Dex's
    /// `audience:server:client_id:<clientID>` so the CLI's tokens carry the audience the
    /// server and the clusters expect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(length(min = 1, max = 253)))]
    pub cli_scopes: Option<Vec<String>>,
    /// Scopes the web UI requests besides `openid email profile groups`, e.g. Dex's
    /// `audience:server:client_id:<expectedAudience>` when the UI's public client differs
    /// from the audience the server and the clusters expect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), inner(length(min = 1, max = 253)))]
    pub ui_scopes: Option<Vec<String>>,
    /// Not allowed (rejected at admission); use certificateAuthority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    /// PEM CA bundle for the issuer, JWKS and proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
}

string_enum! {
    /// Source of group memberships.
    pub enum GroupSyncProvider {
        /// Keycloak admin API.
        Keycloak = "Keycloak",
    }
}

/// Keycloak group sync settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeycloakGroupSync {
    /// Keycloak base URL (https).
    #[serde(rename = "baseURL")]
    #[schemars(regex(pattern = r"^https://"))]
    pub base_url: String,
    /// Realm.
    #[schemars(length(min = 1))]
    pub realm: String,
    /// Client ID with group read access.
    #[serde(rename = "clientID")]
    #[schemars(length(min = 1))]
    pub client_id: String,
    /// Client secret.
    pub client_secret_ref: SecretKeyReference,
    /// How long memberships are cached.
    #[serde(default, rename = "cacheTTL", skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_cache_ttl")]
    pub cache_ttl: Option<String>,
    /// Timeout of Keycloak requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_request_timeout")]
    pub request_timeout: Option<String>,
    /// Not allowed (rejected at admission); use certificateAuthority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    /// PEM CA bundle of Keycloak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
}

fn default_cache_ttl() -> Option<String> {
    Some("10m".to_owned())
}

fn default_request_timeout() -> Option<String> {
    Some("10s".to_owned())
}

/// Per-user session limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionLimits {
    /// Active sessions per user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_active_sessions_per_user: Option<i32>,
    /// Limits by group; the first matching override wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_overrides: Option<Vec<GroupSessionLimitOverride>>,
}

/// Session limit for members of a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupSessionLimitOverride {
    /// Group name or glob.
    #[schemars(length(min = 1))]
    pub group: String,
    /// No limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlimited: Option<bool>,
    /// Active sessions per user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_active_sessions_per_user: Option<i32>,
}

/// Observed state of an IdentityProvider.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProviderStatus {
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Ready, ConversionFailed, ValidationFailed, GroupSyncHealthy, CacheUpdated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

string_enum! {
    /// Condition types of IdentityProviders.
    pub enum IdentityProviderConditionType {
        /// Usable for login.
        Ready = "Ready",
        /// The spec could not be converted to a runtime configuration.
        ConversionFailed = "ConversionFailed",
        /// The spec failed validation.
        ValidationFailed = "ValidationFailed",
        /// Group sync works.
        GroupSyncHealthy = "GroupSyncHealthy",
        /// The configuration cache was updated.
        CacheUpdated = "CacheUpdated",
    }
}

impl IdentityProvider {
    /// The issuer tokens of this provider carry: `spec.issuer`, else the OIDC authority,
    /// without a trailing slash.
    pub fn effective_issuer(&self) -> &str {
        self.spec
            .issuer
            .as_deref()
            .filter(|i| !i.is_empty())
            .unwrap_or(&self.spec.oidc.authority)
            .trim_end_matches('/')
    }
}
