//! DebugSessionClusterBinding.

use breakglass_api::DebugSessionClusterBinding;
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;

use super::debug_shared::{self as shared, ConstraintFields, NamespaceConstraintFields};
use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, Errors, ListRules};
use super::selectors;

/// What the binding applies to: one template reference or selector, and clusters.
fn targets(errs: &mut Errors, p: &Path, spec: &DebugSessionClusterBindingSpec) {
    match (&spec.template_ref, &spec.template_selector) {
        (Some(_), Some(_)) => errs.push(FieldError::forbidden(
            p,
            "templateRef and templateSelector are mutually exclusive",
        )),
        (None, None) => errs.push(FieldError::required(
            p.child("templateRef"),
            "one of templateRef or templateSelector is required",
        )),
        _ => {}
    }
    if let Some(r) = &spec.template_ref
        && rules::required_str(errs, &p.child("templateRef").child("name"), &r.name)
    {
        rules::dns1123_subdomain(errs, &p.child("templateRef").child("name"), &r.name);
    }
    if let Some(sel) = &spec.template_selector {
        selectors::label_selector(errs, &p.child("templateSelector"), sel);
    }
    let has_clusters = spec.clusters.as_ref().is_some_and(|c| !c.is_empty());
    if !has_clusters && spec.cluster_selector.is_none() {
        errs.push(FieldError::required(
            p.child("clusters"),
            "clusters or clusterSelector is required",
        ));
    }
    if let Some(clusters) = &spec.clusters {
        rules::string_list(
            errs,
            &p.child("clusters"),
            clusters,
            ListRules::unique(),
            rules::glob,
        );
    }
    if let Some(sel) = &spec.cluster_selector {
        selectors::label_selector(errs, &p.child("clusterSelector"), sel);
    }
}

/// The blocks a binding overrides on its templates.
fn overrides(errs: &mut Errors, p: &Path, spec: &DebugSessionClusterBindingSpec) {
    if let Some(a) = &spec.allowed {
        shared::allowed(errs, &p.child("allowed"), a);
    }
    if let Some(a) = &spec.approvers {
        shared::approvers(errs, &p.child("approvers"), a);
    }
    if let Some(sc) = &spec.scheduling_constraints {
        shared::scheduling_constraints(errs, &p.child("schedulingConstraints"), sc);
    }
    if let Some(so) = &spec.scheduling_options {
        shared::scheduling_options(errs, &p.child("schedulingOptions"), so);
    }
    if let Some(c) = &spec.constraints {
        shared::constraints(
            errs,
            &p.child("constraints"),
            &ConstraintFields {
                max_duration: c.max_duration.as_deref(),
                default_duration: c.default_duration.as_deref(),
                max_renewals: c.max_renewals,
                renewal_limit: c.renewal_limit,
                max_concurrent_sessions: c.max_concurrent_sessions,
            },
        );
    }
    if let Some(nc) = &spec.namespace_constraints {
        shared::namespace_constraints(
            errs,
            &p.child("namespaceConstraints"),
            &NamespaceConstraintFields {
                allowed: nc.allowed_namespaces.as_ref(),
                denied: nc.denied_namespaces.as_ref(),
                default_namespace: nc.default_namespace.as_deref(),
                namespace_labels: nc.namespace_labels.as_ref(),
            },
        );
    }
    if let Some(imp) = &spec.impersonation {
        shared::impersonation(errs, &p.child("impersonation"), imp);
    }
    shared::categories(
        errs,
        &p.child("requiredAuxiliaryResourceCategories"),
        spec.required_auxiliary_resource_categories.as_ref(),
    );
    shared::category_map(
        errs,
        &p.child("auxiliaryResourceOverrides"),
        spec.auxiliary_resource_overrides.as_ref(),
    );
    for (i, message) in crate::debug::deploy::kinds::ineffective(
        spec.denied_auxiliary_resource_kinds
            .as_deref()
            .unwrap_or_default(),
    ) {
        let list = spec
            .denied_auxiliary_resource_kinds
            .as_deref()
            .unwrap_or_default();
        let kind = list.get(i).map(|r| r.kind.as_str()).unwrap_or_default();
        let ip = p
            .child("deniedAuxiliaryResourceKinds")
            .index(i)
            .child("kind");
        errs.push(FieldError::invalid(ip, kind, &message));
    }
    if let Some(n) = &spec.notification {
        shared::notification(errs, &p.child("notification"), n);
    }
    if let Some(r) = &spec.request_reason {
        shared::request_reason(errs, &p.child("requestReason"), r);
    }
    if let Some(r) = &spec.approval_reason {
        shared::approval_reason(errs, &p.child("approvalReason"), r);
    }
}

/// Validates a DebugSessionClusterBinding: exactly one of templateRef and
/// templateSelector, a cluster target (clusters and/or clusterSelector), a time window
/// whose start precedes its end, and every override block.
pub fn validate_debug_session_cluster_binding(b: &DebugSessionClusterBinding) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &b.spec;
    targets(&mut errs, &p, spec);
    overrides(&mut errs, &p, spec);
    if let Some(labels) = &spec.labels {
        rules::label_map(&mut errs, &p.child("labels"), labels);
    }
    for k in spec.annotations.iter().flat_map(|a| a.keys()) {
        rules::label_key(&mut errs, &p.child("annotations"), k);
    }
    if let (Some(from), Some(until)) = (&spec.effective_from, &spec.expires_at)
        && from.0 >= until.0
    {
        errs.push(FieldError::invalid(
            p.child("expiresAt"),
            &until.0.to_string(),
            "expiresAt must be after effectiveFrom",
        ));
    }
    for (name, v) in [
        (
            "maxActiveSessionsPerUser",
            spec.max_active_sessions_per_user,
        ),
        ("maxActiveSessionsTotal", spec.max_active_sessions_total),
    ] {
        if let Some(v) = v {
            rules::int_range(&mut errs, &p.child(name), v.into(), 1, None);
        }
    }
    errs
}

/// Warnings of a DebugSessionClusterBinding: a display-name prefix without a template
/// selector, and deprecated constraint fields. (Cluster entries are names or glob
/// patterns; malformed patterns are errors.)
pub(crate) fn debug_session_cluster_binding_warnings(
    b: &DebugSessionClusterBinding,
) -> Vec<Warning> {
    let mut warns = Vec::new();
    let p = Path::new("spec");
    let spec = &b.spec;
    if spec.display_name_prefix.is_some() && spec.template_selector.is_none() {
        warns.push(Warning::new(
            p.child("displayNamePrefix"),
            "ignored: displayNamePrefix applies only with templateSelector",
        ));
    }
    if let Some(c) = &spec.constraints
        && c.renewal_limit.is_some()
    {
        warns.push(Warning::new(
            p.child("constraints").child("renewalLimit"),
            "renewalLimit is deprecated; use maxRenewals",
        ));
    }
    warns
}
