//! DebugSession create rules.

use serde_json::json;

use crate::support::{bad, check_table, ok};

pub const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: DebugSession
metadata:
  name: debug-alice-prod-eu-1
  namespace: breakglass
spec:
  cluster: prod-eu
  templateRef: network-debug
  requestedBy: alice
  requestedDuration: 2h
  reason: Investigating packet loss
  targetNamespace: breakglass-debug
  bindingRef:
    name: sre-production
    namespace: breakglass
  extraDeployValues:
    logLevel: debug
    enableTrace: true
"#;

#[test]
fn debug_session_table() {
    check_table(
        BASE,
        vec![
            bad(
                "cluster missing",
                json!({"spec": {"cluster": null}}),
                &["spec.cluster: Required value"],
            ),
            bad(
                "template empty",
                json!({"spec": {"templateRef": ""}}),
                &["spec.templateRef: Required value"],
            ),
            bad(
                "requester missing",
                json!({"spec": {"requestedBy": null}}),
                &["spec.requestedBy: Required value"],
            ),
            ok(
                "duration in days",
                json!({"spec": {"requestedDuration": "1d"}}),
            ),
            bad(
                "zero duration",
                json!({"spec": {"requestedDuration": "0m"}}),
                &["spec.requestedDuration: Invalid value: \"0m\": must be greater than zero"],
            ),
            bad(
                "negative duration",
                json!({"spec": {"requestedDuration": "-1h"}}),
                &[
                    "spec.requestedDuration: Invalid value: \"-1h\": must be a duration such as \"30m\", \"2h\" or \"1d\" (whole numbers with units ns, us, ms, s, m, h, d)",
                ],
            ),
            bad(
                "variable key not a Go identifier",
                json!({"spec": {"extraDeployValues": {"log-level": "debug"}}}),
                &[
                    "spec.extraDeployValues[log-level]: Invalid value: \"log-level\": must be a Go identifier (a letter or '_' followed by letters, digits or '_')",
                ],
            ),
            bad(
                "binding without namespace",
                json!({"spec": {"bindingRef": {"namespace": ""}}}),
                &["spec.bindingRef.namespace: Required value"],
            ),
            bad(
                "duplicate invitee",
                json!({"spec": {"invitedParticipants": ["bob", "bob"]}}),
                &["spec.invitedParticipants[1]: Duplicate value: \"bob\""],
            ),
            bad(
                "unknown state",
                json!({"status": {"state": "Running"}}),
                &[
                    "status.state: Unsupported value: \"Running\": supported values: \"Pending\", \"PendingApproval\", \"Active\", \"Expired\", \"Terminated\", \"Failed\"",
                ],
            ),
            bad(
                "unknown participant role",
                json!({"status": {"participants": [{"user": "bob", "role": "admin"}]}}),
                &[
                    "status.participants[0].role: Unsupported value: \"admin\": supported values: \"owner\", \"participant\", \"viewer\"",
                ],
            ),
        ],
    );
}
