//! `bgctl escalation`: the escalations you may request, and the clusters they cover.

use breakglass_api::rest::escalations::{EscalationQuery, EscalationView};
use breakglass_client::clusters_of;

use crate::Global;
use crate::output::{Printer, Table, cell, client_error};

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// List the escalations you may request.
    List(ListArgs),
    /// Show one escalation (`NAME` or `NAMESPACE/NAME`).
    Get(GetArgs),
    /// List the clusters your escalations cover, with the groups they grant.
    ListClusters(ListArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only escalations for this cluster (a name; escalations' globs are matched).
    #[arg(short = 'C', long)]
    cluster: Option<String>,
    /// Include escalations that are not ready or whose clusters are not ready.
    #[arg(short = 'a', long)]
    all: bool,
}

impl ListArgs {
    fn query(&self) -> EscalationQuery {
        EscalationQuery {
            cluster: self.cluster.clone(),
            active_only: self.all.then_some(false),
        }
    }
}

#[derive(Debug, clap::Args)]
struct GetArgs {
    /// Escalation name, or namespace/name.
    name: String,
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let printer = Printer::new(global);
    let client = crate::context::connect(global).await?;
    let v = global.verbose;
    let out = &mut std::io::stdout().lock();
    match &args.command {
        Cmd::List(a) => {
            let list = client
                .list_escalations(&a.query())
                .await
                .map_err(|e| client_error(e, v))?;
            printer.print(out, &list, |wide| table(&list.items, wide))?;
        }
        Cmd::Get(a) => {
            let mut found = client
                .find_escalations(&a.name)
                .await
                .map_err(|e| client_error(e, v))?;
            if found.len() > 1 {
                let names: Vec<String> = found
                    .iter()
                    .map(|e| format!("{}/{}", e.metadata.namespace, e.metadata.name))
                    .collect();
                anyhow::bail!(
                    "escalation {:?} exists in several namespaces ({}); name it as NAMESPACE/NAME",
                    a.name,
                    names.join(", ")
                );
            }
            let Some(e) = found.pop() else {
                anyhow::bail!(
                    "escalation {:?} not found among the escalations you may request",
                    a.name
                );
            };
            printer.print(out, &e, |wide| table(std::slice::from_ref(&e), wide))?;
        }
        Cmd::ListClusters(a) => {
            let list = client
                .list_escalations(&a.query())
                .await
                .map_err(|e| client_error(e, v))?;
            let clusters = clusters_of(&list.items);
            printer.print(out, &clusters, |_| {
                let mut t = Table::new(&["CLUSTER", "GROUPS", "ESCALATIONS"]);
                for c in &clusters {
                    t.row(vec![
                        c.cluster.clone(),
                        c.groups.join(","),
                        c.escalations.join(","),
                    ]);
                }
                t
            })?;
        }
    }
    Ok(0)
}

fn join(v: Option<&Vec<String>>) -> String {
    cell(v.map(|v| v.join(",")).as_deref())
}

/// `NAME GROUP CLUSTERS APPROVERS READY`; wide adds `NAMESPACE MAX-VALID-FOR
/// REQUESTERS APPROVAL-TIMEOUT`.
fn table(items: &[EscalationView], wide: bool) -> Table {
    let mut headers = vec!["NAME", "GROUP", "CLUSTERS", "APPROVERS", "READY"];
    if wide {
        headers.extend([
            "NAMESPACE",
            "MAX-VALID-FOR",
            "REQUESTERS",
            "APPROVAL-TIMEOUT",
        ]);
    }
    let mut t = Table::new(&headers);
    for e in items {
        let allowed = e.spec.allowed.as_ref();
        let mut clusters: Vec<String> =
            allowed.and_then(|a| a.clusters.clone()).unwrap_or_default();
        clusters.extend(e.spec.cluster_config_refs.clone().unwrap_or_default());
        let approvers: Vec<String> = e
            .spec
            .approvers
            .users
            .iter()
            .flatten()
            .cloned()
            .chain(
                e.spec
                    .approvers
                    .groups
                    .iter()
                    .flatten()
                    .map(|g| format!("group:{g}")),
            )
            .collect();
        let mut row = vec![
            e.metadata.name.clone(),
            e.spec.escalated_group.clone(),
            cell(Some(&clusters.join(","))),
            cell(Some(&approvers.join(","))),
            e.is_ready().to_string(),
        ];
        if wide {
            row.extend([
                e.metadata.namespace.clone(),
                cell(e.spec.max_valid_for.as_deref()),
                join(allowed.and_then(|a| a.groups.as_ref())),
                cell(e.spec.approval_timeout.as_deref()),
            ]);
        }
        t.row(row);
    }
    t
}
