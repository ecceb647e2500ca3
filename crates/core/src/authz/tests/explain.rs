//! Explanations of real decisions: the deciding stage, the stages before and after it,
//! and what was involved.

use super::fixtures::*;
use super::world::*;
use crate::authz::explain::{Outcome, STEPS, explain};
use crate::authz::*;

fn outcomes(w: &World) -> (Decision, Vec<(&'static str, Outcome)>) {
    let d = w.decide();
    let e = explain(&w.request, &d);
    assert_eq!(e.steps.len(), STEPS.len());
    let o = e.steps.iter().map(|s| (s.stage, s.outcome)).collect();
    (d, o)
}

#[test]
fn an_allowing_session_is_named_and_every_earlier_stage_passed() {
    let w = World::new(request(res("get", "pods").ns("default")))
        .session(approved("s1", "cluster-admin"));
    let (d, steps) = outcomes(&w);
    assert!(d.allowed);
    assert_eq!(
        steps,
        vec![
            ("cluster", Outcome::Passed),
            ("debug-session", Outcome::Skipped),
            ("impersonation", Outcome::Skipped),
            ("deny-policy", Outcome::Passed),
            ("sessions", Outcome::Passed),
            ("group-check", Outcome::Allowed),
        ]
    );
    let e = explain(&w.request, &d);
    let s = e.session.unwrap();
    assert_eq!((s.name.as_str(), s.group.as_str()), ("s1", "cluster-admin"));
    assert_eq!(s.impersonation_group, "oidc:cluster-admin");
    assert!(e.policy.is_none());
    assert!(e.steps[5].detail.contains("session s1"), "{:?}", e.steps[5]);
}

#[test]
fn a_deny_policy_is_named_and_later_stages_are_not_reached() {
    let w = World::new(request(res("get", "secrets").ns("default")))
        .session(approved("s1", "cluster-admin"))
        .policy(policy(
            "no-secrets",
            "{rules: [{verbs: ['get'], apiGroups: [''], resources: ['secrets']}]}",
        ));
    let (d, steps) = outcomes(&w);
    assert!(!d.allowed);
    assert_eq!(steps[3], ("deny-policy", Outcome::Denied));
    assert_eq!(steps[4], ("sessions", Outcome::NotReached));
    assert_eq!(steps[5], ("group-check", Outcome::NotReached));
    let p = explain(&w.request, &d).policy.unwrap();
    assert_eq!(p.name, "no-secrets");
    assert_eq!(p.kind, "rules");
    assert_eq!(p.rule, Some(0));
    assert_eq!(p.pass, "global");
}

#[test]
fn no_session_and_missing_cluster_and_non_resource_requests() {
    let w = World::new(request(res("list", "pods").ns("default")));
    let (d, steps) = outcomes(&w);
    assert!(!d.allowed);
    assert_eq!(steps[4], ("sessions", Outcome::Denied));
    assert!(
        explain(&w.request, &d).steps[4]
            .detail
            .contains("no active session")
    );

    let mut missing = World::new(request(res("list", "pods")));
    missing.cluster = None;
    let (_, steps) = outcomes(&missing);
    assert_eq!(steps[0], ("cluster", Outcome::Denied));
    assert!(steps[1..].iter().all(|(_, o)| *o == Outcome::NotReached));

    let mut w = World::new(non_resource("get", "/healthz")).session(approved("s1", "viewer"));
    w.request.groups = vec!["oidc:developers".into()];
    let d = w.decide_with(&|_| ProbeOutcome::NotAllowed);
    let e = explain(&w.request, &d);
    assert_eq!(e.steps[3].outcome, Outcome::Skipped);
    assert_eq!(e.steps[5].outcome, Outcome::Denied);
    assert!(
        e.steps[5].detail.contains("none of the 1"),
        "{:?}",
        e.steps[5]
    );
}
