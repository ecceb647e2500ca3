//! OIDC group prefixes (`kubernetes.oidcPrefixes`, e.g. `oidc:`, `keycloak:`).
//!
//! Target apiservers usually map token groups with a prefix, while sessions store the
//! group as the escalation names it. When we ask a target cluster about a session's
//! group we must spell it the way that cluster's RBAC bindings do, which we can only
//! guess — so we try several spellings.
//!
//! **The rule: a prefix is only ever added to the stored group, never stripped off it.**
//! Stripping could turn one name into a name of a different namespace
//! (`oidc:system:masters` into `system:masters`); adding one only yields names that the
//! apiserver itself would produce from a token group. On top of that, a group that is,
//! or could be spelled as, a `system:` group ([`could_be_system_group`]) never grants.

use std::collections::HashSet;

/// `group` without the first configured prefix it starts with; unchanged when none
/// matches. Empty prefixes are ignored (they would match everything). Used to compare
/// the *caller's* groups with escalation lists, never to spell a granted group.
pub fn strip_oidc_prefix<'g, P: AsRef<str>>(group: &'g str, prefixes: &[P]) -> &'g str {
    prefixes
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| !p.is_empty())
        .find_map(|p| group.strip_prefix(p))
        .unwrap_or(group)
}

/// Every group in `groups` with its prefix stripped, in order, without duplicates.
/// Linear in the number of groups.
pub fn strip_all<G: AsRef<str>, P: AsRef<str>>(groups: &[G], prefixes: &[P]) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(groups.len());
    let mut out: Vec<String> = Vec::with_capacity(groups.len());
    for g in groups {
        let bare = strip_oidc_prefix(g.as_ref(), prefixes);
        if seen.insert(bare) {
            out.push(bare.to_owned());
        }
    }
    out
}

/// True when `group` is a `system:` group in some spelling: it contains `system:`
/// anywhere, compared case-insensitively. Whatever prefix a target strips or adds, a
/// group that does not contain `system:` cannot become one, so this holds for every
/// configured prefix without knowing them (validation does not know them).
pub fn could_be_system_group(group: &str) -> bool {
    group
        .as_bytes()
        .windows(SYSTEM.len())
        .any(|w| w.eq_ignore_ascii_case(SYSTEM))
}

const SYSTEM: &[u8] = b"system:";

/// The spellings of a session's group to try against the target cluster, in order:
///
/// 1. each configured prefix that the incoming SAR's groups carry, in the order they
///    first appear there (the cluster evidently uses that prefix), added to the group;
/// 2. the group as stored;
/// 3. each remaining configured prefix, in configuration order, added to the group.
///
/// A prefix is never stripped (see the module docs); no spelling appears twice, and no
/// spelling is a `system:` group. Linear in the number of SAR groups.
pub fn group_spellings<P: AsRef<str>, G: AsRef<str>>(
    session_group: &str,
    sar_groups: &[G],
    prefixes: &[P],
) -> Vec<String> {
    let configured: Vec<&str> = prefixes
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| !p.is_empty())
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for g in sar_groups {
        if seen.len() == configured.len() {
            break;
        }
        let g = g.as_ref();
        if let Some(p) = configured.iter().find(|p| g.starts_with(**p))
            && !seen.contains(p)
        {
            seen.push(p);
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(configured.len() + 1);
    let mut push = |s: String| {
        if !could_be_system_group(&s) && !out.contains(&s) {
            out.push(s);
        }
    };
    for p in &seen {
        push(format!("{p}{session_group}"));
    }
    push(session_group.to_owned());
    for p in configured.iter().filter(|p| !seen.contains(p)) {
        push(format!("{p}{session_group}"));
    }
    out
}
