//! The lexer: template source to tokens, with trim markers applied to the text.
//!
//! Like Go's lexer it alternates between text and actions; unlike it, it produces the
//! whole token list at once (sources are bounded), each token with its byte offset.

/// Keywords of the action language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Keyword {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "block" => Self::Block,
            "break" => Self::Break,
            "continue" => Self::Continue,
            "define" => Self::Define,
            "else" => Self::Else,
            "end" => Self::End,
            "if" => Self::If,
            "range" => Self::Range,
            "template" => Self::Template,
            "with" => Self::With,
            _ => return None,
        })
    }

    /// The keyword as written.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Break => "break",
            Self::Continue => "continue",
            Self::Define => "define",
            Self::Else => "else",
            Self::End => "end",
            Self::If => "if",
            Self::Range => "range",
            Self::Template => "template",
            Self::With => "with",
        }
    }
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Template text, trim markers already applied.
    Text(String),
    /// `{{` (or `{{- `).
    Open,
    /// `}}` (or ` -}}`).
    Close,
    /// White space inside an action (separates operands).
    Space,
    Keyword(Keyword),
    /// A function name.
    Ident(String),
    /// `.name` (without the dot).
    Field(String),
    /// `$` or `$name` (with the dollar).
    Var(String),
    Dot,
    Pipe,
    LParen,
    RParen,
    Assign,
    Declare,
    Comma,
    /// A string literal, escapes decoded.
    Str(String),
    /// A character literal.
    Char(char),
    /// A number literal as written.
    Number(String),
    Bool(bool),
    Nil,
    Eof,
}

impl Tok {
    /// How the token is named in error messages (Go's wording).
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Text(_) => "text".to_owned(),
            Self::Open => "\"{{\"".to_owned(),
            Self::Close => "\"}}\"".to_owned(),
            Self::Space => "space".to_owned(),
            Self::Keyword(k) => format!("<{}>", k.word()),
            Self::Ident(s) => format!("identifier {s:?}"),
            Self::Field(s) => format!("field \".{s}\""),
            Self::Var(s) => format!("variable {s:?}"),
            Self::Dot => "\".\"".to_owned(),
            Self::Pipe => "\"|\"".to_owned(),
            Self::LParen => "\"(\"".to_owned(),
            Self::RParen => "\")\"".to_owned(),
            Self::Assign => "\"=\"".to_owned(),
            Self::Declare => "\":=\"".to_owned(),
            Self::Comma => "\",\"".to_owned(),
            Self::Str(s) => format!("string {s:?}"),
            Self::Char(c) => format!("character {c:?}"),
            Self::Number(n) => format!("number {n}"),
            Self::Bool(b) => format!("{b}"),
            Self::Nil => "nil".to_owned(),
            Self::Eof => "EOF".to_owned(),
        }
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) at: usize,
}

/// A lexical error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub(crate) at: usize,
    pub(crate) message: String,
}

const OPEN: &str = "{{";
const CLOSE: &str = "}}";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into tokens.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        src,
        pos: 0,
        out: Vec::new(),
        trim_next_text: false,
    };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
    /// The previous action ended with ` -}}`: the next text loses its leading space.
    trim_next_text: bool,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            at,
            message: message.into(),
        })
    }

    fn push(&mut self, tok: Tok, at: usize) {
        self.out.push(Token { tok, at });
    }

    fn run(&mut self) -> Result<(), LexError> {
        loop {
            let rest = self.rest();
            let (text_len, found) = match rest.find(OPEN) {
                Some(i) => (i, true),
                None => (rest.len(), false),
            };
            let open_at = self.pos + text_len;
            let left_trim = found && is_trim_marker(&rest[text_len + OPEN.len()..]);
            let raw = &rest[..text_len];
            let mut start = 0;
            if self.trim_next_text {
                start = text_len - raw.trim_start_matches(is_space).len();
            }
            let mut end = text_len;
            if left_trim {
                end = start + raw[start..].trim_end_matches(is_space).len();
            }
            if start < end {
                self.push(Tok::Text(raw[start..end].to_owned()), self.pos + start);
            }
            self.trim_next_text = false;
            if !found {
                self.push(Tok::Eof, self.src.len());
                return Ok(());
            }
            self.pos = open_at + OPEN.len();
            if left_trim {
                self.pos += 2;
            }
            if self.lex_comment(open_at)? {
                continue;
            }
            self.push(Tok::Open, open_at);
            self.lex_action(open_at)?;
        }
    }

    /// A comment `{{/* … */}}` right after the delimiter; true when one was consumed.
    fn lex_comment(&mut self, open_at: usize) -> Result<bool, LexError> {
        let rest = self.rest();
        if !rest.starts_with("/*") {
            return Ok(false);
        }
        let Some(end) = rest.find("*/") else {
            return self.err(open_at, "unclosed comment");
        };
        self.pos += end + 2;
        let after = self.rest();
        if let Some(tail) = trim_close(after) {
            self.pos += tail;
            self.trim_next_text = true;
        } else if after.starts_with(CLOSE) {
            self.pos += CLOSE.len();
        } else {
            return self.err(open_at, "comment ends before closing delimiter");
        }
        Ok(true)
    }

    fn lex_action(&mut self, open_at: usize) -> Result<(), LexError> {
        let mut parens = 0usize;
        loop {
            let at = self.pos;
            let rest = self.rest();
            if let Some(len) = trim_close(rest) {
                return self.close(at, len, true, parens);
            }
            if rest.starts_with(CLOSE) {
                return self.close(at, CLOSE.len(), false, parens);
            }
            let Some(c) = rest.chars().next() else {
                return self.err(open_at, "unclosed action");
            };
            match c {
                c if is_space(c) => {
                    let mut len = 0;
                    for ch in rest.chars() {
                        if !is_space(ch) || trim_close(&rest[len..]).is_some() {
                            break;
                        }
                        len += ch.len_utf8();
                    }
                    self.pos += len;
                    self.push(Tok::Space, at);
                }
                '=' => self.single(Tok::Assign, at),
                ':' if rest.starts_with(":=") => {
                    self.pos += 2;
                    self.push(Tok::Declare, at);
                }
                ':' => return self.err(at, "expected :="),
                '|' => self.single(Tok::Pipe, at),
                ',' => self.single(Tok::Comma, at),
                '(' => {
                    parens += 1;
                    self.single(Tok::LParen, at);
                }
                ')' => {
                    if parens == 0 {
                        return self.err(at, "unexpected right paren");
                    }
                    parens -= 1;
                    self.single(Tok::RParen, at);
                }
                '"' => self.quoted(at)?,
                '`' => self.raw(at)?,
                '\'' => self.char_lit(at)?,
                '$' => {
                    let len = 1 + word_len(&rest[1..]);
                    self.word(Tok::Var(rest[..len].to_owned()), at, len)?;
                }
                '.' => {
                    let next = rest[1..].chars().next();
                    if next.is_some_and(|n| n.is_ascii_digit()) {
                        self.number(at)?;
                    } else if next.is_some_and(is_alnum) {
                        let len = 1 + word_len(&rest[1..]);
                        self.word(Tok::Field(rest[1..len].to_owned()), at, len)?;
                    } else {
                        self.word(Tok::Dot, at, 1)?;
                    }
                }
                '+' | '-' | '0'..='9' => self.number(at)?,
                c if is_alnum(c) => {
                    let len = word_len(rest);
                    let w = &rest[..len];
                    let tok = match w {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => Keyword::from_word(w)
                            .map_or_else(|| Tok::Ident(w.to_owned()), Tok::Keyword),
                    };
                    self.word(tok, at, len)?;
                }
                c => {
                    return self.err(
                        at,
                        format!("unrecognized character in action: {}", describe_char(c)),
                    );
                }
            }
        }
    }

    fn close(&mut self, at: usize, len: usize, trim: bool, parens: usize) -> Result<(), LexError> {
        if parens > 0 {
            return self.err(at, "unclosed left paren");
        }
        self.pos += len;
        self.trim_next_text = trim;
        self.push(Tok::Close, at);
        Ok(())
    }

    fn single(&mut self, tok: Tok, at: usize) {
        self.pos += 1;
        self.push(tok, at);
    }

    /// A word-like token; it must be followed by a terminator, as in Go.
    fn word(&mut self, tok: Tok, at: usize, len: usize) -> Result<(), LexError> {
        self.pos += len;
        let rest = self.rest();
        if let Some(c) = rest.chars().next() {
            let ok = is_space(c)
                || matches!(c, '.' | ',' | '|' | ':' | ')' | '(')
                || rest.starts_with(CLOSE);
            if !ok {
                return self.err(self.pos, format!("bad character {}", describe_char(c)));
            }
        }
        self.push(tok, at);
        Ok(())
    }

    fn quoted(&mut self, at: usize) -> Result<(), LexError> {
        let rest = self.rest();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                '\n' => return self.err(at, "unterminated quoted string"),
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            return self.err(at, "unterminated quoted string");
        };
        let value = unescape(&rest[1..end], '"').map_err(|m| LexError { at, message: m })?;
        self.pos += end + 1;
        self.push(Tok::Str(value), at);
        Ok(())
    }

    fn raw(&mut self, at: usize) -> Result<(), LexError> {
        let rest = self.rest();
        let Some(end) = rest[1..].find('`') else {
            return self.err(at, "unterminated raw quoted string");
        };
        let value = rest[1..=end].replace('\r', "");
        self.pos += end + 2;
        self.push(Tok::Str(value), at);
        Ok(())
    }

    fn char_lit(&mut self, at: usize) -> Result<(), LexError> {
        let rest = self.rest();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                '\n' => break,
                '\\' if !escaped => escaped = true,
                '\'' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else {
            return self.err(at, "unterminated character constant");
        };
        let value = unescape(&rest[1..end], '\'').map_err(|m| LexError { at, message: m })?;
        let mut chars = value.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return self.err(
                at,
                format!("malformed character constant: {}", &rest[..=end]),
            );
        };
        self.pos += end + 1;
        self.push(Tok::Char(c), at);
        Ok(())
    }

    fn number(&mut self, at: usize) -> Result<(), LexError> {
        let rest = self.rest();
        let len = number_len(rest);
        let text = &rest[..len];
        if len == 0 || !text.bytes().any(|b| b.is_ascii_digit()) {
            return self.err(at, format!("bad number syntax: {:?}", &rest[..len.max(1)]));
        }
        if rest[len..].chars().next().is_some_and(is_alnum) {
            let bad = word_len(&rest[len..]) + len;
            return self.err(at, format!("bad number syntax: {:?}", &rest[..bad]));
        }
        self.pos += len;
        self.push(Tok::Number(text.to_owned()), at);
        Ok(())
    }
}

/// Whether `s` (just after `{{`) starts with Go's left trim marker `- ` (a dash and a
/// space character).
fn is_trim_marker(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next() == Some('-') && chars.next().is_some_and(is_space)
}

/// Length of ` -}}` (any space character before the dash) at the start of `s`.
fn trim_close(s: &str) -> Option<usize> {
    let c = s.chars().next()?;
    if is_space(c) && s[c.len_utf8()..].starts_with("-}}") {
        Some(c.len_utf8() + 3)
    } else {
        None
    }
}

fn word_len(s: &str) -> usize {
    s.char_indices()
        .find(|(_, c)| !is_alnum(*c))
        .map_or(s.len(), |(i, _)| i)
}

/// Length of a Go number literal at the start of `s` (sign, base prefix, digits with
/// `_`, fraction, exponent); validity is checked when it is converted.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        digits = b"0123456789abcdefABCDEF_";
        exp = b"pP";
    } else if b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'o' | b'O' | b'b' | b'B')) {
        i += 2;
    }
    while b.get(i).is_some_and(|c| digits.contains(c)) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| digits.contains(c)) {
            i += 1;
        }
    }
    if b.get(i).is_some_and(|c| exp.contains(c)) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    i
}

/// Go's way of naming a character in messages: `U+0023 '#'`.
pub(crate) fn describe_char(c: char) -> String {
    format!("U+{:04X} {c:?}", u32::from(c))
}

/// Decodes Go escape sequences in a quoted string or character body.
fn unescape(body: &str, quote: char) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            return Err("invalid syntax: trailing backslash".to_owned());
        };
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            q if q == quote => out.push(q),
            'x' => out.push(hex_escape(&mut chars, 2)?),
            'u' => out.push(hex_escape(&mut chars, 4)?),
            'U' => out.push(hex_escape(&mut chars, 8)?),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars
                        .next()
                        .and_then(|d| d.to_digit(8))
                        .ok_or_else(|| "invalid syntax: bad octal escape".to_owned())?;
                    v = v * 8 + d;
                }
                let c = u8::try_from(v).map_err(|_| "invalid syntax: octal escape value > 255")?;
                out.push(char::from(c));
            }
            other => return Err(format!("invalid syntax: unknown escape sequence \\{other}")),
        }
    }
    Ok(out)
}

fn hex_escape(chars: &mut std::str::Chars<'_>, n: usize) -> Result<char, String> {
    let mut v = 0u32;
    for _ in 0..n {
        let d = chars
            .next()
            .and_then(|d| d.to_digit(16))
            .ok_or_else(|| "invalid syntax: bad hex escape".to_owned())?;
        v = v * 16 + d;
    }
    char::from_u32(v)
        .ok_or_else(|| format!("invalid syntax: escape value {v:#x} is not a character"))
}
