//! Debug sessions: resolve.
