//! Primitive field checks shared by the per-kind validators.
//!
//! Each check appends to an error list instead of returning early, so a validator
//! reports every problem of an object in one pass.

use std::collections::HashSet;

use crate::duration::{self, GoDuration};
use crate::selector::{self, SelectorError};

use super::error::FieldError;
use super::path::Path;

/// Accumulated errors of one validation run.
pub(crate) type Errors = Vec<FieldError>;

pub(crate) const DNS1123_LABEL_MAX: usize = 63;
pub(crate) const DNS1123_SUBDOMAIN_MAX: usize = 253;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_label_body(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(|c| *c != b'-')
        && b.last().is_some_and(|c| *c != b'-')
}

/// True for a lowercase RFC 1123 subdomain of at most 253 characters.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    selector::is_dns1123_subdomain(s)
}

/// Checks a DNS label (names of sinks, options, auxiliary resources, MailProvider refs).
pub(crate) fn dns1123_label(errs: &mut Errors, path: &Path, value: &str) {
    if value.len() > DNS1123_LABEL_MAX {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be no more than 63 characters",
        ));
    } else if !is_label_body(value) {
        errs.push(FieldError::invalid(path, value, DNS1123_LABEL_MSG));
    }
}

/// Checks a DNS subdomain (object names, node names).
pub(crate) fn dns1123_subdomain(errs: &mut Errors, path: &Path, value: &str) {
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be no more than 253 characters",
        ));
    } else if !is_dns1123_subdomain(value) {
        errs.push(FieldError::invalid(path, value, DNS1123_SUBDOMAIN_MSG));
    }
}

/// Checks `escalatedGroup`-style group names: `^[a-zA-Z0-9._:-]+$`.
pub(crate) fn group_name(errs: &mut Errors, path: &Path, value: &str) {
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
    } else if !value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
    {
        errs.push(FieldError::invalid(
            path,
            value,
            "must consist of alphanumeric characters, '.', '_', ':' or '-' (regex used for validation is '^[a-zA-Z0-9._:-]+$')",
        ));
    }
}

/// The characters accepted in identifiers (groups, users, cluster names and patterns):
/// alphanumerics, `._-@:/`, and glob/regex punctuation.
fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '.' | '_'
                | '-'
                | '@'
                | ':'
                | '/'
                | '*'
                | '?'
                | '['
                | ']'
                | '{'
                | '}'
                | '('
                | ')'
                | '^'
                | '$'
                | '|'
                | '+'
                | '\\'
                | '!'
        )
}

/// Checks an identifier: at most 253 characters of the identifier charset.
pub(crate) fn identifier(errs: &mut Errors, path: &Path, value: &str) {
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(FieldError::too_long(path, DNS1123_SUBDOMAIN_MAX));
    } else if let Some(bad) = value.chars().find(|c| !is_identifier_char(*c)) {
        errs.push(FieldError::invalid(
            path,
            value,
            &format!(
                "contains {}; identifiers may only contain alphanumeric characters, '.', '_', '-', '@', ':', '/' and the pattern characters '*?[]{{}}()^$|+\\!'",
                describe_char(bad)
            ),
        ));
    }
}

fn describe_char(c: char) -> String {
    if c == ' ' {
        "a space".to_string()
    } else if c.is_whitespace() || c.is_control() {
        format!("the character U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// Checks that `value` is a well-formed glob (Go `path.Match` syntax).
pub(crate) fn glob(errs: &mut Errors, path: &Path, value: &str) {
    if crate::glob::has_meta(value) && crate::glob::validate_pattern(value).is_err() {
        errs.push(FieldError::invalid(
            path,
            value,
            "syntax error in glob pattern",
        ));
    }
}

/// Options of [`string_list`].
#[derive(Clone, Copy)]
pub(crate) struct ListRules {
    /// Maximum number of entries (`maxItems` of the CRD schema), if any.
    pub max_items: Option<usize>,
    /// Empty strings are errors.
    pub no_empty: bool,
    /// Repeated entries are errors.
    pub no_duplicates: bool,
}

impl ListRules {
    /// No empty and no duplicate entries, at most `max` of them.
    pub(crate) const fn strict(max: usize) -> Self {
        ListRules {
            max_items: Some(max),
            no_empty: true,
            no_duplicates: true,
        }
    }

    /// No empty and no duplicate entries, no size limit.
    pub(crate) const fn unique() -> Self {
        ListRules {
            max_items: None,
            no_empty: true,
            no_duplicates: true,
        }
    }
}

/// Checks list size, empty entries and duplicates, then runs `each` on every non-empty entry.
pub(crate) fn string_list(
    errs: &mut Errors,
    path: &Path,
    list: &[String],
    rules: ListRules,
    mut each: impl FnMut(&mut Errors, &Path, &str),
) {
    if let Some(max) = rules.max_items
        && list.len() > max
    {
        errs.push(FieldError::too_many(path, list.len(), max));
    }
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, item) in list.iter().enumerate() {
        let p = path.index(i);
        if item.trim().is_empty() {
            if rules.no_empty {
                errs.push(FieldError::required(&p, "entries must not be empty"));
            }
            continue;
        }
        if rules.no_duplicates && !seen.insert(item.as_str()) {
            errs.push(FieldError::duplicate(&p, item));
            continue;
        }
        each(errs, &p, item);
    }
}

/// Checks a list's size only (`maxItems`).
pub(crate) fn max_items<T>(errs: &mut Errors, path: &Path, list: &[T], max: usize) {
    if list.len() > max {
        errs.push(FieldError::too_many(path, list.len(), max));
    }
}

/// Checks a string's length (`maxLength`, counted in characters like the apiserver).
pub(crate) fn max_len(errs: &mut Errors, path: &Path, value: &str, max: usize) {
    if value.chars().count() > max {
        errs.push(FieldError::too_long(path, max));
    }
}

/// Rejects an empty (or whitespace-only) required string.
pub(crate) fn required_str(errs: &mut Errors, path: &Path, value: &str) -> bool {
    if value.trim().is_empty() {
        errs.push(FieldError::required(path, ""));
        false
    } else {
        true
    }
}

/// Checks a value against a fixed set of values.
pub(crate) fn one_of(errs: &mut Errors, path: &Path, value: &str, supported: &[&str]) {
    if !supported.contains(&value) {
        errs.push(FieldError::not_supported(path, value, supported));
    }
}

/// Checks an integer range (`minimum`/`maximum`).
pub(crate) fn int_range(errs: &mut Errors, path: &Path, value: i64, min: i64, max: Option<i64>) {
    if value < min {
        errs.push(FieldError::invalid_raw(
            path,
            &value.to_string(),
            &format!("must be greater than or equal to {min}"),
        ));
    } else if let Some(max) = max
        && value > max
    {
        errs.push(FieldError::invalid_raw(
            path,
            &value.to_string(),
            &format!("must be less than or equal to {max}"),
        ));
    }
}

/// Checks a Go identifier (`^[A-Za-z_][A-Za-z0-9_]*$`), at most `max` characters.
pub(crate) fn go_identifier(errs: &mut Errors, path: &Path, value: &str, max: usize) {
    let mut chars = value.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be a Go identifier (a letter or '_' followed by letters, digits or '_')",
        ));
    } else if value.len() > max {
        errs.push(FieldError::too_long(path, max));
    }
}

/// True when `value` matches `^[^@\s]+@[^@\s]+\.[^@\s]+$`: one `@`, no whitespace, and a
/// dot inside the domain.
pub(crate) fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !value.chars().any(char::is_whitespace)
        && domain
            .char_indices()
            .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// Checks an e-mail domain (`example.com`): lowercase letters, digits, `.` and `-`, with a dot.
pub(crate) fn email_domain(errs: &mut Errors, path: &Path, value: &str) {
    let ok = value.contains('.')
        && value
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
        && value
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    if !ok {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be a domain name such as example.com (lowercase letters, digits, '.' and '-')",
        ));
    }
}

/// Splits a URL into scheme and host, without further parsing.
fn url_parts(value: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = value.split_once("://")?;
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    Some((scheme, host))
}

/// Checks an absolute URL whose scheme is one of `schemes` and whose host is not empty.
pub(crate) fn url(errs: &mut Errors, path: &Path, value: &str, schemes: &[&str]) {
    let shown = schemes.join(" or ");
    match url_parts(value) {
        _ if value.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            errs.push(FieldError::invalid(
                path,
                value,
                "must not contain whitespace",
            ));
        }
        Some((scheme, host)) if schemes.contains(&scheme) => {
            if host.is_empty() || host.starts_with(':') {
                errs.push(FieldError::invalid(path, value, "must include a host"));
            }
        }
        _ => {
            errs.push(FieldError::invalid(
                path,
                value,
                &format!("must be an absolute {shown} URL"),
            ));
        }
    }
}

/// Checks an HTTPS URL.
pub(crate) fn https_url(errs: &mut Errors, path: &Path, value: &str) {
    url(errs, path, value, &["https"]);
}

/// Checks a Kubernetes resource quantity (`500m`, `2Gi`, `1e3`).
pub(crate) fn quantity(errs: &mut Errors, path: &Path, value: &str) {
    if !is_quantity(value) {
        errs.push(FieldError::invalid(
            path,
            value,
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ));
    }
}

/// True when `value` parses as a Kubernetes `resource.Quantity`.
pub(crate) fn is_quantity(value: &str) -> bool {
    let s = value.strip_prefix(['+', '-']).unwrap_or(value);
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    let digits = num.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || num.matches('.').count() > 1 {
        return false;
    }
    match suffix {
        "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => true,
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => true,
        _ => {
            let Some(exp) = suffix.strip_prefix(['e', 'E']) else {
                return false;
            };
            let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit())
        }
    }
}

/// Checks a label key: an optional DNS-subdomain prefix and `/`, then a name of at most
/// 63 characters (the rules of [`crate::selector::validate_label_key`]).
pub(crate) fn label_key(errs: &mut Errors, path: &Path, key: &str) {
    if let Err(SelectorError::InvalidKey { reason, .. }) = selector::validate_label_key(key) {
        errs.push(FieldError::invalid(path, key, &reason));
    }
}

/// Checks a label value: empty, or at most 63 characters of `[A-Za-z0-9._-]` starting and
/// ending alphanumerically.
pub(crate) fn label_value(errs: &mut Errors, path: &Path, value: &str) {
    if let Err(SelectorError::InvalidValue { reason, .. }) =
        selector::validate_label_value("", value)
    {
        errs.push(FieldError::invalid(path, value, &reason));
    }
}

/// Checks every key and value of a label map.
pub(crate) fn label_map<'a>(
    errs: &mut Errors,
    path: &Path,
    labels: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for (k, v) in labels {
        label_key(errs, path, k);
        label_value(errs, &path.key(k), v);
    }
}

/// Which duration grammar a field uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DurationFormat {
    /// Escalation/session durations: Go units with decimals, optionally after a leading
    /// day count (`1h30m`, `1.5h`, `7d`, `1d12h`).
    Escalation,
    /// Debug-session durations: integer components with units including `d` (`2h`, `1d`).
    Debug,
}

/// The human description of a duration format, used in messages.
fn duration_hint(format: DurationFormat) -> &'static str {
    match format {
        DurationFormat::Escalation => {
            "must be a duration such as \"90m\", \"1.5h\", \"7d\" or \"1d12h\" (units ns, us, ms, s, m, h; an optional leading day count)"
        }
        DurationFormat::Debug => {
            "must be a duration such as \"30m\", \"2h\" or \"1d\" (whole numbers with units ns, us, ms, s, m, h, d)"
        }
    }
}

/// Checks a duration field against its CRD pattern, parses it, and returns its value
/// when it is well-formed (and positive, when `positive` is set).
pub(crate) fn duration(
    errs: &mut Errors,
    path: &Path,
    value: &str,
    format: DurationFormat,
    positive: bool,
) -> Option<GoDuration> {
    let matches = match format {
        DurationFormat::Escalation => duration::matches_escalation_pattern(value),
        DurationFormat::Debug => duration::matches_debug_pattern(value),
    };
    if !matches {
        errs.push(FieldError::invalid(path, value, duration_hint(format)));
        return None;
    }
    let parsed = match GoDuration::parse_with_days(value) {
        Ok(d) => d,
        Err(e) => {
            errs.push(FieldError::invalid(path, value, &e.to_string()));
            return None;
        }
    };
    if positive && !parsed.is_positive() {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be greater than zero",
        ));
        return None;
    }
    Some(parsed)
}
