//! Pure decision logic: no I/O, no async, no clock (time is passed in).

pub mod approval;
pub mod authz;
pub mod condition;
pub mod debug;
pub mod duration;
pub mod escalation;
pub mod glob;
pub mod limits;
pub mod namespace;
pub mod selector;
pub mod session;
pub mod user_reason;
pub mod validation;
