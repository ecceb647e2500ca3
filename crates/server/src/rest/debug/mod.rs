//! `/api/debugSessions…`: the catalogue a caller may request from ([`catalogue`]),
//! requesting a session ([`create`]) and reading and acting on sessions ([`sessions`]).
//! The feature documents' `/api/v1/debug-sessions…` paths are aliases of the same
//! handlers.

use axum::Router;

use crate::http::AppState;

pub mod catalogue;
pub mod create;
pub mod sessions;

/// Every debug-session route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(catalogue::routes())
        .merge(create::routes())
        .merge(sessions::routes())
}
