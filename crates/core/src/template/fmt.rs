//! Go's `fmt` as templates reach it: `print`, `println` and `printf` with the verbs
//! `%v %T %s %q %d %t %f %F %e %E %g %G %x %X %o %O %b %c %U %%`, the flags `- + # 0` and
//! space, width and precision (also `*`). Bad verbs, missing and extra arguments print
//! the way Go prints them (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA int=1)`).
//!
//! Taint is kept per argument: the text an argument formats to is tainted exactly when
//! the argument is, and the format's own text is tainted when the format is.

use std::fmt::Write as _;

use super::builtins::go_type;
use super::value::{Text, Value};

/// Go's bound on width and precision (`%!(BADWIDTH)` beyond it).
const MAX_WIDTH: usize = 1_000_000;

/// Largest `printf` result: wide paddings must not add up to unbounded memory.
pub(crate) const MAX_PRINTF_BYTES: usize = 1 << 20;

/// `fmt.Sprint`: operands joined with a space when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> Text {
    let mut out = Text::default();
    for (i, v) in args.iter().enumerate() {
        let is_str = matches!(v, Value::Str(_));
        let prev_str = i > 0 && matches!(args.get(i - 1), Some(Value::Str(_)));
        if i > 0 && !is_str && !prev_str {
            out.push_clean(" ");
        }
        out.push_text(&plain(v));
    }
    out
}

/// `fmt.Sprintln`: operands always separated by a space, then a newline.
pub(crate) fn sprintln(args: &[Value]) -> Text {
    let mut out = Text::default();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            out.push_clean(" ");
        }
        out.push_text(&plain(v));
    }
    out.push_clean("\n");
    out
}

/// `%v` of one operand, with its taint.
fn plain(v: &Value) -> Text {
    match v {
        Value::Nil => Text::clean("<nil>"),
        other => other.to_text(),
    }
}

/// One `%…` directive's flags, width and precision.
#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`; fails only when the result would exceed [`MAX_PRINTF_BYTES`].
pub(crate) fn sprintf(format: &Text, args: &[Value]) -> Result<Text, String> {
    let mut out = Text::default();
    let mut next = 0usize;
    let mut chars = format.as_str().char_indices().peekable();
    let mut literal = String::new();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        let mut bad = None;
        spec.width = number_or_star(&mut chars, args, &mut next, &mut bad, "BADWIDTH");
        if chars.peek().is_some_and(|&(_, c)| c == '.') {
            chars.next();
            spec.prec =
                number_or_star(&mut chars, args, &mut next, &mut bad, "BADPREC").or(Some(0));
        }
        if let Some(b) = bad {
            literal.push_str(&b);
        }
        let Some((_, verb)) = chars.next() else {
            literal.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            literal.push('%');
            continue;
        }
        out.push_clean(&literal);
        literal.clear();
        if out.len() > MAX_PRINTF_BYTES {
            return Err(format!("result larger than {MAX_PRINTF_BYTES} bytes"));
        }
        match args.get(next) {
            None => {
                let _ = write!(literal, "%!{verb}(MISSING)");
            }
            Some(arg) => {
                next += 1;
                let s = format_one(verb, spec, arg);
                if arg.is_tainted() {
                    out.push_text(&Text::tainted(s));
                } else {
                    out.push_clean(&s);
                }
            }
        }
    }
    out.push_clean(&literal);
    if let Some(extra) = args.get(next..).filter(|e| !e.is_empty()) {
        out.push_clean("%!(EXTRA ");
        for (i, v) in extra.iter().enumerate() {
            if i > 0 {
                out.push_clean(", ");
            }
            let s = match v {
                Value::Nil => "<nil>".to_owned(),
                v => format!("{}={}", go_type(v), v.to_go_string()),
            };
            out.push_text(&Text::derived(s, &[v]));
        }
        out.push_clean(")");
    }
    if out.len() > MAX_PRINTF_BYTES {
        return Err(format!("result larger than {MAX_PRINTF_BYTES} bytes"));
    }
    if format.is_tainted() {
        return Ok(Text::tainted(out.into_string()));
    }
    Ok(out)
}

fn number_or_star(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    args: &[Value],
    next: &mut usize,
    bad: &mut Option<String>,
    what: &str,
) -> Option<usize> {
    if chars.peek().is_some_and(|&(_, c)| c == '*') {
        chars.next();
        let arg = args.get(*next);
        *next += 1;
        return match arg {
            Some(Value::Int(i)) if i.unsigned_abs() <= MAX_WIDTH as u64 => usize::try_from(*i).ok(),
            _ => {
                *bad = Some(format!("%!({what})"));
                None
            }
        };
    }
    let mut n: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        chars.next();
        let v = n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize);
        n = Some(v);
    }
    if n.is_some_and(|v| v > MAX_WIDTH) {
        *bad = Some(format!("%!({what})"));
        return None;
    }
    n
}

/// Formats one argument for one verb (with padding).
fn format_one(verb: char, spec: Spec, v: &Value) -> String {
    let body = match (verb, v) {
        ('v', Value::Nil) | ('T', Value::Nil) => Some("<nil>".to_owned()),
        ('T', v) => Some(go_type(v).to_owned()),
        ('v' | 's', Value::Str(t)) => Some(truncate(t.as_str(), spec.prec)),
        ('v' | 's', Value::List(_) | Value::Map(_)) => Some(v.to_go_string()),
        ('v' | 't', Value::Bool(b)) => Some(b.to_string()),
        ('v' | 'd', Value::Int(i)) => Some(int(*i, 10, spec, false)),
        ('b', Value::Int(i)) => Some(int(*i, 2, spec, false)),
        ('o' | 'O', Value::Int(i)) => Some(octal(*i, spec, verb == 'O')),
        ('x', Value::Int(i)) => Some(int(*i, 16, spec, false)),
        ('X', Value::Int(i)) => Some(int(*i, 16, spec, true)),
        ('x' | 'X', Value::Str(t)) => Some(hex_bytes(t.as_str(), spec.sharp, verb == 'X')),
        ('c', Value::Int(i)) => Some(rune(*i).to_string()),
        ('q', Value::Int(i)) => Some(format!("'{}'", escape(&rune(*i).to_string(), '\''))),
        ('U', Value::Int(i)) => Some(format!("U+{:04X}", *i)),
        ('q', Value::Str(t)) => Some(quote(&truncate(t.as_str(), spec.prec), spec.sharp)),
        ('v', Value::Float(f)) => Some(signed(spec, go_g(*f, spec.prec))),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Value::Float(f)) => Some(float(*f, verb, spec)),
        _ => None,
    };
    match body {
        Some(s) => pad(s, spec, !matches!(v, Value::Str(_))),
        None => match v {
            Value::Nil => format!("%!{verb}(<nil>)"),
            v => format!("%!{verb}({}={})", go_type(v), v.to_go_string()),
        },
    }
}

fn truncate(s: &str, prec: Option<usize>) -> String {
    match prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_owned(),
    }
}

fn rune(i: i64) -> char {
    u32::try_from(i)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

fn sign(negative: bool, spec: Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn int(i: i64, radix: u32, spec: Spec, upper: bool) -> String {
    let m = i.unsigned_abs();
    let mut digits = match radix {
        2 => format!("{m:b}"),
        16 if upper => format!("{m:X}"),
        16 => format!("{m:x}"),
        _ => m.to_string(),
    };
    if let Some(p) = spec.prec {
        if p == 0 && m == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match (spec.sharp, radix) {
        (true, 16) if upper => "0X",
        (true, 16) => "0x",
        (true, 2) => "0b",
        _ => "",
    };
    format!("{}{prefix}{digits}", sign(i < 0, spec))
}

fn octal(i: i64, spec: Spec, o_prefix: bool) -> String {
    let m = i.unsigned_abs();
    let prefix = if o_prefix {
        "0o"
    } else if spec.sharp && m != 0 {
        "0"
    } else {
        ""
    };
    format!("{}{prefix}{m:o}", sign(i < 0, spec))
}

fn hex_bytes(s: &str, sharp: bool, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 2 + 2);
    if sharp {
        out.push_str(if upper { "0X" } else { "0x" });
    }
    for b in s.bytes() {
        let _ = if upper {
            write!(out, "{b:02X}")
        } else {
            write!(out, "{b:02x}")
        };
    }
    out
}

/// Go's `strconv.Quote` (or a raw string with `%#q` when possible).
fn quote(s: &str, sharp: bool) -> String {
    if sharp && !s.contains('`') && !s.chars().any(|c| c.is_control() && c != '\t') {
        return format!("`{s}`");
    }
    format!("\"{}\"", escape(s, '"'))
}

fn escape(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn signed(spec: Spec, body: String) -> String {
    if body.starts_with(['-', '+']) {
        body
    } else {
        format!("{}{body}", sign(false, spec))
    }
}

fn float(f: f64, verb: char, spec: Spec) -> String {
    if !f.is_finite() {
        let s = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return s.to_owned();
    }
    let upper = verb.is_ascii_uppercase();
    let body = match verb {
        'e' | 'E' => exp_form(&format!("{:.*e}", spec.prec.unwrap_or(6), f)),
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), f),
        _ => go_g(f, spec.prec),
    };
    let body = if upper { body.to_uppercase() } else { body };
    signed(spec, body)
}

/// Rust's `1.5e3` as Go writes it: `1.5e+03`.
fn exp_form(s: &str) -> String {
    let Some((mantissa, exp)) = s.split_once('e') else {
        return s.to_owned();
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// Go's `%g` (`strconv.FormatFloat(f, 'g', prec, 64)`): shortest digits without a
/// precision, the exponent form when the exponent is below -4 or at least the
/// precision (6 for the shortest form).
pub(crate) fn go_g(f: f64, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sci = match prec {
        Some(p) => format!("{:.*e}", p.max(1) - 1, f),
        None => format!("{f:e}"),
    };
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i64 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let nd = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let dp = exp + 1;
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = i64::try_from(p.max(1)).unwrap_or(i64::MAX);
            if p > nd && nd >= dp { nd } else { p }
        }
    };
    let sign = if negative { "-" } else { "" };
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let e = exp_form(&format!("e{exp}"));
        return format!("{sign}{first}{dot}{rest}{e}");
    }
    format!("{sign}{}", fixed(digits, dp))
}

/// Digits with the decimal point after `dp` of them, no exponent, no trailing zeros.
fn fixed(digits: &str, dp: i64) -> String {
    if dp <= 0 {
        let zeros = "0".repeat(usize::try_from(-dp).unwrap_or(0));
        return format!("0.{zeros}{digits}");
    }
    let dp = usize::try_from(dp).unwrap_or(0);
    if dp >= digits.len() {
        return format!("{digits}{}", "0".repeat(dp - digits.len()));
    }
    format!("{}.{}", &digits[..dp], &digits[dp..])
}

/// Pads to the width: spaces (left, or right with `-`), or zeros after the sign with
/// `0` for numbers.
fn pad(s: String, spec: Spec, numeric: bool) -> String {
    let Some(width) = spec.width else {
        return s;
    };
    let len = s.chars().count();
    if len >= width {
        return s;
    }
    let fill = width - len;
    if spec.minus {
        return format!("{s}{}", " ".repeat(fill));
    }
    if spec.zero {
        let split = if numeric && s.starts_with(['-', '+', ' ']) {
            1
        } else {
            0
        };
        let (head, tail) = s.split_at(split);
        return format!("{head}{}{tail}", "0".repeat(fill));
    }
    format!("{}{s}", " ".repeat(fill))
}
