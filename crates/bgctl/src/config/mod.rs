//! The config file: contexts (which server), OIDC providers (how to log in) and settings.
//!
//! YAML with kebab-case keys, the reference's model. Unknown keys are an error naming
//! the key's path, so a typo never silently changes behaviour. Files are written 0600
//! through a temporary file and a rename, so a crash never leaves half a config.

mod file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use file::{load, read_bounded, save, write_private};

use crate::output::Format;

/// `settings.output-format` (kept apart from [`Format`] so the file's spelling is fixed
/// here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// Aligned columns.
    Table,
    /// More columns.
    Wide,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Table => Self::Table,
            OutputFormat::Wide => Self::Wide,
            OutputFormat::Json => Self::Json,
            OutputFormat::Yaml => Self::Yaml,
        }
    }
}

/// The only config version this client writes and reads.
pub const VERSION: &str = "v1";

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Format version (`v1`).
    #[serde(default = "version")]
    pub version: String,
    /// The context commands use unless `--context` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// Named OIDC providers, referenced by contexts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oidc_providers: Vec<OidcProvider>,
    /// Named servers with their login.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<Context>,
    /// Defaults for every command.
    #[serde(default, skip_serializing_if = "Settings::is_default")]
    pub settings: Settings,
}

fn version() -> String {
    VERSION.to_owned()
}

/// How tokens are obtained from an OIDC provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum GrantType {
    /// Browser login, authorization code with PKCE and a loopback redirect.
    #[default]
    AuthorizationCode,
    /// Device code: a URL and a code to enter on any device with a browser.
    DeviceCode,
    /// Machine-to-machine with the client's secret.
    ClientCredentials,
    /// Resource-owner password (automation only; discouraged).
    Password,
}

/// Which token of a login is sent to the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// The ID token (its audience is the client id; what kubectl's OIDC uses too).
    #[default]
    IdToken,
    /// The access token.
    AccessToken,
}

/// One OIDC provider (or a context's inline provider, which has no name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OidcProvider {
    /// Name contexts refer to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Issuer URL; discovery is read from `<authority>/.well-known/openid-configuration`.
    pub authority: String,
    /// OAuth client id.
    pub client_id: String,
    /// Client secret (confidential clients only; prefer the `-env` or `-file` forms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Environment variable holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// File holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// Login flow (default authorization-code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<GrantType>,
    /// PEM CA bundle trusted for the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Scopes (default `openid email profile offline_access`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The reference's older switch for the device-code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_code_flow: Option<bool>,
    /// The reference's switch to skip TLS verification. Only `false` is accepted: a
    /// token endpoint without verified TLS hands credentials to anyone; use `ca-file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Extra query parameters of the authorization URL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_auth_params: BTreeMap<String, String>,
    /// Host of the loopback redirect URI: `127.0.0.1` (default, RFC 8252) or
    /// `localhost` (for providers that only accept that name, such as Dex before 2.42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_host: Option<String>,
    /// Token claim naming the user, as the server reads it (default `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_claim: Option<String>,
    /// Which token to send to the server (default id-token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenKind>,
}

impl OidcProvider {
    /// The effective login flow.
    pub fn grant(&self) -> GrantType {
        match (self.grant_type, self.device_code_flow) {
            (Some(g), _) => g,
            (None, Some(true)) => GrantType::DeviceCode,
            (None, _) => GrantType::AuthorizationCode,
        }
    }

    /// The scopes to request.
    pub fn effective_scopes(&self) -> Vec<String> {
        if self.scopes.is_empty() {
            DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
        } else {
            self.scopes.clone()
        }
    }

    /// The client secret from wherever it is configured; `None` for public clients.
    pub fn secret(&self) -> anyhow::Result<Option<String>> {
        use anyhow::Context as _;
        if let Some(s) = &self.client_secret {
            return Ok(Some(s.clone()));
        }
        if let Some(var) = &self.client_secret_env {
            let v = std::env::var(var)
                .with_context(|| format!("client-secret-env: variable {var} is not set"))?;
            return Ok(Some(v));
        }
        if let Some(path) = &self.client_secret_file {
            let v = std::fs::read_to_string(path)
                .with_context(|| format!("client-secret-file: reading {}", path.display()))?;
            return Ok(Some(v.trim().to_owned()));
        }
        Ok(None)
    }
}

/// Scopes requested when a provider names none.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// A named server and how to log in to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Context {
    /// Name (`bgctl config use NAME`).
    pub name: String,
    /// Server URL.
    pub server: String,
    /// Name of an entry of `oidc-providers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_provider: Option<String>,
    /// A provider defined right here instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcProvider>,
    /// PEM CA bundle trusted for the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The reference's switch to skip TLS verification. Only `false` is accepted (the
    /// bearer token would go to anyone on the path); use `ca-file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
}

/// Where tokens are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TokenStorage {
    /// `tokens.json` next to the config file, mode 0600.
    #[default]
    File,
    /// The OS keychain (not supported by this build).
    Keychain,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Color {
    /// Only on a terminal and without `NO_COLOR`.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Defaults for every command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Settings {
    /// Default of `-o`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<OutputFormat>,
    /// Colour output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    /// Default page size of list commands (1–1000; 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// Per-request timeout, e.g. `30s`, `2m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Where tokens are kept (only `file` in this build).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_storage: Option<TokenStorage>,
}

impl Settings {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The request timeout, when set.
    pub fn timeout(&self) -> anyhow::Result<Option<std::time::Duration>> {
        self.timeout
            .as_deref()
            .map(|t| parse_duration(t).map_err(|e| anyhow::anyhow!("settings.timeout: {e}")))
            .transpose()
    }
}

/// Parses `90`, `90s`, `5m`, `1h` (bounded to a day).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 5m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{text:?}: unit must be s, m or h")),
    };
    if secs == 0 || secs > 86_400 {
        return Err(format!("{text:?} must be between 1s and 24h"));
    }
    Ok(std::time::Duration::from_secs(secs))
}

impl Config {
    /// Checks what the types cannot: unique names, references that resolve, no
    /// insecure TLS. Errors name the offending key's path.
    pub fn validate(&self) -> anyhow::Result<()> {
        let insecure = |p: &OidcProvider, at: &str| {
            anyhow::ensure!(
                p.insecure_skip_tls_verify != Some(true),
                "{at}.insecure-skip-tls-verify: not allowed; trust the provider's CA with ca-file"
            );
            anyhow::ensure!(!p.authority.is_empty(), "{at}.authority: must not be empty");
            anyhow::ensure!(!p.client_id.is_empty(), "{at}.client-id: must not be empty");
            Ok(())
        };
        for (i, p) in self.oidc_providers.iter().enumerate() {
            let at = format!("oidc-providers[{i}]");
            anyhow::ensure!(!p.name.is_empty(), "{at}.name: must not be empty");
            anyhow::ensure!(
                self.oidc_providers[..i].iter().all(|q| q.name != p.name),
                "{at}.name: {:?} is defined twice",
                p.name
            );
            insecure(p, &at)?;
        }
        for (i, c) in self.contexts.iter().enumerate() {
            let at = format!("contexts[{i}]");
            anyhow::ensure!(!c.name.is_empty(), "{at}.name: must not be empty");
            anyhow::ensure!(
                self.contexts[..i].iter().all(|d| d.name != c.name),
                "{at}.name: {:?} is defined twice",
                c.name
            );
            anyhow::ensure!(
                c.insecure_skip_tls_verify != Some(true),
                "{at}.insecure-skip-tls-verify: not allowed; trust the server's CA with ca-file"
            );
            check_server_url(&c.server).map_err(|e| anyhow::anyhow!("{at}.server: {e}"))?;
            anyhow::ensure!(
                !(c.oidc.is_some() && c.oidc_provider.is_some()),
                "{at}: set oidc-provider or oidc, not both"
            );
            if let Some(p) = &c.oidc {
                insecure(p, &format!("{at}.oidc"))?;
            }
            if let Some(name) = &c.oidc_provider {
                anyhow::ensure!(
                    self.provider(name).is_some(),
                    "{at}.oidc-provider: {name:?} is not in oidc-providers"
                );
            }
        }
        if let Some(cur) = &self.current_context {
            anyhow::ensure!(
                self.context(cur).is_some(),
                "current-context: {cur:?} is not in contexts"
            );
        }
        if let Some(n) = self.settings.page_size {
            anyhow::ensure!(
                (1..=1000).contains(&n),
                "settings.page-size: {n} is not between 1 and 1000"
            );
        }
        self.settings.timeout()?;
        anyhow::ensure!(
            self.settings.token_storage != Some(TokenStorage::Keychain),
            "settings.token-storage: keychain is not supported by this build; use file"
        );
        Ok(())
    }

    /// The context named `name`.
    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Option<&OidcProvider> {
        self.oidc_providers.iter().find(|p| p.name == name)
    }

    /// The OIDC provider of a context and the key its tokens are cached under.
    pub fn provider_of(&self, ctx: &Context) -> anyhow::Result<Option<(String, OidcProvider)>> {
        if let Some(inline) = &ctx.oidc {
            return Ok(Some((format!("context:{}", ctx.name), inline.clone())));
        }
        let Some(name) = &ctx.oidc_provider else {
            return Ok(None);
        };
        let p = self.provider(name).ok_or_else(|| {
            anyhow::anyhow!(
                "context {:?} refers to oidc-provider {name:?}, which is not in the config",
                ctx.name
            )
        })?;
        Ok(Some((name.clone(), p.clone())))
    }

    /// A copy with every client secret replaced, for printing.
    pub fn redacted(&self) -> Self {
        let mut c = self.clone();
        let hide = |p: &mut OidcProvider| {
            if p.client_secret.is_some() {
                p.client_secret = Some(REDACTED.to_owned());
            }
        };
        c.oidc_providers.iter_mut().for_each(hide);
        c.contexts
            .iter_mut()
            .filter_map(|x| x.oidc.as_mut())
            .for_each(hide);
        c
    }
}

/// Checks a server URL: absolute `http` or `https` with a host.
pub fn check_server_url(server: &str) -> Result<(), String> {
    let u = url::Url::parse(server).map_err(|e| format!("{server:?} is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!("{server:?} must be an http(s) URL with a host"));
    }
    Ok(())
}

/// What `config view` shows instead of a secret.
pub const REDACTED: &str = "REDACTED";

/// The config file used: `--config`/`BGCTL_CONFIG`, else `<user config dir>/bgctl/config.yaml`.
pub fn path(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let dir = dirs::config_dir()
        .ok_or_else(|| anyhow::anyhow!("no user config directory; pass --config"))?;
    Ok(dir.join("bgctl").join("config.yaml"))
}

/// The token cache next to a config file.
pub fn tokens_path(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .map_or_else(|| PathBuf::from("tokens.json"), |d| d.join("tokens.json"))
}

#[cfg(test)]
mod tests;
