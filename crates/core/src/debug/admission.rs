//! The ephemeral-container admission decision (pure): may `user` add these ephemeral
//! containers to a pod on `cluster`?
//!
//! The target apiserver sends every `pods/ephemeralcontainers` UPDATE to the admission
//! webhook; plain `kubectl debug` must obey the same rules as the REST
//! `injectEphemeralContainer` operation. [`decide`] allows only when one of the user's
//! debug sessions
//! - is on `cluster`, `Active` and unexpired;
//! - lists the user as an active participant (exactly equal to `participants[].user`,
//!   not left) with role `owner` or `participant` (viewers only watch);
//! - has a mode that allows kubectl-debug (`kubectl-debug` or `hybrid`, from
//!   `status.resolvedTemplate`);
//! - and admits every new container under its `kubectlDebug.ephemeralContainers`
//!   ([`check_ephemeral`]).
//!
//! Sessions are tried by namespace, then name; the first that admits all containers
//! grants. Without such a session the answer is a denial naming why (no session, or the
//! first session's policy violation). Anything missing fails closed.

use breakglass_api::debug_session::{DebugSession, ParticipantRole};
use breakglass_api::debug_session_template::EphemeralContainersConfig;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{EphemeralContainer, PodSecurityContext};

use crate::debug::access::active_participant;
use crate::debug::kubectl::{PolicyViolation, check_ephemeral};
use crate::debug::session::is_active;

/// The pod and the containers being added.
#[derive(Debug, Clone, Copy)]
pub struct EphemeralRequest<'a> {
    /// The target cluster (the webhook's `cluster` parameter).
    pub cluster: &'a str,
    /// `request.userInfo.username`.
    pub user: &'a str,
    /// The pod's namespace.
    pub namespace: &'a str,
    /// Containers in the new pod that the old pod does not have (by name).
    pub new_containers: &'a [EphemeralContainer],
    /// The pod's security context.
    pub pod_security: Option<&'a PodSecurityContext>,
}

/// Why an ephemeral container is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EphemeralDenial {
    /// No Active session of the user on the cluster allows kubectl-debug.
    #[error(
        "user {user:?} has no active debug session on cluster {cluster:?} that allows kubectl debug (owner or participant)"
    )]
    NoSession {
        /// The user.
        user: String,
        /// The cluster.
        cluster: String,
    },
    /// The session's policy refuses a container.
    #[error("debug session {session}: ephemeral container {container:?}: {violation}")]
    Policy {
        /// The session whose policy was checked.
        session: String,
        /// The refused container.
        container: String,
        /// The rule and message.
        violation: PolicyViolation,
    },
}

/// The session that admits the containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralGrant {
    /// The session's name.
    pub session: String,
    /// The session's namespace.
    pub session_namespace: String,
    /// The user's role in it.
    pub role: ParticipantRole,
}

/// The session's effective ephemeral-container policy, when its mode allows
/// kubectl-debug; `None` when it does not (or nothing was resolved).
fn kubectl_policy(session: &DebugSession) -> Option<Option<&EphemeralContainersConfig>> {
    let spec = session.status.as_ref()?.resolved_template.as_ref()?;
    if !spec.mode().allows_kubectl_debug() {
        return None;
    }
    Some(
        spec.kubectl_debug
            .as_ref()
            .and_then(|k| k.ephemeral_containers.as_ref()),
    )
}

/// Decides one `pods/ephemeralcontainers` update; see the module documentation.
pub fn decide<'a>(
    sessions: impl IntoIterator<Item = &'a DebugSession>,
    request: &EphemeralRequest<'_>,
    now: Timestamp,
) -> Result<EphemeralGrant, EphemeralDenial> {
    let mut eligible: Vec<(
        &DebugSession,
        ParticipantRole,
        Option<&EphemeralContainersConfig>,
    )> = sessions
        .into_iter()
        .filter(|s| s.spec.cluster == request.cluster && is_active(s, now))
        .filter_map(|s| {
            let role = active_participant(s, request.user)?.role?;
            if role == ParticipantRole::Viewer {
                return None;
            }
            Some((s, role, kubectl_policy(s)?))
        })
        .collect();
    eligible.sort_by(|a, b| {
        let key = |s: &DebugSession| (s.metadata.namespace.clone(), s.metadata.name.clone());
        key(a.0).cmp(&key(b.0))
    });
    let mut first_violation = None;
    for (session, role, policy) in eligible {
        let name = session.metadata.name.clone().unwrap_or_default();
        let refused = request.new_containers.iter().find_map(|c| {
            check_ephemeral(policy, request.namespace, c, request.pod_security)
                .err()
                .map(|violation| EphemeralDenial::Policy {
                    session: name.clone(),
                    container: c.name.clone(),
                    violation,
                })
        });
        match refused {
            None => {
                return Ok(EphemeralGrant {
                    session: name,
                    session_namespace: session.metadata.namespace.clone().unwrap_or_default(),
                    role,
                });
            }
            Some(denial) => {
                first_violation.get_or_insert(denial);
            }
        }
    }
    Err(
        first_violation.unwrap_or_else(|| EphemeralDenial::NoSession {
            user: request.user.to_owned(),
            cluster: request.cluster.to_owned(),
        }),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "admission_tests.rs"]
mod tests;
