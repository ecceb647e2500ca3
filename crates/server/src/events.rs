//! Internal lifecycle events of breakglass sessions and debug sessions. Every state
//! change emits one; mail and audit subscribe to them, and a logger subscriber writes
//! each as a structured log line, so every grant and every end of a grant is on record.

use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::debug_session::DebugSession;
use breakglass_core::debug::session::DebugNotice;
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

/// The actor of events caused by timers and reconcilers rather than a person.
pub const SYSTEM: &str = "system";

/// What happened to a debug session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DebugEventKind {
    /// A user created the session (before any approval decision).
    Created,
    /// The session needs an approver's decision.
    ApprovalRequested,
    /// An approver approved.
    Approved,
    /// An approver rejected.
    Rejected,
    /// The session became active (workloads deployed, access granted).
    Activated,
    /// Nobody decided in time.
    ApprovalTimedOut,
    /// The session reached its end and ended.
    Expired,
    /// The session reached its end but stays active (notify-only template).
    ExpiryNotified,
    /// The owner (or an admin) terminated it.
    Terminated,
    /// It failed (binding, deployment, policy).
    Failed,
    /// Its owner extended it.
    Renewed,
    /// Its `bindingRef` names a binding that does not exist or does not apply (it
    /// fails too: `Failed` follows).
    BindingUnresolved,
    /// One of its pods newly failed (phase `Failed`, `CrashLoopBackOff`).
    PodFailed,
    /// A container of one of its pods restarted.
    PodRestarted,
    /// Its workload and auxiliary resources were created on the target.
    ResourceDeployed,
    /// The end-of-session cleanup deleted its objects on the target (or failed to).
    ResourceCleanup,
}

impl DebugEventKind {
    /// The event for a state-machine notice.
    pub fn from_notice(notice: DebugNotice) -> Self {
        match notice {
            DebugNotice::ApprovalRequested => Self::ApprovalRequested,
            DebugNotice::Approved => Self::Approved,
            DebugNotice::Rejected => Self::Rejected,
            DebugNotice::Activated => Self::Activated,
            DebugNotice::ApprovalTimedOut => Self::ApprovalTimedOut,
            DebugNotice::Expired => Self::Expired,
            DebugNotice::ExpiryNotified => Self::ExpiryNotified,
            DebugNotice::Terminated => Self::Terminated,
            DebugNotice::Failed => Self::Failed,
            DebugNotice::Renewed => Self::Renewed,
        }
    }

    /// The wire name (`approval-timed-out`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::ApprovalRequested => "approval-requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Activated => "activated",
            Self::ApprovalTimedOut => "approval-timed-out",
            Self::Expired => "expired",
            Self::ExpiryNotified => "expiry-notified",
            Self::Terminated => "terminated",
            Self::Failed => "failed",
            Self::Renewed => "renewed",
            Self::BindingUnresolved => "binding-unresolved",
            Self::PodFailed => "pod-failed",
            Self::PodRestarted => "pod-restarted",
            Self::ResourceDeployed => "resource-deployed",
            Self::ResourceCleanup => "resource-cleanup",
        }
    }
}

/// One debug-session lifecycle event with the session as written.
#[derive(Debug, Clone, Serialize)]
pub struct DebugEvent {
    /// What happened.
    pub kind: DebugEventKind,
    /// Who caused it (`system` for timers and the reconciler).
    pub actor: String,
    /// The decision reason or failure message, when there is one.
    pub message: Option<String>,
    /// What the event is about beyond the session (the pod, the resources, the
    /// binding), for the audit record's details; empty for lifecycle transitions.
    pub details: Details,
    /// The session after the change.
    pub session: DebugSession,
}

/// Details of a debug-session event, by name.
pub type Details = serde_json::Map<String, serde_json::Value>;

/// Fan-out of lifecycle events to every subscriber.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<SessionEvent>,
    debug: broadcast::Sender<DebugEvent>,
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
        let (debug, _) = broadcast::channel(1024);
        Self { sender, debug }
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

    /// Publishes a debug-session event; without subscribers it is dropped.
    pub fn emit_debug(
        &self,
        kind: DebugEventKind,
        actor: &str,
        message: Option<&str>,
        session: &DebugSession,
    ) {
        self.emit_debug_details(kind, actor, message, Details::new(), session);
    }

    /// Publishes a debug-session event with details; without subscribers it is dropped.
    pub fn emit_debug_details(
        &self,
        kind: DebugEventKind,
        actor: &str,
        message: Option<&str>,
        details: Details,
        session: &DebugSession,
    ) {
        let _ = self.debug.send(DebugEvent {
            kind,
            actor: actor.to_owned(),
            message: message.map(str::to_owned),
            details,
            session: session.clone(),
        });
    }

    /// Publishes one event per notice of a debug-session transition, in order.
    pub fn emit_debug_notices(
        &self,
        notices: &[DebugNotice],
        actor: &str,
        message: Option<&str>,
        session: &DebugSession,
    ) {
        for notice in notices {
            self.emit_debug(
                DebugEventKind::from_notice(*notice),
                actor,
                message,
                session,
            );
        }
    }

    /// Subscribes to every debug-session event published from now on.
    pub fn subscribe_debug(&self) -> broadcast::Receiver<DebugEvent> {
        self.debug.subscribe()
    }

    /// Starts the subscribers that log every event.
    pub fn log_events(&self) {
        consume(self.subscribe(), "the session event log", |e| log(&e));
        consume(self.subscribe_debug(), "the debug-session event log", |e| {
            log_debug(&e)
        });
    }
}

/// Runs `handle` on every event of `rx` until the bus closes. A subscriber that falls
/// more than the bus's capacity behind loses events: that is logged as an error naming
/// `who`, never silent.
pub fn consume<T: Clone + Send + 'static>(
    mut rx: broadcast::Receiver<T>,
    who: &'static str,
    mut handle: impl FnMut(T) + Send + 'static,
) {
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(event) => handle(event),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::error!(
                        missed = n,
                        subscriber = who,
                        "lifecycle events lost: the subscriber fell behind"
                    );
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

fn log_debug(event: &DebugEvent) {
    let s = &event.session;
    let status = s.status.as_ref();
    tracing::info!(
        event = event.kind.as_str(),
        actor = %event.actor,
        debug_session = s.metadata.name.as_deref().unwrap_or_default(),
        namespace = s.metadata.namespace.as_deref().unwrap_or_default(),
        cluster = %s.spec.cluster,
        user = %s.spec.requested_by,
        template = %s.spec.template_ref,
        state = status.and_then(|st| st.state).map(|st| st.as_str()).unwrap_or_default(),
        message = event.message.as_deref().unwrap_or_default(),
        details = %serde_json::Value::Object(event.details.clone()),
        "debug session {}",
        event.kind.as_str()
    );
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn debug_session() -> DebugSession {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "d", "namespace": "ns"},
            "spec": {"cluster": "c", "templateRef": "t", "requestedBy": "u"},
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn debug_notices_arrive_in_order_with_actor_and_message() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe_debug();
        let s = debug_session();
        bus.emit_debug_notices(
            &[DebugNotice::Approved, DebugNotice::Activated],
            "approver@example.com",
            Some("ok"),
            &s,
        );
        let first = rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        assert_eq!(first.kind, DebugEventKind::Approved);
        assert_eq!(second.kind, DebugEventKind::Activated);
        assert_eq!(first.actor, "approver@example.com");
        assert_eq!(second.message.as_deref(), Some("ok"));
        assert_eq!(second.session.spec.requested_by, "u");
    }

    #[test]
    fn every_debug_notice_has_its_own_kind_and_name() {
        let notices = [
            DebugNotice::ApprovalRequested,
            DebugNotice::Approved,
            DebugNotice::Rejected,
            DebugNotice::Activated,
            DebugNotice::ApprovalTimedOut,
            DebugNotice::Expired,
            DebugNotice::ExpiryNotified,
            DebugNotice::Terminated,
            DebugNotice::Failed,
            DebugNotice::Renewed,
        ];
        let names: std::collections::HashSet<_> = notices
            .iter()
            .map(|n| DebugEventKind::from_notice(*n).as_str())
            .chain(
                [
                    DebugEventKind::Created,
                    DebugEventKind::BindingUnresolved,
                    DebugEventKind::PodFailed,
                    DebugEventKind::PodRestarted,
                    DebugEventKind::ResourceDeployed,
                    DebugEventKind::ResourceCleanup,
                ]
                .map(DebugEventKind::as_str),
            )
            .collect();
        assert_eq!(names.len(), notices.len() + 6);
    }

    #[test]
    fn session_events_do_not_reach_debug_subscribers() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe_debug();
        let s: BreakglassSession = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s"},
            "spec": {"cluster": "c", "user": "u", "grantedGroup": "g"},
        }))
        .unwrap();
        bus.emit(EventKind::Requested, "u", &s);
        assert!(rx.try_recv().is_err());
    }
}
