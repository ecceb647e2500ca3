//! `MailProvider`: an SMTP server for notification e-mails.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::SecretKeyReference;
use crate::macros::string_enum;

/// An SMTP server for notification e-mails.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "MailProvider",
    plural = "mailproviders",
    singular = "mailprovider",
    status = "MailProviderStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "An SMTP server for notification e-mails.",
    printcolumn(name = "Host", type_ = "string", json_path = ".spec.smtp.host"),
    printcolumn(name = "Port", type_ = "integer", json_path = ".spec.smtp.port"),
    printcolumn(name = "Default", type_ = "boolean", json_path = ".spec.default"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct MailProviderSpec {
    /// Name shown to administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The provider used when none is named (at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// Temporarily disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// SMTP server.
    pub smtp: SmtpConfig,
    /// Sender of the e-mails.
    pub sender: SenderConfig,
    /// Delivery retries and queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryConfig>,
}

/// SMTP server settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmtpConfig {
    /// Host name.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// Port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// User name (set together with passwordRef).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password (set together with username).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_ref: Option<SecretKeyReference>,
    /// Skip TLS verification (discouraged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
    /// PEM CA bundle of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// Send without TLS.
    #[serde(
        default,
        rename = "disableTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable_tls: Option<bool>,
}

/// Sender of notification e-mails.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SenderConfig {
    /// E-mail address.
    #[schemars(
        length(min = 3, max = 254),
        regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    )]
    pub address: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub name: Option<String>,
}

/// Delivery retries and queue size.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryConfig {
    /// Retries per e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_retry_count", range(min = 0, max = 10))]
    pub count: Option<i32>,
    /// First backoff in milliseconds (doubling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_initial_backoff", range(min = 10, max = 60000))]
    pub initial_backoff_ms: Option<i32>,
    /// E-mails queued before new ones are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_queue_size", range(min = 10, max = 10000))]
    pub queue_size: Option<i32>,
}

fn default_retry_count() -> Option<i32> {
    Some(3)
}

fn default_initial_backoff() -> Option<i32> {
    Some(100)
}

fn default_queue_size() -> Option<i32> {
    Some(1000)
}

/// Observed state of a MailProvider.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailProviderStatus {
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Ready, Healthy, PasswordLoaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// Last health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_health_check: Option<Time>,
    /// Last attempt to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_send_attempt: Option<Time>,
    /// Last send error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_send_error: Option<String>,
}

string_enum! {
    /// Condition types of MailProviders.
    pub enum MailProviderConditionType {
        /// Usable.
        Ready = "Ready",
        /// The server answered the last health check.
        Healthy = "Healthy",
        /// The password Secret was read.
        PasswordLoaded = "PasswordLoaded",
    }
}
