//! Endpoints: escalations.
