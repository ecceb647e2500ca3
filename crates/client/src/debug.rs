//! Endpoints: debug.
