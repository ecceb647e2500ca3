//! Rules across objects: what one manifest cannot be judged by alone, checked against
//! the other objects of the hub (the server's admission webhook passes its watched
//! copies through [`HubObjects`]).
//!
//! Conflicts are errors: a name that already exists in another namespace, a second
//! default MailProvider, an issuer two IdentityProviders claim, two enabled bindings
//! offering one template on one cluster under the same display name, a pod template
//! whose rendered first document is not a pod. References to objects that do not exist
//! (yet) are warnings: manifests are applied in any order, and the referencing object's
//! conditions report the problem until it is fixed.

use breakglass_api::breakglass_escalation::BreakglassEscalationSpec;
use breakglass_api::cluster_config::ClusterConfigSpec;
use breakglass_api::debug_pod_template::DebugPodTemplateSpec;
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use breakglass_api::identity_provider::IdentityProviderSpec;
use breakglass_api::mail_provider::MailProviderSpec;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::{FieldError, Warning};
use crate::debug::render;

/// The hub's other objects, as the cross-object rules need them.
pub trait HubObjects {
    /// Namespaces holding an object of `kind` named `name` (BreakglassEscalation,
    /// BreakglassSession, ClusterConfig).
    fn namespaces_of(&self, kind: &str, name: &str) -> Vec<String>;
    /// Names of the enabled MailProviders marked `default`.
    fn default_mail_providers(&self) -> Vec<String>;
    /// `(name, issuer)` of every IdentityProvider (issuer, else OIDC authority).
    fn identity_provider_issuers(&self) -> Vec<(String, String)>;
    /// Whether an object of the cluster-scoped `kind` named `name` exists
    /// (MailProvider, IdentityProvider, DebugSessionTemplate, DebugPodTemplate).
    fn exists(&self, kind: &str, name: &str) -> bool;
    /// `displayName` of the DebugSessionTemplate `name`, when it exists and has one.
    fn template_display_name(&self, name: &str) -> Option<String>;
    /// Every DebugSessionClusterBinding as `(namespace, name, spec)`.
    fn bindings(&self) -> Vec<(String, String, DebugSessionClusterBindingSpec)>;
}

/// What the cross-object rules found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CrossReport {
    /// Conflicts: the object must be refused.
    pub errors: Vec<FieldError>,
    /// Dangling references and render findings: admitted, but worth saying.
    pub warnings: Vec<Warning>,
}

/// Kinds whose names must be unique across namespaces (the API and the webhook look
/// sessions, escalations and clusters up by name alone).
pub const UNIQUE_NAME_KINDS: &[&str] =
    &["BreakglassEscalation", "BreakglassSession", "ClusterConfig"];

/// Checks `object` (already normalised and valid on its own) against the hub.
pub fn cross_object(object: &Value, hub: &dyn HubObjects) -> CrossReport {
    let mut r = CrossReport::default();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if UNIQUE_NAME_KINDS.contains(&kind) && !name.is_empty() {
        for other in hub.namespaces_of(kind, name) {
            if other != namespace {
                r.errors.push(FieldError::forbidden(
                    "metadata.name",
                    &format!(
                        "a {kind} named {name:?} already exists in namespace {other:?}; names of this kind must be unique across namespaces"
                    ),
                ));
            }
        }
    }
    match kind {
        "MailProvider" => {
            if let Some(spec) = spec::<MailProviderSpec>(object) {
                mail_provider(&mut r, name, &spec, hub);
            }
        }
        "IdentityProvider" => {
            if let Some(spec) = spec::<IdentityProviderSpec>(object) {
                identity_provider(&mut r, name, &spec, hub);
            }
        }
        "BreakglassEscalation" => {
            if let Some(spec) = spec::<BreakglassEscalationSpec>(object) {
                escalation_refs(&mut r, &spec, hub);
            }
        }
        "ClusterConfig" => {
            if let Some(spec) = spec::<ClusterConfigSpec>(object) {
                reference(
                    &mut r,
                    hub,
                    "spec.mailProvider",
                    "MailProvider",
                    spec.mail_provider.as_deref(),
                );
                for (i, idp) in spec.identity_provider_refs.iter().flatten().enumerate() {
                    reference(
                        &mut r,
                        hub,
                        &format!("spec.identityProviderRefs[{i}]"),
                        "IdentityProvider",
                        Some(idp),
                    );
                }
            }
        }
        "DebugSessionClusterBinding" => {
            if let Some(spec) = spec::<DebugSessionClusterBindingSpec>(object) {
                binding(&mut r, namespace, name, &spec, hub);
            }
        }
        "DebugSessionTemplate" => {
            if let Some(spec) = spec::<DebugSessionTemplateSpec>(object) {
                let pod_ref = spec.pod_template_ref.as_ref().map(|p| p.name.as_str());
                reference(
                    &mut r,
                    hub,
                    "spec.podTemplateRef.name",
                    "DebugPodTemplate",
                    pod_ref,
                );
                if let Some(source) = &spec.pod_template_string {
                    dry_run(&mut r, "spec.podTemplateString", source, &spec);
                }
            }
        }
        "DebugPodTemplate" => {
            if let Some(spec) = spec::<DebugPodTemplateSpec>(object)
                && let Some(source) = &spec.template_string
            {
                dry_run(
                    &mut r,
                    "spec.templateString",
                    source,
                    &DebugSessionTemplateSpec::default(),
                );
            }
        }
        _ => {}
    }
    r
}

fn spec<T: DeserializeOwned>(object: &Value) -> Option<T> {
    serde_json::from_value(object.get("spec")?.clone()).ok()
}

fn mail_provider(r: &mut CrossReport, name: &str, spec: &MailProviderSpec, hub: &dyn HubObjects) {
    if spec.default != Some(true) || spec.disabled == Some(true) {
        return;
    }
    if let Some(other) = hub.default_mail_providers().into_iter().find(|o| o != name) {
        r.errors.push(FieldError::forbidden(
            "spec.default",
            &format!("MailProvider {other:?} is already the default; only one enabled MailProvider may be the default"),
        ));
    }
}

/// An issuer as compared: without a trailing slash.
fn issuer_key(s: &str) -> &str {
    s.trim_end_matches('/')
}

fn identity_provider(
    r: &mut CrossReport,
    name: &str,
    spec: &IdentityProviderSpec,
    hub: &dyn HubObjects,
) {
    let (path, mine) = match spec.issuer.as_deref() {
        Some(i) if !i.is_empty() => ("spec.issuer", i),
        _ => ("spec.oidc.authority", spec.oidc.authority.as_str()),
    };
    if mine.is_empty() {
        return;
    }
    for (other, issuer) in hub.identity_provider_issuers() {
        if other != name && issuer_key(&issuer) == issuer_key(mine) {
            r.errors.push(FieldError::forbidden(
                path,
                &format!("IdentityProvider {other:?} already has the issuer {mine:?}; a token's issuer must name one provider"),
            ));
        }
    }
}

fn escalation_refs(r: &mut CrossReport, spec: &BreakglassEscalationSpec, hub: &dyn HubObjects) {
    reference(
        r,
        hub,
        "spec.mailProvider",
        "MailProvider",
        spec.mail_provider.as_deref(),
    );
    let lists = [
        (
            "spec.allowedIdentityProviders",
            &spec.allowed_identity_providers,
        ),
        (
            "spec.allowedIdentityProvidersForRequests",
            &spec.allowed_identity_providers_for_requests,
        ),
        (
            "spec.allowedIdentityProvidersForApprovers",
            &spec.allowed_identity_providers_for_approvers,
        ),
    ];
    for (path, list) in lists {
        for (i, idp) in list.iter().flatten().enumerate() {
            reference(
                r,
                hub,
                &format!("{path}[{i}]"),
                "IdentityProvider",
                Some(idp),
            );
        }
    }
}

fn reference(
    r: &mut CrossReport,
    hub: &dyn HubObjects,
    path: &str,
    kind: &str,
    name: Option<&str>,
) {
    if let Some(n) = name.filter(|n| !n.is_empty())
        && !hub.exists(kind, n)
    {
        r.warnings.push(Warning::new(
            path,
            format!(
                "{kind} {n:?} does not exist (yet); the reference stays unusable until it does"
            ),
        ));
    }
}

/// The name a binding offers its template under: its `displayName`, else
/// `<displayNamePrefix> - <template display name or name>`, else the template's.
fn effective_display_name(
    spec: &DebugSessionClusterBindingSpec,
    template: &str,
    hub: &dyn HubObjects,
) -> String {
    if let Some(d) = spec.display_name.as_deref().filter(|d| !d.is_empty()) {
        return d.to_owned();
    }
    let base = hub
        .template_display_name(template)
        .unwrap_or_else(|| template.to_owned());
    match spec
        .display_name_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{p} - {base}"),
        None => base,
    }
}

fn binding(
    r: &mut CrossReport,
    namespace: &str,
    name: &str,
    spec: &DebugSessionClusterBindingSpec,
    hub: &dyn HubObjects,
) {
    let template = spec.template_ref.as_ref().map(|t| t.name.as_str());
    reference(
        r,
        hub,
        "spec.templateRef.name",
        "DebugSessionTemplate",
        template,
    );
    let Some(template) = template else { return };
    if spec.disabled == Some(true) {
        return;
    }
    let mine = effective_display_name(spec, template, hub);
    let clusters = spec.clusters.clone().unwrap_or_default();
    for (ons, oname, other) in hub.bindings() {
        if (ons.as_str(), oname.as_str()) == (namespace, name)
            || other.disabled == Some(true)
            || other.template_ref.as_ref().map(|t| t.name.as_str()) != Some(template)
        {
            continue;
        }
        let shared = other
            .clusters
            .iter()
            .flatten()
            .find(|c| clusters.contains(c));
        if let Some(cluster) = shared
            && effective_display_name(&other, template, hub) == mine
        {
            r.errors.push(FieldError::forbidden(
                "spec.displayName",
                &format!(
                    "binding {ons}/{oname} already offers template {template:?} on cluster {cluster:?} as {mine:?}; give one of them another displayName or displayNamePrefix"
                ),
            ));
        }
    }
}

/// Renders a pod template with sample data. A render that fails is a warning (real
/// sessions bring other values); a first document that is not a pod is an error.
fn dry_run(r: &mut CrossReport, path: &str, source: &str, effective: &DebugSessionTemplateSpec) {
    let Ok(session) = serde_json::from_value::<DebugSession>(json!({
        "metadata": {"name": "dry-run", "namespace": "breakglass-system"},
        "spec": {"cluster": "sample-cluster", "templateRef": "sample", "requestedBy": "user@example.com",
                 "targetNamespace": "breakglass-debug", "reason": "admission dry run"},
    })) else {
        return;
    };
    let vars = render::vars(&session, effective);
    let now = jiff::Timestamp::UNIX_EPOCH;
    let data = render::context(&render::ContextInput {
        session: &session,
        effective,
        vars: &vars,
        now,
        enabled_resources: &[],
    });
    match render::documents("dry-run", source, &data, now) {
        Err(e) => r.warnings.push(Warning::new(
            path,
            format!("rendering with sample values failed: {e}"),
        )),
        Ok(docs) => {
            let Some(first) = docs.first() else {
                r.errors.push(FieldError::invalid(path, "<template>", "renders no document; the first document must be a PodSpec, Pod, Deployment or DaemonSet"));
                return;
            };
            let kind = first.get("kind").and_then(Value::as_str);
            let podlike = match kind {
                Some(k) => matches!(k, "Pod" | "Deployment" | "DaemonSet"),
                None => first.get("containers").is_some(),
            };
            if !podlike {
                r.errors.push(FieldError::invalid(
                    path,
                    "<template>",
                    &format!(
                        "the first rendered document is {}, not a PodSpec, Pod, Deployment or DaemonSet",
                        kind.map_or_else(|| "an object without containers".to_owned(), |k| format!("a {k}"))
                    ),
                ));
            }
        }
    }
}
