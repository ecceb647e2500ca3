//! How an authenticated caller is named in sessions and compared with SAR users.

use breakglass_api::cluster_config::{ClusterConfig, UserIdentifierClaim as ClusterClaim};
use breakglass_core::escalation::normalize_groups;

use crate::auth::Identity;
use crate::config::{Config, UserIdentifierClaim};

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

/// The caller's user identifier under `claim`, `None` when the token lacks the claim.
pub fn user_id(identity: &Identity, claim: UserIdentifierClaim) -> Option<String> {
    match claim {
        UserIdentifierClaim::Email => identity.email.clone(),
        UserIdentifierClaim::PreferredUsername => identity.preferred_username.clone(),
        UserIdentifierClaim::Sub => Some(identity.subject.clone()),
    }
}

/// True when `user` names the caller by any of their identifiers (e-mail compared
/// case-insensitively).
pub fn is_caller(identity: &Identity, user: &str) -> bool {
    identity
        .email
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case(user))
        || identity.preferred_username.as_deref() == Some(user)
        || identity.subject == user
}

/// The caller's groups with the OIDC prefixes (`Config::oidc_prefixes`) stripped.
pub fn groups(prefixes: &[String], identity: &Identity) -> Vec<String> {
    normalize_groups(&identity.groups, prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            subject: "CiQx".to_owned(),
            email: Some("Alice@Example.com".to_owned()),
            preferred_username: Some("alice".to_owned()),
            groups: vec!["oidc:developers".to_owned(), "ops".to_owned()],
            ..Identity::default()
        }
    }

    #[test]
    fn claims_and_caller_matching() {
        let id = identity();
        assert_eq!(
            user_id(&id, UserIdentifierClaim::Email).as_deref(),
            Some("Alice@Example.com")
        );
        assert_eq!(
            user_id(&id, UserIdentifierClaim::PreferredUsername).as_deref(),
            Some("alice")
        );
        assert_eq!(
            user_id(&id, UserIdentifierClaim::Sub).as_deref(),
            Some("CiQx")
        );
        assert!(is_caller(&id, "alice@example.com"));
        assert!(is_caller(&id, "alice"));
        assert!(is_caller(&id, "CiQx"));
        assert!(!is_caller(&id, "bob@example.com"));
        let config = Config::parse("kubernetes:\n  oidcPrefixes: ['oidc:']\n").unwrap_or_default();
        assert_eq!(
            groups(&config.oidc_prefixes(), &id),
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
}
