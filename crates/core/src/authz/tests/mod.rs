//! Tests of the decision logic, one file per concern.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod decision;
mod deny;
mod explain;
mod fixtures;
mod impersonation;
mod oidc;
mod pod_security;
mod policy_index;
mod props;
mod review;
mod sar;
mod world;
