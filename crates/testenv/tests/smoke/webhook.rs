//! A stand-in for the breakglass server's authorization webhook, shared by all
//! tests of this binary: it records every SubjectAccessReview and allows exactly
//! the resources whose name starts with `allowed-by-webhook` (no opinion otherwise).
//!
//! Something must answer on the webhook address: when nothing listens there, the
//! target apiservers answer requests that RBAC does not allow with an internal
//! error instead of Forbidden, whatever the failure policy.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::post;
use breakglass_testenv::layout::WEBHOOK_PATH;
use serde_json::{Value, json};

/// Name prefix the stub allows.
pub const ALLOWED_PREFIX: &str = "allowed-by-webhook";

/// What the stub saw: (cluster from the URL path, SubjectAccessReview).
pub type Seen = Arc<Mutex<Vec<(String, Value)>>>;

async fn authorize(
    State(seen): State<Seen>,
    Path(cluster): Path<String>,
    Json(review): Json<Value>,
) -> Json<Value> {
    let allowed = review
        .pointer("/spec/resourceAttributes/name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.starts_with(ALLOWED_PREFIX));
    seen.lock().expect("lock").push((cluster, review));
    Json(json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "status": {"allowed": allowed},
    }))
}

/// Starts the stub on `addr` once per test binary (on its own thread and runtime,
/// so it outlives the test that started it) and returns its record.
pub fn start(addr: SocketAddr) -> Result<Seen, String> {
    static STUB: OnceLock<Result<Seen, String>> = OnceLock::new();
    STUB.get_or_init(|| {
        let seen: Seen = Arc::default();
        // A breakglass server of a previous test binary may still be shutting down on
        // this address: retry for a while before giving up.
        let started = std::time::Instant::now();
        let listener = loop {
            match std::net::TcpListener::bind(addr) {
                Ok(l) => break l,
                Err(e) if started.elapsed() < std::time::Duration::from_secs(15) => {
                    let _ = e;
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot listen on the webhook address {addr} (is a breakglass server running?): {e}"
                    ));
                }
            }
        };
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let app = axum::Router::new()
            .route(&format!("{WEBHOOK_PATH}{{cluster}}"), post(authorize))
            .with_state(seen.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("webhook stub");
            });
        });
        Ok(seen)
    })
    .clone()
}
