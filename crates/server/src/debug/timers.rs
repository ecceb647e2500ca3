//! DebugSession deadlines on the shared timer mechanism (`crate::timers`): approval
//! timeout, expiry (and the hard end of notify-only sessions), the "expiring soon"
//! notice, and deletion after retention. Activation and deployment are the
//! reconciler's ([`super::reconcile`]), so an approved session has no timer here.

use breakglass_api::debug_session::{DebugSession, DebugSessionState as State, DebugSessionStatus};
use breakglass_core::condition;
use breakglass_core::debug::session::{self, DebugSessionEvent, DebugTimerAction};
use jiff::Timestamp;

use crate::events::SYSTEM;
use crate::session_writes::{self, WithStatus, WriteError};
use crate::store::{Mirror, Stores};
use crate::timers::{Action, Context, Due, TimedKind, TimerEnv};

/// Condition type of the "expiring soon" notice.
pub const EXPIRING_SOON: &str = "ExpiringSoon";
/// The message shown once a session is inside its grace period before expiry.
pub const EXPIRING_SOON_MESSAGE: &str = "Session expiring soon";

impl WithStatus for DebugSession {
    type Status = DebugSessionStatus;
    fn set_status(&mut self, status: DebugSessionStatus) {
        self.status = Some(status);
    }
}

/// A due debug-session timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugTimerEvent {
    /// Apply an event of the state machine.
    Apply(DebugSessionEvent),
    /// Record that the session expires soon.
    ExpiringSoon,
}

fn state(session: &DebugSession) -> State {
    session
        .status
        .as_ref()
        .and_then(|s| s.state)
        .unwrap_or(State::Pending)
}

/// The notice's message for the current expiry; a renewal changes it, so the notice
/// is given again for the new expiry.
fn notice_for(session: &DebugSession) -> Option<String> {
    let expires = session.status.as_ref()?.expires_at.as_ref()?;
    Some(format!("{EXPIRING_SOON_MESSAGE}: expires at {}", expires.0))
}

fn noticed(session: &DebugSession) -> bool {
    let Some(wanted) = notice_for(session) else {
        return true;
    };
    session
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .and_then(|c| condition::find(c, EXPIRING_SOON))
        .is_some_and(|c| c.message == wanted)
}

/// The earliest debug-session timer at `now`.
pub fn due(
    session: &DebugSession,
    env: &TimerEnv<'_>,
    now: Timestamp,
) -> Option<Due<DebugTimerEvent>> {
    if session.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let approved = session
        .status
        .as_ref()
        .and_then(|s| s.approval.as_ref())
        .is_some_and(|a| a.approved_at.is_some());
    match state(session) {
        State::Pending => return None,
        State::PendingApproval if approved => return None,
        _ => {}
    }
    let deadline = session::next_deadline(session, now, env.debug)?;
    let mut due = Due {
        at: deadline.at,
        action: match deadline.action {
            DebugTimerAction::Apply(e) => Action::Apply(DebugTimerEvent::Apply(e)),
            DebugTimerAction::Delete => Action::Delete,
        },
    };
    if state(session) == State::Active
        && !noticed(session)
        && let Some(at) = session::expiring_soon_at(session)
        && at < due.at
    {
        due = Due {
            at,
            action: Action::Apply(DebugTimerEvent::ExpiringSoon),
        };
    }
    Some(due)
}

impl TimedKind for DebugSession {
    type Event = DebugTimerEvent;

    fn mirror(stores: &Stores) -> &Mirror<Self> {
        &stores.debug_sessions
    }

    fn cluster(&self) -> &str {
        &self.spec.cluster
    }

    fn due(&self, env: &TimerEnv<'_>, now: Timestamp) -> Option<Due<DebugTimerEvent>> {
        due(self, env, now)
    }

    async fn fire(
        &self,
        ctx: &Context,
        event: DebugTimerEvent,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        let name = self.metadata.name.clone().unwrap_or_default();
        let namespace = self.metadata.namespace.clone().unwrap_or_default();
        match event {
            DebugTimerEvent::ExpiringSoon => {
                let mut status = self.status.clone().unwrap_or_default();
                let message = notice_for(self).unwrap_or_default();
                let c =
                    condition::new(EXPIRING_SOON, condition::TRUE, "GracePeriod", &message, now);
                condition::set(status.conditions.get_or_insert_with(Vec::new), c);
                status.message = Some(EXPIRING_SOON_MESSAGE.to_owned());
                session_writes::write_status(&ctx.hub, self, status).await?;
                tracing::info!(debug_session = %name, namespace = %namespace, cluster = %self.spec.cluster, "debug session expiring soon");
                Ok(())
            }
            DebugTimerEvent::Apply(event) => {
                let event_name = event.name();
                let t = match session::apply(self, event, now, &ctx.debug) {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::warn!(debug_session = %name, error = %e, "debug timer event refused by the state machine");
                        return Ok(());
                    }
                };
                let written = session_writes::write_status(&ctx.hub, self, t.status).await?;
                ctx.bus
                    .emit_debug_notices(&t.notices, SYSTEM, None, &written);
                tracing::info!(
                    debug_session = %name,
                    namespace = %namespace,
                    cluster = %self.spec.cluster,
                    user = %self.spec.requested_by,
                    from = %t.from,
                    to = %t.to,
                    event = event_name,
                    actor = "system",
                    "debug session transition"
                );
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use breakglass_core::debug::session::DebugTimers;
    use serde_json::json;

    fn session(status: serde_json::Value) -> DebugSession {
        serde_json::from_value(json!({
            "metadata": {"name": "d", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"cluster": "c", "templateRef": "t", "requestedBy": "u"},
            "status": status,
        }))
        .unwrap()
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn due_of(s: &DebugSession, now: &str) -> Option<Due<DebugTimerEvent>> {
        let stores = Stores::empty();
        let debug = DebugTimers::default();
        due(
            s,
            &TimerEnv {
                stores: &stores,
                debug: &debug,
            },
            t(now),
        )
    }

    #[tokio::test]
    async fn pending_and_approved_sessions_belong_to_the_reconciler() {
        assert_eq!(due_of(&session(json!({})), "2026-01-01T00:00:00Z"), None);
        let approved = session(
            json!({"state": "PendingApproval", "approval": {"approvedAt": "2026-01-01T00:01:00Z"}}),
        );
        assert_eq!(due_of(&approved, "2026-01-01T00:02:00Z"), None);
        let waiting = session(json!({"state": "PendingApproval"}));
        assert_eq!(
            due_of(&waiting, "2026-01-01T00:02:00Z"),
            Some(Due {
                at: t("2026-01-02T00:00:00Z"),
                action: Action::Apply(DebugTimerEvent::Apply(DebugSessionEvent::ApprovalTimeout)),
            })
        );
    }

    #[tokio::test]
    async fn expiring_soon_comes_once_per_expiry_before_the_expiry() {
        let mut s = session(json!({
            "state": "Active",
            "startsAt": "2026-01-01T00:00:00Z",
            "expiresAt": "2026-01-01T01:00:00Z",
            "resolvedTemplate": {"gracePeriodBeforeExpiry": "10m"},
        }));
        let d = due_of(&s, "2026-01-01T00:01:00Z").unwrap();
        assert_eq!(d.at, t("2026-01-01T00:50:00Z"));
        assert_eq!(d.action, Action::Apply(DebugTimerEvent::ExpiringSoon));
        // Once noticed, the expiry is next.
        let message = notice_for(&s).unwrap();
        let c = condition::new(
            EXPIRING_SOON,
            condition::TRUE,
            "GracePeriod",
            &message,
            t("2026-01-01T00:50:00Z"),
        );
        s.status.as_mut().unwrap().conditions = Some(vec![c]);
        let d = due_of(&s, "2026-01-01T00:51:00Z").unwrap();
        assert_eq!(d.at, t("2026-01-01T01:00:00Z"));
        assert_eq!(
            d.action,
            Action::Apply(DebugTimerEvent::Apply(DebugSessionEvent::Expire))
        );
        // A renewal moves the expiry: a new notice is due.
        s.status.as_mut().unwrap().expires_at = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t("2026-01-01T02:00:00Z")),
        );
        let d = due_of(&s, "2026-01-01T00:51:00Z").unwrap();
        assert_eq!(d.action, Action::Apply(DebugTimerEvent::ExpiringSoon));
        assert_eq!(d.at, t("2026-01-01T01:50:00Z"));
    }

    #[tokio::test]
    async fn terminal_sessions_are_deleted_after_retention() {
        let s = session(json!({"state": "Expired", "expiresAt": "2026-01-01T01:00:00Z"}));
        let d = due_of(&s, "2026-01-01T02:00:00Z").unwrap();
        assert_eq!(d.action, Action::Delete);
        assert_eq!(d.at, t("2026-01-08T01:00:00Z"));
    }
}
