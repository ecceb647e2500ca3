//! The values a template computes with, and where user input sits in a string.
//!
//! Every string is a [`Text`]: its characters plus the byte ranges that came from
//! untrusted input (`.vars`, reasons, user names). When rendered output is written, the
//! tainted ranges never reach the YAML parser as text; they are replaced by opaque
//! placeholders and put back into the parsed scalars afterwards, so no value can change
//! the structure of what a template produces (see the module documentation of
//! [`super`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

/// A template value: what Go's `text/template` sees through `reflect`, reduced to the
/// shapes JSON-like data has.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// Go's nil, and a missing map key (printed as `<no value>`).
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer (Go `int`/`int64`).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string with its taint.
    Str(Text),
    /// A list (Go slice).
    List(Vec<Value>),
    /// A map with string keys, iterated in key order as Go does.
    Map(BTreeMap<String, Value>),
}

/// A string plus the byte ranges of it that came from untrusted input.
///
/// Invariant: `tainted` is sorted, non-overlapping, non-empty ranges on char
/// boundaries of `text`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    text: String,
    tainted: Vec<Range<usize>>,
}

impl Text {
    /// Text written by the template author (or computed from such text only).
    pub fn clean(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            tainted: Vec::new(),
        }
    }

    /// Text that came from untrusted input, all of it.
    pub fn tainted(text: impl Into<String>) -> Self {
        let text = text.into();
        let tainted = if text.is_empty() {
            Vec::new()
        } else {
            std::iter::once(0..text.len()).collect()
        };
        Self { text, tainted }
    }

    /// A string computed from `inputs`: tainted as a whole when any input holds tainted
    /// text (the conservative rule for every function that does not know better).
    pub fn derived(text: impl Into<String>, inputs: &[&Value]) -> Self {
        if inputs.iter().any(|v| v.is_tainted()) {
            Self::tainted(text)
        } else {
            Self::clean(text)
        }
    }

    /// The characters.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The characters, owned.
    pub fn into_string(self) -> String {
        self.text
    }

    /// The tainted byte ranges, sorted.
    pub fn tainted_ranges(&self) -> &[Range<usize>] {
        &self.tainted
    }

    /// True when any part came from untrusted input.
    pub fn is_tainted(&self) -> bool {
        !self.tainted.is_empty()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Appends author text.
    pub fn push_clean(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Appends another text, keeping its taint where it is.
    pub fn push_text(&mut self, other: &Text) {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        for r in &other.tainted {
            let r = r.start + offset..r.end + offset;
            match self.tainted.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => self.tainted.push(r),
            }
        }
    }

    /// The pieces in order: `(text, tainted)`; adjacent pieces differ in taint.
    pub fn pieces(&self) -> Vec<(&str, bool)> {
        let mut out = Vec::new();
        let mut at = 0;
        for r in &self.tainted {
            if r.start > at {
                out.push((&self.text[at..r.start], false));
            }
            out.push((&self.text[r.clone()], true));
            at = r.end;
        }
        if at < self.text.len() {
            out.push((&self.text[at..], false));
        }
        out
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::clean(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self::clean(s)
    }
}

impl Value {
    /// A clean string value.
    pub fn str(s: impl Into<String>) -> Self {
        Self::Str(Text::clean(s))
    }

    /// A tainted string value.
    pub fn tainted_str(s: impl Into<String>) -> Self {
        Self::Str(Text::tainted(s))
    }

    /// Converts JSON data; every string (and map key) is tainted when `tainted`.
    pub fn from_json(json: &serde_json::Value, tainted: bool) -> Self {
        match json {
            serde_json::Value::Null => Self::Nil,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => Self::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Self::Str(if tainted {
                Text::tainted(s.as_str())
            } else {
                Text::clean(s.as_str())
            }),
            serde_json::Value::Array(a) => {
                Self::List(a.iter().map(|v| Self::from_json(v, tainted)).collect())
            }
            serde_json::Value::Object(m) => Self::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Self::from_json(v, tainted)))
                    .collect(),
            ),
        }
    }

    /// True when any string inside (recursively) holds tainted text.
    pub fn is_tainted(&self) -> bool {
        match self {
            Self::Str(t) => t.is_tainted(),
            Self::List(l) => l.iter().any(Self::is_tainted),
            Self::Map(m) => m.values().any(Self::is_tainted),
            _ => false,
        }
    }

    /// Go's truth: false, 0, nil, and empty strings, lists and maps are false.
    pub fn is_true(&self) -> bool {
        match self {
            Self::Nil => false,
            Self::Bool(b) => *b,
            Self::Int(i) => *i != 0,
            Self::Float(f) => *f != 0.0,
            Self::Str(t) => !t.is_empty(),
            Self::List(l) => !l.is_empty(),
            Self::Map(m) => !m.is_empty(),
        }
    }

    /// The string inside, if this is one.
    pub fn as_text(&self) -> Option<&Text> {
        match self {
            Self::Str(t) => Some(t),
            _ => None,
        }
    }

    /// Go's name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Nil => "nil",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float64",
            Self::Str(_) => "string",
            Self::List(_) => "slice",
            Self::Map(_) => "map",
        }
    }

    /// The value as Go's `fmt.Sprint` prints it (`<no value>` for nil, `[a b]` for lists,
    /// `map[k:v]` for maps), with its taint: the result is tainted as a whole when any
    /// string inside is.
    pub fn to_text(&self) -> Text {
        match self {
            Self::Str(t) => t.clone(),
            other => Text::derived(other.to_go_string(), &[other]),
        }
    }

    /// The value as Go's `fmt.Sprint` prints it, without taint.
    pub fn to_go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out, true);
        out
    }

    fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Self::Nil if top => out.push_str("<no value>"),
            Self::Nil => out.push_str("<nil>"),
            Self::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::Float(f) => out.push_str(&format_float(*f)),
            Self::Str(t) => out.push_str(t.as_str()),
            Self::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Self::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, false);
                }
                out.push(']');
            }
        }
    }
}

/// A float as Go's `%v` prints it: shortest digits, exponent form below 1e-4 and from
/// 1e+06 on (`1e+06`, `1e-05`), as `strconv.FormatFloat(f, 'g', -1, 64)` does.
pub fn format_float(f: f64) -> String {
    super::fmt::go_g(f, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_text_keeps_taint_in_place_and_merges_neighbours() {
        let mut t = Text::clean("a=");
        t.push_text(&Text::tainted("x"));
        t.push_text(&Text::tainted("y"));
        t.push_clean(";");
        assert_eq!(t.as_str(), "a=xy;");
        assert_eq!(t.tainted_ranges(), std::slice::from_ref(&(2..4)));
        assert_eq!(t.pieces(), vec![("a=", false), ("xy", true), (";", false)]);
    }

    #[test]
    fn derived_is_tainted_when_any_input_is() {
        let a = Value::str("a");
        let b = Value::tainted_str("b");
        assert!(!Text::derived("ab", &[&a]).is_tainted());
        assert!(Text::derived("ab", &[&a, &b]).is_tainted());
        assert!(
            !Text::tainted("").is_tainted(),
            "empty text has nothing to taint"
        );
    }

    #[test]
    fn go_printing() {
        let mut m = BTreeMap::new();
        m.insert("b".to_owned(), Value::Int(2));
        m.insert(
            "a".to_owned(),
            Value::List(vec![Value::str("x"), Value::Nil]),
        );
        assert_eq!(Value::Map(m).to_go_string(), "map[a:[x <nil>] b:2]");
        assert_eq!(Value::Nil.to_go_string(), "<no value>");
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(1e21), "1e+21");
        assert_eq!(format_float(1e-5), "1e-05");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(1e6), "1e+06");
        assert_eq!(format_float(123_456.0), "123456");
        assert_eq!(format_float(0.0001), "0.0001");
    }

    #[test]
    fn json_conversion_taints_on_request() {
        let v = Value::from_json(&serde_json::json!({"k": ["v", 1, 1.5, true, null]}), true);
        assert!(v.is_tainted());
        let c = Value::from_json(&serde_json::json!({"k": "v"}), false);
        assert!(!c.is_tainted());
    }
}
