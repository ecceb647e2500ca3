//! Who is told about what by e-mail: pure recipient and event selection.
//!
//! Approver **groups** cannot be expanded to people without a group directory. Two
//! sources are used, both optional: members that a group sync wrote to the escalation's
//! `status.approverGroupMembers`, and a server-configured mailing-list address per group
//! (`mail.groupAddresses`). A group with neither is not mailed (the server logs it).

use std::collections::{BTreeMap, BTreeSet};

use breakglass_api::breakglass_escalation::BreakglassEscalationSpec;
use breakglass_api::common::NotificationExclusions;
use breakglass_api::debug_common::{DebugSessionApprovers, DebugSessionNotificationConfig};

use crate::session::SessionNotice;

/// One mail to send: the address and, for requests, the approver groups through which
/// the recipient is asked (empty for explicit approver users and requesters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Mail address.
    pub address: String,
    /// Approver groups naming this recipient, sorted.
    pub groups: Vec<String>,
}

/// The mails of breakglass sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionMail {
    /// To the approvers: a new request.
    Request,
    /// To the requester: approved.
    Approved,
    /// To the requester: rejected.
    Rejected,
    /// To the requester: a scheduled session became active.
    Activated,
    /// To the requester: the validity ended.
    Expired,
    /// To the requester: nobody approved in time (the reference's "Session Expired").
    ApprovalTimeout,
    /// To the requester: unused for the idle timeout.
    IdleExpired,
}

/// The requester's mail for a transition notice. Activation at approval time is
/// covered by the approval mail, so `Activated` mails only for scheduled sessions;
/// withdraw, drop and cancel send nothing (the reference's table).
pub fn session_mail(notice: SessionNotice, scheduled: bool) -> Option<SessionMail> {
    match notice {
        SessionNotice::Approved => Some(SessionMail::Approved),
        SessionNotice::Rejected => Some(SessionMail::Rejected),
        SessionNotice::Activated if scheduled => Some(SessionMail::Activated),
        SessionNotice::Expired => Some(SessionMail::Expired),
        SessionNotice::ApprovalTimedOut => Some(SessionMail::ApprovalTimeout),
        SessionNotice::IdleExpired => Some(SessionMail::IdleExpired),
        SessionNotice::Activated
        | SessionNotice::Withdrawn
        | SessionNotice::Dropped
        | SessionNotice::Canceled => None,
    }
}

/// Whether `s` can be used as a mail address (user identifiers may be user names).
pub fn is_address(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// Where approver groups lead: synced members and configured list addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupDirectory<'a> {
    /// Members per group from a group sync (`status.approverGroupMembers`).
    pub members: Option<&'a BTreeMap<String, Vec<String>>>,
    /// A mailing-list address per group (`mail.groupAddresses`).
    pub addresses: Option<&'a BTreeMap<String, String>>,
}

impl GroupDirectory<'_> {
    /// The addresses a group reaches: its synced members, then its list address.
    pub fn expand(&self, group: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .members
            .and_then(|m| m.get(group))
            .cloned()
            .unwrap_or_default();
        if let Some(a) = self.addresses.and_then(|a| a.get(group)) {
            out.push(a.clone());
        }
        out
    }

    /// Whether the directory knows anything about `group`.
    pub fn knows(&self, group: &str) -> bool {
        self.members.is_some_and(|m| m.contains_key(group))
            || self.addresses.is_some_and(|a| a.contains_key(group))
    }
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Collects recipients, keyed case-insensitively, with the groups that named them.
#[derive(Default)]
struct Collector {
    by_key: BTreeMap<String, (String, BTreeSet<String>)>,
}

impl Collector {
    fn add(&mut self, address: &str, group: Option<&str>) {
        let address = address.trim();
        if !is_address(address) {
            return;
        }
        let entry = self
            .by_key
            .entry(key(address))
            .or_insert_with(|| (address.to_owned(), BTreeSet::new()));
        if let Some(g) = group {
            entry.1.insert(g.to_owned());
        }
    }

    fn finish(self, excluded: &BTreeSet<String>) -> Vec<Recipient> {
        self.by_key
            .into_iter()
            .filter(|(k, _)| !excluded.contains(k))
            .map(|(_, (address, groups))| Recipient {
                address,
                groups: groups.into_iter().collect(),
            })
            .collect()
    }
}

/// Excluded addresses (lower-case): the listed users and the known members (and list
/// addresses) of the listed groups.
fn excluded_addresses(
    exclusions: Option<&NotificationExclusions>,
    directory: &GroupDirectory<'_>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    if let Some(x) = exclusions {
        for u in x.users.iter().flatten() {
            users.insert(key(u));
        }
        for g in x.groups.iter().flatten() {
            groups.insert(g.trim().to_owned());
            for m in directory.expand(g.trim()) {
                users.insert(key(&m));
            }
        }
    }
    (users, groups)
}

/// The approvers to mail about a new request on an escalation: one entry per person
/// (explicit `approvers.users` and the people the approver groups lead to), each listing
/// the groups that name them; minus `notificationExclusions` (users, and groups with
/// their known members), minus entries of `approvers.hiddenFromUI` (groups or users),
/// minus the requester; nobody when `disableNotifications` is set. Entries that are not
/// mail addresses are left out.
pub fn session_request_recipients(
    escalation: &BreakglassEscalationSpec,
    directory: &GroupDirectory<'_>,
    requester: &str,
) -> Vec<Recipient> {
    if escalation.disable_notifications == Some(true) {
        return Vec::new();
    }
    let hidden: BTreeSet<String> = escalation
        .approvers
        .hidden_from_ui
        .iter()
        .flatten()
        .map(|h| key(h))
        .collect();
    let (mut excluded, excluded_groups) =
        excluded_addresses(escalation.notification_exclusions.as_ref(), directory);
    excluded.insert(key(requester));
    let mut c = Collector::default();
    for u in escalation.approvers.users.iter().flatten() {
        if !hidden.contains(&key(u)) {
            c.add(u, None);
        }
    }
    for g in escalation.approvers.groups.iter().flatten() {
        let g = g.trim();
        if hidden.contains(&key(g)) || excluded_groups.contains(g) {
            continue;
        }
        for m in directory.expand(g) {
            if !hidden.contains(&key(&m)) {
                c.add(&m, Some(g));
            }
        }
    }
    c.finish(&excluded)
}

/// The mails of debug sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DebugMail {
    /// To the approvers: a request needs approval.
    Request,
    /// To the requester: created.
    Created,
    /// To the requester: approved.
    Approved,
    /// To the requester: rejected.
    Rejected,
    /// To the requester: failed.
    Failed,
    /// To the requester and additional recipients: expired.
    Expired,
    /// To the requester and additional recipients: terminated.
    Terminated,
}

/// The effective notification settings of a debug session: the binding's block when it
/// has one, else the template's, else the defaults (everything on).
pub fn debug_notification<'a>(
    template: Option<&'a DebugSessionNotificationConfig>,
    binding: Option<&'a DebugSessionNotificationConfig>,
) -> Option<&'a DebugSessionNotificationConfig> {
    binding.or(template)
}

fn switched_on(cfg: Option<&DebugSessionNotificationConfig>, mail: DebugMail) -> bool {
    let Some(cfg) = cfg else { return true };
    if cfg.enabled == Some(false) {
        return false;
    }
    let toggle = match mail {
        DebugMail::Request => cfg.notify_on_request,
        DebugMail::Approved | DebugMail::Rejected => cfg.notify_on_approval,
        DebugMail::Expired => cfg.notify_on_expiry,
        DebugMail::Terminated => cfg.notify_on_termination,
        DebugMail::Created | DebugMail::Failed => None,
    };
    toggle != Some(false)
}

/// Who gets a debug-session mail.
///
/// - `Request`: `approvers.users` and the addresses the approver groups lead to, plus
///   `additionalRecipients`; nobody when the request was approved automatically.
/// - `Expired` and `Terminated`: the requester plus `additionalRecipients`.
/// - the rest: the requester.
///
/// Always minus `excludedRecipients` (users, and groups with their known members), and
/// nobody when `enabled` or the mail's toggle (`notifyOnRequest`, `notifyOnApproval`
/// for approve and reject, `notifyOnExpiry`, `notifyOnTermination`) is false.
pub fn debug_recipients(
    mail: DebugMail,
    cfg: Option<&DebugSessionNotificationConfig>,
    approvers: Option<&DebugSessionApprovers>,
    directory: &GroupDirectory<'_>,
    requester_address: Option<&str>,
) -> Vec<Recipient> {
    if !switched_on(cfg, mail) {
        return Vec::new();
    }
    let (excluded, excluded_groups) =
        excluded_addresses(cfg.and_then(|c| c.excluded_recipients.as_ref()), directory);
    let additional = cfg
        .and_then(|c| c.additional_recipients.as_ref())
        .into_iter()
        .flatten();
    let mut c = Collector::default();
    match mail {
        DebugMail::Request => {
            if let Some(a) = approvers {
                for u in a.users.iter().flatten() {
                    c.add(u, None);
                }
                for g in a.groups.iter().flatten() {
                    let g = g.trim();
                    if excluded_groups.contains(g) {
                        continue;
                    }
                    for m in directory.expand(g) {
                        c.add(&m, Some(g));
                    }
                }
            }
            for r in additional {
                c.add(r, None);
            }
        }
        DebugMail::Expired | DebugMail::Terminated => {
            if let Some(r) = requester_address {
                c.add(r, None);
            }
            for r in additional {
                c.add(r, None);
            }
        }
        DebugMail::Created | DebugMail::Approved | DebugMail::Rejected | DebugMail::Failed => {
            if let Some(r) = requester_address {
                c.add(r, None);
            }
        }
    }
    c.finish(&excluded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use breakglass_api::breakglass_escalation::BreakglassEscalationApprovers;

    use super::*;

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    fn esc(users: &[&str], groups: &[&str]) -> BreakglassEscalationSpec {
        BreakglassEscalationSpec {
            approvers: BreakglassEscalationApprovers {
                users: v(users),
                groups: v(groups),
                hidden_from_ui: None,
            },
            escalated_group: "admin".into(),
            ..Default::default()
        }
    }

    fn addrs(r: &[Recipient]) -> Vec<&str> {
        r.iter().map(|r| r.address.as_str()).collect()
    }

    fn map(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, vs)| {
                (
                    (*k).to_owned(),
                    vs.iter().map(|s| (*s).to_owned()).collect(),
                )
            })
            .collect()
    }

    fn lists(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
            .collect()
    }

    #[test]
    fn explicit_users_each_get_one_mail_sorted_and_deduplicated() {
        let e = esc(&["b@x.io", "a@x.io", "B@x.io"], &[]);
        let r = session_request_recipients(&e, &GroupDirectory::default(), "req@x.io");
        assert_eq!(addrs(&r), ["a@x.io", "b@x.io"]);
        assert!(r.iter().all(|r| r.groups.is_empty()));
    }

    #[test]
    fn groups_expand_to_synced_members_and_list_addresses_one_mail_per_person() {
        let members = map(&[("sre", &["a@x.io", "c@x.io"]), ("ops", &["a@x.io"])]);
        let addresses = lists(&[("sre", "sre-list@x.io")]);
        let dir = GroupDirectory {
            members: Some(&members),
            addresses: Some(&addresses),
        };
        let e = esc(&["a@x.io"], &["sre", "ops", "unknown"]);
        let r = session_request_recipients(&e, &dir, "req@x.io");
        assert_eq!(
            r,
            vec![
                Recipient {
                    address: "a@x.io".into(),
                    groups: vec!["ops".into(), "sre".into()]
                },
                Recipient {
                    address: "c@x.io".into(),
                    groups: vec!["sre".into()]
                },
                Recipient {
                    address: "sre-list@x.io".into(),
                    groups: vec!["sre".into()]
                },
            ]
        );
        assert!(dir.knows("sre") && dir.knows("ops") && !dir.knows("unknown"));
    }

    #[test]
    fn disable_notifications_sends_nothing() {
        let mut e = esc(&["a@x.io"], &[]);
        e.disable_notifications = Some(true);
        assert!(session_request_recipients(&e, &GroupDirectory::default(), "r@x.io").is_empty());
        e.disable_notifications = Some(false);
        assert_eq!(
            session_request_recipients(&e, &GroupDirectory::default(), "r@x.io").len(),
            1
        );
    }

    #[test]
    fn exclusions_remove_users_groups_and_known_group_members() {
        let members = map(&[("sre", &["a@x.io", "c@x.io"]), ("quiet", &["c@x.io"])]);
        let addresses = lists(&[("muted", "muted-list@x.io")]);
        let dir = GroupDirectory {
            members: Some(&members),
            addresses: Some(&addresses),
        };
        let mut e = esc(&["a@x.io", "b@x.io"], &["sre", "muted"]);
        e.notification_exclusions = Some(NotificationExclusions {
            users: v(&["B@X.IO"]),
            groups: v(&["quiet", "muted"]),
        });
        let r = session_request_recipients(&e, &dir, "req@x.io");
        // b is excluded by name, c as a member of an excluded group, the muted group's
        // list because the group itself is excluded.
        assert_eq!(addrs(&r), ["a@x.io"]);
    }

    #[test]
    fn hidden_groups_and_users_are_not_mailed() {
        let addresses = lists(&[("sre", "sre@x.io"), ("secret", "secret@x.io")]);
        let dir = GroupDirectory {
            members: None,
            addresses: Some(&addresses),
        };
        let mut e = esc(&["a@x.io", "hidden@x.io"], &["sre", "secret"]);
        e.approvers.hidden_from_ui = v(&["secret", "hidden@x.io"]);
        let r = session_request_recipients(&e, &dir, "req@x.io");
        assert_eq!(addrs(&r), ["a@x.io", "sre@x.io"]);
    }

    #[test]
    fn the_requester_and_non_addresses_are_left_out() {
        let e = esc(&["Req@x.io", "alice", "bad address@x.io", "a@x.io"], &[]);
        let r = session_request_recipients(&e, &GroupDirectory::default(), "req@x.io");
        assert_eq!(addrs(&r), ["a@x.io"]);
    }

    #[test]
    fn is_address_accepts_only_plain_addresses() {
        assert!(is_address("a@example.com"));
        assert!(!is_address("alice"));
        assert!(!is_address("@example.com"));
        assert!(!is_address("a@"));
        assert!(!is_address("a@b@c"));
        assert!(!is_address("a b@c.d"));
        assert!(!is_address("a@c.d\r\nBcc: x@y.z"));
    }

    #[test]
    fn session_mails_follow_the_references_table() {
        use SessionNotice as N;
        assert_eq!(
            session_mail(N::Approved, false),
            Some(SessionMail::Approved)
        );
        assert_eq!(
            session_mail(N::Rejected, false),
            Some(SessionMail::Rejected)
        );
        assert_eq!(session_mail(N::Activated, false), None);
        assert_eq!(
            session_mail(N::Activated, true),
            Some(SessionMail::Activated)
        );
        assert_eq!(session_mail(N::Expired, true), Some(SessionMail::Expired));
        assert_eq!(
            session_mail(N::ApprovalTimedOut, false),
            Some(SessionMail::ApprovalTimeout)
        );
        assert_eq!(
            session_mail(N::IdleExpired, false),
            Some(SessionMail::IdleExpired)
        );
        for n in [N::Withdrawn, N::Dropped, N::Canceled] {
            assert_eq!(session_mail(n, false), None, "{n:?}");
            assert_eq!(session_mail(n, true), None, "{n:?}");
        }
    }

    fn debug_cfg() -> DebugSessionNotificationConfig {
        DebugSessionNotificationConfig {
            additional_recipients: v(&["audit@x.io"]),
            ..Default::default()
        }
    }

    fn approvers() -> DebugSessionApprovers {
        DebugSessionApprovers {
            users: v(&["lead@x.io", "other@x.io"]),
            groups: v(&["sre"]),
            auto_approve_for: None,
        }
    }

    #[test]
    fn debug_request_goes_to_approver_users_groups_and_additional_recipients() {
        let addresses = lists(&[("sre", "sre@x.io")]);
        let dir = GroupDirectory {
            members: None,
            addresses: Some(&addresses),
        };
        let mut cfg = debug_cfg();
        cfg.excluded_recipients = Some(NotificationExclusions {
            users: v(&["other@x.io"]),
            groups: None,
        });
        let r = debug_recipients(
            DebugMail::Request,
            Some(&cfg),
            Some(&approvers()),
            &dir,
            Some("req@x.io"),
        );
        assert_eq!(addrs(&r), ["audit@x.io", "lead@x.io", "sre@x.io"]);
        // Without a config: approvers only.
        let r = debug_recipients(DebugMail::Request, None, Some(&approvers()), &dir, None);
        assert_eq!(addrs(&r), ["lead@x.io", "other@x.io", "sre@x.io"]);
    }

    #[test]
    fn debug_requester_mails_and_additional_recipients_on_the_end() {
        let dir = GroupDirectory::default();
        let cfg = debug_cfg();
        for mail in [
            DebugMail::Created,
            DebugMail::Approved,
            DebugMail::Rejected,
            DebugMail::Failed,
        ] {
            let r = debug_recipients(mail, Some(&cfg), Some(&approvers()), &dir, Some("req@x.io"));
            assert_eq!(addrs(&r), ["req@x.io"], "{mail:?}");
        }
        for mail in [DebugMail::Expired, DebugMail::Terminated] {
            let r = debug_recipients(mail, Some(&cfg), Some(&approvers()), &dir, Some("req@x.io"));
            assert_eq!(addrs(&r), ["audit@x.io", "req@x.io"], "{mail:?}");
        }
        // A requester known only by user name gets nothing; others still do.
        let r = debug_recipients(DebugMail::Expired, Some(&cfg), None, &dir, Some("alice"));
        assert_eq!(addrs(&r), ["audit@x.io"]);
    }

    #[test]
    fn debug_toggles_switch_their_mails_off() {
        let dir = GroupDirectory::default();
        let all = [
            DebugMail::Request,
            DebugMail::Created,
            DebugMail::Approved,
            DebugMail::Rejected,
            DebugMail::Failed,
            DebugMail::Expired,
            DebugMail::Terminated,
        ];
        let off = DebugSessionNotificationConfig {
            enabled: Some(false),
            ..debug_cfg()
        };
        for mail in all {
            assert!(
                debug_recipients(mail, Some(&off), Some(&approvers()), &dir, Some("r@x.io"))
                    .is_empty(),
                "{mail:?}"
            );
        }
        let cases: [(DebugSessionNotificationConfig, &[DebugMail]); 4] = [
            (
                DebugSessionNotificationConfig {
                    notify_on_request: Some(false),
                    ..Default::default()
                },
                &[DebugMail::Request],
            ),
            (
                DebugSessionNotificationConfig {
                    notify_on_approval: Some(false),
                    ..Default::default()
                },
                &[DebugMail::Approved, DebugMail::Rejected],
            ),
            (
                DebugSessionNotificationConfig {
                    notify_on_expiry: Some(false),
                    ..Default::default()
                },
                &[DebugMail::Expired],
            ),
            (
                DebugSessionNotificationConfig {
                    notify_on_termination: Some(false),
                    ..Default::default()
                },
                &[DebugMail::Terminated],
            ),
        ];
        for (cfg, silenced) in cases {
            for mail in all {
                let r =
                    debug_recipients(mail, Some(&cfg), Some(&approvers()), &dir, Some("r@x.io"));
                assert_eq!(r.is_empty(), silenced.contains(&mail), "{mail:?} {cfg:?}");
            }
        }
    }

    #[test]
    fn the_bindings_notification_block_wins_over_the_templates() {
        let t = DebugSessionNotificationConfig {
            enabled: Some(false),
            ..Default::default()
        };
        let b = DebugSessionNotificationConfig::default();
        assert_eq!(debug_notification(Some(&t), Some(&b)), Some(&b));
        assert_eq!(debug_notification(Some(&t), None), Some(&t));
        assert_eq!(debug_notification(None, None), None);
    }
}
