//! Wire types of the REST API: every request body, query and response the server
//! answers, defined once and used by the server (serialise, document) and by
//! `breakglass-client` (send, decode). One file per area of the API.

pub mod debug;
pub mod error;
pub mod escalations;
pub mod explain;
pub mod public;
pub mod sessions;
