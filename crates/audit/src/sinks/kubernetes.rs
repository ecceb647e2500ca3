//! The Kubernetes sink: an `events.k8s.io/v1` Event on the hub per audit event,
//! `Normal` for info and `Warning` above. Events about a session regard the session
//! object (in its namespace), so `kubectl describe` shows them; others regard the
//! AuditConfig, in the controller namespace. Reason: the type in PascalCase
//! (`SessionApproved`); action: the type; note: a one-line summary.

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::AuditError;
use crate::event::{AuditEvent, Severity};
use crate::pipeline::BuildContext;

/// The API version of breakglass objects.
const API_VERSION: &str = "breakglass.t-caas.telekom.com/v1alpha1";

/// The Kubernetes sink.
pub struct KubernetesSink {
    recorder: Recorder,
    config: String,
    namespace: String,
}

impl KubernetesSink {
    /// A sink writing to the hub of `ctx`.
    pub fn new(config: &str, ctx: &BuildContext) -> Result<Self, AuditError> {
        let hub = ctx
            .hub
            .clone()
            .ok_or_else(|| AuditError::Config("no hub client for Kubernetes Events".into()))?;
        let recorder = Recorder::new(
            hub,
            Reporter {
                controller: "breakglass".to_owned(),
                instance: Some(ctx.instance.clone()),
            },
        );
        Ok(Self {
            recorder,
            config: config.to_owned(),
            namespace: ctx.namespace.clone(),
        })
    }

    fn regarding(&self, e: &AuditEvent) -> ObjectReference {
        match e.session() {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() => ObjectReference {
                api_version: Some(API_VERSION.to_owned()),
                kind: Some(e.target.kind.clone()),
                name: Some(name.to_owned()),
                namespace: Some(ns.to_owned()),
                uid: e
                    .details
                    .get("uid")
                    .and_then(|u| u.as_str())
                    .map(str::to_owned),
                ..ObjectReference::default()
            },
            _ => ObjectReference {
                api_version: Some(API_VERSION.to_owned()),
                kind: Some("AuditConfig".to_owned()),
                name: Some(self.config.clone()),
                namespace: Some(self.namespace.clone()),
                ..ObjectReference::default()
            },
        }
    }

    /// Publishes one Event per audit event.
    pub async fn deliver(&self, batch: &[Arc<AuditEvent>]) -> Result<(), AuditError> {
        for e in batch {
            let event = Event {
                type_: if e.severity == Severity::Info {
                    EventType::Normal
                } else {
                    EventType::Warning
                },
                reason: pascal(&e.type_),
                note: Some(truncate(&summary(e), 1000)),
                action: truncate(&e.type_, 128),
                secondary: None,
            };
            self.recorder
                .publish(&event, &self.regarding(e))
                .await
                .map_err(|err| AuditError::Delivery(format!("creating Event: {err}")))?;
        }
        Ok(())
    }
}

/// `session.approved` → `SessionApproved`; `access.denied.policy` → `AccessDeniedPolicy`.
pub fn pascal(type_: &str) -> String {
    let mut out = String::with_capacity(type_.len());
    for part in type_.split(['.', '_', '-']) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    truncate(&out, 128)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn summary(e: &AuditEvent) -> String {
    let mut s = format!("{} by {}", e.type_, e.actor.user);
    if !e.target.cluster.is_empty() {
        s.push_str(&format!(" on cluster {}", e.target.cluster));
    }
    for key in ["reason", "grantedGroup", "verb", "resource", "grantId"] {
        if let Some(v) = e.details.get(key).and_then(|v| v.as_str()) {
            s.push_str(&format!("; {key}: {v}"));
        }
    }
    s.push_str(&format!(" (audit id {})", e.id));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_pascal_case() {
        assert_eq!(pascal("session.approved"), "SessionApproved");
        assert_eq!(pascal("access.denied.policy"), "AccessDeniedPolicy");
        assert_eq!(
            pascal("debug_session.approval_timeout"),
            "DebugSessionApprovalTimeout"
        );
        assert_eq!(truncate("äbc", 1), "");
    }
}
