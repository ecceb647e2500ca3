//! The API group and version every document must name.

/// The API group of every breakglass kind.
pub const API_GROUP: &str = breakglass_api::GROUP;
/// The only served version.
pub const API_VERSION: &str = breakglass_api::API_VERSION;
/// The group the design documents used before the rename; never served.
pub const LEGACY_API_GROUP: &str = "breakglass.telekom.de";

/// Splits `group/version` (a core `v1` has an empty group).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}
