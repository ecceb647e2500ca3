//! Round trips of realistic objects and of every enum value; helper semantics.

use breakglass_api::breakglass_session::{BreakglassSessionState as S, SessionEndReason};
use breakglass_api::common::{ImpersonationMode, SecretKeyReference};
use breakglass_api::debug_common::AllowedPodOperations;
use breakglass_api::debug_session::DebugSessionState as D;
use breakglass_api::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn json_and_yaml_roundtrip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).unwrap();
    let from_json: T = serde_json::from_str(&json).unwrap();
    assert_eq!(&from_json, value, "JSON");
    let yaml = serde_saphyr::to_string(value).unwrap();
    let from_yaml: T = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(&from_yaml, value, "YAML:\n{yaml}");
}

macro_rules! enum_roundtrips {
    ($($ty:ty),+ $(,)?) => {$(
        for value in <$ty>::ALL {
            let text = value.as_str();
            assert_eq!(text.parse::<$ty>().unwrap(), *value);
            assert_eq!(value.to_string(), text);
            assert_eq!(serde_json::to_value(value).unwrap(), serde_json::Value::from(text));
            let back: $ty = serde_json::from_value(serde_json::Value::from(text)).unwrap();
            assert_eq!(back, *value);
        }
        assert!("no-such-value".parse::<$ty>().is_err());
    )+};
}

#[test]
fn enum_values_roundtrip() {
    use breakglass_api::{
        audit_config::*, breakglass_escalation::*, breakglass_session::*, cluster_config::*,
        common::*, debug_common::*, debug_pod_template::*, debug_session::*,
        debug_session_cluster_binding::*, debug_session_template::*, deny_policy::*,
        identity_provider::*, mail_provider::*,
    };
    enum_roundtrips!(
        BreakglassSessionState,
        SessionEndReason,
        BreakglassSessionConditionType,
        BreakglassSessionConditionReason,
        BreakglassEscalationConditionType,
        RiskFactor,
        LabelSelectorOperator,
        FailMode,
        ImpersonationMode,
        ImpersonationIdentityResource,
        PodSecurityAction,
        ClusterAuthType,
        UserIdentifierClaim,
        OidcFallbackPolicy,
        ConstrainedImpersonationSupport,
        LegacyImpersonationFallback,
        ClusterConfigConditionType,
        ClusterConfigConditionReason,
        GroupSyncProvider,
        IdentityProviderConditionType,
        MailProviderConditionType,
        AuditSinkType,
        AuditSeverity,
        KafkaSaslMechanism,
        KafkaCompression,
        AuditLogLevel,
        AuditLogFormat,
        PreemptionPolicy,
        DebugSessionMode,
        DebugWorkloadType,
        ExpirationBehavior,
        TerminalSharingProvider,
        DebugAuditDestinationType,
        DebugTemplateConditionType,
        AuxiliaryResourceFailurePolicy,
        ExtraDeployInputType,
        DebugSessionState,
        DebugSessionConditionType,
        ParticipantRole,
        ClusterMatchSource,
    );
}

#[test]
fn the_reference_state_values_are_spelt_exactly() {
    let session: Vec<&str> = S::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        session,
        [
            "Pending",
            "Approved",
            "Rejected",
            "Expired",
            "IdleExpired",
            "Withdrawn",
            "ApprovalTimeout",
            "WaitingForScheduledTime"
        ]
    );
    let debug: Vec<&str> = D::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        debug,
        [
            "Pending",
            "PendingApproval",
            "Active",
            "Expired",
            "Terminated",
            "Failed"
        ]
    );
}

#[test]
fn terminal_states() {
    let terminal: Vec<S> = S::ALL.iter().copied().filter(|s| s.is_terminal()).collect();
    assert_eq!(
        terminal,
        [
            S::Rejected,
            S::Expired,
            S::IdleExpired,
            S::Withdrawn,
            S::ApprovalTimeout
        ]
    );
    for s in S::ALL {
        assert_eq!(s.occupies_slot(), !s.is_terminal(), "{s}");
    }
    assert!(S::Approved.grants_access() && !S::WaitingForScheduledTime.grants_access());
    let terminal: Vec<D> = D::ALL.iter().copied().filter(|s| s.is_terminal()).collect();
    assert_eq!(terminal, [D::Expired, D::Terminated, D::Failed]);
    assert!(D::Active.grants_access() && !D::PendingApproval.grants_access());
}

#[test]
fn defaults_for_unset_fields() {
    let unset = AllowedPodOperations::default();
    assert_eq!(
        [
            "exec",
            "attach",
            "log",
            "portforward",
            "ephemeralcontainers"
        ]
        .map(|s| unset.allows_subresource(s)),
        [true, true, false, true, false]
    );
    assert_eq!(AllowedPodOperations::UNSET.logs(), unset.logs());
    let logs_only = AllowedPodOperations {
        exec: Some(false),
        attach: Some(false),
        logs: Some(true),
        port_forward: Some(false),
    };
    assert!(logs_only.allows_subresource("log") && !logs_only.allows_subresource("exec"));

    let secret = SecretKeyReference {
        name: "s".into(),
        namespace: "n".into(),
        key: None,
    };
    assert_eq!(secret.key_or_default(), "value");

    let constraints = debug_common::DebugSessionConstraints::default();
    assert_eq!(
        (
            constraints.max_duration(),
            constraints.default_duration(),
            constraints.allow_renewal(),
            constraints.max_renewals()
        ),
        ("4h", "1h", true, 3)
    );
    assert_eq!(DenyPolicySpec::default().precedence(), 100);
}

#[test]
fn escalation_readiness() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    let mut esc = BreakglassEscalation::new("e", BreakglassEscalationSpec::default());
    assert!(
        esc.is_ready(),
        "generation 0 without conditions counts as ready"
    );
    esc.metadata.generation = Some(2);
    assert!(!esc.is_ready());
    esc.status = Some(BreakglassEscalationStatus {
        conditions: Some(vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Valid".into(),
            message: String::new(),
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
            observed_generation: Some(2),
        }]),
        ..Default::default()
    });
    assert!(esc.is_ready());
}

#[test]
fn absent_and_empty_lists_stay_distinct() {
    let spec: BreakglassSessionSpec = serde_json::from_value(serde_json::json!({
        "cluster": "c", "user": "u", "grantedGroup": "g", "denyPolicyRefs": []
    }))
    .unwrap();
    assert_eq!(spec.deny_policy_refs, Some(vec![]));
    let back = serde_json::to_value(&spec).unwrap();
    assert_eq!(back["denyPolicyRefs"], serde_json::json!([]));
    assert!(
        back.get("maxValidFor").is_none(),
        "unset defaults stay unset"
    );
}

fn time() -> impl Strategy<Value = Time> {
    (0i64..4_102_444_800).prop_map(|s| Time(Timestamp::from_second(s).unwrap()))
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,40}"
}

fn session_state() -> impl Strategy<Value = S> {
    proptest::sample::select(S::ALL)
}

fn end_reason() -> impl Strategy<Value = SessionEndReason> {
    proptest::sample::select(SessionEndReason::ALL)
}

prop_compose! {
    fn session()(
        cluster in "[a-z][a-z0-9-]{0,20}",
        user in text(),
        group in text(),
        idle in proptest::option::of("[1-9][0-9]{0,2}(m|h)"),
        deny in proptest::option::of(proptest::collection::vec(text(), 0..3)),
        reason in proptest::option::of(text()),
        scheduled in proptest::option::of(time()),
        mismatch in proptest::option::of(any::<bool>()),
        state in proptest::option::of(session_state()),
        ended in proptest::option::of(end_reason()),
        expires in proptest::option::of(time()),
        approvers in proptest::option::of(proptest::collection::vec(text(), 0..3)),
        count in proptest::option::of(0i64..1_000_000),
    ) -> BreakglassSession {
        let mut s = BreakglassSession::new("s", BreakglassSessionSpec {
            cluster,
            user,
            granted_group: group,
            idle_timeout: idle,
            deny_policy_refs: deny,
            request_reason: reason,
            scheduled_start_time: scheduled,
            allow_idp_mismatch: mismatch,
            ..Default::default()
        });
        s.metadata.namespace = Some("breakglass-system".into());
        s.status = Some(BreakglassSessionStatus {
            state,
            reason_ended: ended,
            expires_at: expires,
            approvers,
            activity_count: count,
            ..Default::default()
        });
        s
    }
}

prop_compose! {
    fn debug_session()(
        cluster in "[a-z][a-z0-9-]{0,20}",
        requested_by in text(),
        duration in proptest::option::of("[1-9][0-9]{0,2}(m|h|d)"),
        state in proptest::option::of(proptest::sample::select(D::ALL)),
        mode in proptest::option::of(proptest::sample::select(debug_session_template::DebugSessionMode::ALL)),
        ops in proptest::option::of((any::<Option<bool>>(), any::<Option<bool>>(), any::<Option<bool>>(), any::<Option<bool>>())),
        values in proptest::option::of(proptest::collection::btree_map("[a-z]{1,8}", text(), 0..3)),
        starts in proptest::option::of(time()),
        impersonation in proptest::option::of(proptest::sample::select(ImpersonationMode::ALL)),
    ) -> DebugSession {
        let mut s = DebugSession::new("d", DebugSessionSpec {
            cluster,
            template_ref: "t".into(),
            requested_by,
            requested_duration: duration,
            extra_deploy_values: values.map(|m| m.into_iter().map(|(k, v)| (k, serde_json::Value::from(v))).collect()),
            ..Default::default()
        });
        s.status = Some(DebugSessionStatus {
            state,
            starts_at: starts,
            allowed_pod_operations: ops.map(|(exec, attach, logs, port_forward)| AllowedPodOperations { exec, attach, logs, port_forward }),
            resolved_template: Some(DebugSessionTemplateSpec {
                mode,
                impersonation: impersonation.map(|mode| debug_common::ImpersonationConfig { mode: Some(mode), ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        });
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sessions_roundtrip(s in session()) {
        json_and_yaml_roundtrip(&s);
    }

    #[test]
    fn debug_sessions_roundtrip(s in debug_session()) {
        json_and_yaml_roundtrip(&s);
    }
}
