//! `bgctl why`: asks the server why a request on a cluster is allowed or denied
//! (`POST /api/explain`) and prints the decision, the stage that decided and the trace.
//!
//! Exit codes follow `kubectl auth can-i`: 0 when breakglass would allow the request,
//! 1 when it would deny it (and on errors), 2 on usage errors.

use std::io::Write;

use anyhow::Context as _;
use breakglass_api::rest::explain::{
    ExplainRequest, ExplainResponse, RequestNonResource, RequestResource,
};

use crate::Global;
use crate::output::Format;

/// Arguments of this command.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bgctl why --cluster prod list pods -n payments\n  \
    bgctl why --cluster prod get pods/log -n payments web-0\n  \
    bgctl why --cluster prod --user alice@example.com delete deployments.apps -n shop cart\n  \
    bgctl why --cluster prod get /healthz\n\n\
    Exit status: 0 when breakglass would allow the request, 1 when it would deny it.")]
pub struct Args {
    /// Target cluster (the ClusterConfig name).
    #[arg(long, env = "BGCTL_CLUSTER")]
    pub cluster: String,
    /// Explain another user's request (needs membership of the server's adminGroups);
    /// default: you.
    #[arg(long)]
    pub user: Option<String>,
    /// A group the request carries, as the cluster sees it (OIDC prefix included);
    /// repeatable. Default: your token's groups (for --user: system:authenticated).
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Namespace of the request; empty for cluster-scoped requests.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Verb: get, list, watch, create, update, patch, delete, …
    pub verb: String,
    /// RESOURCE[.GROUP][/SUBRESOURCE] (pods, deployments.apps, pods/exec), or a
    /// non-resource URL starting with / (/healthz).
    pub resource: String,
    /// Object name; empty for a collection.
    pub name: Option<String>,
}

/// The resource or non-resource part of a request, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A resource request.
    Resource(RequestResource),
    /// A non-resource URL.
    NonResource(RequestNonResource),
}

/// Parses `RESOURCE[.GROUP][/SUBRESOURCE]` or `/path`; namespace and name come from
/// their own arguments.
pub fn parse_target(spec: &str, namespace: &str, name: &str) -> anyhow::Result<Target> {
    if spec.starts_with('/') {
        anyhow::ensure!(
            namespace.is_empty() && name.is_empty(),
            "a non-resource URL ({spec}) takes neither --namespace nor a name"
        );
        return Ok(Target::NonResource(RequestNonResource {
            path: spec.to_owned(),
        }));
    }
    let (type_part, subresource) = match spec.split_once('/') {
        Some((t, s)) => {
            anyhow::ensure!(
                !s.is_empty() && !s.contains('/'),
                "resource {spec:?}: expected RESOURCE[.GROUP][/SUBRESOURCE]"
            );
            (t, s)
        }
        None => (spec, ""),
    };
    let (resource, group) = type_part.split_once('.').unwrap_or((type_part, ""));
    anyhow::ensure!(
        !resource.is_empty(),
        "resource {spec:?}: expected RESOURCE[.GROUP][/SUBRESOURCE]"
    );
    Ok(Target::Resource(RequestResource {
        group: group.to_owned(),
        version: String::new(),
        resource: resource.to_owned(),
        subresource: subresource.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }))
}

/// The request body for the arguments.
pub fn request_of(args: &Args) -> anyhow::Result<ExplainRequest> {
    let target = parse_target(
        &args.resource,
        args.namespace.as_deref().unwrap_or_default(),
        args.name.as_deref().unwrap_or_default(),
    )?;
    let (resource_attributes, non_resource_attributes) = match target {
        Target::Resource(r) => (Some(r), None),
        Target::NonResource(n) => (None, Some(n)),
    };
    Ok(ExplainRequest {
        cluster: args.cluster.clone(),
        user: args.user.clone(),
        groups: (!args.groups.is_empty()).then(|| args.groups.clone()),
        verb: args.verb.clone(),
        resource_attributes,
        non_resource_attributes,
    })
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let request = request_of(args)?;
    let client = crate::context::connect(global).await?;
    let answer = client
        .explain(&request)
        .await
        .with_context(|| format!("explaining the request on cluster {}", args.cluster))?;
    let mut out = std::io::stdout().lock();
    match global.output.unwrap_or(Format::Table) {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?,
        Format::Yaml => write!(out, "{}", serde_saphyr::to_string(&answer)?)?,
        Format::Table | Format::Wide => print_explanation(&mut out, &answer, global.no_headers)?,
    }
    Ok(if answer.allowed { 0 } else { 1 })
}

/// The explanation for people: the verdict, the deciding stage, the reason, what was
/// involved, then every stage of the pipeline in order.
pub fn print_explanation(
    out: &mut impl Write,
    e: &ExplainResponse,
    no_headers: bool,
) -> std::io::Result<()> {
    let verdict = if e.allowed { "ALLOWED" } else { "DENIED" };
    writeln!(
        out,
        "{verdict}: {} on {} for {}",
        e.request, e.cluster, e.user
    )?;
    writeln!(out, "Decided by: {} (source {})", e.stage, e.source)?;
    writeln!(out, "Reason:     {}", e.reason)?;
    if let Some(s) = &e.session {
        writeln!(
            out,
            "Session:    {}/{} (group {}, checked as {})",
            s.namespace, s.name, s.group, s.impersonation_group
        )?;
    }
    if let Some(d) = &e.debug_session {
        writeln!(out, "Debug session: {d}")?;
    }
    if let Some(p) = &e.policy {
        let rule = p.rule.map(|r| format!("[{r}]")).unwrap_or_default();
        writeln!(
            out,
            "DenyPolicy: {} {}{} ({} pass){}",
            p.name,
            p.kind,
            rule,
            p.pass,
            p.error
                .as_ref()
                .map(|err| format!(": {err}"))
                .unwrap_or_default()
        )?;
    }
    if !e.groups.is_empty() {
        writeln!(out, "Groups:     {}", e.groups.join(", "))?;
    }
    for w in &e.warnings {
        writeln!(out, "Warning:    {w}")?;
    }
    writeln!(out)?;
    let stage_w = e
        .trace
        .iter()
        .map(|s| s.stage.len())
        .chain([5])
        .max()
        .unwrap_or(5);
    let outcome_w = e
        .trace
        .iter()
        .map(|s| s.outcome.len())
        .chain([7])
        .max()
        .unwrap_or(7);
    if !no_headers {
        writeln!(
            out,
            "{:<stage_w$}  {:<outcome_w$}  DETAIL",
            "STAGE", "OUTCOME"
        )?;
    }
    for s in &e.trace {
        writeln!(
            out,
            "{:<stage_w$}  {:<outcome_w$}  {}",
            s.stage, s.outcome, s.detail
        )?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use breakglass_api::rest::explain::ExplainStep;

    use super::*;

    #[test]
    fn targets_parse_like_kubectl_auth_can_i() {
        let Target::Resource(r) = parse_target("deployments.apps/scale", "shop", "cart").unwrap()
        else {
            panic!("not a resource")
        };
        assert_eq!(
            (
                r.resource.as_str(),
                r.group.as_str(),
                r.subresource.as_str(),
                r.namespace.as_str(),
                r.name.as_str()
            ),
            ("deployments", "apps", "scale", "shop", "cart")
        );
        let Target::Resource(r) = parse_target("pods", "", "").unwrap() else {
            panic!("not a resource")
        };
        assert_eq!((r.group.as_str(), r.subresource.as_str()), ("", ""));
        assert_eq!(
            parse_target("/healthz", "", "").unwrap(),
            Target::NonResource(RequestNonResource {
                path: "/healthz".into()
            })
        );
        for bad in ["pods/", "pods/exec/x", ".apps", "/x"] {
            let ns = if bad == "/x" { "ns" } else { "" };
            let err = parse_target(bad, ns, "").unwrap_err().to_string();
            assert!(
                err.contains(bad) || err.contains("non-resource"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_explanation_names_the_deciding_stage_and_every_step() {
        let e = ExplainResponse {
            cluster: "prod".into(),
            user: "u@example.com".into(),
            groups: vec!["oidc:dev".into()],
            request: "list pods in namespace x".into(),
            allowed: false,
            stage: "no-session".into(),
            source: "final".into(),
            reason: "no session".into(),
            session: None,
            debug_session: None,
            policy: None,
            trace: vec![
                ExplainStep {
                    stage: "cluster".into(),
                    outcome: "passed".into(),
                    detail: "registered".into(),
                },
                ExplainStep {
                    stage: "sessions".into(),
                    outcome: "denied".into(),
                    detail: "no active session".into(),
                },
            ],
            warnings: vec![],
        };
        let mut buf = Vec::new();
        print_explanation(&mut buf, &e, false).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with("DENIED: list pods in namespace x on prod for u@example.com"));
        assert!(
            text.contains("Decided by: no-session (source final)"),
            "{text}"
        );
        assert!(text.contains("STAGE"), "{text}");
        let sessions_line = text.lines().find(|l| l.starts_with("sessions")).unwrap();
        assert!(sessions_line.contains("denied") && sessions_line.contains("no active session"));
        let mut buf = Vec::new();
        print_explanation(&mut buf, &e, true).unwrap();
        assert!(!String::from_utf8(buf).unwrap().contains("STAGE"));
    }
}
