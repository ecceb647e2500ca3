//! Template rendering cost: parse, execute and YAML documents for a realistic debug pod
//! template (two documents, `range`, `if`, `toYaml | nindent`, variables).
//!
//! `cargo bench -p breakglass-core --bench template` (`BENCH_ITERATIONS` tunes it).
//! Prints median and p99 per operation; the numbers go to `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use breakglass_core::template::{Budget, Template, Value};

const SOURCE: &str = r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .session.name | trunc 63 }}
  labels:
    {{- toYaml .labels | nindent 4 }}
spec:
  template:
    metadata:
      annotations:
        breakglass/reason: {{ .session.reason | quote }}
    spec:
      {{- if eq .vars.hostNetwork "true" }}
      hostNetwork: true
      {{- end }}
      containers:
        - name: debug
          image: {{ .vars.image | default "busybox:stable" }}
          command: ["sleep", "infinity"]
          env:
            {{- range $k, $v := .vars }}
            - name: VAR_{{ $k | upper }}
              value: {{ $v | quote }}
            {{- end }}
          resources:
            requests: {cpu: 100m, memory: {{ .vars.memory | default "128Mi" }}}
            limits: {cpu: 500m, memory: {{ .vars.memory | default "128Mi" }}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-config" .session.name | k8sName }}
  namespace: {{ .target.namespace }}
data:
  requested-by: {{ .session.requestedBy | quote }}
  script: |
    {{- .vars.script | nindent 4 }}
"#;

fn data() -> Value {
    let vars = serde_json::json!({
        "image": "registry.example.com/tools/netshoot:v0.13",
        "hostNetwork": "true",
        "memory": "256Mi",
        "script": "#!/bin/sh\nset -eu\ntcpdump -i any -c 100 port 53 -w /tmp/dns.pcap\n",
        "mode": "capture: all\n- x",
    });
    let top = serde_json::json!({
        "session": {"name": "debug-alice-prod-eu-1-m3k2x9q1", "namespace": "breakglass",
                     "cluster": "prod-eu-1", "expiresAt": "2026-12-03T04:00:00Z"},
        "target": {"namespace": "breakglass-debug", "clusterName": "prod-eu-1"},
        "labels": {"team": "sre", "app.kubernetes.io/part-of": "breakglass"},
    });
    let mut v = Value::from_json(&top, false);
    if let (Value::Map(m), Value::Map(s)) = (
        &mut v,
        Value::from_json(
            &serde_json::json!({"reason": "INC-4711: DNS timeouts \"since 02:00\"", "requestedBy": "alice@example.com"}),
            true,
        ),
    ) {
        if let Some(Value::Map(session)) = m.get_mut("session") {
            session.extend(s);
        }
        m.insert("vars".to_owned(), Value::from_json(&vars, true));
    }
    v
}

fn measure(iterations: usize, mut op: impl FnMut()) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations / 10 {
        op();
    }
    for _ in 0..iterations {
        let t = Instant::now();
        op();
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    let p = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i]
    };
    (p(0.5), p(0.99))
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    let data = data();
    let now = jiff::Timestamp::UNIX_EPOCH;
    let Ok(template) = Template::parse("bench", SOURCE) else {
        eprintln!("the bench template does not parse");
        std::process::exit(1);
    };
    let docs = template
        .execute(&data, now, Budget::default())
        .and_then(|r| r.documents());
    match docs {
        Ok(d) if d.len() == 2 => {}
        other => {
            eprintln!("unexpected render result: {other:?}");
            std::process::exit(1);
        }
    }

    let (p50, p99) = measure(iterations, || {
        let _ = std::hint::black_box(Template::parse("bench", SOURCE));
    });
    println!("parse              median {p50:>10.2?}  p99 {p99:>10.2?}");
    let (p50, p99) = measure(iterations, || {
        let _ = std::hint::black_box(template.execute(&data, now, Budget::default()));
    });
    println!("execute            median {p50:>10.2?}  p99 {p99:>10.2?}");
    let rendered = template.execute(&data, now, Budget::default());
    let (p50, p99) = measure(iterations, || {
        if let Ok(r) = &rendered {
            let _ = std::hint::black_box(r.documents());
        }
    });
    println!("documents (YAML)   median {p50:>10.2?}  p99 {p99:>10.2?}");
    let (p50, p99) = measure(iterations, || {
        let _ = std::hint::black_box(
            template
                .execute(&data, now, Budget::default())
                .and_then(|r| r.documents()),
        );
    });
    println!("execute+documents  median {p50:>10.2?}  p99 {p99:>10.2?}");
}
