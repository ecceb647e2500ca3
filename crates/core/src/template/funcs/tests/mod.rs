//! Tables of Sprig's outputs for every function, called through `lookup` so the table
//! itself is tested too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
