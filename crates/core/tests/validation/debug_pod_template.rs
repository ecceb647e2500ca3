//! DebugPodTemplate rules.

use serde_json::json;

use crate::support::{bad, check_table, ok};

const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: DebugPodTemplate
metadata:
  name: netshoot
spec:
  displayName: Network tools
  template:
    metadata:
      labels:
        app: netshoot
    spec:
      containers:
        - name: debug
          image: nicolaka/netshoot:latest
          command: ["sleep", "infinity"]
      volumes:
        - name: scripts
          configMap:
            name: scripts
            defaultMode: 0755
"#;

#[test]
fn debug_pod_template_table() {
    check_table(
        BASE,
        vec![
            ok(
                "templateString instead",
                json!({"spec": {"template": null, "templateString": "containers:\n  - name: debug\n    image: busybox\n"}}),
            ),
            bad(
                "template and templateString",
                json!({"spec": {"templateString": "containers: []"}}),
                &["spec: Forbidden: template and templateString are mutually exclusive"],
            ),
            bad(
                "neither template nor templateString",
                json!({"spec": {"template": null}}),
                &["spec.template: Required value: one of template or templateString is required"],
            ),
            bad(
                "no containers",
                json!({"spec": {"template": {"spec": {"containers": []}}}}),
                &[
                    "spec.template.spec.containers: Required value: at least one container is required",
                ],
            ),
            bad(
                "duplicate container name across init containers",
                json!({"spec": {"template": {"spec": {"initContainers": [{"name": "debug", "image": "busybox"}]}}}}),
                &["spec.template.spec.initContainers[0].name: Duplicate value: \"debug\""],
            ),
            bad(
                "container name not a DNS label",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "Debug_1", "image": "busybox"}]}}}}),
                &[
                    "spec.template.spec.containers[0].name: Invalid value: \"Debug_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            bad(
                "invalid pod label",
                json!({"spec": {"template": {"metadata": {"labels": {"app": "net shoot"}}}}}),
                &[
                    "spec.template.metadata.labels[app]: Invalid value: \"net shoot\": must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                ],
            ),
            bad(
                "unknown pod field",
                json!({"spec": {"template": {"spec": {"hostUsers": false}}}}),
                &["spec.template.spec.hostUsers: unknown field"],
            ),
            bad(
                "unknown container field",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "debug", "image": "busybox", "imagePolicy": "x"}]}}}}),
                &["spec.template.spec.containers[0].imagePolicy: unknown field"],
            ),
            bad(
                "unknown preemption policy",
                json!({"spec": {"template": {"spec": {"preemptionPolicy": "Always"}}}}),
                &[
                    "spec.template.spec.preemptionPolicy: Unsupported value: \"Always\": supported values: \"PreemptLowerPriority\", \"Never\"",
                ],
            ),
            bad(
                "unbalanced template",
                json!({"spec": {"template": null, "templateString": "containers:\n{{- if .vars.x }}\n  - name: a\n"}}),
                &[
                    "spec.templateString: Invalid value: <template>: template syntax error: line 2, column 5: unexpected EOF: {{if}} has no matching {{end}}",
                ],
            ),
            bad(
                "unclosed action",
                json!({"spec": {"template": null, "templateString": "containers:\n  - name: {{ .session.name \n"}}),
                &[
                    "spec.templateString: Invalid value: <template>: template syntax error: line 2, column 11: unclosed action",
                ],
            ),
            bad(
                "unknown function",
                json!({"spec": {"template": null, "templateString": "containers:\n  - name: {{ .session.name | shout }}\n"}}),
                &[
                    "spec.templateString: Invalid value: <template>: template syntax error: line 2, column 30: function \"shout\" not defined",
                ],
            ),
            bad(
                "wrong argument count",
                json!({"spec": {"template": null, "templateString": "containers:\n  - name: {{ trunc 5 }}\n"}}),
                &[
                    "spec.templateString: Invalid value: <template>: template syntax error: line 2, column 14: wrong number of args for trunc: want 2 got 1",
                ],
            ),
        ],
    );
}
