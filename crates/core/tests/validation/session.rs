//! BreakglassSession create rules.

use breakglass_api::BreakglassSession;
use breakglass_core::validation::validate_breakglass_session_schedule;
use serde_json::json;

use crate::support::{bad, check_table, ok, yaml};

pub const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: BreakglassSession
metadata:
  name: prod-eu-cluster-admin-x7k2p
  namespace: breakglass
spec:
  cluster: prod-eu
  user: alice@example.com
  grantedGroup: cluster-admin
  maxValidFor: 1h
  idleTimeout: 15m
  retainFor: 720h
"#;

#[test]
fn session_table() {
    check_table(
        BASE,
        vec![
            bad(
                "cluster missing",
                json!({"spec": {"cluster": null}}),
                &["spec.cluster: Required value"],
            ),
            bad(
                "user empty",
                json!({"spec": {"user": ""}}),
                &["spec.user: Required value"],
            ),
            bad(
                "grantedGroup blank",
                json!({"spec": {"grantedGroup": "  "}}),
                &["spec.grantedGroup: Required value"],
            ),
            bad(
                "all three missing",
                json!({"spec": {"cluster": null, "user": null, "grantedGroup": null}}),
                &[
                    "spec.cluster: Required value",
                    "spec.user: Required value",
                    "spec.grantedGroup: Required value",
                ],
            ),
            ok(
                "durations with days",
                json!({"spec": {"maxValidFor": "1d", "retainFor": "30d"}}),
            ),
            bad(
                "malformed maxValidFor",
                json!({"spec": {"maxValidFor": "1hour"}}),
                &[
                    "spec.maxValidFor: Invalid value: \"1hour\": must be a duration such as \"90m\", \"1.5h\", \"7d\" or \"1d12h\" (units ns, us, ms, s, m, h; an optional leading day count)",
                ],
            ),
            bad(
                "idleTimeout below a minute",
                json!({"spec": {"idleTimeout": "30s"}}),
                &["spec.idleTimeout: Invalid value: \"30s\": must be at least 1m"],
            ),
            bad(
                "idleTimeout above maxValidFor",
                json!({"spec": {"idleTimeout": "2h"}}),
                &["spec.idleTimeout: Invalid value: \"2h\": must not exceed maxValidFor (1h0m0s)"],
            ),
            ok(
                "scheduled start is not checked offline",
                json!({"spec": {"scheduledStartTime": "2020-01-01T00:00:00Z"}}),
            ),
            bad(
                "scheduled start not a timestamp",
                json!({"spec": {"scheduledStartTime": "tomorrow"}}),
                &[
                    "spec.scheduledStartTime: Invalid value: \"tomorrow\": must be an RFC 3339 date-time such as \"2024-01-15T10:00:00Z\"",
                ],
            ),
            bad(
                "unknown state",
                json!({"status": {"state": "Active"}}),
                &[
                    "status.state: Unsupported value: \"Active\": supported values: \"Pending\", \"Approved\", \"Rejected\", \"Expired\", \"IdleExpired\", \"Withdrawn\", \"ApprovalTimeout\", \"WaitingForScheduledTime\"",
                ],
            ),
        ],
    );
}

#[test]
fn scheduled_start_needs_five_minutes_of_lead() {
    let session: BreakglassSession = serde_json::from_value(yaml(BASE)).unwrap();
    let now: jiff::Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
    let at = |t: &str| {
        let mut s = session.clone();
        s.spec.scheduled_start_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            t.parse().unwrap(),
        ));
        validate_breakglass_session_schedule(&s, now)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert!(validate_breakglass_session_schedule(&session, now).is_empty());
    assert!(at("2026-01-01T10:05:00Z").is_empty());
    assert_eq!(
        at("2026-01-01T10:04:59Z"),
        vec![
            "spec.scheduledStartTime: Invalid value: \"2026-01-01T10:04:59Z\": must be at least 5 minutes in the future"
        ]
    );
}
