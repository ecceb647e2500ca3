//! `bgctl`, the breakglass command-line client.

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(
    test,
    allow(
        clippy::too_many_lines,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod auth;
mod completion;
mod config;
mod config_cmd;
mod context;
mod debug;
mod escalation;
mod kubectl;
mod manifest;
mod output;
mod session;
mod validate;
mod version;
mod why;

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(name = "bgctl", version, about = "Command-line client for breakglass")]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command accepts; each also reads an environment variable.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Config file (default: <user config dir>/bgctl/config.yaml).
    #[arg(long, global = true, env = "BGCTL_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Context to use instead of the config's current context.
    #[arg(short = 'c', long, global = true, env = "BGCTL_CONTEXT")]
    pub context: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, global = true, env = "BGCTL_OUTPUT", value_enum)]
    pub output: Option<output::Format>,
    /// Leave out table headers.
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Server URL; with --token, the config file is not read at all.
    #[arg(long, global = true, env = "BGCTL_SERVER")]
    pub server: Option<String>,
    /// Bearer token to use instead of the cached login.
    #[arg(long, global = true, env = "BGCTL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Never prompt or open a browser.
    #[arg(long, global = true, env = "BGCTL_NON_INTERACTIVE")]
    pub non_interactive: bool,
    /// Print request ids and more detail on errors.
    #[arg(short = 'v', long, global = true, env = "BGCTL_VERBOSE")]
    pub verbose: bool,
}

/// The subcommands; each lives in its own module, which also holds its help text.
#[derive(Debug, Subcommand)]
enum Command {
    /// Manage contexts and OIDC providers in the config file.
    Config(config_cmd::Args),
    /// Log in, show the login, log out.
    Auth(auth::Args),
    /// Breakglass sessions: request, approve, follow.
    Session(session::Args),
    /// Escalations available to you.
    Escalation(escalation::Args),
    /// Debug sessions, their templates and kubectl-debug operations.
    Debug(debug::Args),
    /// Explain why a request is allowed or denied on a cluster.
    Why(why::Args),
    /// Run kubectl; on Forbidden, offer an escalation that allows the request.
    Kubectl(kubectl::Args),
    /// Print a shell completion script.
    Completion(completion::Args),
    /// Print the client's (and the server's) version.
    Version(version::Args),
    // No doc comment: it would replace the long help `validate::Args` carries.
    Validate(validate::Args),
}

fn main() -> ExitCode {
    // Usage errors (unknown flag, missing required flag) exit 2 from clap itself.
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(args) => validate::run(
            args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        )
        .map(|s| s.exit_code()),
        Command::Completion(args) => completion::run(args),
        other => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(run(&cli.global, other)),
            Err(e) => Err(anyhow::anyhow!("cannot start the runtime: {e}")),
        },
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(global: &Global, command: &Command) -> anyhow::Result<u8> {
    match command {
        Command::Config(a) => config_cmd::run(global, a).await,
        Command::Auth(a) => auth::run(global, a).await,
        Command::Session(a) => session::run(global, a).await,
        Command::Escalation(a) => escalation::run(global, a).await,
        Command::Debug(a) => debug::run(global, a).await,
        Command::Why(a) => why::run(global, a).await,
        Command::Kubectl(a) => kubectl::run(global, a).await,
        Command::Version(a) => version::run(global, a).await,
        Command::Validate(_) | Command::Completion(_) => Ok(0),
    }
}
