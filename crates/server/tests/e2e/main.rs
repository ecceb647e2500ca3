//! End-to-end scenarios of the hub server against testenv: real apiservers, real Dex
//! tokens, real server processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod auth;
mod clusters;
mod escalations;
mod lifecycle;
mod partition;
mod rbac;
mod replicas;
mod sessions;
mod webhook;
mod writers;
