//! Result types of validation: field errors, warnings, applied aliases and the report.

use std::fmt;

/// The class of a field error, mirroring the Kubernetes `field.ErrorType` values so
/// that messages read the same as the apiserver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// A required field is missing or empty.
    Required,
    /// A value is malformed or out of range.
    Invalid,
    /// A list entry or a name occurs more than once.
    Duplicate,
    /// A combination of values is not allowed.
    Forbidden,
    /// A string is longer than allowed.
    TooLong,
    /// A list has more entries than allowed.
    TooMany,
    /// A value is not one of the supported enum values.
    NotSupported,
    /// A value has the wrong JSON type (e.g. a string where an object is expected).
    TypeInvalid,
    /// A field is not declared in the schema (strict field validation).
    UnknownField,
}

impl ErrorType {
    /// The phrase the Kubernetes apiserver prints for this error type.
    pub fn phrase(self) -> &'static str {
        match self {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::TypeInvalid => "Invalid value",
            ErrorType::UnknownField => "unknown field",
        }
    }
}

/// One validation failure at one field.
///
/// `path` is a JSON path such as `spec.approvers.groups[2]` (map keys are written
/// `labels[app]`); `message` is the complete text after the path, formatted like the
/// apiserver's (`Invalid value: "x": must be ...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldError {
    /// JSON path of the offending field.
    pub path: String,
    /// Class of the error.
    pub error_type: ErrorType,
    /// Human-readable message, without the path.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Quotes a value the way Go's `%q` would for printable strings.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl FieldError {
    fn with(path: impl Into<String>, error_type: ErrorType, message: String) -> Self {
        FieldError {
            path: path.into(),
            error_type,
            message,
        }
    }

    /// `Required value` with an optional detail.
    pub fn required(path: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            ErrorType::Required.phrase().to_string()
        } else {
            format!("{}: {detail}", ErrorType::Required.phrase())
        };
        Self::with(path, ErrorType::Required, message)
    }

    /// `Invalid value: "<value>": <detail>`.
    pub fn invalid(path: impl Into<String>, value: &str, detail: &str) -> Self {
        Self::invalid_raw(path, &quote(value), detail)
    }

    /// `Invalid value: <value>: <detail>` for values printed unquoted (numbers, booleans).
    pub fn invalid_raw(path: impl Into<String>, value: &str, detail: &str) -> Self {
        let message = if detail.is_empty() {
            format!("{}: {value}", ErrorType::Invalid.phrase())
        } else {
            format!("{}: {value}: {detail}", ErrorType::Invalid.phrase())
        };
        Self::with(path, ErrorType::Invalid, message)
    }

    /// `Duplicate value: "<value>"`.
    pub fn duplicate(path: impl Into<String>, value: &str) -> Self {
        let message = format!("{}: {}", ErrorType::Duplicate.phrase(), quote(value));
        Self::with(path, ErrorType::Duplicate, message)
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(path: impl Into<String>, detail: &str) -> Self {
        let message = format!("{}: {detail}", ErrorType::Forbidden.phrase());
        Self::with(path, ErrorType::Forbidden, message)
    }

    /// `Too long: may not be more than <max> bytes`.
    pub fn too_long(path: impl Into<String>, max: usize) -> Self {
        let message = format!(
            "{}: may not be more than {max} bytes",
            ErrorType::TooLong.phrase()
        );
        Self::with(path, ErrorType::TooLong, message)
    }

    /// `Too many: <actual>: must have at most <max> items`.
    pub fn too_many(path: impl Into<String>, actual: usize, max: usize) -> Self {
        let message = format!(
            "{}: {actual}: must have at most {max} items",
            ErrorType::TooMany.phrase()
        );
        Self::with(path, ErrorType::TooMany, message)
    }

    /// `Unsupported value: "<value>": supported values: "a", "b"`.
    pub fn not_supported(path: impl Into<String>, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        let message = format!(
            "{}: {}: supported values: {}",
            ErrorType::NotSupported.phrase(),
            quote(value),
            list.join(", ")
        );
        Self::with(path, ErrorType::NotSupported, message)
    }

    /// A wrong JSON type, reported with the deserialiser's explanation.
    pub fn type_invalid(path: impl Into<String>, detail: &str) -> Self {
        let message = format!("{}: {detail}", ErrorType::TypeInvalid.phrase());
        Self::with(path, ErrorType::TypeInvalid, message)
    }

    /// `unknown field`, optionally with a hint (`unknown field; <hint>`).
    pub fn unknown_field(path: impl Into<String>, hint: Option<&str>) -> Self {
        let message = match hint {
            Some(hint) => format!("{}; {hint}", ErrorType::UnknownField.phrase()),
            None => ErrorType::UnknownField.phrase().to_string(),
        };
        Self::with(path, ErrorType::UnknownField, message)
    }
}

/// A non-fatal finding: the object is accepted, but the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// JSON path the warning refers to (empty for the whole object).
    pub path: String,
    /// Human-readable message.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Warning {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A compatibility alias that [`normalize_aliases`](super::normalize_aliases) rewrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedAlias {
    /// Stable name of the alias, as listed in `docs/compatibility.md`.
    pub name: &'static str,
    /// JSON path of the field as written by the user.
    pub path: String,
    /// What was rewritten into what.
    pub message: String,
}

impl AppliedAlias {
    /// The warning a user sees for this alias.
    pub fn to_warning(&self) -> Warning {
        Warning::new(self.path.clone(), self.message.clone())
    }
}

/// Outcome of validating one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// The object's kind as written (may be empty when missing).
    pub kind: String,
    /// `metadata.name` (or `generateName`), empty when missing.
    pub name: String,
    /// `metadata.namespace`, empty when missing.
    pub namespace: String,
    /// Every error found; the object is valid when this is empty.
    pub errors: Vec<FieldError>,
    /// Findings that do not make the object invalid, including one per applied alias.
    pub warnings: Vec<Warning>,
    /// The aliases applied before validation.
    pub aliases: Vec<AppliedAlias>,
}

impl ValidationReport {
    /// True when no errors were found.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Why [`validate_object`](super::validate_object) did not validate a document at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// The document is not a JSON/YAML mapping.
    #[error("document is not an object")]
    NotAnObject,
    /// The document belongs to another API group; it is not ours to validate.
    #[error("{api_version}, Kind={kind} is not a breakglass kind")]
    Foreign {
        /// The document's `apiVersion`.
        api_version: String,
        /// The document's `kind`.
        kind: String,
    },
}
