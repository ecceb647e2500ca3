//! Errors of the client: the server's answer, or why there was none.

use breakglass_api::rest::error::ErrorBody;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status.
    #[error("{message} ({status} {code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's machine-readable class (`FORBIDDEN`, …); `HTTP_<status>` when the
        /// body was not the API's error shape.
        code: String,
        /// The finer machine-readable cause, when given.
        reason: Option<String>,
        /// The server's message.
        message: String,
        /// The request id the server echoed, for support.
        request_id: Option<String>,
    },
    /// No answer: connection, TLS or timeout. The details are the error's source
    /// chain (`{:#}` with anyhow), not repeated in this message.
    #[error("cannot reach the server")]
    Transport(#[from] reqwest::Error),
    /// A success status with a body that is not what the API promises.
    #[error("unexpected answer from the server ({status}): {message}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// What did not decode.
        message: String,
    },
    /// The client was set up wrongly (bad URL, bad CA bundle).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// Maps a failed answer; a body that is not `{error, code}` still gives a message.
    pub(crate) fn from_failure(status: u16, body: &[u8], request_id: Option<String>) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) => Self::Api {
                status,
                code: b.code,
                reason: b.reason,
                message: b.error,
                request_id,
            },
            Err(_) => Self::Api {
                status,
                code: format!("HTTP_{status}"),
                reason: None,
                message: String::from_utf8_lossy(&body[..body.len().min(512)])
                    .trim()
                    .to_owned(),
                request_id,
            },
        }
    }

    /// HTTP status when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Decode { status, .. } => Some(*status),
            Self::Transport(_) | Self::Config(_) => None,
        }
    }
}
