//! End-to-end: debug_access.
