//! Debug sessions: turning a request into a DebugSession spec (pure).
//!
//! The route (template, binding, effective configuration) is already chosen by
//! [`super::resolve::choose`]; here the request's own fields are checked against
//! it: duration, reason, target namespace, scheduling option, node selector,
//! extra deploy values and invitations. Every refusal names the field.
//! [`check_limits`] counts the sessions a new one would join.

use std::collections::BTreeMap;

use breakglass_api::DebugSessionClusterBinding;
use breakglass_api::debug_common::{DEFAULT_MAX_DURATION, SchedulingConstraints};
use breakglass_api::debug_session::{BindingReference, DebugSession, DebugSessionSpec};
use breakglass_api::debug_session_template::{DebugSessionTemplate, DebugSessionTemplateSpec};
use breakglass_api::labels;
use thiserror::Error;

use super::merge::{
    EffectiveNamespaces, NodeSelectorConflict, merge_namespace_constraints,
    merge_scheduling_constraints,
};
use super::resolve::{Requester, binding_key, option_allows};
use super::vars;
use crate::duration::GoDuration;
use crate::selector;
use crate::user_reason;

pub mod target_ns;

pub use target_ns::LiveNamespace;

/// Most invited participants per request.
pub const MAX_INVITED: usize = 32;
/// Longest invited participant identifier.
pub const MAX_IDENTIFIER_LEN: usize = 254;
/// Most node selector entries per request.
pub const MAX_NODE_SELECTOR: usize = 32;
/// Default shortest request reason once a reason config exists.
const DEFAULT_MIN_REASON: i32 = 10;
/// Default longest request reason once a reason config exists.
const DEFAULT_MAX_REASON: i32 = 1000;

/// Why a request is refused. Each names the request field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// The field's value is not acceptable (400).
    #[error("{field}: {message}")]
    Invalid {
        /// Request field (JSON name).
        field: String,
        /// Why.
        message: String,
    },
    /// The requester may not make this choice (403).
    #[error("{field}: {message}")]
    Forbidden {
        /// Request field (JSON name).
        field: String,
        /// Why.
        message: String,
    },
}

fn invalid(field: &str, message: impl Into<String>) -> RequestError {
    RequestError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn forbidden(field: &str, message: impl Into<String>) -> RequestError {
    RequestError::Forbidden {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The request's optional fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    /// Go duration, at most the effective `maxDuration`.
    pub requested_duration: Option<&'a str>,
    /// Node labels the pods must run on.
    pub node_selector: Option<&'a BTreeMap<String, String>>,
    /// Namespace of the debug workload.
    pub target_namespace: Option<&'a str>,
    /// Why.
    pub reason: Option<&'a str>,
    /// Users invited to join.
    pub invited_participants: Option<&'a [String]>,
    /// Name of a scheduling option.
    pub selected_scheduling_option: Option<&'a str>,
    /// Values of declared extra deploy variables.
    pub extra_deploy_values: Option<&'a BTreeMap<String, serde_json::Value>>,
    /// The target's answer about the namespace, when [`namespace_to_read`] named one.
    pub live_namespace: Option<&'a LiveNamespace>,
}

/// The chosen route and the requester.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The template as stored.
    pub template: &'a DebugSessionTemplate,
    /// The binding used.
    pub binding: Option<&'a DebugSessionClusterBinding>,
    /// Template merged with the binding.
    pub effective: &'a DebugSessionTemplateSpec,
    /// ClusterConfig name.
    pub cluster: &'a str,
    /// Who asks.
    pub requester: &'a Requester<'a>,
    /// The requester's display name (token `name`).
    pub display_name: Option<&'a str>,
}

/// The spec to create and the warnings to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Spec of the new DebugSession.
    pub spec: DebugSessionSpec,
    /// Things the requester should know (defaults applied, choices ignored).
    pub warnings: Vec<String>,
}

/// Checks the request against the route and builds the spec.
pub fn plan(ctx: &Context<'_>, asked: &Asked<'_>) -> Result<Planned, RequestError> {
    let mut warnings = Vec::new();
    let requested_duration = duration(ctx.effective, asked.requested_duration)?;
    let reason = reason(ctx.effective, asked.reason)?;
    let target_namespace = target_namespace(ctx, asked, &mut warnings)?;
    let (option, resolved) = scheduling(ctx, asked.selected_scheduling_option, &mut warnings)?;
    let node_selector = node_selector(asked.node_selector, resolved.as_ref())?;
    let extra = extra_values(ctx, asked.extra_deploy_values)?;
    let invited = invited(asked.invited_participants)?;
    let spec = DebugSessionSpec {
        cluster: ctx.cluster.to_owned(),
        template_ref: ctx.template.metadata.name.clone().unwrap_or_default(),
        requested_by: ctx.requester.user.to_owned(),
        requested_by_email: ctx.requester.email.map(str::to_owned),
        requested_by_display_name: ctx.display_name.map(|n| n.chars().take(256).collect()),
        user_groups: Some(ctx.requester.groups.to_vec()),
        requested_duration,
        reason,
        node_selector,
        invited_participants: invited,
        target_namespace: Some(target_namespace),
        selected_scheduling_option: option,
        resolved_scheduling_constraints: resolved,
        binding_ref: ctx.binding.map(|b| {
            let (namespace, name) = binding_key(b);
            BindingReference {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
            }
        }),
        selected_auxiliary_resources: None,
        request_reason_config: ctx.effective.request_reason.clone(),
        approval_reason_config: ctx.effective.approval_reason.clone(),
        extra_deploy_values: extra,
    };
    Ok(Planned { spec, warnings })
}

fn duration(
    effective: &DebugSessionTemplateSpec,
    requested: Option<&str>,
) -> Result<Option<String>, RequestError> {
    let Some(raw) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    const FIELD: &str = "requestedDuration";
    if raw.len() > 32 {
        return Err(invalid(
            FIELD,
            "too long; use a Go duration such as 30m or 2h",
        ));
    }
    let d = GoDuration::parse(raw).map_err(|e| {
        invalid(
            FIELD,
            format!("{raw:?} is not a duration such as 30m or 2h: {e}"),
        )
    })?;
    if !d.is_positive() {
        return Err(invalid(FIELD, "must be positive"));
    }
    let max_raw = effective
        .constraints
        .as_ref()
        .map_or(DEFAULT_MAX_DURATION, |c| c.max_duration());
    let max = GoDuration::parse(max_raw).unwrap_or(GoDuration::HOUR);
    if d > max {
        return Err(invalid(
            FIELD,
            format!("{raw} exceeds the maximum duration {max_raw} of this template"),
        ));
    }
    Ok(Some(raw.to_owned()))
}

fn reason(
    effective: &DebugSessionTemplateSpec,
    raw: Option<&str>,
) -> Result<Option<String>, RequestError> {
    const FIELD: &str = "reason";
    let config = effective.request_reason.as_ref();
    let mandatory = config.and_then(|c| c.mandatory) == Some(true);
    let cleaned = user_reason::sanitize_reason(raw.unwrap_or_default(), mandatory)
        .map_err(|e| invalid(FIELD, e.to_string()))?;
    if let Some(c) = config
        && !cleaned.is_empty()
    {
        let len = i64::try_from(cleaned.chars().count()).unwrap_or(i64::MAX);
        let min = i64::from(c.min_length.unwrap_or(DEFAULT_MIN_REASON));
        let max = i64::from(c.max_length.unwrap_or(DEFAULT_MAX_REASON));
        if len < min {
            return Err(invalid(
                FIELD,
                format!("must be at least {min} characters long"),
            ));
        }
        if len > max {
            return Err(invalid(
                FIELD,
                format!("must be at most {max} characters long"),
            ));
        }
    }
    Ok((!cleaned.is_empty()).then_some(cleaned))
}

/// True for a DNS-1123 label (a namespace name).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The namespace a request names (or the default) with the rules that judge it.
struct ChosenNamespace {
    name: String,
    is_default: bool,
    rules: EffectiveNamespaces,
}

/// Name-level checks: a DNS label, `allowUserNamespace`, an allow list existing.
fn choose_namespace(
    ctx: &Context<'_>,
    requested: Option<&str>,
) -> Result<ChosenNamespace, RequestError> {
    const FIELD: &str = "targetNamespace";
    let t_nc = ctx.template.spec.namespace_constraints.as_ref();
    let b_nc = ctx
        .binding
        .and_then(|b| b.spec.namespace_constraints.as_ref());
    let rules = merge_namespace_constraints(t_nc, b_nc);
    let binding_default = b_nc
        .and_then(|b| b.default_namespace.as_deref())
        .filter(|d| !d.is_empty() && *d == rules.default_namespace);
    let default = binding_default
        .or_else(|| {
            t_nc.and_then(|t| t.default_namespace.as_deref())
                .filter(|d| !d.is_empty())
        })
        .unwrap_or_else(|| ctx.template.spec.target_namespace())
        .to_owned();
    let chosen = |name: String, is_default: bool, rules: EffectiveNamespaces| ChosenNamespace {
        name,
        is_default,
        rules,
    };
    let Some(ns) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(chosen(default, true, rules));
    };
    if !is_dns_label(ns) {
        return Err(invalid(
            FIELD,
            "must be a namespace name (DNS label, at most 63 characters)",
        ));
    }
    if ns == default {
        return Ok(chosen(default, true, rules));
    }
    if t_nc.is_none() && b_nc.is_none() {
        return Ok(chosen(ns.to_owned(), false, EffectiveNamespaces::default()));
    }
    if !rules.allow_user_namespace {
        return Err(invalid(
            FIELD,
            format!(
                "this template does not let requesters choose a namespace; omit it to use '{default}'"
            ),
        ));
    }
    if !rules.has_allow_list() {
        return Err(invalid(
            FIELD,
            format!("no namespaces are allowed besides the default '{default}'"),
        ));
    }
    Ok(chosen(ns.to_owned(), false, rules))
}

/// The namespace whose live labels the decision needs (the server reads it on the
/// target, bounded by a timeout, and passes the answer as
/// [`Asked::live_namespace`]); `None` when the rules decide by name alone.
pub fn namespace_to_read(
    ctx: &Context<'_>,
    asked: &Asked<'_>,
) -> Result<Option<String>, RequestError> {
    let c = choose_namespace(ctx, asked.target_namespace)?;
    Ok(target_ns::needs_labels(&c.rules, &c.name, c.is_default).then_some(c.name))
}

fn target_namespace(
    ctx: &Context<'_>,
    asked: &Asked<'_>,
    warnings: &mut Vec<String>,
) -> Result<String, RequestError> {
    let c = choose_namespace(ctx, asked.target_namespace)?;
    target_ns::decide(
        &c.rules,
        &c.name,
        c.is_default,
        asked.live_namespace,
        ctx.cluster,
    )
    .map_err(|m| invalid("targetNamespace", m))?;
    if asked
        .target_namespace
        .map(str::trim)
        .is_none_or(str::is_empty)
    {
        warnings.push(format!("Target namespace defaulted to '{}'", c.name));
    }
    Ok(c.name)
}

type Scheduling = (Option<String>, Option<SchedulingConstraints>);

fn scheduling(
    ctx: &Context<'_>,
    selected: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<Scheduling, RequestError> {
    const FIELD: &str = "selectedSchedulingOption";
    let base = ctx.effective.scheduling_constraints.clone();
    let selected = selected.map(str::trim).filter(|s| !s.is_empty());
    let Some(options) = ctx
        .effective
        .scheduling_options
        .as_ref()
        .filter(|o| !o.options.is_empty())
    else {
        if let Some(s) = selected {
            warnings.push(format!(
                "scheduling option {s:?} ignored: this template defines no scheduling options"
            ));
        }
        return Ok((None, base));
    };
    let option = match selected {
        Some(name) => options
            .option(name)
            .ok_or_else(|| invalid(FIELD, format!("unknown scheduling option {name:?}")))?,
        None => match options.default_option() {
            Some(o) => o,
            None if options.required == Some(true) => {
                return Err(invalid(
                    FIELD,
                    "this template requires choosing a scheduling option",
                ));
            }
            None => return Ok((None, base)),
        },
    };
    if !option_allows(option, ctx.requester) {
        return Err(forbidden(
            FIELD,
            format!("you may not choose scheduling option {:?}", option.name),
        ));
    }
    let merged = merge_scheduling_constraints(
        base.as_ref(),
        option.scheduling_constraints.as_ref(),
        NodeSelectorConflict::Refuse,
    )
    .map_err(|e| invalid(FIELD, e.to_string()))?;
    Ok((Some(option.name.clone()), merged))
}

fn node_selector(
    requested: Option<&BTreeMap<String, String>>,
    resolved: Option<&SchedulingConstraints>,
) -> Result<Option<BTreeMap<String, String>>, RequestError> {
    const FIELD: &str = "nodeSelector";
    let Some(requested) = requested.filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    if requested.len() > MAX_NODE_SELECTOR {
        return Err(invalid(
            FIELD,
            format!("at most {MAX_NODE_SELECTOR} entries"),
        ));
    }
    for (k, v) in requested {
        selector::validate_label_key(k).map_err(|e| invalid(FIELD, e.to_string()))?;
        selector::validate_label_value(k, v).map_err(|e| invalid(FIELD, e.to_string()))?;
    }
    let fixed = SchedulingConstraints {
        node_selector: resolved.and_then(|r| r.node_selector.clone()),
        ..Default::default()
    };
    let wanted = SchedulingConstraints {
        node_selector: Some(requested.clone()),
        ..Default::default()
    };
    merge_scheduling_constraints(Some(&fixed), Some(&wanted), NodeSelectorConflict::Refuse)
        .map_err(|e| invalid(FIELD, e.to_string()))?;
    Ok(Some(requested.clone()))
}

fn extra_values(
    ctx: &Context<'_>,
    values: Option<&BTreeMap<String, serde_json::Value>>,
) -> Result<Option<BTreeMap<String, serde_json::Value>>, RequestError> {
    let declared = ctx
        .effective
        .extra_deploy_variables
        .as_deref()
        .unwrap_or_default();
    let resolved = vars::resolve(declared, values, ctx.requester.groups).map_err(|e| {
        let field = e.field();
        let message = e.problem.to_string();
        if e.is_forbidden() {
            forbidden(&field, message)
        } else {
            invalid(&field, message)
        }
    })?;
    Ok((!resolved.is_empty()).then_some(resolved))
}

fn invited(list: Option<&[String]>) -> Result<Option<Vec<String>>, RequestError> {
    const FIELD: &str = "invitedParticipants";
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if list.len() > MAX_INVITED {
        return Err(invalid(
            FIELD,
            format!("at most {MAX_INVITED} participants"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let id = raw.trim();
        if id.is_empty()
            || id.len() > MAX_IDENTIFIER_LEN
            || id.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                &format!("{FIELD}[{i}]"),
                format!(
                    "must be a user identifier of 1 to {MAX_IDENTIFIER_LEN} characters without spaces"
                ),
            ));
        }
        if !out.iter().any(|x| x == id) {
            out.push(id.to_owned());
        }
    }
    Ok(Some(out))
}

// ---------------------------------------------------------------------------------------------
// Naming

fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
        if out.len() >= max {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "x".to_owned()
    } else {
        out.to_owned()
    }
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `debug-<user>-<cluster>-<base36 nanos>`, a DNS-1123 label of at most 63
/// characters (the slugs are shortened to fit; the time suffix keeps names apart).
pub fn session_name(user: &str, cluster: &str, nanos: u128) -> String {
    let suffix = base36(nanos);
    let room = 63usize.saturating_sub("debug---".len() + suffix.len());
    let user_room = room / 2;
    let user = slug(user, user_room.max(1));
    let cluster = slug(cluster, room.saturating_sub(user.len()).max(1));
    format!("debug-{user}-{cluster}-{suffix}")
}

/// A label value naming `value`: itself when valid, else a shortened slug with a
/// hash, so it stays unique and valid.
pub fn label_value(value: &str) -> String {
    if selector::validate_label_value("k", value).is_ok() {
        return value.to_owned();
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in value.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{}-{hash:016x}", slug(value, 40))
}

/// The labels of a new session.
pub fn session_labels(name: &str, template: &str, cluster: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::DEBUG_SESSION.to_owned(), label_value(name)),
        (labels::DEBUG_TEMPLATE.to_owned(), label_value(template)),
        (labels::DEBUG_CLUSTER.to_owned(), label_value(cluster)),
    ])
}

// ---------------------------------------------------------------------------------------------
// Limits

/// A limit a new session would exceed (403).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitError {
    /// `constraints.maxConcurrentSessions`.
    #[error(
        "template {template:?} already has {count} of at most {limit} concurrent debug sessions (constraints.maxConcurrentSessions)"
    )]
    Concurrent {
        /// Template.
        template: String,
        /// Sessions counted.
        count: usize,
        /// The limit.
        limit: i32,
    },
    /// The binding's `maxActiveSessionsPerUser`.
    #[error(
        "you already have {count} of at most {limit} debug sessions through binding {binding} (maxActiveSessionsPerUser)"
    )]
    PerUser {
        /// `namespace/name`.
        binding: String,
        /// Sessions counted.
        count: usize,
        /// The limit.
        limit: i32,
    },
    /// The binding's `maxActiveSessionsTotal`.
    #[error(
        "binding {binding} already has {count} of at most {limit} debug sessions (maxActiveSessionsTotal)"
    )]
    Total {
        /// `namespace/name`.
        binding: String,
        /// Sessions counted.
        count: usize,
        /// The limit.
        limit: i32,
    },
}

fn live(s: &DebugSession) -> bool {
    s.status
        .as_ref()
        .and_then(|st| st.state)
        .is_none_or(|state| !state.is_terminal())
}

fn same_binding(s: &DebugSession, binding: &DebugSessionClusterBinding) -> bool {
    let (ns, name) = binding_key(binding);
    s.spec
        .binding_ref
        .as_ref()
        .is_some_and(|r| r.namespace == ns && r.name == name)
}

fn exceeded(count: usize, limit: Option<i32>) -> Option<i32> {
    limit.filter(|&l| usize::try_from(l).map_or(true, |l| count >= l))
}

/// Checks the limits a new session by `user` for `template` (through `binding`)
/// would join, counting the non-terminal `sessions`:
/// * `maxConcurrentSessions`: the binding's override counts the sessions of the
///   template through that binding; the template's own value counts all sessions
///   of the template;
/// * the binding's `maxActiveSessionsPerUser` and `maxActiveSessionsTotal`.
pub fn check_limits<'s>(
    sessions: impl IntoIterator<Item = &'s DebugSession>,
    template: &DebugSessionTemplate,
    binding: Option<&DebugSessionClusterBinding>,
    user: &str,
) -> Result<(), LimitError> {
    let tname = template.metadata.name.as_deref().unwrap_or_default();
    let binding_limit = binding
        .and_then(|b| b.spec.constraints.as_ref())
        .and_then(|c| c.max_concurrent_sessions);
    let template_limit = template
        .spec
        .constraints
        .as_ref()
        .and_then(|c| c.max_concurrent_sessions);
    let (mut of_template, mut of_binding, mut of_user, mut through_binding) = (0, 0, 0, 0);
    for s in sessions.into_iter().filter(|s| live(s)) {
        let via = binding.is_some_and(|b| same_binding(s, b));
        if s.spec.template_ref == tname {
            of_template += 1;
            if via {
                of_binding += 1;
            }
        }
        if via {
            through_binding += 1;
            if s.spec.requested_by == user {
                of_user += 1;
            }
        }
    }
    let concurrent = match binding_limit {
        Some(l) => exceeded(of_binding, Some(l)).map(|l| (of_binding, l)),
        None => exceeded(of_template, template_limit).map(|l| (of_template, l)),
    };
    if let Some((count, limit)) = concurrent {
        return Err(LimitError::Concurrent {
            template: tname.to_owned(),
            count,
            limit,
        });
    }
    let Some(b) = binding else {
        return Ok(());
    };
    let key = || {
        let (ns, name) = binding_key(b);
        format!("{ns}/{name}")
    };
    if let Some(limit) = exceeded(of_user, b.spec.max_active_sessions_per_user) {
        return Err(LimitError::PerUser {
            binding: key(),
            count: of_user,
            limit,
        });
    }
    if let Some(limit) = exceeded(through_binding, b.spec.max_active_sessions_total) {
        return Err(LimitError::Total {
            binding: key(),
            count: through_binding,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
