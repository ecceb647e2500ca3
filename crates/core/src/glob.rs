//! Glob matching with the exact semantics of Go's `path.Match`, plus the
//! wrapper rules breakglass applies on top of it (cluster names, groups,
//! resource names).
//!
//! Grammar (Go `path.Match`):
//!
//! ```text
//! pattern:     { term }
//! term:        '*'         any sequence of non-'/' characters
//!              '?'         any single non-'/' character
//!              '[' [ '^' ] { character-range } ']'
//!                          character class (must be non-empty)
//!              c           matches character c (c != '*', '?', '\\', '[')
//!              '\\' c      matches character c
//! character-range:
//!              c           matches character c (c != '\\', '-', ']')
//!              '\\' c      matches character c
//!              lo '-' hi   matches character c for lo <= c <= hi
//! ```
//!
//! There is no `{a,b}` alternation, `[!x]` is a class containing `!` and `x`,
//! and `**` is simply two stars. No crate reproduces this exactly, and the
//! differences would silently change what a user's pattern grants, so the
//! matcher is a direct port operating on bytes (as Go does).

use thiserror::Error;

/// The pattern is malformed (Go's `path.ErrBadPattern`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("syntax error in pattern {pattern:?}")]
pub struct BadPattern {
    /// The offending pattern.
    pub pattern: String,
}

/// Reports whether `name` matches the shell pattern `pattern`, exactly like
/// Go's `path.Match`.
///
/// Like Go (since 1.16), a malformed pattern is reported as an error even when
/// the match already failed on an earlier part of the pattern, so the result
/// never depends on `name` for a bad pattern.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    match_bytes(pattern.as_bytes(), name.as_bytes()).map_err(|Malformed| BadPattern {
        pattern: pattern.to_owned(),
    })
}

/// Checks that `pattern` is a well-formed `path.Match` pattern.
///
/// Used at admission time so the same grammar is enforced when a pattern is
/// stored and when it is evaluated.
pub fn validate_pattern(pattern: &str) -> Result<(), BadPattern> {
    path_match(pattern, "").map(|_| ())
}

/// Matches `value` against `pattern` with breakglass's wrapper semantics:
///
/// * the pattern `*` alone matches everything, including the empty string and
///   values containing `/`;
/// * a pattern containing `*`, `?` or `[` is evaluated with [`path_match`]
///   (so `*` does not cross `/`);
/// * any other pattern is compared by exact, case-sensitive equality (so a
///   lone `\` or `]` is a literal, never an error).
pub fn glob_match(pattern: &str, value: &str) -> Result<bool, BadPattern> {
    if pattern == "*" {
        return Ok(true);
    }
    if has_meta(pattern) {
        return path_match(pattern, value);
    }
    Ok(pattern == value)
}

/// True if any pattern matches `value` under [`glob_match`]. Invalid patterns
/// are skipped (they match nothing); an empty list matches nothing.
pub fn match_any<S: AsRef<str>>(patterns: &[S], value: &str) -> bool {
    patterns
        .iter()
        .any(|p| glob_match(p.as_ref(), value).unwrap_or(false))
}

/// True if any of `user_groups` matches any of `allowed_groups` (patterns,
/// [`glob_match`] semantics; invalid patterns are skipped).
pub fn match_groups<A: AsRef<str>, U: AsRef<str>>(allowed_groups: &[A], user_groups: &[U]) -> bool {
    allowed_groups.iter().any(|pattern| {
        user_groups
            .iter()
            .any(|g| glob_match(pattern.as_ref(), g.as_ref()).unwrap_or(false))
    })
}

/// True if `pattern` contains a character that makes [`glob_match`] use
/// pattern matching rather than plain equality.
pub fn has_meta(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Escapes every metacharacter so the result matches exactly `literal` under
/// [`path_match`].
pub fn escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Internal marker for a malformed pattern; the public error carries the text.
struct Malformed;

fn match_bytes(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, Malformed> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star matches the rest of the name unless it has a '/'.
            return Ok(!name.contains(&b'/'));
        }
        // Try to match the chunk at the current position.
        let (t, ok, err) = match_chunk(chunk, name);
        // The last chunk must consume the whole name; otherwise a star may
        // still find a later position.
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if err {
            return Err(Malformed);
        }
        if star {
            // Skip i+1 bytes of the name; a star cannot skip '/'.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok, err) = match_chunk(chunk, &name[i + 1..]);
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                if err {
                    return Err(Malformed);
                }
                i += 1;
            }
        }
        // Before reporting a mismatch, check that the rest of the pattern is
        // well-formed, so a bad pattern is always an error.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if match_chunk(chunk, b"").2 {
                return Err(Malformed);
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off the leading stars and the following chunk up to the next
/// unbracketed star.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    let mut p = pattern;
    while let [b'*', rest @ ..] = p {
        p = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            // Malformed escapes are reported by match_chunk.
            b'\\' if i + 1 < p.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

/// Matches `chunk` (no unbracketed stars) against the start of `s`.
/// Returns the unmatched rest of `s`, whether it matched, and whether the
/// chunk is malformed. After a mismatch the chunk is still parsed to the end
/// so malformed syntax is always detected.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> (&'a [u8], bool, bool) {
    const BAD: (&[u8], bool, bool) = (b"", false, true);
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut r: u32 = 0;
                if !failed {
                    let (rune, n) = decode_rune(s);
                    r = rune;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0usize;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let Some((lo, rest)) = get_esc(chunk) else {
                        return BAD;
                    };
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let Some((h, rest)) = get_esc(&chunk[1..]) else {
                            return BAD;
                        };
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                let lit = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&b) => b,
                        None => return BAD,
                    }
                } else {
                    c
                };
                if !failed {
                    if lit != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        (b"", false, false)
    } else {
        (s, true, false)
    }
}

/// Reads one (possibly escaped) character of a class range. `None` means the
/// pattern is malformed: a missing character, an unescaped `-` or `]`, or the
/// class is not closed.
fn get_esc(chunk: &[u8]) -> Option<(u32, &[u8])> {
    let mut chunk = match chunk.first() {
        None | Some(b'-') | Some(b']') => return None,
        Some(_) => chunk,
    };
    if chunk[0] == b'\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return None;
        }
    }
    let (r, n) = decode_rune(chunk);
    if r == RUNE_ERROR && n == 1 {
        return None;
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return None;
    }
    Some((r, rest))
}

const RUNE_ERROR: u32 = 0xFFFD;

/// Decodes the first UTF-8 character of `s` like Go's
/// `utf8.DecodeRune`: an invalid or truncated sequence yields
/// (`U+FFFD`, 1); an empty input yields (`U+FFFD`, 0).
fn decode_rune(s: &[u8]) -> (u32, usize) {
    let Some(&b0) = s.first() else {
        return (RUNE_ERROR, 0);
    };
    if b0 < 0x80 {
        return (u32::from(b0), 1);
    }
    let width = match b0 {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (RUNE_ERROR, 1),
    };
    match s.get(..width).map(std::str::from_utf8) {
        Some(Ok(text)) => text
            .chars()
            .next()
            .map_or((RUNE_ERROR, 1), |c| (u32::from(c), width)),
        _ => (RUNE_ERROR, 1),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Go's own `path.Match` test vectors (`src/path/match_test.go`).
    /// `None` = `ErrBadPattern`.
    const GO_VECTORS: &[(&str, &str, Option<bool>)] = &[
        ("abc", "abc", Some(true)),
        ("*", "abc", Some(true)),
        ("*c", "abc", Some(true)),
        ("a*", "a", Some(true)),
        ("a*", "abc", Some(true)),
        ("a*", "ab/c", Some(false)),
        ("a*/b", "abc/b", Some(true)),
        ("a*/b", "a/c/b", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
        ("ab[c]", "abc", Some(true)),
        ("ab[b-d]", "abc", Some(true)),
        ("ab[e-g]", "abc", Some(false)),
        ("ab[^c]", "abc", Some(false)),
        ("ab[^b-d]", "abc", Some(false)),
        ("ab[^e-g]", "abc", Some(true)),
        ("a\\*b", "a*b", Some(true)),
        ("a\\*b", "ab", Some(false)),
        ("a?b", "a☺b", Some(true)),
        ("a[^a]b", "a☺b", Some(true)),
        ("a???b", "a☺b", Some(false)),
        ("a[^a][^a][^a]b", "a☺b", Some(false)),
        ("[a-ζ]*", "α", Some(true)),
        ("*[a-ζ]", "A", Some(false)),
        ("a?b", "a/b", Some(false)),
        ("a*b", "a/b", Some(false)),
        ("[\\]a]", "]", Some(true)),
        ("[\\-]", "-", Some(true)),
        ("[x\\-]", "x", Some(true)),
        ("[x\\-]", "-", Some(true)),
        ("[x\\-]", "z", Some(false)),
        ("[\\-x]", "x", Some(true)),
        ("[\\-x]", "-", Some(true)),
        ("[\\-x]", "a", Some(false)),
        ("[]a]", "]", None),
        ("[-]", "-", None),
        ("[x-]", "x", None),
        ("[x-]", "-", None),
        ("[x-]", "z", None),
        ("[-x]", "x", None),
        ("[-x]", "-", None),
        ("[-x]", "a", None),
        ("\\", "a", None),
        ("[a-b-c]", "a", None),
        ("[", "a", None),
        ("[^", "a", None),
        ("[^bc", "a", None),
        ("a[", "a", None),
        ("a[", "ab", None),
        ("a[", "x", None),
        ("a/b[", "x", None),
        ("*x", "xxx", Some(true)),
    ];

    #[test]
    fn go_path_match_vectors() {
        for &(pattern, name, want) in GO_VECTORS {
            let got = path_match(pattern, name).ok();
            assert_eq!(got, want, "path_match({pattern:?}, {name:?})");
        }
    }

    /// Grammar facts that distinguish Go from the usual Rust glob crates.
    #[test]
    fn go_grammar_facts() {
        let rows: &[(&str, &str, Option<bool>)] = &[
            // `!` is not negation.
            ("[!a]", "b", Some(false)),
            ("[!a]", "!", Some(true)),
            // No brace alternation.
            ("{a,b}", "a", Some(false)),
            ("{a,b}", "{a,b}", Some(true)),
            // `**` is two stars and does not cross '/'.
            ("**", "a/b", Some(false)),
            ("a/**", "a/b", Some(true)),
            ("a/**", "a/b/c", Some(false)),
            // Escapes.
            ("\\?", "?", Some(true)),
            ("\\?", "a", Some(false)),
            ("\\[", "[", Some(true)),
            ("a\\", "a", None),
            // `*` and `?` never match '/'.
            ("*", "a/b", Some(false)),
            ("?", "/", Some(false)),
            ("[^a]", "/", Some(true)),
            // Empty pattern matches only the empty name.
            ("", "", Some(true)),
            ("", "a", Some(false)),
            ("*", "", Some(true)),
            // A bad pattern is reported even when the match fails early.
            ("x[", "a", None),
            ("a*b[", "zzz", None),
            ("a[b-", "zz", None),
            // ... and also for an empty name.
            ("[", "", None),
        ];
        for &(pattern, name, want) in rows {
            assert_eq!(
                path_match(pattern, name).ok(),
                want,
                "path_match({pattern:?}, {name:?})"
            );
        }
    }

    /// Behaviour table of the wrapper (tests-and-issues §3.1).
    #[test]
    fn glob_match_table() {
        let rows: &[(&str, &str, Option<bool>)] = &[
            ("*", "anything", Some(true)),
            ("*", "", Some(true)),
            ("*", "a/b", Some(true)),
            ("admin", "admin", Some(true)),
            ("admin", "user", Some(false)),
            ("Admin", "admin", Some(false)),
            ("platform-*", "platform-sre", Some(true)),
            ("platform-*", "tenant-sre", Some(false)),
            ("*-admin", "super-admin", Some(true)),
            ("*-admin", "admin-super", Some(false)),
            ("*.tst.*", "cluster.tst.eu", Some(true)),
            ("*.tst.*", "cluster.prd.eu", Some(false)),
            ("team-?", "team-a", Some(true)),
            ("team-?", "team-", Some(false)),
            ("team-?", "team-ab", Some(false)),
            ("team-[abc]", "team-a", Some(true)),
            ("team-[abc]", "team-d", Some(false)),
            ("[invalid", "test", None),
            ("", "", Some(true)),
            ("", "test", Some(false)),
            // Without metacharacters the pattern is a literal.
            ("a\\b", "a\\b", Some(true)),
            ("a]", "a]", Some(true)),
        ];
        for &(pattern, value, want) in rows {
            assert_eq!(
                glob_match(pattern, value).ok(),
                want,
                "glob_match({pattern:?}, {value:?})"
            );
        }
    }

    #[test]
    fn match_any_skips_invalid_patterns() {
        assert!(match_any(&["[invalid", "valid"], "valid"));
        assert!(!match_any(&["[invalid"], "[invalid"));
        assert!(!match_any::<&str>(&[], "valid"));
        assert!(match_any(&["prod-*", "dev"], "prod-eu"));
    }

    #[test]
    fn match_groups_table() {
        assert!(match_groups(&["*"], &["anything"]));
        assert!(match_groups(&["ops", "sre-*"], &["dev", "sre-oncall"]));
        assert!(!match_groups(&["ops"], &["dev", "sre"]));
        assert!(!match_groups::<&str, &str>(&["*"], &[]));
        assert!(!match_groups::<&str, &str>(&[], &["ops"]));
        assert!(match_groups(&["[bad", "ops"], &["ops"]));
    }

    #[test]
    fn validate_pattern_table() {
        assert!(validate_pattern("prod-*").is_ok());
        assert!(validate_pattern("team-[a-c]").is_ok());
        assert!(validate_pattern("").is_ok());
        let err = validate_pattern("[invalid").unwrap_err();
        assert_eq!(err.pattern, "[invalid");
        assert_eq!(err.to_string(), "syntax error in pattern \"[invalid\"");
        assert!(validate_pattern("a\\").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(pattern in "\\PC{0,12}", name in "\\PC{0,12}") {
            let _ = path_match(&pattern, &name);
            let _ = glob_match(&pattern, &name);
        }

        #[test]
        fn never_panics_on_meta_heavy_input(
            pattern in "[-\\[\\]\\\\*?^a/é]{0,10}",
            name in "[-\\[\\]\\\\*?^a/é]{0,6}",
        ) {
            let result = path_match(&pattern, &name);
            // A bad pattern is bad whatever the name.
            prop_assert_eq!(result.is_err(), validate_pattern(&pattern).is_err());
        }

        #[test]
        fn escaped_literal_matches_exactly_itself(literal in "\\PC{0,12}", other in "\\PC{0,12}") {
            let pattern = escape(&literal);
            prop_assert_eq!(path_match(&pattern, &literal), Ok(true));
            prop_assert_eq!(path_match(&pattern, &other), Ok(other == literal));
        }

        #[test]
        fn star_never_crosses_slash(prefix in "[a-z]{0,4}", a in "[a-z/]{0,4}", b in "[a-z]{0,4}") {
            let name = format!("{prefix}{a}/{b}");
            prop_assert_eq!(path_match(&format!("{prefix}*"), &name), Ok(false));
        }

        #[test]
        fn star_matches_any_slash_free_suffix(prefix in "[a-z-]{0,6}", suffix in "[^/]{0,6}") {
            let name = format!("{prefix}{suffix}");
            prop_assert_eq!(path_match(&format!("{}*", escape(&prefix)), &name), Ok(true));
        }

        #[test]
        fn plain_patterns_are_equality(pattern in "[a-zA-Z0-9._/-]{0,8}", value in "[a-zA-Z0-9._/-]{0,8}") {
            prop_assert_eq!(glob_match(&pattern, &value), Ok(pattern == value));
        }
    }
}
