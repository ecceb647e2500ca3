//! What the REST API returns for stored objects: the explicit view types of
//! [`breakglass_api::rest`] with exactly the fields clients get, built here from the
//! stored objects. Nothing is answered by serialising a stored object minus some
//! fields, so a field added to an object (an annotation such as kubectl's
//! `last-applied-configuration`, which repeats `hiddenFromUI` approvers) never leaks.

use breakglass_api::breakglass_escalation::{
    BreakglassEscalation, BreakglassEscalationAllowed, BreakglassEscalationSpec,
};
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::rest::escalations::{
    ApproversView, ConditionView, EscalationSpecView, EscalationStatusView, EscalationView,
};
pub use breakglass_api::rest::sessions::{MetaView, OwnerView, SessionView};
use breakglass_core::escalation::visible_approvers;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};

/// The client view of `meta`.
pub fn meta(meta: &ObjectMeta) -> MetaView {
    MetaView {
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

/// The view of `session`.
pub fn session(session: &BreakglassSession) -> SessionView {
    SessionView {
        api_version: breakglass_api::API_VERSION.to_owned(),
        kind: "BreakglassSession".to_owned(),
        metadata: meta(&session.metadata),
        spec: session.spec.clone(),
        status: session.status.clone(),
    }
}

/// The view of `session` as JSON.
pub fn session_json(s: &BreakglassSession) -> serde_json::Value {
    serde_json::to_value(session(s)).unwrap_or(serde_json::Value::Null)
}

/// The requester's view of an escalation's `spec`: approvers without the hidden ones.
pub fn escalation_spec(spec: &BreakglassEscalationSpec) -> EscalationSpecView {
    let hidden = spec.approvers.hidden_from_ui.as_deref().unwrap_or_default();
    let visible = visible_approvers(&spec.approvers);
    let allowed = spec.allowed.as_ref().map(|a| BreakglassEscalationAllowed {
        clusters: a.clusters.clone(),
        groups: a
            .groups
            .as_ref()
            .map(|g| g.iter().filter(|x| !hidden.contains(x)).cloned().collect()),
    });
    EscalationSpecView {
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

/// A condition without its `message` (validation messages can quote hidden approvers).
fn condition(c: &Condition) -> ConditionView {
    ConditionView {
        type_: c.type_.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        last_transition_time: c.last_transition_time.clone(),
        observed_generation: c.observed_generation,
    }
}

/// The requester's view of `escalation`.
pub fn escalation(escalation: &BreakglassEscalation) -> EscalationView {
    let status = escalation.status.as_ref();
    EscalationView {
        api_version: breakglass_api::API_VERSION.to_owned(),
        kind: "BreakglassEscalation".to_owned(),
        metadata: meta(&escalation.metadata),
        spec: escalation_spec(&escalation.spec),
        status: EscalationStatusView {
            observed_generation: status.and_then(|s| s.observed_generation),
            conditions: status
                .and_then(|s| s.conditions.as_deref())
                .unwrap_or_default()
                .iter()
                .map(condition)
                .collect(),
        },
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

    use std::collections::BTreeMap;

    use breakglass_api::breakglass_session::BreakglassSessionSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

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
        let view = escalation(&e);
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
        let v = serde_json::to_value(escalation(&e)).unwrap();
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
        let v = session_json(&s);
        assert_eq!(v["kind"], "BreakglassSession");
        assert_eq!(v["metadata"]["name"], "s");
        assert!(v["metadata"].get("annotations").is_none());
        assert!(v["metadata"].get("managedFields").is_none());
    }
}
