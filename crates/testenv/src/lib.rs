//! Test environment: bring-up of real control planes and helpers for tests.
