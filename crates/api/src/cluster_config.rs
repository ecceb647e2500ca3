//! `ClusterConfig`: registration of a target cluster and how the hub reaches it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::SecretKeyReference;
use crate::macros::string_enum;

/// A target cluster: identity, metadata, and how the hub authenticates to it.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "ClusterConfig",
    plural = "clusterconfigs",
    singular = "clusterconfig",
    shortname = "ccfg",
    namespaced,
    status = "ClusterConfigStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "A target cluster and how the hub reaches it.",
    printcolumn(name = "Tenant", type_ = "string", json_path = ".spec.tenant"),
    printcolumn(name = "ClusterID", type_ = "string", json_path = ".spec.clusterID"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfigSpec {
    /// Canonical cluster ID (metadata.name when unset).
    #[serde(default, rename = "clusterID", skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub cluster_id: Option<String>,
    /// Tenant, used by DenyPolicy appliesTo.tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub tenant: Option<String>,
    /// Environment (e.g. prod), shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub environment: Option<String>,
    /// Site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub site: Option<String>,
    /// Location, shown to users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub location: Option<String>,
    /// How the hub authenticates; must match the auth block given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_auth_type")]
    pub auth_type: Option<ClusterAuthType>,
    /// Secret key holding an admin kubeconfig of the cluster (key `value` by default, as cluster-api writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig_secret_ref: Option<SecretKeyReference>,
    /// OIDC client configuration for the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_auth: Option<OidcAuthConfig>,
    /// OIDC configuration taken from an IdentityProvider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_from_identity_provider: Option<OidcFromIdentityProviderConfig>,
    /// Client QPS against the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub qps: Option<i32>,
    /// Client burst against the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub burst: Option<i32>,
    /// IdentityProviders allowed for this cluster (empty: all enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider_refs: Option<Vec<String>>,
    /// Default of escalations' blockSelfApproval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_false")]
    pub block_self_approval: Option<bool>,
    /// Default approver e-mail domains of escalations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_approver_domains: Option<Vec<String>>,
    /// MailProvider for this cluster's e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub mail_provider: Option<String>,
    /// Constrained impersonation (KEP-5284) on this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained_impersonation: Option<ConstrainedImpersonationConfig>,
    /// Token claim the cluster's apiserver uses as user name (global setting when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_identifier_claim: Option<UserIdentifierClaim>,
}

fn default_auth_type() -> Option<ClusterAuthType> {
    Some(ClusterAuthType::Kubeconfig)
}

fn some_false() -> Option<bool> {
    Some(false)
}

fn some_true() -> Option<bool> {
    Some(true)
}

string_enum! {
    /// How the hub authenticates to a cluster.
    pub enum ClusterAuthType {
        /// A kubeconfig in a Secret.
        Kubeconfig = "Kubeconfig",
        /// OIDC tokens.
        Oidc = "OIDC",
    }
}

string_enum! {
    /// Token claim used as the user name.
    pub enum UserIdentifierClaim {
        /// `email`.
        Email = "email",
        /// `preferred_username`.
        PreferredUsername = "preferred_username",
        /// `sub`.
        Sub = "sub",
    }
}

/// OIDC client configuration for a cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcAuthConfig {
    /// Issuer URL (https).
    #[serde(rename = "issuerURL")]
    #[schemars(regex(pattern = r"^https://"))]
    pub issuer_url: String,
    /// Client ID.
    #[serde(rename = "clientID")]
    #[schemars(length(min = 1))]
    pub client_id: String,
    /// Client secret (required unless refresh-token or token-exchange mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_ref: Option<SecretKeyReference>,
    /// Token audience (the server URL when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Extra scopes (openid, email and groups are always requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// PEM CA bundle of the issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// API server URL of the cluster (https).
    #[schemars(regex(pattern = r"^https://"))]
    pub server: String,
    /// Secret with the API server's CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeyReference>,
    /// Skip TLS verification of the API server (discouraged).
    #[serde(
        default,
        rename = "insecureSkipTLSVerify",
        skip_serializing_if = "Option::is_none"
    )]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Trust the API server's CA on first use and pin it.
    #[serde(default, rename = "allowTOFU", skip_serializing_if = "Option::is_none")]
    pub allow_tofu: Option<bool>,
    /// RFC 8693 token exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_exchange: Option<TokenExchangeConfig>,
    /// Secret with an offline refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_secret_ref: Option<SecretKeyReference>,
    /// Key the rotated refresh token is written back to (must differ from the seed key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub rotated_refresh_token_key: Option<String>,
    /// Fallback when the refresh token fails (other than None only with a refresh token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_fallback_policy")]
    pub fallback_policy: Option<OidcFallbackPolicy>,
}

fn default_fallback_policy() -> Option<OidcFallbackPolicy> {
    Some(OidcFallbackPolicy::None)
}

/// OIDC configuration for a cluster taken from an IdentityProvider.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcFromIdentityProviderConfig {
    /// Name of the IdentityProvider.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Client ID (the IdentityProvider's when unset).
    #[serde(default, rename = "clientID", skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret (exclusive with refreshTokenSecretRef).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_ref: Option<SecretKeyReference>,
    /// API server URL of the cluster (https).
    #[schemars(regex(pattern = r"^https://"))]
    pub server: String,
    /// Secret with the API server's CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeyReference>,
    /// Skip TLS verification of the API server (discouraged).
    #[serde(
        default,
        rename = "insecureSkipTLSVerify",
        skip_serializing_if = "Option::is_none"
    )]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Trust the API server's CA on first use and pin it.
    #[serde(default, rename = "allowTOFU", skip_serializing_if = "Option::is_none")]
    pub allow_tofu: Option<bool>,
    /// Secret with an offline refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_secret_ref: Option<SecretKeyReference>,
    /// Key the rotated refresh token is written back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub rotated_refresh_token_key: Option<String>,
    /// RFC 8693 token exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_exchange: Option<TokenExchangeConfig>,
    /// Token audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Extra scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Fallback when the refresh token fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_fallback_policy")]
    pub fallback_policy: Option<OidcFallbackPolicy>,
}

/// RFC 8693 token exchange settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenExchangeConfig {
    /// Token exchange is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Secret with the subject token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_token_secret_ref: Option<SecretKeyReference>,
    /// Type URI of the subject token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_token_type: Option<String>,
    /// Type URI of the requested token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_token_type: Option<String>,
    /// Target resource of the exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Secret with the actor token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_token_secret_ref: Option<SecretKeyReference>,
    /// Type URI of the actor token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_token_type: Option<String>,
}

string_enum! {
    /// What happens when refreshing the token fails.
    pub enum OidcFallbackPolicy {
        /// Fail.
        None = "None",
        /// Fall back to client credentials.
        Auto = "Auto",
        /// Fall back and report degraded authentication.
        Warn = "Warn",
    }
}

/// Constrained impersonation (KEP-5284) settings of a cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConstrainedImpersonationConfig {
    /// Whether the cluster supports constrained impersonation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_support")]
    pub support: Option<ConstrainedImpersonationSupport>,
    /// What legacy `impersonate` requests get when constrained impersonation is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_legacy_fallback")]
    pub legacy_fallback: Option<LegacyImpersonationFallback>,
    /// Deny impersonation verbs breakglass does not recognise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "some_true")]
    pub deny_unrecognised_verbs: Option<bool>,
    /// Impersonation mode used to probe support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_probe_mode")]
    pub probe_mode: Option<String>,
}

fn default_support() -> Option<ConstrainedImpersonationSupport> {
    Some(ConstrainedImpersonationSupport::Auto)
}

fn default_legacy_fallback() -> Option<LegacyImpersonationFallback> {
    Some(LegacyImpersonationFallback::Allow)
}

fn default_probe_mode() -> Option<String> {
    Some("user-info".to_owned())
}

string_enum! {
    /// Whether a cluster supports constrained impersonation.
    pub enum ConstrainedImpersonationSupport {
        /// Detect it.
        Auto = "Auto",
        /// Supported.
        Enabled = "Enabled",
        /// Not supported.
        Disabled = "Disabled",
    }
}

string_enum! {
    /// Treatment of legacy `impersonate` requests.
    pub enum LegacyImpersonationFallback {
        /// Allow.
        Allow = "Allow",
        /// Allow with a warning.
        Warn = "Warn",
        /// Deny.
        Forbidden = "Forbidden",
    }
}

/// Observed state of a ClusterConfig.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfigStatus {
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Ready, RefreshTokenExpired, DegradedAuth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

string_enum! {
    /// Condition types of ClusterConfigs.
    pub enum ClusterConfigConditionType {
        /// The cluster is reachable with the configured credentials.
        Ready = "Ready",
        /// The offline refresh token expired.
        RefreshTokenExpired = "RefreshTokenExpired",
        /// Authentication works through a fallback.
        DegradedAuth = "DegradedAuth",
    }
}

string_enum! {
    /// Condition reasons of ClusterConfigs.
    pub enum ClusterConfigConditionReason {
        /// The kubeconfig works.
        KubeconfigValidated = "KubeconfigValidated",
        /// The Secret does not exist.
        SecretMissing = "SecretMissing",
        /// The Secret lacks the key.
        SecretKeyMissing = "SecretKeyMissing",
        /// The kubeconfig does not parse.
        KubeconfigParseFailed = "KubeconfigParseFailed",
        /// The OIDC configuration works.
        OidcValidated = "OIDCValidated",
        /// No OIDC configuration.
        OidcConfigMissing = "OIDCConfigMissing",
        /// OIDC discovery failed.
        OidcDiscoveryFailed = "OIDCDiscoveryFailed",
        /// Fetching a token failed.
        OidcTokenFetchFailed = "OIDCTokenFetchFailed",
        /// Refreshing a token failed.
        OidcRefreshFailed = "OIDCRefreshFailed",
        /// The CA Secret does not exist.
        OidcCaSecretMissing = "OIDCCASecretMissing",
        /// The refresh token expired.
        RefreshTokenExpired = "RefreshTokenExpired",
        /// The refresh token Secret does not exist.
        RefreshTokenSecretMissing = "RefreshTokenSecretMissing",
        /// Authentication works through a fallback.
        DegradedAuth = "DegradedAuth",
        /// The fallback worked.
        FallbackSucceeded = "FallbackSucceeded",
        /// The cluster cannot be reached.
        ClusterUnreachable = "ClusterUnreachable",
        /// Trust on first use failed.
        TofuFailed = "TOFUFailed",
        /// The spec failed validation.
        ValidationFailed = "ValidationFailed",
        /// Authentication works again.
        AuthRecovered = "AuthRecovered",
    }
}

impl ClusterConfig {
    /// True when the server reported the cluster reachable (`Ready=True`).
    pub fn is_ready(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| s.conditions.as_deref())
            .is_some_and(|c| {
                crate::common::condition_is_true(c, ClusterConfigConditionType::Ready.as_str())
            })
    }
}

impl ClusterConfigSpec {
    /// `authType`, defaulted.
    pub fn auth_type(&self) -> ClusterAuthType {
        self.auth_type.unwrap_or(ClusterAuthType::Kubeconfig)
    }
}
