//! The workload of a plan: the pod source (A3 §25: the template's `podTemplateString`,
//! else the pod template's `templateString`, else its structured `template`), the
//! rendered `podOverridesTemplate`, and the extra documents of a rendered pod template.

use breakglass_api::debug_session_template::{
    DebugPodOverrides, DebugPodSpecOverrides, DebugWorkloadType,
};
use serde_json::Value as Json;

use super::DeployError;
use super::DeployInput;
use super::objects::shape_check;
use crate::debug::render;
use crate::debug::workload::{self, PodParts, Workload, WorkloadError, WorkloadInput, rendered};
use crate::template::Value;

fn nonempty(s: Option<&String>) -> Option<&str> {
    s.map(String::as_str).filter(|s| !s.trim().is_empty())
}

/// The workload and the extra documents (in order) of the pod template.
pub(super) fn workload(
    input: &DeployInput<'_>,
    data: &Value,
) -> Result<(Vec<Json>, Workload), DeployError> {
    let effective = input.effective;
    let winput = WorkloadInput {
        session: input.session,
        effective,
        pod_template: input.pod_template,
        node_names: input.node_names,
    };
    let overrides = match nonempty(effective.pod_overrides_template.as_ref()) {
        Some(source) => override_template(source, data, input.now)?,
        None => None,
    };
    let source = if let Some(s) = nonempty(effective.pod_template_string.as_ref()) {
        Some(("podTemplateString".to_owned(), s))
    } else {
        let Some((name, pt)) = input.pod_template else {
            return Err(match &effective.pod_template_ref {
                Some(r) => WorkloadError::PodTemplateNotFound(r.name.clone()),
                None => WorkloadError::NoPodTemplate,
            }
            .into());
        };
        match nonempty(pt.template_string.as_ref()) {
            Some(s) => Some((format!("{name}.templateString"), s)),
            None if pt.template.is_some() => None,
            None => return Err(WorkloadError::EmptyPodTemplate(name.to_owned()).into()),
        }
    };
    let (parts, extra) = match source {
        None => {
            let structured = input
                .pod_template
                .and_then(|(_, pt)| pt.template.as_ref())
                .ok_or(WorkloadError::NoPodTemplate)?;
            (PodParts::structured(structured), Vec::new())
        }
        Some((what, source)) => rendered_pod(&what, source, data, input, effective.workload_type)?,
    };
    let extra_overrides: Vec<&DebugPodOverrides> = overrides.iter().collect();
    let built = workload::assemble(&winput, parts, &extra_overrides)?;
    Ok((extra, built))
}

fn rendered_pod(
    what: &str,
    source: &str,
    data: &Value,
    input: &DeployInput<'_>,
    workload_type: Option<DebugWorkloadType>,
) -> Result<(PodParts, Vec<Json>), DeployError> {
    let render_err = |message: String| DeployError::Render {
        what: what.to_owned(),
        message,
    };
    let mut docs = render::documents(what, source, data, input.now)?.into_iter();
    let Some(first) = docs.next() else {
        return Err(render_err("renders no documents".to_owned()));
    };
    let parts = rendered::first_document(
        &first,
        workload_type.unwrap_or(DebugWorkloadType::DaemonSet),
    )?;
    let extra: Vec<Json> = docs.collect();
    for (i, doc) in extra.iter().enumerate() {
        shape_check(doc).map_err(|m| render_err(format!("document {} {m}", i + 2)))?;
    }
    Ok((parts, extra))
}

const OVERRIDE_FIELDS: &[&str] = &["hostNetwork", "hostPID", "hostIPC", "containers"];
const CONTAINER_FIELDS: &[&str] = &["name", "securityContext", "resources", "env"];

/// Renders `podOverridesTemplate` into overrides: one mapping, either `{spec: {...}}`
/// or the spec fields directly (`hostNetwork`, `hostPID`, `hostIPC`, `containers`);
/// any other field is an error (only what `podOverrides` can say may be said).
fn override_template(
    source: &str,
    data: &Value,
    now: jiff::Timestamp,
) -> Result<Option<DebugPodOverrides>, DeployError> {
    let err = |message: String| DeployError::Render {
        what: "podOverridesTemplate".to_owned(),
        message,
    };
    let docs = render::documents("podOverridesTemplate", source, data, now)?;
    let doc = match docs.as_slice() {
        [] => return Ok(None),
        [one] => one,
        _ => return Err(err("renders more than one document".to_owned())),
    };
    let Some(map) = doc.as_object() else {
        return Err(err("does not render a mapping".to_owned()));
    };
    let spec = match map.get("spec") {
        Some(spec) if map.len() == 1 => spec,
        _ => doc,
    };
    let Some(fields) = spec.as_object() else {
        return Err(err("spec is not a mapping".to_owned()));
    };
    if let Some(k) = fields
        .keys()
        .find(|k| !OVERRIDE_FIELDS.contains(&k.as_str()))
    {
        return Err(err(format!(
            "{k} cannot be overridden (only {})",
            OVERRIDE_FIELDS.join(", ")
        )));
    }
    for (i, c) in fields
        .get("containers")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(k) = c
            .as_object()
            .and_then(|c| c.keys().find(|k| !CONTAINER_FIELDS.contains(&k.as_str())))
        {
            return Err(err(format!(
                "containers[{i}].{k} cannot be overridden (only {})",
                CONTAINER_FIELDS.join(", ")
            )));
        }
    }
    let parsed: DebugPodSpecOverrides = serde_path_to_error::deserialize(spec)
        .map_err(|e| err(format!("{}: {}", e.path(), e.inner())))?;
    Ok(Some(DebugPodOverrides { spec: Some(parsed) }))
}
