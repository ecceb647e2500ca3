//! Endpoints: sessions.
