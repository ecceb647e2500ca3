use breakglass_api::debug_session::{
    AllowedPodRef, DebugSessionApproval, DebugSessionSpec, DebugSessionState as State,
    DebugSessionStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::authz::Attributes;

const T0: &str = "2026-03-01T10:00:00Z";

fn at(offset_secs: i64) -> Timestamp {
    T0.parse::<Timestamp>()
        .unwrap()
        .checked_add(jiff::SignedDuration::from_secs(offset_secs))
        .unwrap()
}

fn member(user: &str, role: Option<ParticipantRole>, left: bool) -> DebugSessionParticipant {
    DebugSessionParticipant {
        user: user.into(),
        role,
        joined_at: Some(Time(at(0))),
        left_at: left.then(|| Time(at(10))),
        ..Default::default()
    }
}

/// An Active session on `prod` from T0 to T0+1h: owner alice, participant bob, viewer
/// vera, carol left, nora without a role; pod `dbg/web-0` allowed.
fn session(ops: Option<AllowedPodOperations>) -> DebugSession {
    let mut s = DebugSession::new(
        "debug-alice-prod",
        DebugSessionSpec {
            cluster: "prod".into(),
            template_ref: "t".into(),
            requested_by: "alice".into(),
            ..Default::default()
        },
    );
    s.metadata.namespace = Some("breakglass".into());
    s.status = Some(DebugSessionStatus {
        state: Some(State::Active),
        starts_at: Some(Time(at(0))),
        expires_at: Some(Time(at(3600))),
        participants: Some(vec![
            member("alice", Some(ParticipantRole::Owner), false),
            member("bob", Some(ParticipantRole::Participant), false),
            member("vera", Some(ParticipantRole::Viewer), false),
            member("carol", Some(ParticipantRole::Participant), true),
            member("nora", None, false),
        ]),
        allowed_pods: Some(vec![AllowedPodRef {
            namespace: "dbg".into(),
            name: "web-0".into(),
            ..Default::default()
        }]),
        allowed_pod_operations: ops,
        ..Default::default()
    });
    s
}

fn sar(user: &str, verb: &str, sub: &str, ns: &str, name: &str) -> SarRequest {
    SarRequest {
        user: user.into(),
        attributes: Attributes::Resource(ResourceAttributes {
            verb: verb.into(),
            resource: "pods".into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: name.into(),
            version: "v1".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn grant(s: &DebugSession, r: &SarRequest) -> Option<(String, String)> {
    pod_access([s], "prod", r, at(60)).map(|a| (a.role, a.operation))
}

/// (verb, subresource, operation) of every request a session can grant.
const REQUESTS: [(&str, &str, &str); 8] = [
    ("get", "", "get"),
    ("get", "log", "log"),
    ("create", "exec", "exec"),
    ("get", "exec", "exec"),
    ("create", "attach", "attach"),
    ("get", "attach", "attach"),
    ("create", "portforward", "portforward"),
    ("get", "portforward", "portforward"),
];

#[test]
fn roles_times_operations_with_default_operations() {
    let s = session(None);
    // (user, role, operations granted)
    let table: [(&str, Option<&str>, &[&str]); 6] = [
        (
            "alice",
            Some("owner"),
            &["get", "exec", "attach", "portforward"],
        ),
        (
            "bob",
            Some("participant"),
            &["get", "exec", "attach", "portforward"],
        ),
        ("vera", Some("viewer"), &["get"]),
        ("carol", None, &[]),
        ("nora", None, &[]),
        ("mallory", None, &[]),
    ];
    for (user, role, granted) in table {
        for (verb, sub, op) in REQUESTS {
            let got = grant(&s, &sar(user, verb, sub, "dbg", "web-0"));
            let want = granted
                .contains(&op)
                .then(|| (role.unwrap_or_default().to_owned(), op.to_owned()));
            assert_eq!(got, want, "{user} {verb} pods/{sub}");
        }
    }
}

#[test]
fn allowed_pod_operations_restrict_every_role() {
    let logs_only = AllowedPodOperations {
        exec: Some(false),
        attach: Some(false),
        logs: Some(true),
        port_forward: Some(false),
    };
    let s = session(Some(logs_only));
    for user in ["alice", "bob", "vera"] {
        let ops: Vec<&str> = REQUESTS
            .iter()
            .filter(|(v, sub, _)| grant(&s, &sar(user, v, sub, "dbg", "web-0")).is_some())
            .map(|(_, _, op)| *op)
            .collect();
        assert_eq!(ops, ["get", "log"], "{user}");
    }
    let exec_only = AllowedPodOperations {
        exec: Some(true),
        attach: Some(false),
        logs: Some(false),
        port_forward: Some(false),
    };
    let s = session(Some(exec_only));
    assert!(grant(&s, &sar("bob", "create", "exec", "dbg", "web-0")).is_some());
    assert!(grant(&s, &sar("bob", "create", "attach", "dbg", "web-0")).is_none());
    assert!(grant(&s, &sar("bob", "get", "log", "dbg", "web-0")).is_none());
    assert!(grant(&s, &sar("vera", "create", "exec", "dbg", "web-0")).is_none());
}

#[test]
fn only_listed_pods_exact_verbs_and_named_requests() {
    let s = session(None);
    let denied = [
        sar("alice", "create", "exec", "dbg", "web-1"),
        sar("alice", "create", "exec", "other", "web-0"),
        sar("alice", "create", "exec", "dbg", ""),
        sar("alice", "list", "", "dbg", ""),
        sar("alice", "watch", "", "dbg", ""),
        sar("alice", "delete", "", "dbg", "web-0"),
        sar("alice", "update", "", "dbg", "web-0"),
        sar("alice", "patch", "exec", "dbg", "web-0"),
        sar("alice", "create", "log", "dbg", "web-0"),
        sar("alice", "create", "", "dbg", "web-0"),
        sar("alice", "get", "status", "dbg", "web-0"),
        sar("alice", "create", "eviction", "dbg", "web-0"),
        sar("alice", "create", "ephemeralcontainers", "dbg", "web-0"),
        sar("Alice", "create", "exec", "dbg", "web-0"),
        sar("alice ", "create", "exec", "dbg", "web-0"),
    ];
    for r in &denied {
        assert_eq!(grant(&s, r), None, "{}", r.describe());
    }
    let mut other_group = sar("alice", "create", "exec", "dbg", "web-0");
    if let Attributes::Resource(r) = &mut other_group.attributes {
        r.group = "metrics.k8s.io".into();
    }
    assert_eq!(grant(&s, &other_group), None);
    let secrets = SarRequest {
        user: "alice".into(),
        attributes: Attributes::Resource(ResourceAttributes {
            verb: "get".into(),
            resource: "secrets".into(),
            namespace: "dbg".into(),
            name: "web-0".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(grant(&s, &secrets), None);
}

#[test]
fn states_expiry_and_clusters() {
    let exec = sar("bob", "create", "exec", "dbg", "web-0");
    for state in [
        None,
        Some(State::Pending),
        Some(State::PendingApproval),
        Some(State::Expired),
        Some(State::Terminated),
        Some(State::Failed),
    ] {
        let mut s = session(None);
        s.status.as_mut().unwrap().state = state;
        assert_eq!(grant(&s, &exec), None, "{state:?}");
    }
    let s = session(None);
    assert!(pod_access([&s], "prod", &exec, at(3599)).is_some());
    assert!(
        pod_access([&s], "prod", &exec, at(3600)).is_none(),
        "at expiresAt"
    );
    assert!(pod_access([&s], "prod", &exec, at(7200)).is_none());
    assert!(pod_access([&s], "staging", &exec, at(60)).is_none());
    // A notify-only session whose expiry was reported has no expiresAt and stays usable.
    let mut notify = session(None);
    notify.status.as_mut().unwrap().expires_at = None;
    assert!(pod_access([&notify], "prod", &exec, at(7200)).is_some());
}

#[test]
fn reason_names_the_session_and_the_first_session_wins() {
    let mut a = session(None);
    a.metadata.name = Some("debug-b".into());
    let mut b = session(None);
    b.metadata.name = Some("debug-a".into());
    b.status.as_mut().unwrap().approval = Some(DebugSessionApproval {
        approved_by: Some("ann".into()),
        ..Default::default()
    });
    let mut ended = session(None);
    ended.metadata.name = Some("debug-0".into());
    ended.status.as_mut().unwrap().state = Some(State::Terminated);
    let allow = pod_access(
        [&a, &ended, &b],
        "prod",
        &sar("bob", "create", "exec", "dbg", "web-0"),
        at(60),
    )
    .unwrap();
    assert_eq!(
        allow,
        DebugSessionAllow {
            session: "debug-a".into(),
            namespace: "breakglass".into(),
            template: "t".into(),
            approver: Some("ann".into()),
            role: "participant".into(),
            operation: "exec".into(),
        }
    );
    assert!(
        pod_access(
            [],
            "prod",
            &sar("bob", "create", "exec", "dbg", "web-0"),
            at(60)
        )
        .is_none()
    );
}

#[test]
fn operation_of_requests() {
    for (verb, sub, op) in REQUESTS {
        let r = sar("u", verb, sub, "ns", "p");
        assert_eq!(
            PodOperation::of(r.resource().unwrap()).map(PodOperation::as_str),
            Some(op)
        );
    }
    assert_eq!(PodOperation::ALL.len(), 5);
}
