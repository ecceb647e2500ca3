//! Where everything of a running test environment lives: settings, ports, files.
//!
//! Both the harness (`cargo xtask testenv`) and the test-support API derive every
//! path and address from a [`Settings`] value and the run directory, so the two
//! can never disagree.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Name of the hub cluster.
pub const HUB: &str = "hub";
/// Names of the target clusters.
pub const TARGETS: [&str; 2] = ["target-a", "target-b"];
/// Every cluster, hub first.
pub const CLUSTERS: [&str; 3] = [HUB, TARGETS[0], TARGETS[1]];

/// Namespace on the hub holding ClusterConfigs and kubeconfig Secrets.
pub const SYSTEM_NAMESPACE: &str = "breakglass-system";
/// Key of the kubeconfig inside the kubeconfig Secrets.
pub const KUBECONFIG_SECRET_KEY: &str = "value";
/// User name (client certificate CN) the hub uses on the targets.
pub const HUB_IDENTITY: &str = "breakglass-hub";
/// Name of the IdentityProvider for Dex created on the hub.
pub const IDENTITY_PROVIDER: &str = "testenv-dex";
/// Name of the default MailProvider (mailpit) created on the hub.
pub const MAIL_PROVIDER: &str = "testenv-mailpit";
/// Path of the authorization webhook on the breakglass server; the cluster name is appended.
pub const WEBHOOK_PATH: &str = "/api/breakglass/webhook/authorize/";

/// OIDC client used by people and tests (its id is the token audience the targets accept).
pub const OIDC_CLIENT_ID: &str = "breakglass";
/// Secret of [`OIDC_CLIENT_ID`].
pub const OIDC_CLIENT_SECRET: &str = "breakglass-testenv-secret";
/// Confidential client for automation.
pub const AUTOMATION_CLIENT_ID: &str = "breakglass-automation";
/// Secret of [`AUTOMATION_CLIENT_ID`].
pub const AUTOMATION_CLIENT_SECRET: &str = "breakglass-automation-secret";
/// Public OIDC client of the command-line client (`bgctl`): no secret, any
/// `http://localhost:<port>` redirect, device flow. The `breakglass` client trusts it as a
/// peer, so its tokens carry the `breakglass` audience too (see [`CLI_AUDIENCE_SCOPE`]).
pub const CLI_CLIENT_ID: &str = "breakglass-cli";
/// The public client of the web UI (authorization code + PKCE, redirects to the UI on the
/// webhook address); like the CLI's, a trusted peer of [`OIDC_CLIENT_ID`], and the UI
/// asks for [`CLI_AUDIENCE_SCOPE`] so its tokens carry the `breakglass` audience.
pub const UI_CLIENT_ID: &str = "breakglass-ui";
/// A second public client for the web UI, registered like [`UI_CLIENT_ID`]: the UI's
/// browser test signs in through a second IdentityProvider that names it, to show that
/// the provider chosen on the sign-in page is the one the sign-in goes through.
pub const UI_ALT_CLIENT_ID: &str = "breakglass-ui-alt";
/// Dex cross-client scope the CLI requests so its tokens' `aud` includes [`OIDC_CLIENT_ID`].
pub const CLI_AUDIENCE_SCOPE: &str = "audience:server:client_id:breakglass";
/// Redirect URI registered for test logins (never served; tests read the redirect).
pub const TEST_REDIRECT_URI: &str = "http://127.0.0.1/testenv/callback";
/// Dex connector that asserts user and groups from request headers (test logins).
pub const DEX_HEADER_CONNECTOR: &str = "testusers";

/// Variable naming the run directory (default: `.testenv/` at the repository root).
pub const ENV_DIR: &str = "BREAKGLASS_TESTENV_DIR";
/// Variable with the breakglass server address the targets call (default `127.0.0.1:18080`).
pub const ENV_WEBHOOK_ADDR: &str = "BREAKGLASS_WEBHOOK_ADDR";
/// Variable with the webhook failure policy of the targets (`NoOpinion` or `Deny`).
pub const ENV_FAILURE_POLICY: &str = "BREAKGLASS_TESTENV_FAILURE_POLICY";
/// Variable with the prefix the targets put before OIDC groups (default `oidc:`).
pub const ENV_GROUP_PREFIX: &str = "BREAKGLASS_TESTENV_GROUP_PREFIX";
/// Variable with the first port of the block testenv uses (default 17000).
pub const ENV_PORT_BASE: &str = "BREAKGLASS_TESTENV_PORT_BASE";
/// Variable that makes tests skip (instead of fail) when the environment is not up.
pub const ENV_SKIP: &str = "BREAKGLASS_SKIP_TESTENV";
/// Variable `env` prints with Kafka's bootstrap address, only while Kafka is up.
pub const ENV_KAFKA: &str = "BREAKGLASS_TESTENV_KAFKA";

/// Default address of the breakglass server (webhook) on loopback.
pub const DEFAULT_WEBHOOK_ADDR: &str = "127.0.0.1:18080";
/// Default first port.
pub const DEFAULT_PORT_BASE: u16 = 17000;
/// Default group prefix.
pub const DEFAULT_GROUP_PREFIX: &str = "oidc:";

/// What the webhook authorizer does when the breakglass server cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailurePolicy {
    /// Fall through to "no opinion" (the request is then denied unless RBAC allowed it).
    NoOpinion,
    /// Deny the request.
    Deny,
}

impl FailurePolicy {
    /// The spelling used in `AuthorizationConfiguration`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::NoOpinion => "NoOpinion",
            FailurePolicy::Deny => "Deny",
        }
    }

    /// Parses `NoOpinion` or `Deny` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "noopinion" => Some(FailurePolicy::NoOpinion),
            "deny" => Some(FailurePolicy::Deny),
            _ => None,
        }
    }
}

/// The knobs of an environment. Changing any of them makes `up` restart it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Address of the breakglass server the target apiservers call.
    pub webhook_addr: SocketAddr,
    /// Webhook failure policy on the targets.
    pub failure_policy: FailurePolicy,
    /// Prefix of OIDC groups on the targets.
    pub group_prefix: String,
    /// First port of the block of ports testenv uses.
    pub port_base: u16,
}

/// How far above the port base the breakglass server listens by default (17000 → 18080),
/// outside the block testenv's own components use, so environments on different port
/// bases get different webhook addresses without being told.
pub const WEBHOOK_PORT_OFFSET: u16 = 1080;

/// The webhook address of an environment on `port_base` when none is given:
/// `127.0.0.1:<port_base + 1080>` (`None` past the last port).
pub fn default_webhook_addr(port_base: u16) -> Option<SocketAddr> {
    port_base
        .checked_add(WEBHOOK_PORT_OFFSET)
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            webhook_addr: SocketAddr::from((
                [127, 0, 0, 1],
                DEFAULT_PORT_BASE + WEBHOOK_PORT_OFFSET,
            )),
            failure_policy: FailurePolicy::NoOpinion,
            group_prefix: DEFAULT_GROUP_PREFIX.to_owned(),
            port_base: DEFAULT_PORT_BASE,
        }
    }
}

impl Settings {
    /// Settings from the environment variables, falling back to the defaults.
    pub fn from_env() -> Result<Settings, String> {
        let mut s = Settings::default();
        if let Some(v) = non_empty_var(ENV_PORT_BASE) {
            s.port_base = v
                .parse()
                .map_err(|e| format!("{ENV_PORT_BASE}={v:?} is not a port: {e}"))?;
            s.webhook_addr = default_webhook_addr(s.port_base).ok_or_else(|| {
                format!("{ENV_PORT_BASE}={v}: no room for the webhook port above it; set {ENV_WEBHOOK_ADDR}")
            })?;
        }
        if let Some(v) = non_empty_var(ENV_WEBHOOK_ADDR) {
            s.webhook_addr = v
                .parse()
                .map_err(|e| format!("{ENV_WEBHOOK_ADDR}={v:?} is not an address: {e}"))?;
        }
        if let Some(v) = non_empty_var(ENV_FAILURE_POLICY) {
            s.failure_policy = FailurePolicy::parse(&v)
                .ok_or_else(|| format!("{ENV_FAILURE_POLICY}={v:?}: expected NoOpinion or Deny"))?;
        }
        if let Ok(v) = std::env::var(ENV_GROUP_PREFIX) {
            s.group_prefix = v;
        }
        Ok(s)
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The repository root this crate was built from.
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// The run directory: `$BREAKGLASS_TESTENV_DIR`, or `.testenv/` at the repository root.
pub fn default_run_dir() -> PathBuf {
    match non_empty_var(ENV_DIR) {
        Some(dir) => std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir)),
        None => repo_root().join(".testenv"),
    }
}

/// Ports of one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterPorts {
    /// kube-apiserver secure port.
    pub apiserver: u16,
    /// etcd client port.
    pub etcd_client: u16,
    /// etcd peer port.
    pub etcd_peer: u16,
    /// kube-controller-manager secure port.
    pub controller_manager: u16,
    /// kube-scheduler secure port (targets only).
    pub scheduler: u16,
    /// kwok's kubelet/metrics port (targets only).
    pub kwok: u16,
}

/// Paths and addresses of an environment, derived from the run directory and settings.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Run directory (absolute).
    pub dir: PathBuf,
    /// The settings.
    pub settings: Settings,
}

impl Layout {
    /// A layout for `dir` with `settings`.
    pub fn new(dir: impl Into<PathBuf>, settings: Settings) -> Layout {
        Layout {
            dir: dir.into(),
            settings,
        }
    }

    /// The state file written by `up`.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Directory of certificates and keys.
    pub fn pki_dir(&self) -> PathBuf {
        self.dir.join("pki")
    }

    /// The CA certificate every server certificate chains to.
    pub fn ca_file(&self) -> PathBuf {
        self.pki_dir().join("ca.crt")
    }

    /// Directory of log files.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// Directory of pid files.
    pub fn pid_dir(&self) -> PathBuf {
        self.dir.join("pids")
    }

    /// Directory of one cluster's files.
    pub fn cluster_dir(&self, cluster: &str) -> PathBuf {
        self.dir.join(cluster)
    }

    /// Admin (`system:masters`) kubeconfig of a cluster.
    pub fn kubeconfig(&self, cluster: &str) -> PathBuf {
        self.cluster_dir(cluster).join("admin.kubeconfig")
    }

    /// Kubeconfig of a cluster with the CA but without credentials (for tokens).
    pub fn token_kubeconfig(&self, cluster: &str) -> PathBuf {
        self.cluster_dir(cluster).join("token.kubeconfig")
    }

    /// Kubeconfig of a target as the hub identity (the content of its Secret on the hub).
    pub fn hub_identity_kubeconfig(&self, cluster: &str) -> PathBuf {
        self.cluster_dir(cluster).join("breakglass-hub.kubeconfig")
    }

    /// Index of a cluster in [`CLUSTERS`].
    fn index(cluster: &str) -> u16 {
        match cluster {
            c if c == TARGETS[0] => 1,
            c if c == TARGETS[1] => 2,
            _ => 0,
        }
    }

    /// Ports of a cluster: a block of ten per cluster from the port base.
    pub fn ports(&self, cluster: &str) -> ClusterPorts {
        let b = self.settings.port_base + 10 * Self::index(cluster);
        ClusterPorts {
            apiserver: b,
            etcd_client: b + 1,
            etcd_peer: b + 2,
            controller_manager: b + 3,
            scheduler: b + 4,
            kwok: b + 5,
        }
    }

    /// URL of a cluster's kube-apiserver.
    pub fn server_url(&self, cluster: &str) -> String {
        format!("https://127.0.0.1:{}", self.ports(cluster).apiserver)
    }

    /// Dex HTTPS port.
    pub fn dex_port(&self) -> u16 {
        self.settings.port_base + 100
    }

    /// Dex telemetry (health) port.
    pub fn dex_telemetry_port(&self) -> u16 {
        self.settings.port_base + 101
    }

    /// The OIDC issuer URL (Dex).
    pub fn dex_issuer(&self) -> String {
        format!("https://127.0.0.1:{}/dex", self.dex_port())
    }

    /// SMTP listener of the mail catcher.
    pub fn smtp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.settings.port_base + 125))
    }

    /// HTTP port of the mail catcher (web UI and REST API).
    pub fn mail_http_port(&self) -> u16 {
        self.settings.port_base + 180
    }

    /// Base URL of the mail catcher's REST API.
    pub fn mail_api(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1", self.mail_http_port())
    }

    /// Kafka's client (PLAINTEXT) listener, the bootstrap address.
    pub fn kafka_port(&self) -> u16 {
        self.settings.port_base + 190
    }

    /// Kafka's KRaft controller listener.
    pub fn kafka_controller_port(&self) -> u16 {
        self.settings.port_base + 191
    }

    /// Kafka's bootstrap address, `127.0.0.1:<port>`.
    pub fn kafka_bootstrap(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.kafka_port()))
    }

    /// Directory of Kafka's configuration and storage (`kafka/`).
    pub fn kafka_dir(&self) -> PathBuf {
        self.dir.join("kafka")
    }

    /// URL a target apiserver posts SubjectAccessReviews to.
    pub fn webhook_url(&self, cluster: &str) -> String {
        format!(
            "http://{}{}{}",
            self.settings.webhook_addr, WEBHOOK_PATH, cluster
        )
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn the_webhook_address_follows_the_port_base() {
        assert_eq!(
            Settings::default().webhook_addr.to_string(),
            "127.0.0.1:18080"
        );
        assert_eq!(
            Some(Settings::default().webhook_addr),
            default_webhook_addr(DEFAULT_PORT_BASE)
        );
        assert_eq!(
            default_webhook_addr(21000).map(|a| a.to_string()),
            Some("127.0.0.1:22080".to_owned())
        );
        assert_eq!(default_webhook_addr(65000), None);
    }

    #[test]
    fn ports_do_not_overlap() {
        let l = Layout::new("/x", Settings::default());
        let mut all = vec![
            l.dex_port(),
            l.dex_telemetry_port(),
            l.smtp_addr().port(),
            l.mail_http_port(),
            l.kafka_port(),
            l.kafka_controller_port(),
            l.settings.webhook_addr.port(),
        ];
        for c in CLUSTERS {
            let p = l.ports(c);
            all.extend([
                p.apiserver,
                p.etcd_client,
                p.etcd_peer,
                p.controller_manager,
                p.scheduler,
                p.kwok,
            ]);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn failure_policy_parses() {
        assert_eq!(FailurePolicy::parse("deny"), Some(FailurePolicy::Deny));
        assert_eq!(
            FailurePolicy::parse("NoOpinion"),
            Some(FailurePolicy::NoOpinion)
        );
        assert_eq!(FailurePolicy::parse("allow"), None);
    }
}

/// What `up` records in `state.json` once the environment is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The settings the environment runs with.
    pub settings: Settings,
    /// Cache directory of every component's binaries.
    pub binaries: std::collections::BTreeMap<String, PathBuf>,
    /// The pinned versions it was built from.
    pub versions: std::collections::BTreeMap<String, String>,
    /// The kubectl matching the clusters.
    pub kubectl: PathBuf,
    /// How Kafka runs, when the environment was started (or extended) with `--with kafka`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka: Option<KafkaRuntime>,
}

/// What runs the optional Kafka broker: a Java and the broker's class path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaRuntime {
    /// The Kafka release (`KAFKA_VERSION` in `testenv/versions.env`).
    pub version: String,
    /// The `java` binary (symbolic links resolved, so that it matches `/proc/<pid>/exe`).
    pub java: PathBuf,
    /// Directory holding every jar of the broker's runtime class path.
    pub libs: PathBuf,
}

impl State {
    /// Reads `state.json` of a run directory.
    pub fn read(dir: &Path) -> std::io::Result<State> {
        let text = std::fs::read_to_string(dir.join("state.json"))?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }
}
