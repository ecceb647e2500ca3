//! Breakglass-session mails: one subscriber of the event bus renders and queues them.

use std::sync::Arc;

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_core::notify::{self, GroupDirectory, SessionMail};
use breakglass_core::session::SessionNotice;
use breakglass_mail::{MailContext, MailKind};

use super::{Addressed, Mailer};
use crate::events::{EventBus, EventKind, SessionEvent};
use crate::store::Stores;

/// The state-machine notice behind an event (`None` for a new request).
fn notice(kind: EventKind) -> Option<SessionNotice> {
    Some(match kind {
        EventKind::Requested => return None,
        EventKind::Approved => SessionNotice::Approved,
        EventKind::Activated => SessionNotice::Activated,
        EventKind::Rejected => SessionNotice::Rejected,
        EventKind::Withdrawn => SessionNotice::Withdrawn,
        EventKind::Dropped => SessionNotice::Dropped,
        EventKind::Canceled => SessionNotice::Canceled,
        EventKind::Expired => SessionNotice::Expired,
        EventKind::ApprovalTimeout => SessionNotice::ApprovalTimedOut,
        EventKind::IdleExpired => SessionNotice::IdleExpired,
    })
}

/// The mail of an event, if any.
pub fn mail_for(event: &SessionEvent) -> Option<SessionMail> {
    match notice(event.kind) {
        None => Some(SessionMail::Request),
        Some(n) => notify::session_mail(n, event.session.spec.scheduled_start_time.is_some()),
    }
}

fn kind_of(mail: SessionMail) -> MailKind {
    match mail {
        SessionMail::Request => MailKind::SessionRequest,
        SessionMail::Approved => MailKind::SessionApproved,
        SessionMail::Rejected => MailKind::SessionRejected,
        SessionMail::Activated => MailKind::SessionActivated,
        SessionMail::Expired | SessionMail::ApprovalTimeout => MailKind::SessionExpired,
        SessionMail::IdleExpired => MailKind::SessionIdleExpired,
    }
}

fn escalation_of(stores: &Stores, s: &BreakglassSession) -> Option<Arc<BreakglassEscalation>> {
    let owner = breakglass_core::session::owning_escalation(s)?;
    stores
        .escalations
        .get(s.metadata.namespace.as_deref(), &owner.name)
}

fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    t.map(|t| t.0.to_string()).unwrap_or_default()
}

/// The template values of a session event (recipient not yet set).
pub fn context(mailer: &Mailer, event: &SessionEvent, mail: SessionMail) -> MailContext {
    let s = &event.session;
    let st = s.status.clone().unwrap_or_default();
    let name = s.metadata.name.clone().unwrap_or_default();
    let link = match mail {
        SessionMail::Request => mailer.link(&format!("/session/{name}/approve")),
        _ => mailer.link("/sessions/review"),
    };
    let message = match mail {
        SessionMail::Expired => "its validity ended",
        SessionMail::ApprovalTimeout => "nobody approved the request in time",
        SessionMail::IdleExpired => "it was not used for its idle timeout",
        _ => "",
    };
    MailContext {
        link,
        session: name,
        namespace: s.metadata.namespace.clone().unwrap_or_default(),
        cluster: s.spec.cluster.clone(),
        user: s.spec.user.clone(),
        group: s.spec.granted_group.clone(),
        reason: s.spec.request_reason.clone().unwrap_or_default(),
        approver: match mail {
            SessionMail::Approved | SessionMail::Rejected => {
                st.approver.clone().unwrap_or_else(|| event.actor.clone())
            }
            _ => String::new(),
        },
        approval_reason: st.approval_reason.clone().unwrap_or_default(),
        duration: s.spec.max_valid_for.clone().unwrap_or_default(),
        starts_at: time(
            s.spec
                .scheduled_start_time
                .as_ref()
                .or(st.actual_start_time.as_ref()),
        ),
        expires_at: time(st.expires_at.as_ref()),
        identity_provider: s.spec.identity_provider_name.clone().unwrap_or_default(),
        message: message.to_owned(),
        ..mailer.context()
    }
}

/// Renders and queues the mails of one event.
pub fn handle(mailer: &Mailer, stores: &Stores, event: &SessionEvent) {
    let Some(mail) = mail_for(event) else {
        return;
    };
    let s = &event.session;
    let about = format!(
        "{}/{}",
        s.metadata.namespace.as_deref().unwrap_or_default(),
        s.metadata.name.as_deref().unwrap_or_default()
    );
    let escalation = escalation_of(stores, s);
    let cluster_provider = stores
        .clusters
        .by_name(
            s.spec
                .cluster_config_ref
                .as_deref()
                .unwrap_or(&s.spec.cluster),
        )
        .first()
        .and_then(|c| c.spec.mail_provider.clone());
    let escalation_provider = escalation
        .as_ref()
        .and_then(|e| e.spec.mail_provider.clone());
    let base = context(mailer, event, mail);
    let mails: Vec<Addressed> = match mail {
        SessionMail::Request => {
            let Some(esc) = escalation.as_ref() else {
                tracing::warn!(session = %about, "request mail: the session's escalation is unknown; no approver mailed");
                return;
            };
            let members = esc
                .status
                .as_ref()
                .and_then(|st| st.approver_group_members.as_ref());
            let directory = GroupDirectory {
                members,
                addresses: Some(mailer.group_addresses()),
            };
            for g in esc.spec.approvers.groups.iter().flatten() {
                if !directory.knows(g) {
                    tracing::debug!(session = %about, group = %g, "approver group has no members or address for mail");
                }
            }
            notify::session_request_recipients(&esc.spec, &directory, &s.spec.user)
                .into_iter()
                .map(|r| Addressed {
                    to: r.address,
                    context: MailContext {
                        approver_groups: r.groups,
                        ..base.clone()
                    },
                })
                .collect()
        }
        _ if notify::is_address(&s.spec.user) => vec![Addressed {
            to: s.spec.user.clone(),
            context: base,
        }],
        _ => {
            tracing::debug!(session = %about, user = %s.spec.user, "the requester is not a mail address; no mail");
            Vec::new()
        }
    };
    mailer.send(
        &[escalation_provider.as_deref(), cluster_provider.as_deref()],
        kind_of(mail),
        &about,
        mails,
    );
}

/// Subscribes to session events and mails them until the bus closes.
pub fn follow(mailer: Arc<Mailer>, bus: &EventBus, stores: Stores) {
    crate::events::consume(bus.subscribe(), "session mail", move |event| {
        handle(&mailer, &stores, &event)
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use breakglass_api::breakglass_session::BreakglassSessionSpec;

    use super::*;

    fn event(kind: EventKind, scheduled: bool) -> SessionEvent {
        let mut s = BreakglassSession::new(
            "s-1",
            BreakglassSessionSpec {
                cluster: "c".into(),
                user: "u@x.io".into(),
                granted_group: "g".into(),
                ..Default::default()
            },
        );
        if scheduled {
            s.spec.scheduled_start_time = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
            );
        }
        SessionEvent {
            kind,
            actor: "a@x.io".into(),
            session: s,
        }
    }

    #[test]
    fn events_map_to_the_references_mails() {
        use EventKind as E;
        let cases = [
            (E::Requested, false, Some(SessionMail::Request)),
            (E::Approved, false, Some(SessionMail::Approved)),
            (E::Activated, false, None),
            (E::Activated, true, Some(SessionMail::Activated)),
            (E::Rejected, false, Some(SessionMail::Rejected)),
            (E::Withdrawn, false, None),
            (E::Dropped, true, None),
            (E::Canceled, false, None),
            (E::Expired, false, Some(SessionMail::Expired)),
            (
                E::ApprovalTimeout,
                false,
                Some(SessionMail::ApprovalTimeout),
            ),
            (E::IdleExpired, false, Some(SessionMail::IdleExpired)),
        ];
        for (kind, scheduled, want) in cases {
            assert_eq!(mail_for(&event(kind, scheduled)), want, "{kind:?}");
        }
        assert_eq!(
            kind_of(SessionMail::ApprovalTimeout),
            MailKind::SessionExpired
        );
    }
}
