//! Request and approval reasons: length limit and an allow-list sanitiser.
//!
//! Reasons end up in mails, the UI and webhook deny messages, so only a conservative
//! character set survives: letters, digits, space and `.,;!?'-`.

/// Longest accepted reason, in characters after trimming.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a reason was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    /// Longer than [`MAX_REASON_CHARS`].
    #[error("reason is {0} characters long; at most {MAX_REASON_CHARS} are allowed")]
    TooLong(usize),
    /// Required but empty (after sanitising).
    #[error("a reason is required")]
    Missing,
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | ',' | ';' | '!' | '?' | '\'' | '-')
}

/// Trims, checks the length, strips every character outside the allow-list and trims
/// again. `mandatory` rejects a reason that is empty afterwards.
pub fn sanitize_reason(raw: &str, mandatory: bool) -> Result<String, ReasonError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len > MAX_REASON_CHARS {
        return Err(ReasonError::TooLong(len));
    }
    let cleaned: String = trimmed.chars().filter(|c| allowed(*c)).collect();
    let cleaned = cleaned.trim().to_owned();
    if mandatory && cleaned.is_empty() {
        return Err(ReasonError::Missing);
    }
    Ok(cleaned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sanitiser_table() {
        let cases = [
            ("<script>alert('xss')</script>", "scriptalert'xss'script"),
            ("javascript:alert(1)", "javascriptalert1"),
            (
                "<img src=\"x\" onerror=\"alert(1)\">",
                "img srcx onerroralert1",
            ),
            ("%3Cscript%3Ealert", "3Cscript3Ealert"),
            ("fix ☃ prod 🚀", "fix  prod"),
            ("a\0b", "ab"),
            ("Line1\nLine2\tx", "Line1Line2x"),
            ("'; DROP TABLE sessions; --", "'; DROP TABLE sessions; --"),
            ("  incident INC-42, db down!  ", "incident INC-42, db down!"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_reason(input, false).unwrap(), want, "{input:?}");
        }
    }

    #[test]
    fn length_limit_counts_characters_after_trim() {
        let ok = "x".repeat(500);
        assert_eq!(sanitize_reason(&format!("  {ok}  "), true).unwrap(), ok);
        assert_eq!(
            sanitize_reason(&"ä".repeat(501), false),
            Err(ReasonError::TooLong(501))
        );
    }

    #[test]
    fn mandatory_reason_must_survive_sanitising() {
        assert_eq!(sanitize_reason("", true), Err(ReasonError::Missing));
        assert_eq!(sanitize_reason("<>", true), Err(ReasonError::Missing));
        assert_eq!(sanitize_reason("", false).unwrap(), "");
    }

    proptest::proptest! {
        #[test]
        fn output_only_has_allowed_characters(s in "\\PC{0,600}") {
            if let Ok(out) = sanitize_reason(&s, false) {
                proptest::prop_assert!(out.chars().all(allowed));
                proptest::prop_assert_eq!(out.trim(), out.as_str());
            }
        }
    }
}
