//! The user's sessions on the cluster, sorted by what they can do, and the facts a
//! denial reason reports about them.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Facts for the deny reason, gathered before the group check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct DenyNotes {
    pub(super) request: String,
    pub(super) escalations_available: usize,
    pub(super) pending: Vec<(String, String)>,
    pub(super) scheduled: Vec<(String, String)>,
    pub(super) idp_mismatch_providers: Vec<String>,
    pub(super) idp_mismatch_count: usize,
    pub(super) idp_hint: Option<String>,
}

/// The user's sessions on this cluster, sorted.
pub(super) struct Sessions<'a> {
    pub(super) active: Vec<Active<'a>>,
    pub(super) mismatched: Vec<&'a BreakglassSession>,
    pub(super) pending: Vec<&'a BreakglassSession>,
    pub(super) scheduled: Vec<&'a BreakglassSession>,
}

pub(super) struct Active<'a> {
    pub(super) session: &'a BreakglassSession,
    pub(super) name: &'a str,
    pub(super) namespace: &'a str,
    pub(super) group: &'a str,
    pub(super) overrides: Option<&'a PodSecurityOverrides>,
}

pub(super) fn normalize_issuer(s: &str) -> &str {
    s.trim_end_matches('/')
}

pub(super) fn classify<'a>(input: &AuthzInput<'a>) -> Sessions<'a> {
    let mut mine: Vec<_> = input
        .sessions
        .iter()
        .filter(|s| {
            // An empty user is never anybody's session, whatever a malformed object says.
            !input.request.user.is_empty()
                && s.session.spec.cluster == input.cluster_name
                && s.session.spec.user == input.request.user
        })
        .collect();
    // Borrowed keys order exactly as the owned ones would, without copying them.
    mine.sort_by(|a, b| {
        let key = |s: &'a BreakglassSession| {
            (s.metadata.namespace.as_deref(), s.metadata.name.as_deref())
        };
        key(a.session).cmp(&key(b.session))
    });
    let mut out = Sessions {
        active: Vec::new(),
        mismatched: Vec::new(),
        pending: Vec::new(),
        scheduled: Vec::new(),
    };
    for s in mine {
        let bs = s.session;
        let state = bs.status.as_ref().and_then(|st| st.state);
        if session::is_access_active(bs, input.now) {
            let issuer_ok = match input.request.issuer.as_deref() {
                None => true,
                Some(_) if bs.spec.allow_idp_mismatch == Some(true) => true,
                Some(i) => bs
                    .spec
                    .identity_provider_issuer
                    .as_deref()
                    .is_some_and(|si| normalize_issuer(si) == normalize_issuer(i)),
            };
            if issuer_ok {
                out.active.push(Active {
                    session: bs,
                    name: bs.metadata.name.as_deref().unwrap_or_default(),
                    namespace: bs.metadata.namespace.as_deref().unwrap_or_default(),
                    group: &bs.spec.granted_group,
                    overrides: s.pod_security_overrides,
                });
            } else {
                out.mismatched.push(bs);
            }
        } else if session::occupies_slot(bs, input.now) {
            match state {
                Some(BreakglassSessionState::Pending) => out.pending.push(bs),
                Some(BreakglassSessionState::WaitingForScheduledTime) => out.scheduled.push(bs),
                _ => {}
            }
        }
    }
    out
}

pub(super) fn name_group(s: &BreakglassSession) -> (String, String) {
    (
        s.metadata.name.clone().unwrap_or_default(),
        s.spec.granted_group.clone(),
    )
}

pub(super) fn notes(
    input: &AuthzInput<'_>,
    sessions: &Sessions<'_>,
    config: &AuthzConfig,
) -> DenyNotes {
    let mut providers: Vec<String> = Vec::new();
    for s in &sessions.mismatched {
        if let Some(p) = s
            .spec
            .identity_provider_name
            .as_deref()
            .filter(|p| !p.is_empty())
            && !providers.iter().any(|x| x == p)
        {
            providers.push(p.to_owned());
        }
    }
    DenyNotes {
        request: input.request.describe(),
        escalations_available: input.escalations_available,
        pending: sessions.pending.iter().map(|s| name_group(s)).collect(),
        scheduled: sessions.scheduled.iter().map(|s| name_group(s)).collect(),
        idp_mismatch_providers: providers,
        idp_mismatch_count: sessions.mismatched.len(),
        idp_hint: idp_hint(
            input.request.issuer.as_deref(),
            input.idp,
            config.hardened_idp_hints,
        ),
    }
}
