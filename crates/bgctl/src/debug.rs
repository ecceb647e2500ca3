//! `bgctl debug`: debug sessions ([`sessions`]), their catalogue — templates and pod
//! templates ([`catalogue`]) — and the kubectl-debug operations ([`ops`]).

use crate::Global;

mod catalogue;
mod ops;
mod sessions;

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Request, decide on, join and end debug sessions.
    Session(sessions::Args),
    /// Debug session templates you may request, and where.
    Template(catalogue::TemplateArgs),
    /// Debug pod templates.
    PodTemplate(catalogue::PodTemplateArgs),
    /// kubectl-debug operations of an active session: ephemeral containers, pod
    /// copies, node debug pods.
    Kubectl(ops::Args),
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    match &args.command {
        Cmd::Session(a) => sessions::run(global, a).await,
        Cmd::Template(a) => catalogue::run_templates(global, a).await,
        Cmd::PodTemplate(a) => catalogue::run_pod_templates(global, a).await,
        Cmd::Kubectl(a) => ops::run(global, a).await,
    }
}
