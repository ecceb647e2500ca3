//! DebugPodTemplate and DebugSessionTemplate.

use std::collections::HashSet;

use breakglass_api::debug_common::ExtraDeployVariable;
use breakglass_api::debug_pod_template::DebugPodSpec;
use breakglass_api::debug_session_template::{
    DebugAuditDestinationType, DebugSessionTemplateSpec, KubectlDebugConfig,
};
use breakglass_api::{DebugPodTemplate, DebugSessionTemplate};

use super::debug_shared::{self as shared, ConstraintFields, NamespaceConstraintFields};
use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, Errors, ListRules};
use super::selectors;

/// Validates a DebugPodTemplate: exactly one of `template` and `templateString`, at
/// least one container with unique names, and a well-formed template source.
pub fn validate_debug_pod_template(t: &DebugPodTemplate) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &t.spec;
    match (&spec.template, &spec.template_string) {
        (Some(_), Some(_)) => errs.push(FieldError::forbidden(
            &p,
            "template and templateString are mutually exclusive",
        )),
        (None, None) => errs.push(FieldError::required(
            p.child("template"),
            "one of template or templateString is required",
        )),
        (Some(template), None) => {
            let tp = p.child("template");
            if let Some(meta) = &template.metadata {
                if let Some(labels) = &meta.labels {
                    rules::label_map(&mut errs, &tp.child("metadata").child("labels"), labels);
                }
                if let Some(annotations) = &meta.annotations {
                    for k in annotations.keys() {
                        rules::label_key(&mut errs, &tp.child("metadata").child("annotations"), k);
                    }
                }
            }
            pod_spec(&mut errs, &tp.child("spec"), &template.spec);
        }
        (None, Some(source)) => {
            if rules::required_str(&mut errs, &p.child("templateString"), source) {
                shared::template_source(&mut errs, &p.child("templateString"), source);
            }
        }
    }
    errs
}

fn pod_spec(errs: &mut Errors, p: &Path, spec: &DebugPodSpec) {
    let cp = p.child("containers");
    if spec.containers.is_empty() {
        errs.push(FieldError::required(
            &cp,
            "at least one container is required",
        ));
    }
    let mut names = HashSet::new();
    let init = spec.init_containers.as_deref().unwrap_or_default();
    let all = spec.containers.iter().map(|c| (&cp, c)).enumerate();
    let ip = p.child("initContainers");
    let init = init.iter().map(|c| (&ip, c)).enumerate();
    for (i, (list, container)) in all.chain(init) {
        let np = list.index(i).child("name");
        if rules::required_str(errs, &np, &container.name) {
            rules::dns1123_label(errs, &np, &container.name);
            if !names.insert(container.name.as_str()) {
                errs.push(FieldError::duplicate(&np, &container.name));
            }
        }
    }
    if let Some(ns) = &spec.node_selector {
        rules::label_map(errs, &p.child("nodeSelector"), ns);
    }
    for (k, q) in spec.overhead.iter().flatten() {
        rules::quantity(errs, &p.child("overhead").key(k), &q.0);
    }
}

/// Warnings of a DebugPodTemplate (none so far).
pub(crate) fn debug_pod_template_warnings(_: &DebugPodTemplate) -> Vec<Warning> {
    Vec::new()
}

/// The pod template source, replicas, pod overrides, scheduling and kubectl-debug.
fn workload(errs: &mut Errors, p: &Path, spec: &DebugSessionTemplateSpec) {
    if let Some(r) = &spec.pod_template_ref
        && rules::required_str(errs, &p.child("podTemplateRef").child("name"), &r.name)
    {
        rules::dns1123_subdomain(errs, &p.child("podTemplateRef").child("name"), &r.name);
    }
    if let Some(s) = &spec.pod_template_string {
        shared::template_source(errs, &p.child("podTemplateString"), s);
    }
    if let Some(s) = &spec.pod_overrides_template {
        shared::template_source(errs, &p.child("podOverridesTemplate"), s);
    }
    if let Some(vars) = &spec.extra_deploy_variables {
        shared::extra_deploy_variables(errs, &p.child("extraDeployVariables"), vars);
        variable_definitions(errs, &p.child("extraDeployVariables"), vars);
    }
    if let Some(n) = spec.replicas {
        rules::int_range(errs, &p.child("replicas"), n.into(), 1, None);
    }
    if let Some(overrides) = spec.pod_overrides.as_ref().and_then(|o| o.spec.as_ref()) {
        let mut names = HashSet::new();
        for (i, c) in overrides.containers.iter().flatten().enumerate() {
            let np = p
                .child("podOverrides")
                .child("spec")
                .child("containers")
                .index(i)
                .child("name");
            if rules::required_str(errs, &np, &c.name) && !names.insert(c.name.as_str()) {
                errs.push(FieldError::duplicate(&np, &c.name));
            }
        }
    }
    if let Some(sc) = &spec.scheduling_constraints {
        shared::scheduling_constraints(errs, &p.child("schedulingConstraints"), sc);
    }
    if let Some(so) = &spec.scheduling_options {
        shared::scheduling_options(errs, &p.child("schedulingOptions"), so);
    }
    if let Some(kd) = &spec.kubectl_debug {
        kubectl_debug(errs, &p.child("kubectlDebug"), kd);
    }
}

/// What requests will check, checked on the definition: patterns compile (bounded),
/// number and storage bounds are ordered, and each default passes its own variable's
/// type and rules — so an administrator's mistake is refused here, not at request time.
fn variable_definitions(errs: &mut Errors, p: &Path, vars: &[ExtraDeployVariable]) {
    for (i, var) in vars.iter().enumerate() {
        for problem in crate::debug::vars::check_definition(var) {
            let path = problem
                .field
                .iter()
                .fold(p.index(i), |path, name| path.child(name));
            errs.push(FieldError::invalid(path, &problem.value, &problem.message));
        }
    }
}

/// Most audit destinations of one template.
const MAX_AUDIT_DESTINATIONS: usize = 10;
/// Most HTTP headers of one audit destination.
const MAX_AUDIT_HEADERS: usize = 32;
/// Longest HTTP header value of an audit destination.
const MAX_AUDIT_HEADER_VALUE: usize = 4096;

/// HTTP headers sent to an audit destination: names are RFC 9110 tokens, values are
/// visible characters, spaces and tabs (no line breaks that would split the request).
fn http_headers(errs: &mut Errors, p: &Path, headers: &std::collections::BTreeMap<String, String>) {
    if headers.len() > MAX_AUDIT_HEADERS {
        errs.push(FieldError::too_many(p, headers.len(), MAX_AUDIT_HEADERS));
        return;
    }
    const TOKEN_PUNCT: &str = "!#$%&'*+-.^_`|~";
    for (name, value) in headers {
        let hp = p.key(name);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || TOKEN_PUNCT.contains(c))
        {
            errs.push(FieldError::invalid(
                hp.clone(),
                name,
                "a header name is letters, digits and !#$%&'*+-.^_`|~ only",
            ));
        }
        if value.chars().count() > MAX_AUDIT_HEADER_VALUE {
            errs.push(FieldError::too_long(hp, MAX_AUDIT_HEADER_VALUE));
        } else if value.chars().any(|c| c.is_control() && c != '\t') {
            errs.push(FieldError::invalid(
                hp,
                "",
                "a header value may not contain control characters or line breaks",
            ));
        }
    }
}

/// Audit destinations and auxiliary resources with their categories.
fn audit_and_auxiliary(errs: &mut Errors, p: &Path, spec: &DebugSessionTemplateSpec) {
    if let Some(audit) = &spec.audit {
        let ap = p.child("audit");
        shared::debug_duration(
            errs,
            &ap.child("recordingRetention"),
            audit.recording_retention.as_deref(),
        );
        let destinations = audit.destinations.as_deref().unwrap_or_default();
        rules::max_items(
            errs,
            &ap.child("destinations"),
            destinations,
            MAX_AUDIT_DESTINATIONS,
        );
        for (i, d) in destinations.iter().enumerate() {
            let dp = ap.child("destinations").index(i);
            match &d.url {
                Some(url) => rules::url(errs, &dp.child("url"), url, &["http", "https"]),
                None if d.type_ == DebugAuditDestinationType::Webhook => errs.push(
                    FieldError::required(dp.child("url"), "required for a webhook destination"),
                ),
                None => {}
            }
            if let Some(headers) = &d.headers {
                http_headers(errs, &dp.child("headers"), headers);
            }
        }
    }
    for (i, message) in crate::debug::deploy::kinds::ineffective(
        spec.allowed_auxiliary_resource_kinds
            .as_deref()
            .unwrap_or_default(),
    ) {
        let list = spec
            .allowed_auxiliary_resource_kinds
            .as_deref()
            .unwrap_or_default();
        let kind = list.get(i).map(|r| r.kind.as_str()).unwrap_or_default();
        let ip = p
            .child("allowedAuxiliaryResourceKinds")
            .index(i)
            .child("kind");
        errs.push(FieldError::invalid(ip, kind, &message));
    }
    if let Some(aux) = &spec.auxiliary_resources {
        shared::auxiliary_resources(errs, &p.child("auxiliaryResources"), aux);
    }
    shared::category_map(
        errs,
        &p.child("auxiliaryResourceDefaults"),
        spec.auxiliary_resource_defaults.as_ref(),
    );
    shared::categories(
        errs,
        &p.child("requiredAuxiliaryResourceCategories"),
        spec.required_auxiliary_resource_categories.as_ref(),
    );
}

/// Resource quota and disruption budget of the debug workload.
fn quota_and_disruption(errs: &mut Errors, p: &Path, spec: &DebugSessionTemplateSpec) {
    if let Some(q) = &spec.resource_quota {
        let qp = p.child("resourceQuota");
        for (name, v) in [
            ("maxCPU", &q.max_cpu),
            ("maxMemory", &q.max_memory),
            ("maxStorage", &q.max_storage),
        ] {
            if let Some(v) = v {
                rules::quantity(errs, &qp.child(name), v);
            }
        }
        if let Some(n) = q.max_pods {
            rules::int_range(errs, &qp.child("maxPods"), n.into(), 0, None);
        }
    }
    if let Some(pdb) = &spec.pod_disruption_budget
        && pdb.min_available.is_some()
        && pdb.max_unavailable.is_some()
    {
        errs.push(FieldError::forbidden(
            p.child("podDisruptionBudget"),
            "only one of minAvailable and maxUnavailable may be set",
        ));
    }
}

/// Validates a DebugSessionTemplate: mode-specific requirements (a pod template source
/// for workload and hybrid, `kubectlDebug` for kubectl-debug and hybrid), exclusive pod
/// template sources, and every nested block.
pub fn validate_debug_session_template(t: &DebugSessionTemplate) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &t.spec;
    mode_requirements(&mut errs, &p, spec);
    workload(&mut errs, &p, spec);
    if let Some(a) = &spec.allowed {
        shared::allowed(&mut errs, &p.child("allowed"), a);
    }
    if let Some(a) = &spec.approvers {
        shared::approvers(&mut errs, &p.child("approvers"), a);
    }
    if let Some(c) = &spec.constraints {
        shared::constraints(&mut errs, &p.child("constraints"), &constraint_fields(c));
    }
    if let Some(ns) = &spec.target_namespace {
        rules::dns1123_label(&mut errs, &p.child("targetNamespace"), ns);
    }
    if let Some(nc) = &spec.namespace_constraints {
        shared::namespace_constraints(
            &mut errs,
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
        shared::impersonation(&mut errs, &p.child("impersonation"), imp);
    }
    if let Some(ts) = &spec.terminal_sharing
        && let Some(n) = ts.max_participants
    {
        rules::int_range(
            &mut errs,
            &p.child("terminalSharing").child("maxParticipants"),
            n.into(),
            1,
            None,
        );
    }
    audit_and_auxiliary(&mut errs, &p, spec);
    if let Some(n) = &spec.notification {
        shared::notification(&mut errs, &p.child("notification"), n);
    }
    if let Some(r) = &spec.request_reason {
        shared::request_reason(&mut errs, &p.child("requestReason"), r);
    }
    if let Some(r) = &spec.approval_reason {
        shared::approval_reason(&mut errs, &p.child("approvalReason"), r);
    }
    quota_and_disruption(&mut errs, &p, spec);
    if let Some(labels) = &spec.labels {
        rules::label_map(&mut errs, &p.child("labels"), labels);
    }
    for k in spec.annotations.iter().flat_map(|a| a.keys()) {
        rules::label_key(&mut errs, &p.child("annotations"), k);
    }
    shared::debug_duration(
        &mut errs,
        &p.child("gracePeriodBeforeExpiry"),
        spec.grace_period_before_expiry.as_deref(),
    );
    errs
}

fn constraint_fields(
    c: &breakglass_api::debug_common::DebugSessionConstraints,
) -> ConstraintFields<'_> {
    ConstraintFields {
        max_duration: c.max_duration.as_deref(),
        default_duration: c.default_duration.as_deref(),
        max_renewals: c.max_renewals,
        renewal_limit: c.renewal_limit,
        max_concurrent_sessions: c.max_concurrent_sessions,
    }
}

fn mode_requirements(errs: &mut Errors, p: &Path, spec: &DebugSessionTemplateSpec) {
    let mode = spec.mode();
    if spec.pod_template_ref.is_some() && spec.pod_template_string.is_some() {
        errs.push(FieldError::forbidden(
            p,
            "podTemplateRef and podTemplateString are mutually exclusive",
        ));
    } else if mode.deploys_workload()
        && spec.pod_template_ref.is_none()
        && spec.pod_template_string.is_none()
    {
        errs.push(FieldError::required(
            p.child("podTemplateRef"),
            &format!(
                "one of podTemplateRef or podTemplateString is required in {} mode",
                mode.as_str()
            ),
        ));
    }
    if mode.allows_kubectl_debug() && spec.kubectl_debug.is_none() {
        errs.push(FieldError::required(
            p.child("kubectlDebug"),
            &format!("required in {} mode", mode.as_str()),
        ));
    }
}

fn kubectl_debug(errs: &mut Errors, p: &Path, kd: &KubectlDebugConfig) {
    if let Some(ec) = &kd.ephemeral_containers {
        let ep = p.child("ephemeralContainers");
        if let Some(f) = &ec.allowed_namespaces {
            selectors::namespace_filter(errs, &ep.child("allowedNamespaces"), f);
        }
        if let Some(f) = &ec.denied_namespaces {
            selectors::namespace_filter(errs, &ep.child("deniedNamespaces"), f);
        }
        if let Some(images) = &ec.allowed_images {
            rules::string_list(
                errs,
                &ep.child("allowedImages"),
                images,
                ListRules::unique(),
                rules::glob,
            );
        }
        if let Some(caps) = &ec.max_capabilities {
            rules::string_list(
                errs,
                &ep.child("maxCapabilities"),
                caps,
                ListRules::unique(),
                |_, _, _| {},
            );
        }
    }
    if let Some(nd) = &kd.node_debug {
        let np = p.child("nodeDebug");
        if let Some(images) = &nd.allowed_images {
            rules::string_list(
                errs,
                &np.child("allowedImages"),
                images,
                ListRules::unique(),
                rules::glob,
            );
        }
        if let Some(ns) = &nd.node_selector {
            rules::label_map(errs, &np.child("nodeSelector"), ns);
        }
    }
    if let Some(pc) = &kd.pod_copy {
        let cp = p.child("podCopy");
        if let Some(ns) = &pc.target_namespace {
            rules::dns1123_label(errs, &cp.child("targetNamespace"), ns);
        }
        if let Some(f) = &pc.allowed_namespaces {
            selectors::namespace_filter(errs, &cp.child("allowedNamespaces"), f);
        }
        if let Some(f) = &pc.denied_namespaces {
            selectors::namespace_filter(errs, &cp.child("deniedNamespaces"), f);
        }
        if let Some(labels) = &pc.labels {
            rules::label_map(errs, &cp.child("labels"), labels);
        }
        shared::debug_duration(errs, &cp.child("ttl"), pc.ttl.as_deref());
    }
}

/// Warnings of a DebugSessionTemplate: deprecation, deprecated fields.
pub(crate) fn debug_session_template_warnings(t: &DebugSessionTemplate) -> Vec<Warning> {
    let mut warns = Vec::new();
    let p = Path::new("spec");
    let spec = &t.spec;
    if spec.deprecated == Some(true) {
        let message = match spec.deprecation_message.as_deref() {
            Some(m) if !m.is_empty() => format!("this template is deprecated: {m}"),
            _ => "this template is deprecated".to_string(),
        };
        warns.push(Warning::new(p.child("deprecated"), message));
    }
    if let Some(c) = &spec.constraints {
        shared::constraint_warnings(&mut warns, &p.child("constraints"), &constraint_fields(c));
    }
    if let Some(aux) = &spec.auxiliary_resources {
        shared::auxiliary_resource_warnings(&mut warns, &p.child("auxiliaryResources"), aux);
    }
    if let Some(audit) = &spec.audit {
        let ap = p.child("audit");
        if audit.enable_terminal_recording == Some(true) {
            warns.push(Warning::new(
                ap.child("enableTerminalRecording"),
                "terminal sessions are not recorded; the session's lifecycle is audited and the target's audit log records each exec",
            ));
        }
        for (i, d) in audit.destinations.iter().flatten().enumerate() {
            if d.type_ != DebugAuditDestinationType::Webhook
                && (d.url.is_some() || d.headers.is_some())
            {
                warns.push(Warning::new(
                    ap.child("destinations").index(i),
                    format!("url and headers are ignored for a {} destination", d.type_),
                ));
            }
        }
    }
    warns
}
