//! The HTTP surface: routes, shared state, authentication extractor, health and metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;
use tower_http::limit::RequestBodyLimitLayer;

use crate::app::App;
use crate::auth::{AuthError, Identity};
use crate::error::ApiError;
use crate::metrics::{IdpLabel, IdpReasonLabel};
use crate::store::HubContact;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    /// The application.
    pub app: Arc<App>,
    /// The registry `/metrics` renders.
    pub registry: Arc<Registry>,
    /// REST API rate limits.
    pub limits: Arc<crate::rate_limit::RateLimits>,
    /// When the hub last answered (readiness).
    pub hub_contact: HubContact,
}

/// `/readyz` fails when the hub has not answered for this long: the watched state may
/// be stale (a hung connection does not make a watch fail).
pub const HUB_SILENCE_BOUND: Duration = Duration::from_secs(10);
/// `/readyz` fails when a watch has been failing for this long.
pub const WATCH_FAILURE_BOUND: Duration = Duration::from_secs(10);

/// Builds the router with every route this server serves; with `ui`, paths that are
/// not routes serve the web UI (see `crate::ui`).
pub fn router(state: AppState, api: Router<AppState>, ui: bool) -> Router {
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(api);
    let routes = if ui {
        routes.fallback(crate::ui::serve)
    } else {
        routes.fallback(not_found)
    };
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_sources,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(json_errors))
        .with_state(state)
}

/// The body-limit layer and axum's own extractor rejections (query strings, paths,
/// bodies, methods) answer in plain text; every error of the API is `{error, code}`
/// JSON, so rewrite those on API paths, keeping the status.
async fn json_errors(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/")
        || request.uri().path().starts_with("/breakglass/webhook/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || is_json || !status.is_client_error() {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(format!(
            "request body exceeds the limit of {MAX_BODY_BYTES} bytes"
        ))
        .into_response();
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("client error");
    let body = serde_json::json!({
        "error": if text.is_empty() { reason.to_owned() } else { text },
        "code": reason.to_ascii_uppercase().replace([' ', '-'], "_"),
    });
    (status, axum::Json(body)).into_response()
}

/// Middleware: the per-source limit on every REST request.
async fn limit_sources(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if crate::rate_limit::is_limited_path(request.uri().path())
        && let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
    {
        let ip = state.limits.client_ip(peer.ip(), request.headers());
        if let Err(wait) = state.limits.check_source(ip) {
            tracing::debug!(source = %ip, "request refused by the per-source rate limit");
            return ApiError::too_many(wait, "source address").into_response();
        }
    }
    next.run(request).await
}

async fn readyz(State(state): State<AppState>) -> Response {
    match not_ready(&state, Instant::now()) {
        None => (StatusCode::OK, "ok").into_response(),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason).into_response(),
    }
}

/// Why this replica must not get traffic now, or `None` when it may.
fn not_ready(state: &AppState, now: Instant) -> Option<String> {
    if !state.app.is_ready() {
        return Some("caches not synced or identity providers not loaded".to_owned());
    }
    if let Some(reason) = state.app.stores.unhealthy(now, WATCH_FAILURE_BOUND) {
        return Some(reason);
    }
    match state.hub_contact.silent_for(now) {
        None => Some("the hub has not answered yet".to_owned()),
        Some(silent) if silent > HUB_SILENCE_BOUND => Some(format!(
            "the hub has not answered for {}s",
            silent.as_secs()
        )),
        Some(_) => None,
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = crate::metrics::render(&state.registry);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// 404: `{error, code}` JSON on API paths, plain text elsewhere.
pub async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") || request.uri().path() == "/api" {
        ApiError::NotFound(format!(
            "no route {} {}",
            request.method(),
            request.uri().path()
        ))
        .into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// Counts and times every request by its route template (never by raw path, which
/// would let clients create unbounded label values).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    state.app.metrics.observe_api(
        &endpoint,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// An authenticated caller. Extracting it answers 401 with a JSON body when the
/// bearer token is missing or invalid.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| ApiError::from(AuthError::Malformed))?,
            ),
        };
        match state.app.auth.authenticate(header).await {
            Ok(identity) => {
                // One bucket per person: issuer and subject, which no other token shares.
                let person = crate::identity::limit_key(&identity);
                if let Err(wait) = state.limits.check_user(&person) {
                    tracing::debug!(issuer = %identity.issuer, "request refused by the per-user rate limit");
                    return Err(ApiError::too_many(wait, "user"));
                }
                let label = IdpLabel {
                    identity_provider: identity.provider.clone(),
                };
                state.app.metrics.jwt_requests.get_or_create(&label).inc();
                state.app.metrics.jwt_success.get_or_create(&label).inc();
                Ok(Caller(identity))
            }
            Err(err) => {
                state
                    .app
                    .metrics
                    .jwt_requests
                    .get_or_create(&IdpLabel {
                        identity_provider: "unknown".to_owned(),
                    })
                    .inc();
                state
                    .app
                    .metrics
                    .jwt_failure
                    .get_or_create(&IdpReasonLabel {
                        identity_provider: "unknown".to_owned(),
                        reason: auth_failure_label(&err).to_owned(),
                    })
                    .inc();
                Err(err.into())
            }
        }
    }
}

fn auth_failure_label(err: &AuthError) -> &'static str {
    match err {
        AuthError::Missing => "missing",
        AuthError::Malformed => "malformed",
        AuthError::InvalidToken(_) => "invalid_token",
        AuthError::UnknownIssuer(_) => "unknown_issuer",
        AuthError::Algorithm(_) => "algorithm",
        AuthError::UnknownKey => "unknown_key",
        AuthError::Rejected(_) => "rejected",
        AuthError::KeysUnavailable { .. } => "keys_unavailable",
        AuthError::Throttled => "throttled",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::{Body, Bytes};
    use axum::routing::post;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[derive(serde::Deserialize)]
    struct Flag {
        #[allow(dead_code)]
        mine: bool,
    }

    fn router() -> Router {
        Router::new()
            .route(
                "/api/echo",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .route(
                "/api/flag",
                axum::routing::get(|_q: axum::extract::Query<Flag>| async { "ok" }),
            )
            .route("/plain", axum::routing::get(|| async { "ok" }))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
            .layer(axum::middleware::from_fn(json_errors))
    }

    async fn send(body: Body, length: Option<usize>) -> (StatusCode, serde_json::Value) {
        let mut request = Request::post("/api/echo");
        if let Some(n) = length {
            request = request.header(header::CONTENT_LENGTH, n);
        }
        let response = router().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn oversized_bodies_get_the_json_error_whether_announced_or_streamed() {
        let big = vec![b'x'; MAX_BODY_BYTES + 1];
        // Announced by Content-Length: refused before reading.
        let (status, body) = send(Body::from(big.clone()), Some(big.len())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["code"], "PAYLOAD_TOO_LARGE", "{body}");
        assert!(body["error"].as_str().unwrap().contains("1048576 bytes"));
        // Streamed without a length: refused by the extractor once the limit is crossed.
        let chunks = futures::stream::iter(
            big.chunks(64 * 1024)
                .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let (status, body) = send(Body::from_stream(chunks), None).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["code"], "PAYLOAD_TOO_LARGE", "{body}");
        // At the limit it is served.
        let (status, _) = send(Body::from(vec![b'x'; MAX_BODY_BYTES]), None).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn get(path: &str) -> (StatusCode, String) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = router().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn extractor_rejections_on_api_paths_are_json_too() {
        let (status, text) = get("/api/flag?mine=maybe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["code"], "BAD_REQUEST", "{body}");
        assert!(body["error"].as_str().unwrap().contains("mine"), "{body}");
        let (status, text) = get("/api/echo").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["code"], "METHOD_NOT_ALLOWED", "{body}");
        // Outside the API nothing is rewritten.
        assert_eq!(get("/plain").await, (StatusCode::OK, "ok".to_owned()));
    }
}
