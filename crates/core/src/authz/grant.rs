//! The grant ledger: every allow breakglass gives carries a grant id in its reason, so
//! the target apiserver's own audit log (which records the authorizer's reason as the
//! `authorization.k8s.io/reason` annotation) says who granted the access, through what.
//!
//! Format, appended to the human-readable reason after one space:
//!
//! ```text
//! [grant v1 kind=session cluster=prod session=breakglass/s-1 escalation=sre group=oncall approver=ann%40example.com]
//! [grant v1 kind=debug cluster=prod session=breakglass/dbg-1 template=net-debug role=participant operation=exec approver=bob]
//! ```
//!
//! Keys come in a fixed order, a key whose value is unknown is left out, and every value
//! (each half of `namespace/name` separately) is percent-encoded like a URL query value
//! (space as `+`), so a value never contains a space, `=` or `]` and a grant id can be
//! cut out of a reason and parsed without ambiguity ([`Grant::find`]).

use std::fmt;

use super::message::query_escape;

/// What granted the access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// A BreakglassSession (an escalation's group).
    Session,
    /// A DebugSession (pod access on the session's pods).
    Debug,
}

impl GrantKind {
    /// The `kind=` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Debug => "debug",
        }
    }
}

/// One grant id: the session that allowed the request and how it came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Session kind.
    pub kind: GrantKind,
    /// Cluster the request was made on.
    pub cluster: String,
    /// Session namespace on the hub.
    pub namespace: String,
    /// Session name.
    pub name: String,
    /// Escalation (for [`GrantKind::Session`]) or template (for [`GrantKind::Debug`]).
    pub origin: Option<String>,
    /// The granted group (sessions) or the user's role (debug sessions).
    pub detail: Option<String>,
    /// The pod operation allowed (debug sessions).
    pub operation: Option<String>,
    /// Who approved; absent when the session needed no approver.
    pub approver: Option<String>,
}

const OPEN: &str = "[grant v1 ";

impl Grant {
    fn origin_key(&self) -> &'static str {
        match self.kind {
            GrantKind::Session => "escalation",
            GrantKind::Debug => "template",
        }
    }

    fn detail_key(&self) -> &'static str {
        match self.kind {
            GrantKind::Session => "group",
            GrantKind::Debug => "role",
        }
    }

    /// Finds the last grant id in `reason` and parses it; `None` when there is none or
    /// it is malformed.
    pub fn find(reason: &str) -> Option<Self> {
        let start = reason.rfind(OPEN)?;
        let body = &reason[start + OPEN.len()..];
        let body = body
            .strip_suffix(']')
            .or_else(|| Some(&body[..body.find(']')?]))?;
        let mut g = Self {
            kind: GrantKind::Session,
            cluster: String::new(),
            namespace: String::new(),
            name: String::new(),
            origin: None,
            detail: None,
            operation: None,
            approver: None,
        };
        let mut kind_seen = false;
        for field in body.split(' ') {
            let (key, raw) = field.split_once('=')?;
            match key {
                "kind" => {
                    g.kind = match raw {
                        "session" => GrantKind::Session,
                        "debug" => GrantKind::Debug,
                        _ => return None,
                    };
                    kind_seen = true;
                }
                "cluster" => g.cluster = unescape(raw)?,
                "session" => {
                    let (ns, name) = raw.split_once('/')?;
                    g.namespace = unescape(ns)?;
                    g.name = unescape(name)?;
                }
                "escalation" | "template" => g.origin = Some(unescape(raw)?),
                "group" | "role" => g.detail = Some(unescape(raw)?),
                "operation" => g.operation = Some(unescape(raw)?),
                "approver" => g.approver = Some(unescape(raw)?),
                _ => {}
            }
        }
        (kind_seen && !g.name.is_empty()).then_some(g)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{OPEN}kind={} cluster={} session={}/{}",
            self.kind.as_str(),
            query_escape(&self.cluster),
            query_escape(&self.namespace),
            query_escape(&self.name)
        )?;
        let optional = [
            (self.origin_key(), &self.origin),
            (self.detail_key(), &self.detail),
            ("operation", &self.operation),
            ("approver", &self.approver),
        ];
        for (key, value) in optional {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                write!(f, " {key}={}", query_escape(v))?;
            }
        }
        f.write_str("]")
    }
}

/// Reverses [`query_escape`]; `None` for a broken escape or bytes that are not UTF-8.
fn unescape(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn session_grant() -> Grant {
        Grant {
            kind: GrantKind::Session,
            cluster: "prod".into(),
            namespace: "breakglass".into(),
            name: "s-1".into(),
            origin: Some("sre".into()),
            detail: Some("oncall".into()),
            operation: None,
            approver: Some("ann@example.com".into()),
        }
    }

    #[test]
    fn the_documented_examples_are_what_is_written() {
        assert_eq!(
            session_grant().to_string(),
            "[grant v1 kind=session cluster=prod session=breakglass/s-1 escalation=sre group=oncall approver=ann%40example.com]"
        );
        let debug = Grant {
            kind: GrantKind::Debug,
            cluster: "prod".into(),
            namespace: "breakglass".into(),
            name: "dbg-1".into(),
            origin: Some("net-debug".into()),
            detail: Some("participant".into()),
            operation: Some("exec".into()),
            approver: Some("bob".into()),
        };
        assert_eq!(
            debug.to_string(),
            "[grant v1 kind=debug cluster=prod session=breakglass/dbg-1 template=net-debug role=participant operation=exec approver=bob]"
        );
    }

    #[test]
    fn unknown_values_are_left_out() {
        let mut g = session_grant();
        g.approver = None;
        g.origin = Some(String::new());
        assert_eq!(
            g.to_string(),
            "[grant v1 kind=session cluster=prod session=breakglass/s-1 group=oncall]"
        );
        assert_eq!(Grant::find(&g.to_string()).unwrap().origin, None);
    }

    #[test]
    fn malformed_ids_are_not_parsed() {
        for bad in [
            "Allowed by RBAC",
            "[grant v1 cluster=prod session=a/b]",
            "[grant v1 kind=other cluster=prod session=a/b]",
            "[grant v1 kind=session cluster=prod session=ab]",
            "[grant v1 kind=session cluster=%zz session=a/b]",
            "[grant v1 kind=session session=a/b approver]",
        ] {
            assert_eq!(Grant::find(bad), None, "{bad}");
        }
    }

    proptest! {
        /// Whatever the names and the approver contain, the id read back out of a reason
        /// is the one written, even when a user-chosen value imitates a grant id.
        #[test]
        fn any_grant_round_trips_through_a_reason(
            cluster in "\\PC{0,20}",
            ns in "\\PC{1,20}",
            name in "\\PC{1,20}",
            origin in proptest::option::of("\\PC{1,20}"),
            detail in proptest::option::of("[ \\]\\[=/a-z%+]{1,20}"),
            approver in proptest::option::of("\\PC{1,40}"),
            debug in any::<bool>(),
        ) {
            let g = Grant {
                kind: if debug { GrantKind::Debug } else { GrantKind::Session },
                cluster,
                namespace: ns,
                name,
                origin,
                detail,
                operation: debug.then(|| "exec".to_owned()),
                approver,
            };
            let reason = format!("Allowed by breakglass session (x) {g}");
            prop_assert_eq!(Grant::find(&reason), Some(g));
        }
    }
}
