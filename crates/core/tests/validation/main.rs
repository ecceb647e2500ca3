//! Validation tests: spec examples, samples, one table per kind, update rules and
//! robustness. One test binary, modules per subject.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod support;

mod audit_config;
mod cluster_config;
mod cross;
mod debug_binding;
mod debug_pod_template;
mod debug_session;
mod debug_session_template;
mod deny_policy;
mod escalation;
mod object;
mod providers;
mod robustness;
mod samples;
mod session;
mod spec_examples;
mod updates;
