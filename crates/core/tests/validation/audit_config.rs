//! AuditConfig rules.

use serde_json::json;

use crate::support::{bad, check_table, check_warnings, ok};

const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: AuditConfig
metadata:
  name: default
spec:
  sinks:
    - name: stdout
      type: log
      log:
        level: info
    - name: siem
      type: webhook
      webhook:
        url: https://siem.example.com/ingest
        timeoutSeconds: 5
      eventTypes: ["session.*"]
  queue:
    size: 100000
    workers: 5
  sampling:
    rate: "0.5"
"#;

#[test]
fn audit_config_table() {
    check_table(
        BASE,
        vec![
            bad(
                "no sinks",
                json!({"spec": {"sinks": []}}),
                &["spec.sinks: Required value: at least one sink is required"],
            ),
            bad(
                "duplicate sink name",
                json!({"spec": {"sinks": [{"name": "a", "type": "log"}, {"name": "a", "type": "log"}]}}),
                &["spec.sinks[1].name: Duplicate value: \"a\""],
            ),
            bad(
                "sink name not a DNS label",
                json!({"spec": {"sinks": [{"name": "My Sink", "type": "log"}]}}),
                &[
                    "spec.sinks[0].name: Invalid value: \"My Sink\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            bad(
                "webhook sink without webhook settings",
                json!({"spec": {"sinks": [{"name": "a", "type": "webhook"}]}}),
                &["spec.sinks[0].webhook: Required value: required for a webhook sink"],
            ),
            bad(
                "kafka sink without kafka settings",
                json!({"spec": {"sinks": [{"name": "a", "type": "kafka"}]}}),
                &["spec.sinks[0].kafka: Required value: required for a kafka sink"],
            ),
            ok(
                "kafka sink",
                json!({"spec": {"sinks": [{"name": "k", "type": "kafka", "kafka": {"brokers": ["kafka:9092"], "topic": "audit", "requiredAcks": -1, "sasl": {"mechanism": "SCRAM-SHA-512", "credentialsSecretRef": {"name": "kafka"}}}}]}}),
            ),
            bad(
                "kafka without brokers and with a long topic",
                json!({"spec": {"sinks": [{"name": "k", "type": "kafka", "kafka": {"brokers": [], "topic": "t".repeat(250)}}]}}),
                &[
                    "spec.sinks[0].kafka.brokers: Required value: at least one broker is required",
                    "spec.sinks[0].kafka.topic: Too long: may not be more than 249 bytes",
                ],
            ),
            bad(
                "kafka acks out of range",
                json!({"spec": {"sinks": [{"name": "k", "type": "kafka", "kafka": {"brokers": ["b"], "topic": "t", "requiredAcks": 2}}]}}),
                &[
                    "spec.sinks[0].kafka.requiredAcks: Invalid value: 2: must be less than or equal to 1",
                ],
            ),
            bad(
                "webhook over another scheme",
                json!({"spec": {"sinks": [{"name": "w", "type": "webhook", "webhook": {"url": "ftp://siem"}}]}}),
                &[
                    "spec.sinks[0].webhook.url: Invalid value: \"ftp://siem\": must be an absolute http or https URL",
                ],
            ),
            bad(
                "webhook timeout above 30s",
                json!({"spec": {"sinks": [{"name": "w", "type": "webhook", "webhook": {"url": "http://siem", "timeoutSeconds": 31}}]}}),
                &[
                    "spec.sinks[0].webhook.timeoutSeconds: Invalid value: 31: must be less than or equal to 30",
                ],
            ),
            bad(
                "unknown sink type",
                json!({"spec": {"sinks": [{"name": "s", "type": "syslog"}]}}),
                &[
                    "spec.sinks[0].type: Unsupported value: \"syslog\": supported values: \"log\", \"webhook\", \"kafka\", \"kubernetes\"",
                ],
            ),
            bad(
                "malformed event type glob",
                json!({"spec": {"sinks": [{"name": "s", "type": "log", "eventTypes": ["session.["]}]}}),
                &[
                    "spec.sinks[0].eventTypes[0]: Invalid value: \"session.[\": syntax error in glob pattern",
                ],
            ),
            // queue
            bad(
                "queue too small",
                json!({"spec": {"queue": {"size": 999}}}),
                &["spec.queue.size: Invalid value: 999: must be greater than or equal to 1000"],
            ),
            bad(
                "too many workers",
                json!({"spec": {"queue": {"workers": 101}}}),
                &["spec.queue.workers: Invalid value: 101: must be less than or equal to 100"],
            ),
            // sampling rate
            ok("rate one", json!({"spec": {"sampling": {"rate": "1.0"}}})),
            ok("rate zero", json!({"spec": {"sampling": {"rate": "0"}}})),
            bad(
                "rate above one",
                json!({"spec": {"sampling": {"rate": "1.5"}}}),
                &[
                    "spec.sampling.rate: Invalid value: \"1.5\": must be a decimal between 0.0 and 1.0",
                ],
            ),
            bad(
                "rate as a percentage",
                json!({"spec": {"sampling": {"rate": "50%"}}}),
                &[
                    "spec.sampling.rate: Invalid value: \"50%\": must be a decimal between 0.0 and 1.0",
                ],
            ),
            bad(
                "rate as a number",
                json!({"spec": {"sampling": {"rate": 0.5}}}),
                &["spec.sampling.rate: Invalid value: 0.5: must be a string"],
            ),
            // filtering
            bad(
                "malformed user glob",
                json!({"spec": {"filtering": {"excludeUsers": ["system:["]}}}),
                &[
                    "spec.filtering.excludeUsers[0]: Invalid value: \"system:[\": syntax error in glob pattern",
                ],
            ),
        ],
    );
}

#[test]
fn audit_config_warnings() {
    check_warnings(
        BASE,
        vec![
            ("none", json!({}), vec![]),
            (
                "settings of another type",
                json!({"spec": {"sinks": [{"name": "a", "type": "log", "webhook": {"url": "https://x"}}]}}),
                vec!["spec.sinks[0].webhook: ignored: the sink's type is log"],
            ),
        ],
    );
}
