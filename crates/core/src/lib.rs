//! Pure decision logic: no I/O, no async, no clock (time is passed in).

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod approval;
pub mod authz;
pub mod condition;
pub mod debug;
pub mod duration;
pub mod escalation;
pub mod glob;
pub mod limits;
pub mod namespace;
pub mod notify;
pub mod quantity;
pub mod rbac;
pub mod selector;
pub mod session;
pub mod template;
pub mod user_reason;
pub mod validation;
