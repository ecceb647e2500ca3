//! What the reconciler decides for a session, pure: resolving a `Pending` session's
//! template and binding into its effective configuration, and the status fields that
//! activation adds to the state machine's.

use breakglass_api::debug_common::AllowedPodOperations;
use breakglass_api::debug_session::{
    DebugSession, DebugSessionParticipant, DebugSessionStatus, DeployedResourceRef,
    ParticipantRole, ResolvedBindingRef,
};
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use thiserror::Error;

use crate::debug::{approval, merge};

/// The outcome of resolving a `Pending` session.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The effective configuration (`status.resolvedTemplate`).
    pub effective: DebugSessionTemplateSpec,
    /// The binding it runs under (`status.resolvedBinding`).
    pub binding: Option<ResolvedBindingRef>,
    /// Whether an approver must decide (`status.approval.required`).
    pub approval_required: bool,
}

/// A binding as found on the hub.
#[derive(Debug, Clone, Copy)]
pub struct FoundBinding<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// The spec.
    pub spec: &'a DebugSessionClusterBindingSpec,
}

/// True while a binding applies: not disabled and inside `effectiveFrom`…`expiresAt`.
pub fn binding_active(spec: &DebugSessionClusterBindingSpec, now: Timestamp) -> bool {
    !spec.disabled.unwrap_or(false)
        && spec.effective_from.as_ref().is_none_or(|Time(t)| now >= *t)
        && spec.expires_at.as_ref().is_none_or(|Time(t)| now < *t)
}

/// Why a `Pending` session cannot be resolved; the message is the one the session fails
/// with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolveError {
    /// `spec.templateRef` names no template.
    #[error("template not found: {0}")]
    TemplateNotFound(String),
    /// `spec.bindingRef` names no binding.
    #[error("binding not found: {namespace}/{name}")]
    BindingNotFound {
        /// Namespace of the reference.
        namespace: String,
        /// Name of the reference.
        name: String,
    },
    /// `spec.bindingRef` names a binding that does not apply now.
    #[error("binding {namespace}/{name} is not active (disabled, expired or not yet effective)")]
    BindingInactive {
        /// Namespace of the binding.
        namespace: String,
        /// Name of the binding.
        name: String,
    },
}

impl ResolveError {
    /// For a binding that cannot be used: its reference (`namespace/name`) and a short
    /// reason (`not_found`, `inactive`), as audit details and metric labels name it.
    pub fn unresolved_binding(&self) -> Option<(String, &'static str)> {
        match self {
            Self::TemplateNotFound(_) => None,
            Self::BindingNotFound { namespace, name } => {
                Some((format!("{namespace}/{name}"), "not_found"))
            }
            Self::BindingInactive { namespace, name } => {
                Some((format!("{namespace}/{name}"), "inactive"))
            }
        }
    }
}

/// Resolves a `Pending` session from its template (`None`: not found) and, when the
/// session names one, its binding (`None`: not found).
pub fn resolve(
    session: &DebugSession,
    template: Option<&DebugSessionTemplateSpec>,
    binding: Option<FoundBinding<'_>>,
    now: Timestamp,
) -> Result<Resolved, ResolveError> {
    let Some(template) = template else {
        return Err(ResolveError::TemplateNotFound(
            session.spec.template_ref.clone(),
        ));
    };
    let binding = match (&session.spec.binding_ref, binding) {
        (None, _) => None,
        (Some(r), None) => {
            return Err(ResolveError::BindingNotFound {
                namespace: r.namespace.clone(),
                name: r.name.clone(),
            });
        }
        (Some(r), Some(b)) if !binding_active(b.spec, now) => {
            return Err(ResolveError::BindingInactive {
                namespace: r.namespace.clone(),
                name: r.name.clone(),
            });
        }
        (Some(_), Some(b)) => Some(b),
    };
    let effective = merge::effective_template(template, binding.map(|b| b.spec));
    let groups = session.spec.user_groups.clone().unwrap_or_default();
    let approval_required = approval::requires_approval(&effective, &session.spec.cluster, &groups);
    Ok(Resolved {
        binding: binding.map(|b| ResolvedBindingRef {
            name: b.name.to_owned(),
            namespace: b.namespace.to_owned(),
            display_name: b.spec.display_name.clone(),
        }),
        effective,
        approval_required,
    })
}

/// Writes the resolution into a status (before any transition).
pub fn record(status: &mut DebugSessionStatus, resolved: &Resolved) {
    status.resolved_template = Some(resolved.effective.clone());
    status.resolved_binding.clone_from(&resolved.binding);
    status
        .approval
        .get_or_insert_with(Default::default)
        .required = Some(resolved.approval_required);
}

/// Completes an activated status: the owner as sole participant, the pod operations
/// in effect (defaults filled in), and what was deployed.
pub fn activated(
    session: &DebugSession,
    status: &mut DebugSessionStatus,
    deployed: Vec<DeployedResourceRef>,
    now: Timestamp,
) {
    let ops = status
        .resolved_template
        .as_ref()
        .and_then(|t| t.allowed_pod_operations)
        .unwrap_or(AllowedPodOperations::UNSET);
    status.allowed_pod_operations = Some(AllowedPodOperations {
        exec: Some(ops.exec()),
        attach: Some(ops.attach()),
        logs: Some(ops.logs()),
        port_forward: Some(ops.port_forward()),
    });
    status.participants = Some(vec![DebugSessionParticipant {
        user: session.spec.requested_by.clone(),
        email: session.spec.requested_by_email.clone(),
        display_name: session.spec.requested_by_display_name.clone(),
        role: Some(ParticipantRole::Owner),
        joined_at: Some(Time(now)),
        left_at: None,
    }]);
    status.deployed_resources = (!deployed.is_empty()).then_some(deployed);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session(extra: serde_json::Value) -> DebugSession {
        let mut spec = json!({"cluster": "target-a", "templateRef": "tpl", "requestedBy": "u@example.com", "userGroups": ["developers"]});
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(json!({"metadata": {"name": "s", "namespace": "ns"}, "spec": spec}))
            .unwrap()
    }

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn missing_template_or_binding_fails_with_a_message() {
        let s = session(json!({}));
        assert_eq!(
            resolve(&s, None, None, now()).unwrap_err().to_string(),
            "template not found: tpl"
        );
        assert_eq!(
            resolve(&s, None, None, now())
                .unwrap_err()
                .unresolved_binding(),
            None
        );
        let s = session(json!({"bindingRef": {"name": "b", "namespace": "bns"}}));
        let t = DebugSessionTemplateSpec::default();
        assert_eq!(
            resolve(&s, Some(&t), None, now()).unwrap_err().to_string(),
            "binding not found: bns/b"
        );
        assert_eq!(
            resolve(&s, Some(&t), None, now())
                .unwrap_err()
                .unresolved_binding(),
            Some(("bns/b".to_owned(), "not_found"))
        );
        for spec in [
            json!({"disabled": true}),
            json!({"expiresAt": "2026-05-01T00:00:00Z"}),
            json!({"effectiveFrom": "2026-07-01T00:00:00Z"}),
        ] {
            let b: DebugSessionClusterBindingSpec = serde_json::from_value(spec).unwrap();
            let found = FoundBinding {
                namespace: "bns",
                name: "b",
                spec: &b,
            };
            let err = resolve(&s, Some(&t), Some(found), now()).unwrap_err();
            assert!(err.to_string().contains("bns/b is not active"), "{err}");
            assert_eq!(
                err.unresolved_binding(),
                Some(("bns/b".to_owned(), "inactive"))
            );
        }
    }

    #[test]
    fn binding_approvers_decide_approval() {
        let t: DebugSessionTemplateSpec =
            serde_json::from_value(json!({"approvers": {"groups": ["sre-leads"]}})).unwrap();
        let s = session(json!({}));
        let r = resolve(&s, Some(&t), None, now()).unwrap();
        assert!(r.approval_required);
        assert_eq!(r.binding, None);
        // A binding with present-but-empty approvers approves automatically.
        let b: DebugSessionClusterBindingSpec =
            serde_json::from_value(json!({"approvers": {}, "displayName": "B"})).unwrap();
        let s = session(json!({"bindingRef": {"name": "b", "namespace": "bns"}}));
        let found = FoundBinding {
            namespace: "bns",
            name: "b",
            spec: &b,
        };
        let r = resolve(&s, Some(&t), Some(found), now()).unwrap();
        assert!(!r.approval_required);
        assert_eq!(
            r.binding.as_ref().unwrap().display_name.as_deref(),
            Some("B")
        );
        let mut status = DebugSessionStatus::default();
        record(&mut status, &r);
        assert_eq!(status.approval.unwrap().required, Some(false));
        assert!(status.resolved_template.is_some());
    }

    #[test]
    fn activation_names_the_owner_and_fills_operation_defaults() {
        let s = session(json!({"requestedByEmail": "u@example.com"}));
        let mut status = DebugSessionStatus {
            resolved_template: Some(
                serde_json::from_value(json!({"allowedPodOperations": {"exec": false}})).unwrap(),
            ),
            ..DebugSessionStatus::default()
        };
        activated(&s, &mut status, Vec::new(), now());
        let p = status.participants.unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].user, "u@example.com");
        assert_eq!(p[0].role, Some(ParticipantRole::Owner));
        let ops = status.allowed_pod_operations.unwrap();
        assert_eq!(
            (ops.exec, ops.attach, ops.logs, ops.port_forward),
            (Some(false), Some(true), Some(false), Some(true))
        );
        assert_eq!(status.deployed_resources, None);
    }
}
