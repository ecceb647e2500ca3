//! Rendering for debug sessions: the template context (A3 §26, §0.5) and the two ways a
//! template source becomes objects.
//!
//! The context offers the reference's lower-case keys (`.session.name`, `.vars.x`, …)
//! and, for the feature documents' examples, Go-style views (`.Session.Name`,
//! `.Session.Spec.TargetNamespace`, `.Target.Namespace`, `.Vars`, …). Every string a
//! user wrote or chose is **tainted** (variables, the reason, the requester's name,
//! e-mail and display name, the approver, the request's nodeSelector values and the
//! target namespace), so the engine keeps it inside one YAML scalar; names the server
//! generated and what administrators wrote (labels, annotations, defaults) are clean.

use std::collections::BTreeMap;

use breakglass_api::debug_common::ExtraDeployInputType;
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value as Json;

use crate::debug::workload;
use crate::template::{Budget, Template, TemplateError, Text, Value};

/// Most documents one template may render.
pub const MAX_DOCUMENTS: usize = 64;

/// Everything [`context`] reads.
#[derive(Debug, Clone, Copy)]
pub struct ContextInput<'a> {
    /// The session.
    pub session: &'a DebugSession,
    /// The effective template.
    pub effective: &'a DebugSessionTemplateSpec,
    /// `.vars`, from [`vars`].
    pub vars: &'a BTreeMap<String, Value>,
    /// The render clock (`.now`).
    pub now: jiff::Timestamp,
    /// Names of the enabled auxiliary resources (`.enabledResources`).
    pub enabled_resources: &'a [String],
}

/// A variable's value as templates see it: always a string — numbers in decimal,
/// booleans `true`/`false`, lists (multiSelect) comma-joined.
pub fn var_string(value: &Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        Json::Array(items) => Some(
            items
                .iter()
                .filter_map(var_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Json::Object(_) => Some(value.to_string()),
    }
}

/// `.vars`: every declared `extraDeployVariables` entry, with the session's
/// `spec.extraDeployValues` value (tainted) or else the default (clean). Variables with
/// neither are absent (`<no value>`, and `default` applies). Undeclared values are
/// left out: they were refused at request time and stay out here too.
pub fn vars(
    session: &DebugSession,
    effective: &DebugSessionTemplateSpec,
) -> BTreeMap<String, Value> {
    let given = session.spec.extra_deploy_values.as_ref();
    let mut out = BTreeMap::new();
    for var in effective.extra_deploy_variables.iter().flatten() {
        let user = given
            .and_then(|g| g.get(&var.name))
            .and_then(var_string)
            .map(Value::tainted_str);
        let default = || {
            var.default.as_ref().and_then(var_string).or_else(|| {
                // A boolean without a default is false, as the form shows it.
                (var.input_type() == ExtraDeployInputType::Boolean).then(|| "false".to_owned())
            })
        };
        if let Some(v) = user.or_else(|| default().map(Value::str)) {
            out.insert(var.name.clone(), v);
        }
    }
    out
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn clean_map(m: Option<&BTreeMap<String, String>>) -> Value {
    Value::Map(
        m.into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
            .collect(),
    )
}

fn tainted(s: Option<&String>) -> Value {
    Value::Str(Text::tainted(s.map(String::as_str).unwrap_or_default()))
}

fn time(t: Option<&Time>) -> Value {
    Value::str(t.map(|Time(t)| t.to_string()).unwrap_or_default())
}

/// The binding the session runs under: `status.resolvedBinding`, else `spec.bindingRef`.
fn binding(session: &DebugSession) -> (String, String) {
    let status = session
        .status
        .as_ref()
        .and_then(|s| s.resolved_binding.as_ref());
    match (status, &session.spec.binding_ref) {
        (Some(b), _) => (b.name.clone(), b.namespace.clone()),
        (None, Some(b)) => (b.name.clone(), b.namespace.clone()),
        (None, None) => (String::new(), String::new()),
    }
}

/// The template data: the lower-case keys and the Go-style views.
pub fn context(input: &ContextInput<'_>) -> Value {
    let s = input.session;
    let spec = &s.spec;
    let status = s.status.as_ref();
    let name = Value::str(s.metadata.name.clone().unwrap_or_default());
    let namespace = Value::str(s.metadata.namespace.clone().unwrap_or_default());
    let cluster = Value::str(spec.cluster.as_str());
    let requested_by = Value::tainted_str(spec.requested_by.as_str());
    let approved_by = tainted(status.and_then(|s| s.approval.as_ref()?.approved_by.as_ref()));
    let reason = tainted(spec.reason.as_ref());
    let expires_at = time(status.and_then(|s| s.expires_at.as_ref()));
    let target_ns = Value::tainted_str(workload::target_namespace(s, input.effective));
    let template_name = Value::str(spec.template_ref.as_str());
    let display_name = Value::str(input.effective.display_name.clone().unwrap_or_default());
    let (b_name, b_namespace) = binding(s);
    let labels = clean_map(input.effective.labels.as_ref());
    let annotations = clean_map(input.effective.annotations.as_ref());
    let vars = Value::Map(input.vars.clone());
    let enabled = Value::List(
        input
            .enabled_resources
            .iter()
            .map(|n| Value::str(n.as_str()))
            .collect(),
    );
    let node_selector = Value::Map(
        spec.node_selector
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::tainted_str(v.as_str())))
            .collect(),
    );
    let session_lower = map([
        ("name", name.clone()),
        ("namespace", namespace.clone()),
        ("cluster", cluster.clone()),
        ("requestedBy", requested_by.clone()),
        ("approvedBy", approved_by.clone()),
        ("reason", reason.clone()),
        ("expiresAt", expires_at.clone()),
    ]);
    let go_spec = map([
        ("Cluster", cluster.clone()),
        ("TemplateRef", template_name.clone()),
        ("RequestedBy", requested_by.clone()),
        ("User", requested_by),
        (
            "RequestedByEmail",
            tainted(spec.requested_by_email.as_ref()),
        ),
        (
            "RequestedByDisplayName",
            tainted(spec.requested_by_display_name.as_ref()),
        ),
        ("TargetNamespace", target_ns.clone()),
        ("Reason", reason),
        ("NodeSelector", node_selector),
        (
            "BindingRef",
            map([
                ("Name", Value::str(b_name.as_str())),
                ("Namespace", Value::str(b_namespace.as_str())),
            ]),
        ),
    ]);
    let go_session = map([
        ("Name", name),
        ("Namespace", namespace),
        ("Labels", clean_map(s.metadata.labels.as_ref())),
        ("Spec", go_spec),
        (
            "Status",
            map([("ApprovedBy", approved_by), ("ExpiresAt", expires_at)]),
        ),
    ]);
    map([
        ("session", session_lower),
        (
            "target",
            map([
                ("namespace", target_ns.clone()),
                ("clusterName", cluster.clone()),
            ]),
        ),
        (
            "template",
            map([
                ("name", template_name.clone()),
                ("displayName", display_name.clone()),
            ]),
        ),
        (
            "binding",
            map([
                ("name", Value::str(b_name.as_str())),
                ("namespace", Value::str(b_namespace.as_str())),
            ]),
        ),
        ("labels", labels.clone()),
        ("annotations", annotations.clone()),
        ("vars", vars.clone()),
        ("now", Value::str(input.now.to_string())),
        ("enabledResources", enabled.clone()),
        ("Session", go_session),
        (
            "Target",
            map([("Namespace", target_ns.clone()), ("ClusterName", cluster)]),
        ),
        (
            "Template",
            map([("Name", template_name), ("DisplayName", display_name)]),
        ),
        ("Vars", vars),
        ("Labels", labels),
        ("Annotations", annotations),
        ("TargetNamespace", target_ns),
        ("EnabledResources", enabled),
    ])
}

/// Renders a template source into its YAML documents (empty ones skipped).
pub fn documents(
    name: &str,
    source: &str,
    data: &Value,
    now: jiff::Timestamp,
) -> Result<Vec<Json>, TemplateError> {
    let template = Template::parse(name, source)?;
    let mut docs = template
        .execute(data, now, Budget::default())?
        .documents()?;
    // A document of nothing but comments is as empty as a blank one.
    docs.retain(|d| !d.is_null());
    if docs.len() > MAX_DOCUMENTS {
        return Err(TemplateError::Yaml {
            name: name.to_owned(),
            message: format!("{} documents (at most {MAX_DOCUMENTS})", docs.len()),
        });
    }
    Ok(docs)
}

/// Renders a structured template (the deprecated auxiliary `template`): every string
/// (value or key) holding `{{` is rendered as a template of its own and stays one
/// string, so the object's structure is exactly what the administrator wrote —
/// `"{{ .vars.port }}"` gives the string `"53"`, as the reference's quoted YAML does.
pub fn structured(
    name: &str,
    object: &Json,
    data: &Value,
    now: jiff::Timestamp,
) -> Result<Json, TemplateError> {
    let mut budget = Budget::default().max_output;
    walk(name, object, data, now, &mut budget)
}

fn walk(
    name: &str,
    value: &Json,
    data: &Value,
    now: jiff::Timestamp,
    budget: &mut usize,
) -> Result<Json, TemplateError> {
    Ok(match value {
        Json::String(s) => Json::String(leaf(name, s, data, now, budget)?),
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| walk(name, v, data, now, budget))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                let key = leaf(name, k, data, now, budget)?;
                out.insert(key, walk(name, v, data, now, budget)?);
            }
            Json::Object(out)
        }
        other => other.clone(),
    })
}

fn leaf(
    name: &str,
    s: &str,
    data: &Value,
    now: jiff::Timestamp,
    budget: &mut usize,
) -> Result<String, TemplateError> {
    if !s.contains("{{") {
        return Ok(s.to_owned());
    }
    let limits = Budget {
        max_output: *budget,
        ..Budget::default()
    };
    let rendered = Template::parse(name, s)?.execute(data, now, limits)?;
    // One string in, one string out: the text is the scalar's value, never parsed.
    let text = rendered.as_plain().to_owned();
    *budget = budget.saturating_sub(text.len());
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "render_tests.rs"]
mod tests;
