//! `cargo xtask testenv`: the local test environment (see docs/testenv.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use breakglass_testenv::harness::{self, UpOptions};
use breakglass_testenv::layout::{self, FailurePolicy, Layout, Settings, State};

/// Arguments of `cargo xtask testenv`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Run directory (default: `.testenv/` at the repository root).
    #[arg(long, global = true, env = layout::ENV_DIR)]
    dir: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Build the binaries (or find them in the cache) without starting anything.
    Build {
        /// Optional components to fetch too.
        #[arg(long = "with", value_enum, value_delimiter = ',')]
        with: Vec<Optional>,
    },
    /// Build if needed, then start the environment (does nothing if it is already up).
    Up(UpArgs),
    /// Stop every process of the environment.
    Down,
    /// Tell which components are up, healthy, and how much memory they use.
    Status,
    /// Print `export NAME=value` lines for tests and shells: `eval "$(cargo xtask testenv env)"`.
    Env,
    /// Print a Dex ID token of a test user (requester, requester2, approver, approver2,
    /// nobody, admin, automation), for `kubectl --token`.
    Token {
        /// Short name or e-mail address of the user.
        user: String,
        /// Use the password grant (the token then carries no groups).
        #[arg(long)]
        password_grant: bool,
    },
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// Restart even if an environment with the same settings is up.
    #[arg(long)]
    restart: bool,
    /// Address of the breakglass server the target apiservers call.
    #[arg(long, env = layout::ENV_WEBHOOK_ADDR)]
    webhook_addr: Option<SocketAddr>,
    /// Webhook failure policy on the targets: NoOpinion or Deny.
    #[arg(long, env = layout::ENV_FAILURE_POLICY, value_parser = parse_policy)]
    failure_policy: Option<FailurePolicy>,
    /// Prefix of OIDC groups on the targets.
    #[arg(long, env = layout::ENV_GROUP_PREFIX)]
    group_prefix: Option<String>,
    /// First port of the block of ports testenv uses.
    #[arg(long, env = layout::ENV_PORT_BASE)]
    port_base: Option<u16>,
    /// Optional components to run too (added to an environment that is already up;
    /// they keep running until `down`).
    #[arg(long = "with", value_enum, value_delimiter = ',')]
    with: Vec<Optional>,
}

/// Optional components of the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Optional {
    /// Apache Kafka (KRaft, one node) from Maven Central, run with the machine's Java.
    Kafka,
}

fn parse_policy(s: &str) -> Result<FailurePolicy, String> {
    FailurePolicy::parse(s).ok_or_else(|| format!("{s:?}: expected NoOpinion or Deny"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(d) => std::path::absolute(&d).context("resolving the run directory")?,
        None => layout::default_run_dir(),
    };
    // Commands other than `up` talk to whatever is running: use its settings.
    let running = State::read(&dir).ok().map(|s| s.settings);
    let existing = || -> anyhow::Result<Layout> {
        let settings = match &running {
            Some(s) => s.clone(),
            None => Settings::from_env().map_err(anyhow::Error::msg)?,
        };
        Ok(Layout::new(dir.clone(), settings))
    };
    match args.command {
        Command::Build { with } => harness::build(with.contains(&Optional::Kafka)).map(|_| ()),
        Command::Up(up) => {
            let mut settings = Settings::default();
            if let Some(p) = up.port_base {
                settings.port_base = p;
                settings.webhook_addr = breakglass_testenv::layout::default_webhook_addr(p)
                    .ok_or_else(|| {
                        anyhow::anyhow!("--port-base {p}: no room for the webhook port above it; give --webhook-addr")
                    })?;
            }
            if let Some(a) = up.webhook_addr {
                settings.webhook_addr = a;
            }
            if let Some(p) = up.failure_policy {
                settings.failure_policy = p;
            }
            if let Some(g) = up.group_prefix {
                settings.group_prefix = g;
            }
            // A running environment on other ports must be stopped on its own ports.
            if let Some(old) = running.filter(|old| old.port_base != settings.port_base) {
                harness::down(&Layout::new(dir.clone(), old))?;
            }
            harness::up(&UpOptions {
                layout: Layout::new(dir, settings),
                restart: up.restart,
                kafka: up.with.contains(&Optional::Kafka),
            })
        }
        Command::Down => harness::down(&existing()?),
        Command::Status => harness::status(&existing()?),
        Command::Env => harness::env(&existing()?),
        Command::Token {
            user,
            password_grant,
        } => {
            println!("{}", harness::token(&existing()?, &user, password_grant)?);
            Ok(())
        }
    }
}
