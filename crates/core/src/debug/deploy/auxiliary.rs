//! Auxiliary resources (A3 §36, feature document 001 "Auxiliary Resources"): which are
//! enabled, and rendering them under their `failurePolicy`.
//!
//! A resource is enabled when its category is required (the template's and the
//! binding's `requiredAuxiliaryResourceCategories`, united by the merge); otherwise
//! `auxiliaryResourceDefaults` decides, looked up by category first and then by the
//! resource's name (the feature documents key it by category, the reference reads it
//! by name; both work). The merge writes a binding's `auxiliaryResourceOverrides` over
//! those defaults, so an override wins, and `false` switches off a category that is not
//! required. Anything else is disabled. A required category that no resource has is an
//! error: the binding asked for something the template cannot provide.

use breakglass_api::debug_common::{AuxiliaryResource, AuxiliaryResourceFailurePolicy};
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use serde_json::Value as Json;

use super::DeployError;
use super::objects::{Objects, shape_check};
use crate::debug::render;
use crate::template::Value;

/// The effective failure policy: `failurePolicy`, else the deprecated `optional: true`
/// as `ignore`, else `fail`.
pub fn failure_policy(res: &AuxiliaryResource) -> AuxiliaryResourceFailurePolicy {
    match (res.failure_policy, res.optional) {
        (Some(p), _) => p,
        (None, Some(true)) => AuxiliaryResourceFailurePolicy::Ignore,
        _ => AuxiliaryResourceFailurePolicy::Fail,
    }
}

/// True when the resource is deployed with the session.
pub fn is_enabled(effective: &DebugSessionTemplateSpec, res: &AuxiliaryResource) -> bool {
    let required = effective
        .required_auxiliary_resource_categories
        .as_deref()
        .unwrap_or_default();
    let category = res.category.as_deref();
    if category.is_some_and(|c| required.iter().any(|r| r == c)) {
        return true;
    }
    let defaults = effective.auxiliary_resource_defaults.as_ref();
    category
        .and_then(|c| defaults.and_then(|d| d.get(c)))
        .or_else(|| defaults.and_then(|d| d.get(&res.name)))
        .copied()
        .unwrap_or(false)
}

/// The enabled auxiliary resources, in template order; a required category without
/// a resource is an error.
pub fn enabled(
    effective: &DebugSessionTemplateSpec,
) -> Result<Vec<&AuxiliaryResource>, DeployError> {
    let all = effective.auxiliary_resources.as_deref().unwrap_or_default();
    for c in effective
        .required_auxiliary_resource_categories
        .iter()
        .flatten()
    {
        if !all
            .iter()
            .any(|r| r.category.as_deref() == Some(c.as_str()))
        {
            return Err(DeployError::RequiredCategory(c.clone()));
        }
    }
    Ok(all.iter().filter(|r| is_enabled(effective, r)).collect())
}

/// Renders a resource's documents. A failure under `fail` is an error; under
/// `ignore`/`warn` it is recorded in `out` and `None` returned.
pub(super) fn render(
    res: &AuxiliaryResource,
    data: &Value,
    now: jiff::Timestamp,
    out: &mut Objects,
) -> Result<Option<Vec<Json>>, DeployError> {
    match render_docs(res, data, now) {
        Ok(docs) => Ok(Some(docs)),
        Err(message) if failure_policy(res) == AuxiliaryResourceFailurePolicy::Fail => {
            Err(DeployError::Render {
                what: format!("auxiliary resource {:?}", res.name),
                message,
            })
        }
        Err(message) => {
            out.skip(res, message);
            Ok(None)
        }
    }
}

fn render_docs(
    res: &AuxiliaryResource,
    data: &Value,
    now: jiff::Timestamp,
) -> Result<Vec<Json>, String> {
    let name = format!("auxiliaryResources[{}].templateString", res.name);
    let docs = match (&res.template_string, &res.template) {
        (Some(source), _) => {
            render::documents(&name, source, data, now).map_err(|e| e.to_string())?
        }
        (None, Some(raw)) => {
            let name = format!("auxiliaryResources[{}].template", res.name);
            vec![render::structured(&name, &raw.0, data, now).map_err(|e| e.to_string())?]
        }
        (None, None) => return Err("has neither templateString nor template".to_owned()),
    };
    for (i, doc) in docs.iter().enumerate() {
        shape_check(doc).map_err(|m| {
            if docs.len() > 1 {
                format!("document {} {m}", i + 1)
            } else {
                format!("the document {m}")
            }
        })?;
    }
    Ok(docs)
}
