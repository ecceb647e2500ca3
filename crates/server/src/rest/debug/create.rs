//! Debug-session routes: create.

use axum::Router;

use crate::http::AppState;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
}
