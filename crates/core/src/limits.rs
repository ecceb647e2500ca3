//! Session limits: how many slot-occupying sessions a user (across all escalations)
//! and an escalation (across all users) may have at once.
//!
//! Precedence: the escalation's `sessionLimitsOverride` (where it sets a value), then
//! the first `groupOverrides` entry of the requester's IdentityProvider whose group glob
//! matches one of the requester's groups, then the provider's default. Nothing set
//! means unlimited.

use breakglass_api::breakglass_escalation::SessionLimitsOverride;
use breakglass_api::identity_provider::SessionLimits;

use crate::glob;

/// Effective limits for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Most slot-occupying sessions of the user, across escalations.
    pub per_user: Option<u32>,
    /// Most slot-occupying sessions of the escalation, across users.
    pub total: Option<u32>,
}

/// A limit that the new session would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// The user already has `active` sessions, the limit is `limit`.
    #[error(
        "session limit reached: you already have {active} active or pending session(s), at most {limit} allowed"
    )]
    PerUser {
        /// The limit.
        limit: u32,
        /// Sessions the user has now.
        active: usize,
    },
    /// The escalation already has `active` sessions, the limit is `limit`.
    #[error(
        "session limit reached: this escalation already has {active} active or pending session(s), at most {limit} allowed"
    )]
    Total {
        /// The limit.
        limit: u32,
        /// Sessions the escalation has now.
        active: usize,
    },
}

fn positive(v: Option<i32>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0)
}

/// The limits for a requester with `groups` (prefixes stripped).
pub fn effective(
    escalation: Option<&SessionLimitsOverride>,
    provider: Option<&SessionLimits>,
    groups: &[String],
) -> Limits {
    if escalation.is_some_and(|o| o.unlimited == Some(true)) {
        return Limits::default();
    }
    let provider_per_user = provider.and_then(|p| {
        let overrides = p.group_overrides.as_deref().unwrap_or_default();
        match overrides.iter().find(|o| {
            groups
                .iter()
                .any(|g| glob::glob_match(&o.group, g).unwrap_or(false))
        }) {
            Some(o) if o.unlimited == Some(true) => None,
            Some(o) => positive(o.max_active_sessions_per_user)
                .or_else(|| positive(p.max_active_sessions_per_user)),
            None => positive(p.max_active_sessions_per_user),
        }
    });
    Limits {
        per_user: escalation
            .and_then(|o| positive(o.max_active_sessions_per_user))
            .or(provider_per_user),
        total: escalation.and_then(|o| positive(o.max_active_sessions_total)),
    }
}

/// Checks that one more session fits.
pub fn check(
    limits: Limits,
    user_active: usize,
    escalation_active: usize,
) -> Result<(), LimitExceeded> {
    if let Some(limit) = limits.per_user
        && user_active >= limit as usize
    {
        return Err(LimitExceeded::PerUser {
            limit,
            active: user_active,
        });
    }
    if let Some(limit) = limits.total
        && escalation_active >= limit as usize
    {
        return Err(LimitExceeded::Total {
            limit,
            active: escalation_active,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use breakglass_api::identity_provider::GroupSessionLimitOverride;

    fn groups(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn provider() -> SessionLimits {
        SessionLimits {
            max_active_sessions_per_user: Some(2),
            group_overrides: Some(vec![
                GroupSessionLimitOverride {
                    group: "sre-*".to_owned(),
                    unlimited: Some(true),
                    max_active_sessions_per_user: None,
                },
                GroupSessionLimitOverride {
                    group: "contractors".to_owned(),
                    unlimited: None,
                    max_active_sessions_per_user: Some(1),
                },
            ]),
        }
    }

    #[test]
    fn precedence_table() {
        let p = provider();
        let unlimited = SessionLimitsOverride {
            unlimited: Some(true),
            ..Default::default()
        };
        let per_user_5 = SessionLimitsOverride {
            max_active_sessions_per_user: Some(5),
            max_active_sessions_total: Some(10),
            ..Default::default()
        };
        let total_only = SessionLimitsOverride {
            max_active_sessions_total: Some(3),
            ..Default::default()
        };
        type Case<'a> = (
            Option<&'a SessionLimitsOverride>,
            Option<&'a SessionLimits>,
            &'a [&'a str],
            Limits,
        );
        let cases: [Case<'_>; 8] = [
            (None, None, &["dev"], Limits::default()),
            (
                None,
                Some(&p),
                &["dev"],
                Limits {
                    per_user: Some(2),
                    total: None,
                },
            ),
            (None, Some(&p), &["sre-leads"], Limits::default()),
            (None, Some(&p), &["contractors", "sre-x"], Limits::default()),
            (
                None,
                Some(&p),
                &["contractors"],
                Limits {
                    per_user: Some(1),
                    total: None,
                },
            ),
            (
                Some(&unlimited),
                Some(&p),
                &["contractors"],
                Limits::default(),
            ),
            (
                Some(&per_user_5),
                Some(&p),
                &["contractors"],
                Limits {
                    per_user: Some(5),
                    total: Some(10),
                },
            ),
            (
                Some(&total_only),
                Some(&p),
                &["dev"],
                Limits {
                    per_user: Some(2),
                    total: Some(3),
                },
            ),
        ];
        for (i, (esc, prov, g, want)) in cases.into_iter().enumerate() {
            assert_eq!(effective(esc, prov, &groups(g)), want, "case {i}");
        }
    }

    #[test]
    fn check_counts_existing_sessions() {
        let limits = Limits {
            per_user: Some(2),
            total: Some(3),
        };
        assert_eq!(check(limits, 1, 2), Ok(()));
        assert_eq!(
            check(limits, 2, 0),
            Err(LimitExceeded::PerUser {
                limit: 2,
                active: 2
            })
        );
        assert_eq!(
            check(limits, 0, 3),
            Err(LimitExceeded::Total {
                limit: 3,
                active: 3
            })
        );
        assert_eq!(check(Limits::default(), 1000, 1000), Ok(()));
    }
}
