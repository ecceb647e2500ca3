//! The webhook's index of debug sessions: `(cluster, user)` → the `Active` sessions in
//! which the user is a participant who has not left. It follows the DebugSession mirror
//! (a state change, a join or a leave re-indexes the session as soon as the watch
//! delivers it), so a decision for a user without a debug session costs one map lookup,
//! and a decision never reads the hub. Expiry by time is checked by the pure decision
//! (`breakglass_core::debug::access`), not here.

use breakglass_api::debug_session::{DebugSession, DebugSessionState};

use crate::index::{ByUser, UserKey, UserKeyed};

/// Debug sessions by `(spec.cluster, participants[].user)`.
pub type DebugSessionIndex = ByUser<DebugSession>;

impl UserKeyed for DebugSession {
    /// Only `Active` sessions grant, and only to participants still in them: nothing
    /// else is indexed, so ended sessions drop out with the watch event that ends them.
    fn user_keys(&self) -> Vec<UserKey> {
        let Some(status) = self.status.as_ref() else {
            return Vec::new();
        };
        if status.state != Some(DebugSessionState::Active) {
            return Vec::new();
        }
        status
            .participants
            .iter()
            .flatten()
            .filter(|p| p.left_at.is_none())
            .map(|p| (self.spec.cluster.clone(), p.user.clone()))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use breakglass_api::debug_session::{
        DebugSessionParticipant, DebugSessionSpec, DebugSessionStatus, ParticipantRole,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn session(name: &str, state: DebugSessionState, users: &[(&str, bool)]) -> Arc<DebugSession> {
        let mut s = DebugSession::new(
            name,
            DebugSessionSpec {
                cluster: "c1".into(),
                template_ref: "t".into(),
                requested_by: "alice".into(),
                ..Default::default()
            },
        );
        s.metadata.namespace = Some("bg".into());
        s.status = Some(DebugSessionStatus {
            state: Some(state),
            participants: Some(
                users
                    .iter()
                    .map(|(u, left)| DebugSessionParticipant {
                        user: (*u).into(),
                        role: Some(ParticipantRole::Participant),
                        left_at: left.then(|| Time(jiff::Timestamp::UNIX_EPOCH)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        });
        Arc::new(s)
    }

    fn names(index: &DebugSessionIndex, cluster: &str, user: &str) -> Vec<String> {
        let mut v: Vec<String> = index
            .get(cluster, user)
            .iter()
            .filter_map(|s| s.metadata.name.clone())
            .collect();
        v.sort();
        v
    }

    /// Applying objects as the watch delivers them: participants are found under their
    /// own key, left participants and non-Active sessions are not indexed, and a state
    /// change or deletion removes every key at once.
    #[test]
    fn follows_state_participants_and_deletion() {
        let active = DebugSessionState::Active;
        let index = DebugSessionIndex::from_sessions([
            session(
                "d1",
                active,
                &[("alice", false), ("bob", false), ("carol", true)],
            ),
            session("d2", active, &[("bob", false)]),
            session(
                "d3",
                DebugSessionState::PendingApproval,
                &[("alice", false)],
            ),
        ]);
        assert_eq!(names(&index, "c1", "alice"), ["d1"]);
        assert_eq!(names(&index, "c1", "bob"), ["d1", "d2"]);
        assert!(names(&index, "c1", "carol").is_empty());
        assert!(names(&index, "c2", "alice").is_empty());
        assert!(names(&index, "c1", "Alice").is_empty());
        assert_eq!(index.len(), 2);

        // bob leaves d1, carol does not come back by being listed as left.
        index.apply(session("d1", active, &[("alice", false), ("bob", true)]));
        assert_eq!(names(&index, "c1", "bob"), ["d2"]);
        assert_eq!(names(&index, "c1", "alice"), ["d1"]);

        index.apply(session(
            "d1",
            DebugSessionState::Terminated,
            &[("alice", false)],
        ));
        assert!(names(&index, "c1", "alice").is_empty());
        index.delete("bg", "d2");
        assert!(names(&index, "c1", "bob").is_empty());
        assert!(index.is_empty());
    }
}
