//! Who a caller is, in the one way every check compares people.
//!
//! A person is **the configured user-identifier claim of a token from a given issuer**
//! ([`Person`]): the claim is the cluster's (see [`claim_for`]), the value is compared
//! exactly, byte for byte, the way a target apiserver compares user names. Ownership,
//! self-approval, the `mine` listing filter, duplicate and limit counting all compare
//! [`Person`]s with `==`; nothing else names a user.
//!
//! Approver lists name e-mail addresses, so approver matching uses the token's
//! **verified** e-mail only ([`verified_email`]): `email` with `email_verified: true`.
//! A token without `email_verified`, or with any other value, has no verified e-mail and
//! can approve nothing (fail closed).

use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::cluster_config::{ClusterConfig, UserIdentifierClaim as ClusterClaim};
use breakglass_core::approval::Approver;
use breakglass_core::escalation::normalize_groups;

use crate::auth::Identity;
use crate::config::{Config, UserIdentifierClaim};
use crate::store::{ClusterLookup, Stores};

/// The claim that names users on a cluster: the ClusterConfig's `userIdentifierClaim`,
/// else the server-wide `kubernetes.userIdentifierClaim`, else `email`. It must match
/// the username claim the cluster's apiserver uses, or sessions never match SARs.
pub fn claim_for(config: &Config, cluster: Option<&ClusterConfig>) -> UserIdentifierClaim {
    match cluster.and_then(|c| c.spec.user_identifier_claim) {
        Some(ClusterClaim::Email) => UserIdentifierClaim::Email,
        Some(ClusterClaim::PreferredUsername) => UserIdentifierClaim::PreferredUsername,
        Some(ClusterClaim::Sub) => UserIdentifierClaim::Sub,
        None => config.kubernetes.user_identifier_claim.unwrap_or_default(),
    }
}

/// The claim that names users on the cluster `name` as the mirror knows it (the
/// server-wide claim when the cluster is missing or ambiguous).
pub fn claim_for_cluster(config: &Config, stores: &Stores, name: &str) -> UserIdentifierClaim {
    match stores.cluster(name) {
        ClusterLookup::Found(cc) => claim_for(config, Some(&cc)),
        ClusterLookup::Missing | ClusterLookup::Ambiguous => claim_for(config, None),
    }
}

/// One user: the value of `claim` in a token from `issuer`. Two people are the same
/// exactly when all three fields are equal (`==`, byte for byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The token issuer (`iss`).
    pub issuer: String,
    /// The claim that names users where this person is compared.
    pub claim: UserIdentifierClaim,
    /// The claim's value: the Kubernetes user name.
    pub id: String,
}

/// Why a caller cannot be named under a claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The token lacks the claim.
    #[error("your token has no {0} claim, which names users here")]
    MissingClaim(&'static str),
    /// The token says its e-mail is not verified; an apiserver would refuse it too.
    #[error("your token's email is not verified (email_verified is false)")]
    UnverifiedEmail,
}

/// The claim's name as it appears in tokens.
pub fn claim_name(claim: UserIdentifierClaim) -> &'static str {
    match claim {
        UserIdentifierClaim::Email => "email",
        UserIdentifierClaim::PreferredUsername => "preferred_username",
        UserIdentifierClaim::Sub => "sub",
    }
}

impl Person {
    /// The caller under `claim`. With the `email` claim, a token that says
    /// `email_verified: false` is refused, as the apiserver refuses it; an absent
    /// `email_verified` is accepted here, as the apiserver accepts it.
    pub fn of_caller(
        identity: &Identity,
        claim: UserIdentifierClaim,
    ) -> Result<Self, IdentityError> {
        let id = match claim {
            UserIdentifierClaim::Email => {
                if identity.email_verified == Some(false) {
                    return Err(IdentityError::UnverifiedEmail);
                }
                identity.email.clone()
            }
            UserIdentifierClaim::PreferredUsername => identity.preferred_username.clone(),
            UserIdentifierClaim::Sub => Some(identity.subject.clone()),
        };
        let id = id
            .filter(|v| !v.is_empty())
            .ok_or(IdentityError::MissingClaim(claim_name(claim)))?;
        Ok(Self {
            issuer: identity.issuer.clone(),
            claim,
            id,
        })
    }

    /// The requester of `session` (`spec.user` from `spec.identityProviderIssuer`)
    /// under `claim`. `None` when the session records no issuer: such a session has no
    /// owner the REST API can recognise (fail closed).
    pub fn of_session(session: &BreakglassSession, claim: UserIdentifierClaim) -> Option<Self> {
        let issuer = session
            .spec
            .identity_provider_issuer
            .as_deref()
            .filter(|i| !i.is_empty())?;
        Some(Self {
            issuer: issuer.to_owned(),
            claim,
            id: session.spec.user.clone(),
        })
    }
}

/// The caller as they appear on sessions, per cluster claim: answers "is this session
/// the caller's?" for any session, with one comparison.
#[derive(Clone)]
pub struct Me<'a> {
    identity: &'a Identity,
    config: &'a Config,
    stores: &'a Stores,
}

impl<'a> Me<'a> {
    /// The caller `identity` against the clusters in `stores`.
    pub fn new(identity: &'a Identity, config: &'a Config, stores: &'a Stores) -> Self {
        Self {
            identity,
            config,
            stores,
        }
    }

    /// True when the caller requested `session`.
    pub fn owns(&self, session: &BreakglassSession) -> bool {
        let claim = claim_for_cluster(self.config, self.stores, &session.spec.cluster);
        is_owner(self.identity, session, claim)
    }
}

/// True when the caller, named under `claim`, is the requester of `session`.
pub fn is_owner(
    identity: &Identity,
    session: &BreakglassSession,
    claim: UserIdentifierClaim,
) -> bool {
    match (
        Person::of_caller(identity, claim),
        Person::of_session(session, claim),
    ) {
        (Ok(me), Some(owner)) => me == owner,
        _ => false,
    }
}

/// The caller's verified e-mail: the `email` claim when `email_verified` is `true`.
/// Approver lists, approver domains and decision records use only this.
pub fn verified_email(identity: &Identity) -> Option<&str> {
    if identity.email_verified == Some(true) {
        identity.email.as_deref().filter(|e| !e.is_empty())
    } else {
        None
    }
}

/// The caller as an approver of one session: approver lists see only the verified
/// e-mail; `is_requester` comes from [`is_owner`] (self-approval checks).
pub fn approver<'a>(
    identity: &'a Identity,
    groups: &'a [String],
    is_requester: bool,
) -> Approver<'a> {
    Approver {
        email: verified_email(identity),
        is_requester,
        groups,
        provider: Some(identity.provider.as_str()),
    }
}

/// True when the caller might be the person who requested `session`, by any name the
/// token carries: the session's own identity (exact), or its user matching the e-mail
/// (in any case, verified or not), `preferred_username` or `sub` from any issuer, or a
/// token that lacks the session cluster's claim and so cannot prove it is someone else.
///
/// Only ever used to *refuse* (the self-approval block): a wider net fails closed there,
/// while ownership, which grants, stays the exact [`Person`] comparison.
pub fn might_be_requester(
    owns: bool,
    identity: &Identity,
    session_user: &str,
    claim_missing: bool,
) -> bool {
    owns || claim_missing
        || identity
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(session_user))
        || identity.preferred_username.as_deref() == Some(session_user)
        || identity.subject == session_user
}

/// The key of a token holder's rate-limit buckets: issuer and subject. It does not
/// depend on a cluster's claim (limits apply before a cluster is known) and no token of
/// another person can carry it.
pub fn limit_key(identity: &Identity) -> String {
    format!("{}\u{0}{}", identity.issuer, identity.subject)
}

/// The name a decision is recorded under (`status.approver(s)`, events): the verified
/// e-mail, else the user name under `claim`, else the subject.
pub fn actor(identity: &Identity, claim: UserIdentifierClaim) -> String {
    verified_email(identity)
        .map(str::to_owned)
        .or_else(|| Person::of_caller(identity, claim).ok().map(|p| p.id))
        .unwrap_or_else(|| identity.subject.clone())
}

/// The caller's groups with the OIDC prefixes (`Config::oidc_prefixes`) stripped.
pub fn groups(prefixes: &[String], identity: &Identity) -> Vec<String> {
    normalize_groups(&identity.groups, prefixes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use breakglass_api::breakglass_session::BreakglassSessionSpec;

    use super::*;

    const DEX: &str = "https://dex.example.com";
    const OTHER: &str = "https://other-idp.example.com";

    fn identity() -> Identity {
        Identity {
            subject: "CiQx".to_owned(),
            email: Some("alice@example.com".to_owned()),
            email_verified: Some(true),
            preferred_username: Some("alice".to_owned()),
            groups: vec!["oidc:developers".to_owned(), "ops".to_owned()],
            issuer: DEX.to_owned(),
            ..Identity::default()
        }
    }

    fn session(user: &str, issuer: Option<&str>) -> BreakglassSession {
        BreakglassSession::new(
            "s",
            BreakglassSessionSpec {
                cluster: "c".to_owned(),
                user: user.to_owned(),
                granted_group: "admin".to_owned(),
                identity_provider_issuer: issuer.map(str::to_owned),
                ..Default::default()
            },
        )
    }

    #[test]
    fn a_person_is_one_claim_of_one_issuer() {
        let id = identity();
        let email = Person::of_caller(&id, UserIdentifierClaim::Email).unwrap();
        assert_eq!(email.id, "alice@example.com");
        assert_eq!(
            Person::of_caller(&id, UserIdentifierClaim::PreferredUsername)
                .unwrap()
                .id,
            "alice"
        );
        assert_eq!(
            Person::of_caller(&id, UserIdentifierClaim::Sub).unwrap().id,
            "CiQx"
        );
        let mut no_name = id.clone();
        no_name.preferred_username = None;
        assert_eq!(
            Person::of_caller(&no_name, UserIdentifierClaim::PreferredUsername),
            Err(IdentityError::MissingClaim("preferred_username"))
        );
    }

    /// Regression: every claim combination that used to be taken for the owner.
    #[test]
    fn forged_claim_combinations_do_not_own_sessions() {
        let email = UserIdentifierClaim::Email;
        let victim = session("requester@example.com", Some(DEX));
        let mut attacker = identity();
        attacker.email = Some("mallory@example.com".to_owned());
        assert!(!is_owner(&attacker, &victim, email));
        // preferred_username = the victim's e-mail.
        attacker.preferred_username = Some("requester@example.com".to_owned());
        assert!(!is_owner(&attacker, &victim, email));
        // sub = the victim's e-mail.
        attacker.subject = "requester@example.com".to_owned();
        assert!(!is_owner(&attacker, &victim, email));
        // Upper-cased e-mail: a different Kubernetes user name.
        let mut upper = identity();
        upper.email = Some("REQUESTER@EXAMPLE.COM".to_owned());
        assert!(!is_owner(&upper, &victim, email));
        // Same e-mail from a second issuer.
        let mut second = identity();
        second.email = Some("requester@example.com".to_owned());
        second.issuer = OTHER.to_owned();
        assert!(!is_owner(&second, &victim, email));
        // The real owner.
        second.issuer = DEX.to_owned();
        assert!(is_owner(&second, &victim, email));
        // ... but not when the token says the e-mail is unverified.
        second.email_verified = Some(false);
        assert!(!is_owner(&second, &victim, email));
        // ... and not on a session that records no issuer.
        second.email_verified = None;
        assert!(is_owner(&second, &victim, email));
        assert!(!is_owner(
            &second,
            &session("requester@example.com", None),
            email
        ));
    }

    #[test]
    fn the_cluster_claim_decides_which_value_is_compared() {
        let id = identity();
        let by_name = session("alice", Some(DEX));
        assert!(is_owner(
            &id,
            &by_name,
            UserIdentifierClaim::PreferredUsername
        ));
        assert!(!is_owner(&id, &by_name, UserIdentifierClaim::Email));
        assert!(!is_owner(&id, &by_name, UserIdentifierClaim::Sub));
        let by_sub = session("CiQx", Some(DEX));
        assert!(is_owner(&id, &by_sub, UserIdentifierClaim::Sub));
        assert!(!is_owner(
            &id,
            &by_sub,
            UserIdentifierClaim::PreferredUsername
        ));
    }

    #[test]
    fn only_a_verified_email_is_an_approver_email() {
        let mut id = identity();
        assert_eq!(verified_email(&id), Some("alice@example.com"));
        id.email_verified = None;
        assert_eq!(
            verified_email(&id),
            None,
            "absent email_verified fails closed"
        );
        assert_eq!(actor(&id, UserIdentifierClaim::PreferredUsername), "alice");
        id.email_verified = Some(false);
        assert_eq!(verified_email(&id), None);
        id.email_verified = Some(true);
        id.email = None;
        assert_eq!(verified_email(&id), None);
        assert_eq!(actor(&id, UserIdentifierClaim::Email), "CiQx");
    }

    /// Regression: a token whose `preferred_username` or `sub` is an approver's e-mail
    /// (with its own e-mail unverified or absent) approved as that approver.
    #[test]
    fn only_the_verified_email_matches_approver_lists() {
        use breakglass_api::breakglass_escalation::{
            BreakglassEscalation, BreakglassEscalationApprovers, BreakglassEscalationSpec,
        };
        use breakglass_core::approval::{self, ClusterPolicy, Denial};

        let esc = BreakglassEscalation::new(
            "e",
            BreakglassEscalationSpec {
                allowed: Some(
                    breakglass_api::breakglass_escalation::BreakglassEscalationAllowed {
                        clusters: Some(vec!["c".to_owned()]),
                        ..Default::default()
                    },
                ),
                escalated_group: "admin".to_owned(),
                approvers: BreakglassEscalationApprovers {
                    users: Some(vec!["approver@example.com".to_owned()]),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let s = session("requester@example.com", Some(DEX));
        let decide = |who: &Identity| {
            let candidates = approval::candidates(&s, [&esc], &[]);
            approval::authorize(
                &approver(who, &[], is_owner(who, &s, UserIdentifierClaim::Email)),
                &s,
                &candidates,
                ClusterPolicy::Missing,
                &[],
            )
            .map(|_| ())
        };
        let mut forged = identity();
        forged.email = Some("mallory@example.com".to_owned());
        forged.preferred_username = Some("approver@example.com".to_owned());
        forged.subject = "approver@example.com".to_owned();
        assert_eq!(decide(&forged), Err(Denial::NotAnApprover));
        forged.email_verified = None;
        assert_eq!(decide(&forged), Err(Denial::Unauthenticated));
        forged.email = None;
        forged.email_verified = Some(true);
        assert_eq!(decide(&forged), Err(Denial::Unauthenticated));
        // The approver's e-mail, but not verified.
        let mut unverified = identity();
        unverified.email = Some("approver@example.com".to_owned());
        unverified.email_verified = None;
        assert_eq!(decide(&unverified), Err(Denial::Unauthenticated));
        unverified.email_verified = Some(true);
        assert_eq!(decide(&unverified), Ok(()));
    }

    #[test]
    fn groups_lose_their_prefixes() {
        let config = Config::parse("kubernetes:\n  oidcPrefixes: ['oidc:']\n").unwrap_or_default();
        assert_eq!(
            groups(&config.oidc_prefixes(), &identity()),
            vec!["developers", "ops"]
        );
    }

    #[test]
    fn cluster_claim_wins_over_the_server_default() {
        let config = Config::parse("kubernetes:\n  userIdentifierClaim: sub\n").unwrap_or_default();
        assert_eq!(claim_for(&config, None), UserIdentifierClaim::Sub);
        let mut cc = ClusterConfig::new("c", Default::default());
        cc.spec.user_identifier_claim = Some(ClusterClaim::PreferredUsername);
        assert_eq!(
            claim_for(&config, Some(&cc)),
            UserIdentifierClaim::PreferredUsername
        );
    }

    #[test]
    fn the_self_approval_net_is_wider_than_ownership() {
        let mut id = Identity {
            subject: "sub-1".to_owned(),
            email: Some("Alice@Example.com".to_owned()),
            preferred_username: Some("alice".to_owned()),
            issuer: "https://second.example".to_owned(),
            ..Identity::default()
        };
        for user in ["alice@example.com", "ALICE@EXAMPLE.COM", "alice", "sub-1"] {
            assert!(might_be_requester(false, &id, user, false), "{user}");
        }
        assert!(!might_be_requester(false, &id, "bob@example.com", false));
        // Owning, or lacking the claim that would prove otherwise, counts as maybe.
        assert!(might_be_requester(true, &id, "bob@example.com", false));
        assert!(might_be_requester(false, &id, "bob@example.com", true));
        id.email = None;
        assert!(!might_be_requester(false, &id, "alice@example.com", false));
    }
}
