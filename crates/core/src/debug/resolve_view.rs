//! Discovery: the templates a caller may request ([`list_templates`]) and, for
//! one template, the clusters and binding options ([`template_clusters`]).
//!
//! Only routes that admit the caller count. Bindings marked `hidden` are left
//! out entirely: they authorize only requests that name them (`bindingRef`). Cluster counts
//! include Ready clusters only; the cluster list shows every granted cluster
//! with its health. Scheduling options and extra deploy variables are
//! filtered by the caller's user and groups.

use std::collections::BTreeSet;

use breakglass_api::DebugSessionClusterBinding;
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_api::debug_common::{
    ExtraDeployVariable, NamespaceConstraints, SchedulingConstraints, SchedulingOptions,
};
use breakglass_api::debug_session_template::{DebugSessionTemplate, DebugSessionTemplateSpec};
use jiff::Timestamp;

use super::{
    Requester, admits, binding_active, binding_applies, binding_grants_cluster, binding_key,
    by_priority, cluster_name, effective_allowed, option_allows, template_grants_cluster,
};
use crate::debug::approval::requires_approval;
use crate::debug::merge::{effective_template, merge_namespace_constraints};
use crate::glob;

pub use breakglass_api::rest::debug::catalogue::{
    ApprovalView, BindingOptionView, BindingRefView, ClusterStatusView, ClusterView,
    ImpersonationView, NamespaceView, NotificationView, OptionDetails, SchedulingSummary,
    TemplateClustersView, TemplateView,
};

/// Everything discovery looks at.
#[derive(Debug, Clone, Copy)]
pub struct Catalogue<'a> {
    /// Every DebugSessionTemplate.
    pub templates: &'a [&'a DebugSessionTemplate],
    /// Every DebugSessionClusterBinding.
    pub bindings: &'a [&'a DebugSessionClusterBinding],
    /// Every ClusterConfig.
    pub clusters: &'a [&'a ClusterConfig],
    /// Now (binding windows).
    pub now: Timestamp,
}

/// `?includeHidden`, `?includeUnavailable`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListOptions {
    /// List templates marked `hidden`.
    pub include_hidden: bool,
    /// List templates without an available cluster.
    pub include_unavailable: bool,
}

/// The active bindings and the clusters each grants (indices into `clusters`).
struct Granted<'a> {
    binding: &'a DebugSessionClusterBinding,
    clusters: Vec<usize>,
}

fn granted<'a>(cat: &Catalogue<'a>) -> Vec<Granted<'a>> {
    let mut out: Vec<Granted<'a>> = cat
        .bindings
        .iter()
        .copied()
        .filter(|b| binding_active(&b.spec, cat.now))
        .map(|b| Granted {
            binding: b,
            clusters: (0..cat.clusters.len())
                .filter(|&i| binding_grants_cluster(&b.spec, cat.clusters[i]))
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| by_priority(a.binding, b.binding));
    out
}

fn hidden(b: &DebugSessionClusterBinding) -> bool {
    b.spec.hidden == Some(true)
}

/// The templates the caller may request, highest priority first, then by name.
pub fn list_templates(
    cat: &Catalogue<'_>,
    requester: &Requester<'_>,
    options: ListOptions,
) -> Vec<TemplateView> {
    let bindings = granted(cat);
    let mut out = Vec::new();
    for template in cat.templates.iter().copied() {
        if template.spec.hidden == Some(true) && !options.include_hidden {
            continue;
        }
        let mut admitted = false;
        let mut available: BTreeSet<usize> = BTreeSet::new();
        for g in bindings
            .iter()
            .filter(|g| !hidden(g.binding) && binding_applies(&g.binding.spec, template))
        {
            if !admits(
                effective_allowed(&template.spec, Some(&g.binding.spec)),
                requester,
            ) {
                continue;
            }
            admitted = true;
            available.extend(g.clusters.iter().filter(|&&i| cat.clusters[i].is_ready()));
        }
        if admits(effective_allowed(&template.spec, None), requester) {
            let direct: Vec<usize> = (0..cat.clusters.len())
                .filter(|&i| template_grants_cluster(&template.spec, cat.clusters[i]))
                .collect();
            admitted |= !direct.is_empty();
            available.extend(direct.into_iter().filter(|&i| cat.clusters[i].is_ready()));
        }
        if !admitted || (available.is_empty() && !options.include_unavailable) {
            continue;
        }
        out.push(template_view(template, requester, available.len()));
    }
    out.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

fn template_view(
    template: &DebugSessionTemplate,
    requester: &Requester<'_>,
    available: usize,
) -> TemplateView {
    let spec = &template.spec;
    let name = template.metadata.name.clone().unwrap_or_default();
    let allowed = spec.allowed.as_ref();
    TemplateView {
        display_name: spec.display_name.clone().unwrap_or_else(|| name.clone()),
        name,
        description: spec.description.clone(),
        mode: spec.mode().as_str().to_owned(),
        workload_type: spec.workload_type.map(|w| w.as_str().to_owned()),
        pod_template_ref: spec.pod_template_ref.as_ref().map(|r| r.name.clone()),
        target_namespace: spec.target_namespace().to_owned(),
        constraints: spec.constraints.clone(),
        allowed_clusters: allowed.and_then(|a| a.clusters.clone()).unwrap_or_default(),
        allowed_groups: allowed.and_then(|a| a.groups.clone()).unwrap_or_default(),
        requires_approval: spec.approvers.as_ref().is_some_and(|a| a.has_approvers()),
        scheduling_options: filter_scheduling_options(spec.scheduling_options.as_ref(), requester),
        namespace_constraints: namespace_view(spec.namespace_constraints.as_ref()),
        extra_deploy_variables: filter_variables(spec.extra_deploy_variables.as_deref(), requester),
        priority: spec.priority.unwrap_or(0),
        hidden: spec.hidden == Some(true),
        deprecated: spec.deprecated == Some(true),
        deprecation_message: spec.deprecation_message.clone(),
        has_available_clusters: available > 0,
        available_cluster_count: available,
    }
}

fn group_allowed(allowed: Option<&Vec<String>>, requester: &Requester<'_>) -> bool {
    allowed.is_none_or(|g| g.is_empty() || glob::match_groups(g, requester.groups))
}

/// The scheduling options the requester may choose (`allowedUsers`/`allowedGroups`;
/// both empty: everyone). `None` when the block is absent or nothing remains.
pub fn filter_scheduling_options(
    options: Option<&SchedulingOptions>,
    requester: &Requester<'_>,
) -> Option<SchedulingOptions> {
    let options = options?;
    let kept: Vec<_> = options
        .options
        .iter()
        .filter(|o| option_allows(o, requester))
        .cloned()
        .collect();
    (!kept.is_empty()).then_some(SchedulingOptions {
        required: options.required,
        options: kept,
    })
}

fn filter_variables(
    vars: Option<&[ExtraDeployVariable]>,
    requester: &Requester<'_>,
) -> Vec<ExtraDeployVariable> {
    vars.unwrap_or_default()
        .iter()
        .filter(|v| group_allowed(v.allowed_groups.as_ref(), requester))
        .map(|v| {
            let mut v = v.clone();
            if let Some(opts) = v.options.as_mut() {
                opts.retain(|o| group_allowed(o.allowed_groups.as_ref(), requester));
            }
            v
        })
        .collect()
}

fn namespace_view(nc: Option<&NamespaceConstraints>) -> NamespaceView {
    let eff = merge_namespace_constraints(nc, None);
    let allow = nc.and_then(|n| n.allowed_namespaces.as_ref());
    let deny = nc.and_then(|n| n.denied_namespaces.as_ref());
    NamespaceView {
        allowed_patterns: allow.and_then(|f| f.patterns.clone()).unwrap_or_default(),
        allowed_label_selectors: allow
            .and_then(|f| f.selector_terms.clone())
            .unwrap_or_default(),
        denied_patterns: deny.and_then(|f| f.patterns.clone()).unwrap_or_default(),
        denied_label_selectors: deny
            .and_then(|f| f.selector_terms.clone())
            .unwrap_or_default(),
        default_namespace: eff.default_namespace,
        allow_user_namespace: eff.allow_user_namespace,
    }
}

// ---------------------------------------------------------------------------------------------
// One template's clusters

/// `?environment`, `?location`, `?bindingName`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterFilter<'q> {
    /// Only clusters of this environment.
    pub environment: Option<&'q str>,
    /// Only clusters at this location.
    pub location: Option<&'q str>,
    /// Only options of bindings with this name.
    pub binding_name: Option<&'q str>,
}

struct Route<'a> {
    binding: Option<&'a DebugSessionClusterBinding>,
    clusters: Vec<usize>,
    effective: DebugSessionTemplateSpec,
    namespaces: NamespaceView,
}

fn routes<'a>(
    cat: &Catalogue<'a>,
    template: &DebugSessionTemplate,
    requester: &Requester<'_>,
) -> (bool, Vec<Route<'a>>) {
    let mut admitted = false;
    let mut out = Vec::new();
    for g in granted(cat) {
        let b = g.binding;
        if hidden(b)
            || !binding_applies(&b.spec, template)
            || !admits(effective_allowed(&template.spec, Some(&b.spec)), requester)
        {
            continue;
        }
        admitted = true;
        let eff_ns = merge_namespace_constraints(
            template.spec.namespace_constraints.as_ref(),
            b.spec.namespace_constraints.as_ref(),
        );
        let mut namespaces = namespace_view(eff_ns.to_constraints().as_ref());
        namespaces.default_namespace = eff_ns.default_namespace;
        out.push(Route {
            binding: Some(b),
            clusters: g.clusters,
            effective: effective_template(&template.spec, Some(&b.spec)),
            namespaces,
        });
    }
    if admits(effective_allowed(&template.spec, None), requester) {
        let clusters: Vec<usize> = (0..cat.clusters.len())
            .filter(|&i| template_grants_cluster(&template.spec, cat.clusters[i]))
            .collect();
        if !clusters.is_empty() {
            admitted = true;
            out.push(Route {
                binding: None,
                clusters,
                effective: template.spec.clone(),
                namespaces: namespace_view(template.spec.namespace_constraints.as_ref()),
            });
        }
    }
    (admitted, out)
}

/// The clusters the caller may request `name` on. `None` when there is no such
/// template or no route admits the caller (the same answer, so existence does
/// not leak).
pub fn template_clusters(
    cat: &Catalogue<'_>,
    name: &str,
    requester: &Requester<'_>,
    filter: ClusterFilter<'_>,
) -> Option<TemplateClustersView> {
    let template = cat
        .templates
        .iter()
        .copied()
        .find(|t| t.metadata.name.as_deref() == Some(name))?;
    let (admitted, routes) = routes(cat, template, requester);
    if !admitted {
        return None;
    }
    let template_display = template
        .spec
        .display_name
        .clone()
        .unwrap_or_else(|| name.to_owned());
    let mut clusters = Vec::new();
    for (i, cc) in cat.clusters.iter().copied().enumerate() {
        if filter
            .environment
            .is_some_and(|e| cc.spec.environment.as_deref() != Some(e))
            || filter
                .location
                .is_some_and(|l| cc.spec.location.as_deref() != Some(l))
        {
            continue;
        }
        let options: Vec<BindingOptionView> = routes
            .iter()
            .filter(|r| r.clusters.contains(&i))
            .filter(|r| {
                filter.binding_name.is_none_or(|n| {
                    r.binding
                        .is_some_and(|b| b.metadata.name.as_deref() == Some(n))
                })
            })
            .map(|r| option_view(r, cluster_name(cc), &template_display, requester))
            .collect();
        if options.is_empty() {
            continue;
        }
        let cname = cluster_name(cc).to_owned();
        clusters.push(ClusterView {
            display_name: cname.clone(),
            name: cname,
            environment: cc.spec.environment.clone(),
            location: cc.spec.location.clone(),
            site: cc.spec.site.clone(),
            tenant: cc.spec.tenant.clone(),
            status: ClusterStatusView {
                healthy: cc.is_ready(),
            },
            binding_ref: options.first().and_then(|o| o.binding_ref.clone()),
            details: options.first().map(|o| o.details.clone()),
            binding_options: options,
        });
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    Some(TemplateClustersView {
        template_name: name.to_owned(),
        template_display_name: template_display,
        clusters,
    })
}

fn option_view(
    route: &Route<'_>,
    cluster: &str,
    template_display: &str,
    requester: &Requester<'_>,
) -> BindingOptionView {
    let eff = &route.effective;
    let display_name = match route.binding {
        Some(b) => b.spec.display_name.clone().unwrap_or_else(|| {
            b.spec.display_name_prefix.as_deref().map_or_else(
                || template_display.to_owned(),
                |p| format!("{p} - {template_display}"),
            )
        }),
        None => template_display.to_owned(),
    };
    let approvers = eff.approvers.clone().unwrap_or_default();
    let required = requires_approval(eff, cluster, requester.groups);
    let impersonation = eff.impersonation.as_ref();
    let sa = impersonation.and_then(|i| i.service_account_ref.as_ref());
    BindingOptionView {
        binding_ref: route.binding.map(|b| {
            let (ns, name) = binding_key(b);
            BindingRefView {
                name: name.to_owned(),
                namespace: ns.to_owned(),
                display_name_prefix: b.spec.display_name_prefix.clone(),
            }
        }),
        display_name,
        details: OptionDetails {
            constraints: eff.constraints.clone(),
            scheduling_constraints: eff.scheduling_constraints.as_ref().map(summary),
            scheduling_options: filter_scheduling_options(
                eff.scheduling_options.as_ref(),
                requester,
            ),
            namespace_constraints: route.namespaces.clone(),
            impersonation: ImpersonationView {
                enabled: sa.is_some(),
                service_account: sa.map(|s| s.name.clone()),
                namespace: sa.map(|s| s.namespace.clone()),
            },
            required_auxiliary_resource_categories: eff
                .required_auxiliary_resource_categories
                .clone()
                .unwrap_or_default(),
            approval: ApprovalView {
                required,
                can_auto_approve: approvers.has_approvers() && !required,
                approver_groups: approvers.groups.unwrap_or_default(),
                approver_users: approvers.users.unwrap_or_default(),
            },
            request_reason: eff.request_reason.clone(),
            approval_reason: eff.approval_reason.clone(),
            notification: NotificationView {
                enabled: eff
                    .notification
                    .as_ref()
                    .is_none_or(|n| n.enabled != Some(false)),
            },
        },
    }
}

fn summary(sc: &SchedulingConstraints) -> SchedulingSummary {
    let mut parts = Vec::new();
    if let Some(ns) = sc.node_selector.as_ref().filter(|m| !m.is_empty()) {
        let pairs: Vec<String> = ns.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!("nodes with {}", pairs.join(", ")));
    }
    if let Some(d) = sc.denied_nodes.as_ref().filter(|d| !d.is_empty()) {
        parts.push(format!("not on nodes {}", d.join(", ")));
    }
    if let Some(d) = sc.denied_node_labels.as_ref().filter(|d| !d.is_empty()) {
        let pairs: Vec<String> = d.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!("not on nodes labelled {}", pairs.join(", ")));
    }
    if sc.required_node_affinity.is_some() {
        parts.push("required node affinity".to_owned());
    }
    if sc.tolerations.as_ref().is_some_and(|t| !t.is_empty()) {
        parts.push("with tolerations".to_owned());
    }
    SchedulingSummary {
        summary: if parts.is_empty() {
            "no scheduling restrictions".to_owned()
        } else {
            parts.join("; ")
        },
        node_selector: sc.node_selector.clone(),
        denied_node_labels: sc.denied_node_labels.clone(),
        tolerations: sc.tolerations.clone(),
    }
}
