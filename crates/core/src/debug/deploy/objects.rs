//! Placing rendered and built objects into a plan: shape checks, the allow-list of
//! kinds, the target namespace, labels and annotations, duplicates and the size bound.

use std::collections::{BTreeMap, BTreeSet};

use breakglass_api::debug_common::{AuxiliaryResource, AuxiliaryResourceFailurePolicy};
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use serde_json::{Map, Value as Json};

use super::{
    DeployError, KindInfo, MAX_OBJECTS, PlannedObject, SkippedAuxiliary, Source, auxiliary, kinds,
};
use crate::debug::workload;

/// The plan's objects as they are collected.
pub(super) struct Objects {
    session_labels: BTreeMap<String, String>,
    template_labels: BTreeMap<String, String>,
    template_annotations: BTreeMap<String, String>,
    target: String,
    allowed: Vec<&'static KindInfo>,
    objects: Vec<PlannedObject>,
    warnings: Vec<String>,
    skipped: Vec<SkippedAuxiliary>,
    seen: BTreeSet<(&'static str, String)>,
}

/// Checks that a rendered document is an object with `apiVersion`, `kind` and a
/// `metadata.name` valid for its kind (the message says what is wrong).
pub fn shape_check(doc: &Json) -> Result<(), String> {
    let Some(map) = doc.as_object() else {
        return Err("is not a mapping".to_owned());
    };
    for key in ["apiVersion", "kind"] {
        if map
            .get(key)
            .and_then(Json::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!("has no {key}"));
        }
    }
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Json::as_str);
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err("has no metadata.name".to_owned());
    };
    let kind = map.get("kind").and_then(Json::as_str).unwrap_or_default();
    match name_problem(kind, name) {
        Some(problem) => Err(format!("names a {kind} {name:?}, which {problem}")),
        None => Ok(()),
    }
}

impl Objects {
    pub(super) fn new(
        session: &DebugSession,
        effective: &DebugSessionTemplateSpec,
        target: &str,
    ) -> Self {
        Self {
            session_labels: workload::session_labels(session),
            template_labels: effective.labels.clone().unwrap_or_default(),
            template_annotations: effective.annotations.clone().unwrap_or_default(),
            target: target.to_owned(),
            allowed: kinds::allowed(effective.allowed_auxiliary_resource_kinds.as_deref()),
            objects: Vec::new(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    /// Adds an object the session itself builds (any known kind).
    pub(super) fn push(
        &mut self,
        doc: Json,
        what: &str,
        source: Source,
    ) -> Result<(), DeployError> {
        self.place(doc, what, source, false)
    }

    /// Adds a rendered object (allowed kinds only).
    pub(super) fn push_restricted(
        &mut self,
        doc: Json,
        what: &str,
        source: Source,
    ) -> Result<(), DeployError> {
        self.place(doc, what, source, true)
    }

    /// Adds the rendered documents of an auxiliary resource.
    pub(super) fn push_auxiliary(
        &mut self,
        res: &AuxiliaryResource,
        docs: Vec<Json>,
    ) -> Result<(), DeployError> {
        let source = Source::Auxiliary {
            name: res.name.clone(),
            category: res.category.clone(),
            failure_policy: auxiliary::failure_policy(res),
            delete_after: res.delete_after(),
        };
        let many = docs.len() > 1;
        for (i, doc) in docs.into_iter().enumerate() {
            let what = if many {
                format!("auxiliary resource {:?} document {}", res.name, i + 1)
            } else {
                format!("auxiliary resource {:?}", res.name)
            };
            self.place(doc, &what, source.clone(), true)?;
        }
        Ok(())
    }

    /// Records an auxiliary resource left out under `ignore`/`warn`.
    pub(super) fn skip(&mut self, res: &AuxiliaryResource, message: String) {
        let policy = auxiliary::failure_policy(res);
        if policy == AuxiliaryResourceFailurePolicy::Warn {
            self.warnings.push(format!(
                "auxiliary resource {:?} was not deployed (failurePolicy warn): {message}",
                res.name
            ));
        }
        self.skipped.push(SkippedAuxiliary {
            name: res.name.clone(),
            category: res.category.clone(),
            failure_policy: policy,
            message,
        });
    }

    pub(super) fn finish(self) -> (Vec<PlannedObject>, Vec<String>, Vec<SkippedAuxiliary>) {
        (self.objects, self.warnings, self.skipped)
    }

    fn allowed_list(&self) -> String {
        if self.allowed.is_empty() {
            return "none".to_owned();
        }
        self.allowed
            .iter()
            .map(|k| format!("{} {}", k.api_version(), k.kind))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn place(
        &mut self,
        doc: Json,
        what: &str,
        source: Source,
        restricted: bool,
    ) -> Result<(), DeployError> {
        shape_check(&doc).map_err(|m| DeployError::Render {
            what: what.to_owned(),
            message: format!("the document {m}"),
        })?;
        let Json::Object(mut map) = doc else {
            return Err(DeployError::Render {
                what: what.to_owned(),
                message: "the document is not a mapping".to_owned(),
            });
        };
        let api_version = str_at(&map, "apiVersion");
        let kind_name = str_at(&map, "kind");
        let (group, version) = api_version
            .rsplit_once('/')
            .unwrap_or(("", api_version.as_str()));
        if kinds::is_cluster_scoped(&kind_name) {
            return Err(DeployError::ClusterScoped {
                what: what.to_owned(),
                kind: kind_name,
            });
        }
        let kind = kinds::known(group, &kind_name)
            .filter(|k| k.version == version)
            .filter(|k| !restricted || self.allowed.iter().any(|a| a == k));
        let Some(kind) = kind else {
            return Err(DeployError::KindNotAllowed {
                what: what.to_owned(),
                api_version,
                kind: kind_name,
                allowed: if restricted {
                    self.allowed_list()
                } else {
                    "the session's own kinds".to_owned()
                },
            });
        };
        let meta = map
            .entry("metadata")
            .or_insert_with(|| Json::Object(Map::new()));
        let Some(meta) = meta.as_object_mut() else {
            return Err(DeployError::Render {
                what: what.to_owned(),
                message: "metadata is not a mapping".to_owned(),
            });
        };
        let name = meta
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        match meta.get("namespace") {
            None | Some(Json::Null) => {}
            Some(Json::String(ns)) if ns.is_empty() || *ns == self.target => {}
            Some(other) => {
                return Err(DeployError::WrongNamespace {
                    what: what.to_owned(),
                    kind: kind.kind.to_owned(),
                    name,
                    namespace: other
                        .as_str()
                        .map_or_else(|| other.to_string(), str::to_owned),
                    target: self.target.clone(),
                });
            }
        }
        meta.insert("namespace".to_owned(), Json::String(self.target.clone()));
        let labels = self.labels_for(meta.get("labels"), &source, what)?;
        meta.insert("labels".to_owned(), to_json(labels));
        let mut annotations = self.template_annotations.clone();
        annotations.extend(string_map(meta.get("annotations"), what, "annotations")?);
        if annotations.is_empty() {
            meta.remove("annotations");
        } else {
            meta.insert("annotations".to_owned(), to_json(annotations));
        }
        if !self.seen.insert((kind.kind, name.clone())) {
            return Err(DeployError::Duplicate {
                what: what.to_owned(),
                kind: kind.kind.to_owned(),
                name,
            });
        }
        if self.objects.len() >= MAX_OBJECTS {
            return Err(DeployError::TooManyObjects);
        }
        self.objects.push(PlannedObject {
            kind,
            name,
            namespace: Some(self.target.clone()),
            object: Json::Object(map),
            source,
        });
        Ok(())
    }

    /// Template labels, then the object's own, then ours (which win).
    fn labels_for(
        &self,
        own: Option<&Json>,
        source: &Source,
        what: &str,
    ) -> Result<BTreeMap<String, String>, DeployError> {
        let mut labels = self.template_labels.clone();
        labels.extend(string_map(own, what, "labels")?);
        labels.extend(self.session_labels.clone());
        labels.insert(
            workload::DEBUG_RESOURCE.to_owned(),
            source.label().to_owned(),
        );
        if let Source::Auxiliary {
            name, delete_after, ..
        } = source
        {
            labels.insert(
                workload::AUXILIARY_RESOURCE.to_owned(),
                workload::label_value(name),
            );
            if !delete_after {
                labels.insert(workload::DEBUG_KEEP.to_owned(), "true".to_owned());
            }
        }
        Ok(labels)
    }
}

/// Why `name` cannot name an object of `kind` (Kubernetes' rules: RBAC objects take
/// any path segment, Services a DNS label, everything else a DNS subdomain).
fn name_problem(kind: &str, name: &str) -> Option<&'static str> {
    if matches!(kind, "Role" | "RoleBinding") {
        return (name == "." || name == ".." || name.contains(['/', '%']))
            .then_some("is not a valid path segment");
    }
    let label = kind == "Service";
    let max = if label { 63 } else { 253 };
    let ok_char =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (!label && b == b'.');
    let bytes = name.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= max
        && bytes.iter().all(|b| ok_char(*b))
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && (!label || bytes.first().is_some_and(u8::is_ascii_lowercase));
    (!valid).then_some(if label {
        "is not a DNS label (lowercase letters, digits and '-', starting with a letter, at most 63)"
    } else {
        "is not a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253)"
    })
}

fn str_at(map: &Map<String, Json>, key: &str) -> String {
    map.get(key)
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn string_map(
    value: Option<&Json>,
    what: &str,
    field: &str,
) -> Result<BTreeMap<String, String>, DeployError> {
    match value {
        None | Some(Json::Null) => Ok(BTreeMap::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| DeployError::Render {
            what: what.to_owned(),
            message: format!("metadata.{field} must map strings to strings"),
        }),
    }
}

fn to_json(map: BTreeMap<String, String>) -> Json {
    Json::Object(map.into_iter().map(|(k, v)| (k, Json::String(v))).collect())
}
