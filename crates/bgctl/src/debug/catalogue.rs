//! `bgctl debug template …` and `bgctl debug pod-template …`.

use breakglass_api::rest::debug::catalogue::{
    ClustersQuery, PodTemplateView, TemplateClustersView, TemplateView, TemplatesQuery,
};

use crate::Global;
use crate::output::{Printer, Table, cell, client_error};

/// Arguments of `debug template`.
#[derive(Debug, clap::Args)]
pub struct TemplateArgs {
    #[command(subcommand)]
    command: TemplateCmd,
}

#[derive(Debug, clap::Subcommand)]
enum TemplateCmd {
    /// List the templates you may request.
    List(TemplateListArgs),
    /// Show one template (hidden and unavailable ones included).
    Get(NameArg),
    /// The clusters a template may be requested on, and through which bindings.
    Clusters(ClustersArgs),
    /// The binding options of a template on one cluster.
    Bindings(BindingsArgs),
}

#[derive(Debug, clap::Args)]
struct TemplateListArgs {
    /// Include templates without a Ready cluster available to you.
    #[arg(short = 'a', long)]
    all: bool,
    /// Include templates marked hidden.
    #[arg(long)]
    include_hidden: bool,
}

#[derive(Debug, clap::Args)]
struct NameArg {
    /// Name.
    name: String,
}

#[derive(Debug, clap::Args)]
struct ClustersArgs {
    /// Template name.
    name: String,
    /// Only clusters of this environment.
    #[arg(long)]
    environment: Option<String>,
    /// Only clusters at this location.
    #[arg(long)]
    location: Option<String>,
    /// Only options of bindings with this name.
    #[arg(long)]
    binding: Option<String>,
}

#[derive(Debug, clap::Args)]
struct BindingsArgs {
    /// Template name.
    template: String,
    /// Cluster name.
    cluster: String,
}

/// Arguments of `debug pod-template`.
#[derive(Debug, clap::Args)]
pub struct PodTemplateArgs {
    #[command(subcommand)]
    command: PodTemplateCmd,
}

#[derive(Debug, clap::Subcommand)]
enum PodTemplateCmd {
    /// List the debug pod templates.
    List,
    /// Show one debug pod template.
    Get(NameArg),
}

/// Runs `debug template …`.
pub async fn run_templates(global: &Global, args: &TemplateArgs) -> anyhow::Result<u8> {
    let printer = Printer::new(global);
    let client = crate::context::connect(global).await?;
    let err = |e| client_error(e, global.verbose);
    let out = &mut std::io::stdout().lock();
    match &args.command {
        TemplateCmd::List(a) => {
            let list = client
                .list_debug_templates(&TemplatesQuery {
                    include_hidden: a.include_hidden.then_some(true),
                    include_unavailable: a.all.then_some(true),
                })
                .await
                .map_err(err)?;
            printer.print(out, &list, |wide| template_table(&list.templates, wide))?;
        }
        TemplateCmd::Get(a) => {
            let Some(t) = client.get_debug_template(&a.name).await.map_err(err)? else {
                anyhow::bail!(
                    "debug session template {:?} not found among the templates you may request",
                    a.name
                );
            };
            printer.print(out, &t, |wide| {
                template_table(std::slice::from_ref(&t), wide)
            })?;
        }
        TemplateCmd::Clusters(a) => {
            let view = client
                .debug_template_clusters(
                    &a.name,
                    &ClustersQuery {
                        environment: a.environment.clone(),
                        location: a.location.clone(),
                        binding_name: a.binding.clone(),
                    },
                )
                .await
                .map_err(err)?;
            printer.print(out, &view, |wide| clusters_table(&view, wide))?;
        }
        TemplateCmd::Bindings(a) => {
            let view = client
                .debug_template_clusters(&a.template, &ClustersQuery::default())
                .await
                .map_err(err)?;
            let Some(cluster) = view.clusters.into_iter().find(|c| c.name == a.cluster) else {
                anyhow::bail!(
                    "template {:?} cannot be requested on cluster {:?} by you",
                    a.template,
                    a.cluster
                );
            };
            let options = cluster.binding_options;
            printer.print(out, &options, |_| {
                let mut t = Table::new(&["BINDING", "DISPLAY-NAME", "APPROVAL", "MAX-DURATION"]);
                for o in &options {
                    t.row(vec![
                        o.binding_ref.as_ref().map_or_else(
                            || "(template)".to_owned(),
                            |b| format!("{}/{}", b.namespace, b.name),
                        ),
                        o.display_name.clone(),
                        approval(
                            o.details.approval.required,
                            o.details.approval.can_auto_approve,
                        ),
                        cell(
                            o.details
                                .constraints
                                .as_ref()
                                .and_then(|c| c.max_duration.as_deref()),
                        ),
                    ]);
                }
                t
            })?;
        }
    }
    Ok(0)
}

/// Runs `debug pod-template …`.
pub async fn run_pod_templates(global: &Global, args: &PodTemplateArgs) -> anyhow::Result<u8> {
    let printer = Printer::new(global);
    let client = crate::context::connect(global).await?;
    let err = |e| client_error(e, global.verbose);
    let out = &mut std::io::stdout().lock();
    match &args.command {
        PodTemplateCmd::List => {
            let list = client.list_debug_pod_templates().await.map_err(err)?;
            printer.print(out, &list, |wide| pod_template_table(&list.templates, wide))?;
        }
        PodTemplateCmd::Get(a) => {
            let t = client.get_debug_pod_template(&a.name).await.map_err(err)?;
            printer.print(out, &t, |wide| {
                pod_template_table(std::slice::from_ref(&t), wide)
            })?;
        }
    }
    Ok(0)
}

fn approval(required: bool, auto: bool) -> String {
    match (required, auto) {
        (true, _) => "required",
        (false, true) => "auto",
        (false, false) => "none",
    }
    .to_owned()
}

/// `NAME DISPLAY-NAME MODE CLUSTERS APPROVAL`; wide adds `POD-TEMPLATE WORKLOAD
/// TARGET_NS PRIORITY DEPRECATED`.
fn template_table(templates: &[TemplateView], wide: bool) -> Table {
    let mut headers = vec!["NAME", "DISPLAY-NAME", "MODE", "CLUSTERS", "APPROVAL"];
    if wide {
        headers.extend([
            "POD-TEMPLATE",
            "WORKLOAD",
            "TARGET_NS",
            "PRIORITY",
            "DEPRECATED",
        ]);
    }
    let mut t = Table::new(&headers);
    for tpl in templates {
        let mut row = vec![
            tpl.name.clone(),
            tpl.display_name.clone(),
            tpl.mode.clone(),
            tpl.available_cluster_count.to_string(),
            if tpl.requires_approval {
                "required"
            } else {
                "none"
            }
            .to_owned(),
        ];
        if wide {
            row.extend([
                cell(tpl.pod_template_ref.as_deref()),
                cell(tpl.workload_type.as_deref()),
                cell(Some(&tpl.target_namespace)),
                tpl.priority.to_string(),
                tpl.deprecated.to_string(),
            ]);
        }
        t.row(row);
    }
    t
}

/// `CLUSTER DISPLAY-NAME ENVIRONMENT LOCATION BINDING APPROVAL HEALTHY`; wide adds
/// `TENANT SITE OPTIONS`.
fn clusters_table(view: &TemplateClustersView, wide: bool) -> Table {
    let mut headers = vec![
        "CLUSTER",
        "DISPLAY-NAME",
        "ENVIRONMENT",
        "LOCATION",
        "BINDING",
        "APPROVAL",
        "HEALTHY",
    ];
    if wide {
        headers.extend(["TENANT", "SITE", "OPTIONS"]);
    }
    let mut t = Table::new(&headers);
    for c in &view.clusters {
        let mut row = vec![
            c.name.clone(),
            c.display_name.clone(),
            cell(c.environment.as_deref()),
            cell(c.location.as_deref()),
            c.binding_ref
                .as_ref()
                .map_or_else(|| "-".to_owned(), |b| format!("{}/{}", b.namespace, b.name)),
            c.details.as_ref().map_or_else(
                || "-".to_owned(),
                |d| approval(d.approval.required, d.approval.can_auto_approve),
            ),
            c.status.healthy.to_string(),
        ];
        if wide {
            row.extend([
                cell(c.tenant.as_deref()),
                cell(c.site.as_deref()),
                c.binding_options.len().to_string(),
            ]);
        }
        t.row(row);
    }
    t
}

/// `NAME DISPLAY-NAME KIND CONTAINERS`; wide adds `IMAGES DESCRIPTION`.
fn pod_template_table(templates: &[PodTemplateView], wide: bool) -> Table {
    let mut headers = vec!["NAME", "DISPLAY-NAME", "KIND", "CONTAINERS"];
    if wide {
        headers.extend(["IMAGES", "DESCRIPTION"]);
    }
    let mut t = Table::new(&headers);
    for p in templates {
        let names: Vec<&str> = p.containers.iter().map(|c| c.name.as_str()).collect();
        let mut row = vec![
            p.name.clone(),
            p.display_name.clone(),
            p.kind.clone(),
            cell(Some(&names.join(","))),
        ];
        if wide {
            let images: Vec<&str> = p
                .containers
                .iter()
                .filter_map(|c| c.image.as_deref())
                .collect();
            row.extend([
                cell(Some(&images.join(","))),
                cell(p.description.as_deref()),
            ]);
        }
        t.row(row);
    }
    t
}
