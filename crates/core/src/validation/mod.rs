//! Field validation of every breakglass kind: what the reference's admission webhooks
//! and CRD rules reject, as pure functions.
//!
//! * One function per kind, e.g. [`validate_breakglass_session`], returning every
//!   error with its JSON path; update rules in `*_update` functions.
//! * [`validate_object`] validates an untyped document: it picks the kind, applies the
//!   documented compatibility aliases ([`normalize_aliases`], reported as warnings),
//!   decodes strictly (unknown fields and type errors are errors with their paths) and
//!   runs the kind's rules.
//!
//! Rules that need cluster state (references to other objects, name uniqueness across
//! namespaces) or the clock are not here; `docs/compatibility.md` lists them.

mod aliases;
mod api_version;
mod audit_config;
mod cluster_config;
mod cross;
mod debug_binding;
mod debug_session;
mod debug_shared;
mod debug_templates;
mod decode;
mod deny_policy;
mod error;
mod escalation;
mod gotemplate;
mod hints;
mod immutable;
mod kinds;
mod object;
mod path;
mod providers;
mod rules;
mod selectors;
mod session;
mod timeouts;

pub use aliases::{
    ALL_ALIASES, NAMESPACE_CONSTRAINTS_PATTERNS, NAMESPACE_FILTER_LIST, POD_SPEC,
    POD_TEMPLATE_REF_STRING, TERMINAL_SHARING_METHOD, normalize_aliases,
};
pub use api_version::{API_GROUP, API_VERSION, LEGACY_API_GROUP};
pub use audit_config::validate_audit_config;
pub use cluster_config::validate_cluster_config;
pub use cross::{CrossReport, HubObjects, UNIQUE_NAME_KINDS, cross_object};
pub use debug_binding::validate_debug_session_cluster_binding;
pub use debug_session::{validate_debug_session, validate_debug_session_update};
pub use debug_templates::{validate_debug_pod_template, validate_debug_session_template};
pub use deny_policy::{BLOCK_FACTORS, validate_deny_policy};
pub use error::{AppliedAlias, ErrorType, FieldError, ObjectError, ValidationReport, Warning};
pub use escalation::validate_breakglass_escalation;
pub use object::{KINDS, validate_object};
pub use path::Path;
pub use providers::{validate_identity_provider, validate_mail_provider};
pub use session::{
    MIN_SCHEDULE_LEAD, breakglass_session_transition_allowed, validate_breakglass_session,
    validate_breakglass_session_schedule, validate_breakglass_session_update,
};
