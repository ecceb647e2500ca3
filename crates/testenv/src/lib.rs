//! The breakglass test environment.
//!
//! * [`harness`] builds and runs the environment behind `cargo xtask testenv`:
//!   a hub and two target clusters (real etcd, kube-apiserver,
//!   kube-controller-manager, kube-scheduler, kwok nodes), Dex and mailpit, all
//!   on 127.0.0.1.
//! * [`TestEnv`] is what tests use: admin and token clients for every cluster,
//!   Dex tokens for the [`users`], the [`Mailbox`] and a `kubectl` runner.
//!
//! ```ignore
//! #[tokio::test]
//! async fn something() -> anyhow::Result<()> {
//!     let Some(env) = breakglass_testenv::TestEnv::get()? else { return Ok(()) };
//!     let client = env.target_client("target-a").await?;
//!     let token = env.dex_token("requester").await?;
//!     // …
//!     Ok(())
//! }
//! ```
//!
//! See `docs/testenv.md` for what runs where.

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod admission;
mod env;
mod error;
pub mod harness;
pub mod layout;
pub mod mailbox;
pub mod users;

pub use env::{KubectlOutput, TestEnv, Tokens};
pub use error::Error;
pub use layout::{HUB, Layout, Settings, TARGETS};
pub use mailbox::{Mailbox, Message, MessageSummary};
pub use users::TestUser;
