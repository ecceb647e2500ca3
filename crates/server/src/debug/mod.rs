//! Debug sessions on the hub: reconciling them, writing their workloads to target
//! clusters and serving kubectl-debug operations. The pure rules live in
//! `breakglass_core::debug`; this module only applies them.
