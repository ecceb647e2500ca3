//! The error body every failed REST call answers.

use serde::{Deserialize, Serialize};

/// `{"error": "...", "code": "...", "reason"?: "...", "session"?: {...}}`.
///
/// `code` is the reference's machine-readable class (`BAD_REQUEST`, `FORBIDDEN`, …);
/// `reason` a finer machine-readable cause where one exists (e.g.
/// `SELF_APPROVAL_BLOCKED`); `session` the conflicting object on some 409s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// Machine-readable class of the error.
    pub code: String,
    /// Machine-readable cause, when the server names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The conflicting object, on a 409 that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<serde_json::Value>,
}
