//! Persisting session transitions with optimistic concurrency.
//!
//! API handlers and timers both decide with the pure state machine
//! (`breakglass_core::session::apply`) and write the result here. Every write carries
//! the resourceVersion the decision was based on, so two concurrent decisions on one
//! session cannot both land: the second gets a conflict and must decide again. The
//! status writer is generic over the session kind ([`WithStatus`]), so DebugSessions
//! are written the same way.

use breakglass_api::breakglass_session::{BreakglassSession, BreakglassSessionStatus};
use breakglass_core::session::{self, SessionEvent, Transition, TransitionError};
use std::fmt::Debug;

use kube::api::PostParams;
use kube::core::NamespaceResourceScope;
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::events::{EventBus, EventKind};
use crate::hub_answer::{is_conflict, is_not_found};
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
            e if is_conflict(e) => Self::Conflict,
            e if is_not_found(e) => Self::NotFound,
            _ => Self::Kube(err),
        }
    }
}

/// A namespaced kind whose status subresource is written whole, conditional on the
/// resourceVersion it was read at.
pub trait WithStatus:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The status type.
    type Status;
    /// Replaces the status.
    fn set_status(&mut self, status: Self::Status);
}

impl WithStatus for BreakglassSession {
    type Status = BreakglassSessionStatus;
    fn set_status(&mut self, status: BreakglassSessionStatus) {
        self.status = Some(status);
    }
}

/// A merge patch of `status` that applies only to the version it was computed from: the
/// hub answers 409 when the object changed since (for example, when a newer leader wrote
/// it first), and the writer's next pass starts from the newer object.
pub fn conditional_status_patch(
    resource_version: Option<&str>,
    status: serde_json::Value,
) -> kube::api::Patch<serde_json::Value> {
    kube::api::Patch::Merge(serde_json::json!({
        "metadata": {"resourceVersion": resource_version},
        "status": status,
    }))
}

/// The typed API for the session's namespace.
pub fn api_for(hub: &Client, session: &BreakglassSession) -> Api<BreakglassSession> {
    api_of(hub, session)
}

/// The typed API for the object's namespace.
pub fn api_of<K: WithStatus>(hub: &Client, object: &K) -> Api<K> {
    Api::namespaced(
        hub.clone(),
        object.meta().namespace.as_deref().unwrap_or("default"),
    )
}

/// Writes `status` onto `object`, conditional on the object's resourceVersion (the
/// copy sent carries it, so the hub refuses the write with 409 after any change).
pub async fn write_status<K: WithStatus>(
    hub: &Client,
    object: &K,
    status: K::Status,
) -> Result<K, WriteError> {
    let mut next = object.clone();
    next.meta_mut().managed_fields = None;
    next.set_status(status);
    let name = next.meta().name.clone().unwrap_or_default();
    Ok(api_of(hub, object)
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
