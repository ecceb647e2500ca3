//! End-to-end scenarios of the hub server against testenv: real apiservers, real Dex
//! tokens, real server processes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod cli_support;
mod second_issuer;
mod support;

mod audit;
mod auth;
mod cli_basics;
mod cli_debug;
mod cli_kubectl;
mod cli_login;
mod cli_sessions;
mod cli_why;
mod clusters;
mod debug_access;
mod debug_admission;
mod debug_catalogue;
mod debug_deploy;
mod debug_kubectl;
mod debug_requests;
mod debug_terminal;
mod debug_workloads;
mod escalations;
mod explain;
mod hub_admission;
mod identity_attacks;
mod install;
mod lifecycle;
mod mail;
mod partition;
mod rate_limits;
mod rbac;
mod rbac_hostile;
mod rbac_mirror;
mod replicas;
mod rest_identity;
mod rest_matrix;
mod sessions;
mod ui;
mod webhook;
mod writers;
