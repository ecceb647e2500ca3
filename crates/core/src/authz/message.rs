//! Building blocks of the reason texts users read in `kubectl` errors.
//!
//! Fragments tests and users rely on are kept from the reference:
//! `Denied by policy <name>`, `N breakglass escalation(s) available`,
//! `No breakglass flow available for your user`, `Access denied`,
//! `is not registered with Breakglass`, `different identity provider`,
//! `does not recognise`, `legacy (unconstrained) impersonation is forbidden`,
//! `Allowed by breakglass session (session=…, sessionGroup=…, impersonationGroup=…)`,
//! and the UI link `; see <baseURL>?search=<cluster>`.
//!
//! Reasons only ever name the requesting user's own sessions, groups and identity
//! providers, the cluster, policies and the target pod — never other users or secrets.

use super::input::{AuthzConfig, IdpHints};

/// "N breakglass escalation(s) available" or "No breakglass flow available for your user".
pub fn escalation_fragment(available: usize) -> String {
    if available == 0 {
        "No breakglass flow available for your user".to_owned()
    } else {
        format!("{available} breakglass escalation(s) available")
    }
}

/// `; see <baseURL>?search=<cluster>` when a UI base URL is configured.
pub fn ui_link(config: &AuthzConfig, cluster: &str) -> Option<String> {
    let base = config
        .ui_base_url
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())?;
    Some(format!("; see {base}?search={}", query_escape(cluster)))
}

/// Percent-encodes a query value like Go's `url.QueryEscape`: unreserved characters
/// stay, space becomes `+`, every other byte `%XX`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The identity-provider hint for a request that carries an issuer:
/// `(Your token was authenticated by '<idp>')`, plus the enabled providers when hints
/// are not hardened. `None` without an issuer or anything to say.
pub fn idp_hint(issuer: Option<&str>, hints: &IdpHints, hardened: bool) -> Option<String> {
    issuer?;
    let mut parts = Vec::new();
    if let Some(name) = hints.issuer_idp_name.as_deref().filter(|n| !n.is_empty()) {
        parts.push(format!("(Your token was authenticated by '{name}')"));
    }
    if !hardened && !hints.available.is_empty() {
        parts.push(format!(
            "(available identity providers: {})",
            join_limited(&hints.available, 10)
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Joins at most `max` items with `, `, then "and N more".
pub fn join_limited<S: AsRef<str>>(items: &[S], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(AsRef::as_ref).collect();
    let mut s = shown.join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

/// A name that came from the request path and was not found: quoted with escapes and
/// cut to a Kubernetes name's length, so it cannot forge reason text.
pub fn quote_untrusted(s: &str) -> String {
    let cut: String = s.chars().take(253).collect();
    format!("{cut:?}")
}
