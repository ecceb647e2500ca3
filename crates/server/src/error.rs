//! One error type for the REST API, mapped to HTTP in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to an API client. The variant fixes the status code and the
/// machine-readable `code`; the message is shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or not allowed in the object's current state.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or an invalid bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed.
    #[error("{message}")]
    Forbidden {
        /// Human-readable reason.
        message: String,
        /// Optional machine-readable reason (e.g. `SELF_APPROVAL_BLOCKED`).
        reason: Option<&'static str>,
    },
    /// 404: no such object, or not visible to the caller.
    #[error("{0}")]
    NotFound(String),
    /// 409: a duplicate, or a concurrent change won.
    #[error("{message}")]
    Conflict {
        /// Human-readable reason.
        message: String,
        /// The object that conflicts, when useful to the client.
        existing: Option<serde_json::Value>,
    },
    /// 413: the request body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: well-formed, but the content is invalid.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: rate limit hit.
    #[error("{message}")]
    TooManyRequests {
        /// Human-readable reason.
        message: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 502: a cluster or identity provider behind us failed.
    #[error("{0}")]
    BadGateway(String),
    /// 503: not ready to serve this yet (e.g. caches not synced).
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; details go to the log, not the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON error body: `{"error": "...", "code": "...", "details"?: ...}`.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: String,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a serde_json::Value>,
}

impl ApiError {
    /// A 403 without a machine-readable reason.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
            reason: None,
        }
    }

    /// A 409 without an attached object.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            existing: None,
        }
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The reference's machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::Forbidden { .. } => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict { .. } => "CONFLICT",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::Unprocessable(_) => "UNPROCESSABLE_ENTITY",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::BadGateway(_) => "BAD_GATEWAY",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        }
        let message = match &self {
            // Internal details stay in the log.
            Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let (reason, session) = match &self {
            Self::Forbidden { reason, .. } => (*reason, None),
            Self::Conflict { existing, .. } => (None, existing.as_ref()),
            _ => (None, None),
        };
        let body = ErrorBody {
            error: message,
            code: self.code(),
            reason,
            session,
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::TooManyRequests {
            retry_after_secs, ..
        } = &self
            && let Ok(value) = http::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<kube::Error> for ApiError {
    fn from(err: kube::Error) -> Self {
        match &err {
            kube::Error::Api(status) if status.code == 404 => {
                Self::NotFound(status.message.clone())
            }
            kube::Error::Api(status) if status.code == 409 => {
                Self::conflict("update conflict, please retry")
            }
            _ => Self::Internal(err.to_string()),
        }
    }
}
