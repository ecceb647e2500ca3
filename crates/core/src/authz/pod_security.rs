//! Pod-security risk scoring of exec/attach/portforward requests (DenyPolicy
//! `podSecurityRules`).
//!
//! Order, per policy:
//! 1. only pod requests on a scored subresource (`appliesTo.subresources`, default
//!    `exec`, `attach`, `portforward`; an explicit empty list also means the default);
//! 2. pod unavailable ⇒ `failMode` (`closed`, the default, denies; `open` allows);
//! 3. exemptions: the namespace matches `exemptions.namespaces`, or the pod carries
//!    every `exemptions.podLabels` entry ⇒ allow;
//! 4. the escalation override applies when `enabled` and the pod's namespace is in its
//!    `namespaceScope` (empty scope ⇒ every namespace);
//! 5. factors are detected over regular, init and ephemeral containers;
//! 6. a factor whose name before the first `:` is in `blockFactors` denies, unless the
//!    applying override lists it in `exemptFactors` — block factors beat thresholds;
//! 7. score = sum of weights: host namespaces once each, `privilegedContainer` and
//!    `runAsRoot` once per pod however many containers, each added capability listed
//!    in `riskFactors.capabilities` once per container, each hostPath volume (writable
//!    when any container mounts it without `readOnly`, read-only otherwise);
//! 8. the applying override's `maxAllowedScore` ≥ score ⇒ allow;
//! 9. the first threshold (list order) with score ≤ `maxScore` decides;
//! 10. a score above every threshold (or no thresholds) denies.
//!
//! Hardening beyond the reference, each only ever adding risk: a negative weight
//! counts as 0 (so the score is monotone in the factors), `runAsUser` is inherited
//! from the pod security context like the kubelet does, capability names are compared
//! without a `CAP_` prefix and case-insensitively (container runtimes accept both
//! spellings), and `ALL` adds every capability the policy scores.
//!
//! Reason templates: exactly `{{.Score}}`, `{{.Factors}}` (comma-joined), `{{.Pod}}`
//! and `{{.Namespace}}` are substituted (spaces inside the braces allowed). Anything
//! else between `{{` and `}}`, or an unclosed `{{`, makes the template invalid and it
//! is shown raw, so a typo never hides the message. A full Go-template engine would
//! add a dependency for four fields.

use std::collections::BTreeMap;

use breakglass_api::breakglass_escalation::PodSecurityOverrides;
use breakglass_api::common::FailMode;
use breakglass_api::deny_policy::{
    DEFAULT_SCORED_SUBRESOURCES, PodSecurityAction, PodSecurityRules, RiskFactors,
};
use k8s_openapi::api::core::v1::{Pod, SecurityContext, VolumeMount};

use super::deny::{EvalError, allow_filter_matches};
use super::input::{NamespaceLabels, PodInfo};
use super::sar::ResourceAttributes;
use crate::namespace;

/// Risk factors detected on a pod and their total weight.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RiskAssessment {
    /// Sum of the weights (see the module docs for what counts once).
    pub score: i64,
    /// Factor names: `hostNetwork`, `hostPID`, `hostIPC`, `privilegedContainer:<ctr>`,
    /// `runAsRoot:<ctr>`, `capability:<CAP>:<ctr>`, `hostPathWritable:<vol>`,
    /// `hostPathReadOnly:<vol>`.
    pub factors: Vec<String>,
}

/// How a pod-security evaluation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodSecurityVerdict {
    /// The request is not scored by this policy (not a pod, or subresource not in scope).
    NotApplicable,
    /// Allowed.
    Allow {
        /// Why.
        cause: AllowCause,
        /// The assessment, when the pod was scored.
        assessment: Option<RiskAssessment>,
    },
    /// Allowed with a warning (a `warn` threshold).
    Warn {
        /// The assessment.
        assessment: RiskAssessment,
        /// The warning text.
        message: String,
    },
    /// Denied.
    Deny {
        /// Why.
        cause: DenyCause,
        /// The assessment, when the pod was scored.
        assessment: Option<RiskAssessment>,
        /// The text shown to the user.
        message: String,
    },
}

/// Why pod security allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowCause {
    /// The pod was unavailable and `failMode` is `open`.
    FailOpen,
    /// An exemption matched.
    Exempt,
    /// The escalation override's `maxAllowedScore` covers the score.
    Override,
    /// An `allow` threshold matched.
    Threshold,
}

/// Why pod security denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyCause {
    /// The pod was unavailable and `failMode` is `closed`.
    PodUnavailable,
    /// Block factors were detected.
    BlockedFactors(Vec<String>),
    /// A `deny` threshold matched.
    Threshold {
        /// Its `maxScore`.
        max_score: i32,
    },
    /// The score is above every threshold.
    AboveThresholds,
}

impl PodSecurityVerdict {
    /// The metrics/audit label of the outcome: `allow`, `warn` or `deny` (`none` when not applicable).
    pub fn action_label(&self) -> &'static str {
        match self {
            Self::NotApplicable => "none",
            Self::Allow { .. } => PodSecurityAction::Allow.as_str(),
            Self::Warn { .. } => PodSecurityAction::Warn.as_str(),
            Self::Deny { .. } => PodSecurityAction::Deny.as_str(),
        }
    }
}

/// True if `rules` score this request (a core `pods` request on a scored subresource).
pub fn applies_to_request(rules: &PodSecurityRules, request: &ResourceAttributes) -> bool {
    request.is_pod() && !request.subresource.is_empty() && {
        match rules
            .applies_to
            .as_ref()
            .and_then(|a| a.subresources.as_deref())
        {
            Some(list) if !list.is_empty() => list.contains(&request.subresource),
            _ => DEFAULT_SCORED_SUBRESOURCES.contains(&request.subresource.as_str()),
        }
    }
}

/// True if the override applies in `namespace`: enabled, and the namespace is in its
/// scope (empty scope ⇒ all). Undecidable selector terms do not match.
pub fn override_applies(
    overrides: &PodSecurityOverrides,
    namespace: &str,
    labels: NamespaceLabels<'_>,
) -> bool {
    overrides.enabled == Some(true)
        && match overrides.namespace_scope.as_ref() {
            None => true,
            Some(scope) if scope.is_empty() => true,
            Some(scope) => allow_filter_matches(scope, namespace, labels),
        }
}

/// True if evaluating `rules` (and `overrides`) for this request reads namespace labels.
pub fn needs_labels(
    rules: &PodSecurityRules,
    overrides: Option<&PodSecurityOverrides>,
    request: &ResourceAttributes,
) -> bool {
    if !applies_to_request(rules, request) {
        return false;
    }
    let ns = request.namespace.as_str();
    let exemption = rules
        .exemptions
        .as_ref()
        .is_some_and(|e| super::deny::filter_needs_labels(e.namespaces.as_ref(), ns));
    let scope = overrides.is_some_and(|o| {
        o.enabled == Some(true) && super::deny::filter_needs_labels(o.namespace_scope.as_ref(), ns)
    });
    exemption || scope
}

/// Evaluates one policy's `podSecurityRules` for a request: the pod (or `failMode`
/// without it), exemptions, block factors, the escalation override, then thresholds.
pub fn evaluate(
    rules: &PodSecurityRules,
    request: &ResourceAttributes,
    pod: PodInfo<'_>,
    labels: NamespaceLabels<'_>,
    overrides: Option<&PodSecurityOverrides>,
) -> Result<PodSecurityVerdict, EvalError> {
    if !applies_to_request(rules, request) {
        return Ok(PodSecurityVerdict::NotApplicable);
    }
    let ns = request.namespace.as_str();
    let pod_name = request.name.as_str();
    let Some(pod) = target_pod(pod, ns, pod_name)? else {
        return Ok(unavailable(rules, ns, pod_name));
    };
    if is_exempt(rules, pod, ns, labels) {
        return Ok(PodSecurityVerdict::Allow {
            cause: AllowCause::Exempt,
            assessment: None,
        });
    }
    let applied = overrides.filter(|o| override_applies(o, ns, labels));
    let assessment = assess(pod, rules.risk_factors.as_ref());
    let blocked = blocked_factors(rules, applied, &assessment);
    if !blocked.is_empty() {
        let message = format!(
            "blocked security factor detected on pod {}: {}",
            pod_ref(ns, pod_name),
            blocked.join(", ")
        );
        return Ok(PodSecurityVerdict::Deny {
            cause: DenyCause::BlockedFactors(blocked),
            assessment: Some(assessment),
            message,
        });
    }
    if let Some(max) = applied.and_then(|o| o.max_allowed_score)
        && assessment.score <= i64::from(max)
    {
        return Ok(PodSecurityVerdict::Allow {
            cause: AllowCause::Override,
            assessment: Some(assessment),
        });
    }
    Ok(by_threshold(rules, assessment, ns, pod_name))
}

/// The pod the request targets: `None` when it could not be fetched (or the request
/// names none); an error when the caller passed another pod or none at all.
fn target_pod<'p>(
    pod: PodInfo<'p>,
    ns: &str,
    pod_name: &str,
) -> Result<Option<&'p Pod>, EvalError> {
    match pod {
        // Without a name there is no pod to fetch: the same as unavailable.
        _ if pod_name.is_empty() => Ok(None),
        PodInfo::Known(p) => {
            let meta = &p.metadata;
            if meta.name.as_deref().is_some_and(|n| n != pod_name)
                || meta.namespace.as_deref().is_some_and(|n| n != ns)
            {
                return Err(EvalError::PodMismatch {
                    namespace: ns.to_owned(),
                    name: pod_name.to_owned(),
                });
            }
            Ok(Some(p))
        }
        PodInfo::Unavailable => Ok(None),
        PodInfo::NotFetched => Err(EvalError::PodNotFetched {
            namespace: ns.to_owned(),
            name: pod_name.to_owned(),
        }),
    }
}

/// What `failMode` says when the pod spec is unavailable.
fn unavailable(rules: &PodSecurityRules, ns: &str, pod_name: &str) -> PodSecurityVerdict {
    match rules.fail_mode() {
        FailMode::Open => PodSecurityVerdict::Allow {
            cause: AllowCause::FailOpen,
            assessment: None,
        },
        FailMode::Closed => PodSecurityVerdict::Deny {
            cause: DenyCause::PodUnavailable,
            assessment: None,
            message: format!(
                "pod spec unavailable for {}, so its risk could not be evaluated; request denied (fail-closed)",
                pod_ref(ns, pod_name)
            ),
        },
    }
}

/// Detected factors whose kind `blockFactors` lists and the applied override does not exempt.
fn blocked_factors(
    rules: &PodSecurityRules,
    applied: Option<&PodSecurityOverrides>,
    assessment: &RiskAssessment,
) -> Vec<String> {
    let exempt_factors: Vec<&str> = applied
        .and_then(|o| o.exempt_factors.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|f| f.as_str())
        .collect();
    let block: &[String] = rules.block_factors.as_deref().unwrap_or_default();
    assessment
        .factors
        .iter()
        .filter(|f| {
            let kind = factor_kind(f);
            block.iter().any(|b| b == kind) && !exempt_factors.contains(&kind)
        })
        .cloned()
        .collect()
}

/// The first threshold whose `maxScore` covers the score decides; above all, deny.
fn by_threshold(
    rules: &PodSecurityRules,
    assessment: RiskAssessment,
    ns: &str,
    pod_name: &str,
) -> PodSecurityVerdict {
    let thresholds = rules.thresholds.as_deref().unwrap_or_default();
    let vars = TemplateVars {
        score: assessment.score,
        factors: &assessment.factors,
        pod: pod_name,
        namespace: ns,
    };
    match thresholds
        .iter()
        .find(|t| assessment.score <= i64::from(t.max_score))
    {
        Some(t) => match t.action {
            PodSecurityAction::Allow => PodSecurityVerdict::Allow {
                cause: AllowCause::Threshold,
                assessment: Some(assessment),
            },
            PodSecurityAction::Warn => {
                let message = reason_text(t.reason.as_deref(), &vars, || {
                    format!(
                        "pod {} has risk score {}{}",
                        pod_ref(ns, pod_name),
                        vars.score,
                        factor_suffix(vars.factors)
                    )
                });
                PodSecurityVerdict::Warn {
                    assessment,
                    message,
                }
            }
            PodSecurityAction::Deny => {
                let message = reason_text(t.reason.as_deref(), &vars, || {
                    format!(
                        "pod {} has risk score {}{}, which this policy denies",
                        pod_ref(ns, pod_name),
                        vars.score,
                        factor_suffix(vars.factors)
                    )
                });
                PodSecurityVerdict::Deny {
                    cause: DenyCause::Threshold {
                        max_score: t.max_score,
                    },
                    assessment: Some(assessment),
                    message,
                }
            }
        },
        None => {
            let message = format!(
                "pod {} has risk score {}{}, above every threshold of this policy",
                pod_ref(ns, pod_name),
                assessment.score,
                factor_suffix(&assessment.factors)
            );
            PodSecurityVerdict::Deny {
                cause: DenyCause::AboveThresholds,
                assessment: Some(assessment),
                message,
            }
        }
    }
}

fn pod_ref(ns: &str, name: &str) -> String {
    if name.is_empty() {
        format!("{ns}/<unnamed>")
    } else {
        format!("{ns}/{name}")
    }
}

fn factor_suffix(factors: &[String]) -> String {
    if factors.is_empty() {
        String::new()
    } else {
        format!(" ({})", factors.join(", "))
    }
}

fn is_exempt(rules: &PodSecurityRules, pod: &Pod, ns: &str, labels: NamespaceLabels<'_>) -> bool {
    let Some(ex) = rules.exemptions.as_ref() else {
        return false;
    };
    let by_namespace = ex.namespaces.as_ref().is_some_and(|f| {
        !namespace::is_unrestricted(Some(f)) && allow_filter_matches(f, ns, labels)
    });
    // An empty label map would exempt every pod; read it as "no label exemption".
    let by_labels = ex.pod_labels.as_ref().is_some_and(|want| {
        !want.is_empty() && {
            let have = pod.metadata.labels.as_ref();
            want.iter()
                .all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
        }
    });
    by_namespace || by_labels
}

/// The part of a factor name before the first `:` (`capability:NET_ADMIN:app` → `capability`).
pub fn factor_kind(factor: &str) -> &str {
    factor.split(':').next().unwrap_or(factor)
}

/// Detects the risk factors of `pod` and sums their weights (see the module docs).
pub fn assess(pod: &Pod, weights: Option<&RiskFactors>) -> RiskAssessment {
    let w = |v: Option<i32>| i64::from(v.unwrap_or(0).max(0));
    let rf = weights.cloned().unwrap_or_default();
    let cap_weights: BTreeMap<String, i64> = rf
        .capabilities
        .iter()
        .flatten()
        .map(|(k, v)| (normalize_cap(k), w(Some(*v))))
        .collect();

    let mut out = RiskAssessment::default();
    let Some(spec) = pod.spec.as_ref() else {
        return out;
    };
    for (flag, name, weight) in [
        (spec.host_network, "hostNetwork", rf.host_network),
        (spec.host_pid, "hostPID", rf.host_pid),
        (spec.host_ipc, "hostIPC", rf.host_ipc),
    ] {
        if flag == Some(true) {
            out.factors.push(name.to_owned());
            out.score += w(weight);
        }
    }

    let pod_run_as = spec.security_context.as_ref().and_then(|s| s.run_as_user);
    let mut privileged = false;
    let mut root = false;
    for c in containers(pod) {
        let sc = c.security_context;
        if sc.and_then(|s| s.privileged) == Some(true) {
            out.factors.push(format!("privilegedContainer:{}", c.name));
            privileged = true;
        }
        if sc.and_then(|s| s.run_as_user).or(pod_run_as) == Some(0) {
            out.factors.push(format!("runAsRoot:{}", c.name));
            root = true;
        }
        let added = sc
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|c| c.add.as_deref())
            .unwrap_or_default();
        let mut caps: Vec<&String> = Vec::new();
        for raw in added {
            let cap = normalize_cap(raw);
            if cap == "ALL" {
                // ALL grants every capability, including each one the policy scores.
                caps.extend(cap_weights.keys());
            } else if let Some((k, _)) = cap_weights.get_key_value(&cap) {
                caps.push(k);
            }
        }
        caps.sort();
        caps.dedup();
        for cap in caps {
            out.factors.push(format!("capability:{cap}:{}", c.name));
            out.score += cap_weights.get(cap).copied().unwrap_or(0);
        }
    }
    if privileged {
        out.score += w(rf.privileged_container);
    }
    if root {
        out.score += w(rf.run_as_root);
    }

    for v in spec.volumes.iter().flatten() {
        if v.host_path.is_none() {
            continue;
        }
        let writable = containers(pod).any(|c| {
            c.mounts
                .iter()
                .any(|m| m.name == v.name && m.read_only != Some(true))
        });
        if writable {
            out.factors.push(format!("hostPathWritable:{}", v.name));
            out.score += w(rf.host_path_writable);
        } else {
            out.factors.push(format!("hostPathReadOnly:{}", v.name));
            out.score += w(rf.host_path_read_only);
        }
    }
    out
}

fn normalize_cap(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map(str::to_owned)
        .unwrap_or(upper)
}

/// What scoring reads of a regular, init or ephemeral container.
struct ContainerView<'a> {
    name: &'a str,
    security_context: Option<&'a SecurityContext>,
    mounts: &'a [VolumeMount],
}

fn containers(pod: &Pod) -> impl Iterator<Item = ContainerView<'_>> {
    let spec = pod.spec.as_ref();
    let regular = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let init = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    let ephemeral = spec
        .and_then(|s| s.ephemeral_containers.as_deref())
        .unwrap_or_default();
    regular
        .iter()
        .chain(init)
        .map(|c| ContainerView {
            name: &c.name,
            security_context: c.security_context.as_ref(),
            mounts: c.volume_mounts.as_deref().unwrap_or_default(),
        })
        .chain(ephemeral.iter().map(|c| ContainerView {
            name: &c.name,
            security_context: c.security_context.as_ref(),
            mounts: c.volume_mounts.as_deref().unwrap_or_default(),
        }))
}

/// Values a reason template can use.
#[derive(Debug, Clone, Copy)]
pub struct TemplateVars<'a> {
    /// `{{.Score}}`.
    pub score: i64,
    /// `{{.Factors}}`, joined with `, `.
    pub factors: &'a [String],
    /// `{{.Pod}}`.
    pub pod: &'a str,
    /// `{{.Namespace}}`.
    pub namespace: &'a str,
}

/// The text of a threshold: the rendered template, the raw template when it is
/// invalid, or `generated()` when there is none.
pub fn reason_text(
    template: Option<&str>,
    vars: &TemplateVars<'_>,
    generated: impl FnOnce() -> String,
) -> String {
    match template.map(str::trim) {
        None | Some("") => generated(),
        Some(t) => render_template(t, vars).unwrap_or_else(|| t.to_owned()),
    }
}

/// Renders `{{.Score}}`, `{{.Factors}}`, `{{.Pod}}` and `{{.Namespace}}`; `None` when
/// the template uses anything else or leaves an action unclosed.
pub fn render_template(template: &str, vars: &TemplateVars<'_>) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        let value = match after[..close].trim() {
            ".Score" => vars.score.to_string(),
            ".Factors" => vars.factors.join(", "),
            ".Pod" => vars.pod.to_owned(),
            ".Namespace" => vars.namespace.to_owned(),
            _ => return None,
        };
        out.push_str(&value);
        rest = &after[close + 2..];
    }
    // A `}}` outside an action is plain text in Go templates too.
    out.push_str(rest);
    Some(out)
}
