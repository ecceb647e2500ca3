//! `bgctl kubectl` (and the `kubectl-breakglass` plugin, which runs it): runs kubectl;
//! when the apiserver answers Forbidden, asks the server which of the caller's
//! escalations would allow exactly that request, requests a session for one of them,
//! waits for approval and runs the command once more.
//!
//! kubectl's own output passes through untouched (its stderr is also read, to find the
//! Forbidden line); everything this command says goes to stderr. The exit status is
//! kubectl's, except when the escalation step itself fails (1).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use breakglass_api::BreakglassSessionState as State;
use breakglass_api::rest::explain::{
    EscalationForRequest, ExplainRequest, ForRequestQuery, RequestNonResource, RequestResource,
};
use breakglass_api::rest::sessions::CreateSessionRequest;
use breakglass_client::Client;
use breakglass_core::duration::GoDuration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::Global;

/// Arguments of this command.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bgctl kubectl -- get pods -n payments\n  \
    bgctl kubectl --cluster prod --reason 'INC-42: restart cart' -- rollout restart deploy/cart -n shop\n  \
    kubectl breakglass -- logs web-0 -n payments     (as a kubectl plugin)\n\n\
    The cluster is --cluster, else kubectl's --cluster argument, else the kubeconfig\n\
    cluster name of the current (or --context) context: name kubeconfig clusters\n\
    after their ClusterConfig.")]
pub struct Args {
    /// Target cluster (ClusterConfig name); default: the kubeconfig cluster of the
    /// context kubectl uses.
    #[arg(long, env = "BGCTL_CLUSTER")]
    pub cluster: Option<String>,
    /// The escalation to request when several would allow the request (NAME or
    /// NAMESPACE/NAME); without it, the only one is taken, or you are asked.
    #[arg(long, env = "BGCTL_ESCALATION")]
    pub escalation: Option<String>,
    /// Why you need access (asked for on a terminal when missing).
    #[arg(long, env = "BGCTL_REASON")]
    pub reason: Option<String>,
    /// How long to wait for approval (Go duration: 90s, 15m, 1h).
    #[arg(long, default_value = "15m", value_parser = parse_timeout)]
    pub wait_timeout: Duration,
    /// How often to check the session while waiting.
    #[arg(long, default_value = "2s", value_parser = parse_timeout, hide = true)]
    pub poll_interval: Duration,
    /// The kubectl to run.
    #[arg(long, env = "BGCTL_KUBECTL", default_value = "kubectl")]
    pub kubectl: PathBuf,
    /// kubectl's arguments (put them after `--`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "KUBECTL_ARGS"
    )]
    pub args: Vec<String>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d: GoDuration = s.parse().map_err(|e| format!("{e}"))?;
    if !d.is_positive() {
        return Err("must be positive".to_owned());
    }
    Ok(Duration::from_nanos(d.as_nanos().unsigned_abs()))
}

/// What a kubectl Forbidden line says about the refused request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forbidden {
    /// The user the apiserver saw.
    pub user: String,
    /// The verb.
    pub verb: String,
    /// The resource request (empty `resource` for a non-resource request).
    pub resource: RequestResource,
    /// The non-resource URL, for `cannot <verb> path "/x"`.
    pub path: Option<String>,
}

impl Forbidden {
    /// The request in the REST API's shape.
    fn attributes(&self) -> (Option<RequestResource>, Option<RequestNonResource>) {
        match &self.path {
            Some(p) => (None, Some(RequestNonResource { path: p.clone() })),
            None => (Some(self.resource.clone()), None),
        }
    }

    /// The request in words, for messages.
    fn describe(&self) -> String {
        if let Some(p) = &self.path {
            return format!("{} {p}", self.verb);
        }
        let r = &self.resource;
        let mut s = format!("{} {}", self.verb, r.resource);
        if !r.subresource.is_empty() {
            s.push_str(&format!("/{}", r.subresource));
        }
        if !r.group.is_empty() {
            s.push_str(&format!(" (group {})", r.group));
        }
        if !r.name.is_empty() {
            s.push_str(&format!(" {}", r.name));
        }
        if !r.namespace.is_empty() {
            s.push_str(&format!(" in namespace {}", r.namespace));
        }
        s
    }
}

/// The text between `start` and the next `"`, and what follows that quote.
fn quoted<'a>(text: &'a str, start: &str) -> Option<(&'a str, &'a str)> {
    let rest = text.strip_prefix(start)?;
    let end = rest.find('"')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// Finds the first Forbidden line of kubectl's stderr and parses it:
/// `… pods "web" is forbidden: User "u" cannot get resource "pods/log" in API group ""
/// in the namespace "ns"`, `… at the cluster scope`, or `… cannot get path "/x"`.
pub fn parse_forbidden(stderr: &str) -> Option<Forbidden> {
    stderr.lines().find_map(parse_forbidden_line)
}

fn parse_forbidden_line(line: &str) -> Option<Forbidden> {
    let at = line.find("forbidden: User \"")?;
    let before = &line[..at];
    let (user, rest) = quoted(&line[at..], "forbidden: User \"")?;
    let rest = rest.strip_prefix(" cannot ")?;
    let (verb, rest) = rest.split_once(' ')?;
    let mut out = Forbidden {
        user: user.to_owned(),
        verb: verb.to_owned(),
        ..Forbidden::default()
    };
    if let Some((path, _)) = quoted(rest, "path \"") {
        out.path = Some(path.to_owned());
        return Some(out);
    }
    let (resource, rest) = quoted(rest, "resource \"")?;
    let (group, rest) = quoted(rest, " in API group \"")?;
    let namespace = match quoted(rest, " in the namespace \"") {
        Some((ns, _)) => ns,
        None if rest.starts_with(" at the cluster scope") => "",
        None => return None,
    };
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    // `pods "web" is forbidden`: the object's name, when the request named one.
    let name = before
        .trim_end()
        .strip_suffix(" is")
        .and_then(|b| b.strip_suffix('"'))
        .and_then(|b| b.rfind('"').map(|i| &b[i + 1..]))
        .unwrap_or_default();
    out.resource = RequestResource {
        group: group.to_owned(),
        version: String::new(),
        resource: resource.to_owned(),
        subresource: subresource.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    };
    (!out.resource.resource.is_empty()).then_some(out)
}

/// The value of a kubectl flag given as `--flag value` or `--flag=value`.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    let long = format!("--{flag}");
    let with_eq = format!("--{flag}=");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == &long {
            return it.next().cloned();
        }
        if let Some(v) = a.strip_prefix(&with_eq) {
            return Some(v.to_owned());
        }
    }
    None
}

/// Runs kubectl with `args`; its stdout and stdin are the terminal's, its stderr is
/// copied through and kept (the last 64 KiB) to look for a Forbidden line.
async fn run_kubectl(kubectl: &Path, args: &[String]) -> anyhow::Result<(u8, String)> {
    const KEEP: usize = 64 * 1024;
    let mut child = tokio::process::Command::new(kubectl)
        .args(args)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {} (set --kubectl)", kubectl.display()))?;
    let mut kept = Vec::new();
    if let Some(mut err) = child.stderr.take() {
        let mut our = tokio::io::stderr();
        let mut buf = [0u8; 8192];
        loop {
            let n = err
                .read(&mut buf)
                .await
                .context("reading kubectl's stderr")?;
            if n == 0 {
                break;
            }
            our.write_all(&buf[..n]).await?;
            our.flush().await?;
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > KEEP {
                kept.drain(..kept.len() - KEEP);
            }
        }
    }
    let status = child.wait().await.context("waiting for kubectl")?;
    let code = status
        .code()
        .map_or(1, |c| u8::try_from(c.clamp(0, 255)).unwrap_or(1));
    Ok((code, String::from_utf8_lossy(&kept).into_owned()))
}

/// The cluster: `--cluster`, kubectl's `--cluster`, or the kubeconfig cluster of the
/// context kubectl uses.
async fn cluster_name(args: &Args) -> anyhow::Result<String> {
    if let Some(c) = args.cluster.as_ref().filter(|c| !c.is_empty()) {
        return Ok(c.clone());
    }
    if let Some(c) = flag_value(&args.args, "cluster") {
        return Ok(c);
    }
    let mut cmd = tokio::process::Command::new(&args.kubectl);
    cmd.args(["config", "view", "--minify", "-o"])
        .arg("jsonpath={.contexts[0].context.cluster}");
    for flag in ["kubeconfig", "context"] {
        if let Some(v) = flag_value(&args.args, flag) {
            cmd.arg(format!("--{flag}={v}"));
        }
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {} config view", args.kubectl.display()))?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    anyhow::ensure!(
        out.status.success() && !name.is_empty(),
        "cannot tell the cluster from the kubeconfig ({}); pass --cluster",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(name)
}

/// Picks the escalation to request among those that would allow the request.
fn choose<'a>(
    items: &'a [EscalationForRequest],
    wanted: Option<&str>,
    interactive: bool,
) -> anyhow::Result<&'a EscalationForRequest> {
    let names = || {
        items
            .iter()
            .map(|e| format!("{}/{} (group {})", e.namespace, e.name, e.group))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(w) = wanted {
        return items
            .iter()
            .find(|e| e.name == w || format!("{}/{}", e.namespace, e.name) == w)
            .with_context(|| {
                format!("--escalation {w}: not one of the escalations that would allow this request: {}", names())
            });
    }
    match items {
        [] => anyhow::bail!("no escalation available to you would allow this request"),
        [only] => Ok(only),
        _ if !interactive => anyhow::bail!(
            "several escalations would allow this request: {}; pick one with --escalation",
            names()
        ),
        _ => {
            let mut err = std::io::stderr().lock();
            writeln!(err, "Escalations that would allow this request:")?;
            for (i, e) in items.iter().enumerate() {
                writeln!(
                    err,
                    "  {}) {}/{} (group {})",
                    i + 1,
                    e.namespace,
                    e.name,
                    e.group
                )?;
            }
            let answer = prompt(&format!("Request which one [1-{}]: ", items.len()))?;
            answer
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| items.get(i))
                .with_context(|| format!("{:?} is not one of 1-{}", answer.trim(), items.len()))
        }
    }
}

fn prompt(question: &str) -> anyhow::Result<String> {
    let mut err = std::io::stderr().lock();
    write!(err, "{question}")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Requests a session for the escalation's group; returns its name.
async fn request_session(
    client: &Client,
    cluster: &str,
    esc: &EscalationForRequest,
    reason: Option<String>,
) -> anyhow::Result<String> {
    let body = CreateSessionRequest {
        cluster: cluster.to_owned(),
        group: esc.group.clone(),
        reason,
        ..CreateSessionRequest::default()
    };
    let created = client
        .request_session(&body)
        .await
        .with_context(|| format!("requesting a session for group {}", esc.group))?;
    Ok(created.metadata.name)
}

/// After approval, waits (briefly) until the server's own decision allows the request,
/// so the retry does not race the approval reaching the webhook's view.
async fn wait_allowed(client: &Client, cluster: &str, f: &Forbidden) {
    let (resource_attributes, non_resource_attributes) = f.attributes();
    let req = ExplainRequest {
        cluster: cluster.to_owned(),
        verb: f.verb.clone(),
        resource_attributes,
        non_resource_attributes,
        ..ExplainRequest::default()
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        match client.explain(&req).await {
            Ok(e) if e.allowed => return,
            Ok(_) => {}
            // Explaining is a courtesy here; the retry shows the truth.
            Err(_) => return,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let (code, stderr) = run_kubectl(&args.kubectl, &args.args).await?;
    if code == 0 {
        return Ok(0);
    }
    let Some(forbidden) = parse_forbidden(&stderr) else {
        return Ok(code);
    };
    let cluster = cluster_name(args).await?;
    let client = crate::context::connect(global).await?;
    let (resource_attributes, non_resource_attributes) = forbidden.attributes();
    let found = client
        .escalations_for_request(&ForRequestQuery {
            cluster: cluster.clone(),
            verb: forbidden.verb.clone(),
            resource_attributes,
            non_resource_attributes,
            ..ForRequestQuery::default()
        })
        .await
        .with_context(|| format!("asking which escalations would allow this on {cluster}"))?;
    eprintln!(
        "breakglass: {} was forbidden on {cluster}; {} escalation(s) of yours would allow it.",
        forbidden.describe(),
        found.total
    );
    if found.items.is_empty() {
        for e in &found.not_allowing {
            eprintln!(
                "  {}/{} (group {}) would not: {}",
                e.namespace, e.name, e.group, e.reason
            );
        }
        return Ok(code);
    }
    let interactive = !global.non_interactive && std::io::stdin().is_terminal();
    let esc = choose(&found.items, args.escalation.as_deref(), interactive)?;
    let name = match &esc.session {
        Some(s) if s.state == State::Pending.to_string() => {
            eprintln!("You already requested session {} for it.", s.name);
            s.name.clone()
        }
        // Held already: the approval may not have reached the decision yet.
        Some(s) if s.state == State::Approved.to_string() => {
            eprintln!("You already hold session {} for it.", s.name);
            s.name.clone()
        }
        _ => {
            let reason = match &args.reason {
                Some(r) => Some(r.clone()),
                None if interactive => {
                    Some(prompt("Reason for the request: ")?).filter(|r| !r.trim().is_empty())
                }
                None => None,
            };
            let name = request_session(&client, &cluster, esc, reason).await?;
            eprintln!(
                "Requested session {name} for group {} (escalation {}/{}).",
                esc.group, esc.namespace, esc.name
            );
            name
        }
    };
    let session = client
        .get_session(&name)
        .await
        .with_context(|| format!("reading session {name}"))?
        .session;
    // The same wait as `session request --wait`: one progress line, the decision named.
    let (_, decided) = crate::session::wait_decision(
        &client,
        global,
        session,
        Some(args.wait_timeout),
        args.poll_interval,
    )
    .await?;
    if decided != 0 {
        return Ok(1);
    }
    wait_allowed(&client, &cluster, &forbidden).await;
    eprintln!("Running kubectl again.");
    let (code, _) = run_kubectl(&args.kubectl, &args.args).await?;
    Ok(code)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn forbidden_lines_parse_into_the_request() {
        let f = parse_forbidden(
            "I1203 noise\nError from server (Forbidden): pods is forbidden: User \"requester@example.com\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\": no session\n",
        )
        .unwrap();
        assert_eq!(f.user, "requester@example.com");
        assert_eq!(f.verb, "list");
        assert_eq!(
            (
                f.resource.resource.as_str(),
                f.resource.namespace.as_str(),
                f.resource.name.as_str()
            ),
            ("pods", "default", "")
        );

        let f = parse_forbidden(
            "Error from server (Forbidden): deployments.apps \"cart\" is forbidden: User \"u\" cannot get resource \"deployments/scale\" in API group \"apps\" in the namespace \"shop\"",
        )
        .unwrap();
        assert_eq!(
            (
                f.resource.resource.as_str(),
                f.resource.subresource.as_str(),
                f.resource.group.as_str(),
                f.resource.name.as_str()
            ),
            ("deployments", "scale", "apps", "cart")
        );
        assert_eq!(
            f.describe(),
            "get deployments/scale (group apps) cart in namespace shop"
        );

        let f = parse_forbidden(
            "Error from server (Forbidden): nodes is forbidden: User \"u\" cannot list resource \"nodes\" in API group \"\" at the cluster scope",
        )
        .unwrap();
        assert_eq!(
            (f.resource.resource.as_str(), f.resource.namespace.as_str()),
            ("nodes", "")
        );

        let f = parse_forbidden(
            "Error from server (Forbidden): forbidden: User \"u\" cannot get path \"/metrics\"",
        )
        .unwrap();
        assert_eq!(f.path.as_deref(), Some("/metrics"));
        assert_eq!(f.attributes().1.unwrap().path, "/metrics");

        for other in [
            "Error from server (NotFound): pods \"x\" not found",
            "error: You must be logged in to the server (Unauthorized)",
            "pods is forbidden: User \"u\" cannot list resource \"pods\" somewhere else",
        ] {
            assert_eq!(parse_forbidden(other), None, "{other}");
        }
    }

    #[test]
    fn kubectl_flags_are_read_in_both_spellings() {
        let args: Vec<String> = ["get", "pods", "--context=prod", "--kubeconfig", "/k"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(flag_value(&args, "context").as_deref(), Some("prod"));
        assert_eq!(flag_value(&args, "kubeconfig").as_deref(), Some("/k"));
        assert_eq!(flag_value(&args, "cluster"), None);
    }

    #[test]
    fn kubectl_arguments_pass_through_even_when_they_look_like_flags() {
        let cli = crate::Cli::try_parse_from([
            "bgctl",
            "kubectl",
            "--cluster",
            "c",
            "--",
            "get",
            "pods",
            "-n",
            "x",
            "-o",
            "yaml",
        ])
        .unwrap();
        let crate::Command::Kubectl(a) = cli.command else {
            panic!("not kubectl")
        };
        assert_eq!(a.cluster.as_deref(), Some("c"));
        assert_eq!(a.args, ["get", "pods", "-n", "x", "-o", "yaml"]);
        assert!(
            cli.global.output.is_none(),
            "kubectl's -o must not reach bgctl"
        );

        let cli =
            crate::Cli::try_parse_from(["bgctl", "kubectl", "get", "pods", "-o", "wide"]).unwrap();
        let crate::Command::Kubectl(a) = cli.command else {
            panic!("not kubectl")
        };
        assert_eq!(a.args, ["get", "pods", "-o", "wide"]);
    }

    #[test]
    fn choosing_an_escalation() {
        let item = |name: &str| EscalationForRequest {
            name: name.into(),
            namespace: "team".into(),
            group: format!("{name}-group"),
            allowed: true,
            stage: "session".into(),
            reason: String::new(),
            session: None,
        };
        let one = [item("a")];
        assert_eq!(choose(&one, None, false).unwrap().name, "a");
        let two = [item("a"), item("b")];
        let err = choose(&two, None, false).unwrap_err().to_string();
        assert!(
            err.contains("--escalation") && err.contains("team/b"),
            "{err}"
        );
        assert_eq!(choose(&two, Some("team/b"), false).unwrap().name, "b");
        assert_eq!(choose(&two, Some("a"), false).unwrap().name, "a");
        let err = choose(&two, Some("c"), false).unwrap_err().to_string();
        assert!(err.contains("--escalation c"), "{err}");
        assert!(choose(&[], None, false).is_err());
        assert!(parse_timeout("0s").is_err());
        assert_eq!(parse_timeout("90s").unwrap(), Duration::from_secs(90));
    }
}
