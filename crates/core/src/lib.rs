//! Pure decision logic: no I/O, no async, no clock (time is passed in).

pub mod approval;
pub mod authz;
pub mod condition;
pub mod debug_session;
pub mod duration;
pub mod escalation;
pub mod glob;
pub mod limits;
pub mod namespace;
pub mod reason;
pub mod selector;
pub mod session;
pub mod validation;
