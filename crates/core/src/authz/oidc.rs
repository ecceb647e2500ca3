//! OIDC group prefixes (`kubernetes.oidcPrefixes`, e.g. `oidc:`, `keycloak:`).
//!
//! Target apiservers usually map token groups with a prefix, while sessions store the
//! bare group. Stripping makes groups comparable; when we ask a target cluster about a
//! session's group we must spell it the way that cluster's RBAC bindings do, which we
//! can only guess — so we try every spelling, the most likely first.

/// `group` without the first configured prefix it starts with; unchanged when none
/// matches. Empty prefixes are ignored (they would match everything).
pub fn strip_oidc_prefix<'g, P: AsRef<str>>(group: &'g str, prefixes: &[P]) -> &'g str {
    prefixes
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| !p.is_empty())
        .find_map(|p| group.strip_prefix(p))
        .unwrap_or(group)
}

/// Every group in `groups` with its prefix stripped, in order, without duplicates.
pub fn strip_all<G: AsRef<str>, P: AsRef<str>>(groups: &[G], prefixes: &[P]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(groups.len());
    for g in groups {
        let bare = strip_oidc_prefix(g.as_ref(), prefixes);
        if !out.iter().any(|o| o == bare) {
            out.push(bare.to_owned());
        }
    }
    out
}

/// The spellings of a session's group to try against the target cluster, in order:
///
/// 1. the group with each configured prefix that the incoming SAR's groups carry, in
///    the order they first appear there (the cluster evidently uses that prefix);
/// 2. the bare group;
/// 3. the group with each remaining configured prefix, in configuration order.
///
/// The session group is stripped first, so a group stored with a prefix is not
/// prefixed twice. No spelling appears twice.
pub fn group_spellings<P: AsRef<str>, G: AsRef<str>>(
    session_group: &str,
    sar_groups: &[G],
    prefixes: &[P],
) -> Vec<String> {
    let bare = strip_oidc_prefix(session_group, prefixes);
    let configured: Vec<&str> = prefixes
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| !p.is_empty())
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for g in sar_groups {
        let g = g.as_ref();
        if let Some(p) = configured.iter().find(|p| g.starts_with(**p))
            && !seen.contains(p)
        {
            seen.push(p);
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(configured.len() + 1);
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for p in &seen {
        push(format!("{p}{bare}"));
    }
    push(bare.to_owned());
    for p in configured.iter().filter(|p| !seen.contains(p)) {
        push(format!("{p}{bare}"));
    }
    out
}
