//! `bgctl session`: request, decide on, end and follow breakglass sessions.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use breakglass_api::BreakglassSessionState as State;
use breakglass_api::rest::sessions::{
    CreateSessionRequest, DecisionRequest, ListQuery, SessionList, SessionListItem, SessionView,
};
use breakglass_client::Client;

use crate::Global;
use crate::output::{Printer, Table, age, cell, client_error};

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// List sessions: yours, the ones you may approve, the ones you decided.
    List(ListArgs),
    /// Show one session and what you may do with it.
    Get(NameArg),
    /// Request a session (and optionally wait until it is decided).
    Request(RequestArgs),
    /// Approve a pending session.
    Approve(DecideArgs),
    /// Reject a pending session.
    Reject(DecideArgs),
    /// Withdraw your own pending request.
    Withdraw(ConfirmArgs),
    /// End your own session (pending: withdrawn; approved: expired now).
    Drop(ConfirmArgs),
    /// As an approver, end an approved or scheduled session.
    Cancel(ConfirmArgs),
    /// Print the session list again whenever it changes.
    Watch(WatchArgs),
}

/// The list filters of `list` and `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct Filters {
    /// Include your own sessions.
    #[arg(short = 'm', long)]
    mine: bool,
    /// Include sessions you may approve (default: true unless --mine or --approved-by-me).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    approver: Option<bool>,
    /// Include sessions you approved, rejected or cancelled.
    #[arg(short = 'M', long)]
    approved_by_me: bool,
    /// Only sessions that grant access now.
    #[arg(short = 'A', long)]
    active: bool,
    /// Only sessions on this cluster.
    #[arg(short = 'C', long)]
    cluster: Option<String>,
    /// Only sessions of this user.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Only sessions granting this group.
    #[arg(short = 'g', long)]
    group: Option<String>,
    /// Only sessions in these states (comma-separated: pending, approved, active,
    /// waiting, rejected, withdrawn, expired, idleexpired, timeout, all).
    #[arg(short = 's', long)]
    state: Option<String>,
}

impl Filters {
    fn query(&self) -> ListQuery {
        ListQuery {
            cluster: self.cluster.clone(),
            user: self.user.clone(),
            group: self.group.clone(),
            mine: self.mine.then_some(true),
            approver: self.approver,
            approved_by_me: self.approved_by_me.then_some(true),
            active_only: self.active.then_some(true),
            state: self.state.clone(),
            token: None,
        }
    }
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    filters: Filters,
    /// Show this page only (1-based; the server answers everything, bgctl pages).
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

#[derive(Debug, clap::Args)]
struct NameArg {
    /// Session name.
    name: String,
}

#[derive(Debug, clap::Args)]
struct RequestArgs {
    /// Target cluster (ClusterConfig name).
    #[arg(short = 'C', long)]
    cluster: String,
    /// The group to be granted (an escalation's escalatedGroup).
    #[arg(short = 'g', long)]
    group: String,
    /// Requesting user (default: you; must be your own user name on the cluster).
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Why you need access.
    #[arg(short = 'r', long)]
    reason: Option<String>,
    /// How long the session should last: seconds (`3600`) or a Go duration (`1h30m`);
    /// default and upper bound: the escalation's maxValidFor.
    #[arg(short = 'd', long, value_parser = seconds_arg)]
    duration: Option<i64>,
    /// Start later: RFC 3339 time at least 5 minutes ahead.
    #[arg(short = 'S', long)]
    scheduled_start: Option<String>,
    /// Wait until the session is decided: exit 0 once approved, 1 when rejected,
    /// withdrawn, expired or timed out.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this long (Go duration, with --wait; default: until the
    /// server decides or the approval times out).
    #[arg(long, value_parser = duration_arg, requires = "wait")]
    timeout: Option<Duration>,
    /// How often --wait asks the server (Go duration).
    #[arg(short = 'i', long, default_value = "2s", value_parser = duration_arg)]
    interval: Duration,
}

#[derive(Debug, clap::Args)]
struct DecideArgs {
    /// Session name.
    name: String,
    /// Your reason (required when the escalation makes it mandatory).
    #[arg(short = 'r', long)]
    reason: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ConfirmArgs {
    /// Session name.
    name: String,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
}

/// Parses a Go duration (`2s`, `1m30s`) for a flag.
pub(crate) fn duration_arg(s: &str) -> Result<Duration, String> {
    let d = breakglass_core::duration::GoDuration::parse(s).map_err(|e| e.to_string())?;
    let d = d.to_signed_duration();
    if d.is_negative() || d.is_zero() {
        return Err(format!("{s:?} is not a positive duration"));
    }
    Duration::try_from(d).map_err(|e| e.to_string())
}

/// Parses whole seconds (`3600`) or a Go duration (`1h`) into seconds.
fn seconds_arg(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return if n > 0 {
            Ok(n)
        } else {
            Err(format!("{s:?} is not a positive number of seconds"))
        };
    }
    let d =
        duration_arg(s).map_err(|e| format!("{e} (use seconds or a duration such as 1h30m)"))?;
    i64::try_from(d.as_secs()).map_err(|e| e.to_string())
}

/// Asks before an action that ends something; `Ok(false)` means refused or not
/// asked because nobody can answer (then the caller exits 2 naming `--yes`).
pub(crate) fn confirm(global: &Global, yes: bool, question: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if global.non_interactive || !std::io::stdin().is_terminal() {
        eprintln!("error: {question}: confirmation needed; pass --yes (-y) to confirm");
        return Ok(false);
    }
    eprint!("{question}? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("reading the answer")?;
    let ok = matches!(answer.trim(), "y" | "Y" | "yes" | "Yes");
    if !ok {
        eprintln!("not confirmed; nothing done");
    }
    Ok(ok)
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let printer = Printer::new(global);
    let client = crate::context::connect(global).await?;
    let v = global.verbose;
    let out = &mut std::io::stdout().lock();
    match &args.command {
        Cmd::List(a) => {
            if a.watch {
                return watch(&client, global, &a.filters, a.interval, printer).await;
            }
            let mut list = client
                .list_sessions(&a.filters.query())
                .await
                .map_err(|e| client_error(e, v))?;
            if let (Some(page), false) = (a.page, a.all) {
                let size = a.page_size as usize;
                let start = (page as usize - 1).saturating_mul(size);
                list.items = list.items.into_iter().skip(start).take(size).collect();
            }
            printer.print(out, &list, |wide| list_table(&list.items, wide))?;
        }
        Cmd::Watch(a) => {
            let printer = if a.show_full && printer.format == crate::output::Format::Table {
                Printer {
                    format: crate::output::Format::Wide,
                    ..printer
                }
            } else {
                printer
            };
            return watch(&client, global, &a.filters, a.interval, printer).await;
        }
        Cmd::Get(a) => {
            let d = client
                .get_session(&a.name)
                .await
                .map_err(|e| client_error(e, v))?;
            printer.print(out, &d, |wide| {
                let mut t = session_table(std::slice::from_ref(&d.session), wide);
                if wide {
                    t.headers.extend(["CAN-APPROVE", "CAN-REJECT"]);
                    if let Some(row) = t.rows.first_mut() {
                        row.push(d.approval_meta.can_approve.to_string());
                        row.push(d.approval_meta.can_reject.to_string());
                    }
                }
                t
            })?;
        }
        Cmd::Request(a) => return request(&client, global, a, printer).await,
        Cmd::Approve(a) | Cmd::Reject(a) => {
            let decision = DecisionRequest {
                reason: a.reason.clone(),
            };
            let s = if matches!(args.command, Cmd::Approve(_)) {
                client.approve_session(&a.name, &decision).await
            } else {
                client.reject_session(&a.name, &decision).await
            }
            .map_err(|e| client_error(e, v))?;
            print_one(out, printer, &s)?;
        }
        Cmd::Withdraw(a) | Cmd::Drop(a) | Cmd::Cancel(a) => {
            let verb = match &args.command {
                Cmd::Withdraw(_) => "withdraw",
                Cmd::Drop(_) => "drop",
                _ => "cancel",
            };
            if !confirm(global, a.yes, &format!("{verb} session {}", a.name))? {
                return Ok(2);
            }
            let s = match verb {
                "withdraw" => client.withdraw_session(&a.name).await,
                "drop" => client.drop_session(&a.name).await,
                _ => client.cancel_session(&a.name).await,
            }
            .map_err(|e| client_error(e, v))?;
            print_one(out, printer, &s)?;
        }
    }
    Ok(0)
}

fn print_one(
    out: &mut dyn std::io::Write,
    printer: Printer,
    s: &SessionView,
) -> anyhow::Result<()> {
    printer.print(out, s, |wide| session_table(std::slice::from_ref(s), wide))
}

async fn request(
    client: &Client,
    global: &Global,
    a: &RequestArgs,
    printer: Printer,
) -> anyhow::Result<u8> {
    let body = CreateSessionRequest {
        cluster: a.cluster.clone(),
        user: a.user.clone(),
        group: a.group.clone(),
        reason: a.reason.clone(),
        duration: a.duration,
        scheduled_start_time: a.scheduled_start.clone(),
    };
    let created = match client.request_session(&body).await {
        Ok(s) => s,
        Err(e) if e.status() == Some(409) => {
            // Name the session that is in the way, so the user can get, wait or drop it.
            let existing = existing_session(client, &body).await;
            let e = client_error(e, global.verbose);
            return Err(match existing {
                Some(hint) => e.context(hint),
                None => e,
            });
        }
        Err(e) => return Err(client_error(e, global.verbose)),
    };
    let out = &mut std::io::stdout().lock();
    if !a.wait {
        print_one(out, printer, &created)?;
        return Ok(0);
    }
    let (last, code) = wait_decision(client, global, created, a.timeout, a.interval).await?;
    // One document on stdout: the session as it ended the wait.
    print_one(out, printer, &last)?;
    Ok(code)
}

/// "you already have session NAME (STATE)" for the caller's open session of the same
/// cluster and group, when there is one.
async fn existing_session(client: &Client, body: &CreateSessionRequest) -> Option<String> {
    let query = ListQuery {
        cluster: Some(body.cluster.clone()),
        group: Some(body.group.clone()),
        mine: Some(true),
        state: Some("pending,approved,waiting".to_owned()),
        ..ListQuery::default()
    };
    let list = client.list_sessions(&query).await.ok()?;
    let s = &list.items.first()?.session;
    Some(format!(
        "you already have session {} ({})",
        s.name(),
        s.state().map_or("Pending", |x| x.as_str())
    ))
}

/// What a state means for `--wait`: `Some(0)` granted, `Some(1)` refused or ended,
/// `None` still undecided.
fn wait_outcome(state: Option<State>) -> Option<u8> {
    match state {
        Some(State::Approved | State::WaitingForScheduledTime) => Some(0),
        Some(s) if s.is_terminal() => Some(1),
        _ => None,
    }
}

/// Polls the session until it is decided or `timeout` passes; the progress line goes
/// to stderr (rewritten in place on a terminal, one line per state otherwise).
pub(crate) async fn wait_decision(
    client: &Client,
    global: &Global,
    mut session: SessionView,
    timeout: Option<Duration>,
    interval: Duration,
) -> anyhow::Result<(SessionView, u8)> {
    let name = session.name().to_owned();
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut shown: Option<String> = None;
    let mut transient = 0u32;
    loop {
        let state = session.state();
        let state_text = state.map_or("Pending", |s| s.as_str());
        if let Some(code) = wait_outcome(state) {
            if tty {
                eprintln!();
            }
            let st = session.status.as_ref();
            match state {
                Some(State::WaitingForScheduledTime) => eprintln!(
                    "session {name} approved; access starts at {}",
                    session
                        .spec
                        .scheduled_start_time
                        .as_ref()
                        .map_or_else(|| "its scheduled time".to_owned(), |t| t.0.to_string())
                ),
                Some(State::Approved) => eprintln!(
                    "session {name} approved by {}",
                    cell(st.and_then(|s| s.approver.as_deref()))
                ),
                _ => eprintln!(
                    "session {name} was not approved: {state_text}{}",
                    st.and_then(|s| s.approval_reason.as_deref())
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
            }
            return Ok((session, code));
        }
        let elapsed = started.elapsed();
        if timeout.is_some_and(|t| elapsed >= t) {
            if tty {
                eprintln!();
            }
            eprintln!(
                "error: timed out after {}s waiting for approval of session {name} (still {state_text})",
                elapsed.as_secs()
            );
            return Ok((session, 1));
        }
        if tty {
            eprint!(
                "\r\u{1b}[Kwaiting for approval of session {name}: {state_text} ({}s)",
                elapsed.as_secs()
            );
        } else if shown.as_deref() != Some(state_text) {
            eprintln!("waiting for approval of session {name}: {state_text}");
            shown = Some(state_text.to_owned());
        }
        let pause = timeout.map_or(interval, |t| interval.min(t.saturating_sub(elapsed)));
        tokio::time::sleep(pause).await;
        match client.get_session(&name).await {
            Ok(d) => {
                session = d.session;
                transient = 0;
            }
            // A dropped connection should not end a long wait; the server's answers do.
            Err(breakglass_client::Error::Transport(e)) if transient < 5 => {
                transient += 1;
                if global.verbose {
                    eprintln!("\nwarning: {e}; retrying");
                }
            }
            Err(e) => return Err(client_error(e, global.verbose)),
        }
    }
}

/// Prints the list, then again whenever it changes (compared by content, so ages
/// ticking by do not reprint). On a terminal a table replaces the previous one.
async fn watch(
    client: &Client,
    global: &Global,
    filters: &Filters,
    interval: Duration,
    printer: Printer,
) -> anyhow::Result<u8> {
    let query = filters.query();
    let tty = std::io::stdout().is_terminal();
    let mut last: Option<SessionList> = None;
    let mut transient = 0u32;
    loop {
        match client.list_sessions(&query).await {
            Ok(list) => {
                transient = 0;
                if last.as_ref() != Some(&list) {
                    let text = printer.render(&list, |wide| list_table(&list.items, wide))?;
                    let mut out = std::io::stdout().lock();
                    let tabular = matches!(
                        printer.format,
                        crate::output::Format::Table | crate::output::Format::Wide
                    );
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
    "NAME", "CLUSTER", "GROUP", "USER", "STATE", "EXPIRES", "AGE",
];
const WIDE: [&str; 4] = ["NAMESPACE", "APPROVER", "REASON", "STARTED"];

fn list_table(items: &[SessionListItem], wide: bool) -> Table {
    let sessions: Vec<SessionView> = items.iter().map(|i| i.session.clone()).collect();
    session_table(&sessions, wide)
}

/// The session columns: `NAME CLUSTER GROUP USER STATE EXPIRES AGE`; wide adds
/// `NAMESPACE APPROVER REASON STARTED`.
fn session_table(sessions: &[SessionView], wide: bool) -> Table {
    let mut headers = COLUMNS.to_vec();
    if wide {
        headers.extend(WIDE);
    }
    let mut t = Table::new(&headers);
    let now = jiff::Timestamp::now();
    for s in sessions {
        let st = s.status.as_ref();
        let created = s
            .metadata
            .creation_timestamp
            .as_deref()
            .and_then(|c| c.parse().ok());
        let mut row = vec![
            s.metadata.name.clone(),
            s.spec.cluster.clone(),
            s.spec.granted_group.clone(),
            s.spec.user.clone(),
            s.state().map_or("Pending", |x| x.as_str()).to_owned(),
            match s.state() {
                Some(State::Approved) => {
                    age(st.and_then(|x| x.expires_at.as_ref()).map(|t| t.0), now)
                }
                _ => "-".to_owned(),
            },
            age(created, now),
        ];
        if wide {
            row.extend([
                s.metadata.namespace.clone(),
                cell(st.and_then(|x| x.approver.as_deref())),
                cell(s.spec.request_reason.as_deref()),
                cell(
                    st.and_then(|x| x.actual_start_time.as_ref())
                        .map(|t| t.0.to_string())
                        .as_deref(),
                ),
            ]);
        }
        t.row(row);
    }
    t
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_go_durations_or_seconds() {
        assert_eq!(duration_arg("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(duration_arg("1m30s").unwrap(), Duration::from_secs(90));
        assert!(duration_arg("0s").is_err());
        assert!(duration_arg("-1s").is_err());
        assert!(duration_arg("soon").is_err());
        assert_eq!(seconds_arg("3600").unwrap(), 3600);
        assert_eq!(seconds_arg("1h30m").unwrap(), 5400);
        assert!(seconds_arg("0").is_err());
        assert!(seconds_arg("later").unwrap_err().contains("seconds"));
    }

    #[test]
    fn wait_ends_on_approval_with_0_and_on_every_refusal_with_1() {
        assert_eq!(wait_outcome(Some(State::Approved)), Some(0));
        assert_eq!(wait_outcome(Some(State::WaitingForScheduledTime)), Some(0));
        for s in [
            State::Rejected,
            State::Withdrawn,
            State::Expired,
            State::IdleExpired,
            State::ApprovalTimeout,
        ] {
            assert_eq!(wait_outcome(Some(s)), Some(1), "{s}");
        }
        assert_eq!(wait_outcome(Some(State::Pending)), None);
        assert_eq!(wait_outcome(None), None);
    }

    #[test]
    fn a_session_list_round_trips_through_yaml_and_json() {
        let list: SessionList = serde_json::from_value(serde_json::json!({
            "items": [{
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
                "kind": "BreakglassSession",
                "metadata": {"name": "s1", "namespace": "team", "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"cluster": "c", "user": "u@example.com", "grantedGroup": "g", "requestReason": "yes: no"},
                "status": {"state": "Approved", "expiresAt": "2026-01-01T01:00:00Z", "approver": "a@example.com"},
                "approvalReason": {"mandatory": true, "description": "ticket"},
            }],
            "total": 1,
        }))
        .unwrap();
        let p = |format| Printer {
            format,
            headers: true,
            colour: false,
        };
        let json = p(crate::output::Format::Json)
            .render(&list, |_| Table::default())
            .unwrap();
        let yaml = p(crate::output::Format::Yaml)
            .render(&list, |_| Table::default())
            .unwrap();
        let from_json: SessionList = serde_json::from_str(&json).unwrap();
        let from_yaml: SessionList = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(from_json, list);
        assert_eq!(from_yaml, list);
        let table = p(crate::output::Format::Wide)
            .render(&list, |wide| list_table(&list.items, wide))
            .unwrap();
        let mut lines = table.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("NAME   CLUSTER   GROUP   USER")
        );
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("s1     c         g       u@example.com   Approved"),
            "{row}"
        );
        assert!(row.contains("team") && row.contains("a@example.com") && row.contains("yes: no"));
    }

    #[test]
    fn list_filters_become_the_query() {
        let f = Filters {
            mine: true,
            approver: None,
            approved_by_me: false,
            active: true,
            cluster: Some("c".into()),
            user: None,
            group: None,
            state: Some("pending".into()),
        };
        let q = f.query();
        assert_eq!(q.mine, Some(true));
        assert_eq!(q.approver, None);
        assert_eq!(q.approved_by_me, None);
        assert_eq!(q.active_only, Some(true));
        assert_eq!(q.cluster.as_deref(), Some("c"));
        assert_eq!(q.state.as_deref(), Some("pending"));
    }
}
