//! Property tests: no injection, no panics, budgets hold.
