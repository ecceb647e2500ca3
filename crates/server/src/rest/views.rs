//! What the REST API returns for stored objects: explicit view types with exactly the
//! fields clients get. Nothing is answered by serialising a stored object minus some
//! fields, so a field added to an object (an annotation such as kubectl's
//! `last-applied-configuration`, which repeats `hiddenFromUI` approvers) never leaks.

use std::collections::BTreeMap;

use breakglass_api::breakglass_escalation::{
    BreakglassEscalation, BreakglassEscalationAllowed, BreakglassEscalationSpec,
    SessionLimitsOverride,
};
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionSpec, BreakglassSessionStatus,
};
use breakglass_api::common::ReasonConfig;
use breakglass_core::escalation::visible_approvers;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
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
    /// The client view of `meta`.
    pub fn of(meta: &ObjectMeta) -> Self {
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
/// fields a requester needs, approvers without the `hiddenFromUI` ones, and only the
/// readiness part of the status (the synced approver group members would name hidden
/// approvers).
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
    /// Spec: what a requester needs; approvers without the hidden ones.
    pub spec: EscalationSpecView,
    /// Readiness.
    pub status: EscalationStatusView,
}

/// An escalation's spec as requesters see it. Built field by field: notification
/// settings (`notificationExclusions` lists hidden approvers), `podSecurityOverrides`
/// (its own approvers) and anything added to the spec later are never returned.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassEscalationSpec")]
pub struct EscalationSpecView {
    /// Who may request, and for which clusters (hidden approvers left out of `groups`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<BreakglassEscalationAllowed>,
    /// Who approves, without the hidden approvers.
    pub approvers: ApproversView,
    /// Group granted by sessions of this escalation.
    pub escalated_group: String,
    /// Session lifetime after approval, and upper bound of requested durations (1h when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_valid_for: Option<String>,
    /// Approved sessions expire after this long without activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    /// How long ended sessions are kept (720h when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain_for: Option<String>,
    /// Pending sessions time out after this (1h when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_timeout: Option<String>,
    /// ClusterConfig names or globs; an alternative to allowed.clusters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_config_refs: Option<Vec<String>>,
    /// DenyPolicies copied onto sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_policy_refs: Option<Vec<String>>,
    /// Whether requesters must give a reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<ReasonConfig>,
    /// Whether approvers must give a reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<ReasonConfig>,
    /// Approver e-mail domains (falls back to the ClusterConfig's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_approver_domains: Option<Vec<String>>,
    /// IdentityProviders allowed for requesting and approving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_identity_providers: Option<Vec<String>>,
    /// IdentityProviders allowed for requesting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_identity_providers_for_requests: Option<Vec<String>>,
    /// IdentityProviders allowed for approving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_identity_providers_for_approvers: Option<Vec<String>>,
    /// Requesters may not approve their own sessions (unset: the ClusterConfig decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_self_approval: Option<bool>,
    /// Session limits replacing the IdentityProvider's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_limits_override: Option<SessionLimitsOverride>,
}

/// The visible approvers of an escalation (never `hiddenFromUI`).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "BreakglassEscalationApprovers")]
pub struct ApproversView {
    /// Approving users (matched against the approver's e-mail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Approving groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

impl EscalationSpecView {
    /// The view of `spec`.
    pub fn of(spec: &BreakglassEscalationSpec) -> Self {
        let hidden = spec.approvers.hidden_from_ui.as_deref().unwrap_or_default();
        let visible = visible_approvers(&spec.approvers);
        let allowed = spec.allowed.as_ref().map(|a| BreakglassEscalationAllowed {
            clusters: a.clusters.clone(),
            groups: a
                .groups
                .as_ref()
                .map(|g| g.iter().filter(|x| !hidden.contains(x)).cloned().collect()),
        });
        Self {
            allowed,
            approvers: ApproversView {
                users: visible.users,
                groups: visible.groups,
            },
            escalated_group: spec.escalated_group.clone(),
            max_valid_for: spec.max_valid_for.clone(),
            idle_timeout: spec.idle_timeout.clone(),
            retain_for: spec.retain_for.clone(),
            approval_timeout: spec.approval_timeout.clone(),
            cluster_config_refs: spec.cluster_config_refs.clone(),
            deny_policy_refs: spec.deny_policy_refs.clone(),
            request_reason: spec.request_reason.clone(),
            approval_reason: spec.approval_reason.clone(),
            allowed_approver_domains: spec.allowed_approver_domains.clone(),
            allowed_identity_providers: spec.allowed_identity_providers.clone(),
            allowed_identity_providers_for_requests: spec
                .allowed_identity_providers_for_requests
                .clone(),
            allowed_identity_providers_for_approvers: spec
                .allowed_identity_providers_for_approvers
                .clone(),
            block_self_approval: spec.block_self_approval,
            session_limits_override: spec.session_limits_override.clone(),
        }
    }
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
    pub conditions: Vec<ConditionView>,
}

/// A condition of an escalation without its `message` (validation messages can quote
/// approvers, hidden ones included); `reason` says which check failed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "EscalationCondition")]
pub struct ConditionView {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason in CamelCase.
    pub reason: String,
    /// When the status last changed.
    pub last_transition_time: Time,
    /// Generation the condition was set for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl ConditionView {
    fn of(c: &Condition) -> Self {
        Self {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            last_transition_time: c.last_transition_time.clone(),
            observed_generation: c.observed_generation,
        }
    }
}

impl EscalationView {
    /// The view of `escalation`.
    pub fn of(escalation: &BreakglassEscalation) -> Self {
        let status = escalation.status.as_ref();
        Self {
            api_version: breakglass_api::API_VERSION,
            kind: "BreakglassEscalation",
            metadata: MetaView::of(&escalation.metadata),
            spec: EscalationSpecView::of(&escalation.spec),
            status: EscalationStatusView {
                observed_generation: status.and_then(|s| s.observed_generation),
                conditions: status
                    .and_then(|s| s.conditions.as_deref())
                    .unwrap_or_default()
                    .iter()
                    .map(ConditionView::of)
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use breakglass_api::breakglass_escalation::{
        BreakglassEscalationApprovers, BreakglassEscalationStatus, PodSecurityOverrideApprovers,
        PodSecurityOverrides,
    };
    use breakglass_api::common::NotificationExclusions;

    use super::*;

    fn strings(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    fn condition(type_: &str, message: &str) -> Condition {
        Condition {
            type_: type_.to_owned(),
            status: "False".to_owned(),
            reason: "ValidationFailed".to_owned(),
            message: message.to_owned(),
            last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
            observed_generation: Some(3),
        }
    }

    /// Regression: the escalations list returned kubectl's last-applied annotation, the
    /// synced members of hidden approver groups, `notificationExclusions`, the
    /// `podSecurityOverrides` approvers and condition messages, all naming hidden
    /// approvers.
    #[test]
    fn hidden_approvers_appear_nowhere_in_an_escalation_view() {
        let hidden = ["secret@example.com", "secret-group"];
        let mut e = BreakglassEscalation::new(
            "e",
            BreakglassEscalationSpec {
                escalated_group: "admin".to_owned(),
                allowed: Some(BreakglassEscalationAllowed {
                    clusters: strings(&["prod-*"]),
                    groups: strings(&["developers", "secret-group"]),
                }),
                approvers: BreakglassEscalationApprovers {
                    users: strings(&["shown@example.com", "secret@example.com"]),
                    groups: strings(&["leads", "secret-group"]),
                    hidden_from_ui: strings(&hidden),
                },
                notification_exclusions: Some(NotificationExclusions {
                    users: strings(&["secret@example.com"]),
                    groups: strings(&["secret-group"]),
                }),
                pod_security_overrides: Some(PodSecurityOverrides {
                    enabled: Some(true),
                    approvers: Some(PodSecurityOverrideApprovers {
                        users: strings(&["secret@example.com"]),
                        groups: strings(&["secret-group"]),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        e.metadata.annotations = Some(BTreeMap::from([(
            "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
            r#"{"spec":{"approvers":{"users":["secret@example.com"],"groups":["secret-group"]}}}"#
                .to_owned(),
        )]));
        e.status = Some(BreakglassEscalationStatus {
            approver_group_members: Some(BTreeMap::from([(
                "secret-group".to_owned(),
                vec!["member@example.com".to_owned()],
            )])),
            conditions: Some(vec![condition(
                "ConfigValidated",
                "approver secret@example.com and group secret-group are listed twice",
            )]),
            ..Default::default()
        });
        let view = EscalationView::of(&e);
        let text = serde_json::to_string(&view).unwrap();
        for secret in hidden.into_iter().chain([
            "secret",
            "last-applied",
            "hiddenFromUI",
            "notificationExclusions",
            "podSecurityOverrides",
            "member@example.com",
            "message",
        ]) {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("shown@example.com") && text.contains("leads"));
        assert!(text.contains("developers") && text.contains("prod-*"));
        let v = serde_json::to_value(&view).unwrap();
        assert_eq!(v["status"]["conditions"][0]["type"], "ConfigValidated");
        assert_eq!(v["status"]["conditions"][0]["reason"], "ValidationFailed");
    }

    /// Every field the view keeps serialises exactly as in the stored object, so clients
    /// reading the old answer (the stored spec minus hidden approvers) keep working.
    #[test]
    fn kept_fields_have_the_stored_names_and_shapes() {
        let spec: BreakglassEscalationSpec = serde_json::from_value(serde_json::json!({
            "allowed": {"clusters": ["a", "b-*"], "groups": ["devs"]},
            "approvers": {"users": ["u@example.com"], "groups": ["leads"]},
            "escalatedGroup": "admin",
            "maxValidFor": "2h", "idleTimeout": "10m", "retainFor": "24h",
            "approvalTimeout": "30m", "clusterConfigRefs": ["c"], "denyPolicyRefs": ["d"],
            "requestReason": {"mandatory": true, "description": "why"},
            "approvalReason": {"mandatory": false},
            "allowedApproverDomains": ["example.com"],
            "allowedIdentityProvidersForRequests": ["idp-a"],
            "allowedIdentityProvidersForApprovers": ["idp-b"],
            "blockSelfApproval": true,
            "sessionLimitsOverride": {"maxActiveSessionsPerUser": 2},
            "disableNotifications": true, "mailProvider": "mail",
            "notificationExclusions": {"users": ["x@example.com"]},
            "podSecurityOverrides": {"enabled": true, "maxAllowedScore": 50},
        }))
        .unwrap();
        let mut stored = serde_json::to_value(&spec).unwrap();
        for dropped in [
            "disableNotifications",
            "mailProvider",
            "notificationExclusions",
            "podSecurityOverrides",
        ] {
            stored.as_object_mut().unwrap().remove(dropped);
        }
        let mut e = BreakglassEscalation::new("e", spec);
        let c = condition("Ready", "m");
        e.status = Some(BreakglassEscalationStatus {
            conditions: Some(vec![c.clone()]),
            ..Default::default()
        });
        let v = serde_json::to_value(EscalationView::of(&e)).unwrap();
        assert_eq!(v["spec"], stored);
        let mut stored_condition = serde_json::to_value(&c).unwrap();
        stored_condition.as_object_mut().unwrap().remove("message");
        assert_eq!(v["status"]["conditions"][0], stored_condition);
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
