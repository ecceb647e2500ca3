//! Debug sessions: approval.
