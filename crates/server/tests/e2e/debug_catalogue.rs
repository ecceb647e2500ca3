//! End-to-end: debug_catalogue.
