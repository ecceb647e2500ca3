//! The REST API under `/api`, in the reference's paths and JSON shapes.

use axum::Router;
use axum::routing::{get, post};

use crate::http::AppState;

pub mod body;
pub mod debug;
pub mod escalations;
pub mod explain;
pub mod openapi;
pub mod public;
pub mod sessions;
pub mod views;

/// Every `/api` route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/config", get(public::frontend_config))
        .route("/api/config/idps", get(public::idps))
        .route("/api/identity-provider", get(public::identity_provider))
        .route("/api/debug/buildinfo", get(public::buildinfo))
        .route("/api/openapi.json", get(openapi::serve))
        .route("/api/breakglassEscalations", get(escalations::list))
        .route(
            "/api/breakglassEscalations/forRequest",
            post(explain::for_request),
        )
        .route("/api/explain", post(explain::explain))
        .route(
            "/api/breakglassSessions",
            get(sessions::list).post(sessions::create),
        )
        .route("/api/breakglassSessions/{name}", get(sessions::get))
        .route(
            "/api/breakglassSessions/{name}/approve",
            post(sessions::approve),
        )
        .route(
            "/api/breakglassSessions/{name}/reject",
            post(sessions::reject),
        )
        .route(
            "/api/breakglassSessions/{name}/withdraw",
            post(sessions::withdraw),
        )
        .route(
            "/api/breakglassSessions/{name}/drop",
            post(sessions::drop_session),
        )
        .route(
            "/api/breakglassSessions/{name}/cancel",
            post(sessions::cancel),
        )
        // Paths shown in the feature documents.
        .route("/api/breakglass/request", post(sessions::create_alias))
        .route("/api/breakglass/approve/{name}", post(sessions::approve))
        .merge(debug::router())
}
