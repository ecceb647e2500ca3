//! CustomResourceDefinition manifests generated from the types.
//!
//! `cargo xtask crds` writes [`render_all`] into `config/crd/`; a test in this crate fails when
//! the committed files drift from the types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

use crate::{
    AuditConfig, BreakglassEscalation, BreakglassSession, ClusterConfig, DebugPodTemplate,
    DebugSession, DebugSessionClusterBinding, DebugSessionTemplate, DenyPolicy, IdentityProvider,
    MailProvider,
};

/// Error while rendering a CRD manifest.
#[derive(Debug, thiserror::Error)]
#[error("rendering the CRD {name} as YAML: {source}")]
pub struct RenderError {
    /// Name of the CRD.
    pub name: String,
    /// Cause.
    #[source]
    pub source: serde_saphyr::SerializeError,
}

/// The CRDs of every kind, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        BreakglassEscalation::crd(),
        BreakglassSession::crd(),
        DenyPolicy::crd(),
        ClusterConfig::crd(),
        IdentityProvider::crd(),
        MailProvider::crd(),
        AuditConfig::crd(),
        DebugPodTemplate::crd(),
        DebugSessionTemplate::crd(),
        DebugSessionClusterBinding::crd(),
        DebugSession::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                visit_schemas(schema, &mut |s| {
                    s.nullable = None;
                    s.title = None;
                });
            }
        }
    }
    crds
}

/// Applies `f` to a schema and every schema nested in it.
///
/// [`all`] uses it to drop `nullable` and the root `title`. Optional fields are left out
/// rather than set to null; without `nullable` the apiserver prunes explicit nulls and then
/// applies defaults, as it does for controller-gen generated CRDs.
pub fn visit_schemas(schema: &mut JSONSchemaProps, f: &mut impl FnMut(&mut JSONSchemaProps)) {
    f(schema);
    let children = schema
        .properties
        .iter_mut()
        .flat_map(|m| m.values_mut())
        .chain(
            schema
                .pattern_properties
                .iter_mut()
                .flat_map(|m| m.values_mut()),
        )
        .chain(schema.definitions.iter_mut().flat_map(|m| m.values_mut()))
        .chain(schema.all_of.iter_mut().flatten())
        .chain(schema.any_of.iter_mut().flatten())
        .chain(schema.one_of.iter_mut().flatten())
        .chain(schema.not.as_deref_mut())
        .chain(match schema.items.as_mut() {
            Some(JSONSchemaPropsOrArray::Schema(s)) => std::slice::from_mut(s.as_mut()),
            Some(JSONSchemaPropsOrArray::Schemas(v)) => v.as_mut_slice(),
            None => &mut [],
        })
        .chain(match schema.additional_properties.as_mut() {
            Some(JSONSchemaPropsOrBool::Schema(s)) => Some(s.as_mut()),
            _ => None,
        })
        .chain(match schema.additional_items.as_mut() {
            Some(JSONSchemaPropsOrBool::Schema(s)) => Some(s.as_mut()),
            _ => None,
        });
    for child in children {
        visit_schemas(child, f);
    }
}

/// File name of a CRD manifest: `<group>_<plural>.yaml`, as controller-gen names them.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// Renders one CRD as a YAML document.
pub fn render_yaml(crd: &CustomResourceDefinition) -> Result<String, RenderError> {
    let body = serde_saphyr::to_string(crd).map_err(|source| RenderError {
        name: crd.metadata.name.clone().unwrap_or_default(),
        source,
    })?;
    Ok(format!(
        "# Generated from crates/api by `cargo xtask crds`. Do not edit.\n---\n{body}"
    ))
}

/// Name of the kustomization listing the CRD files.
pub const KUSTOMIZATION_FILE: &str = "kustomization.yaml";

/// Every file of `config/crd/` as `(file name, contents)`: one manifest per CRD in the order of
/// [`all`], then a kustomization listing them.
pub fn render_all() -> Result<Vec<(String, String)>, RenderError> {
    let mut files = all()
        .iter()
        .map(|crd| Ok((file_name(crd), render_yaml(crd)?)))
        .collect::<Result<Vec<_>, RenderError>>()?;
    let mut kustomization = String::from(
        "# Generated from crates/api by `cargo xtask crds`. Do not edit.\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n\
         resources:\n",
    );
    for (name, _) in &files {
        kustomization.push_str("- ");
        kustomization.push_str(name);
        kustomization.push('\n');
    }
    files.push((KUSTOMIZATION_FILE.to_owned(), kustomization));
    Ok(files)
}
