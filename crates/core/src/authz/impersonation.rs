//! Impersonation requests: verb parsing, the fixed guards and DenyPolicy
//! `impersonationRules`.
//!
//! Verbs (KEP-5284 constrained impersonation plus the legacy verb):
//!
//! * `impersonate` — legacy, unconstrained; the SAR names the identity
//!   (`users`, `groups`, `serviceaccounts` with namespace, `uids`, `userextras/<key>`);
//! * `impersonate:<mode>` — may the caller impersonate this identity in `<mode>`;
//! * `impersonate-on:<mode>:<verb>` — may the caller, impersonating in `<mode>`, do
//!   `<verb>` on the SAR's resource (the *action* check).
//!
//! Modes: `user-info`, `serviceaccount`, `arbitrary-node`, `associated-node`. Anything
//! else starting with `impersonate:` or `impersonate-on` (an unknown or empty mode,
//! `legacy` as a constrained mode, a missing or empty action verb) is unrecognised.
//!
//! Rule matching. A rule describes either identities (`identityResources`,
//! `identities`, `namespaces`, `extraKeys`) or actions (`actionVerbs`,
//! `targetResources`, `targetAPIGroups`) — the CRD forbids combining identities and
//! action verbs. Identity fields constrain identity checks (`impersonate`,
//! `impersonate:<mode>`) and never match an action check; action fields the reverse.
//! The apiserver asks both checks for one constrained request and denying either
//! denies it, so an identity rule blocks the identity and an action rule blocks the
//! action without one leaking into the other. `modes` constrain both; legacy requests
//! have mode `legacy`. A rule with no constraints (`{}`) denies all impersonation.
//! Service accounts are matched by `identities` both as the bare name and as
//! `system:serviceaccount:<ns>:<name>`; `targetResources` entries match the resource
//! (any subresource), `<resource>/<subresource>`, or `*`.

use breakglass_api::cluster_config::LegacyImpersonationFallback;
use breakglass_api::common::ImpersonationMode;
use breakglass_api::deny_policy::{ImpersonationDenyRule, ImpersonationIdentityResource};

use super::deny::{EvalError, deny_filter_matches, exact_or_star};
use super::input::{ImpersonationSettings, NamespaceLabels};
use super::sar::ResourceAttributes;
use crate::glob::glob_match;

/// The group that bypasses all authorization; impersonating it is never allowed.
pub const SYSTEM_MASTERS: &str = "system:masters";

/// A parsed impersonation verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImpersonationVerb {
    /// `impersonate`.
    Legacy,
    /// `impersonate:<mode>`.
    Identity(ImpersonationMode),
    /// `impersonate-on:<mode>:<verb>`.
    Action {
        /// The constrained mode.
        mode: ImpersonationMode,
        /// The action verb.
        verb: String,
    },
}

impl ImpersonationVerb {
    /// The impersonation mode (`legacy` for the legacy verb).
    pub fn mode(&self) -> ImpersonationMode {
        match self {
            Self::Legacy => ImpersonationMode::Legacy,
            Self::Identity(m) | Self::Action { mode: m, .. } => *m,
        }
    }
}

/// What a SAR verb is with respect to impersonation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerbClass {
    /// Not an impersonation verb.
    NotImpersonation,
    /// A recognised impersonation verb.
    Impersonation(ImpersonationVerb),
    /// Starts like an impersonation verb but does not parse.
    Unrecognised,
}

/// Classifies a SAR verb.
pub fn classify_verb(verb: &str) -> VerbClass {
    if verb == "impersonate" {
        return VerbClass::Impersonation(ImpersonationVerb::Legacy);
    }
    if let Some(mode) = verb.strip_prefix("impersonate:") {
        return match constrained_mode(mode) {
            Some(m) => VerbClass::Impersonation(ImpersonationVerb::Identity(m)),
            None => VerbClass::Unrecognised,
        };
    }
    if let Some(rest) = verb.strip_prefix("impersonate-on:") {
        return match rest.split_once(':') {
            Some((mode, action)) if !action.is_empty() && !action.contains(':') => {
                match constrained_mode(mode) {
                    Some(m) => VerbClass::Impersonation(ImpersonationVerb::Action {
                        mode: m,
                        verb: action.to_owned(),
                    }),
                    None => VerbClass::Unrecognised,
                }
            }
            _ => VerbClass::Unrecognised,
        };
    }
    if verb == "impersonate-on" {
        return VerbClass::Unrecognised;
    }
    VerbClass::NotImpersonation
}

fn constrained_mode(s: &str) -> Option<ImpersonationMode> {
    match s.parse::<ImpersonationMode>() {
        Ok(ImpersonationMode::Legacy) | Err(_) => None,
        Ok(m) => Some(m),
    }
}

/// Why a fixed guard denied an impersonation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardDenial {
    /// The verb does not parse and the cluster denies unrecognised verbs.
    UnrecognisedVerb {
        /// The verb.
        verb: String,
    },
    /// The request impersonates group `system:masters`.
    SystemMasters,
    /// The request impersonates the wildcard name `*`.
    Wildcard {
        /// The identity resource (`groups`, `users`, …).
        resource: String,
    },
    /// Legacy impersonation and `legacyFallback: Forbidden`.
    LegacyForbidden,
}

/// The outcome of the fixed guards for an impersonation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardPass {
    /// The request as impersonation rules see it.
    pub request: ImpersonationRequest,
    /// Warnings (legacy impersonation under `legacyFallback: Warn`).
    pub warnings: Vec<String>,
}

/// Runs the fixed guards: unrecognised verbs (unless the cluster allows them),
/// `system:masters`, the wildcard name, and forbidden legacy impersonation, in that
/// order. `Ok(None)` for requests that are not impersonation.
pub fn check_guards(
    request: &ResourceAttributes,
    settings: &ImpersonationSettings,
    cluster: &str,
) -> Result<Option<GuardPass>, GuardDenial> {
    let verb = match classify_verb(&request.verb) {
        VerbClass::NotImpersonation => return Ok(None),
        VerbClass::Unrecognised if settings.deny_unrecognised_verbs => {
            return Err(GuardDenial::UnrecognisedVerb {
                verb: request.verb.clone(),
            });
        }
        VerbClass::Unrecognised => None,
        VerbClass::Impersonation(v) => Some(v),
    };
    // Unrecognised verbs that are let through still name an identity as far as we can
    // tell, so the identity guards apply to them as well.
    let names_identity = !matches!(verb, Some(ImpersonationVerb::Action { .. }));
    if names_identity {
        if request.resource == "groups" && request.name == SYSTEM_MASTERS {
            return Err(GuardDenial::SystemMasters);
        }
        if request.name == "*" {
            return Err(GuardDenial::Wildcard {
                resource: request.resource.clone(),
            });
        }
    }
    let mut warnings = Vec::new();
    if verb == Some(ImpersonationVerb::Legacy) {
        match settings.legacy_fallback {
            LegacyImpersonationFallback::Forbidden => return Err(GuardDenial::LegacyForbidden),
            LegacyImpersonationFallback::Warn => warnings.push(format!(
                "legacy (unconstrained) impersonation used on cluster {cluster}; it will be forbidden once constrained impersonation is required"
            )),
            LegacyImpersonationFallback::Allow => {}
        }
    }
    Ok(Some(GuardPass {
        request: ImpersonationRequest::new(verb, request),
        warnings,
    }))
}

/// An impersonation request as impersonation rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpersonationRequest {
    /// The mode; `None` for an unrecognised verb let through by the cluster settings.
    pub mode: Option<ImpersonationMode>,
    /// What is checked.
    pub kind: ImpersonationKind,
}

/// The two checks of impersonation (plus unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImpersonationKind {
    /// May the caller impersonate this identity?
    Identity {
        /// `users`, `groups`, `serviceaccounts`, `uids`, `userextras`, `nodes`, as sent.
        resource: String,
        /// The identity name (user, group, service account, node, uid, extra value).
        name: String,
        /// Namespace of an impersonated service account.
        namespace: String,
        /// The key of an impersonated user extra (the SAR subresource).
        extra_key: String,
    },
    /// May the caller, impersonating, do `verb` on this resource?
    Action {
        /// The action verb.
        verb: String,
        /// Target API group.
        group: String,
        /// Target resource.
        resource: String,
        /// Target subresource.
        subresource: String,
    },
    /// An unrecognised verb: only unconstrained rules match.
    Unknown,
}

impl ImpersonationRequest {
    fn new(verb: Option<ImpersonationVerb>, r: &ResourceAttributes) -> Self {
        let kind = match &verb {
            None => ImpersonationKind::Unknown,
            Some(ImpersonationVerb::Action { verb, .. }) => ImpersonationKind::Action {
                verb: verb.clone(),
                group: r.group.clone(),
                resource: r.resource.clone(),
                subresource: r.subresource.clone(),
            },
            Some(_) => ImpersonationKind::Identity {
                resource: r.resource.clone(),
                name: r.name.clone(),
                namespace: r.namespace.clone(),
                extra_key: r.subresource.clone(),
            },
        };
        Self {
            mode: verb.map(|v| v.mode()),
            kind,
        }
    }
}

fn non_empty<T>(v: &Option<Vec<T>>) -> Option<&[T]> {
    v.as_deref().filter(|l| !l.is_empty())
}

fn has_identity_fields(rule: &ImpersonationDenyRule) -> bool {
    non_empty(&rule.identity_resources).is_some()
        || non_empty(&rule.identities).is_some()
        || rule.namespaces.as_ref().is_some_and(|f| !f.is_empty())
        || non_empty(&rule.extra_keys).is_some()
}

fn has_action_fields(rule: &ImpersonationDenyRule) -> bool {
    non_empty(&rule.action_verbs).is_some()
        || non_empty(&rule.target_resources).is_some()
        || non_empty(&rule.target_api_groups).is_some()
}

/// Index of the first impersonation rule that matches, if any.
pub fn first_matching_rule(
    rules: &[ImpersonationDenyRule],
    request: &ImpersonationRequest,
    labels: NamespaceLabels<'_>,
) -> Result<Option<usize>, EvalError> {
    for (index, rule) in rules.iter().enumerate() {
        if rule_matches(rule, index, request, labels)? {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// True if an impersonation rule (at `index`, for error paths) matches the request.
pub fn rule_matches(
    rule: &ImpersonationDenyRule,
    index: usize,
    request: &ImpersonationRequest,
    labels: NamespaceLabels<'_>,
) -> Result<bool, EvalError> {
    if let Some(modes) = non_empty(&rule.modes)
        && !request.mode.is_some_and(|m| modes.contains(&m))
    {
        return Ok(false);
    }
    match &request.kind {
        ImpersonationKind::Unknown => Ok(!has_identity_fields(rule) && !has_action_fields(rule)),
        ImpersonationKind::Action {
            verb,
            group,
            resource,
            subresource,
        } => {
            if has_identity_fields(rule) {
                return Ok(false);
            }
            let verb_ok = non_empty(&rule.action_verbs).is_none_or(|l| exact_or_star(l, verb));
            let group_ok =
                non_empty(&rule.target_api_groups).is_none_or(|l| exact_or_star(l, group));
            let resource_ok = non_empty(&rule.target_resources).is_none_or(|l| {
                l.iter().any(|t| {
                    t == "*"
                        || t == resource
                        || (!subresource.is_empty()
                            && (*t == format!("{resource}/{subresource}")
                                || *t == format!("{resource}/*")))
                })
            });
            Ok(verb_ok && group_ok && resource_ok)
        }
        ImpersonationKind::Identity {
            resource,
            name,
            namespace,
            extra_key,
        } => {
            if has_action_fields(rule) {
                return Ok(false);
            }
            let parsed = resource.parse::<ImpersonationIdentityResource>().ok();
            if let Some(kinds) = non_empty(&rule.identity_resources)
                && !parsed.is_some_and(|p| kinds.contains(&p))
            {
                return Ok(false);
            }
            let is_sa = parsed == Some(ImpersonationIdentityResource::ServiceAccounts);
            if let Some(keys) = non_empty(&rule.extra_keys) {
                if parsed != Some(ImpersonationIdentityResource::UserExtras) {
                    return Ok(false);
                }
                if !glob_any(keys, extra_key, || {
                    format!("impersonationRules[{index}].extraKeys")
                })? {
                    return Ok(false);
                }
            }
            if let Some(ids) = non_empty(&rule.identities) {
                let field = || format!("impersonationRules[{index}].identities");
                let mut matched = glob_any(ids, name, field)?;
                if !matched && is_sa {
                    let full = format!("system:serviceaccount:{namespace}:{name}");
                    matched = glob_any(ids, &full, field)?;
                }
                if !matched {
                    return Ok(false);
                }
            }
            if rule.namespaces.as_ref().is_some_and(|f| !f.is_empty()) {
                if !is_sa {
                    return Ok(false);
                }
                return deny_filter_matches(rule.namespaces.as_ref(), namespace, labels, || {
                    format!("impersonationRules[{index}].namespaces")
                });
            }
            Ok(true)
        }
    }
}

/// True if evaluating `rules` for this request reads namespace labels.
pub fn rules_need_labels(rules: &[ImpersonationDenyRule], request: &ImpersonationRequest) -> bool {
    let ImpersonationKind::Identity {
        resource,
        namespace,
        ..
    } = &request.kind
    else {
        return false;
    };
    resource == ImpersonationIdentityResource::ServiceAccounts.as_str()
        && rules
            .iter()
            .any(|r| super::deny::filter_needs_labels(r.namespaces.as_ref(), namespace))
}

fn glob_any(
    patterns: &[String],
    value: &str,
    field: impl Fn() -> String,
) -> Result<bool, EvalError> {
    for p in patterns {
        if glob_match(p, value).map_err(|_| EvalError::BadPattern {
            field: field(),
            pattern: p.clone(),
        })? {
            return Ok(true);
        }
    }
    Ok(false)
}
