//! Debug sessions: workload.
