//! Debug sessions: access.
