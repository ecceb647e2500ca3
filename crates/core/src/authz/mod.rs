//! The authorization webhook's decision logic: DenyPolicies, pod-security risk scoring,
//! impersonation guards and the SubjectAccessReview decision pipeline.
