//! `config/samples/`: every document deserializes into its kind with no unknown fields and
//! round-trips through JSON and YAML unchanged.

use std::collections::BTreeSet;

use breakglass_api::*;
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::sample_documents;

/// Deserializes a document as `T` and checks it serializes back to exactly the same JSON and
/// survives a YAML round trip; returns the namespace and whether the kind is namespaced.
fn check<T>(file: &str, doc: &Value) -> (Option<String>, bool)
where
    T: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Serialize
        + DeserializeOwned
        + PartialEq
        + std::fmt::Debug,
{
    roundtrip::<T>(file, doc);
    (
        doc.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned),
        true,
    )
}

fn check_cluster<T>(file: &str, doc: &Value) -> (Option<String>, bool)
where
    T: Resource<Scope = k8s_openapi::ClusterResourceScope>
        + Serialize
        + DeserializeOwned
        + PartialEq
        + std::fmt::Debug,
{
    roundtrip::<T>(file, doc);
    (
        doc.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned),
        false,
    )
}

fn roundtrip<T>(file: &str, doc: &Value)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let typed: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("{file}: does not deserialize: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        &back, doc,
        "{file}: JSON round trip changed the object (unknown or misspelt fields are dropped)"
    );
    let yaml = serde_saphyr::to_string(&typed).unwrap();
    let again: T = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{file}: {e}\n{yaml}"));
    assert_eq!(again, typed, "{file}: YAML round trip");
}

#[test]
fn every_sample_is_a_lossless_typed_object() {
    let mut kinds = BTreeSet::new();
    for (file, doc) in sample_documents() {
        assert_eq!(doc["apiVersion"], API_VERSION, "{file}");
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        let (namespace, namespaced) = match kind.as_str() {
            "BreakglassEscalation" => check::<BreakglassEscalation>(&file, &doc),
            "BreakglassSession" => check::<BreakglassSession>(&file, &doc),
            "DenyPolicy" => check_cluster::<DenyPolicy>(&file, &doc),
            "ClusterConfig" => check::<ClusterConfig>(&file, &doc),
            "IdentityProvider" => check_cluster::<IdentityProvider>(&file, &doc),
            "MailProvider" => check_cluster::<MailProvider>(&file, &doc),
            "AuditConfig" => check_cluster::<AuditConfig>(&file, &doc),
            "DebugPodTemplate" => check_cluster::<DebugPodTemplate>(&file, &doc),
            "DebugSessionTemplate" => check_cluster::<DebugSessionTemplate>(&file, &doc),
            "DebugSessionClusterBinding" => check::<DebugSessionClusterBinding>(&file, &doc),
            "DebugSession" => check::<DebugSession>(&file, &doc),
            other => panic!("{file}: unexpected kind {other:?}"),
        };
        if namespaced {
            assert_eq!(namespace.as_deref(), Some("breakglass-system"), "{file}");
        } else {
            assert_eq!(
                namespace, None,
                "{file}: cluster-scoped objects have no namespace"
            );
        }
        assert_eq!(
            file,
            format!("breakglass_v1alpha1_{}.yaml", kind.to_lowercase()),
            "one file per kind"
        );
        kinds.insert(kind);
    }
    let all: BTreeSet<String> = crds::all().into_iter().map(|c| c.spec.names.kind).collect();
    assert_eq!(kinds, all, "every kind has a sample");
}

#[test]
fn samples_use_the_objects_they_reference() {
    let docs = sample_documents();
    let names = |kind: &str| -> BTreeSet<String> {
        docs.iter()
            .filter(|(_, d)| d["kind"] == kind)
            .map(|(_, d)| {
                d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let templates = names("DebugSessionTemplate");
    let pod_templates = names("DebugPodTemplate");
    for (file, doc) in &docs {
        match doc["kind"].as_str() {
            Some("DebugSessionTemplate") => {
                if let Some(r) = doc
                    .pointer("/spec/podTemplateRef/name")
                    .and_then(Value::as_str)
                {
                    assert!(pod_templates.contains(r), "{file}: pod template {r}");
                }
            }
            Some("DebugSessionClusterBinding") => {
                let r = doc
                    .pointer("/spec/templateRef/name")
                    .and_then(Value::as_str)
                    .unwrap();
                assert!(templates.contains(r), "{file}: template {r}");
            }
            Some("DebugSession") => {
                let r = doc
                    .pointer("/spec/templateRef")
                    .and_then(Value::as_str)
                    .unwrap();
                assert!(templates.contains(r), "{file}: template {r}");
            }
            _ => {}
        }
    }
}
