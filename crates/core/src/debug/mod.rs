//! Debug sessions: the state machine today; template and binding resolution,
//! constraint merging, rendering, checks on rendered objects and pure workload builders
//! as they land.

pub mod session;
