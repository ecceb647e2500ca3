//! The `breakglass` hub server.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use breakglass_server::app::Settings;
use breakglass_server::config::{Config, parse_positive_duration};
use breakglass_server::leader::{Election, Timing};
use breakglass_server::{Options, run};
use clap::{ArgAction, Parser};
use tokio::io::AsyncReadExt;

/// Command-line options of the hub server. Every flag can also be set through the
/// environment variable named with it.
#[derive(Debug, Parser)]
#[command(
    name = "breakglass",
    version,
    about = "Just-in-time access for Kubernetes fleets: the hub server"
)]
struct Args {
    /// Configuration file.
    #[arg(long, env = "BREAKGLASS_CONFIG_PATH", default_value = "./config.yaml")]
    config_path: PathBuf,
    /// Listen address, overriding `server.listenAddress` (e.g. `:8080`, `127.0.0.1:8080`).
    #[arg(long, env = "BREAKGLASS_LISTEN_ADDRESS")]
    listen_address: Option<String>,
    /// Address of the HTTPS listener for admission webhooks, overriding `server.tls.listenAddress`.
    #[arg(long, env = "BREAKGLASS_TLS_LISTEN_ADDRESS")]
    tls_listen_address: Option<String>,
    /// PEM certificate of the HTTPS listener, overriding `server.tls.certFile`.
    #[arg(long, env = "BREAKGLASS_TLS_CERT_FILE")]
    tls_cert_file: Option<String>,
    /// PEM private key of the HTTPS listener, overriding `server.tls.keyFile`.
    #[arg(long, env = "BREAKGLASS_TLS_KEY_FILE")]
    tls_key_file: Option<String>,
    /// Debug logging.
    #[arg(long, env = "BREAKGLASS_DEBUG")]
    debug: bool,
    /// Namespace of this pod (the Lease lives here unless --leader-elect-namespace is set).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pod_namespace: String,
    /// Serve the REST API.
    #[arg(long, env = "ENABLE_API", default_value_t = true, action = ArgAction::Set)]
    enable_api: bool,
    /// Serve the web UI (reserved: the UI is not bundled yet).
    #[arg(long, env = "ENABLE_FRONTEND", default_value_t = true, action = ArgAction::Set)]
    enable_frontend: bool,
    /// Run the session timers (expiry, approval timeout, activation, retention).
    #[arg(long, env = "ENABLE_CLEANUP", default_value_t = true, action = ArgAction::Set)]
    enable_cleanup: bool,
    /// Run the escalation and ClusterConfig reconcilers.
    #[arg(long, env = "ENABLE_CONTROLLERS", default_value_t = true, action = ArgAction::Set)]
    enable_controllers: bool,
    /// Serve the admission webhooks (reserved: they are served on the HTTPS listener
    /// whenever `server.tls` is set).
    #[arg(long, env = "ENABLE_WEBHOOKS", default_value_t = true, action = ArgAction::Set)]
    enable_webhooks: bool,
    /// Elect a leader on a Lease so several replicas can run; only the leader writes.
    #[arg(long, env = "ENABLE_LEADER_ELECTION", default_value_t = true, action = ArgAction::Set)]
    enable_leader_election: bool,
    /// Namespace of the Lease (default: --pod-namespace).
    #[arg(long, env = "LEADER_ELECT_NAMESPACE")]
    leader_elect_namespace: Option<String>,
    /// Name of the Lease.
    #[arg(long, env = "LEADER_ELECT_ID", default_value = "breakglass.telekom.io")]
    leader_elect_id: String,
    /// This replica's identity in the Lease (default: pod name or host name, plus a random suffix).
    #[arg(long, env = "LEADER_ELECT_IDENTITY")]
    leader_elect_identity: Option<String>,
    /// How long the Lease stays valid without renewal, as a Go duration (whole seconds).
    #[arg(long, env = "LEADER_ELECT_LEASE_DURATION", default_value = "15s")]
    leader_elect_lease_duration: String,
    /// The leader stops its writers when it could not renew for this long; shorter
    /// than the lease duration.
    #[arg(long, env = "LEADER_ELECT_RENEW_DEADLINE", default_value = "10s")]
    leader_elect_renew_deadline: String,
    /// Time between attempts to acquire or renew the Lease.
    #[arg(long, env = "LEADER_ELECT_RETRY_PERIOD", default_value = "2s")]
    leader_elect_retry_period: String,
    /// How often the leader probes every cluster, as a Go duration
    /// (default: `kubernetes.clusterConfigCheckInterval`, else 10m).
    #[arg(long, env = "CLUSTER_CONFIG_CHECK_INTERVAL")]
    cluster_config_check_interval: Option<String>,
    /// How often webhook activity is written to sessions, as a Go duration.
    #[arg(
        long,
        env = "BREAKGLASS_ACTIVITY_FLUSH_INTERVAL",
        default_value = "30s"
    )]
    activity_flush_interval: String,
    /// Send no notification e-mail at all (overrides `mail.disabled`).
    #[arg(long, env = "BREAKGLASS_DISABLE_EMAIL")]
    disable_email: bool,
    /// Exit when standard input closes (for supervisors and tests that own the process).
    #[arg(long, hide = true)]
    exit_on_stdin_eof: bool,
}

fn duration(value: &str, flag: &str) -> anyhow::Result<Duration> {
    parse_positive_duration(value).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
}

/// The election's timing from the flags; every Lease request is bounded by the retry
/// period and by half the renew deadline (an attempt is a read and a write).
fn election_timing(args: &Args) -> anyhow::Result<Timing> {
    let lease = duration(
        &args.leader_elect_lease_duration,
        "leader-elect-lease-duration",
    )?;
    let renew_deadline = duration(
        &args.leader_elect_renew_deadline,
        "leader-elect-renew-deadline",
    )?;
    let retry = duration(&args.leader_elect_retry_period, "leader-elect-retry-period")?;
    if lease.subsec_nanos() != 0 {
        anyhow::bail!("--leader-elect-lease-duration: must be whole seconds, got {lease:?}");
    }
    let timing = Timing {
        lease,
        renew_deadline,
        retry,
        call_timeout: retry.min(renew_deadline / 2),
    };
    timing
        .validate()
        .map_err(|e| anyhow::anyhow!("leader election flags: {e}"))?;
    Ok(timing)
}

fn identity(args: &Args) -> String {
    if let Some(id) = &args.leader_elect_identity {
        return id.clone();
    }
    let host = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "breakglass".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", &suffix[..8])
}

async fn shutdown_signal(exit_on_stdin_eof: bool) {
    let stdin_closed = async {
        if exit_on_stdin_eof {
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 64];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        } else {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
        () = stdin_closed => {}
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = if args.debug { "debug" } else { "info" };
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .init();
    breakglass_server::install_crypto_provider();

    let mut config = Config::load(&args.config_path)
        .with_context(|| format!("loading {}", args.config_path.display()))?;
    config
        .apply_debug_env(|var| std::env::var(var).ok())
        .context("debug-session timers from the environment")?;
    if args.disable_email {
        config.mail.disabled = true;
    }
    if let Some(addr) = &args.listen_address {
        config.server.listen_address = addr.clone();
    }
    config
        .apply_tls_overrides(
            args.tls_listen_address.clone(),
            args.tls_cert_file.clone(),
            args.tls_key_file.clone(),
        )
        .context("HTTPS listener flags")?;
    let check = args
        .cluster_config_check_interval
        .clone()
        .or_else(|| config.kubernetes.cluster_config_check_interval.clone())
        .unwrap_or_else(|| "10m".to_owned());
    let identity = identity(&args);
    let lock_namespace = args
        .leader_elect_namespace
        .clone()
        .unwrap_or_else(|| args.pod_namespace.clone());
    let settings = Settings {
        activity_flush_interval: duration(
            &args.activity_flush_interval,
            "activity-flush-interval",
        )?,
        cluster_check_interval: duration(&check, "cluster-config-check-interval")?,
        lock_namespace,
        identity: identity.clone(),
        ..Settings::default()
    };

    let kube_options = kube::config::KubeConfigOptions {
        context: config.kubernetes.context.clone().filter(|c| !c.is_empty()),
        ..Default::default()
    };
    let kube_config = match kube::Config::from_kubeconfig(&kube_options).await {
        Ok(c) => c,
        Err(kubeconfig_err) => kube::Config::incluster().map_err(|incluster_err| {
            anyhow::anyhow!(
                "no hub cluster credentials: kubeconfig: {kubeconfig_err}; in-cluster: {incluster_err}"
            )
        })?,
    };
    let hub = kube::Client::try_from(kube_config).context("building the hub client")?;

    let timing = election_timing(&args)?;
    let election = args.enable_leader_election.then(|| Election {
        namespace: args
            .leader_elect_namespace
            .clone()
            .unwrap_or_else(|| args.pod_namespace.clone()),
        lease: args.leader_elect_id.clone(),
        identity,
        timing,
    });
    if !args.enable_webhooks || !args.enable_frontend {
        tracing::debug!("admission webhooks and the UI are not served by this version");
    }
    let options = Options {
        config,
        settings,
        hub,
        enable_api: args.enable_api,
        enable_cleanup: args.enable_cleanup,
        enable_controllers: args.enable_controllers,
        election,
    };
    run(options, shutdown_signal(args.exit_on_stdin_eof))
        .await
        .context("breakglass server")?;
    Ok(())
}
