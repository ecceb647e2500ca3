//! Word-level string functions: `title`, `untitle`, `initials`, `swapcase`,
//! `snakecase`, `camelcase`, `kebabcase`, `abbrev`, `wrap`, `wrapWith`. Results are
//! derived (tainted as a whole when the input is).

use super::FuncEnv;
use super::FuncError;
use super::args::{self, check_len, derived};
use crate::template::value::Value;

/// Go's `strings.Title` word boundary.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// `title S`: the first letter of every word upper-cased (Go's `strings.Title`).
pub fn title(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut prev = ' ';
    let mut out = String::new();
    for c in args::string(a, 0)?.chars() {
        if is_separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    derived(out, a)
}

/// `untitle S`: the first letter of every space-separated word lower-cased.
pub fn untitle(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut next = true;
    let mut out = String::new();
    for c in args::string(a, 0)?.chars() {
        if c.is_whitespace() {
            next = true;
            out.push(c);
        } else if next {
            out.extend(c.to_lowercase());
            next = false;
        } else {
            out.push(c);
        }
    }
    derived(out, a)
}

/// `initials S`: the first character of every space-separated word.
pub fn initials(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let out: String = args::string(a, 0)?
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect();
    derived(out, a)
}

/// `swapcase S`: upper case to lower and lower to upper.
pub fn swapcase(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut out = String::new();
    for c in args::string(a, 0)?.chars() {
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else if c.is_lowercase() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    derived(out, a)
}

/// The words of an identifier: split at non-alphanumerics and at case changes
/// (`HTTPServer` → `HTTP`, `Server`; `firstName` → `first`, `Name`).
fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn joined_lower(s: &str, sep: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(sep)
}

/// `snakecase S`: `FirstName` → `first_name`.
pub fn snakecase(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    derived(joined_lower(args::string(a, 0)?, "_"), a)
}

/// `kebabcase S`: `FirstName` → `first-name`.
pub fn kebabcase(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    derived(joined_lower(args::string(a, 0)?, "-"), a)
}

/// `camelcase S`: `http_server` → `HttpServer` (parts split at `_`, `-` and spaces,
/// each capitalised, the rest of each part unchanged).
pub fn camelcase(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let mut out = String::new();
    for part in args::string(a, 0)?.split(['_', '-', ' ']) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    derived(out, a)
}

/// `abbrev WIDTH S`: `S` cut to `WIDTH` characters ending in `...`; unchanged when it
/// fits or `WIDTH` is below 4.
pub fn abbrev(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let width = args::int(a, 0)?;
    let s = args::string(a, 1)?;
    let len = s.chars().count();
    let Ok(width) = usize::try_from(width) else {
        return derived(s, a);
    };
    if width < 4 || len <= width {
        return derived(s, a);
    }
    let mut out: String = s.chars().take(width - 3).collect();
    out.push_str("...");
    derived(out, a)
}

/// `wrap WIDTH S`: lines broken at spaces to at most `WIDTH` characters (longer words
/// stay whole).
pub fn wrap(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let width = args::int(a, 0)?;
    let s = args::string(a, 1)?;
    let out = wrap_words(s, width, "\n", false);
    check_len(out.len())?;
    derived(out, a)
}

/// `wrapWith WIDTH SEP S`: like `wrap` with `SEP` between lines; long words are cut.
pub fn wrap_with(a: &[Value], _: &FuncEnv) -> Result<Value, FuncError> {
    let width = args::int(a, 0)?;
    let sep = args::string(a, 1)?;
    let s = args::string(a, 2)?;
    let lines = s.chars().count() / usize::try_from(width.max(1)).unwrap_or(1) + 1;
    check_len(s.len().saturating_add(lines.saturating_mul(sep.len())))?;
    let out = wrap_words(s, width, sep, true);
    check_len(out.len())?;
    derived(out, a)
}

/// Apache Commons' `WordUtils.wrap`, on characters.
fn wrap_words(s: &str, width: i64, newline: &str, long_words: bool) -> String {
    let width = usize::try_from(width.max(1)).unwrap_or(1);
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    let mut out = String::new();
    let mut offset = 0;
    while len - offset > width {
        if chars[offset] == ' ' {
            offset += 1;
            continue;
        }
        let window_end = (offset + width + 1).min(len);
        let space = chars[offset..window_end].iter().rposition(|&c| c == ' ');
        match space {
            Some(rel) if rel > 0 => {
                out.push_str(&text(offset, offset + rel));
                out.push_str(newline);
                offset += rel + 1;
            }
            _ if long_words => {
                out.push_str(&text(offset, offset + width));
                out.push_str(newline);
                offset += width;
            }
            _ => match chars[offset + width..].iter().position(|&c| c == ' ') {
                Some(rel) => {
                    let at = offset + width + rel;
                    out.push_str(&text(offset, at));
                    out.push_str(newline);
                    offset = at + 1;
                }
                None => {
                    out.push_str(&text(offset, len));
                    offset = len;
                }
            },
        }
    }
    out.push_str(&text(offset, len));
    out
}
