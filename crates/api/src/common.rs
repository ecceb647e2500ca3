//! Types shared by several kinds.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::macros::string_enum;

/// Namespaces selected by name patterns and/or label selector terms; a namespace matches when any pattern or any term matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceFilter {
    /// Glob patterns matched against the namespace name (e.g. `app-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patterns: Option<Vec<String>>,
    /// Label selector terms matched against the namespace labels; terms are ORed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector_terms: Option<Vec<NamespaceSelectorTerm>>,
}

impl NamespaceFilter {
    /// True when the filter names neither patterns nor selector terms.
    pub fn is_empty(&self) -> bool {
        self.patterns.as_ref().is_none_or(Vec::is_empty)
            && self.selector_terms.as_ref().is_none_or(Vec::is_empty)
    }
}

/// One label selector term; `matchLabels` and `matchExpressions` are ANDed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelectorTerm {
    /// Labels that must all be present with these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Label requirements that must all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<NamespaceSelectorRequirement>>,
}

/// A label requirement of a namespace selector term.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelectorRequirement {
    /// Label key.
    #[schemars(length(min = 1, max = 63))]
    pub key: String,
    /// How the key relates to the values.
    pub operator: LabelSelectorOperator,
    /// Values for `In` and `NotIn`; empty for `Exists` and `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

string_enum! {
    /// Operator of a label requirement.
    pub enum LabelSelectorOperator {
        /// The label value is one of the values.
        In = "In",
        /// The label is absent or its value is none of the values.
        NotIn = "NotIn",
        /// The label is present.
        Exists = "Exists",
        /// The label is absent.
        DoesNotExist = "DoesNotExist",
    }
}

/// A key in a Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyReference {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the Secret.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Key within the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_secret_key")]
    pub key: Option<String>,
}

impl SecretKeyReference {
    /// The key used when none is set (cluster-api compatible).
    pub const DEFAULT_KEY: &'static str = "value";

    /// The key, or [`Self::DEFAULT_KEY`] when unset.
    pub fn key_or_default(&self) -> &str {
        self.key.as_deref().unwrap_or(Self::DEFAULT_KEY)
    }
}

fn default_secret_key() -> Option<String> {
    Some(SecretKeyReference::DEFAULT_KEY.to_owned())
}

/// Whether a reason must be given, and the hint shown to the user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReasonConfig {
    /// A non-empty reason is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory: Option<bool>,
    /// Hint text shown next to the reason input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ReasonConfig {
    /// True when a reason is required.
    pub fn is_mandatory(&self) -> bool {
        self.mandatory.unwrap_or(false)
    }
}

/// Users and groups left out of notification e-mails.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationExclusions {
    /// Users who receive no e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Groups whose members receive no e-mails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

string_enum! {
    /// What to do when a check cannot be evaluated.
    pub enum FailMode {
        /// Allow on error.
        Open = "open",
        /// Deny on error.
        Closed = "closed",
    }
}

string_enum! {
    /// Impersonation mode (legacy `impersonate` or a KEP-5284 constrained mode).
    pub enum ImpersonationMode {
        /// Impersonate a user with its groups, uid and extras.
        UserInfo = "user-info",
        /// Impersonate a service account.
        ServiceAccount = "serviceaccount",
        /// Impersonate any node.
        ArbitraryNode = "arbitrary-node",
        /// Impersonate the node the caller runs on.
        AssociatedNode = "associated-node",
        /// The legacy unconstrained `impersonate` verb.
        Legacy = "legacy",
    }
}

/// The condition of this type, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition of this type is present with status `True`.
pub fn condition_is_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == "True")
}

/// The condition type every kind with conditions uses for "usable".
pub const READY_CONDITION: &str = "Ready";
