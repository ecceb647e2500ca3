//! Debug sessions: whether a request needs approval, and who may approve it.
//!
//! Both read the effective template (binding already merged, see
//! [`super::merge::effective_template`]); for an existing session that is the
//! snapshot in `status.resolvedTemplate`, so editing a template or binding
//! never changes who approves a pending request.

use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use thiserror::Error;

use crate::glob;

/// The person asking to approve or reject.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The configured user identifier (compared with `spec.requestedBy`).
    pub user: &'a str,
    /// Verified e-mail address, when the token carries one.
    pub email: Option<&'a str>,
    /// Groups from the token.
    pub groups: &'a [String],
}

/// Why a caller may not decide on a debug session.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApprovalRefusal {
    /// Nobody decides on their own request.
    #[error("you cannot approve or reject your own debug session request")]
    OwnRequest,
    /// The session has no resolved configuration yet, so its approvers are unknown.
    #[error("the debug session has not been resolved yet; approvers are not known")]
    NotResolved,
    /// The effective configuration names no approvers.
    #[error("no approvers are configured for this debug session")]
    NoApprovers,
    /// The caller is neither a listed approver nor in an approver group.
    #[error("you are not an approver of this debug session")]
    NotAnApprover,
}

/// True when a request by someone in `user_groups` for `cluster` needs an
/// approver: the effective configuration lists approver users or groups and
/// neither `autoApproveFor.clusters` (globs on the cluster name) nor
/// `autoApproveFor.groups` (globs on the requester's groups) applies.
/// Approvers present but empty mean approved automatically.
pub fn requires_approval(
    effective: &DebugSessionTemplateSpec,
    cluster: &str,
    user_groups: &[String],
) -> bool {
    let Some(approvers) = effective.approvers.as_ref() else {
        return false;
    };
    if !approvers.has_approvers() {
        return false;
    }
    let Some(auto) = approvers.auto_approve_for.as_ref() else {
        return true;
    };
    let by_cluster = glob::match_any(auto.clusters.as_deref().unwrap_or_default(), cluster);
    let by_group = glob::match_groups(auto.groups.as_deref().unwrap_or_default(), user_groups);
    !(by_cluster || by_group)
}

/// Whether `caller` may approve or reject `session`.
///
/// Never the requester. Approvers come from `status.resolvedTemplate`
/// (binding approvers already merged in); none configured means nobody.
/// Users match the caller's identifier exactly or as a glob, or the verified
/// e-mail (case-insensitively, or as a glob); groups match as globs.
pub fn may_approve(session: &DebugSession, caller: &Caller<'_>) -> Result<(), ApprovalRefusal> {
    if caller.user == session.spec.requested_by {
        return Err(ApprovalRefusal::OwnRequest);
    }
    let effective = session
        .status
        .as_ref()
        .and_then(|s| s.resolved_template.as_ref())
        .ok_or(ApprovalRefusal::NotResolved)?;
    let approvers = effective
        .approvers
        .as_ref()
        .filter(|a| a.has_approvers())
        .ok_or(ApprovalRefusal::NoApprovers)?;
    let users = approvers.users.as_deref().unwrap_or_default();
    let groups = approvers.groups.as_deref().unwrap_or_default();
    let by_user = users.iter().any(|u| user_matches(u, caller));
    let by_group = glob::match_groups(groups, caller.groups);
    if by_user || by_group {
        Ok(())
    } else {
        Err(ApprovalRefusal::NotAnApprover)
    }
}

fn user_matches(pattern: &str, caller: &Caller<'_>) -> bool {
    if glob::glob_match(pattern, caller.user).unwrap_or(false) {
        return true;
    }
    caller.email.is_some_and(|email| {
        let email = email.to_ascii_lowercase();
        let pattern = pattern.to_ascii_lowercase();
        glob::glob_match(&pattern, &email).unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use breakglass_api::debug_common::{AutoApproveConfig, DebugSessionApprovers};
    use breakglass_api::debug_session::{DebugSessionSpec, DebugSessionStatus};

    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn with_approvers(users: &[&str], groups: &[&str]) -> DebugSessionTemplateSpec {
        DebugSessionTemplateSpec {
            approvers: Some(DebugSessionApprovers {
                users: Some(strings(users)),
                groups: Some(strings(groups)),
                auto_approve_for: None,
            }),
            ..Default::default()
        }
    }

    fn session(effective: Option<DebugSessionTemplateSpec>) -> DebugSession {
        let mut s = DebugSession::new(
            "debug-alice-c1-x",
            DebugSessionSpec {
                cluster: "c1".into(),
                template_ref: "t".into(),
                requested_by: "alice".into(),
                ..Default::default()
            },
        );
        s.status = Some(DebugSessionStatus {
            resolved_template: effective,
            ..Default::default()
        });
        s
    }

    #[test]
    fn approval_needed_only_with_named_approvers() {
        let none = DebugSessionTemplateSpec::default();
        assert!(!requires_approval(&none, "c1", &[]));
        let empty = with_approvers(&[], &[]);
        assert!(
            !requires_approval(&empty, "c1", &[]),
            "present but empty ⇒ auto"
        );
        assert!(requires_approval(&with_approvers(&["bob"], &[]), "c1", &[]));
        assert!(requires_approval(
            &with_approvers(&[], &["sre-leads"]),
            "c1",
            &[]
        ));
    }

    #[test]
    fn auto_approve_by_cluster_glob_or_group() {
        let mut t = with_approvers(&[], &["sre-leads"]);
        if let Some(a) = t.approvers.as_mut() {
            a.auto_approve_for = Some(AutoApproveConfig {
                groups: Some(strings(&["oncall-*"])),
                clusters: Some(strings(&["dev-*"])),
            });
        }
        assert!(!requires_approval(&t, "dev-1", &[]));
        assert!(requires_approval(&t, "prod-1", &[]));
        assert!(!requires_approval(&t, "prod-1", &strings(&["oncall-eu"])));
        assert!(requires_approval(&t, "prod-1", &strings(&["developers"])));
    }

    #[test]
    fn requester_never_approves() {
        let s = session(Some(with_approvers(&["alice", "*"], &["*"])));
        let groups = strings(&["sre-leads"]);
        let caller = Caller {
            user: "alice",
            email: None,
            groups: &groups,
        };
        assert_eq!(may_approve(&s, &caller), Err(ApprovalRefusal::OwnRequest));
    }

    #[test]
    fn approvers_by_user_email_and_group() {
        let s = session(Some(with_approvers(
            &["bob", "ops-*", "Carol@Example.com"],
            &["sre-*"],
        )));
        let none: Vec<String> = Vec::new();
        let sre = strings(&["sre-leads"]);
        let dev = strings(&["developers"]);
        let call = |user, email, groups| {
            may_approve(
                &s,
                &Caller {
                    user,
                    email,
                    groups,
                },
            )
        };
        assert_eq!(call("bob", None, &none), Ok(()));
        assert_eq!(call("ops-7", None, &none), Ok(()));
        assert_eq!(call("c", Some("carol@example.com"), &none), Ok(()));
        assert_eq!(call("dave", None, &sre), Ok(()));
        assert_eq!(
            call("dave", None, &dev),
            Err(ApprovalRefusal::NotAnApprover)
        );
        assert_eq!(
            call("Bob", None, &none),
            Err(ApprovalRefusal::NotAnApprover)
        );
    }

    #[test]
    fn empty_or_missing_approvers_means_nobody() {
        let sre = strings(&["sre-leads"]);
        let caller = Caller {
            user: "bob",
            email: None,
            groups: &sre,
        };
        let s = session(Some(with_approvers(&[], &[])));
        assert_eq!(may_approve(&s, &caller), Err(ApprovalRefusal::NoApprovers));
        let s = session(Some(DebugSessionTemplateSpec::default()));
        assert_eq!(may_approve(&s, &caller), Err(ApprovalRefusal::NoApprovers));
        let s = session(None);
        assert_eq!(may_approve(&s, &caller), Err(ApprovalRefusal::NotResolved));
    }
}
