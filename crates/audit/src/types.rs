//! The audit event types breakglass emits, their severities, and which are sensitive.
//!
//! Names follow the reference (`session.denied` is a rejection, `session.revoked` an
//! approver's cancel, `session.expired` covers time, approval timeout and idleness with
//! `details.reason`). Debug-session types add `approved`, `approval_requested`,
//! `renewed` and `expiry_notified`, which the reference does not emit.

use crate::event::Severity;

/// A user requested a session.
pub const SESSION_REQUESTED: &str = "session.requested";
/// An approver approved a session.
pub const SESSION_APPROVED: &str = "session.approved";
/// A session's grant became active.
pub const SESSION_ACTIVATED: &str = "session.activated";
/// A session was rejected (the reference's name).
pub const SESSION_DENIED: &str = "session.denied";
/// A session ended: by time, approval timeout or idleness (`details.reason`).
pub const SESSION_EXPIRED: &str = "session.expired";
/// The requester withdrew a pending session.
pub const SESSION_WITHDRAWN: &str = "session.withdrawn";
/// The requester dropped an active session.
pub const SESSION_DROPPED: &str = "session.dropped";
/// An approver cancelled an active session.
pub const SESSION_REVOKED: &str = "session.revoked";
/// The webhook allowed a request through a session.
pub const ACCESS_GRANTED: &str = "access.granted";
/// The webhook did not allow a request.
pub const ACCESS_DENIED: &str = "access.denied";
/// A DenyPolicy (or its pod-security rules) refused a request.
pub const ACCESS_DENIED_POLICY: &str = "access.denied.policy";
/// A debug session was requested.
pub const DEBUG_CREATED: &str = "debug_session.created";
/// A debug session awaits approval.
pub const DEBUG_APPROVAL_REQUESTED: &str = "debug_session.approval_requested";
/// A debug session was approved.
pub const DEBUG_APPROVED: &str = "debug_session.approved";
/// A debug session became active.
pub const DEBUG_STARTED: &str = "debug_session.started";
/// A debug session was terminated or rejected (`details.reason`).
pub const DEBUG_TERMINATED: &str = "debug_session.terminated";
/// A debug session failed.
pub const DEBUG_FAILED: &str = "debug_session.failed";
/// A debug session expired.
pub const DEBUG_EXPIRED: &str = "debug_session.expired";
/// Nobody approved a debug session in time.
pub const DEBUG_APPROVAL_TIMEOUT: &str = "debug_session.approval_timeout";
/// A debug session was renewed.
pub const DEBUG_RENEWED: &str = "debug_session.renewed";
/// A debug session's participants were told it is about to expire.
pub const DEBUG_EXPIRY_NOTIFIED: &str = "debug_session.expiry_notified";
/// A debug session names a binding that does not exist (or does not admit it).
pub const DEBUG_BINDING_UNRESOLVED: &str = "debug_session.binding_unresolved";
/// A pod of a debug session failed (phase `Failed`, or a container terminated in error).
pub const DEBUG_POD_FAILED: &str = "debug_session.pod_failed";
/// A container of a debug session's pod restarted.
pub const DEBUG_POD_RESTARTED: &str = "debug_session.pod_restarted";
/// A debug session's workloads and auxiliary resources were created on the target.
pub const DEBUG_RESOURCE_DEPLOYED: &str = "debug_session.resource_deployed";
/// A debug session's objects were removed from the target.
pub const DEBUG_RESOURCE_CLEANUP: &str = "debug_session.resource_cleanup";
/// Pod-security rules of a DenyPolicy scored a pod for a request.
pub const POD_SECURITY_EVALUATED: &str = "pod_security.evaluated";
/// Pod-security rules warned about a pod and let the request through.
pub const POD_SECURITY_WARNING: &str = "pod_security.warning";
/// An escalation's pod-security override allowed a pod: its `maxAllowedScore` covers
/// the score, so the policy's thresholds were not consulted.
pub const POD_SECURITY_OVERRIDE: &str = "pod_security.override";
/// Pod-security rules refused a request.
pub const POD_SECURITY_DENIED: &str = "pod_security.denied";
/// A request to impersonate an identity (or to act as one) reached the webhook.
pub const RESOURCE_IMPERSONATE: &str = "resource.impersonate";

/// Every type breakglass emits, with its severity.
pub const EMITTED: &[(&str, Severity)] = &[
    (SESSION_REQUESTED, Severity::Info),
    (SESSION_APPROVED, Severity::Info),
    (SESSION_ACTIVATED, Severity::Info),
    (SESSION_DENIED, Severity::Warning),
    (SESSION_EXPIRED, Severity::Info),
    (SESSION_WITHDRAWN, Severity::Info),
    (SESSION_DROPPED, Severity::Info),
    (SESSION_REVOKED, Severity::Warning),
    (ACCESS_GRANTED, Severity::Info),
    (ACCESS_DENIED, Severity::Warning),
    (ACCESS_DENIED_POLICY, Severity::Critical),
    (DEBUG_CREATED, Severity::Info),
    (DEBUG_APPROVAL_REQUESTED, Severity::Info),
    (DEBUG_APPROVED, Severity::Info),
    (DEBUG_STARTED, Severity::Info),
    (DEBUG_TERMINATED, Severity::Info),
    (DEBUG_FAILED, Severity::Warning),
    (DEBUG_EXPIRED, Severity::Info),
    (DEBUG_APPROVAL_TIMEOUT, Severity::Info),
    (DEBUG_RENEWED, Severity::Info),
    (DEBUG_EXPIRY_NOTIFIED, Severity::Info),
    (DEBUG_BINDING_UNRESOLVED, Severity::Warning),
    (DEBUG_POD_FAILED, Severity::Warning),
    (DEBUG_POD_RESTARTED, Severity::Warning),
    (DEBUG_RESOURCE_DEPLOYED, Severity::Info),
    (DEBUG_RESOURCE_CLEANUP, Severity::Info),
    (POD_SECURITY_EVALUATED, Severity::Info),
    (POD_SECURITY_WARNING, Severity::Warning),
    (POD_SECURITY_OVERRIDE, Severity::Warning),
    (POD_SECURITY_DENIED, Severity::Critical),
    (RESOURCE_IMPERSONATE, Severity::Warning),
];

/// Emitted types that are not sensitive: high-volume records of routine decisions.
pub const NOT_SENSITIVE: &[&str] = &[ACCESS_GRANTED, POD_SECURITY_EVALUATED];

/// The severity of `type_` (`info` for a type we do not emit).
pub fn severity(type_: &str) -> Severity {
    EMITTED
        .iter()
        .find(|(t, _)| *t == type_)
        .map_or(Severity::Info, |(_, s)| *s)
}

/// Sensitive events are never sampled away and never silently dropped: the session and
/// debug-session lifecycle, access denials, pod-security warnings, overrides and
/// denials, and impersonation (the reference's list). `access.granted` and
/// `pod_security.evaluated` are high-volume and not sensitive; the grant id in the
/// target apiserver's own audit log records every grant regardless.
pub fn is_sensitive(type_: &str) -> bool {
    type_.starts_with("session.")
        || type_.starts_with("debug_session.")
        || type_.starts_with("access.denied")
        || (type_.starts_with("pod_security.") && type_ != POD_SECURITY_EVALUATED)
        || type_ == RESOURCE_IMPERSONATE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_emitted_type_is_unique_and_classified() {
        let mut seen = std::collections::HashSet::new();
        for (t, s) in EMITTED {
            assert!(seen.insert(*t), "{t} listed twice");
            assert_eq!(severity(t), *s);
            assert_eq!(is_sensitive(t), !NOT_SENSITIVE.contains(t), "{t}");
        }
        assert_eq!(severity("unknown.type"), Severity::Info);
        assert!(!is_sensitive("unknown.type"));
        assert!(is_sensitive("pod_security.denied"));
        assert!(is_sensitive("pod_security.warning"));
        assert!(!is_sensitive("pod_security.evaluated"));
        assert!(is_sensitive("resource.impersonate"));
    }
}
