//! Debug sessions: merge.
