//! Functions that wrap a value in YAML syntax: `quote`, `squote`, `yamlQuote`,
//! `yamlSafe`, `indent`, `nindent`.
//!
//! They write their syntax (quotes, escapes, indentation) as clean text. Untrusted text
//! is written as it is, except the characters the quoting syntax must escape (`"`, `\`,
//! line breaks and other control characters for double quotes; `'` for single quotes):
//! those are written as clean escape sequences between untrusted runs. So a value is
//! one scalar whose parsed content is exactly the user's text when the quotes shape the
//! manifest (the engine substitutes the runs after parsing), and correctly escaped text
//! when the result is embedded in a longer string (a shell line in a block scalar, a
//! JSON document in a ConfigMap): the same output as Go, without the value ever
//! reaching the parser.

use super::FuncEnv;
use super::FuncError;
use super::args::{self, check_len, strval};
use crate::template::value::{Text, Value};

/// Writes `t` into `out` escaped by `escape`: clean pieces escaped as a whole; in
/// untrusted pieces, runs of characters that need no escape stay untrusted and every
/// character that does is written as its (clean) escape sequence.
pub fn push_escaped(out: &mut Text, t: &Text, escape: fn(&str, &mut String)) {
    push_escaped_split(out, t, Some(escape), escape);
}

/// [`push_escaped`] with separate escapes for author text (`None`: as it is) and
/// untrusted text.
pub fn push_escaped_split(
    out: &mut Text,
    t: &Text,
    clean_escape: Option<fn(&str, &mut String)>,
    tainted_escape: fn(&str, &mut String),
) {
    let mut buf = String::new();
    let mut one = [0u8; 4];
    for (piece, tainted) in t.pieces() {
        if !tainted {
            match clean_escape {
                Some(escape) => {
                    buf.clear();
                    escape(piece, &mut buf);
                    out.push_clean(&buf);
                }
                None => out.push_clean(piece),
            }
            continue;
        }
        let mut run_start = 0;
        for (i, c) in piece.char_indices() {
            let ch: &str = c.encode_utf8(&mut one);
            buf.clear();
            tainted_escape(ch, &mut buf);
            if buf != ch {
                if run_start < i {
                    out.push_text(&Text::tainted(&piece[run_start..i]));
                }
                out.push_clean(&buf);
                run_start = i + c.len_utf8();
            }
        }
        if run_start < piece.len() {
            out.push_text(&Text::tainted(&piece[run_start..]));
        }
    }
}

/// The body of Go's `strconv.Quote` (what `%q` writes between the quotes); every escape
/// it produces is also a valid YAML double-quoted escape.
pub fn go_quote_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if c < ' ' || c == '\x7f' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if is_printable(c) => out.push(c),
            c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
}

/// Go's `strconv.IsPrint`, close enough: no control characters, and no spaces other
/// than U+0020 (so U+0085, U+00A0, U+2028, U+2029 and friends are escaped).
fn is_printable(c: char) -> bool {
    !c.is_control() && (c == ' ' || !c.is_whitespace()) && c != '\u{feff}'
}

/// The body of a YAML double-quoted scalar.
pub fn yaml_dq_escape(s: &str, out: &mut String) {
    go_quote_escape(s, out);
}

fn checked(t: Text) -> Result<Value, FuncError> {
    check_len(t.len())?;
    Ok(Value::Str(t))
}

/// YAML words that are not strings when plain (YAML 1.1 and 1.2, any case).
const SPECIAL_WORDS: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
];

/// True unless `s` is certain to read back as the same string when written as a plain
/// YAML scalar: conservative (letters, digits and `._/-` inside a word; not a number, a
/// special word or anything starting with a digit, sign or dot).
pub fn needs_yaml_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    if !first.is_ascii_alphabetic() && first != '/' {
        return true;
    }
    if SPECIAL_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return true;
    }
    if s.eq_ignore_ascii_case(".inf") || s.eq_ignore_ascii_case(".nan") {
        return true;
    }
    !s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
}

/// `"` + the text escaped by `escape` (untrusted runs kept apart, see [`push_escaped`]) + `"`.
fn double_quoted(t: &Text, escape: fn(&str, &mut String)) -> Text {
    let mut out = Text::clean("\"");
    push_escaped(&mut out, t, escape);
    out.push_clean("\"");
    out
}

/// `quote ARGS…`: each non-nil argument as a Go double-quoted string, joined by spaces.
pub fn quote(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    wrap_each(args, |t| double_quoted(t, go_quote_escape))
}

/// `squote ARGS…`: each non-nil argument between single quotes. Author text is written
/// as Sprig writes it (unescaped); a `'` in untrusted text is doubled, YAML's escape,
/// so the value cannot close the quotes.
pub fn squote(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    wrap_each(args, |t| {
        let mut out = Text::clean("'");
        push_escaped_split(&mut out, t, None, single_quote_escape);
        out.push_clean("'");
        out
    })
}

fn single_quote_escape(s: &str, out: &mut String) {
    out.push_str(&s.replace('\'', "''"));
}

fn wrap_each(args: &[Value], wrap: impl Fn(&Text) -> Text) -> Result<Value, FuncError> {
    let mut out = Text::default();
    for (i, v) in args.iter().filter(|v| !matches!(v, Value::Nil)).enumerate() {
        if i > 0 {
            out.push_clean(" ");
        }
        out.push_text(&wrap(&strval(v)));
        check_len(out.len())?;
    }
    Ok(Value::Str(out))
}

/// `yamlQuote S`: `S` unchanged when it reads back as the same string plain, else a
/// double-quoted YAML scalar; untrusted input is always quoted.
pub fn yaml_quote(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let t = strval(args::arg(args, 0)?);
    if !t.is_tainted() && !needs_yaml_quotes(t.as_str()) {
        return Ok(Value::Str(t));
    }
    checked(double_quoted(&t, yaml_dq_escape))
}

/// Characters `yamlSafe` replaces by `-`: YAML indicators and quoting characters.
const YAML_SPECIALS: &[char] = &[
    ':', '#', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '\\',
];

/// `yamlSafe S`: line breaks become spaces and YAML indicator characters `-`, so the
/// value cannot open structure; quoted when what remains would not read back as a plain
/// string (`true`, `123`, a leading `-`).
pub fn yaml_safe(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let input = args::arg(args, 0)?;
    let t = strval(input);
    let cleaned: String = t
        .as_str()
        .replace("\r\n", " ")
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if YAML_SPECIALS.contains(&c) || c.is_control() => '-',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim().to_owned();
    let sanitized = Text::derived(cleaned, &[input]);
    if needs_plain_guard(sanitized.as_str()) {
        return checked(double_quoted(&sanitized, yaml_dq_escape));
    }
    checked(sanitized)
}

/// After sanitising only words, numbers and leading indicators can still mislead.
fn needs_plain_guard(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    if !first.is_alphabetic() && first != '/' {
        return true;
    }
    SPECIAL_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Largest indentation accepted.
const MAX_INDENT: usize = 1024;

/// `indent N S`: every line of `S` prefixed by `N` spaces; an untrusted range is kept
/// whole (its own line breaks are not indented: it becomes one scalar).
pub fn indent(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::count(args, 0, MAX_INDENT)?;
    let t = args::text(args, 1)?;
    Ok(Value::Str(indented(n, t, false)?))
}

/// `nindent N S`: a line break, then `indent N S`.
pub fn nindent(args: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let n = args::count(args, 0, MAX_INDENT)?;
    let t = args::text(args, 1)?;
    Ok(Value::Str(indented(n, t, true)?))
}

fn indented(n: usize, t: &Text, newline_first: bool) -> Result<Text, FuncError> {
    let pad = " ".repeat(n);
    let lines = t
        .pieces()
        .iter()
        .filter(|(_, tainted)| !tainted)
        .map(|(p, _)| p.matches('\n').count())
        .sum::<usize>();
    check_len(t.len() + (lines + 2) * n)?;
    let mut out = Text::default();
    if newline_first {
        out.push_clean("\n");
    }
    out.push_clean(&pad);
    for (piece, tainted) in t.pieces() {
        if tainted {
            out.push_text(&Text::tainted(piece));
        } else {
            out.push_clean(&piece.replace('\n', &format!("\n{pad}")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> FuncEnv {
        FuncEnv {
            now: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn s(v: Result<Value, FuncError>) -> String {
        match v {
            Ok(Value::Str(t)) => t.into_string(),
            other => format!("{other:?}"),
        }
    }

    fn pieces(v: &Result<Value, FuncError>) -> Vec<(String, bool)> {
        match v {
            Ok(Value::Str(t)) => t
                .pieces()
                .into_iter()
                .map(|(p, b)| (p.to_owned(), b))
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn quote_matches_go() {
        let e = env();
        assert_eq!(s(quote(&[Value::str("a\"b\\c\n")], &e)), r#""a\"b\\c\n""#);
        assert_eq!(
            s(quote(&[Value::str("a"), Value::Nil, Value::Int(1)], &e)),
            r#""a" "1""#
        );
        assert_eq!(s(quote(&[], &e)), "");
        assert_eq!(
            s(quote(&[Value::str("\u{1}é\u{2028}")], &e)),
            r#""\x01é\u2028""#
        );
        assert_eq!(
            s(squote(&[Value::str("a"), Value::str("b")], &e)),
            "'a' 'b'"
        );
    }

    #[test]
    fn quote_escapes_specials_of_untrusted_text_as_clean_syntax() {
        let e = env();
        let r = quote(&[Value::tainted_str("a\"b: c\n- d")], &e);
        assert_eq!(
            pieces(&r),
            vec![
                ("\"".to_owned(), false),
                ("a".to_owned(), true),
                ("\\\"".to_owned(), false),
                ("b: c".to_owned(), true),
                ("\\n".to_owned(), false),
                ("- d".to_owned(), true),
                ("\"".to_owned(), false)
            ]
        );
        assert_eq!(s(r), r#""a\"b: c\n- d""#, "the text is Go's");
        let mut mixed = Text::clean("x\"");
        mixed.push_text(&Text::tainted("y"));
        let r = quote(&[Value::Str(mixed)], &e);
        assert_eq!(
            pieces(&r),
            vec![
                ("\"x\\\"".to_owned(), false),
                ("y".to_owned(), true),
                ("\"".to_owned(), false)
            ]
        );
        let r = squote(&[Value::tainted_str("it's")], &e);
        assert_eq!(
            pieces(&r),
            vec![
                ("'".to_owned(), false),
                ("it".to_owned(), true),
                ("''".to_owned(), false),
                ("s".to_owned(), true),
                ("'".to_owned(), false)
            ]
        );
        assert_eq!(
            s(squote(&[Value::str("it's")], &e)),
            "'it's'",
            "author text as Sprig"
        );
    }

    #[test]
    fn yaml_quote_quotes_only_when_needed() {
        let e = env();
        for plain in ["word", "my-app", "a.b_c", "/path/x"] {
            assert_eq!(s(yaml_quote(&[Value::str(plain)], &e)), plain);
        }
        for (input, quoted) in [
            ("", r#""""#),
            ("a b", r#""a b""#),
            ("a:b", r#""a:b""#),
            ("#x", r##""#x""##),
            ("l1\nl2", r#""l1\nl2""#),
            ("say \"hi\"", r#""say \"hi\"""#),
            ("---", r#""---""#),
            ("{a}", r#""{a}""#),
            ("[a]", r#""[a]""#),
            ("a\\b", r#""a\\b""#),
            ("&x", r#""&x""#),
            ("*x", r#""*x""#),
            ("TRUE", r#""TRUE""#),
            ("No", r#""No""#),
            ("off", r#""off""#),
            ("null", r#""null""#),
            ("~", r#""~""#),
            ("123", r#""123""#),
            ("0755", r#""0755""#),
        ] {
            assert_eq!(s(yaml_quote(&[Value::str(input)], &e)), quoted, "{input:?}");
        }
        assert_eq!(
            pieces(&yaml_quote(&[Value::tainted_str("word")], &e)),
            vec![
                ("\"".to_owned(), false),
                ("word".to_owned(), true),
                ("\"".to_owned(), false)
            ],
            "untrusted input is always quoted"
        );
    }

    #[test]
    fn yaml_safe_defuses_indicators() {
        let e = env();
        assert_eq!(
            s(yaml_safe(&[Value::str("hello world")], &e)),
            "hello world"
        );
        assert_eq!(s(yaml_safe(&[Value::str("a: b\nc: d")], &e)), "a- b c- d");
        assert_eq!(s(yaml_safe(&[Value::str("x{y}[z]#")], &e)), "x-y--z--");
        assert_eq!(s(yaml_safe(&[Value::str("{x}")], &e)), r#""-x-""#);
        assert_eq!(s(yaml_safe(&[Value::str("- item")], &e)), r#""- item""#);
        assert_eq!(s(yaml_safe(&[Value::str("true")], &e)), r#""true""#);
        assert_eq!(s(yaml_safe(&[Value::str("")], &e)), r#""""#);
        let r = yaml_safe(&[Value::tainted_str("a\"b")], &e);
        assert_eq!(pieces(&r), vec![("a-b".to_owned(), true)]);
    }

    #[test]
    fn indent_and_nindent() {
        let e = env();
        assert_eq!(
            s(indent(&[Value::Int(2), Value::str("a\nb")], &e)),
            "  a\n  b"
        );
        assert_eq!(s(nindent(&[Value::Int(4), Value::str("a")], &e)), "\n    a");
        assert_eq!(s(indent(&[Value::Int(0), Value::str("a\nb")], &e)), "a\nb");
        assert!(indent(&[Value::Int(-1), Value::str("a")], &e).is_err());
        assert!(indent(&[Value::Int(2), Value::Int(3)], &e).is_err());
        let mut t = Text::clean("k: ");
        t.push_text(&Text::tainted("x\ny"));
        t.push_clean("\nz: 1");
        let r = indent(&[Value::Int(2), Value::Str(t)], &e);
        assert_eq!(
            pieces(&r),
            vec![
                ("  k: ".to_owned(), false),
                ("x\ny".to_owned(), true),
                ("\n  z: 1".to_owned(), false)
            ]
        );
    }
}
