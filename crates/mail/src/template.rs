//! Mail templates: a subject, an HTML and a plain-text body per kind of mail.
//!
//! The defaults are compiled in. An operator may replace any of them with files of the
//! same name in a directory ([`Templates::load`]); a broken override set is refused as
//! a whole at load (every template is rendered with sample data then), so the server
//! keeps the defaults instead of failing later when a mail is due.
//!
//! HTML bodies are auto-escaped (the template name ends in `.html`): values such as a
//! requester's reason stay text. Undefined variables are errors, so a typo in an
//! override is caught at load.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Every kind of mail the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// A session request, to each approver.
    SessionRequest,
    /// A session was approved, to the requester.
    SessionApproved,
    /// A session was rejected, to the requester.
    SessionRejected,
    /// A scheduled session became active, to the requester.
    SessionActivated,
    /// A session expired or timed out waiting for approval, to the requester.
    SessionExpired,
    /// A session ended because it was unused, to the requester.
    SessionIdleExpired,
    /// A debug session needs approval, to its approvers.
    DebugRequest,
    /// A debug session was created, to the requester.
    DebugCreated,
    /// A debug session was approved, to the requester.
    DebugApproved,
    /// A debug session was rejected, to the requester.
    DebugRejected,
    /// A debug session failed, to the requester.
    DebugFailed,
    /// A debug session expired, to the requester and additional recipients.
    DebugExpired,
    /// A debug session was terminated, to the requester and additional recipients.
    DebugTerminated,
}

impl MailKind {
    /// Every kind, in a fixed order.
    pub const ALL: [MailKind; 13] = [
        MailKind::SessionRequest,
        MailKind::SessionApproved,
        MailKind::SessionRejected,
        MailKind::SessionActivated,
        MailKind::SessionExpired,
        MailKind::SessionIdleExpired,
        MailKind::DebugRequest,
        MailKind::DebugCreated,
        MailKind::DebugApproved,
        MailKind::DebugRejected,
        MailKind::DebugFailed,
        MailKind::DebugExpired,
        MailKind::DebugTerminated,
    ];

    /// The base name of the kind's template files (`session_request`, …).
    pub fn name(self) -> &'static str {
        match self {
            MailKind::SessionRequest => "session_request",
            MailKind::SessionApproved => "session_approved",
            MailKind::SessionRejected => "session_rejected",
            MailKind::SessionActivated => "session_activated",
            MailKind::SessionExpired => "session_expired",
            MailKind::SessionIdleExpired => "session_idle_expired",
            MailKind::DebugRequest => "debug_request",
            MailKind::DebugCreated => "debug_created",
            MailKind::DebugApproved => "debug_approved",
            MailKind::DebugRejected => "debug_rejected",
            MailKind::DebugFailed => "debug_failed",
            MailKind::DebugExpired => "debug_expired",
            MailKind::DebugTerminated => "debug_terminated",
        }
    }
}

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

/// The compiled-in templates: (file name, source).
const DEFAULTS: &[(&str, &str)] = embedded![
    "base.html",
    "base.txt",
    "session_request.subject",
    "session_request.html",
    "session_request.txt",
    "session_approved.subject",
    "session_approved.html",
    "session_approved.txt",
    "session_rejected.subject",
    "session_rejected.html",
    "session_rejected.txt",
    "session_activated.subject",
    "session_activated.html",
    "session_activated.txt",
    "session_expired.subject",
    "session_expired.html",
    "session_expired.txt",
    "session_idle_expired.subject",
    "session_idle_expired.html",
    "session_idle_expired.txt",
    "debug_request.subject",
    "debug_request.html",
    "debug_request.txt",
    "debug_created.subject",
    "debug_created.html",
    "debug_created.txt",
    "debug_approved.subject",
    "debug_approved.html",
    "debug_approved.txt",
    "debug_rejected.subject",
    "debug_rejected.html",
    "debug_rejected.txt",
    "debug_failed.subject",
    "debug_failed.html",
    "debug_failed.txt",
    "debug_expired.subject",
    "debug_expired.html",
    "debug_expired.txt",
    "debug_terminated.subject",
    "debug_terminated.html",
    "debug_terminated.txt",
];

/// Largest template file accepted from an override directory.
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

/// The values a template can use. Every field is always defined (empty when it does
/// not apply), so templates test with `{% if x %}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MailContext {
    /// Product name (`frontend.brandingName`).
    pub brand: String,
    /// Public URL of the UI (`frontend.baseURL`).
    pub base_url: String,
    /// The link the mail points to (the approval page for requests).
    pub link: String,
    /// Address the mail goes to.
    pub recipient: String,
    /// Name of the session.
    pub session: String,
    /// Namespace of the session (debug: the target namespace).
    pub namespace: String,
    /// Target cluster.
    pub cluster: String,
    /// The requester.
    pub user: String,
    /// The requested group (breakglass sessions).
    pub group: String,
    /// The debug-session template.
    pub template: String,
    /// The requester's reason.
    pub reason: String,
    /// Who approved or rejected.
    pub approver: String,
    /// The approver's note.
    pub approval_reason: String,
    /// The approver groups through which the recipient may approve (requests).
    pub approver_groups: Vec<String>,
    /// Requested duration.
    pub duration: String,
    /// Scheduled or actual start (RFC 3339).
    pub starts_at: String,
    /// End of validity (RFC 3339).
    pub expires_at: String,
    /// The identity provider the requester must log in with.
    pub identity_provider: String,
    /// A free-form explanation (why it ended, why it failed).
    pub message: String,
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line (one line).
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// Why templates could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The override directory could not be read.
    #[error("mail templates: cannot read {path}: {source}")]
    Read {
        /// File or directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file in the override directory is not a known template.
    #[error(
        "mail templates: unknown file {file} in {dir}; expected base.html, base.txt or <kind>.subject|.html|.txt with kind one of {kinds}"
    )]
    Unknown {
        /// The directory.
        dir: String,
        /// The file name.
        file: String,
        /// The known kinds.
        kinds: String,
    },
    /// A file is larger than allowed.
    #[error("mail templates: {file} is larger than {MAX_TEMPLATE_BYTES} bytes")]
    TooLarge {
        /// The file name.
        file: String,
    },
    /// A template does not compile or does not render with sample data.
    #[error("mail template {template}: {message}")]
    Syntax {
        /// The template (file name).
        template: String,
        /// What is wrong, with the line.
        message: String,
    },
}

fn syntax(template: &str, e: &minijinja::Error) -> TemplateError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TemplateError::Syntax {
        template: template.to_owned(),
        message,
    }
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// File names taken from the override directory.
    overridden: Vec<String>,
}

impl Default for Templates {
    fn default() -> Self {
        // The embedded set is checked by the tests; a failure here would be a build bug.
        Self::build(BTreeMap::new()).unwrap_or_else(|_| Templates {
            env: Environment::new(),
            overridden: Vec::new(),
        })
    }
}

impl Templates {
    /// The compiled-in templates.
    pub fn embedded() -> Result<Self, TemplateError> {
        Self::build(BTreeMap::new())
    }

    /// The compiled-in templates, with every file of `dir` replacing the one of the same
    /// name. Hidden entries (a mounted ConfigMap's `..data`) and directories are skipped;
    /// an unknown file name, an unreadable file or a template that does not render with
    /// sample data refuses the whole set.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        let read_err = |path: &Path, source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        };
        let mut overrides = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| read_err(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| read_err(dir, e))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if file.starts_with('.') || path.is_dir() {
                continue;
            }
            if !DEFAULTS.iter().any(|(name, _)| *name == file) {
                return Err(TemplateError::Unknown {
                    dir: dir.display().to_string(),
                    file,
                    kinds: MailKind::ALL
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            let meta = std::fs::metadata(&path).map_err(|e| read_err(&path, e))?;
            if meta.len() > MAX_TEMPLATE_BYTES {
                return Err(TemplateError::TooLarge { file });
            }
            let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
            overrides.insert(file, text);
        }
        Self::build(overrides)
    }

    fn build(overrides: BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(html_formatter);
        // `.html` templates are escaped for HTML (minijinja's default by file name);
        // subjects and text bodies are not markup.
        for (name, source) in DEFAULTS {
            let text = overrides
                .get(*name)
                .cloned()
                .unwrap_or_else(|| (*source).to_owned());
            env.add_template_owned(*name, text)
                .map_err(|e| syntax(name, &e))?;
        }
        let templates = Templates {
            env,
            overridden: overrides.into_keys().collect(),
        };
        for kind in MailKind::ALL {
            templates.render(kind, &crate::preview::sample(kind))?;
        }
        Ok(templates)
    }

    /// Names of the files that replaced a default.
    pub fn overridden(&self) -> &[String] {
        &self.overridden
    }

    /// Renders the mail of `kind`.
    pub fn render(&self, kind: MailKind, ctx: &MailContext) -> Result<Rendered, TemplateError> {
        let one = |ext: &str| -> Result<String, TemplateError> {
            let name = format!("{}.{ext}", kind.name());
            let t = self
                .env
                .get_template(&name)
                .map_err(|e| syntax(&name, &e))?;
            t.render(minijinja::value::Serde(ctx))
                .map_err(|e| syntax(&name, &e))
        };
        Ok(Rendered {
            subject: one_line(&one("subject")?),
            html: one("html")?,
            text: one("txt")?,
        })
    }
}

/// Escapes strings in HTML templates for text and attribute values (`& < > " '`) but
/// leaves `/` alone, so links stay readable in the markup; everything else goes
/// through minijinja's own escaping.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match (state.auto_escape(), value.as_str()) {
        (minijinja::AutoEscape::Html, Some(text)) if !value.is_safe() => {
            let mut escaped = String::with_capacity(text.len());
            for c in text.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    '"' => escaped.push_str("&quot;"),
                    '\'' => escaped.push_str("&#x27;"),
                    c => escaped.push(c),
                }
            }
            out.write_str(&escaped).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// A subject is one line: line breaks and other control characters become spaces, runs
/// of spaces collapse, and it is cut to 250 characters.
fn one_line(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 250 {
        out = out.chars().take(250).collect();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ctx() -> MailContext {
        crate::preview::sample(MailKind::SessionRequest)
    }

    #[test]
    fn every_kind_renders_subject_html_and_text() {
        let t = Templates::embedded().unwrap();
        for kind in MailKind::ALL {
            let r = t.render(kind, &crate::preview::sample(kind)).unwrap();
            assert!(!r.subject.is_empty(), "{kind:?}");
            assert!(!r.subject.contains('\n'), "{kind:?}");
            assert!(r.html.contains("<html"), "{kind:?}");
            assert!(!r.text.contains('<'), "{kind:?}: {}", r.text);
            assert!(r.text.contains("Breakglass"), "{kind:?}");
        }
    }

    #[test]
    fn request_subject_and_link_are_the_references() {
        let t = Templates::embedded().unwrap();
        let mut c = ctx();
        c.cluster = "prod-1".into();
        c.user = "alice@example.com".into();
        c.group = "cluster-admin".into();
        c.link = "https://bg.example.com/session/s-1/approve".into();
        let r = t.render(MailKind::SessionRequest, &c).unwrap();
        assert_eq!(
            r.subject,
            "Cluster \"prod-1\" user \"alice@example.com\" is requesting breakglass group assignment \"cluster-admin\""
        );
        assert!(
            r.html
                .contains("href=\"https://bg.example.com/session/s-1/approve\"")
        );
        assert!(
            r.text
                .contains("https://bg.example.com/session/s-1/approve")
        );
    }

    #[test]
    fn a_script_in_the_reason_stays_text_in_html() {
        let t = Templates::embedded().unwrap();
        let mut c = ctx();
        c.reason = "<script>alert('x')</script> & more \"q\"".into();
        let r = t.render(MailKind::SessionRequest, &c).unwrap();
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
        assert!(r.html.contains("&amp; more &quot;q&quot;"), "{}", r.html);
        // The plain-text body is not markup: the reason is there verbatim.
        assert!(r.text.contains("<script>alert('x')</script> & more"));
    }

    #[test]
    fn subjects_are_one_line_even_with_line_breaks_in_values() {
        let t = Templates::embedded().unwrap();
        let mut c = crate::preview::sample(MailKind::SessionActivated);
        c.session = "a\r\nBcc: evil@example.com".into();
        let r = t.render(MailKind::SessionActivated, &c).unwrap();
        assert_eq!(
            r.subject,
            "[Breakglass] Session Activated: a Bcc: evil@example.com"
        );
    }

    #[test]
    fn brand_appears_in_subjects_of_the_branded_kinds() {
        let t = Templates::embedded().unwrap();
        for kind in [
            MailKind::SessionActivated,
            MailKind::SessionExpired,
            MailKind::SessionIdleExpired,
            MailKind::DebugRequest,
            MailKind::DebugFailed,
        ] {
            let mut c = crate::preview::sample(kind);
            c.brand = "ACME Access".into();
            let r = t.render(kind, &c).unwrap();
            assert!(r.subject.starts_with("[ACME Access] "), "{}", r.subject);
        }
    }

    fn dir(files: &[(&str, &str)]) -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "bg-mail-tpl-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("..data")).unwrap();
        for (name, text) in files {
            std::fs::write(d.join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn an_override_replaces_only_its_file() {
        let d = dir(&[
            ("session_approved.subject", "Granted: {{ group }}"),
            (".hidden", "ignored"),
        ]);
        let t = Templates::load(&d).unwrap();
        assert_eq!(t.overridden(), ["session_approved.subject".to_owned()]);
        let c = crate::preview::sample(MailKind::SessionApproved);
        let r = t.render(MailKind::SessionApproved, &c).unwrap();
        assert_eq!(r.subject, format!("Granted: {}", c.group));
        // The bodies are still the defaults.
        let d2 = Templates::embedded().unwrap();
        assert_eq!(
            r.html,
            d2.render(MailKind::SessionApproved, &c).unwrap().html
        );
    }

    #[test]
    fn an_overridden_html_body_is_still_escaped() {
        let d = dir(&[(
            "session_request.html",
            "<p>{{ reason }}</p><a href=\"{{ link }}\">go</a>",
        )]);
        let t = Templates::load(&d).unwrap();
        let mut c = ctx();
        c.reason = "<script>x</script>".into();
        let r = t.render(MailKind::SessionRequest, &c).unwrap();
        assert_eq!(
            r.html,
            format!(
                "<p>&lt;script&gt;x&lt;/script&gt;</p><a href=\"{}\">go</a>",
                c.link
            )
        );
    }

    #[test]
    fn a_syntax_error_names_the_file() {
        let d = dir(&[("session_rejected.html", "{% if %}")]);
        let e = Templates::load(&d).unwrap_err().to_string();
        assert!(e.contains("session_rejected.html"), "{e}");
    }

    #[test]
    fn an_unknown_variable_is_refused_at_load() {
        let d = dir(&[("session_rejected.txt", "{{ no_such_thing }}")]);
        let e = Templates::load(&d).unwrap_err().to_string();
        assert!(e.contains("session_rejected.txt"), "{e}");
        assert!(e.contains("undefined"), "{e}");
    }

    #[test]
    fn an_unknown_file_is_refused_with_the_expected_names() {
        let d = dir(&[("session_aproved.html", "x")]);
        let e = Templates::load(&d).unwrap_err().to_string();
        assert!(e.contains("session_aproved.html"), "{e}");
        assert!(e.contains("session_approved"), "{e}");
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let e = Templates::load(Path::new("/nonexistent/bg-mail-templates")).unwrap_err();
        assert!(matches!(e, TemplateError::Read { .. }), "{e}");
    }
}
