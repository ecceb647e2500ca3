//! `bgctl debug kubectl inject|copy-pod|node-debug`: the kubectl-debug operations of
//! an active debug session, done by the server on your behalf.

use anyhow::Context as _;
use breakglass_api::rest::debug::{CopyRequest, InjectRequest, NodeRequest};

use crate::Global;
use crate::output::{Printer, Table, client_error};

/// Arguments of `debug kubectl`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Add an ephemeral debug container to a pod.
    Inject(InjectArgs),
    /// Create a copy of a pod to debug (deleted with the session).
    CopyPod(CopyArgs),
    /// Create a debug pod on a node.
    NodeDebug(NodeArgs),
}

#[derive(Debug, clap::Args)]
struct InjectArgs {
    /// Debug session name.
    session: String,
    /// Namespace of the pod.
    #[arg(short = 'n', long)]
    namespace: String,
    /// The pod.
    #[arg(long)]
    pod: String,
    /// Name of the ephemeral container.
    #[arg(long, default_value = "debug")]
    container: String,
    /// Its image (must be allowed by the template).
    #[arg(long)]
    image: String,
    /// Its command (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    command: Vec<String>,
    /// Run it as non-root (`securityContext.runAsNonRoot: true`, which templates
    /// require unless they say otherwise).
    #[arg(long, conflicts_with = "security_context")]
    non_root: bool,
    /// Its full security context as JSON, e.g. `{"runAsNonRoot":true,"runAsUser":1000}`.
    #[arg(long)]
    security_context: Option<String>,
    /// Namespace of the DebugSession, when its name exists in several.
    #[arg(long)]
    session_namespace: Option<String>,
}

#[derive(Debug, clap::Args)]
struct CopyArgs {
    /// Debug session name.
    session: String,
    /// Namespace of the pod to copy.
    #[arg(short = 'n', long)]
    namespace: String,
    /// The pod to copy.
    #[arg(long)]
    pod: String,
    /// Image of an added `debugger` container.
    #[arg(long)]
    image: Option<String>,
    /// Namespace of the DebugSession, when its name exists in several.
    #[arg(long)]
    session_namespace: Option<String>,
}

#[derive(Debug, clap::Args)]
struct NodeArgs {
    /// Debug session name.
    session: String,
    /// The node to debug.
    #[arg(long)]
    node: String,
    /// Image of the debug pod (must match the template's allowed images).
    #[arg(long)]
    image: Option<String>,
    /// Namespace of the DebugSession, when its name exists in several.
    #[arg(long)]
    session_namespace: Option<String>,
}

/// Runs `debug kubectl …`.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let printer = Printer::new(global);
    let client = crate::context::connect(global).await?;
    let err = |e| client_error(e, global.verbose);
    let out = &mut std::io::stdout().lock();
    match &args.command {
        Cmd::Inject(a) => {
            let security_context = match (&a.security_context, a.non_root) {
                (Some(text), _) => Some(
                    serde_json::from_str(text)
                        .context("--security-context is not a valid SecurityContext")?,
                ),
                (None, true) => Some(serde_json::from_value(
                    serde_json::json!({"runAsNonRoot": true}),
                )?),
                (None, false) => None,
            };
            let r = client
                .inject_ephemeral_container(
                    &a.session,
                    a.session_namespace.as_deref(),
                    &InjectRequest {
                        namespace: a.namespace.clone(),
                        pod_name: a.pod.clone(),
                        container_name: a.container.clone(),
                        image: a.image.clone(),
                        command: (!a.command.is_empty()).then(|| a.command.clone()),
                        security_context,
                    },
                )
                .await
                .map_err(err)?;
            printer.print(out, &r, |_| {
                let mut t = Table::new(&["POD", "NAMESPACE", "CONTAINER", "MESSAGE"]);
                t.row(vec![
                    r.pod.clone(),
                    r.namespace.clone(),
                    r.container.clone(),
                    r.message.clone(),
                ]);
                t
            })?;
        }
        Cmd::CopyPod(a) => {
            let r = client
                .create_pod_copy(
                    &a.session,
                    a.session_namespace.as_deref(),
                    &CopyRequest {
                        namespace: a.namespace.clone(),
                        pod_name: a.pod.clone(),
                        debug_image: a.image.clone(),
                    },
                )
                .await
                .map_err(err)?;
            printer.print(out, &r, |_| {
                let mut t = Table::new(&["COPY", "NAMESPACE", "ORIGINAL", "MESSAGE"]);
                t.row(vec![
                    r.copy_name.clone(),
                    r.copy_namespace.clone(),
                    format!("{}/{}", r.original_namespace, r.original_pod),
                    r.message.clone(),
                ]);
                t
            })?;
        }
        Cmd::NodeDebug(a) => {
            let r = client
                .create_node_debug_pod(
                    &a.session,
                    a.session_namespace.as_deref(),
                    &NodeRequest {
                        node_name: a.node.clone(),
                        image: a.image.clone(),
                    },
                )
                .await
                .map_err(err)?;
            printer.print(out, &r, |_| {
                let mut t = Table::new(&["POD", "NAMESPACE", "NODE", "MESSAGE"]);
                t.row(vec![
                    r.pod_name.clone(),
                    r.namespace.clone(),
                    r.node.clone(),
                    r.message.clone(),
                ]);
                t
            })?;
        }
    }
    Ok(0)
}
