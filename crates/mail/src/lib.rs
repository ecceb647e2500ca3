//! Notification e-mail: templates ([`template`]), the SMTP transport ([`smtp`]) and the
//! bounded per-provider delivery queue with retries ([`queue`]).
//!
//! The crate knows nothing about Kubernetes: the server maps MailProvider objects to
//! [`smtp::SmtpSettings`] and [`queue::RetryPolicy`], and lifecycle events to
//! [`template::MailContext`]s.

pub mod preview;
pub mod queue;
pub mod smtp;
pub mod template;

pub use queue::{Observer, OutgoingMail, Queue, RetryPolicy, SendError, Transport};
pub use smtp::{Security, SmtpSettings, SmtpTransport};
pub use template::{MailContext, MailKind, Rendered, TemplateError, Templates};
