//! AuditConfig.

use std::collections::HashSet;

use breakglass_api::AuditConfig;
use breakglass_api::audit_config::{AuditSink, AuditSinkType, SecretKeySelector};

use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, Errors, ListRules};
use super::selectors;

fn globs(errs: &mut Errors, p: &Path, list: Option<&Vec<String>>) {
    if let Some(list) = list {
        rules::string_list(errs, p, list, ListRules::unique(), rules::glob);
    }
}

fn selector_ref(errs: &mut Errors, p: &Path, r: Option<&SecretKeySelector>) {
    if let Some(r) = r
        && rules::required_str(errs, &p.child("name"), &r.name)
    {
        rules::dns1123_subdomain(errs, &p.child("name"), &r.name);
    }
}

fn range(errs: &mut Errors, p: &Path, v: Option<i32>, min: i64, max: i64) {
    if let Some(v) = v {
        rules::int_range(errs, p, v.into(), min, Some(max));
    }
}

/// True when `rate` matches `^(0(\.[0-9]+)?|1(\.0+)?)$`: a decimal from 0.0 to 1.0.
fn is_rate(rate: &str) -> bool {
    let frac = |s: &str, zeros_only: bool| {
        !s.is_empty()
            && s.chars().all(|c| {
                if zeros_only {
                    c == '0'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    match rate.split_once('.') {
        None => rate == "0" || rate == "1",
        Some(("0", f)) => frac(f, false),
        Some(("1", f)) => frac(f, true),
        Some(_) => false,
    }
}

/// Validates an AuditConfig: at least one sink, unique DNS-label sink names, each sink's
/// settings block for its type with values in range, well-formed filters, and a
/// sampling rate between 0.0 and 1.0.
pub fn validate_audit_config(a: &AuditConfig) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &a.spec;
    let sp = p.child("sinks");
    if spec.sinks.is_empty() {
        errs.push(FieldError::required(&sp, "at least one sink is required"));
    }
    let mut names = HashSet::new();
    for (i, sink) in spec.sinks.iter().enumerate() {
        let ip = sp.index(i);
        if rules::required_str(&mut errs, &ip.child("name"), &sink.name) {
            rules::dns1123_label(&mut errs, &ip.child("name"), &sink.name);
            if !names.insert(sink.name.as_str()) {
                errs.push(FieldError::duplicate(ip.child("name"), &sink.name));
            }
        }
        sink_settings(&mut errs, &ip, sink);
        globs(
            &mut errs,
            &ip.child("eventTypes"),
            sink.event_types.as_ref(),
        );
    }
    if let Some(q) = &spec.queue {
        let qp = p.child("queue");
        range(&mut errs, &qp.child("size"), q.size, 1000, 10_000_000);
        range(&mut errs, &qp.child("workers"), q.workers, 1, 100);
    }
    if let Some(f) = &spec.filtering {
        let fp = p.child("filtering");
        globs(
            &mut errs,
            &fp.child("includeUsers"),
            f.include_users.as_ref(),
        );
        globs(
            &mut errs,
            &fp.child("excludeUsers"),
            f.exclude_users.as_ref(),
        );
        for (name, filter) in [
            ("includeNamespaces", &f.include_namespaces),
            ("excludeNamespaces", &f.exclude_namespaces),
        ] {
            if let Some(filter) = filter {
                selectors::namespace_filter(&mut errs, &fp.child(name), filter);
            }
        }
    }
    if let Some(rate) = spec.sampling.as_ref().and_then(|s| s.rate.as_ref())
        && !is_rate(rate)
    {
        errs.push(FieldError::invalid(
            p.child("sampling").child("rate"),
            rate,
            "must be a decimal between 0.0 and 1.0",
        ));
    }
    errs
}

fn sink_settings(errs: &mut Errors, p: &Path, sink: &AuditSink) {
    match sink.type_ {
        AuditSinkType::Kafka => match &sink.kafka {
            None => errs.push(FieldError::required(
                p.child("kafka"),
                "required for a kafka sink",
            )),
            Some(k) => {
                let kp = p.child("kafka");
                if k.brokers.is_empty() {
                    errs.push(FieldError::required(
                        kp.child("brokers"),
                        "at least one broker is required",
                    ));
                }
                rules::string_list(
                    errs,
                    &kp.child("brokers"),
                    &k.brokers,
                    ListRules::unique(),
                    |_, _, _| {},
                );
                if rules::required_str(errs, &kp.child("topic"), &k.topic) {
                    rules::max_len(errs, &kp.child("topic"), &k.topic, 249);
                }
                range(errs, &kp.child("batchSize"), k.batch_size, 1, 10_000);
                range(
                    errs,
                    &kp.child("batchTimeoutSeconds"),
                    k.batch_timeout_seconds,
                    0,
                    60,
                );
                range(errs, &kp.child("requiredAcks"), k.required_acks, -1, 1);
                if let Some(tls) = &k.tls {
                    selector_ref(
                        errs,
                        &kp.child("tls").child("caSecretRef"),
                        tls.ca_secret_ref.as_ref(),
                    );
                    selector_ref(
                        errs,
                        &kp.child("tls").child("clientCertSecretRef"),
                        tls.client_cert_secret_ref.as_ref(),
                    );
                }
                if let Some(sasl) = &k.sasl {
                    selector_ref(
                        errs,
                        &kp.child("sasl").child("credentialsSecretRef"),
                        Some(&sasl.credentials_secret_ref),
                    );
                }
            }
        },
        AuditSinkType::Webhook => match &sink.webhook {
            None => errs.push(FieldError::required(
                p.child("webhook"),
                "required for a webhook sink",
            )),
            Some(w) => {
                let wp = p.child("webhook");
                if rules::required_str(errs, &wp.child("url"), &w.url) {
                    rules::url(errs, &wp.child("url"), &w.url, &["http", "https"]);
                }
                if let Some(u) = &w.batch_url {
                    rules::url(errs, &wp.child("batchUrl"), u, &["http", "https"]);
                }
                range(errs, &wp.child("timeoutSeconds"), w.timeout_seconds, 1, 30);
                range(errs, &wp.child("batchSize"), w.batch_size, 1, 1000);
                selector_ref(errs, &wp.child("authSecretRef"), w.auth_secret_ref.as_ref());
                if let Some(tls) = &w.tls {
                    selector_ref(
                        errs,
                        &wp.child("tls").child("caSecretRef"),
                        tls.ca_secret_ref.as_ref(),
                    );
                }
            }
        },
        AuditSinkType::Kubernetes => {
            if let Some(k) = &sink.kubernetes {
                globs(
                    errs,
                    &p.child("kubernetes").child("eventTypes"),
                    k.event_types.as_ref(),
                );
            }
        }
        AuditSinkType::Log => {}
    }
}

/// Warnings of an AuditConfig: settings blocks that do not match the sink type (they are
/// ignored) and disabled TLS verification.
pub(crate) fn audit_config_warnings(a: &AuditConfig) -> Vec<Warning> {
    let mut warns = Vec::new();
    for (i, sink) in a.spec.sinks.iter().enumerate() {
        let p = Path::new("spec").child("sinks").index(i);
        let blocks = [
            ("kafka", sink.kafka.is_some(), AuditSinkType::Kafka),
            ("webhook", sink.webhook.is_some(), AuditSinkType::Webhook),
            ("log", sink.log.is_some(), AuditSinkType::Log),
            (
                "kubernetes",
                sink.kubernetes.is_some(),
                AuditSinkType::Kubernetes,
            ),
        ];
        for (name, set, for_type) in blocks {
            if set && sink.type_ != for_type {
                warns.push(Warning::new(
                    p.child(name),
                    format!("ignored: the sink's type is {}", sink.type_.as_str()),
                ));
            }
        }
        let insecure = sink
            .kafka
            .as_ref()
            .and_then(|k| k.tls.as_ref())
            .and_then(|t| t.insecure_skip_verify)
            == Some(true)
            || sink
                .webhook
                .as_ref()
                .and_then(|w| w.tls.as_ref())
                .and_then(|t| t.insecure_skip_verify)
                == Some(true);
        if insecure {
            warns.push(Warning::new(p, "TLS verification of the sink is disabled"));
        }
    }
    warns
}
