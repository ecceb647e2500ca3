//! Internal lifecycle events of sessions. Every state change emits one; mail and audit
//! subscribe to them. Until those exist, a logger subscriber writes each as a
//! structured log line, so every grant and every end of a grant is on record.

use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_core::session::SessionNotice;
use serde::Serialize;
use tokio::sync::broadcast;

/// What happened to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A user requested access.
    Requested,
    /// An approver approved.
    Approved,
    /// The grant became active (at approval or at the scheduled start).
    Activated,
    /// An approver (or the requester) rejected.
    Rejected,
    /// The requester withdrew a pending request.
    Withdrawn,
    /// The requester dropped the session.
    Dropped,
    /// An approver cancelled an active session.
    Canceled,
    /// The validity ended.
    Expired,
    /// Nobody decided in time.
    ApprovalTimeout,
    /// The session was unused for its idle timeout.
    IdleExpired,
}

impl EventKind {
    /// The event for a state-machine notice.
    pub fn from_notice(notice: SessionNotice) -> Self {
        match notice {
            SessionNotice::Approved => Self::Approved,
            SessionNotice::Activated => Self::Activated,
            SessionNotice::Rejected => Self::Rejected,
            SessionNotice::Withdrawn => Self::Withdrawn,
            SessionNotice::Dropped => Self::Dropped,
            SessionNotice::Canceled => Self::Canceled,
            SessionNotice::Expired => Self::Expired,
            SessionNotice::IdleExpired => Self::IdleExpired,
            SessionNotice::ApprovalTimedOut => Self::ApprovalTimeout,
        }
    }

    /// The wire name (`approval-timeout`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Activated => "activated",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Dropped => "dropped",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
            Self::ApprovalTimeout => "approval-timeout",
            Self::IdleExpired => "idle-expired",
        }
    }
}

/// One lifecycle event with the session as written.
#[derive(Debug, Clone, Serialize)]
pub struct SessionEvent {
    /// What happened.
    pub kind: EventKind,
    /// Who caused it (`system` for timers).
    pub actor: String,
    /// The session after the change.
    pub session: BreakglassSession,
}

/// Fan-out of lifecycle events to every subscriber.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<SessionEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with room for a burst of events per slow subscriber.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(1024);
        Self { sender }
    }

    /// Publishes an event; without subscribers it is dropped.
    pub fn emit(&self, kind: EventKind, actor: &str, session: &BreakglassSession) {
        let _ = self.sender.send(SessionEvent {
            kind,
            actor: actor.to_owned(),
            session: session.clone(),
        });
    }

    /// Subscribes to every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.sender.subscribe()
    }

    /// Starts the subscriber that logs every event.
    pub fn log_events(&self) {
        let mut rx = self.subscribe();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) => log(&event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "session event log fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }
}

fn log(event: &SessionEvent) {
    let s = &event.session;
    let status = s.status.as_ref();
    tracing::info!(
        event = event.kind.as_str(),
        actor = %event.actor,
        session = s.metadata.name.as_deref().unwrap_or_default(),
        namespace = s.metadata.namespace.as_deref().unwrap_or_default(),
        cluster = %s.spec.cluster,
        user = %s.spec.user,
        group = %s.spec.granted_group,
        state = status.and_then(|st| st.state).map(|st| st.as_str()).unwrap_or_default(),
        expires_at = status
            .and_then(|st| st.expires_at.as_ref())
            .map(|t| t.0.to_string())
            .unwrap_or_default(),
        "session {}",
        event.kind.as_str()
    );
}
