//! Reading a SubjectAccessReview body with bounded sizes.
//!
//! The webhook is reachable by anything that can reach the server, so the body is read
//! into the [`SarRequest`] directly, with every list, map and string bounded *while
//! deserializing*: an oversized field stops being stored at its limit (the rest is only
//! counted, for the message), so an oversized review is refused without being built.
//! Each step is linear in the body size. The limits are generous for real clusters; see
//! `docs/webhook.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use thiserror::Error;

use super::sar::{
    Attributes, ISSUER_EXTRA_KEY, NonResourceAttributes, ResourceAttributes, SarError, SarRequest,
};

/// API version of the reviews answered natively.
pub const SAR_V1: &str = "authorization.k8s.io/v1";
/// The older version, accepted and answered in kind.
pub const SAR_V1BETA1: &str = "authorization.k8s.io/v1beta1";

/// Most entries accepted in `spec.groups`.
pub const MAX_GROUPS: usize = 5_000;
/// Most keys accepted in `spec.extra`.
pub const MAX_EXTRA_KEYS: usize = 64;
/// Most values accepted per `spec.extra` key.
pub const MAX_EXTRA_VALUES: usize = 1_000;
/// Longest `spec.user`, `spec.uid`, group, `extra` key and attribute string (bytes).
pub const MAX_NAME_BYTES: usize = 1_024;
/// Longest `extra` value, annotation value and non-resource path (bytes).
pub const MAX_VALUE_BYTES: usize = 4_096;

/// Why a body is not a SubjectAccessReview we answer. The message names the field and,
/// for a size limit, the size and the limit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReviewError {
    /// Not JSON, or a field of the wrong type or over a limit.
    #[error("{0}")]
    Invalid(String),
    /// JSON, but not a review of a version we answer.
    #[error("{0}")]
    NotAReview(String),
    /// A review whose attributes cannot be decided.
    #[error(transparent)]
    Attributes(#[from] SarError),
}

/// A string of at most `MAX` bytes; a longer one is refused before it is copied.
#[derive(Debug, Default)]
struct Str<const MAX: usize>(String);

impl<'de, const MAX: usize> Deserialize<'de> for Str<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MAX: usize>;
        impl<const MAX: usize> Visitor<'_> for V<MAX> {
            type Value = Str<MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a string of at most {MAX} bytes")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                if s.len() > MAX {
                    return Err(E::custom(format!(
                        "{} bytes exceed the limit of {MAX}",
                        s.len()
                    )));
                }
                Ok(Str(s.to_owned()))
            }
        }
        d.deserialize_str(V::<MAX>)
    }
}

/// A list of at most `MAX` entries. Past the limit the entries are only counted, so
/// the message can say how many were sent.
#[derive(Debug)]
struct List<T, const MAX: usize>(Vec<T>);

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for List<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for V<T, MAX> {
            type Value = List<T, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {MAX} entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let hint = seq.size_hint().unwrap_or(0).min(MAX);
                let mut out = Vec::with_capacity(hint);
                while out.len() < MAX {
                    match seq.next_element()? {
                        Some(v) => out.push(v),
                        None => return Ok(List(out)),
                    }
                }
                let mut count = out.len();
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                if count > MAX {
                    return Err(de::Error::custom(format!(
                        "{count} entries exceed the limit of {MAX}"
                    )));
                }
                Ok(List(out))
            }
        }
        d.deserialize_seq(V::<T, MAX>(PhantomData))
    }
}

/// `spec.extra`: at most [`MAX_EXTRA_KEYS`] keys, each with a bounded list.
#[derive(Debug, Default)]
struct Extra(BTreeMap<String, Vec<String>>);

type ExtraValues = List<Str<MAX_VALUE_BYTES>, MAX_EXTRA_VALUES>;

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Extra;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a map of at most {MAX_EXTRA_KEYS} keys")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                let mut count = 0usize;
                while let Some(key) = map.next_key::<Str<MAX_NAME_BYTES>>()? {
                    count += 1;
                    if count > MAX_EXTRA_KEYS {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    let values: Option<ExtraValues> = map.next_value()?;
                    let values = values.map(|l| l.0.into_iter().map(|s| s.0).collect());
                    out.insert(key.0, values.unwrap_or_default());
                }
                if count > MAX_EXTRA_KEYS {
                    return Err(de::Error::custom(format!(
                        "{count} keys exceed the limit of {MAX_EXTRA_KEYS}"
                    )));
                }
                Ok(Extra(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `metadata.annotations`: only the issuer annotation is kept; the others are skipped
/// without being stored.
#[derive(Debug, Default)]
struct IssuerAnnotation(Option<String>);

impl<'de> Deserialize<'de> for IssuerAnnotation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IssuerAnnotation;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of annotations")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut issuer = None;
                while let Some(key) = map.next_key::<Str<MAX_NAME_BYTES>>()? {
                    if key.0 == ISSUER_EXTRA_KEY {
                        let v: Option<Str<MAX_VALUE_BYTES>> = map.next_value()?;
                        issuer = v.map(|s| s.0);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(IssuerAnnotation(issuer))
            }
        }
        d.deserialize_map(V)
    }
}

type Name = Str<MAX_NAME_BYTES>;
type Groups = List<Name, MAX_GROUPS>;

#[derive(Deserialize)]
struct RawReview {
    #[serde(rename = "apiVersion")]
    api_version: Option<Str<256>>,
    kind: Option<Str<256>>,
    metadata: Option<RawMeta>,
    spec: Option<RawSpec>,
}

#[derive(Deserialize)]
struct RawMeta {
    annotations: Option<IssuerAnnotation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    user: Option<Name>,
    groups: Option<Groups>,
    /// The v1beta1 spelling of `groups`.
    group: Option<Groups>,
    uid: Option<Name>,
    extra: Option<Extra>,
    resource_attributes: Option<RawResource>,
    non_resource_attributes: Option<RawNonResource>,
}

#[derive(Deserialize)]
struct RawResource {
    verb: Option<Name>,
    group: Option<Name>,
    version: Option<Name>,
    resource: Option<Name>,
    subresource: Option<Name>,
    namespace: Option<Name>,
    name: Option<Name>,
}

#[derive(Deserialize)]
struct RawNonResource {
    path: Option<Str<MAX_VALUE_BYTES>>,
    verb: Option<Name>,
}

fn text<const MAX: usize>(s: Option<Str<MAX>>) -> String {
    s.map(|s| s.0).unwrap_or_default()
}

/// Reads a v1 or v1beta1 SubjectAccessReview body. Returns the request and the API
/// version to answer in.
pub fn parse_review(body: &[u8]) -> Result<(SarRequest, &'static str), ReviewError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let raw: RawReview = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ReviewError::Invalid(format!("invalid JSON: {inner}"))
        } else {
            // The field path says where; the byte position adds nothing for a caller.
            let message = inner.to_string();
            let suffix = format!(" at line {} column {}", inner.line(), inner.column());
            let message = message.strip_suffix(&suffix).unwrap_or(&message);
            ReviewError::Invalid(format!("{path}: {message}"))
        }
    })?;
    de.end()
        .map_err(|e| ReviewError::Invalid(format!("invalid JSON: {e}")))?;
    let version = match raw.api_version.as_ref().map(|v| v.0.as_str()) {
        Some(SAR_V1) => SAR_V1,
        Some(SAR_V1BETA1) => SAR_V1BETA1,
        Some(other) => {
            return Err(ReviewError::NotAReview(format!(
                "apiVersion {other:?} is not a SubjectAccessReview version; expected {SAR_V1}"
            )));
        }
        None => {
            return Err(ReviewError::NotAReview(format!(
                "apiVersion is missing; expected {SAR_V1}"
            )));
        }
    };
    let kind = raw.kind.map(|k| k.0);
    if kind.as_deref() != Some("SubjectAccessReview") {
        return Err(ReviewError::NotAReview(format!(
            "kind {kind:?} is not SubjectAccessReview"
        )));
    }
    let Some(spec) = raw.spec else {
        return Err(ReviewError::NotAReview("spec is missing".to_owned()));
    };
    let annotation = raw.metadata.and_then(|m| m.annotations).and_then(|a| a.0);
    Ok((request(spec, version, annotation)?, version))
}

fn request(
    spec: RawSpec,
    version: &str,
    annotation: Option<String>,
) -> Result<SarRequest, SarError> {
    let attributes = match (spec.resource_attributes, spec.non_resource_attributes) {
        (Some(_), Some(_)) => return Err(SarError::AmbiguousAttributes),
        (None, None) => return Err(SarError::MissingAttributes),
        (Some(r), None) => Attributes::Resource(ResourceAttributes {
            verb: text(r.verb),
            group: text(r.group),
            version: text(r.version),
            resource: text(r.resource),
            subresource: text(r.subresource),
            namespace: text(r.namespace),
            name: text(r.name),
        }),
        (None, Some(n)) => Attributes::NonResource(NonResourceAttributes {
            path: text(n.path),
            verb: text(n.verb),
        }),
    };
    // v1beta1 calls the list `group`; when it is sent it wins, as the conversion did.
    let groups = if version == SAR_V1BETA1 {
        spec.group.or(spec.groups)
    } else {
        spec.groups
    };
    let extra = spec.extra.map(|e| e.0).unwrap_or_default();
    let from_extra = extra
        .get(ISSUER_EXTRA_KEY)
        .and_then(|v| v.iter().find(|s| !s.is_empty()))
        .cloned();
    Ok(SarRequest {
        user: text(spec.user),
        groups: groups
            .map(|g| g.0.into_iter().map(|s| s.0).collect())
            .unwrap_or_default(),
        uid: spec.uid.map(|u| u.0),
        extra,
        issuer: from_extra.or(annotation.filter(|s| !s.is_empty())),
        attributes,
    })
}
