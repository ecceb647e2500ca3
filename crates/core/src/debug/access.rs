//! The pod access a debug session grants through the authorization webhook.
//!
//! [`pod_access`] answers one SubjectAccessReview from the user's debug sessions on the
//! cluster: it grants only when a session is `Active` and unexpired, the SAR user is an
//! active participant (exactly equal to `participants[].user`, not left), the request
//! names a pod listed in `status.allowedPods` (namespace and name), and the operation is
//! one the participant's role may use:
//!
//! | role | `get` pod | `pods/log` | `pods/exec`, `pods/attach`, `pods/portforward` |
//! |---|---|---|---|
//! | `owner`, `participant` | yes | if `logs` | each if `allowedPodOperations` allows it |
//! | `viewer` | yes | if `logs` | no |
//!
//! `allowedPodOperations` absent means [`AllowedPodOperations::UNSET`] (exec, attach and
//! port-forward; no logs). `list` and `watch` carry no pod name, so they are never
//! granted: a debug session whitelists pods, not namespaces. Verbs are exact: `get` for
//! the pod and its logs; `create` for exec, attach and port-forward, and `get` for them
//! too, because an apiserver authorizes a websocket upgrade (what kubectl ≥ 1.30 sends)
//! as a `get` on the subresource and, with `AuthorizePodWebsocketUpgradeCreatePermission`,
//! additionally as a `create`. Anything else fails closed: a participant without a role,
//! an unknown verb, a missing session state.

pub mod participants;
pub mod reasons;

use breakglass_api::debug_common::AllowedPodOperations;
use breakglass_api::debug_session::{DebugSession, DebugSessionParticipant, ParticipantRole};
use jiff::Timestamp;

use crate::authz::{DebugSessionAllow, ResourceAttributes, SarRequest};
use crate::debug::session::is_active;

/// A pod operation a debug session can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PodOperation {
    /// `get` on the pod itself (kubectl reads the pod before exec and attach).
    Get,
    /// `pods/exec`.
    Exec,
    /// `pods/attach`.
    Attach,
    /// `pods/portforward`.
    PortForward,
    /// `pods/log`.
    Log,
}

impl PodOperation {
    /// All operations, for tables.
    pub const ALL: [Self; 5] = [
        Self::Get,
        Self::Exec,
        Self::Attach,
        Self::PortForward,
        Self::Log,
    ];

    /// The operation a named core pod request performs, if a debug session can grant it.
    pub fn of(r: &ResourceAttributes) -> Option<Self> {
        if !r.is_pod() || r.name.is_empty() || r.namespace.is_empty() {
            return None;
        }
        let stream = matches!(r.verb.as_str(), "create" | "get");
        match r.subresource.as_str() {
            "" if r.verb == "get" => Some(Self::Get),
            "log" if r.verb == "get" => Some(Self::Log),
            "exec" if stream => Some(Self::Exec),
            "attach" if stream => Some(Self::Attach),
            "portforward" if stream => Some(Self::PortForward),
            _ => None,
        }
    }

    /// The name used in reasons and logs (`get`, `exec`, `attach`, `portforward`, `log`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Exec => "exec",
            Self::Attach => "attach",
            Self::PortForward => "portforward",
            Self::Log => "log",
        }
    }
}

/// Whether `role` may perform `op` under the session's `ops`.
pub fn role_allows(role: ParticipantRole, ops: &AllowedPodOperations, op: PodOperation) -> bool {
    match (role, op) {
        (_, PodOperation::Get) => true,
        (_, PodOperation::Log) => ops.logs(),
        (ParticipantRole::Viewer, _) => false,
        (ParticipantRole::Owner | ParticipantRole::Participant, PodOperation::Exec) => ops.exec(),
        (ParticipantRole::Owner | ParticipantRole::Participant, PodOperation::Attach) => {
            ops.attach()
        }
        (ParticipantRole::Owner | ParticipantRole::Participant, PodOperation::PortForward) => {
            ops.port_forward()
        }
    }
}

/// The session's pod operations in effect (`status.allowedPodOperations`, else
/// [`AllowedPodOperations::UNSET`]).
pub fn operations(session: &DebugSession) -> AllowedPodOperations {
    session
        .status
        .as_ref()
        .and_then(|s| s.allowed_pod_operations)
        .unwrap_or(AllowedPodOperations::UNSET)
}

/// All participant records of `session`, left ones included.
pub fn participants(session: &DebugSession) -> &[DebugSessionParticipant] {
    session
        .status
        .as_ref()
        .and_then(|s| s.participants.as_deref())
        .unwrap_or_default()
}

/// The participant record of `user` that has not left, compared exactly.
pub fn active_participant<'a>(
    session: &'a DebugSession,
    user: &str,
) -> Option<&'a DebugSessionParticipant> {
    participants(session)
        .iter()
        .find(|p| p.left_at.is_none() && p.user == user)
}

/// True when `session` lists the pod `namespace/name` in `status.allowedPods`.
pub fn lists_pod(session: &DebugSession, namespace: &str, name: &str) -> bool {
    session
        .status
        .as_ref()
        .and_then(|s| s.allowed_pods.as_deref())
        .unwrap_or_default()
        .iter()
        .any(|p| p.namespace == namespace && p.name == name)
}

/// What one session grants `request` on `cluster` at `now`, if anything.
pub fn session_grant(
    session: &DebugSession,
    cluster: &str,
    request: &SarRequest,
    now: Timestamp,
) -> Option<DebugSessionAllow> {
    let r = request.resource()?;
    let op = PodOperation::of(r)?;
    if session.spec.cluster != cluster || !is_active(session, now) {
        return None;
    }
    let role = active_participant(session, &request.user)?.role?;
    if !lists_pod(session, &r.namespace, &r.name) || !role_allows(role, &operations(session), op) {
        return None;
    }
    Some(DebugSessionAllow {
        session: session.metadata.name.clone().unwrap_or_default(),
        namespace: session.metadata.namespace.clone().unwrap_or_default(),
        template: session.spec.template_ref.clone(),
        approver: session
            .status
            .as_ref()
            .and_then(|s| s.approval.as_ref())
            .and_then(|a| a.approved_by.clone()),
        role: role.as_str().to_owned(),
        operation: op.as_str().to_owned(),
    })
}

/// The allow of the first (by namespace, then name) of `sessions` that grants
/// `request` on `cluster` at `now`. `sessions` are the SAR user's sessions as the
/// index holds them; sessions of other users or clusters are ignored, so passing more
/// is safe.
pub fn pod_access<'a>(
    sessions: impl IntoIterator<Item = &'a DebugSession>,
    cluster: &str,
    request: &SarRequest,
    now: Timestamp,
) -> Option<DebugSessionAllow> {
    // Requests no session could grant cost nothing more.
    PodOperation::of(request.resource()?)?;
    sessions
        .into_iter()
        .filter_map(|s| {
            session_grant(s, cluster, request, now).map(|allow| {
                let key = (
                    s.metadata.namespace.clone().unwrap_or_default(),
                    allow.session.clone(),
                );
                (key, allow)
            })
        })
        .min_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, allow)| allow)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "access_tests.rs"]
mod tests;
