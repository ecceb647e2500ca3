//! `bgctl debug session …`.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use breakglass_api::DebugSession;
use breakglass_api::rest::debug::{
    CreateDebugSessionRequest, DebugSessionList, DebugSessionSummary, DecisionRequest, ListQuery,
    RenewRequest,
};
use breakglass_api::rest::sessions::MetaView;
use breakglass_client::Client;

use crate::Global;
use crate::output::{Format, Printer, Table, age, age_of, cell, client_error};
use crate::session::{confirm, duration_arg};

/// Arguments of `debug session`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// List the debug sessions you may read.
    List(ListArgs),
    /// Show one debug session.
    Get(Target),
    /// Request a debug session.
    #[command(alias = "request")]
    Create(CreateArgs),
    /// Approve a debug session waiting for approval.
    Approve(DecideArgs),
    /// Reject a debug session waiting for approval.
    Reject(DecideArgs),
    /// Join a session you were invited to.
    Join(Target),
    /// Leave a session you joined.
    Leave(Target),
    /// Extend an active session.
    Renew(RenewArgs),
    /// End your active session.
    Terminate(TerminateArgs),
    /// Print the list again whenever it changes.
    Watch(WatchArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct Filters {
    /// Only sessions on this cluster.
    #[arg(short = 'C', long)]
    cluster: Option<String>,
    /// Only sessions in these states (comma-separated: Pending, PendingApproval,
    /// Active, Expired, Terminated, Failed; all).
    #[arg(short = 's', long)]
    state: Option<String>,
    /// Only sessions requested by this user.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Only sessions you requested or take part in.
    #[arg(short = 'm', long)]
    mine: bool,
}

impl Filters {
    fn query(&self) -> ListQuery {
        ListQuery {
            cluster: self.cluster.clone(),
            state: self.state.clone(),
            user: self.user.clone(),
            mine: self.mine.then_some(true),
        }
    }
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    filters: Filters,
    /// Show this page only (1-based; bgctl pages the server's answer).
    #[arg(short = 'p', long, value_parser = clap::value_parser!(u32).range(1..))]
    page: Option<u32>,
    /// Rows per page with --page.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    page_size: u32,
    /// Show every session (the default; overrides --page).
    #[arg(short = 'a', long)]
    all: bool,
    /// Keep running and print the list again whenever it changes.
    #[arg(short = 'w', long)]
    watch: bool,
    /// How often --watch asks the server (Go duration).
    #[arg(short = 'i', long, default_value = "2s", value_parser = duration_arg)]
    interval: Duration,
}

#[derive(Debug, clap::Args)]
struct WatchArgs {
    #[command(flatten)]
    filters: Filters,
    /// How often to ask the server (Go duration).
    #[arg(short = 'i', long, default_value = "2s", value_parser = duration_arg)]
    interval: Duration,
    /// Show every column (as -o wide).
    #[arg(short = 'f', long)]
    show_full: bool,
}

/// One session: its name and, when names repeat across namespaces, its namespace.
#[derive(Debug, clap::Args)]
pub(super) struct Target {
    /// Debug session name.
    pub name: String,
    /// Namespace of the DebugSession, when the name exists in several.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// DebugSessionTemplate to use.
    #[arg(short = 't', long)]
    template: String,
    /// Target cluster (ClusterConfig name, cluster ID or unique tenant).
    #[arg(short = 'C', long)]
    cluster: String,
    /// Binding to use (`namespace/name`); default: the best binding that admits you.
    #[arg(long)]
    binding: Option<String>,
    /// How long (Go duration, at most the template's maxDuration).
    #[arg(short = 'd', long)]
    duration: Option<String>,
    /// Namespace of the debug workload.
    #[arg(long)]
    target_namespace: Option<String>,
    /// Deprecated alias of --target-namespace.
    #[arg(long, hide = true)]
    namespace: Option<String>,
    /// Why you need the session.
    #[arg(short = 'r', long)]
    reason: Option<String>,
    /// Invite a user (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',')]
    invite: Vec<String>,
    /// One of the template's scheduling options.
    #[arg(long)]
    scheduling_option: Option<String>,
    /// Node label the debug pods must run on, `key=value` (repeatable).
    #[arg(long, value_parser = key_value)]
    node_selector: Vec<(String, String)>,
    /// Value of an extra deploy variable, `name=value` (repeatable); JSON values
    /// (`true`, `3`, `["a","b"]`) are sent as such, anything else as a string.
    #[arg(long = "set", value_parser = key_value)]
    set: Vec<(String, String)>,
}

#[derive(Debug, clap::Args)]
struct DecideArgs {
    #[command(flatten)]
    target: Target,
    /// Your reason (required when the template makes it mandatory).
    #[arg(short = 'r', long)]
    reason: Option<String>,
}

#[derive(Debug, clap::Args)]
struct RenewArgs {
    #[command(flatten)]
    target: Target,
    /// How much longer (Go duration, e.g. 30m).
    #[arg(long)]
    extend_by: String,
}

#[derive(Debug, clap::Args)]
struct TerminateArgs {
    #[command(flatten)]
    target: Target,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not key=value")),
    }
}

/// A `--set` value: JSON when it parses as JSON (numbers, booleans, lists), else the
/// text itself.
fn set_value(v: &str) -> serde_json::Value {
    serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()))
}

impl CreateArgs {
    fn request(&self) -> CreateDebugSessionRequest {
        CreateDebugSessionRequest {
            template_ref: self.template.clone(),
            cluster: self.cluster.clone(),
            binding_ref: self.binding.clone(),
            requested_duration: self.duration.clone(),
            node_selector: (!self.node_selector.is_empty())
                .then(|| self.node_selector.iter().cloned().collect()),
            namespace: self.namespace.clone(),
            target_namespace: self.target_namespace.clone(),
            reason: self.reason.clone(),
            invited_participants: (!self.invite.is_empty()).then(|| self.invite.clone()),
            selected_scheduling_option: self.scheduling_option.clone(),
            extra_deploy_values: (!self.set.is_empty()).then(|| {
                self.set
                    .iter()
                    .map(|(k, v)| (k.clone(), set_value(v)))
                    .collect::<BTreeMap<_, _>>()
            }),
        }
    }
}

/// Runs `debug session …`.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let printer = Printer::new(global);
    let client = crate::context::connect(global).await?;
    let v = global.verbose;
    let err = |e| client_error(e, v);
    let out = &mut std::io::stdout().lock();
    match &args.command {
        Cmd::List(a) => return list(&client, global, a, printer).await,
        Cmd::Watch(a) => {
            let printer = if a.show_full && printer.format == Format::Table {
                Printer {
                    format: Format::Wide,
                    ..printer
                }
            } else {
                printer
            };
            return watch(&client, global, &a.filters, a.interval, printer).await;
        }
        Cmd::Get(t) => {
            let d = client
                .get_debug_session(&t.name, t.namespace.as_deref())
                .await
                .map_err(err)?;
            printer.print(out, &d, |wide| session_table(&d.session, wide))?;
        }
        Cmd::Create(a) => {
            let created = client
                .request_debug_session(&a.request())
                .await
                .map_err(err)?;
            for w in &created.warnings {
                eprintln!("warning: {w}");
            }
            printer.print(out, &created, |wide| {
                created_table(
                    &created.metadata,
                    &created.spec,
                    created.status.as_ref(),
                    wide,
                )
            })?;
        }
        Cmd::Approve(a) | Cmd::Reject(a) => {
            let decision = DecisionRequest {
                reason: a.reason.clone(),
            };
            let ns = a.target.namespace.as_deref();
            let d = if matches!(args.command, Cmd::Approve(_)) {
                client
                    .approve_debug_session(&a.target.name, ns, &decision)
                    .await
            } else {
                client
                    .reject_debug_session(&a.target.name, ns, &decision)
                    .await
            }
            .map_err(err)?;
            printer.print(out, &d, |wide| session_table(&d.session, wide))?;
        }
        Cmd::Join(t) | Cmd::Leave(t) => {
            let r = if matches!(args.command, Cmd::Join(_)) {
                client
                    .join_debug_session(&t.name, t.namespace.as_deref())
                    .await
            } else {
                client
                    .leave_debug_session(&t.name, t.namespace.as_deref())
                    .await
            }
            .map_err(err)?;
            printer.print(out, &r, |_| {
                let mut t = Table::new(&["MESSAGE", "ROLE"]);
                t.row(vec![r.message.clone(), cell(r.role.as_deref())]);
                t
            })?;
        }
        Cmd::Renew(a) => {
            let r = client
                .renew_debug_session(
                    &a.target.name,
                    a.target.namespace.as_deref(),
                    &RenewRequest {
                        extend_by: a.extend_by.clone(),
                    },
                )
                .await
                .map_err(err)?;
            printer.print(out, &r, |_| {
                let mut t = Table::new(&["MESSAGE", "EXPIRES", "RENEWALS"]);
                t.row(vec![
                    r.message.clone(),
                    cell(r.new_expires_at.as_deref()),
                    r.renewal_count.to_string(),
                ]);
                t
            })?;
        }
        Cmd::Terminate(a) => {
            if !confirm(
                global,
                a.yes,
                &format!("terminate debug session {}", a.target.name),
            )? {
                return Ok(2);
            }
            let d = client
                .terminate_debug_session(&a.target.name, a.target.namespace.as_deref())
                .await
                .map_err(err)?;
            printer.print(out, &d, |wide| session_table(&d.session, wide))?;
        }
    }
    Ok(0)
}

async fn list(
    client: &Client,
    global: &Global,
    a: &ListArgs,
    printer: Printer,
) -> anyhow::Result<u8> {
    if a.watch {
        return watch(client, global, &a.filters, a.interval, printer).await;
    }
    let mut list = client
        .list_debug_sessions(&a.filters.query())
        .await
        .map_err(|e| client_error(e, global.verbose))?;
    if let (Some(page), false) = (a.page, a.all) {
        let size = a.page_size as usize;
        let start = (page as usize - 1).saturating_mul(size);
        list.sessions = list.sessions.into_iter().skip(start).take(size).collect();
    }
    printer.print(&mut std::io::stdout().lock(), &list, |wide| {
        summary_table(&list.sessions, wide)
    })?;
    Ok(0)
}

async fn watch(
    client: &Client,
    global: &Global,
    filters: &Filters,
    interval: Duration,
    printer: Printer,
) -> anyhow::Result<u8> {
    let query = filters.query();
    let tty = std::io::stdout().is_terminal();
    let tabular = matches!(printer.format, Format::Table | Format::Wide);
    let mut last: Option<DebugSessionList> = None;
    let mut transient = 0u32;
    loop {
        match client.list_debug_sessions(&query).await {
            Ok(list) => {
                transient = 0;
                if last.as_ref() != Some(&list) {
                    let text = printer.render(&list, |wide| summary_table(&list.sessions, wide))?;
                    let mut out = std::io::stdout().lock();
                    if tty && tabular {
                        write!(out, "\u{1b}[H\u{1b}[2J")?;
                    } else if last.is_some() && tabular {
                        writeln!(out)?;
                    }
                    out.write_all(text.as_bytes())?;
                    out.flush()?;
                    last = Some(list);
                }
            }
            Err(breakglass_client::Error::Transport(e)) if transient < 5 => {
                transient += 1;
                eprintln!("warning: {e}; retrying");
            }
            Err(e) => return Err(client_error(e, global.verbose)),
        }
        tokio::time::sleep(interval).await;
    }
}

const COLUMNS: [&str; 7] = [
    "NAME",
    "CLUSTER",
    "TEMPLATE",
    "TARGET_NS",
    "REQUESTED_BY",
    "STATE",
    "EXPIRES",
];
const WIDE: [&str; 4] = ["STARTS", "PARTICIPANTS", "ALLOWED_PODS", "OPERATIONS"];

fn operations(ops: Option<&breakglass_api::debug_common::AllowedPodOperations>) -> String {
    let Some(o) = ops else {
        return "-".to_owned();
    };
    let names: Vec<&str> = [
        (o.exec, "exec"),
        (o.attach, "attach"),
        (o.logs, "logs"),
        (o.port_forward, "portforward"),
    ]
    .into_iter()
    .filter_map(|(on, n)| on.unwrap_or(false).then_some(n))
    .collect();
    cell(Some(&names.join(",")))
}

fn headers(wide: bool) -> Vec<&'static str> {
    let mut h = COLUMNS.to_vec();
    if wide {
        h.extend(WIDE);
    }
    h
}

/// `NAME CLUSTER TEMPLATE TARGET_NS REQUESTED_BY STATE EXPIRES`; wide adds `STARTS
/// PARTICIPANTS ALLOWED_PODS OPERATIONS`.
fn summary_table(sessions: &[DebugSessionSummary], wide: bool) -> Table {
    let now = jiff::Timestamp::now();
    let mut t = Table::new(&headers(wide));
    for s in sessions {
        let mut row = vec![
            cell(s.name.as_deref()),
            s.cluster.clone(),
            s.template_ref.clone(),
            cell(s.target_namespace.as_deref()),
            s.requested_by.clone(),
            s.state.clone(),
            age_of(s.expires_at.as_deref(), now),
        ];
        if wide {
            row.extend([
                age_of(s.starts_at.as_deref(), now),
                s.participants
                    .iter()
                    .filter(|p| p.left_at.is_none())
                    .count()
                    .to_string(),
                s.allowed_pods.len().to_string(),
                operations(s.allowed_pod_operations.as_ref()),
            ]);
        }
        t.row(row);
    }
    t
}

fn session_table(s: &DebugSession, wide: bool) -> Table {
    let meta = MetaView {
        name: s.metadata.name.clone().unwrap_or_default(),
        ..MetaView::default()
    };
    created_table(&meta, &s.spec, s.status.as_ref(), wide)
}

fn created_table(
    meta: &MetaView,
    spec: &breakglass_api::DebugSessionSpec,
    status: Option<&breakglass_api::DebugSessionStatus>,
    wide: bool,
) -> Table {
    let now = jiff::Timestamp::now();
    let mut t = Table::new(&headers(wide));
    let mut row = vec![
        meta.name.clone(),
        spec.cluster.clone(),
        spec.template_ref.clone(),
        cell(spec.target_namespace.as_deref()),
        spec.requested_by.clone(),
        status
            .and_then(|s| s.state)
            .map_or("Pending", |s| s.as_str())
            .to_owned(),
        age(status.and_then(|s| s.expires_at.as_ref()).map(|t| t.0), now),
    ];
    if wide {
        row.extend([
            age(status.and_then(|s| s.starts_at.as_ref()).map(|t| t.0), now),
            status
                .and_then(|s| s.participants.as_ref())
                .map_or(0, |p| p.iter().filter(|p| p.left_at.is_none()).count())
                .to_string(),
            status
                .and_then(|s| s.allowed_pods.as_ref())
                .map_or(0, Vec::len)
                .to_string(),
            operations(status.and_then(|s| s.allowed_pod_operations.as_ref())),
        ]);
    }
    t.row(row);
    t
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn set_values_are_json_when_they_parse_and_text_otherwise() {
        assert_eq!(set_value("3"), serde_json::json!(3));
        assert_eq!(set_value("true"), serde_json::json!(true));
        assert_eq!(set_value(r#"["a","b"]"#), serde_json::json!(["a", "b"]));
        assert_eq!(set_value("debug-tools"), serde_json::json!("debug-tools"));
        assert_eq!(key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(key_value("novalue").is_err());
        assert!(key_value("=x").is_err());
    }
}
