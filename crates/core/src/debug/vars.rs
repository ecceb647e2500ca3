//! Extra deploy variables (pure): the values a requester gives for a template's
//! `extraDeployVariables`, checked per `inputType` and normalised, defaults applied.
//!
//! Normalised values (what `spec.extraDeployValues` stores, so a session records
//! exactly what is rendered):
//!
//! | `inputType` | accepted | stored |
//! |---|---|---|
//! | `boolean` | JSON bool, `"true"`/`"false"` | bool |
//! | `number` | JSON number, decimal string | number (integer when integral) |
//! | `text` (default) | string | string |
//! | `storageSize` | quantity string (`10Gi`), non-negative JSON integer | string |
//! | `select` | one enabled option value | string |
//! | `multiSelect` | list of distinct enabled option values, or a comma-joined string | list of strings |
//!
//! A JSON `null` counts as "no value". Option `allowedGroups` restrict what a
//! requester may choose; an administrator's `default` is not subject to them.
//!
//! Rendering sees every value as a string, as the reference's templates expect
//! (`render::var_string`: booleans `true`/`false`, numbers in decimal, a multiSelect
//! comma-joined), tainted as user input; so a boolean is tested with
//! `{{ if eq .vars.x "true" }}`, not `{{ if .vars.x }}`.

use std::collections::{BTreeMap, HashMap, HashSet};

use breakglass_api::debug_common::{
    ExtraDeployInputType, ExtraDeployOption, ExtraDeployValidation, ExtraDeployVariable,
};
use serde_json::{Number, Value};
use thiserror::Error;

use crate::glob;
use crate::quantity::{Quantity, QuantityError};

/// Most values per request.
pub const MAX_VALUES: usize = 64;
/// Largest value, as JSON.
pub const MAX_VALUE_BYTES: usize = 4096;
/// Longest `validation.pattern`.
pub const MAX_PATTERN_LEN: usize = 1024;
/// Compiled size limit of a pattern (the `regex` crate matches in linear time; this
/// bounds the automaton).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Longest decimal number text.
const MAX_NUMBER_LEN: usize = 64;
/// Options named in an "unknown option" message.
const SHOWN_OPTIONS: usize = 10;

/// What is wrong with one value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// Not of the variable's type.
    #[error("must be {expected}")]
    Type {
        /// What it must be.
        expected: &'static str,
    },
    /// Required, and neither given nor defaulted.
    #[error("a value is required")]
    Required,
    /// Larger than [`MAX_VALUE_BYTES`].
    #[error("at most {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// The variable's `allowedGroups` do not include the requester (403).
    #[error("you may not set this variable")]
    Forbidden,
    /// The option's `allowedGroups` do not include the requester (403).
    #[error("you may not choose option {0:?}")]
    OptionForbidden(String),
    /// Not one of the options.
    #[error("{value:?} is not one of the options ({choices})")]
    UnknownOption {
        /// The value given.
        value: String,
        /// Some option values.
        choices: String,
    },
    /// A disabled option.
    #[error("option {0:?} is disabled")]
    DisabledOption(String),
    /// A multiSelect names an option twice.
    #[error("option {0:?} is selected twice")]
    Duplicate(String),
    /// Fewer options than `minItems`.
    #[error("choose at least {min} of the options")]
    TooFewItems {
        /// `minItems`.
        min: i64,
    },
    /// More options than `maxItems`.
    #[error("choose at most {max} of the options")]
    TooManyItems {
        /// `maxItems`.
        max: i64,
    },
    /// Shorter than `minLength` characters.
    #[error("must be at least {min} characters long")]
    TooShort {
        /// `minLength`.
        min: i64,
    },
    /// Longer than `maxLength` characters.
    #[error("must be at most {max} characters long")]
    TooLong {
        /// `maxLength`.
        max: i64,
    },
    /// Does not match `pattern`; the message is `patternError` when set.
    #[error("{0}")]
    Pattern(String),
    /// Below `min` / `minStorage`.
    #[error("must be at least {0}")]
    BelowMin(String),
    /// Above `max` / `maxStorage`.
    #[error("must be at most {0}")]
    AboveMax(String),
    /// Not a quantity.
    #[error("{0}")]
    Quantity(QuantityError),
    /// A negative storage size.
    #[error("must not be negative")]
    Negative,
    /// The template's own rule cannot be applied (refused: fail closed).
    #[error("the template's rule {rule} is invalid: {message}")]
    BadRule {
        /// `validation.<field>`.
        rule: &'static str,
        /// Why.
        message: String,
    },
    /// The template's default does not pass the variable's own checks.
    #[error("the template's default is invalid: {0}")]
    BadDefault(Box<ValueError>),
}

/// A refused value, naming the variable (`extraDeployValues.<name>: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableError {
    /// The variable (or undeclared key), at most 63 characters.
    pub name: String,
    /// What is wrong.
    pub problem: VariableProblem,
}

/// What is wrong with a variable's value, or with the request's values as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VariableProblem {
    /// The key names no declared variable.
    #[error("not a variable this template declares")]
    Undeclared,
    /// More than [`MAX_VALUES`] values.
    #[error("at most {0} values")]
    TooMany(usize),
    /// The value is refused.
    #[error(transparent)]
    Value(#[from] ValueError),
}

impl std::fmt::Display for VariableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field(), self.problem)
    }
}

impl std::error::Error for VariableError {}

impl VariableError {
    fn new(name: &str, problem: impl Into<VariableProblem>) -> Self {
        Self {
            name: name.chars().take(63).collect(),
            problem: problem.into(),
        }
    }

    /// The request field: `extraDeployValues.<name>` (or `extraDeployValues`).
    pub fn field(&self) -> String {
        if self.name.is_empty() {
            "extraDeployValues".to_owned()
        } else {
            format!("extraDeployValues.{}", self.name)
        }
    }

    /// True when the requester may not make this choice (403), not a malformed value.
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self.problem,
            VariableProblem::Value(ValueError::Forbidden | ValueError::OptionForbidden(_))
        )
    }
}

/// The requester's values checked against the declared variables, defaults added.
///
/// Order: the count, undeclared keys, size, the variable's `allowedGroups` (403),
/// the type and its rules; then every declared variable without a value gets its
/// default (checked like a given value, option groups aside) or, when required,
/// is refused. `groups` are the requester's groups (globs in `allowedGroups`).
pub fn resolve(
    declared: &[ExtraDeployVariable],
    given: Option<&BTreeMap<String, Value>>,
    groups: &[String],
) -> Result<BTreeMap<String, Value>, VariableError> {
    let given = given.filter(|g| !g.is_empty());
    if let Some(g) = given
        && g.len() > MAX_VALUES
    {
        return Err(VariableError::new("", VariableProblem::TooMany(MAX_VALUES)));
    }
    let by_name: HashMap<&str, &ExtraDeployVariable> =
        declared.iter().map(|v| (v.name.as_str(), v)).collect();
    let mut out = BTreeMap::new();
    for (key, value) in given.into_iter().flatten() {
        let Some(var) = by_name.get(key.as_str()) else {
            return Err(VariableError::new(key, VariableProblem::Undeclared));
        };
        if value.is_null() {
            continue;
        }
        if value.to_string().len() > MAX_VALUE_BYTES {
            return Err(VariableError::new(
                key,
                ValueError::TooLarge {
                    max: MAX_VALUE_BYTES,
                },
            ));
        }
        if !groups_allow(var.allowed_groups.as_deref(), groups) {
            return Err(VariableError::new(key, ValueError::Forbidden));
        }
        let normalised =
            normalise(var, value, Some(groups)).map_err(|e| VariableError::new(key, e))?;
        out.insert(key.clone(), normalised);
    }
    for var in declared {
        if out.contains_key(&var.name) {
            continue;
        }
        match var.default.as_ref().filter(|d| !d.is_null()) {
            Some(default) => {
                let normalised = normalise(var, default, None).map_err(|e| {
                    VariableError::new(&var.name, ValueError::BadDefault(Box::new(e)))
                })?;
                out.insert(var.name.clone(), normalised);
            }
            None if var.required == Some(true) => {
                return Err(VariableError::new(&var.name, ValueError::Required));
            }
            None => {}
        }
    }
    Ok(out)
}

fn groups_allow(allowed: Option<&[String]>, groups: &[String]) -> bool {
    allowed.is_none_or(|a| a.is_empty() || glob::match_groups(a, groups))
}

/// One value checked against its variable and normalised (see the module table).
/// `groups`: the requester's groups, checked against option `allowedGroups`; `None`
/// skips that check (an administrator's default).
pub fn normalise(
    var: &ExtraDeployVariable,
    value: &Value,
    groups: Option<&[String]>,
) -> Result<Value, ValueError> {
    let rules = var.validation.clone().unwrap_or_default();
    let out = match var.input_type() {
        ExtraDeployInputType::Boolean => Value::Bool(boolean(value)?),
        ExtraDeployInputType::Number => Value::Number(number(value, &rules)?),
        ExtraDeployInputType::Text => Value::String(text(value, &rules)?),
        ExtraDeployInputType::StorageSize => Value::String(storage(value, &rules)?),
        ExtraDeployInputType::Select => {
            let Value::String(s) = value else {
                return Err(ValueError::Type {
                    expected: "one of the option values (a string)",
                });
            };
            Value::String(Options::of(var).choose(s, groups)?.to_owned())
        }
        ExtraDeployInputType::MultiSelect => {
            let chosen = multi(var, value, &rules, groups)?;
            Value::Array(chosen.into_iter().map(Value::String).collect())
        }
    };
    if var.required == Some(true) && is_empty(&out) {
        return Err(ValueError::Required);
    }
    Ok(out)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn boolean(value: &Value) -> Result<bool, ValueError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ValueError::Type {
            expected: "true or false",
        }),
    }
}

/// A decimal number text: optional sign, digits with an optional fraction, an
/// optional exponent. No `inf`, `nan`, hex or blanks inside.
fn parse_decimal(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_NUMBER_LEN {
        return None;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return None;
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        if e.is_empty() || !digits(e) {
            return None;
        }
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn number(value: &Value, rules: &ExtraDeployValidation) -> Result<Number, ValueError> {
    const EXPECTED: ValueError = ValueError::Type {
        expected: "a number (JSON number or decimal text)",
    };
    let n = match value {
        Value::Number(n) => n.clone(),
        Value::String(s) => {
            let f = parse_decimal(s).ok_or(EXPECTED)?;
            match s.trim().parse::<i64>() {
                Ok(i) => Number::from(i),
                Err(_) => Number::from_f64(f).ok_or(EXPECTED)?,
            }
        }
        _ => return Err(EXPECTED),
    };
    let f = n.as_f64().filter(|f| f.is_finite()).ok_or(EXPECTED)?;
    for (rule, bound, below) in [
        ("validation.min", rules.min.as_deref(), true),
        ("validation.max", rules.max.as_deref(), false),
    ] {
        let Some(raw) = bound else { continue };
        let limit = parse_decimal(raw).ok_or_else(|| ValueError::BadRule {
            rule,
            message: format!("{raw:?} is not a number"),
        })?;
        if below && f < limit {
            return Err(ValueError::BelowMin(raw.trim().to_owned()));
        }
        if !below && f > limit {
            return Err(ValueError::AboveMax(raw.trim().to_owned()));
        }
    }
    Ok(n)
}

/// Compiles a variable's `pattern` within [`MAX_PATTERN_LEN`] and [`REGEX_SIZE_LIMIT`].
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("at most {MAX_PATTERN_LEN} bytes"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "too complex".to_owned(),
            // The parser's message draws a caret under the pattern over several
            // lines; its last line says what is wrong.
            regex::Error::Syntax(text) => text
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or("syntax error")
                .to_owned(),
            other => other.to_string(),
        })
}

fn count(n: i32) -> i64 {
    i64::from(n)
}

fn text(value: &Value, rules: &ExtraDeployValidation) -> Result<String, ValueError> {
    let Value::String(s) = value else {
        return Err(ValueError::Type { expected: "text" });
    };
    let len = i64::try_from(s.chars().count()).unwrap_or(i64::MAX);
    if let Some(min) = rules.min_length.map(count)
        && len < min
    {
        return Err(ValueError::TooShort { min });
    }
    if let Some(max) = rules.max_length.map(count)
        && len > max
    {
        return Err(ValueError::TooLong { max });
    }
    if let Some(p) = rules.pattern.as_deref().filter(|p| !p.is_empty()) {
        let re = compile_pattern(p).map_err(|message| ValueError::BadRule {
            rule: "validation.pattern",
            message,
        })?;
        if !re.is_match(s) {
            return Err(ValueError::Pattern(
                rules
                    .pattern_error
                    .clone()
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| format!("must match the pattern {p:?}")),
            ));
        }
    }
    Ok(s.clone())
}

fn storage(value: &Value, rules: &ExtraDeployValidation) -> Result<String, ValueError> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        Value::Number(n) if n.is_i64() => return Err(ValueError::Negative),
        _ => {
            return Err(ValueError::Type {
                expected: "a storage size such as 10Gi",
            });
        }
    };
    let q = Quantity::parse(&text).map_err(ValueError::Quantity)?;
    if q < Quantity::ZERO {
        return Err(ValueError::Negative);
    }
    for (rule, bound, below) in [
        ("validation.minStorage", rules.min_storage.as_deref(), true),
        ("validation.maxStorage", rules.max_storage.as_deref(), false),
    ] {
        let Some(raw) = bound else { continue };
        let limit = Quantity::parse(raw.trim()).map_err(|e| ValueError::BadRule {
            rule,
            message: e.to_string(),
        })?;
        if below && q < limit {
            return Err(ValueError::BelowMin(raw.trim().to_owned()));
        }
        if !below && q > limit {
            return Err(ValueError::AboveMax(raw.trim().to_owned()));
        }
    }
    Ok(text)
}

/// The options of a select variable, by value (first wins on duplicates, which
/// validation refuses anyway).
struct Options<'a> {
    all: &'a [ExtraDeployOption],
    by_value: HashMap<&'a str, &'a ExtraDeployOption>,
}

impl<'a> Options<'a> {
    fn of(var: &'a ExtraDeployVariable) -> Self {
        let all = var.options.as_deref().unwrap_or_default();
        let mut by_value = HashMap::with_capacity(all.len());
        for o in all {
            by_value.entry(o.value.as_str()).or_insert(o);
        }
        Self { all, by_value }
    }

    fn choose(&self, value: &str, groups: Option<&[String]>) -> Result<&'a str, ValueError> {
        let Some(option) = self.by_value.get(value) else {
            let shown: Vec<&str> = self
                .all
                .iter()
                .filter(|o| o.disabled != Some(true))
                .take(SHOWN_OPTIONS)
                .map(|o| o.value.as_str())
                .collect();
            let more = if self.all.len() > SHOWN_OPTIONS {
                ", …"
            } else {
                ""
            };
            return Err(ValueError::UnknownOption {
                value: value.chars().take(63).collect(),
                choices: format!("{}{more}", shown.join(", ")),
            });
        };
        if option.disabled == Some(true) {
            return Err(ValueError::DisabledOption(option.value.clone()));
        }
        if let Some(groups) = groups
            && !groups_allow(option.allowed_groups.as_deref(), groups)
        {
            return Err(ValueError::OptionForbidden(option.value.clone()));
        }
        Ok(option.value.as_str())
    }
}

fn multi(
    var: &ExtraDeployVariable,
    value: &Value,
    rules: &ExtraDeployValidation,
    groups: Option<&[String]>,
) -> Result<Vec<String>, ValueError> {
    const EXPECTED: ValueError = ValueError::Type {
        expected: "a list of option values (or one comma-separated string)",
    };
    let items: Vec<&str> = match value {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        Value::Array(list) => list
            .iter()
            .map(|v| v.as_str().ok_or(EXPECTED))
            .collect::<Result<_, _>>()?,
        _ => return Err(EXPECTED),
    };
    let options = Options::of(var);
    let mut seen = HashSet::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let chosen = options.choose(item, groups)?;
        if !seen.insert(chosen) {
            return Err(ValueError::Duplicate(chosen.to_owned()));
        }
        out.push(chosen.to_owned());
    }
    let n = i64::try_from(out.len()).unwrap_or(i64::MAX);
    if let Some(min) = rules.min_items.map(count)
        && n < min
    {
        return Err(ValueError::TooFewItems { min });
    }
    if let Some(max) = rules.max_items.map(count)
        && n > max
    {
        return Err(ValueError::TooManyItems { max });
    }
    Ok(out)
}

/// A problem of a variable's definition, by the field under the variable
/// (`default`, `validation.pattern`, `validation.min` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    /// Field path under the variable, e.g. `["validation", "min"]`.
    pub field: &'static [&'static str],
    /// The offending value, for the message.
    pub value: String,
    /// What is wrong.
    pub message: String,
}

/// Checks what validation of `extraDeployVariables[i]` needs beyond shapes: the
/// pattern compiles (bounded), number and storage bounds parse and `min ≤ max`,
/// and the default passes the variable's own type and rules.
pub fn check_definition(var: &ExtraDeployVariable) -> Vec<DefinitionError> {
    let mut out = Vec::new();
    let rules = var.validation.clone().unwrap_or_default();
    if let Some(p) = rules.pattern.as_deref()
        && let Err(message) = compile_pattern(p)
    {
        out.push(DefinitionError {
            field: &["validation", "pattern"],
            value: p.chars().take(64).collect(),
            message: format!("not a valid regular expression: {message}"),
        });
    }
    number_bounds(&rules, &mut out);
    storage_bounds(&rules, &mut out);
    if let Some(default) = var.default.as_ref().filter(|d| !d.is_null())
        && let Err(e) = normalise(var, default, None)
        // A broken rule is reported at the rule itself.
        && !matches!(e, ValueError::BadRule { .. })
    {
        out.push(DefinitionError {
            field: &["default"],
            value: match default {
                Value::String(s) => s.chars().take(64).collect(),
                other => other.to_string().chars().take(64).collect(),
            },
            message: e.to_string(),
        });
    }
    out
}

fn number_bounds(rules: &ExtraDeployValidation, out: &mut Vec<DefinitionError>) {
    // Malformed numbers are reported by the shape checks; only the order here.
    let min = rules.min.as_deref().and_then(parse_decimal);
    let max = rules.max.as_deref().and_then(parse_decimal);
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        out.push(DefinitionError {
            field: &["validation", "min"],
            value: rules.min.clone().unwrap_or_default(),
            message: "must not exceed validation.max".to_owned(),
        });
    }
}

fn storage_bounds(rules: &ExtraDeployValidation, out: &mut Vec<DefinitionError>) {
    // Malformed quantities are reported by the shape checks; only the order here.
    let min = rules
        .min_storage
        .as_deref()
        .and_then(|s| Quantity::parse(s.trim()).ok());
    let max = rules
        .max_storage
        .as_deref()
        .and_then(|s| Quantity::parse(s.trim()).ok());
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        out.push(DefinitionError {
            field: &["validation", "minStorage"],
            value: rules.min_storage.clone().unwrap_or_default(),
            message: "must not exceed validation.maxStorage".to_owned(),
        });
    }
}

#[cfg(test)]
#[path = "vars_tests.rs"]
mod tests;
