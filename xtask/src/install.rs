//! Installation helpers: `cargo xtask target-setup` prints what a target cluster's
//! apiserver needs, `cargo xtask dist` builds the release binaries the container image
//! ships (the Dockerfile runs the same command; a test keeps them equal).

use std::fmt::Write as _;
use std::process::Command;

use anyhow::{Context, bail};

/// Arguments of `cargo xtask target-setup`.
#[derive(Debug, clap::Args)]
pub struct TargetSetupArgs {
    /// Cluster name: the ClusterConfig's name on the hub.
    pub cluster: String,
    /// Base URL of the breakglass server as the target's apiserver reaches it.
    #[arg(long)]
    pub url: String,
    /// CA file (on the apiserver's host) that signs the server's certificate.
    #[arg(long, default_value = "/etc/kubernetes/breakglass-ca.crt")]
    pub ca_file: String,
    /// Where the webhook kubeconfig lives on the apiserver's host.
    #[arg(long, default_value = "/etc/kubernetes/breakglass-webhook.kubeconfig")]
    pub kubeconfig_path: String,
    /// The hub's identity on this cluster (kept away from the webhook).
    #[arg(long, default_value = "breakglass-hub")]
    pub hub_identity: String,
    /// `Deny` (recommended) or `NoOpinion`.
    #[arg(long, default_value = "Deny")]
    pub failure_policy: String,
    /// Cache allowed answers this long (`0s`: no caching, revocations bite at once).
    #[arg(long, default_value = "0s")]
    pub authorized_ttl: String,
    /// Cache denied answers this long (`0s`: no caching, approvals bite at once).
    #[arg(long, default_value = "0s")]
    pub unauthorized_ttl: String,
}

/// `cargo xtask target-setup`.
pub fn target_setup(args: &TargetSetupArgs) -> anyhow::Result<()> {
    print!("{}", render_target_setup(args)?);
    Ok(())
}

/// The files of a target as one multi-document YAML stream, each document headed by the
/// file it belongs in: the AuthorizationConfiguration, the webhook kubeconfig and the
/// RBAC the hub's identity needs (config/rbac/target.yaml).
pub fn render_target_setup(a: &TargetSetupArgs) -> anyhow::Result<String> {
    if !valid_name(&a.cluster) {
        bail!(
            "cluster name {:?} is not a DNS-1123 label (it names a ClusterConfig)",
            a.cluster
        );
    }
    if !(a.url.starts_with("https://") || a.url.starts_with("http://")) {
        bail!("--url must be an http(s) URL, got {:?}", a.url);
    }
    if !matches!(a.failure_policy.as_str(), "Deny" | "NoOpinion") {
        bail!("--failure-policy must be Deny or NoOpinion");
    }
    for (flag, v) in [
        ("authorized-ttl", &a.authorized_ttl),
        ("unauthorized-ttl", &a.unauthorized_ttl),
    ] {
        if !is_duration(v) {
            bail!("--{flag} must be a duration such as 0s, 10s or 1m, got {v:?}");
        }
    }
    let cache = |ttl: &str, cache_key: &str, ttl_key: &str| {
        if ttl == "0s" {
            format!("      {cache_key}: false\n")
        } else {
            format!("      {ttl_key}: {ttl}\n")
        }
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "# Breakglass setup of target cluster {cluster}, printed by `cargo xtask target-setup`.\n\
         # Three files: see docs/install.md (\"Register a target\").\n\
         #\n\
         # ---- 1. /etc/kubernetes/breakglass-authorization.yaml: the apiserver's\n\
         #      --authorization-config (replaces --authorization-mode). Breakglass comes after\n\
         #      Node and RBAC, so it is only asked what RBAC does not already allow.\n\
         apiVersion: apiserver.config.k8s.io/v1\n\
         kind: AuthorizationConfiguration\n\
         authorizers:\n\
         \x20 - type: Node\n\
         \x20   name: node\n\
         \x20 - type: RBAC\n\
         \x20   name: rbac\n\
         \x20 - type: Webhook\n\
         \x20   name: breakglass\n\
         \x20   webhook:\n\
         \x20     timeout: 3s\n\
         \x20     subjectAccessReviewVersion: v1\n\
         \x20     matchConditionSubjectAccessReviewVersion: v1\n\
         \x20     # Deny: when breakglass is unreachable only what RBAC allows works.\n\
         \x20     failurePolicy: {policy}\n\
         \x20     # Cached answers outlive a revocation (allowed) or delay an approval (denied).\n\
         {authorized}{unauthorized}\
         \x20     connectionInfo:\n\
         \x20       type: KubeConfigFile\n\
         \x20       kubeConfigFile: {kubeconfig_path}\n\
         \x20     # Bootstrap, controllers, service accounts and the hub's own identity never\n\
         \x20     # reach the webhook.\n\
         \x20     matchConditions:\n\
         \x20       - expression: \"'system:authenticated' in request.groups\"\n\
         \x20       - expression: \"!request.user.startsWith('system:')\"\n\
         \x20       - expression: \"!('system:serviceaccounts' in request.groups)\"\n\
         \x20       - expression: \"request.user != '{hub}'\"\n\
         ---\n\
         # ---- 2. {kubeconfig_path}: how the apiserver reaches breakglass.\n\
         apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         \x20 - name: breakglass\n\
         \x20   cluster:\n\
         \x20     server: {url}/api/breakglass/webhook/authorize/{cluster}\n\
         \x20     certificate-authority: {ca}\n\
         users:\n\
         \x20 - name: {cluster}\n\
         \x20   # With caller tokens on (docs/webhook.md), add: token: <the cluster's token>\n\
         \x20   user: {{}}\n\
         contexts:\n\
         \x20 - name: webhook\n\
         \x20   context: {{cluster: breakglass, user: {cluster}}}\n\
         current-context: webhook\n\
         ---\n\
         # ---- 3. Apply on the target (kubectl apply -f): what the hub's identity needs there.\n\
         #      Bind it to the identity in the ClusterConfig's kubeconfig Secret.\n",
        cluster = a.cluster,
        policy = a.failure_policy,
        authorized = cache(
            &a.authorized_ttl,
            "cacheAuthorizedRequests",
            "authorizedTTL"
        ),
        unauthorized = cache(
            &a.unauthorized_ttl,
            "cacheUnauthorizedRequests",
            "unauthorizedTTL"
        ),
        kubeconfig_path = a.kubeconfig_path,
        hub = a.hub_identity,
        url = a.url.trim_end_matches('/'),
        ca = a.ca_file,
    );
    out.push_str(TARGET_RBAC);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The target RBAC, one source: config/rbac/target.yaml.
const TARGET_RBAC: &str = include_str!("../../config/rbac/target.yaml");

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn is_duration(v: &str) -> bool {
    let digits = v.trim_end_matches(['s', 'm', 'h']);
    !digits.is_empty() && digits.len() < v.len() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The release build of the shipped binaries: `cargo xtask dist` runs it and the
/// Dockerfile's builder stage runs the same `cargo` command.
pub const RELEASE_BUILD: [&str; 11] = [
    "build",
    "--locked",
    "--release",
    "-p",
    "breakglass-server",
    "--bin",
    "breakglass",
    "-p",
    "bgctl",
    "--bin",
    "bgctl",
];

/// `cargo xtask dist`: the release binaries in target/release.
pub fn dist() -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(RELEASE_BUILD)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("release build failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
