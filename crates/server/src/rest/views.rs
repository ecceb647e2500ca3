//! What the REST API returns for stored objects: explicit view types with exactly the
//! fields clients get. Nothing is answered by serialising a stored object minus some
//! fields, so a field added to an object (an annotation such as kubectl's
//! `last-applied-configuration`, which repeats `hiddenFromUI` approvers) never leaks.

use std::collections::BTreeMap;

use breakglass_api::breakglass_escalation::{BreakglassEscalation, BreakglassEscalationSpec};
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionSpec, BreakglassSessionStatus,
};
use breakglass_core::escalation::visible_approvers;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use serde::Serialize;

/// Object metadata as clients see it: identity and labels, no annotations, no managed
/// fields, no finalizers.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ObjectMeta")]
pub struct MetaView {
    /// Object name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// UID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Resource version (for optimistic concurrency in clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// Generation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// RFC 3339 creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Owner references (the escalation that owns a session).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerView>,
}

/// An owner reference.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OwnerReference")]
pub struct OwnerView {
    /// API version of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner.
    pub uid: String,
    /// Whether the owner is the controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
}

impl MetaView {
    fn of(meta: &ObjectMeta) -> Self {
        Self {
            name: meta.name.clone().unwrap_or_default(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            generation: meta.generation,
            creation_timestamp: meta.creation_timestamp.as_ref().map(|t| t.0.to_string()),
            labels: meta.labels.clone(),
            owner_references: meta
                .owner_references
                .iter()
                .flatten()
                .map(|o| OwnerView {
                    api_version: o.api_version.clone(),
                    kind: o.kind.clone(),
                    name: o.name.clone(),
                    uid: o.uid.clone(),
                    controller: o.controller,
                })
                .collect(),
        }
    }
}

/// A BreakglassSession as returned by every session endpoint.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassSession")]
pub struct SessionView {
    /// `breakglass.t-caas.telekom.com/v1alpha1`.
    pub api_version: &'static str,
    /// `BreakglassSession`.
    pub kind: &'static str,
    /// Metadata.
    pub metadata: MetaView,
    /// Spec.
    pub spec: BreakglassSessionSpec,
    /// Status (absent for a moment after creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<BreakglassSessionStatus>,
}

impl SessionView {
    /// The view of `session`.
    pub fn of(session: &BreakglassSession) -> Self {
        Self {
            api_version: breakglass_api::API_VERSION,
            kind: "BreakglassSession",
            metadata: MetaView::of(&session.metadata),
            spec: session.spec.clone(),
            status: session.status.clone(),
        }
    }

    /// The view as JSON.
    pub fn json(session: &BreakglassSession) -> serde_json::Value {
        serde_json::to_value(Self::of(session)).unwrap_or(serde_json::Value::Null)
    }
}

/// A BreakglassEscalation as `GET /api/breakglassEscalations` returns it: the spec
/// with `hiddenFromUI` approvers removed, and only the readiness part of the status
/// (the synced approver group members would name hidden approvers).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassEscalation")]
pub struct EscalationView {
    /// `breakglass.t-caas.telekom.com/v1alpha1`.
    pub api_version: &'static str,
    /// `BreakglassEscalation`.
    pub kind: &'static str,
    /// Metadata.
    pub metadata: MetaView,
    /// Spec, approvers without the hidden ones and without `hiddenFromUI`.
    pub spec: BreakglassEscalationSpec,
    /// Readiness.
    pub status: EscalationStatusView,
}

/// The readiness part of an escalation's status.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationStatusView {
    /// Generation last processed by the reconciler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions (Ready and the checks behind it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl EscalationView {
    /// The view of `escalation`.
    pub fn of(escalation: &BreakglassEscalation) -> Self {
        let mut spec = escalation.spec.clone();
        spec.approvers = visible_approvers(&escalation.spec.approvers);
        let status = escalation.status.as_ref();
        Self {
            api_version: breakglass_api::API_VERSION,
            kind: "BreakglassEscalation",
            metadata: MetaView::of(&escalation.metadata),
            spec,
            status: EscalationStatusView {
                observed_generation: status.and_then(|s| s.observed_generation),
                conditions: status
                    .and_then(|s| s.conditions.clone())
                    .unwrap_or_default(),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use breakglass_api::breakglass_escalation::{
        BreakglassEscalationApprovers, BreakglassEscalationStatus,
    };

    use super::*;

    /// Regression: the escalations list returned kubectl's last-applied annotation and
    /// the synced members of hidden approver groups.
    #[test]
    fn hidden_approvers_appear_nowhere_in_an_escalation_view() {
        let mut e = BreakglassEscalation::new(
            "e",
            BreakglassEscalationSpec {
                escalated_group: "admin".to_owned(),
                approvers: BreakglassEscalationApprovers {
                    users: Some(vec![
                        "shown@example.com".to_owned(),
                        "secret@example.com".to_owned(),
                    ]),
                    groups: Some(vec!["leads".to_owned(), "secret-group".to_owned()]),
                    hidden_from_ui: Some(vec![
                        "secret@example.com".to_owned(),
                        "secret-group".to_owned(),
                    ]),
                },
                ..Default::default()
            },
        );
        e.metadata.annotations = Some(BTreeMap::from([(
            "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
            r#"{"spec":{"approvers":{"users":["secret@example.com"]}}}"#.to_owned(),
        )]));
        e.status = Some(BreakglassEscalationStatus {
            approver_group_members: Some(BTreeMap::from([(
                "secret-group".to_owned(),
                vec!["member@example.com".to_owned()],
            )])),
            ..Default::default()
        });
        let text = serde_json::to_string(&EscalationView::of(&e)).unwrap();
        for secret in [
            "secret",
            "last-applied",
            "hiddenFromUI",
            "member@example.com",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("shown@example.com") && text.contains("leads"));
    }

    #[test]
    fn a_session_view_has_no_annotations_or_managed_fields() {
        let mut s = BreakglassSession::new("s", BreakglassSessionSpec::default());
        s.metadata.annotations = Some(BTreeMap::from([("a".to_owned(), "b".to_owned())]));
        s.metadata.managed_fields = Some(vec![Default::default()]);
        let v = SessionView::json(&s);
        assert_eq!(v["kind"], "BreakglassSession");
        assert_eq!(v["metadata"]["name"], "s");
        assert!(v["metadata"].get("annotations").is_none());
        assert!(v["metadata"].get("managedFields").is_none());
    }
}
