//! Persisting BreakglassSession transitions with optimistic concurrency.
//!
//! API handlers and timers both decide with the pure state machine
//! (`breakglass_core::session::apply`) and write the result here. Every write carries
//! the resourceVersion the decision was based on, so two concurrent decisions on one
//! session cannot both land: the second gets a conflict and must decide again.

use breakglass_api::breakglass_session::{BreakglassSession, BreakglassSessionStatus};
use breakglass_core::session::{self, SessionEvent, Transition, TransitionError};
use kube::api::PostParams;
use kube::{Api, Client};

use crate::events::{EventBus, EventKind};
use crate::metrics::{self, Metrics};

/// Why a transition could not be persisted.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The state machine refused the event.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Someone else changed the session since it was read.
    #[error("session update conflict, please retry")]
    Conflict,
    /// The session no longer exists.
    #[error("session not found")]
    NotFound,
    /// The hub failed.
    #[error("hub API error: {0}")]
    Kube(kube::Error),
}

impl From<kube::Error> for WriteError {
    fn from(err: kube::Error) -> Self {
        match &err {
            kube::Error::Api(s) if s.code == 409 => Self::Conflict,
            kube::Error::Api(s) if s.code == 404 => Self::NotFound,
            _ => Self::Kube(err),
        }
    }
}

/// The typed API for the session's namespace.
pub fn api_for(hub: &Client, session: &BreakglassSession) -> Api<BreakglassSession> {
    Api::namespaced(
        hub.clone(),
        session.metadata.namespace.as_deref().unwrap_or("default"),
    )
}

/// Writes `status` onto `session`, conditional on the session's resourceVersion.
pub async fn write_status(
    hub: &Client,
    session: &BreakglassSession,
    status: BreakglassSessionStatus,
) -> Result<BreakglassSession, WriteError> {
    let mut next = session.clone();
    next.metadata.managed_fields = None;
    next.status = Some(status);
    let name = next.metadata.name.clone().unwrap_or_default();
    Ok(api_for(hub, session)
        .replace_status(&name, &PostParams::default(), &next)
        .await?)
}

/// Applies `event` to `session` at `now`, persists it, counts it and announces it.
/// `actor` is who caused it (`system` for timers).
pub async fn transition(
    hub: &Client,
    bus: &EventBus,
    metrics: &Metrics,
    session: &BreakglassSession,
    event: SessionEvent,
    actor: &str,
    now: jiff::Timestamp,
) -> Result<(Transition, BreakglassSession), WriteError> {
    let event_name = event.name();
    let t = session::apply(session, event, now)?;
    let written = write_status(hub, session, t.status.clone()).await?;
    count(metrics, &written, &t);
    tracing::info!(
        session = written.metadata.name.as_deref().unwrap_or_default(),
        namespace = written.metadata.namespace.as_deref().unwrap_or_default(),
        cluster = %written.spec.cluster,
        user = %written.spec.user,
        group = %written.spec.granted_group,
        from = %t.from,
        to = %t.to,
        event = event_name,
        actor,
        "session transition"
    );
    for notice in &t.notices {
        bus.emit(EventKind::from_notice(*notice), actor, &written);
    }
    Ok((t, written))
}

fn count(m: &Metrics, s: &BreakglassSession, t: &Transition) {
    use breakglass_core::session::SessionNotice as N;
    let label = metrics::cluster(&s.spec.cluster);
    m.session_updated.get_or_create(&label).inc();
    for notice in &t.notices {
        let family = match notice {
            N::Approved => &m.session_approved,
            N::Activated => &m.session_activated,
            N::Rejected => &m.session_rejected,
            N::Expired | N::Canceled | N::Dropped | N::ApprovalTimedOut => &m.session_expired,
            N::IdleExpired => &m.session_idle_expired,
            N::Withdrawn => continue,
        };
        family.get_or_create(&label).inc();
    }
    if t.to == breakglass_api::breakglass_session::BreakglassSessionState::WaitingForScheduledTime {
        m.session_scheduled.get_or_create(&label).inc();
    }
}
