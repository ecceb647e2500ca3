//! End-to-end: debug_workloads.
