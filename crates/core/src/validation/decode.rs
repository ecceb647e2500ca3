//! Strict typed decoding: every type error and every unknown field, each with its path.
//!
//! The apiserver's strict field validation reports all unknown fields and all schema
//! type errors of an object. serde stops at the first error, so decoding repeats: a
//! value of the wrong type is removed, a missing required field gets a placeholder, and
//! decoding is retried until it succeeds (bounded). Unknown fields are found by
//! re-serialising the typed value and looking for input keys that did not survive; the
//! api types are built to round-trip losslessly, so anything lost was not in the schema.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use super::error::{FieldError, quote};

/// Upper bound of decode attempts per object; far above what real manifests need.
const MAX_ATTEMPTS: usize = 64;

/// Result of [`decode_strict`].
pub(crate) struct Decoded<T> {
    /// The typed value, when decoding eventually succeeded.
    pub value: Option<T>,
    /// Type errors, missing required fields and unknown fields.
    pub errors: Vec<FieldError>,
    /// Paths whose values were removed or replaced; later findings under them are noise.
    pub poisoned: Vec<String>,
}

/// One step of a path inside a JSON value.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps_of(path: &serde_path_to_error::Path) -> Vec<Step> {
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// Renders steps as `a.b[0].c`.
fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn get_mut<'a>(value: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    let mut cur = value;
    for step in steps {
        cur = match step {
            Step::Key(k) => cur.as_object_mut()?.get_mut(k)?,
            Step::Index(i) => cur.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Removes the value at `steps`; a bad list element removes the whole list so that the
/// indices of later elements stay truthful. Returns the path actually removed.
fn remove_at(value: &mut Value, steps: &[Step]) -> Option<Vec<Step>> {
    let last_key = steps.iter().rposition(|s| matches!(s, Step::Key(_)))?;
    let (parent, key) = (&steps[..last_key], &steps[last_key]);
    let Step::Key(key) = key else {
        return None;
    };
    let obj = get_mut(value, parent)?.as_object_mut()?;
    obj.remove(key)?;
    Some(steps[..=last_key].to_vec())
}

/// Extracts every backtick-quoted token of a serde message.
fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// How a JSON value is shown in a message: strings quoted, other scalars as written,
/// collections by their type (as the apiserver does).
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Object(_) => "\"object\"".to_string(),
        Value::Array(_) => "\"array\"".to_string(),
    }
}

/// Rewrites serde's name of an expected type into plain words.
fn expected_words(expected: &str) -> String {
    let e = expected.trim();
    if e.starts_with("struct ") || e == "a map" {
        return "an object".to_string();
    }
    match e {
        "a sequence" => "a list".to_string(),
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "usize" | "isize" => {
            "an integer".to_string()
        }
        "f32" | "f64" => "a number".to_string(),
        "a string" | "a boolean" => e.to_string(),
        _ => e.to_string(),
    }
}

/// Turns a serde type error into the apiserver's wording where we can.
fn type_error(path: String, message: &str, original: Option<&Value>) -> FieldError {
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let tokens = backticked(rest);
        if let Some((value, supported)) = tokens.split_first() {
            return FieldError::not_supported(path, value, supported);
        }
    }
    let detail = match message
        .strip_prefix("invalid type: ")
        .and_then(|m| m.split_once(", expected "))
    {
        Some((_, expected)) => format!("must be {}", expected_words(expected)),
        // Timestamps are the only strings the types parse themselves; the parser's own
        // wording changes between releases, so say what is expected instead.
        None if message.starts_with("failed to parse") => {
            "must be an RFC 3339 date-time such as \"2024-01-15T10:00:00Z\"".to_string()
        }
        None => message.to_string(),
    };
    match original {
        Some(v) => FieldError::invalid_raw(path, &shown(v), &detail),
        None => FieldError::type_invalid(path, &detail),
    }
}

fn get<'a>(value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut cur = value;
    for step in steps {
        cur = match step {
            Step::Key(k) => cur.as_object()?.get(k)?,
            Step::Index(i) => cur.as_array()?.get(*i)?,
        };
    }
    Some(cur)
}

/// Decodes `input` into `T`, collecting every error with its path.
pub(crate) fn decode_strict<T: DeserializeOwned + Serialize>(input: &Value) -> Decoded<T> {
    let mut value = input.clone();
    let mut errors = Vec::new();
    let mut poisoned: Vec<String> = Vec::new();
    let mut placeholders: Vec<(Vec<Step>, usize)> = Vec::new();
    let mut decoded = None;
    for _ in 0..MAX_ATTEMPTS {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => {
                decoded = Some(v);
                break;
            }
            Err(err) => err,
        };
        let steps = steps_of(err.path());
        let message = err.inner().to_string();
        if let Some(field) = message
            .strip_prefix("missing field ")
            .and_then(|m| backticked(m).first().copied())
        {
            let mut field_steps = steps.clone();
            field_steps.push(Step::Key(field.to_string()));
            if !placeholder(&mut value, &field_steps, &mut placeholders) {
                break;
            }
            let path = render(&field_steps);
            if !is_under(&path, &poisoned) {
                errors.push(FieldError::required(path.clone(), ""));
                poisoned.push(path);
            }
            continue;
        }
        // A type error at a placeholder we inserted means the placeholder had the wrong
        // shape: try the next one instead of reporting it.
        if placeholders.iter().any(|(p, _)| *p == steps) {
            if !placeholder(&mut value, &steps, &mut placeholders) {
                break;
            }
            continue;
        }
        let path = render(&steps);
        errors.push(type_error(path.clone(), &message, get(&value, &steps)));
        match remove_at(&mut value, &steps) {
            Some(removed) => poisoned.push(render(&removed)),
            None => break,
        }
    }
    if let Some(typed) = &decoded {
        unknown_fields(input, typed, &poisoned, &mut errors);
    }
    Decoded {
        value: decoded,
        errors,
        poisoned,
    }
}

/// True when `path` is one of `roots` or lies below one of them.
pub(crate) fn is_under(path: &str, roots: &[String]) -> bool {
    roots.iter().any(|p| {
        path == p
            || path
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

/// Inserts the next placeholder candidate for a missing field. Returns false when all
/// candidates were tried.
fn placeholder(value: &mut Value, steps: &[Step], tried: &mut Vec<(Vec<Step>, usize)>) -> bool {
    const CANDIDATES: usize = 5;
    let attempt = match tried.iter_mut().find(|(p, _)| p == steps) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            tried.push((steps.to_vec(), 0));
            0
        }
    };
    if attempt >= CANDIDATES {
        return false;
    }
    let candidate = match attempt {
        0 => Value::String(String::new()),
        1 => Value::Object(Map::new()),
        2 => Value::Array(Vec::new()),
        3 => Value::from(0),
        _ => Value::Bool(false),
    };
    let Some((Step::Key(field), parent)) = steps.split_last() else {
        return false;
    };
    match get_mut(value, parent).and_then(Value::as_object_mut) {
        Some(obj) => {
            obj.insert(field.clone(), candidate);
            true
        }
        None => false,
    }
}

/// Reports input keys that the typed value does not carry: fields the schema does not know.
fn unknown_fields<T: Serialize>(
    input: &Value,
    typed: &T,
    poisoned: &[String],
    errors: &mut Vec<FieldError>,
) {
    let Ok(output) = serde_json::to_value(typed) else {
        return;
    };
    let mut found = Vec::new();
    let mut shapes = Vec::new();
    diff_keys(input, &output, &mut Vec::new(), &mut found, &mut shapes);
    for steps in shapes {
        let path = render(&steps);
        if !is_under(&path, poisoned) {
            errors.push(FieldError::invalid_raw(
                path,
                "\"array\"",
                "must be an object",
            ));
        }
    }
    for steps in found {
        let path = render(&steps);
        if is_under(&path, poisoned) {
            continue;
        }
        errors.push(FieldError::unknown_field(path, None));
    }
}

/// Collects input keys missing from the output (`found`) and lists the typed value
/// read as objects (`shapes`: serde accepts a list for a struct, the apiserver does not).
fn diff_keys(
    input: &Value,
    output: &Value,
    at: &mut Vec<Step>,
    found: &mut Vec<Vec<Step>>,
    shapes: &mut Vec<Vec<Step>>,
) {
    match (input, output) {
        (Value::Array(_), Value::Object(_)) => shapes.push(at.clone()),
        (Value::Object(i), Value::Object(o)) => {
            for (k, iv) in i {
                // `null` means "unset" to the apiserver, so it is never an unknown field.
                if iv.is_null() {
                    continue;
                }
                at.push(Step::Key(k.clone()));
                match o.get(k) {
                    Some(ov) => diff_keys(iv, ov, at, found, shapes),
                    None => found.push(at.clone()),
                }
                at.pop();
            }
        }
        (Value::Array(i), Value::Array(o)) => {
            for (idx, (iv, ov)) in i.iter().zip(o.iter()).enumerate() {
                at.push(Step::Index(idx));
                diff_keys(iv, ov, at, found, shapes);
                at.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        inner: Inner,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        items: Option<Vec<Inner>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flag: Option<bool>,
    }

    fn messages(d: &Decoded<Outer>) -> Vec<String> {
        d.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reports_every_type_error_missing_field_and_unknown_field() {
        let input = serde_json::json!({
            "inner": {"count": "x", "extra": 1},
            "flag": "yes",
            "items": [{"name": "a", "nope": true}],
            "other": {}
        });
        let d = decode_strict::<Outer>(&input);
        assert!(d.value.is_some());
        let m = messages(&d);
        assert!(
            m.contains(&"inner.count: Invalid value: \"x\": must be an integer".to_string()),
            "{m:?}"
        );
        assert!(
            m.contains(&"inner.name: Required value".to_string()),
            "{m:?}"
        );
        assert!(
            m.contains(&"flag: Invalid value: \"yes\": must be a boolean".to_string()),
            "{m:?}"
        );
        assert!(
            m.contains(&"inner.extra: unknown field".to_string()),
            "{m:?}"
        );
        assert!(
            m.contains(&"items[0].nope: unknown field".to_string()),
            "{m:?}"
        );
        assert!(m.contains(&"other: unknown field".to_string()), "{m:?}");
        assert_eq!(m.len(), 6, "{m:?}");
    }

    #[test]
    fn valid_input_has_no_errors() {
        let input = serde_json::json!({"inner": {"name": "a"}, "items": [], "flag": null});
        let d = decode_strict::<Outer>(&input);
        assert!(d.errors.is_empty(), "{:?}", d.errors);
    }

    #[test]
    fn wrong_shape_of_a_required_struct_is_one_error() {
        let input = serde_json::json!({"inner": "a-string"});
        let d = decode_strict::<Outer>(&input);
        let m = messages(&d);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(
            m[0],
            "inner: Invalid value: \"a-string\": must be an object"
        );
    }
}
