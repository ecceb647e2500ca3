use breakglass_api::debug_session::{
    DebugSessionParticipant, DebugSessionSpec, DebugSessionState as State, DebugSessionStatus,
};
use breakglass_api::debug_session_template::{DebugSessionMode, DebugSessionTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;

const T0: &str = "2026-03-01T10:00:00Z";

fn at(offset_secs: i64) -> Timestamp {
    T0.parse::<Timestamp>()
        .unwrap()
        .checked_add(jiff::SignedDuration::from_secs(offset_secs))
        .unwrap()
}

fn member(user: &str, role: ParticipantRole, left: bool) -> DebugSessionParticipant {
    DebugSessionParticipant {
        user: user.into(),
        role: Some(role),
        joined_at: Some(Time(at(0))),
        left_at: left.then(|| Time(at(10))),
        ..Default::default()
    }
}

/// An Active session `name` on `prod` from T0 to T0+1h in `mode` (no injection policy):
/// owner alice, participant bob, viewer vera, carol left.
fn session(name: &str, mode: Option<DebugSessionMode>) -> DebugSession {
    let mut s = DebugSession::new(
        name,
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
            member("alice", ParticipantRole::Owner, false),
            member("bob", ParticipantRole::Participant, false),
            member("vera", ParticipantRole::Viewer, false),
            member("carol", ParticipantRole::Participant, true),
        ]),
        resolved_template: Some(DebugSessionTemplateSpec {
            mode,
            ..Default::default()
        }),
        ..Default::default()
    });
    s
}

fn container(name: &str) -> EphemeralContainer {
    EphemeralContainer {
        name: name.into(),
        image: Some("busybox:1.36".into()),
        ..Default::default()
    }
}

fn ask(
    sessions: &[DebugSession],
    user: &str,
    cluster: &str,
    containers: &[EphemeralContainer],
    now: Timestamp,
) -> Result<EphemeralGrant, EphemeralDenial> {
    let request = EphemeralRequest {
        cluster,
        user,
        namespace: "dbg",
        new_containers: containers,
        pod_security: None,
    };
    decide(sessions, &request, now)
}

fn no_session(r: Result<EphemeralGrant, EphemeralDenial>) -> bool {
    matches!(r, Err(EphemeralDenial::NoSession { .. }))
}

/// Only owners and participants still in an Active, unexpired kubectl-debug or hybrid
/// session on the same cluster are eligible; names compare exactly.
#[test]
fn eligibility_follows_state_role_mode_cluster_and_time() {
    let kd = [session("d1", Some(DebugSessionMode::KubectlDebug))];
    let none: [EphemeralContainer; 0] = [];
    let ok = ask(&kd, "alice", "prod", &none, at(60)).unwrap();
    assert_eq!(ok.session, "d1");
    assert_eq!(ok.role, ParticipantRole::Owner);
    assert_eq!(
        ask(&kd, "bob", "prod", &none, at(60)).unwrap().role,
        ParticipantRole::Participant
    );
    let hybrid = [session("d1", Some(DebugSessionMode::Hybrid))];
    assert!(ask(&hybrid, "alice", "prod", &none, at(60)).is_ok());

    for user in ["vera", "carol", "mallory", "Alice"] {
        assert!(no_session(ask(&kd, user, "prod", &none, at(60))), "{user}");
    }
    assert!(no_session(ask(&kd, "alice", "other", &none, at(60))));
    assert!(no_session(ask(&kd, "alice", "prod", &none, at(3600))));
    let workload = [session("d1", Some(DebugSessionMode::Workload))];
    assert!(no_session(ask(&workload, "alice", "prod", &none, at(60))));
    let defaulted = [session("d1", None)];
    assert!(no_session(ask(&defaulted, "alice", "prod", &none, at(60))));
    let mut unresolved = session("d1", Some(DebugSessionMode::KubectlDebug));
    if let Some(st) = unresolved.status.as_mut() {
        st.resolved_template = None;
    }
    assert!(no_session(ask(
        &[unresolved],
        "alice",
        "prod",
        &none,
        at(60)
    )));
    let mut pending = session("d1", Some(DebugSessionMode::KubectlDebug));
    if let Some(st) = pending.status.as_mut() {
        st.state = Some(State::PendingApproval);
    }
    assert!(no_session(ask(&[pending], "alice", "prod", &none, at(60))));

    let err = ask(&kd, "mallory", "prod", &none, at(60)).unwrap_err();
    assert!(err.to_string().contains("\"mallory\""), "{err}");
    assert!(err.to_string().contains("\"prod\""), "{err}");
}

/// Every new container is checked against the session's policy; without an
/// `ephemeralContainers` policy injection is refused, naming session and container.
#[test]
#[allow(clippy::panic)]
fn new_containers_are_checked_against_the_session_policy() {
    let kd = [
        session("d2", Some(DebugSessionMode::KubectlDebug)),
        session("d1", Some(DebugSessionMode::KubectlDebug)),
    ];
    let err = ask(&kd, "alice", "prod", &[container("debugger-x")], at(60)).unwrap_err();
    let EphemeralDenial::Policy {
        session,
        container,
        violation,
    } = err
    else {
        panic!("expected a policy denial");
    };
    assert_eq!(session, "d1", "sessions are tried by namespace, then name");
    assert_eq!(container, "debugger-x");
    assert!(
        violation
            .rule
            .starts_with("kubectlDebug.ephemeralContainers")
    );
}

/// With a policy: the first session that admits every new container grants; a session
/// whose policy refuses one container refuses the whole update, naming the rule.
#[test]
fn a_session_whose_policy_admits_every_container_grants() {
    use breakglass_api::debug_session_template::{EphemeralContainersConfig, KubectlDebugConfig};
    use k8s_openapi::api::core::v1::SecurityContext;

    let with_images = |name: &str, images: &[&str]| {
        let mut s = session(name, Some(DebugSessionMode::KubectlDebug));
        if let Some(t) = s
            .status
            .as_mut()
            .and_then(|st| st.resolved_template.as_mut())
        {
            t.kubectl_debug = Some(KubectlDebugConfig {
                ephemeral_containers: Some(EphemeralContainersConfig {
                    enabled: Some(true),
                    allowed_images: Some(images.iter().map(|i| (*i).to_owned()).collect()),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        s
    };
    let non_root = |name: &str, image: &str| EphemeralContainer {
        name: name.into(),
        image: Some(image.into()),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let sessions = [
        with_images("d1", &["nginx:*"]),
        with_images("d2", &["busybox:*"]),
    ];
    let ok = ask(
        &sessions,
        "alice",
        "prod",
        &[non_root("a", "busybox:1.36")],
        at(60),
    )
    .unwrap();
    assert_eq!(ok.session, "d2", "d1 refuses the image, d2 admits it");

    let two = [non_root("a", "busybox:1.36"), non_root("b", "nginx:1.27")];
    let Err(EphemeralDenial::Policy {
        session,
        container: refused,
        violation,
    }) = ask(&sessions[1..], "alice", "prod", &two, at(60))
    else {
        unreachable!("expected a policy denial");
    };
    assert_eq!((session.as_str(), refused.as_str()), ("d2", "b"));
    assert_eq!(
        violation.rule,
        "kubectlDebug.ephemeralContainers.allowedImages"
    );

    // requireNonRoot (default true): a container without runAsNonRoot is refused.
    let root = container("r");
    let err = ask(&sessions, "alice", "prod", &[root], at(60)).unwrap_err();
    assert!(matches!(err, EphemeralDenial::Policy { .. }), "{err}");
}
