//! Which events an AuditConfig records and which each sink receives. Pure: no I/O, no
//! clock, no randomness (sampling hashes the event id, so a decision is reproducible).
//!
//! * Event types: an event is recorded when `includeEventTypes` is empty or one of its
//!   globs matches, and no `excludeEventTypes` glob matches (exclusion wins).
//! * Users: the same with `includeUsers` / `excludeUsers` against `actor.user`.
//! * Namespaces and resources apply only to events that name one (`target.namespace`;
//!   `details.resource`): an event without a namespace is not filtered by namespace.
//!   Namespace filters take name patterns; selector terms would need the namespace's
//!   labels, which an audit event does not carry, and are refused ([`ConfigFilter::new`]).
//! * Sampling keeps a `rate` fraction of the high-volume types (every type when
//!   `highVolumeEventTypes` is empty); sensitive types and `alwaysCaptureEventTypes`
//!   are always kept.
//! * Sinks: `eventTypes` globs (empty: all) and `minSeverity`; a kubernetes sink also
//!   honours `kubernetes.eventTypes`, and without any list it takes every type except
//!   the high-volume `access.granted`, so the hub's Events are not flooded.

use breakglass_api::audit_config::{AuditConfigSpec, AuditSink, AuditSinkType};
use breakglass_api::common::NamespaceFilter;
use breakglass_core::glob;
use breakglass_core::namespace;

use crate::event::{AuditEvent, Severity};

fn list(v: Option<&Vec<String>>) -> Vec<String> {
    v.cloned().unwrap_or_default()
}

/// Empty include list: everything; otherwise a glob must match.
fn included(include: &[String], value: &str) -> bool {
    include.is_empty() || glob::match_any(include, value)
}

/// An AuditConfig's `filtering`.
#[derive(Debug, Clone, Default)]
pub struct ConfigFilter {
    include_types: Vec<String>,
    exclude_types: Vec<String>,
    include_users: Vec<String>,
    exclude_users: Vec<String>,
    include_namespaces: Option<NamespaceFilter>,
    exclude_namespaces: Option<NamespaceFilter>,
    include_resources: Vec<String>,
    exclude_resources: Vec<String>,
}

impl ConfigFilter {
    /// The filter of `spec`; refuses namespace selector terms (see the module docs).
    pub fn new(spec: &AuditConfigSpec) -> Result<Self, String> {
        let Some(f) = spec.filtering.as_ref() else {
            return Ok(Self::default());
        };
        for (name, filter) in [
            ("includeNamespaces", &f.include_namespaces),
            ("excludeNamespaces", &f.exclude_namespaces),
        ] {
            if namespace::has_selector_terms(filter.as_ref()) {
                return Err(format!(
                    "filtering.{name}.selectorTerms is not supported: audit events carry no namespace labels; use patterns"
                ));
            }
        }
        Ok(Self {
            include_types: list(f.include_event_types.as_ref()),
            exclude_types: list(f.exclude_event_types.as_ref()),
            include_users: list(f.include_users.as_ref()),
            exclude_users: list(f.exclude_users.as_ref()),
            include_namespaces: f.include_namespaces.clone().filter(|n| !n.is_empty()),
            exclude_namespaces: f.exclude_namespaces.clone().filter(|n| !n.is_empty()),
            include_resources: list(f.include_resources.as_ref()),
            exclude_resources: list(f.exclude_resources.as_ref()),
        })
    }

    /// True when the configuration records `event`.
    pub fn admits(&self, event: &AuditEvent) -> bool {
        if !included(&self.include_types, &event.type_)
            || glob::match_any(&self.exclude_types, &event.type_)
        {
            return false;
        }
        if !included(&self.include_users, &event.actor.user)
            || glob::match_any(&self.exclude_users, &event.actor.user)
        {
            return false;
        }
        let ns = event.target.namespace.as_str();
        if !ns.is_empty() {
            if self.include_namespaces.is_some()
                && !namespace::matches(self.include_namespaces.as_ref(), ns)
            {
                return false;
            }
            if namespace::matches(self.exclude_namespaces.as_ref(), ns) {
                return false;
            }
        }
        if let Some(resource) = event.resource()
            && (!included(&self.include_resources, resource)
                || glob::match_any(&self.exclude_resources, resource))
        {
            return false;
        }
        true
    }
}

/// An AuditConfig's `sampling`.
#[derive(Debug, Clone)]
pub struct Sampling {
    /// Kept fraction, 0.0 to 1.0.
    rate: f64,
    high_volume: Vec<String>,
    always: Vec<String>,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            rate: 1.0,
            high_volume: Vec::new(),
            always: Vec::new(),
        }
    }
}

impl Sampling {
    /// The sampling of `spec` (rate 1.0 when unset or unparsable; validation refuses
    /// malformed rates before they get here).
    pub fn new(spec: &AuditConfigSpec) -> Self {
        let Some(s) = spec.sampling.as_ref() else {
            return Self::default();
        };
        let rate = s
            .rate
            .as_deref()
            .and_then(|r| r.parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or(1.0);
        Self {
            rate,
            high_volume: list(s.high_volume_event_types.as_ref()),
            always: list(s.always_capture_event_types.as_ref()),
        }
    }

    /// True when `event` is kept. Sensitive and always-captured types are always kept;
    /// others subject to sampling are kept when the hash of their id falls below the rate.
    pub fn keeps(&self, event: &AuditEvent) -> bool {
        if self.rate >= 1.0
            || event.is_sensitive()
            || glob::match_any(&self.always, &event.type_)
            || !included(&self.high_volume, &event.type_)
        {
            return true;
        }
        unit_hash(&event.id) < self.rate
    }
}

/// FNV-1a of `s` mapped to `[0, 1)`.
fn unit_hash(s: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // The top 53 bits fit a f64 mantissa exactly.
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A sink's own filter.
#[derive(Debug, Clone)]
pub struct SinkFilter {
    types: Vec<String>,
    kubernetes_types: Option<Vec<String>>,
    min_severity: Severity,
}

impl SinkFilter {
    /// The filter of `sink`.
    pub fn new(sink: &AuditSink) -> Self {
        let kubernetes_types = (sink.type_ == AuditSinkType::Kubernetes).then(|| {
            sink.kubernetes
                .as_ref()
                .and_then(|k| k.event_types.clone())
                .unwrap_or_default()
        });
        Self {
            types: list(sink.event_types.as_ref()),
            kubernetes_types,
            min_severity: sink.min_severity.map_or(Severity::Info, Severity::from),
        }
    }

    /// True when the sink receives `event`.
    pub fn admits(&self, event: &AuditEvent) -> bool {
        if event.severity < self.min_severity || !included(&self.types, &event.type_) {
            return false;
        }
        match &self.kubernetes_types {
            None => true,
            Some(k) if k.is_empty() => {
                // Nothing chosen on either list: keep the hub's Events readable.
                !self.types.is_empty() || event.type_ != crate::types::ACCESS_GRANTED
            }
            Some(k) => glob::match_any(k, &event.type_),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use breakglass_api::audit_config::{
        AuditFilterConfig, AuditSamplingConfig, AuditSeverity, KubernetesSinkConfig,
    };

    use super::*;
    use crate::event::{Actor, Target};
    use crate::types::*;

    fn event(type_: &str, user: &str, ns: &str, resource: Option<&str>) -> AuditEvent {
        let mut e = AuditEvent::new(
            type_,
            Actor {
                user: user.into(),
                ..Actor::default()
            },
            Target {
                cluster: "prod".into(),
                kind: "pods".into(),
                name: "x".into(),
                namespace: ns.into(),
            },
        );
        if let Some(r) = resource {
            e = e.detail("resource", r);
        }
        e
    }

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    fn patterns(items: &[&str]) -> Option<NamespaceFilter> {
        Some(NamespaceFilter {
            patterns: v(items),
            selector_terms: None,
        })
    }

    fn spec_with(f: AuditFilterConfig) -> AuditConfigSpec {
        AuditConfigSpec {
            filtering: Some(f),
            ..AuditConfigSpec::default()
        }
    }

    #[test]
    fn no_filtering_admits_everything() {
        let f = ConfigFilter::new(&AuditConfigSpec::default()).unwrap();
        for (t, _) in EMITTED {
            assert!(f.admits(&event(t, "ann", "ns", Some("pods"))), "{t}");
        }
        assert!(f.admits(&event("x", "", "", None)));
    }

    #[test]
    fn event_type_include_and_exclude_with_exclusion_winning() {
        let f = ConfigFilter::new(&spec_with(AuditFilterConfig {
            include_event_types: v(&["session.*", "access.denied"]),
            exclude_event_types: v(&["session.requested", "access.*"]),
            ..AuditFilterConfig::default()
        }))
        .unwrap();
        let cases = [
            (SESSION_APPROVED, true),
            (SESSION_EXPIRED, true),
            (SESSION_REQUESTED, false), // excluded although included
            (ACCESS_DENIED, false),     // excluded although included
            (ACCESS_GRANTED, false),    // not included
            (DEBUG_CREATED, false),     // not included
        ];
        for (t, want) in cases {
            assert_eq!(f.admits(&event(t, "ann", "", None)), want, "{t}");
        }
        // Exclusion alone: everything else is included.
        let f = ConfigFilter::new(&spec_with(AuditFilterConfig {
            exclude_event_types: v(&["access.granted"]),
            ..AuditFilterConfig::default()
        }))
        .unwrap();
        assert!(!f.admits(&event(ACCESS_GRANTED, "ann", "", None)));
        assert!(f.admits(&event(ACCESS_DENIED, "ann", "", None)));
        assert!(f.admits(&event(DEBUG_FAILED, "ann", "", None)));
    }

    #[test]
    fn users_include_and_exclude() {
        let f = ConfigFilter::new(&spec_with(AuditFilterConfig {
            include_users: v(&["*@example.com"]),
            exclude_users: v(&["bot@example.com"]),
            ..AuditFilterConfig::default()
        }))
        .unwrap();
        assert!(f.admits(&event(SESSION_APPROVED, "ann@example.com", "", None)));
        assert!(!f.admits(&event(SESSION_APPROVED, "bot@example.com", "", None)));
        assert!(!f.admits(&event(SESSION_APPROVED, "ann@other.org", "", None)));
        assert!(!f.admits(&event(SESSION_APPROVED, "system", "", None)));
    }

    #[test]
    fn namespaces_apply_only_to_events_that_name_one() {
        let f = ConfigFilter::new(&spec_with(AuditFilterConfig {
            include_namespaces: patterns(&["team-*", "kube-system"]),
            exclude_namespaces: patterns(&["team-secret"]),
            ..AuditFilterConfig::default()
        }))
        .unwrap();
        assert!(f.admits(&event(ACCESS_GRANTED, "a", "team-a", None)));
        assert!(f.admits(&event(ACCESS_GRANTED, "a", "kube-system", None)));
        assert!(!f.admits(&event(ACCESS_GRANTED, "a", "team-secret", None)));
        assert!(!f.admits(&event(ACCESS_GRANTED, "a", "default", None)));
        assert!(f.admits(&event(ACCESS_GRANTED, "a", "", None)));
        // An empty include filter restricts nothing.
        let f = ConfigFilter::new(&spec_with(AuditFilterConfig {
            include_namespaces: Some(NamespaceFilter::default()),
            ..AuditFilterConfig::default()
        }))
        .unwrap();
        assert!(f.admits(&event(ACCESS_GRANTED, "a", "default", None)));
    }

    #[test]
    fn namespace_selector_terms_are_refused() {
        let spec = spec_with(AuditFilterConfig {
            exclude_namespaces: Some(NamespaceFilter {
                patterns: None,
                selector_terms: Some(vec![Default::default()]),
            }),
            ..AuditFilterConfig::default()
        });
        let err = ConfigFilter::new(&spec).unwrap_err();
        assert!(err.contains("excludeNamespaces.selectorTerms"), "{err}");
    }

    #[test]
    fn resources_apply_only_to_events_that_name_one() {
        let f = ConfigFilter::new(&spec_with(AuditFilterConfig {
            include_resources: v(&["pods", "deployments"]),
            exclude_resources: v(&["deployments"]),
            ..AuditFilterConfig::default()
        }))
        .unwrap();
        assert!(f.admits(&event(ACCESS_GRANTED, "a", "ns", Some("pods"))));
        assert!(!f.admits(&event(ACCESS_GRANTED, "a", "ns", Some("deployments"))));
        assert!(!f.admits(&event(ACCESS_GRANTED, "a", "ns", Some("secrets"))));
        assert!(f.admits(&event(SESSION_APPROVED, "a", "ns", None)));
    }

    fn sampling(rate: &str, high: &[&str], always: &[&str]) -> Sampling {
        Sampling::new(&AuditConfigSpec {
            sampling: Some(AuditSamplingConfig {
                rate: Some(rate.into()),
                high_volume_event_types: v(high),
                always_capture_event_types: v(always),
            }),
            ..AuditConfigSpec::default()
        })
    }

    fn kept(s: &Sampling, type_: &str, n: usize) -> usize {
        (0..n)
            .filter(|_| s.keeps(&event(type_, "a", "", None)))
            .count()
    }

    #[test]
    fn sampling_never_drops_sensitive_or_always_captured_events() {
        let s = sampling("0", &[], &["custom.keep"]);
        for (t, _) in EMITTED {
            let want = if NOT_SENSITIVE.contains(t) { 0 } else { 200 };
            assert_eq!(kept(&s, t, 200), want, "{t}");
        }
        assert_eq!(kept(&s, "custom.keep", 50), 50);
        assert_eq!(kept(&s, "custom.other", 50), 0);
        // Even when a sensitive type is listed as high-volume.
        let s = sampling("0", &["session.*", "access.*"], &[]);
        assert_eq!(kept(&s, SESSION_REQUESTED, 50), 50);
        assert_eq!(kept(&s, ACCESS_DENIED, 50), 50);
        assert_eq!(kept(&s, ACCESS_GRANTED, 50), 0);
    }

    #[test]
    fn sampling_keeps_about_the_rate_of_high_volume_types_only() {
        let s = sampling("0.25", &["access.granted"], &[]);
        let n = 4000;
        let k = kept(&s, ACCESS_GRANTED, n);
        assert!((800..1200).contains(&k), "kept {k} of {n}");
        // Types not listed as high-volume are not sampled.
        assert_eq!(kept(&s, "custom.other", 100), 100);
        assert_eq!(kept(&sampling("1.0", &[], &[]), ACCESS_GRANTED, 100), 100);
        assert_eq!(kept(&sampling("1", &[], &[]), ACCESS_GRANTED, 100), 100);
        // Unparsable or out-of-range rates keep everything (validation refuses them).
        assert_eq!(kept(&sampling("abc", &[], &[]), ACCESS_GRANTED, 100), 100);
        assert_eq!(kept(&sampling("2", &[], &[]), ACCESS_GRANTED, 100), 100);
        assert_eq!(kept(&Sampling::default(), ACCESS_GRANTED, 100), 100);
    }

    #[test]
    fn sampling_is_deterministic_per_event() {
        let s = sampling("0.5", &[], &[]);
        let e = event(ACCESS_GRANTED, "a", "", None);
        let first = s.keeps(&e);
        for _ in 0..10 {
            assert_eq!(s.keeps(&e), first);
        }
    }

    fn sink(
        type_: AuditSinkType,
        types: Option<Vec<String>>,
        min: Option<AuditSeverity>,
    ) -> AuditSink {
        AuditSink {
            name: "s".into(),
            type_,
            kafka: None,
            webhook: None,
            log: None,
            kubernetes: None,
            event_types: types,
            min_severity: min,
        }
    }

    #[test]
    fn sink_types_and_min_severity() {
        let f = SinkFilter::new(&sink(AuditSinkType::Webhook, None, None));
        for (t, _) in EMITTED {
            assert!(f.admits(&event(t, "a", "", None)), "{t}");
        }
        let f = SinkFilter::new(&sink(
            AuditSinkType::Log,
            v(&["session.*", "access.*"]),
            Some(AuditSeverity::Warning),
        ));
        assert!(f.admits(&event(SESSION_DENIED, "a", "", None))); // warning
        assert!(f.admits(&event(SESSION_REVOKED, "a", "", None))); // warning
        assert!(f.admits(&event(ACCESS_DENIED_POLICY, "a", "", None))); // critical
        assert!(!f.admits(&event(SESSION_APPROVED, "a", "", None))); // info
        assert!(!f.admits(&event(DEBUG_FAILED, "a", "", None))); // not listed
        let f = SinkFilter::new(&sink(
            AuditSinkType::Log,
            None,
            Some(AuditSeverity::Critical),
        ));
        assert!(f.admits(&event(ACCESS_DENIED_POLICY, "a", "", None)));
        assert!(!f.admits(&event(ACCESS_DENIED, "a", "", None)));
    }

    #[test]
    fn kubernetes_sink_skips_access_granted_unless_chosen() {
        let f = SinkFilter::new(&sink(AuditSinkType::Kubernetes, None, None));
        assert!(f.admits(&event(SESSION_APPROVED, "a", "", None)));
        assert!(f.admits(&event(ACCESS_DENIED, "a", "", None)));
        assert!(!f.admits(&event(ACCESS_GRANTED, "a", "", None)));
        let mut s = sink(AuditSinkType::Kubernetes, None, None);
        s.kubernetes = Some(KubernetesSinkConfig {
            event_types: v(&["access.granted"]),
        });
        let f = SinkFilter::new(&s);
        assert!(f.admits(&event(ACCESS_GRANTED, "a", "", None)));
        assert!(!f.admits(&event(SESSION_APPROVED, "a", "", None)));
        let f = SinkFilter::new(&sink(AuditSinkType::Kubernetes, v(&["access.*"]), None));
        assert!(f.admits(&event(ACCESS_GRANTED, "a", "", None)));
        assert!(!f.admits(&event(SESSION_APPROVED, "a", "", None)));
    }
}
