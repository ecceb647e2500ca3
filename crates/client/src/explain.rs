//! Endpoints: explain.
