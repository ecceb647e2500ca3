//! One error type for the REST API, mapped to HTTP in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use breakglass_core::approval::Denial;
use breakglass_core::limits::LimitExceeded;
use breakglass_core::session::plan::PlanError;
use serde::Serialize;

use crate::auth::AuthError;
use crate::identity::IdentityError;
use crate::session_writes::WriteError;

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

    /// The 429 for a request that must wait `wait` (a rate limit of `scope`).
    pub fn too_many(wait: std::time::Duration, scope: &str) -> Self {
        // Round up: a client that waits the advertised seconds must then get through.
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        Self::TooManyRequests {
            message: format!("rate limit exceeded for this {scope}; retry in {secs} s"),
            retry_after_secs: secs,
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

/// Every interpretation of a hub answer: the hub's 4xx stay 4xx (a bad name or a
/// concurrent change is the client's business, never our 500); the hub's 401 means our
/// own credentials are wrong and its 5xx or an unreachable hub are upstream failures
/// (502); only local failures (decoding) are 500.
impl From<kube::Error> for ApiError {
    fn from(err: kube::Error) -> Self {
        let kube::Error::Api(status) = &err else {
            return match err {
                kube::Error::SerdeError(e) => Self::Internal(format!("decoding a hub answer: {e}")),
                other => Self::BadGateway(format!("hub request failed: {other}")),
            };
        };
        let hub = |what: &str| format!("the hub refused the request ({what}): {}", status.message);
        match status.code {
            400 => Self::BadRequest(hub("bad request")),
            // Our own credentials or rights on the hub are wrong: the caller is not to
            // blame, and the hub's message names our service account.
            401 | 403 => {
                tracing::error!(code = status.code, message = %status.message, "the hub refused the server's own request");
                Self::BadGateway(
                    "the hub refused the server's request; see the server log".to_owned(),
                )
            }
            404 | 410 => Self::NotFound(status.message.clone()),
            409 => Self::conflict("update conflict, please retry"),
            413 => Self::PayloadTooLarge(hub("too large")),
            422 => Self::Unprocessable(hub("invalid")),
            429 => Self::TooManyRequests {
                message: hub("too many requests"),
                retry_after_secs: 1,
            },
            402..=499 => Self::BadRequest(hub(&status.code.to_string())),
            _ => Self::BadGateway(hub(&status.code.to_string())),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(err: WriteError) -> Self {
        match err {
            // Callers that know the action map refusals more precisely first.
            WriteError::Transition(t) => Self::BadRequest(t.to_string()),
            WriteError::Conflict => Self::conflict("session update conflict, please retry"),
            WriteError::NotFound => Self::NotFound("session not found".to_owned()),
            WriteError::Kube(e) => e.into(),
        }
    }
}

impl From<Denial> for ApiError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::Unauthenticated => Self::Unauthorized(denial.to_string()),
            other => Self::Forbidden {
                message: other.to_string(),
                reason: Some(other.code()),
            },
        }
    }
}

impl From<PlanError> for ApiError {
    fn from(err: PlanError) -> Self {
        Self::Unprocessable(err.to_string())
    }
}

impl From<LimitExceeded> for ApiError {
    fn from(err: LimitExceeded) -> Self {
        Self::Unprocessable(err.to_string())
    }
}

/// A refused token is a 401; a key refetch that is throttled is a 429 with the time
/// until the next refetch may happen.
impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Throttled => Self::TooManyRequests {
                message: err.to_string(),
                retry_after_secs: crate::auth::MIN_REFETCH_INTERVAL.as_secs(),
            },
            other => Self::Unauthorized(other.to_string()),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(err: IdentityError) -> Self {
        Self::Unauthorized(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn hub(code: u16) -> ApiError {
        kube::Error::Api(Box::new(Status {
            message: "m".to_owned(),
            code,
            ..Status::default()
        }))
        .into()
    }

    /// Regression: the hub's 400 for an unescaped field selector became our 500.
    #[test]
    fn hub_4xx_never_become_500() {
        let cases = [
            (400, 400),
            (401, 502),
            (403, 502),
            (404, 404),
            (409, 409),
            (410, 404),
            (413, 413),
            (418, 400),
            (422, 422),
            (429, 429),
            (500, 502),
            (503, 502),
        ];
        for (from, to) in cases {
            assert_eq!(hub(from).status().as_u16(), to, "hub {from}");
        }
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        use std::time::Duration;
        for (wait, secs) in [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3)] {
            let e = ApiError::too_many(Duration::from_millis(wait), "user");
            assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
            assert!(
                matches!(&e, ApiError::TooManyRequests { retry_after_secs, .. } if *retry_after_secs == secs),
                "{wait} ms: {e:?}"
            );
        }
    }

    #[test]
    fn denials_and_rule_errors() {
        assert_eq!(ApiError::from(Denial::Unauthenticated).status(), 401);
        let e = ApiError::from(Denial::SelfApprovalBlocked);
        assert_eq!(e.status(), 403);
        assert!(matches!(
            e,
            ApiError::Forbidden {
                reason: Some("SELF_APPROVAL_BLOCKED"),
                ..
            }
        ));
        assert_eq!(ApiError::from(PlanError::ScheduleInPast).status(), 422);
        assert_eq!(
            ApiError::from(IdentityError::MissingClaim("email")).status(),
            401
        );
        assert_eq!(ApiError::from(WriteError::Conflict).status(), 409);
        assert_eq!(ApiError::from(AuthError::Missing).status(), 401);
        assert_eq!(ApiError::from(AuthError::Throttled).status(), 429);
        assert_eq!(ApiError::from(WriteError::NotFound).status(), 404);
    }
}
