//! Debug-session mails: one subscriber of the debug event bus renders and queues them.
//!
//! Settings come from the session's binding when its `notification` block is set, else
//! from its template (the resolved snapshot in status, else the live object); approvers
//! likewise. The provider is the ClusterConfig's `mailProvider`, else the default.

use std::sync::Arc;

use breakglass_api::debug_common::{DebugSessionApprovers, DebugSessionNotificationConfig};
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBinding;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use breakglass_core::notify::{self, DebugMail, GroupDirectory};
use breakglass_mail::{MailContext, MailKind};

use super::{Addressed, Mailer};
use crate::events::{DebugEvent, DebugEventKind, EventBus};
use crate::store::Stores;

/// The mail of an event, if any.
pub fn mail_for(kind: DebugEventKind) -> Option<DebugMail> {
    match kind {
        DebugEventKind::Created => Some(DebugMail::Created),
        DebugEventKind::ApprovalRequested => Some(DebugMail::Request),
        DebugEventKind::Approved => Some(DebugMail::Approved),
        DebugEventKind::Rejected => Some(DebugMail::Rejected),
        // The reference fails a request nobody decided on in time.
        DebugEventKind::ApprovalTimedOut | DebugEventKind::Failed => Some(DebugMail::Failed),
        // A notify-only template keeps the session; its end is still announced.
        DebugEventKind::Expired | DebugEventKind::ExpiryNotified => Some(DebugMail::Expired),
        DebugEventKind::Terminated => Some(DebugMail::Terminated),
        DebugEventKind::Activated | DebugEventKind::Renewed => None,
        // Audit records, not news for the requester or the approvers (a failure to
        // resolve the binding is announced by the `Failed` that follows it).
        DebugEventKind::BindingUnresolved
        | DebugEventKind::PodFailed
        | DebugEventKind::PodRestarted
        | DebugEventKind::ResourceDeployed
        | DebugEventKind::ResourceCleanup => None,
    }
}

fn kind_of(mail: DebugMail) -> MailKind {
    match mail {
        DebugMail::Request => MailKind::DebugRequest,
        DebugMail::Created => MailKind::DebugCreated,
        DebugMail::Approved => MailKind::DebugApproved,
        DebugMail::Rejected => MailKind::DebugRejected,
        DebugMail::Failed => MailKind::DebugFailed,
        DebugMail::Expired => MailKind::DebugExpired,
        DebugMail::Terminated => MailKind::DebugTerminated,
    }
}

fn template_of(stores: &Stores, s: &DebugSession) -> Option<DebugSessionTemplateSpec> {
    s.status
        .as_ref()
        .and_then(|st| st.resolved_template.clone())
        .or_else(|| {
            stores
                .debug_templates
                .get(None, &s.spec.template_ref)
                .map(|t| t.spec.clone())
        })
}

fn binding_of(stores: &Stores, s: &DebugSession) -> Option<Arc<DebugSessionClusterBinding>> {
    let (ns, name) = match s
        .status
        .as_ref()
        .and_then(|st| st.resolved_binding.as_ref())
    {
        Some(b) => (b.namespace.clone(), b.name.clone()),
        None => {
            let b = s.spec.binding_ref.as_ref()?;
            (b.namespace.clone(), b.name.clone())
        }
    };
    stores.debug_bindings.get(Some(&ns), &name)
}

/// The template values of a debug event (recipient not yet set).
pub fn context(mailer: &Mailer, event: &DebugEvent) -> MailContext {
    let s = &event.session;
    let st = s.status.clone().unwrap_or_default();
    let approval = st.approval.clone().unwrap_or_default();
    let name = s.metadata.name.clone().unwrap_or_default();
    let decided_by = match event.kind {
        DebugEventKind::Approved => approval.approved_by.clone(),
        DebugEventKind::Rejected => approval.rejected_by.clone(),
        _ => None,
    };
    let decision = matches!(
        event.kind,
        DebugEventKind::Approved | DebugEventKind::Rejected
    );
    MailContext {
        link: mailer.link(&format!("/debug-sessions/{name}")),
        session: name,
        namespace: s.spec.target_namespace.clone().unwrap_or_default(),
        cluster: s.spec.cluster.clone(),
        user: s.spec.requested_by.clone(),
        template: s.spec.template_ref.clone(),
        reason: s.spec.reason.clone().unwrap_or_default(),
        approver: if decision {
            decided_by.unwrap_or_else(|| event.actor.clone())
        } else {
            String::new()
        },
        approval_reason: if decision {
            approval
                .reason
                .clone()
                .or_else(|| event.message.clone())
                .unwrap_or_default()
        } else {
            String::new()
        },
        duration: s.spec.requested_duration.clone().unwrap_or_default(),
        starts_at: st.starts_at.map(|t| t.0.to_string()).unwrap_or_default(),
        expires_at: st.expires_at.map(|t| t.0.to_string()).unwrap_or_default(),
        message: match event.kind {
            DebugEventKind::Failed
            | DebugEventKind::ApprovalTimedOut
            | DebugEventKind::Terminated => event
                .message
                .clone()
                .or(st.message.clone())
                .unwrap_or_default(),
            DebugEventKind::ExpiryNotified => {
                "the session reached its end; its template keeps it active (notify-only)".to_owned()
            }
            _ => String::new(),
        },
        ..mailer.context()
    }
}

/// Renders and queues the mails of one event.
pub fn handle(mailer: &Mailer, stores: &Stores, event: &DebugEvent) {
    let Some(mail) = mail_for(event.kind) else {
        return;
    };
    let s = &event.session;
    let about = format!(
        "{}/{}",
        s.metadata.namespace.as_deref().unwrap_or_default(),
        s.metadata.name.as_deref().unwrap_or_default()
    );
    let template = template_of(stores, s);
    let binding = binding_of(stores, s);
    let cfg: Option<&DebugSessionNotificationConfig> = notify::debug_notification(
        template.as_ref().and_then(|t| t.notification.as_ref()),
        binding.as_ref().and_then(|b| b.spec.notification.as_ref()),
    );
    // The binding's approvers when it names any, else the template's (as approval does).
    let approvers: Option<&DebugSessionApprovers> = binding
        .as_ref()
        .and_then(|b| b.spec.approvers.as_ref())
        .filter(|a| a.has_approvers())
        .or_else(|| template.as_ref().and_then(|t| t.approvers.as_ref()));
    let requester = s
        .spec
        .requested_by_email
        .as_deref()
        .filter(|e| notify::is_address(e))
        .or_else(|| Some(s.spec.requested_by.as_str()).filter(|u| notify::is_address(u)));
    let directory = GroupDirectory {
        members: None,
        addresses: Some(mailer.group_addresses()),
    };
    let base = context(mailer, event);
    let mails: Vec<Addressed> =
        notify::debug_recipients(mail, cfg, approvers, &directory, requester)
            .into_iter()
            .map(|r| Addressed {
                to: r.address,
                context: MailContext {
                    approver_groups: r.groups,
                    ..base.clone()
                },
            })
            .collect();
    let cluster_provider = stores
        .clusters
        .by_name(&s.spec.cluster)
        .first()
        .and_then(|c| c.spec.mail_provider.clone());
    mailer.send(&[cluster_provider.as_deref()], kind_of(mail), &about, mails);
}

/// Subscribes to debug-session events and mails them until the bus closes.
pub fn follow(mailer: Arc<Mailer>, bus: &EventBus, stores: Stores) {
    crate::events::consume(bus.subscribe_debug(), "debug-session mail", move |event| {
        handle(&mailer, &stores, &event)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_map_to_the_references_mails() {
        use DebugEventKind as E;
        assert_eq!(mail_for(E::Created), Some(DebugMail::Created));
        assert_eq!(mail_for(E::ApprovalRequested), Some(DebugMail::Request));
        assert_eq!(mail_for(E::Approved), Some(DebugMail::Approved));
        assert_eq!(mail_for(E::Rejected), Some(DebugMail::Rejected));
        assert_eq!(mail_for(E::ApprovalTimedOut), Some(DebugMail::Failed));
        assert_eq!(mail_for(E::Failed), Some(DebugMail::Failed));
        assert_eq!(mail_for(E::Expired), Some(DebugMail::Expired));
        assert_eq!(mail_for(E::ExpiryNotified), Some(DebugMail::Expired));
        assert_eq!(mail_for(E::Terminated), Some(DebugMail::Terminated));
        assert_eq!(mail_for(E::Activated), None);
        assert_eq!(mail_for(E::Renewed), None);
        for audit_only in [
            E::BindingUnresolved,
            E::PodFailed,
            E::PodRestarted,
            E::ResourceDeployed,
            E::ResourceCleanup,
        ] {
            assert_eq!(mail_for(audit_only), None, "{audit_only:?}");
        }
        assert_eq!(kind_of(DebugMail::Request), MailKind::DebugRequest);
    }
}
