//! The pipeline against a local HTTP receiver: batching, filters, the breaker, and the
//! queue's drop semantics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use breakglass_api::AuditConfig;
use breakglass_api::audit_config::*;
use breakglass_audit::metrics::AuditMetrics;
use breakglass_audit::pipeline::{BuildContext, StatsRegistry};
use breakglass_audit::{Actor, AuditEvent, Manager, Target, types};
use serde_json::Value;

fn ctx() -> BuildContext {
    breakglass_audit::install_crypto_provider_for_tests();
    BuildContext {
        hub: None,
        namespace: "breakglass-system".into(),
        instance: "test".into(),
        secrets: Default::default(),
        metrics: AuditMetrics::default(),
        stats: StatsRegistry::default(),
    }
}

fn webhook_sink(name: &str, url: &str, batch: i32) -> AuditSink {
    AuditSink {
        name: name.into(),
        type_: AuditSinkType::Webhook,
        kafka: None,
        webhook: Some(WebhookSinkConfig {
            url: url.into(),
            batch_size: Some(batch),
            timeout_seconds: Some(1),
            ..WebhookSinkConfig::default()
        }),
        log: None,
        kubernetes: None,
        event_types: None,
        min_severity: None,
    }
}

fn config(name: &str, spec: AuditConfigSpec) -> AuditConfig {
    AuditConfig::new(name, spec)
}

fn event(t: &str) -> AuditEvent {
    AuditEvent::new(
        t,
        Actor {
            user: "ann@example.com".into(),
            ..Actor::default()
        },
        Target {
            cluster: "prod".into(),
            kind: "BreakglassSession".into(),
            name: "s-1".into(),
            namespace: "breakglass".into(),
        },
    )
}

/// A receiver that records every body posted to it.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        post(move |axum::Json(v): axum::Json<Value>| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/audit"), got)
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn webhook_receives_single_events_and_batches_with_filters() {
    let (url, got) = receiver().await;
    let mut batched = webhook_sink("batched", &format!("{url}/single"), 3);
    batched.webhook.as_mut().unwrap().batch_url = Some(format!("{url}/batch"));
    batched.min_severity = Some(AuditSeverity::Warning);
    let spec = AuditConfigSpec {
        sinks: vec![webhook_sink("single", &format!("{url}/single"), 1), batched],
        filtering: Some(AuditFilterConfig {
            exclude_event_types: Some(vec!["access.granted".into()]),
            ..AuditFilterConfig::default()
        }),
        ..AuditConfigSpec::default()
    };
    let ctx = ctx();
    let m = Manager::build(&[config("a", spec)], &ctx);
    m.emit(event(types::SESSION_REQUESTED));
    m.emit(event(types::ACCESS_GRANTED)); // filtered out
    for _ in 0..3 {
        m.emit(event(types::SESSION_DENIED)); // warning: both sinks
    }
    wait_for(|| got.lock().unwrap().len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = got.lock().unwrap().clone();
    let singles: Vec<&Value> = got.iter().filter(|v| v.get("type").is_some()).collect();
    let batches: Vec<&Value> = got.iter().filter(|v| v.get("events").is_some()).collect();
    assert_eq!(singles.len(), 4, "{got:#?}");
    assert!(singles.iter().all(|v| v["type"] != "access.granted"));
    assert_eq!(batches.len(), 1, "{got:#?}");
    assert_eq!(batches[0]["count"], 3);
    assert_eq!(batches[0]["events"].as_array().unwrap().len(), 3);
    assert!(
        batches[0]["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] == "session.denied")
    );
    let stats = ctx.stats.get("a");
    assert_eq!(stats.processed.load(Ordering::Relaxed), 4);
    let status = stats.status(Some(1), jiff::Timestamp::now());
    assert_eq!(status.events_processed, Some(4));
    assert_eq!(status.active_sinks.unwrap(), vec!["single", "batched"]);
    assert_eq!(status.conditions.unwrap()[0].status, "True");
}

#[tokio::test]
async fn a_sink_that_is_down_trips_its_breaker_and_emit_never_waits() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let ctx = ctx();
    let spec = AuditConfigSpec {
        sinks: vec![webhook_sink("down", &url, 1)],
        ..AuditConfigSpec::default()
    };
    let m = Manager::build(&[config("b", spec)], &ctx);
    let start = Instant::now();
    for _ in 0..1000 {
        m.emit(event(types::ACCESS_GRANTED));
    }
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "emit waited: {:?}",
        start.elapsed()
    );
    let stats = ctx.stats.get("b");
    let sink = stats.sinks.lock().unwrap().get("down").cloned().unwrap();
    wait_for(|| *sink.breaker.lock().unwrap() == "open").await;
    assert!(!sink.ready.load(Ordering::Relaxed));
    // Once open, the remaining events fail at once instead of waiting for the network.
    wait_for(|| sink.failed.load(Ordering::Relaxed) == 1000).await;
    assert_eq!(sink.sent.load(Ordering::Relaxed), 0);
    let status = stats.status(None, jiff::Timestamp::now());
    let cond = &status.conditions.unwrap()[0];
    assert_eq!(cond.status, "False");
    assert!(cond.message.contains("down"), "{}", cond.message);
}

#[tokio::test]
async fn a_full_queue_drops_ordinary_events_but_not_sensitive_ones() {
    let (url, got) = receiver().await;
    let ctx = ctx();
    let spec = AuditConfigSpec {
        sinks: vec![webhook_sink("w", &url, 1)],
        queue: Some(AuditQueueConfig {
            size: Some(1000),
            workers: Some(1),
            drop_on_full: Some(true),
        }),
        ..AuditConfigSpec::default()
    };
    let m = Manager::build(&[config("c", spec)], &ctx);
    // Emitted without yielding: the single worker cannot drain before the burst ends.
    for _ in 0..3000 {
        m.emit(event(types::ACCESS_GRANTED));
    }
    for _ in 0..500 {
        m.emit(event(types::SESSION_APPROVED));
    }
    let stats = ctx.stats.get("c");
    let dropped = stats.dropped.load(Ordering::Relaxed);
    assert_eq!(
        dropped, 2000,
        "only ordinary events beyond the queue are dropped"
    );
    let start = Instant::now();
    loop {
        let (n, total) = {
            let g = got.lock().unwrap();
            (
                g.iter().filter(|v| v["type"] == "session.approved").count(),
                g.len(),
            )
        };
        if n == 500 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{n} of 500 sensitive, {total} in all; {:?} processed {}",
            stats.sinks.lock().unwrap(),
            stats.processed.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sink = stats.sinks.lock().unwrap().get("w").cloned().unwrap();
    assert_eq!(sink.failed.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn unusable_sinks_are_reported_not_fatal() {
    let ctx = ctx();
    let (url, _got) = receiver().await;
    let mut kafka = webhook_sink("k", &url, 1);
    kafka.type_ = AuditSinkType::Kafka;
    kafka.webhook = None;
    kafka.kafka = Some(KafkaSinkConfig {
        brokers: vec!["127.0.0.1:1".into()],
        topic: "t".into(),
        compression: Some(KafkaCompression::Zstd),
        ..KafkaSinkConfig::default()
    });
    let mut auth = webhook_sink("auth", &url, 1);
    auth.webhook.as_mut().unwrap().auth_secret_ref = Some(SecretKeySelector {
        name: "missing".into(),
        namespace: None,
    });
    let spec = AuditConfigSpec {
        sinks: vec![webhook_sink("ok", &url, 1), kafka, auth],
        ..AuditConfigSpec::default()
    };
    let m = Manager::build(&[config("d", spec)], &ctx);
    assert!(!m.is_empty());
    let status = ctx.stats.get("d").status(None, jiff::Timestamp::now());
    assert_eq!(status.active_sinks.unwrap(), vec!["ok"]);
    let sinks = status.sink_statuses.unwrap();
    let k = sinks.iter().find(|s| s.name == "k").unwrap();
    assert_eq!(k.ready, Some(false));
    assert!(k.last_error.as_deref().unwrap().contains("zstd"), "{k:?}");
    let a = sinks.iter().find(|s| s.name == "auth").unwrap();
    assert!(
        a.last_error.as_deref().unwrap().contains("not found"),
        "{a:?}"
    );
    // A disabled config builds nothing.
    let off = AuditConfigSpec {
        enabled: Some(false),
        sinks: vec![webhook_sink("ok", &url, 1)],
        ..AuditConfigSpec::default()
    };
    assert!(Manager::build(&[config("e", off)], &ctx).is_empty());
}
