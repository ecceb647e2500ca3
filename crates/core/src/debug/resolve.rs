//! Debug sessions: which template a requester may use on which cluster, and
//! through which binding.
//!
//! A template is usable on a cluster through a *route*:
//! * the template itself, when its `allowed.clusters` (globs) or
//!   `allowed.clusterSelector` (ClusterConfig labels) select the cluster;
//! * a binding that is active (not `disabled`, inside
//!   `effectiveFrom`…`expiresAt`), applies to the template (`templateRef` or
//!   `templateSelector` over template labels) and grants the cluster (exact
//!   name, glob pattern, or `clusterSelector` over ClusterConfig labels).
//!
//! A route admits a requester when its effective `allowed` (the binding's
//! when it lists users or groups, else the template's) names the user (the
//! identifier or the e-mail, exactly or as a glob) or one of their groups
//! (globs); an `allowed` without users and groups admits everyone.
//!
//! Without `bindingRef`, the binding among those that grant the cluster *and*
//! admit the requester with the highest `priority` wins, then
//! namespace/name; the template's own route is used only when no binding
//! admits. Bindings marked `hidden` are used only when named by `bindingRef`
//! (they are not offered by discovery either). An explicit `bindingRef` must name an existing binding (else 400)
//! that is active, applies to the template, grants the cluster and admits the
//! requester (else 403).

use std::collections::BTreeMap;

use breakglass_api::DebugSessionClusterBinding;
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_api::debug_common::{DebugSessionAllowed, SchedulingOption};
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use breakglass_api::debug_session_template::{DebugSessionTemplate, DebugSessionTemplateSpec};
use jiff::Timestamp;
use thiserror::Error;

use super::approval::Caller;
use super::merge::effective_template;
use crate::glob;
use crate::selector;

#[path = "resolve_view.rs"]
pub mod view;

/// The person requesting (same shape as an approver).
pub type Requester<'a> = Caller<'a>;

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

fn labels_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> &BTreeMap<String, String> {
    meta.labels.as_ref().unwrap_or(&NO_LABELS)
}

/// The name of a cluster as requests use it.
pub fn cluster_name(cluster: &ClusterConfig) -> &str {
    cluster.metadata.name.as_deref().unwrap_or_default()
}

/// True when the binding applies at `now`: not disabled and inside its window.
pub fn binding_active(binding: &DebugSessionClusterBindingSpec, now: Timestamp) -> bool {
    if binding.disabled == Some(true) {
        return false;
    }
    if binding
        .effective_from
        .as_ref()
        .is_some_and(|from| now < from.0)
    {
        return false;
    }
    binding
        .expires_at
        .as_ref()
        .is_none_or(|until| now < until.0)
}

/// True when the binding names the template (`templateRef`) or selects its
/// labels (`templateSelector`; a malformed selector selects nothing).
pub fn binding_applies(
    binding: &DebugSessionClusterBindingSpec,
    template: &DebugSessionTemplate,
) -> bool {
    let name = template.metadata.name.as_deref().unwrap_or_default();
    if binding
        .template_ref
        .as_ref()
        .is_some_and(|r| r.name == name)
    {
        return true;
    }
    binding.template_selector.is_some()
        && selector::matches(
            binding.template_selector.as_ref(),
            labels_of(&template.metadata),
        )
        .unwrap_or(false)
}

/// True when the binding grants the cluster: an exact name or glob pattern in
/// `clusters`, or `clusterSelector` over the ClusterConfig's labels.
pub fn binding_grants_cluster(
    binding: &DebugSessionClusterBindingSpec,
    cluster: &ClusterConfig,
) -> bool {
    let name = cluster_name(cluster);
    if glob::match_any(binding.clusters.as_deref().unwrap_or_default(), name) {
        return true;
    }
    binding.cluster_selector.is_some()
        && selector::matches(
            binding.cluster_selector.as_ref(),
            labels_of(&cluster.metadata),
        )
        .unwrap_or(false)
}

/// True when the template's own `allowed` selects the cluster (globs or
/// `clusterSelector`, which is enforced when declared).
pub fn template_grants_cluster(
    template: &DebugSessionTemplateSpec,
    cluster: &ClusterConfig,
) -> bool {
    let Some(allowed) = template.allowed.as_ref() else {
        return false;
    };
    if glob::match_any(
        allowed.clusters.as_deref().unwrap_or_default(),
        cluster_name(cluster),
    ) {
        return true;
    }
    allowed.cluster_selector.is_some()
        && selector::matches(
            allowed.cluster_selector.as_ref(),
            labels_of(&cluster.metadata),
        )
        .unwrap_or(false)
}

fn lists_principals(allowed: &DebugSessionAllowed) -> bool {
    allowed.users.as_ref().is_some_and(|u| !u.is_empty())
        || allowed.groups.as_ref().is_some_and(|g| !g.is_empty())
}

/// The `allowed` block that decides who may request on a route.
pub fn effective_allowed<'a>(
    template: &'a DebugSessionTemplateSpec,
    binding: Option<&'a DebugSessionClusterBindingSpec>,
) -> Option<&'a DebugSessionAllowed> {
    binding
        .and_then(|b| b.allowed.as_ref())
        .filter(|a| lists_principals(a))
        .or(template.allowed.as_ref())
}

/// True when `allowed` admits the requester; no users and no groups admit everyone.
pub fn admits(allowed: Option<&DebugSessionAllowed>, requester: &Requester<'_>) -> bool {
    let Some(allowed) = allowed.filter(|a| lists_principals(a)) else {
        return true;
    };
    let users = allowed.users.as_deref().unwrap_or_default();
    let by_user = users.iter().any(|pattern| {
        glob::glob_match(pattern, requester.user).unwrap_or(false)
            || requester.email.is_some_and(|e| {
                glob::glob_match(&pattern.to_ascii_lowercase(), &e.to_ascii_lowercase())
                    .unwrap_or(false)
            })
    });
    by_user
        || glob::match_groups(
            allowed.groups.as_deref().unwrap_or_default(),
            requester.groups,
        )
}

/// True when the requester may choose the scheduling option: its
/// `allowedUsers` (identifier or e-mail, exact or glob) or `allowedGroups`
/// (globs) name them, or both lists are empty.
pub fn option_allows(option: &SchedulingOption, requester: &Requester<'_>) -> bool {
    admits(
        Some(&DebugSessionAllowed {
            users: option.allowed_users.clone(),
            groups: option.allowed_groups.clone(),
            ..Default::default()
        }),
        requester,
    )
}

/// `namespace/name` of a binding.
pub fn binding_key(binding: &DebugSessionClusterBinding) -> (&str, &str) {
    (
        binding.metadata.namespace.as_deref().unwrap_or_default(),
        binding.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// Orders bindings by `priority` (highest first), then namespace/name.
pub fn by_priority(
    a: &DebugSessionClusterBinding,
    b: &DebugSessionClusterBinding,
) -> std::cmp::Ordering {
    b.spec
        .priority
        .unwrap_or(0)
        .cmp(&a.spec.priority.unwrap_or(0))
        .then_with(|| binding_key(a).cmp(&binding_key(b)))
}

/// Why a template cannot be requested as asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolveError {
    /// `bindingRef` is not `namespace/name` or names no binding (400).
    #[error(
        "bindingRef {0:?} does not name an existing DebugSessionClusterBinding (namespace/name)"
    )]
    UnknownBinding(String),
    /// The named binding is disabled or outside its time window (403).
    #[error("binding {0} is not active")]
    BindingInactive(String),
    /// The named binding does not apply to the template (403).
    #[error("binding {binding} does not apply to template {template:?}")]
    BindingOtherTemplate {
        /// `namespace/name`.
        binding: String,
        /// The template.
        template: String,
    },
    /// The named binding does not grant the cluster (403).
    #[error("binding {binding} does not grant cluster {cluster:?}")]
    BindingOtherCluster {
        /// `namespace/name`.
        binding: String,
        /// The cluster.
        cluster: String,
    },
    /// The named binding does not admit the requester (403).
    #[error("binding {0} does not allow you to request this template")]
    NotAdmittedByBinding(String),
    /// Neither the template nor an active binding makes it available on the cluster (403).
    #[error("template {template:?} is not available on cluster {cluster:?}")]
    NotAvailable {
        /// The template.
        template: String,
        /// The cluster.
        cluster: String,
    },
    /// The template is available on the cluster, but not to the requester (403).
    #[error("you are not allowed to request template {template:?} on cluster {cluster:?}")]
    NotAllowed {
        /// The template.
        template: String,
        /// The cluster.
        cluster: String,
    },
}

impl ResolveError {
    /// True for the malformed-request case (400); every other case is a 403.
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Self::UnknownBinding(_))
    }
}

/// The route a request takes and the configuration it runs with.
#[derive(Debug, Clone)]
pub struct Choice<'a> {
    /// The binding used, if any.
    pub binding: Option<&'a DebugSessionClusterBinding>,
    /// The template merged with the binding.
    pub effective: DebugSessionTemplateSpec,
}

/// What the requester asks for.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'r> {
    /// The requester.
    pub requester: &'r Requester<'r>,
    /// The explicit binding, `namespace/name`.
    pub binding_ref: Option<&'r str>,
    /// Now (binding windows).
    pub now: Timestamp,
}

/// Chooses the route of `template` on `cluster` for a request (see the module rules).
pub fn choose<'a>(
    template: &'a DebugSessionTemplate,
    bindings: &[&'a DebugSessionClusterBinding],
    cluster: &ClusterConfig,
    ask: &Ask<'_>,
) -> Result<Choice<'a>, ResolveError> {
    let template_name = template.metadata.name.clone().unwrap_or_default();
    let cname = cluster_name(cluster).to_owned();
    if let Some(reference) = ask.binding_ref {
        return choose_named(template, bindings, cluster, ask, reference);
    }
    let mut granting: Vec<&'a DebugSessionClusterBinding> = bindings
        .iter()
        .copied()
        .filter(|b| {
            b.spec.hidden != Some(true)
                && binding_active(&b.spec, ask.now)
                && binding_applies(&b.spec, template)
                && binding_grants_cluster(&b.spec, cluster)
        })
        .collect();
    granting.sort_by(|a, b| by_priority(a, b));
    let admitting = granting.iter().copied().find(|b| {
        admits(
            effective_allowed(&template.spec, Some(&b.spec)),
            ask.requester,
        )
    });
    if let Some(b) = admitting {
        return Ok(Choice {
            binding: Some(b),
            effective: effective_template(&template.spec, Some(&b.spec)),
        });
    }
    let direct = template_grants_cluster(&template.spec, cluster);
    if direct && admits(effective_allowed(&template.spec, None), ask.requester) {
        return Ok(Choice {
            binding: None,
            effective: effective_template(&template.spec, None),
        });
    }
    if direct || !granting.is_empty() {
        return Err(ResolveError::NotAllowed {
            template: template_name,
            cluster: cname,
        });
    }
    Err(ResolveError::NotAvailable {
        template: template_name,
        cluster: cname,
    })
}

fn choose_named<'a>(
    template: &'a DebugSessionTemplate,
    bindings: &[&'a DebugSessionClusterBinding],
    cluster: &ClusterConfig,
    ask: &Ask<'_>,
    reference: &str,
) -> Result<Choice<'a>, ResolveError> {
    let unknown = || ResolveError::UnknownBinding(reference.chars().take(300).collect());
    let (ns, name) = reference.split_once('/').ok_or_else(unknown)?;
    let b = bindings
        .iter()
        .copied()
        .find(|b| binding_key(b) == (ns, name))
        .ok_or_else(unknown)?;
    let key = format!("{ns}/{name}");
    if !binding_active(&b.spec, ask.now) {
        return Err(ResolveError::BindingInactive(key));
    }
    if !binding_applies(&b.spec, template) {
        return Err(ResolveError::BindingOtherTemplate {
            binding: key,
            template: template.metadata.name.clone().unwrap_or_default(),
        });
    }
    if !binding_grants_cluster(&b.spec, cluster) {
        return Err(ResolveError::BindingOtherCluster {
            binding: key,
            cluster: cluster_name(cluster).to_owned(),
        });
    }
    if !admits(
        effective_allowed(&template.spec, Some(&b.spec)),
        ask.requester,
    ) {
        return Err(ResolveError::NotAdmittedByBinding(key));
    }
    Ok(Choice {
        binding: Some(b),
        effective: effective_template(&template.spec, Some(&b.spec)),
    })
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
