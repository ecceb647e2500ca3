//! Who may approve, reject or cancel a BreakglassSession.
//!
//! The decision is taken over the escalations that could have produced the session
//! (same cluster, same granted group), narrowed to the owning escalation when the
//! session names one, so an approver of a sibling escalation cannot approve. Escalation
//! settings override the ClusterConfig defaults (`blockSelfApproval`,
//! `allowedApproverDomains`). When no escalation lets the caller approve, the most
//! specific reason wins: self-approval blocked, then domain, then identity provider,
//! then "not an approver", then "no matching escalation".

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::cluster_config::ClusterConfigSpec;

use crate::escalation::{self, strip_prefix};

/// The caller who wants to decide on a session.
#[derive(Debug, Clone, Copy)]
pub struct Approver<'a> {
    /// The caller's **verified** e-mail (`email` with `email_verified: true`), the only
    /// claim matched against `approvers.users`, synced group members and approver
    /// domains; `None` when the token has no verified e-mail.
    pub email: Option<&'a str>,
    /// Whether the caller is the session's requester, as decided by the caller's
    /// identity rules (issuer and user-identifier claim, compared exactly).
    pub is_requester: bool,
    /// Groups, normalised with [`escalation::normalize_groups`].
    pub groups: &'a [String],
    /// IdentityProvider that verified the caller's token.
    pub provider: Option<&'a str>,
}

/// The ClusterConfig defaults that apply to the session's cluster.
#[derive(Debug, Clone, Copy)]
pub enum ClusterPolicy<'a> {
    /// The one ClusterConfig of that name.
    Found(&'a ClusterConfigSpec),
    /// No ClusterConfig of that name: no cluster-level defaults.
    Missing,
    /// Several ClusterConfigs share the name in different namespaces: fail closed.
    Ambiguous,
}

/// Why a caller may not decide; each maps to the reference's reason code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The token has no verified e-mail; approvals are matched and recorded by e-mail.
    #[error("your token has no verified email claim; approvals need a verified e-mail identity")]
    Unauthenticated,
    /// The cluster's approval policy cannot be determined.
    #[error(
        "the approval policy of cluster {0:?} is ambiguous (several ClusterConfigs share the name)"
    )]
    ClusterPolicyAmbiguous(String),
    /// The requester may not approve their own session.
    #[error("self-approval is blocked for this escalation: another approver must decide")]
    SelfApprovalBlocked,
    /// The approver's e-mail domain is not allowed.
    #[error("Your email domain is not in the list of allowed approver domains ({0})")]
    DomainNotAllowed(String),
    /// The approver's identity provider is not allowed to approve.
    #[error("approvals from identity provider {0:?} are not allowed for this escalation")]
    IdpNotAllowed(String),
    /// The caller is neither a listed approver nor in an approver group.
    #[error("you are not an approver of this session")]
    NotAnApprover,
    /// No escalation for this cluster grants the session's group.
    #[error("no escalation grants group {group:?} on cluster {cluster:?}")]
    NoMatchingEscalation {
        /// The session's cluster.
        cluster: String,
        /// The session's granted group.
        group: String,
    },
}

impl Denial {
    /// The reference's machine-readable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::ClusterPolicyAmbiguous(_) => "CLUSTER_APPROVAL_POLICY_AMBIGUOUS",
            Self::SelfApprovalBlocked => "SELF_APPROVAL_BLOCKED",
            Self::DomainNotAllowed(_) => "DOMAIN_NOT_ALLOWED",
            Self::IdpNotAllowed(_) => "IDP_NOT_ALLOWED",
            Self::NotAnApprover => "NOT_AN_APPROVER",
            Self::NoMatchingEscalation { .. } => "NO_MATCHING_ESCALATION",
        }
    }

    /// Specificity: when several escalations refuse, the highest rank is reported.
    fn rank(&self) -> u8 {
        match self {
            Self::Unauthenticated | Self::ClusterPolicyAmbiguous(_) => 9,
            Self::SelfApprovalBlocked => 5,
            Self::DomainNotAllowed(_) => 4,
            Self::IdpNotAllowed(_) => 3,
            Self::NotAnApprover => 2,
            Self::NoMatchingEscalation { .. } => 1,
        }
    }
}

/// The escalations a decision on `session` is taken over: same cluster, same granted
/// group (prefixes ignored), and — when the session has a controller owner reference
/// to an escalation — only that one (matched by UID, else by name and namespace).
pub fn candidates<'e>(
    session: &BreakglassSession,
    escalations: impl IntoIterator<Item = &'e BreakglassEscalation>,
    prefixes: &[String],
) -> Vec<&'e BreakglassEscalation> {
    let owner = crate::session::owning_escalation(session);
    let group = strip_prefix(&session.spec.granted_group, prefixes);
    escalations
        .into_iter()
        .filter(|e| match owner {
            Some(o) => match &e.metadata.uid {
                Some(uid) => *uid == o.uid,
                None => {
                    e.metadata.name.as_deref() == Some(o.name.as_str())
                        && e.metadata.namespace == session.metadata.namespace
                }
            },
            None => {
                escalation::targets_cluster(&e.spec, &session.spec.cluster)
                    && strip_prefix(&e.spec.escalated_group, prefixes) == group
            }
        })
        .collect()
}

/// Decides whether `approver` may approve (or reject, or cancel) `session`, given the
/// candidate escalations (see [`candidates`]). Returns the escalation that authorises
/// the decision.
pub fn authorize<'e>(
    approver: &Approver<'_>,
    session: &BreakglassSession,
    candidates: &[&'e BreakglassEscalation],
    cluster: ClusterPolicy<'_>,
    prefixes: &[String],
) -> Result<&'e BreakglassEscalation, Denial> {
    let Some(email) = approver.email else {
        return Err(Denial::Unauthenticated);
    };
    let defaults = match cluster {
        ClusterPolicy::Found(spec) => Some(spec),
        ClusterPolicy::Missing => None,
        ClusterPolicy::Ambiguous => {
            return Err(Denial::ClusterPolicyAmbiguous(session.spec.cluster.clone()));
        }
    };
    let mut best = Denial::NoMatchingEscalation {
        cluster: session.spec.cluster.clone(),
        group: session.spec.granted_group.clone(),
    };
    for esc in candidates {
        let requester_provider = session.spec.identity_provider_name.as_deref();
        match check_one(approver, email, esc, defaults, requester_provider, prefixes) {
            Ok(()) => return Ok(esc),
            Err(denial) if denial.rank() > best.rank() => best = denial,
            Err(_) => {}
        }
    }
    Err(best)
}

fn check_one(
    approver: &Approver<'_>,
    email: &str,
    esc: &BreakglassEscalation,
    defaults: Option<&ClusterConfigSpec>,
    requester_provider: Option<&str>,
    prefixes: &[String],
) -> Result<(), Denial> {
    let spec = &esc.spec;
    let block_self = spec
        .block_self_approval
        .or_else(|| defaults.and_then(|d| d.block_self_approval))
        .unwrap_or(false);
    if block_self && approver.is_requester {
        return Err(Denial::SelfApprovalBlocked);
    }
    let domains = spec
        .allowed_approver_domains
        .as_deref()
        .filter(|d| !d.is_empty())
        .or_else(|| {
            defaults
                .and_then(|d| d.allowed_approver_domains.as_deref())
                .filter(|d| !d.is_empty())
        });
    if let Some(domains) = domains
        && !domains.iter().any(|d| email_in_domain(email, d))
    {
        return Err(Denial::DomainNotAllowed(domains.join(", ")));
    }
    if !approver_provider_allowed(spec, approver.provider, requester_provider) {
        return Err(Denial::IdpNotAllowed(
            approver.provider.unwrap_or("unknown").to_owned(),
        ));
    }
    if is_listed_approver(approver, email, esc, prefixes) {
        Ok(())
    } else {
        Err(Denial::NotAnApprover)
    }
}

/// Whether an approver whose token came from `approver` may decide. An escalation that
/// lists identity providers for approvers decides; without a list, approvers must come
/// from the provider the requester used: a person is a claim of one issuer, so the same
/// e-mail or group from another issuer names someone else. Sessions that recorded no
/// provider (created before providers were recorded) keep the unrestricted rule.
pub fn approver_provider_allowed(
    spec: &breakglass_api::breakglass_escalation::BreakglassEscalationSpec,
    approver: Option<&str>,
    requester: Option<&str>,
) -> bool {
    if escalation::approver_idps(spec).is_some() {
        return escalation::provider_may_approve(spec, approver);
    }
    match requester {
        Some(r) => approver == Some(r),
        None => true,
    }
}

/// True when the approver is named in `approvers.users`, is a synced member of an
/// approver group, or carries an approver group in their token.
pub fn is_listed_approver(
    approver: &Approver<'_>,
    email: &str,
    esc: &BreakglassEscalation,
    prefixes: &[String],
) -> bool {
    let approvers = &esc.spec.approvers;
    let users = approvers.users.as_deref().unwrap_or_default();
    // E-mail addresses only: a username claim that happens to spell someone's e-mail
    // must not make its holder an approver.
    if users.iter().any(|u| u.eq_ignore_ascii_case(email)) {
        return true;
    }
    let groups = approvers.groups.as_deref().unwrap_or_default();
    let synced = esc
        .status
        .as_ref()
        .and_then(|s| s.approver_group_members.as_ref());
    groups.iter().any(|g| {
        let bare = strip_prefix(g, prefixes);
        approver.groups.iter().any(|mine| mine == bare)
            || synced
                .and_then(|m| m.get(g))
                .is_some_and(|members| members.iter().any(|m| m.eq_ignore_ascii_case(email)))
    })
}

/// Suffix match on `@domain`, case-insensitive; the domain may be written with or
/// without a leading `@`.
pub fn email_in_domain(email: &str, domain: &str) -> bool {
    let domain = domain.trim_start_matches('@');
    match email.rsplit_once('@') {
        Some((local, d)) => {
            !local.is_empty() && !domain.is_empty() && d.eq_ignore_ascii_case(domain)
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use breakglass_api::breakglass_escalation::{
        BreakglassEscalationAllowed, BreakglassEscalationApprovers, BreakglassEscalationSpec,
        BreakglassEscalationStatus,
    };
    use breakglass_api::breakglass_session::BreakglassSessionSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    fn s(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|x| x.to_string()).collect())
    }

    fn escalation(name: &str) -> BreakglassEscalation {
        let mut e = BreakglassEscalation::new(
            name,
            BreakglassEscalationSpec {
                allowed: Some(BreakglassEscalationAllowed {
                    clusters: s(&["target-a"]),
                    groups: s(&["developers"]),
                }),
                approvers: BreakglassEscalationApprovers {
                    users: s(&["lead@example.com"]),
                    groups: s(&["sre-leads"]),
                    hidden_from_ui: None,
                },
                escalated_group: "admin".to_owned(),
                ..Default::default()
            },
        );
        e.metadata.namespace = Some("team".to_owned());
        e.metadata.uid = Some(format!("uid-{name}"));
        e
    }

    fn session(owner: Option<&str>) -> BreakglassSession {
        let mut s = BreakglassSession::new(
            "target-a-admin-x",
            BreakglassSessionSpec {
                cluster: "target-a".to_owned(),
                user: "dev@example.com".to_owned(),
                granted_group: "admin".to_owned(),
                ..Default::default()
            },
        );
        s.metadata.namespace = Some("team".to_owned());
        if let Some(o) = owner {
            s.metadata.owner_references = Some(vec![OwnerReference {
                api_version: "breakglass.t-caas.telekom.com/v1alpha1".to_owned(),
                kind: "BreakglassEscalation".to_owned(),
                name: o.to_owned(),
                uid: format!("uid-{o}"),
                controller: Some(true),
                block_owner_deletion: None,
            }]);
        }
        s
    }

    struct Who {
        email: Option<&'static str>,
        groups: Vec<String>,
        provider: Option<&'static str>,
    }

    impl Who {
        fn new(email: &'static str, groups: &[&str]) -> Self {
            Self {
                email: Some(email),
                groups: groups.iter().map(|g| g.to_string()).collect(),
                provider: Some("dex"),
            }
        }
        fn approver(&self) -> Approver<'_> {
            Approver {
                email: self.email,
                is_requester: self.email == Some("dev@example.com"),
                groups: &self.groups,
                provider: self.provider,
            }
        }
    }

    fn decide(
        who: &Who,
        escs: &[BreakglassEscalation],
        cluster: ClusterPolicy<'_>,
    ) -> Result<String, Denial> {
        let session = session(None);
        let c = candidates(&session, escs, &[]);
        authorize(&who.approver(), &session, &c, cluster, &[])
            .map(|e| e.metadata.name.clone().unwrap())
    }

    #[test]
    fn listed_users_and_group_members_approve() {
        let escs = [escalation("e")];
        assert!(
            decide(
                &Who::new("lead@example.com", &[]),
                &escs,
                ClusterPolicy::Missing
            )
            .is_ok()
        );
        assert!(
            decide(
                &Who::new("LEAD@example.com", &[]),
                &escs,
                ClusterPolicy::Missing
            )
            .is_ok()
        );
        assert!(
            decide(
                &Who::new("a@example.com", &["sre-leads"]),
                &escs,
                ClusterPolicy::Missing
            )
            .is_ok()
        );
        assert_eq!(
            decide(
                &Who::new("a@example.com", &["developers"]),
                &escs,
                ClusterPolicy::Missing
            ),
            Err(Denial::NotAnApprover)
        );
        // Synced group members approve without the group in their token.
        let mut e = escalation("e");
        e.status = Some(BreakglassEscalationStatus {
            approver_group_members: Some(
                [(
                    "sre-leads".to_owned(),
                    vec!["synced@example.com".to_owned()],
                )]
                .into(),
            ),
            ..Default::default()
        });
        assert!(
            decide(
                &Who::new("synced@example.com", &[]),
                &[e],
                ClusterPolicy::Missing
            )
            .is_ok()
        );
    }

    #[test]
    fn hidden_entries_alone_grant_nothing() {
        let mut e = escalation("e");
        e.spec.approvers.hidden_from_ui = s(&["shadow@example.com", "shadow-group"]);
        assert_eq!(
            decide(
                &Who::new("shadow@example.com", &["shadow-group"]),
                &[e],
                ClusterPolicy::Missing
            ),
            Err(Denial::NotAnApprover)
        );
    }

    #[test]
    fn self_approval_is_allowed_unless_blocked() {
        let who = Who::new("dev@example.com", &["sre-leads"]);
        let e = escalation("e");
        assert!(decide(&who, std::slice::from_ref(&e), ClusterPolicy::Missing).is_ok());
        let mut blocked = e.clone();
        blocked.spec.block_self_approval = Some(true);
        assert_eq!(
            decide(&who, &[blocked], ClusterPolicy::Missing),
            Err(Denial::SelfApprovalBlocked)
        );
        // The ClusterConfig default applies when the escalation says nothing ...
        let cluster = ClusterConfigSpec {
            block_self_approval: Some(true),
            ..Default::default()
        };
        assert_eq!(
            decide(
                &who,
                std::slice::from_ref(&e),
                ClusterPolicy::Found(&cluster)
            ),
            Err(Denial::SelfApprovalBlocked)
        );
        // ... and the escalation's explicit false wins over it.
        let mut allowed = e;
        allowed.spec.block_self_approval = Some(false);
        assert!(decide(&who, &[allowed], ClusterPolicy::Found(&cluster)).is_ok());
    }

    #[test]
    fn approver_domains_from_escalation_or_cluster() {
        let mut e = escalation("e");
        e.spec.allowed_approver_domains = s(&["restricted-domain.example.org"]);
        assert!(matches!(
            decide(
                &Who::new("lead@example.com", &[]),
                &[e.clone()],
                ClusterPolicy::Missing
            ),
            Err(Denial::DomainNotAllowed(_))
        ));
        e.spec.approvers.users = s(&["boss@restricted-domain.example.org"]);
        assert!(
            decide(
                &Who::new("boss@Restricted-Domain.example.org", &[]),
                &[e],
                ClusterPolicy::Missing
            )
            .is_ok()
        );
        let cluster = ClusterConfigSpec {
            allowed_approver_domains: s(&["corp.example"]),
            ..Default::default()
        };
        assert!(matches!(
            decide(
                &Who::new("lead@example.com", &[]),
                &[escalation("e")],
                ClusterPolicy::Found(&cluster)
            ),
            Err(Denial::DomainNotAllowed(_))
        ));
        assert!(!email_in_domain("evil@example.com.attacker", "example.com"));
        assert!(!email_in_domain("@example.com", "example.com"));
        assert!(email_in_domain("a@example.com", "@example.com"));
    }

    #[test]
    fn approver_identity_provider_is_enforced() {
        let mut e = escalation("e");
        e.spec.allowed_identity_providers_for_requests = s(&["contractors"]);
        e.spec.allowed_identity_providers_for_approvers = s(&["corp"]);
        let mut who = Who::new("lead@example.com", &[]);
        assert_eq!(
            decide(&who, &[e.clone()], ClusterPolicy::Missing),
            Err(Denial::IdpNotAllowed("dex".to_owned()))
        );
        who.provider = Some("corp");
        assert!(decide(&who, &[e], ClusterPolicy::Missing).is_ok());
    }

    #[test]
    fn most_specific_denial_wins() {
        let mut blocked = escalation("a");
        blocked.spec.block_self_approval = Some(true);
        let plain = escalation("b");
        let who = Who::new("dev@example.com", &[]);
        // "b" says not an approver, "a" says self-approval blocked: the latter is reported.
        assert_eq!(
            decide(&who, &[plain, blocked], ClusterPolicy::Missing),
            Err(Denial::SelfApprovalBlocked)
        );
        assert!(matches!(
            decide(&who, &[], ClusterPolicy::Missing),
            Err(Denial::NoMatchingEscalation { .. })
        ));
        let mut no_email = Who::new("x@example.com", &["sre-leads"]);
        no_email.email = None;
        assert_eq!(
            decide(&no_email, &[escalation("e")], ClusterPolicy::Missing),
            Err(Denial::Unauthenticated)
        );
        assert!(matches!(
            decide(
                &Who::new("lead@example.com", &[]),
                &[escalation("e")],
                ClusterPolicy::Ambiguous
            ),
            Err(Denial::ClusterPolicyAmbiguous(_))
        ));
    }

    #[test]
    fn decisions_are_scoped_to_the_owning_escalation() {
        let owner = escalation("owner");
        let mut sibling = escalation("sibling");
        sibling.spec.approvers.users = s(&["sibling-approver@example.com"]);
        let escs = [owner, sibling];
        let owned = session(Some("owner"));
        let c = candidates(&owned, &escs, &[]);
        assert_eq!(c.len(), 1);
        let who = Who::new("sibling-approver@example.com", &[]);
        assert_eq!(
            authorize(&who.approver(), &owned, &c, ClusterPolicy::Missing, &[]),
            Err(Denial::NotAnApprover)
        );
        // Without an owner both escalations count.
        let unowned = session(None);
        let c = candidates(&unowned, &escs, &[]);
        assert_eq!(c.len(), 2);
        assert!(authorize(&who.approver(), &unowned, &c, ClusterPolicy::Missing, &[]).is_ok());
    }

    #[test]
    fn approver_groups_compare_without_prefixes() {
        let mut e = escalation("e");
        e.spec.approvers.groups = s(&["oidc:sre-leads"]);
        let prefixes = vec!["oidc:".to_owned()];
        let who = Who::new("a@example.com", &["sre-leads"]);
        let session = session(None);
        let escs = [e];
        let c = candidates(&session, &escs, &prefixes);
        assert!(
            authorize(
                &who.approver(),
                &session,
                &c,
                ClusterPolicy::Missing,
                &prefixes
            )
            .is_ok()
        );
    }

    #[test]
    fn approvers_come_from_the_requesters_provider_unless_the_escalation_lists_others() {
        let mut spec = BreakglassEscalationSpec::default();
        // No list: only the requester's provider.
        assert!(approver_provider_allowed(&spec, Some("dex"), Some("dex")));
        assert!(!approver_provider_allowed(
            &spec,
            Some("other"),
            Some("dex")
        ));
        assert!(!approver_provider_allowed(&spec, None, Some("dex")));
        // A session that recorded no provider keeps the unrestricted rule.
        assert!(approver_provider_allowed(&spec, Some("other"), None));
        // An explicit list decides, whatever the requester used.
        spec.allowed_identity_providers_for_requests = s(&["dex"]);
        spec.allowed_identity_providers_for_approvers = s(&["corp"]);
        assert!(approver_provider_allowed(&spec, Some("corp"), Some("dex")));
        assert!(!approver_provider_allowed(&spec, Some("dex"), Some("dex")));
        let both = BreakglassEscalationSpec {
            allowed_identity_providers: s(&["dex", "corp"]),
            ..Default::default()
        };
        assert!(approver_provider_allowed(&both, Some("corp"), Some("dex")));
        assert!(!approver_provider_allowed(
            &both,
            Some("third"),
            Some("dex")
        ));
    }
}
