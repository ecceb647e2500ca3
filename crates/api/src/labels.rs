//! Label keys written on objects that breakglass creates.

/// Target cluster of a BreakglassSession.
pub const SESSION_CLUSTER: &str = "breakglass.t-caas.telekom.com/cluster";
/// Requesting user of a BreakglassSession (RFC 1123-sanitised).
pub const SESSION_USER: &str = "breakglass.t-caas.telekom.com/user";
/// Granted group of a BreakglassSession (RFC 1123-sanitised).
pub const SESSION_GROUP: &str = "breakglass.t-caas.telekom.com/group";

/// Name of the DebugSession that owns a resource on a target cluster.
pub const DEBUG_SESSION: &str = "breakglass.telekom.com/debug-session";
/// Name of the DebugSessionTemplate a debug resource was rendered from.
pub const DEBUG_TEMPLATE: &str = "breakglass.telekom.com/debug-template";
/// Target cluster of a debug resource.
pub const DEBUG_CLUSTER: &str = "breakglass.telekom.com/debug-cluster";
