//! The server configuration file (`config.yaml`), in the reference's shape.
//!
//! Settings come from the file first; command-line flags and environment variables
//! override the few settings that operators commonly change per deployment.

use std::path::Path;
use std::time::Duration;

use breakglass_core::debug::session::DebugTimers;
use breakglass_core::duration::GoDuration;
use serde::{Deserialize, Serialize};

/// Errors while reading the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// Path of the file.
        path: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML of the expected shape.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// Path of the file.
        path: String,
        /// What is wrong, with its location.
        message: String,
    },
    /// A value is syntactically fine but not allowed.
    #[error("invalid config: {field}: {message}")]
    Invalid {
        /// Dotted path of the offending key.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// HTTP server settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// Settings of the web UI and the links the server writes (mails, webhook reasons).
    #[serde(default)]
    pub frontend: FrontendConfig,
    /// Hub and spoke cluster settings.
    #[serde(default)]
    pub kubernetes: KubernetesConfig,
    /// Authorization webhook settings (our addition; absent in reference configs).
    #[serde(default)]
    pub webhook: WebhookConfig,
    /// REST API rate limits (our addition; the reference hard-codes its limits).
    #[serde(default)]
    pub rate_limits: crate::rate_limit::RateLimitConfig,
    /// Debug-session timers (the reference has only environment variables for them).
    #[serde(default)]
    pub debug_sessions: DebugSessionsConfig,
    /// Notification e-mail (our addition; SMTP servers are MailProvider objects).
    #[serde(default)]
    pub mail: MailConfig,
    /// Audit pipeline settings (the sinks themselves are AuditConfig objects).
    #[serde(default)]
    pub audit: AuditSettings,
}

/// `mail.*`: server-wide e-mail settings. SMTP servers are MailProvider objects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MailConfig {
    /// Send no e-mail at all (`--disable-email` sets it too).
    #[serde(default)]
    pub disabled: bool,
    /// Directory whose files replace the built-in templates of the same name.
    #[serde(default)]
    pub templates_dir: Option<String>,
    /// A mailing-list address per approver group: approver groups cannot be expanded
    /// to their members without a group sync, so requests go to these addresses.
    #[serde(default)]
    pub group_addresses: std::collections::BTreeMap<String, String>,
}

/// `audit.*`: how the leader reports on the AuditConfigs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditSettings {
    /// How often the leader writes AuditConfig status, a Go duration (default 30s;
    /// at least 1s).
    #[serde(default)]
    pub status_interval: Option<String>,
}

/// `debugSessions.*`: server-wide debug-session timers, Go durations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DebugSessionsConfig {
    /// How long a request may wait for approval, from creation (default 24h).
    /// `DEBUG_SESSION_APPROVAL_TIMEOUT` overrides it.
    #[serde(default)]
    pub approval_timeout: Option<String>,
    /// How long an ended session is kept before it is deleted (default 168h).
    /// `DEBUG_SESSION_RETENTION_PERIOD` overrides it.
    #[serde(default)]
    pub retention_period: Option<String>,
}

/// Environment variable overriding `debugSessions.approvalTimeout`.
pub const ENV_DEBUG_APPROVAL_TIMEOUT: &str = "DEBUG_SESSION_APPROVAL_TIMEOUT";
/// Environment variable overriding `debugSessions.retentionPeriod`.
pub const ENV_DEBUG_RETENTION_PERIOD: &str = "DEBUG_SESSION_RETENTION_PERIOD";

/// `webhook.*` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfig {
    /// Directory with one file per cluster name holding the bearer token that cluster's
    /// apiserver must send. Unset: the webhook accepts every caller (the reference's
    /// behaviour).
    #[serde(default)]
    pub token_directory: Option<String>,
    /// Answer DenyPolicy denials with `denied: true` (an explicit deny that later
    /// authorizers cannot override) instead of "no opinion".
    #[serde(default)]
    pub explicit_policy_deny: bool,
    /// How long a target cluster's answer to a group check is reused (Go duration;
    /// default 5s, `0s` turns the cache off).
    #[serde(default, rename = "groupCheckCacheTTL")]
    pub group_check_cache_ttl: Option<String>,
    /// How long a fetched target pod is reused for risk scoring (default 3s).
    #[serde(default, rename = "podCacheTTL")]
    pub pod_cache_ttl: Option<String>,
    /// User names (exactly as target apiservers name them) whose ephemeral-container
    /// writes the admission webhook allows without a debug session: the server's own
    /// identity on the targets, whose REST `injectEphemeralContainer` checks the policy
    /// before it writes. Empty: nobody bypasses.
    #[serde(default)]
    pub admission_trusted_users: Vec<String>,
    /// Send every group check to the target as a SubjectAccessReview instead of
    /// answering it from the watched copy of the target's RBAC (for targets whose
    /// authorizer chain holds more than RBAC for the escalated groups).
    #[serde(default, rename = "disableLocalRBAC")]
    pub disable_local_rbac: bool,
    /// RBAC objects (Roles, ClusterRoles and their bindings) one target may hold before
    /// its copy is dropped for SubjectAccessReviews (default 200000), bounding memory.
    #[serde(default, rename = "localRBACMaxObjects")]
    pub local_rbac_max_objects: Option<usize>,
}

/// `server.*` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP server listens on, e.g. `:8080` or `127.0.0.1:8080`.
    #[serde(default = "default_listen_address")]
    pub listen_address: String,
    /// PEM certificate file; with `tlsKeyFile` the server speaks HTTPS.
    #[serde(default)]
    pub tls_cert_file: Option<String>,
    /// PEM private key file.
    #[serde(default)]
    pub tls_key_file: Option<String>,
    /// A second, HTTPS listener for the admission webhooks (target apiservers call
    /// admission webhooks only over TLS). Unset: no HTTPS listener.
    #[serde(default)]
    pub tls: Option<TlsListenerConfig>,
    /// Proxies whose `X-Forwarded-For` is trusted. Empty trusts none.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Origins allowed for CORS, in addition to `frontend.baseURL`.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Hide identity provider names in webhook deny reasons (default true).
    #[serde(default, rename = "hardenedIDPHints")]
    pub hardened_idp_hints: Option<bool>,
    /// HTTP timeouts.
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    /// How long a graceful shutdown may take, as a Go duration.
    #[serde(default)]
    pub shutdown_timeout: Option<String>,
    /// Record webhook activity on sessions (needed for idle timeouts).
    #[serde(default)]
    pub enable_activity_tracking: bool,
    /// Redact group names and subjects in logs.
    #[serde(default)]
    pub redact_logs: bool,
    /// Let the OIDC proxy follow redirects.
    #[serde(default, rename = "allowOIDCProxyRedirects")]
    pub allow_oidc_proxy_redirects: Option<bool>,
    /// Groups (token groups, OIDC prefix stripped) whose members may explain other
    /// users' requests (`POST /api/explain` with `user`). Empty: nobody.
    #[serde(default)]
    pub admin_groups: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen_address: default_listen_address(),
            tls_cert_file: None,
            tls_key_file: None,
            tls: None,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            hardened_idp_hints: None,
            timeouts: TimeoutsConfig::default(),
            shutdown_timeout: None,
            enable_activity_tracking: false,
            redact_logs: false,
            allow_oidc_proxy_redirects: None,
            admin_groups: Vec::new(),
        }
    }
}

/// `server.tls.*`: the HTTPS listener. The certificate and key files are re-read when
/// they change (see [`crate::tls`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsListenerConfig {
    /// Address of the HTTPS listener, e.g. `:8443` or `127.0.0.1:8443`.
    #[serde(default)]
    pub listen_address: String,
    /// PEM certificate chain file (leaf first).
    #[serde(default)]
    pub cert_file: String,
    /// PEM private key file (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key_file: String,
}

fn default_listen_address() -> String {
    ":8080".to_owned()
}

/// `server.timeouts.*`, Go duration strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeoutsConfig {
    /// Whole-request read timeout (default 30s).
    #[serde(default)]
    pub read_timeout: Option<String>,
    /// Header read timeout (default 10s).
    #[serde(default)]
    pub read_header_timeout: Option<String>,
    /// Response write timeout (default 60s).
    #[serde(default)]
    pub write_timeout: Option<String>,
    /// Keep-alive idle timeout (default 120s).
    #[serde(default)]
    pub idle_timeout: Option<String>,
    /// Largest accepted request header block in bytes (default 1 MiB).
    #[serde(default)]
    pub max_header_bytes: Option<u64>,
}

/// `frontend.*` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FrontendConfig {
    /// Public URL of the UI, used in mails and webhook reasons.
    #[serde(default, rename = "baseURL")]
    pub base_url: Option<String>,
    /// Product name shown in the UI and mail subjects.
    #[serde(default)]
    pub branding_name: Option<String>,
    /// `oss` (default), `neutral`, `default` or `telekom`.
    #[serde(default)]
    pub ui_flavour: Option<String>,
}

/// `kubernetes.*` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesConfig {
    /// kubeconfig context for the hub (empty: current context or in-cluster).
    #[serde(default)]
    pub context: Option<String>,
    /// Group prefixes (e.g. `oidc:`) stripped from token groups and tried on spokes.
    #[serde(default)]
    pub oidc_prefixes: Vec<String>,
    /// Interval of the ClusterConfig reachability check, as a Go duration.
    #[serde(default)]
    pub cluster_config_check_interval: Option<String>,
    /// Claim that identifies users in sessions: `email` (default), `preferred_username`, `sub`.
    #[serde(default)]
    pub user_identifier_claim: Option<UserIdentifierClaim>,
    /// Per-spoke circuit breaker.
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreakerConfig>,
}

/// Which token claim names a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserIdentifierClaim {
    /// The `email` claim.
    #[default]
    #[serde(rename = "email")]
    Email,
    /// The `preferred_username` claim.
    #[serde(rename = "preferred_username")]
    PreferredUsername,
    /// The `sub` claim.
    #[serde(rename = "sub")]
    Sub,
}

/// `kubernetes.circuitBreaker.*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// Turn the breaker on.
    #[serde(default)]
    pub enabled: bool,
    /// Consecutive failures that open it (default 3).
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// Successes in half-open state that close it (default 2).
    #[serde(default)]
    pub success_threshold: Option<u32>,
    /// How long it stays open, as a Go duration (default 30s).
    #[serde(default)]
    pub open_duration: Option<String>,
    /// Probes allowed while half-open (default 1).
    #[serde(default)]
    pub half_open_max_requests: Option<u32>,
}

impl Config {
    /// Reads and checks a configuration file. A missing file is an error: a server
    /// started with a typo in its config path must not come up with defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|err| match err {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses configuration text and checks its values.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str(text).map_err(|err| ConfigError::Parse {
                path: String::new(),
                message: err.to_string(),
            })?
        };
        config.check()?;
        Ok(config)
    }

    /// Overrides `server.tls.*` with the values given (flags, environment), then checks
    /// the listener settings again.
    pub fn apply_tls_overrides(
        &mut self,
        listen_address: Option<String>,
        cert_file: Option<String>,
        key_file: Option<String>,
    ) -> Result<(), ConfigError> {
        if listen_address.is_none() && cert_file.is_none() && key_file.is_none() {
            return Ok(());
        }
        let tls = self
            .server
            .tls
            .get_or_insert_with(TlsListenerConfig::default);
        if let Some(v) = listen_address {
            tls.listen_address = v;
        }
        if let Some(v) = cert_file {
            tls.cert_file = v;
        }
        if let Some(v) = key_file {
            tls.key_file = v;
        }
        self.check()
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Some(tls) = &self.server.tls {
            for (field, value) in [
                ("server.tls.listenAddress", &tls.listen_address),
                ("server.tls.certFile", &tls.cert_file),
                ("server.tls.keyFile", &tls.key_file),
            ] {
                if value.trim().is_empty() {
                    return Err(ConfigError::Invalid {
                        field,
                        message: "required when server.tls is set".to_owned(),
                    });
                }
            }
        }
        if self.server.tls_cert_file.is_some() != self.server.tls_key_file.is_some() {
            return Err(ConfigError::Invalid {
                field: "server.tlsCertFile",
                message: "tlsCertFile and tlsKeyFile must be set together".to_owned(),
            });
        }
        for (field, value) in [
            ("server.shutdownTimeout", &self.server.shutdown_timeout),
            (
                "server.timeouts.readTimeout",
                &self.server.timeouts.read_timeout,
            ),
            (
                "server.timeouts.readHeaderTimeout",
                &self.server.timeouts.read_header_timeout,
            ),
            (
                "server.timeouts.writeTimeout",
                &self.server.timeouts.write_timeout,
            ),
            (
                "server.timeouts.idleTimeout",
                &self.server.timeouts.idle_timeout,
            ),
            (
                "kubernetes.clusterConfigCheckInterval",
                &self.kubernetes.cluster_config_check_interval,
            ),
        ] {
            if let Some(value) = value {
                parse_positive_duration(value)
                    .map_err(|message| ConfigError::Invalid { field, message })?;
            }
        }
        for (field, value) in [
            (
                "webhook.groupCheckCacheTTL",
                &self.webhook.group_check_cache_ttl,
            ),
            ("webhook.podCacheTTL", &self.webhook.pod_cache_ttl),
        ] {
            if let Some(value) = value {
                parse_cache_ttl(value)
                    .map_err(|message| ConfigError::Invalid { field, message })?;
            }
        }
        for (field, value) in [
            (
                "debugSessions.approvalTimeout",
                &self.debug_sessions.approval_timeout,
            ),
            (
                "debugSessions.retentionPeriod",
                &self.debug_sessions.retention_period,
            ),
        ] {
            if let Some(value) = value {
                parse_go_duration(value)
                    .map_err(|message| ConfigError::Invalid { field, message })?;
            }
        }
        crate::rate_limit::RateLimits::new(&self.rate_limits, &self.server.trusted_proxies)
            .map_err(|err| ConfigError::Invalid {
                field: match &err {
                    crate::rate_limit::RateLimitConfigError::Zero { field } => field,
                    crate::rate_limit::RateLimitConfigError::Proxy { .. } => {
                        "server.trustedProxies"
                    }
                },
                message: err.to_string(),
            })?;
        if let Some(base) = &self.frontend.base_url
            && !(base.starts_with("https://") || base.starts_with("http://"))
        {
            return Err(ConfigError::Invalid {
                field: "frontend.baseURL",
                message: format!("{base:?} is not an http(s) URL"),
            });
        }
        Ok(())
    }

    /// Group prefixes to strip, longest first so that `oidc:admin:` wins over `oidc:`.
    pub fn oidc_prefixes(&self) -> Vec<String> {
        let mut prefixes: Vec<String> = self
            .kubernetes
            .oidc_prefixes
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect();
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
        prefixes
    }

    /// Hides IDP names in deny reasons unless explicitly turned off.
    pub fn hardened_idp_hints(&self) -> bool {
        self.server.hardened_idp_hints.unwrap_or(true)
    }

    /// Graceful shutdown budget (default 30s).
    pub fn shutdown_timeout(&self) -> Duration {
        duration_or(&self.server.shutdown_timeout, Duration::from_secs(30))
    }
}

/// A positive Go duration (hours at most as the unit, as Go's `time.ParseDuration`).
fn parse_go_duration(value: &str) -> Result<GoDuration, String> {
    let parsed =
        GoDuration::parse(value).map_err(|err| format!("{value:?} is not a duration: {err}"))?;
    if !parsed.is_positive() {
        return Err(format!("{value:?} must be positive"));
    }
    Ok(parsed)
}

impl Config {
    /// Applies the reference's environment variables for the debug-session timers.
    /// The environment wins over the file (as every override of the file does); a
    /// malformed value is an error naming the variable.
    pub fn apply_debug_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        for (var, slot) in [
            (
                ENV_DEBUG_APPROVAL_TIMEOUT,
                &mut self.debug_sessions.approval_timeout,
            ),
            (
                ENV_DEBUG_RETENTION_PERIOD,
                &mut self.debug_sessions.retention_period,
            ),
        ] {
            if let Some(value) = get(var).filter(|v| !v.trim().is_empty()) {
                parse_go_duration(value.trim()).map_err(|message| ConfigError::Invalid {
                    field: var,
                    message,
                })?;
                *slot = Some(value.trim().to_owned());
            }
        }
        Ok(())
    }

    /// The debug-session timers in effect (defaults 24h and 168h).
    pub fn debug_timers(&self) -> DebugTimers {
        let defaults = DebugTimers::default();
        let get = |v: &Option<String>, d| {
            v.as_deref()
                .and_then(|v| parse_go_duration(v).ok())
                .unwrap_or(d)
        };
        DebugTimers {
            approval_timeout: get(
                &self.debug_sessions.approval_timeout,
                defaults.approval_timeout,
            ),
            retention: get(&self.debug_sessions.retention_period, defaults.retention),
        }
    }
}

/// Parses a Go duration that must be positive; the message says what is wrong.
pub fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    let parsed = breakglass_core::duration::GoDuration::parse(value)
        .map_err(|err| format!("{value:?} is not a duration: {err}"))?;
    if !parsed.is_positive() {
        return Err(format!("{value:?} must be positive"));
    }
    u64::try_from(parsed.as_nanos())
        .map(Duration::from_nanos)
        .map_err(|_| format!("{value:?} is out of range"))
}

/// A cache lifetime: a Go duration that may be zero (cache off) but not negative.
pub fn parse_cache_ttl(value: &str) -> Result<Duration, String> {
    let parsed = breakglass_core::duration::GoDuration::parse(value)
        .map_err(|err| format!("{value:?} is not a duration: {err}"))?;
    u64::try_from(parsed.as_nanos())
        .map(Duration::from_nanos)
        .map_err(|_| format!("{value:?} must not be negative"))
}

impl Config {
    /// How often the leader writes AuditConfig status (`audit.statusInterval`).
    pub fn audit_status_interval(&self) -> Duration {
        duration_or(&self.audit.status_interval, Duration::from_secs(30))
            .max(Duration::from_secs(1))
    }

    /// Cache lifetimes of the webhook's target-cluster lookups.
    pub fn webhook_cache(&self) -> (Duration, Duration) {
        let ttl = |v: &Option<String>, d: u64| {
            v.as_deref()
                .and_then(|v| parse_cache_ttl(v).ok())
                .unwrap_or(Duration::from_secs(d))
        };
        (
            ttl(&self.webhook.group_check_cache_ttl, 5),
            ttl(&self.webhook.pod_cache_ttl, 3),
        )
    }
}

fn duration_or(value: &Option<String>, default: Duration) -> Duration {
    value
        .as_deref()
        .and_then(|v| parse_positive_duration(v).ok())
        .unwrap_or(default)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reference_shaped_file_parses() {
        let config = Config::parse(
            "server:\n  listenAddress: 127.0.0.1:8080\n  enableActivityTracking: true\n\
             frontend:\n  baseURL: https://breakglass.example.com\n  brandingName: Breakglass\n\
             kubernetes:\n  oidcPrefixes: ['oidc:', 'keycloak:']\n  userIdentifierClaim: preferred_username\n",
        )
        .unwrap();
        assert_eq!(config.server.listen_address, "127.0.0.1:8080");
        assert!(config.server.enable_activity_tracking);
        assert_eq!(
            config.kubernetes.user_identifier_claim,
            Some(UserIdentifierClaim::PreferredUsername)
        );
        assert_eq!(config.oidc_prefixes(), vec!["keycloak:", "oidc:"]);
        assert!(config.hardened_idp_hints());
    }

    #[test]
    fn webhook_section() {
        let config = Config::parse(
            "webhook:\n  tokenDirectory: /etc/bg/tokens\n  explicitPolicyDeny: true\n  groupCheckCacheTTL: 0s\n",
        )
        .unwrap();
        assert_eq!(
            config.webhook.token_directory.as_deref(),
            Some("/etc/bg/tokens")
        );
        assert!(config.webhook.explicit_policy_deny);
        assert_eq!(
            config.webhook_cache(),
            (Duration::ZERO, Duration::from_secs(3))
        );
        let err = Config::parse("webhook:\n  podCacheTTL: -1s\n").unwrap_err();
        assert!(err.to_string().contains("webhook.podCacheTTL"), "{err}");
        assert_eq!(
            Config::default().webhook_cache(),
            (Duration::from_secs(5), Duration::from_secs(3))
        );
    }

    #[test]
    fn shipped_configs_parse() {
        let testenv = include_str!("../../../config/testenv/config.yaml");
        let config = Config::parse(testenv).unwrap();
        assert_eq!(config.server.listen_address, "127.0.0.1:18080");
    }

    #[test]
    fn debug_session_timers_from_file_and_environment() {
        let mut config =
            Config::parse("debugSessions:\n  approvalTimeout: 30m\n  retentionPeriod: 2h\n")
                .unwrap();
        let t = config.debug_timers();
        assert_eq!(t.approval_timeout.to_string(), "30m0s");
        assert_eq!(t.retention.to_string(), "2h0m0s");
        // The environment wins over the file.
        config
            .apply_debug_env(|v| (v == ENV_DEBUG_APPROVAL_TIMEOUT).then(|| "45s".to_owned()))
            .unwrap();
        assert_eq!(config.debug_timers().approval_timeout.to_string(), "45s");
        assert_eq!(config.debug_timers().retention.to_string(), "2h0m0s");
        // Defaults.
        let d = Config::default().debug_timers();
        assert_eq!(d, DebugTimers::default());
        assert_eq!(d.approval_timeout.to_string(), "24h0m0s");
        assert_eq!(d.retention.to_string(), "168h0m0s");
    }

    #[test]
    fn debug_session_timer_errors_name_the_source() {
        for (text, field) in [
            (
                "debugSessions:\n  approvalTimeout: soon\n",
                "debugSessions.approvalTimeout",
            ),
            (
                "debugSessions:\n  retentionPeriod: -1h\n",
                "debugSessions.retentionPeriod",
            ),
            (
                "debugSessions:\n  retentionPeriod: 0s\n",
                "debugSessions.retentionPeriod",
            ),
            ("debugSessions:\n  approvalTimeot: 1h\n", "approvalTimeot"),
        ] {
            let err = Config::parse(text).unwrap_err();
            assert!(err.to_string().contains(field), "{text}: {err}");
        }
        for var in [ENV_DEBUG_APPROVAL_TIMEOUT, ENV_DEBUG_RETENTION_PERIOD] {
            for bad in ["7d", "1 hour", "-5m"] {
                let err = Config::default()
                    .apply_debug_env(|v| (v == var).then(|| bad.to_owned()))
                    .unwrap_err();
                assert!(err.to_string().contains(var), "{bad}: {err}");
            }
        }
        // Empty variables are ignored.
        let mut c = Config::default();
        c.apply_debug_env(|_| Some(String::new())).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.server.listen_address, ":8080");
        assert_eq!(config.shutdown_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let err = Config::parse("server:\n  listenAdress: :8080\n").unwrap_err();
        assert!(err.to_string().contains("listenAdress"), "{err}");
    }

    #[test]
    fn bad_values_name_the_field() {
        let err = Config::parse("server:\n  shutdownTimeout: soon\n").unwrap_err();
        assert!(err.to_string().contains("server.shutdownTimeout"), "{err}");
        let err = Config::parse("server:\n  tlsCertFile: a.pem\n").unwrap_err();
        assert!(err.to_string().contains("tlsKeyFile"), "{err}");
        let err = Config::parse("frontend:\n  baseURL: ftp://x\n").unwrap_err();
        assert!(err.to_string().contains("frontend.baseURL"), "{err}");
    }

    /// `server.tls` needs all three keys; flags override the file and are checked too.
    #[test]
    fn tls_listener_keys_and_overrides() {
        let c = Config::parse(
            "server:\n  tls: {listenAddress: ':8443', certFile: c.pem, keyFile: k.pem}\nwebhook:\n  admissionTrustedUsers: [breakglass-hub]\n",
        )
        .unwrap();
        let tls = c.server.tls.clone().unwrap();
        assert_eq!(
            (
                tls.listen_address.as_str(),
                tls.cert_file.as_str(),
                tls.key_file.as_str()
            ),
            (":8443", "c.pem", "k.pem")
        );
        assert_eq!(c.webhook.admission_trusted_users, ["breakglass-hub"]);
        let err = Config::parse("server:\n  tls: {listenAddress: ':8443', certFile: c.pem}\n")
            .unwrap_err();
        assert!(err.to_string().contains("server.tls.keyFile"), "{err}");

        let mut c = Config::default();
        c.apply_tls_overrides(None, None, None).unwrap();
        assert!(c.server.tls.is_none());
        let err = c
            .apply_tls_overrides(Some("127.0.0.1:8443".into()), Some("c.pem".into()), None)
            .unwrap_err();
        assert!(err.to_string().contains("server.tls.keyFile"), "{err}");
        c.apply_tls_overrides(None, None, Some("k.pem".into()))
            .unwrap();
        assert_eq!(c.server.tls.unwrap().listen_address, "127.0.0.1:8443");
    }
}
