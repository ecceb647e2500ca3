//! The audit envelope, with the reference's field names:
//! `{id, type, severity, timestamp, actor, target, details, requestContext?}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Severity of an event; ordered `info < warning < critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Something an operator may want to look at.
    Warning,
    /// A security-relevant refusal or failure.
    Critical,
}

impl Severity {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl From<breakglass_api::audit_config::AuditSeverity> for Severity {
    fn from(s: breakglass_api::audit_config::AuditSeverity) -> Self {
        use breakglass_api::audit_config::AuditSeverity as A;
        match s {
            A::Info => Self::Info,
            A::Warning => Self::Warning,
            A::Critical => Self::Critical,
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// User name (`system` for timers and controllers).
    pub user: String,
    /// Identity provider the user signed in with, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    /// Groups, when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Source address, when known.
    #[serde(rename = "sourceIP", default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
}

/// What was acted on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Target cluster.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Kind of object (`BreakglassSession`, `DebugSession`, or the requested resource).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Object namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Unique id (UUID v4).
    pub id: String,
    /// Event type (`session.approved`, …; see [`crate::types`]).
    #[serde(rename = "type")]
    pub type_: String,
    /// Severity.
    pub severity: Severity,
    /// When it happened (RFC 3339).
    pub timestamp: jiff::Timestamp,
    /// Who acted.
    pub actor: Actor,
    /// What was acted on.
    pub target: Target,
    /// Event-specific fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, Value>,
}

impl AuditEvent {
    /// An event of `type_` with the type's severity, a fresh id and the current time.
    pub fn new(type_: &str, actor: Actor, target: Target) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            type_: type_.to_owned(),
            severity: crate::types::severity(type_),
            timestamp: jiff::Timestamp::now(),
            actor,
            target,
            details: BTreeMap::new(),
        }
    }

    /// Adds a detail; empty strings are left out.
    #[must_use]
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        let empty = match &value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if !empty {
            self.details.insert(key.to_owned(), value);
        }
        self
    }

    /// The session this event is about (`namespace`, `name`), from the target when it
    /// is a session object.
    pub fn session(&self) -> Option<(&str, &str)> {
        matches!(
            self.target.kind.as_str(),
            "BreakglassSession" | "DebugSession"
        )
        .then_some((self.target.namespace.as_str(), self.target.name.as_str()))
    }

    /// True for events that are never sampled away nor silently dropped.
    pub fn is_sensitive(&self) -> bool {
        crate::types::is_sensitive(&self.type_)
    }

    /// The resource named in the details (`pods`, `secrets`), for resource filters.
    pub fn resource(&self) -> Option<&str> {
        self.details.get("resource").and_then(Value::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn envelope_uses_the_reference_field_names() {
        let e = AuditEvent::new(
            crate::types::SESSION_APPROVED,
            Actor {
                user: "ann".into(),
                identity_provider: Some("dex".into()),
                groups: vec!["sre".into()],
                source_ip: Some("10.0.0.1".into()),
            },
            Target {
                cluster: "prod".into(),
                kind: "BreakglassSession".into(),
                name: "s-1".into(),
                namespace: "breakglass".into(),
            },
        )
        .detail("grantedGroup", "oncall")
        .detail("empty", "");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "session.approved");
        assert_eq!(v["severity"], "info");
        assert_eq!(v["actor"]["identityProvider"], "dex");
        assert_eq!(v["actor"]["sourceIP"], "10.0.0.1");
        assert_eq!(v["target"]["namespace"], "breakglass");
        assert_eq!(v["details"]["grantedGroup"], "oncall");
        assert!(v["details"].get("empty").is_none());
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        let back: AuditEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
        assert_eq!(e.session(), Some(("breakglass", "s-1")));
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::Warning < Severity::Critical);
    }
}
