//! Joining and leaving a debug session, pure: who may join (invited by user identifier
//! or verified e-mail), with which role (`participant`, or `viewer` when the template
//! sets `terminalSharing.readOnlyParticipants`), and how many may ever join
//! (`terminalSharing.maxParticipants`, default 5, counting every record: the owner and
//! those who left). A user who left and is still invited may come back; that reuses
//! their record and takes no new place.

use breakglass_api::debug_session::{
    DebugSession, DebugSessionParticipant, DebugSessionState, DebugSessionStatus, ParticipantRole,
};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use thiserror::Error;

/// The person joining or leaving.
#[derive(Debug, Clone, Copy)]
pub struct Joiner<'a> {
    /// The configured user identifier (what the target apiserver sees as the user).
    pub user: &'a str,
    /// Verified e-mail, when the token carries one.
    pub email: Option<&'a str>,
    /// Display name, recorded for the UI.
    pub display_name: Option<&'a str>,
}

/// Why a join is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JoinRefusal {
    /// Only active sessions can be joined.
    #[error("only active debug sessions can be joined; this one is {state}")]
    NotActive {
        /// Current state.
        state: DebugSessionState,
    },
    /// The caller is not in `spec.invitedParticipants`.
    #[error("you are not invited to this debug session")]
    NotInvited,
    /// The caller is already an active participant (or the owner).
    #[error("you already take part in this debug session")]
    AlreadyJoined,
    /// Every place was taken.
    #[error(
        "the debug session is full: at most {max} participants may join (terminalSharing.maxParticipants, counting everyone who ever joined)"
    )]
    Full {
        /// `maxParticipants`.
        max: i32,
    },
}

/// Why a leave is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LeaveRefusal {
    /// The owner ends the session with terminate instead.
    #[error("the owner cannot leave the debug session; terminate it instead")]
    Owner,
    /// The caller never joined.
    #[error("you are not a participant of this debug session")]
    NotParticipant,
    /// The caller left already.
    #[error("you already left this debug session")]
    AlreadyLeft,
    /// Only active sessions have participants to leave.
    #[error("only active debug sessions can be left; this one is {state}")]
    NotActive {
        /// Current state.
        state: DebugSessionState,
    },
}

fn state(session: &DebugSession) -> DebugSessionState {
    session.state().unwrap_or(DebugSessionState::Pending)
}

/// True when `spec.invitedParticipants` names the user exactly, or the verified e-mail
/// (case-insensitively, as e-mail domains are).
pub fn is_invited(session: &DebugSession, user: &str, email: Option<&str>) -> bool {
    session
        .spec
        .invited_participants
        .iter()
        .flatten()
        .any(|i| i == user || email.is_some_and(|e| i.eq_ignore_ascii_case(e)))
}

/// The role a joiner gets: `viewer` when the session's template sets
/// `terminalSharing.readOnlyParticipants`, else `participant`.
pub fn joiner_role(session: &DebugSession) -> ParticipantRole {
    let read_only = session
        .status
        .as_ref()
        .and_then(|s| s.resolved_template.as_ref())
        .and_then(|t| t.terminal_sharing.as_ref())
        .is_some_and(|t| t.read_only_participants());
    if read_only {
        ParticipantRole::Viewer
    } else {
        ParticipantRole::Participant
    }
}

fn max_participants(session: &DebugSession) -> i32 {
    session
        .status
        .as_ref()
        .and_then(|s| s.resolved_template.as_ref())
        .and_then(|t| t.terminal_sharing.as_ref())
        .map_or(5, |t| t.max_participants())
}

/// The status after `who` joins `session` at `now`, and the role they got.
pub fn join(
    session: &DebugSession,
    who: &Joiner<'_>,
    now: Timestamp,
) -> Result<(DebugSessionStatus, ParticipantRole), JoinRefusal> {
    let st = state(session);
    if st != DebugSessionState::Active {
        return Err(JoinRefusal::NotActive { state: st });
    }
    let mut status = session.status.clone().unwrap_or_default();
    let records = status.participants.get_or_insert_with(Vec::new);
    let existing = records.iter().position(|p| p.user == who.user);
    if existing.is_some_and(|i| records[i].left_at.is_none()) {
        return Err(JoinRefusal::AlreadyJoined);
    }
    if !is_invited(session, who.user, who.email) {
        return Err(JoinRefusal::NotInvited);
    }
    let role = joiner_role(session);
    let record = DebugSessionParticipant {
        user: who.user.to_owned(),
        email: who.email.map(str::to_owned),
        display_name: who.display_name.map(str::to_owned),
        role: Some(role),
        joined_at: Some(Time(now)),
        left_at: None,
    };
    match existing {
        Some(i) => records[i] = record,
        None => {
            let max = max_participants(session);
            if i32::try_from(records.len()).unwrap_or(i32::MAX) >= max {
                return Err(JoinRefusal::Full { max });
            }
            records.push(record);
        }
    }
    Ok((status, role))
}

/// The status after `user` leaves `session` at `now` (the record stays, with `leftAt`).
pub fn leave(
    session: &DebugSession,
    user: &str,
    now: Timestamp,
) -> Result<DebugSessionStatus, LeaveRefusal> {
    let mut status = session.status.clone().unwrap_or_default();
    let record = status
        .participants
        .iter_mut()
        .flatten()
        .find(|p| p.user == user);
    let Some(record) = record else {
        if user == session.spec.requested_by {
            return Err(LeaveRefusal::Owner);
        }
        return Err(LeaveRefusal::NotParticipant);
    };
    if record.role == Some(ParticipantRole::Owner) || user == session.spec.requested_by {
        return Err(LeaveRefusal::Owner);
    }
    if record.left_at.is_some() {
        return Err(LeaveRefusal::AlreadyLeft);
    }
    let st = state(session);
    if st != DebugSessionState::Active {
        return Err(LeaveRefusal::NotActive { state: st });
    }
    record.left_at = Some(Time(now));
    Ok(status)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use breakglass_api::debug_session::DebugSessionSpec;
    use breakglass_api::debug_session_template::{DebugSessionTemplateSpec, TerminalSharingConfig};

    use super::*;

    fn now() -> Timestamp {
        "2026-03-01T10:00:00Z".parse().unwrap()
    }

    fn session(read_only: Option<bool>, max: Option<i32>) -> DebugSession {
        let mut s = DebugSession::new(
            "d",
            DebugSessionSpec {
                cluster: "c".into(),
                template_ref: "t".into(),
                requested_by: "alice".into(),
                invited_participants: Some(vec![
                    "bob".into(),
                    "Carol@Example.com".into(),
                    "dave".into(),
                ]),
                ..Default::default()
            },
        );
        s.status = Some(DebugSessionStatus {
            state: Some(DebugSessionState::Active),
            participants: Some(vec![DebugSessionParticipant {
                user: "alice".into(),
                role: Some(ParticipantRole::Owner),
                ..Default::default()
            }]),
            resolved_template: Some(DebugSessionTemplateSpec {
                terminal_sharing: Some(TerminalSharingConfig {
                    read_only_participants: read_only,
                    max_participants: max,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        s
    }

    fn who<'a>(user: &'a str, email: Option<&'a str>) -> Joiner<'a> {
        Joiner {
            user,
            email,
            display_name: None,
        }
    }

    fn with(mut s: DebugSession, status: DebugSessionStatus) -> DebugSession {
        s.status = Some(status);
        s
    }

    #[test]
    fn invited_users_join_as_participants_or_viewers() {
        let s = session(None, None);
        let (status, role) = join(&s, &who("bob", None), now()).unwrap();
        assert_eq!(role, ParticipantRole::Participant);
        let bob = status.participants.as_ref().unwrap().last().unwrap();
        assert_eq!(
            (bob.user.as_str(), bob.joined_at.clone()),
            ("bob", Some(Time(now())))
        );
        // By verified e-mail, case-insensitively; the record names the user identifier.
        let (status, _) = join(&s, &who("c-123", Some("carol@example.com")), now()).unwrap();
        assert_eq!(status.participants.unwrap()[1].user, "c-123");
        let (_, role) = join(&session(Some(true), None), &who("bob", None), now()).unwrap();
        assert_eq!(role, ParticipantRole::Viewer);
        assert_eq!(
            join(&s, &who("mallory", Some("mallory@example.com")), now()),
            Err(JoinRefusal::NotInvited)
        );
        assert_eq!(
            join(&s, &who("Bob", None), now()),
            Err(JoinRefusal::NotInvited)
        );
        assert_eq!(
            join(&s, &who("alice", None), now()),
            Err(JoinRefusal::AlreadyJoined)
        );
    }

    #[test]
    fn joins_repeat_states_and_the_participant_limit() {
        let s = session(None, Some(2));
        let (status, _) = join(&s, &who("bob", None), now()).unwrap();
        let s = with(s, status);
        assert_eq!(
            join(&s, &who("bob", None), now()),
            Err(JoinRefusal::AlreadyJoined)
        );
        assert_eq!(
            join(&s, &who("dave", None), now()),
            Err(JoinRefusal::Full { max: 2 })
        );
        // bob leaves: his place still counts, but he may come back.
        let s = with(s.clone(), leave(&s, "bob", now()).unwrap());
        assert_eq!(
            join(&s, &who("dave", None), now()),
            Err(JoinRefusal::Full { max: 2 })
        );
        let (status, _) = join(&s, &who("bob", None), now()).unwrap();
        assert_eq!(status.participants.as_ref().unwrap().len(), 2);
        assert!(status.participants.unwrap()[1].left_at.is_none());
        for state in [
            DebugSessionState::PendingApproval,
            DebugSessionState::Terminated,
            DebugSessionState::Expired,
        ] {
            let mut ended = session(None, None);
            ended.status.as_mut().unwrap().state = Some(state);
            assert_eq!(
                join(&ended, &who("bob", None), now()),
                Err(JoinRefusal::NotActive { state })
            );
        }
    }

    #[test]
    fn leaving() {
        let s = session(None, None);
        assert_eq!(leave(&s, "alice", now()), Err(LeaveRefusal::Owner));
        assert_eq!(leave(&s, "bob", now()), Err(LeaveRefusal::NotParticipant));
        let (status, _) = join(&s, &who("bob", None), now()).unwrap();
        let s = with(s, status);
        let left = leave(&s, "bob", now()).unwrap();
        assert_eq!(
            left.participants.as_ref().unwrap()[1].left_at,
            Some(Time(now()))
        );
        let s = with(s, left);
        assert_eq!(leave(&s, "bob", now()), Err(LeaveRefusal::AlreadyLeft));
    }
}
