//! Explanations of real decisions: the deciding stage, the stages before and after it,
//! and what was involved.

use super::fixtures::*;
use super::world::*;
use crate::authz::explain::{
    HYPOTHETICAL_PREFIX, Outcome, STEPS, allowed_by_session, explain, hypothetical_session,
};
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

fn escalation(name: &str, group: &str) -> breakglass_api::BreakglassEscalation {
    yaml(&format!(
        "apiVersion: breakglass.t-caas.telekom.com/v1alpha1\nkind: BreakglassEscalation\n\
         metadata: {{name: {name}, namespace: team}}\n\
         spec: {{escalatedGroup: {group}, allowed: {{clusters: [{CLUSTER}], groups: [developers]}}, \
         approvers: {{users: [a@example.com]}}}}\n"
    ))
}

/// The world with the escalation's hypothetical session as the user's only session.
fn with_hypothetical(request: SarRequest, esc: &breakglass_api::BreakglassEscalation) -> World {
    let s = hypothetical_session(esc, CLUSTER, &request.user, Some("https://idp"), now());
    World::new(request).session(s)
}

#[test]
fn a_hypothetical_session_is_active_for_the_escalated_group_only() {
    let esc = escalation("ops", "pods-admin");
    let s = hypothetical_session(&esc, CLUSTER, USER, Some("https://idp"), now());
    assert!(crate::session::is_access_active(&s, now()));
    assert!(!crate::session::is_access_active(&s, at(3601)));
    assert_eq!(s.spec.granted_group, "pods-admin");
    assert_eq!(
        (s.spec.user.as_str(), s.spec.cluster.as_str()),
        (USER, CLUSTER)
    );
    assert_eq!(s.metadata.namespace.as_deref(), Some("team"));
    assert!(
        s.metadata
            .name
            .as_deref()
            .unwrap()
            .starts_with(HYPOTHETICAL_PREFIX)
    );
    assert_eq!(
        s.spec.identity_provider_issuer.as_deref(),
        Some("https://idp")
    );
}

#[test]
fn an_escalation_allows_when_the_cluster_allows_its_group_and_no_policy_denies() {
    let esc = escalation("ops", "pods-admin");
    let w = with_hypothetical(request(res("delete", "pods").ns("default")), &esc);
    let d = w.decide_with(&|c| {
        if c.spellings.iter().any(|s| s.ends_with("pods-admin")) {
            ProbeOutcome::Allowed {
                group: c.spellings[0].clone(),
            }
        } else {
            ProbeOutcome::NotAllowed
        }
    });
    assert!(allowed_by_session(&d), "{d:?}");
    assert_eq!(d.trace.stage.name(), "session");

    // The cluster's RBAC does not give the group this verb: the escalation is no use.
    let d = w.decide_with(&|_| ProbeOutcome::NotAllowed);
    assert!(!allowed_by_session(&d));
    assert_eq!(d.trace.stage.name(), "final");

    // A DenyPolicy still applies to a session that would be granted.
    let w = with_hypothetical(request(res("get", "secrets").ns("default")), &esc).policy(policy(
        "no-secrets",
        "{rules: [{verbs: ['get'], apiGroups: [''], resources: ['secrets']}]}",
    ));
    let d = w.decide();
    assert!(!allowed_by_session(&d));
    assert_eq!(d.trace.stage.name(), "deny-policy");
}

#[test]
fn only_a_session_grant_counts_as_the_escalation_allowing() {
    let mut w = World::new(request(res("get", "pods").ns("default")));
    w.cluster = None;
    let d = w.decide();
    assert!(!allowed_by_session(&d));
}
