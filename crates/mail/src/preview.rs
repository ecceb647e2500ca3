//! Sample data for every kind of mail: used to check templates at load and by the
//! preview command that writes every rendered mail to files.

use std::path::{Path, PathBuf};

use crate::template::{MailContext, MailKind, TemplateError, Templates};

/// A plausible context for `kind`, with every field the kind uses filled in.
pub fn sample(kind: MailKind) -> MailContext {
    let debug = matches!(
        kind,
        MailKind::DebugRequest
            | MailKind::DebugCreated
            | MailKind::DebugApproved
            | MailKind::DebugRejected
            | MailKind::DebugFailed
            | MailKind::DebugExpired
            | MailKind::DebugTerminated
    );
    let base_url = "https://breakglass.example.com".to_owned();
    let session = if debug {
        "debug-alice-prod-1-x7k2p"
    } else {
        "prod-1-cluster-admin-x7k2p"
    };
    let link = if kind == MailKind::SessionRequest {
        format!("{base_url}/session/{session}/approve")
    } else if debug {
        format!("{base_url}/debug-sessions/{session}")
    } else {
        format!("{base_url}/sessions/review")
    };
    let decided = matches!(
        kind,
        MailKind::SessionApproved
            | MailKind::SessionRejected
            | MailKind::DebugApproved
            | MailKind::DebugRejected
    );
    MailContext {
        brand: "Breakglass".to_owned(),
        base_url,
        link,
        recipient: if matches!(kind, MailKind::SessionRequest | MailKind::DebugRequest) {
            "bob@example.com".to_owned()
        } else {
            "alice@example.com".to_owned()
        },
        session: session.to_owned(),
        namespace: if debug { "debug" } else { "breakglass" }.to_owned(),
        cluster: "prod-1".to_owned(),
        user: "alice@example.com".to_owned(),
        group: if debug { "" } else { "cluster-admin" }.to_owned(),
        template: if debug { "node-debug" } else { "" }.to_owned(),
        reason: "INC-4711: database pods crash-looping".to_owned(),
        approver: if decided { "bob@example.com" } else { "" }.to_owned(),
        approval_reason: if decided {
            "checked with the on-call lead"
        } else {
            ""
        }
        .to_owned(),
        approver_groups: if kind == MailKind::SessionRequest {
            vec!["sre-leads".to_owned()]
        } else {
            Vec::new()
        },
        duration: "1h0m0s".to_owned(),
        starts_at: if kind == MailKind::SessionActivated {
            "2026-12-03T10:00:00Z".to_owned()
        } else {
            String::new()
        },
        expires_at: "2026-12-03T11:00:00Z".to_owned(),
        identity_provider: if kind == MailKind::SessionApproved {
            "corporate-sso".to_owned()
        } else {
            String::new()
        },
        message: match kind {
            MailKind::SessionExpired => "its validity ended".to_owned(),
            MailKind::SessionIdleExpired => "it was not used for its idle timeout".to_owned(),
            MailKind::DebugFailed => "template node-debug not found".to_owned(),
            MailKind::DebugTerminated => "terminated by alice@example.com".to_owned(),
            _ => String::new(),
        },
    }
}

/// Renders every kind with sample data into `out` as `<kind>.html` and `<kind>.txt`
/// (the text file starts with a `Subject:` line). Returns the files written.
pub fn render_all(templates: &Templates, out: &Path) -> Result<Vec<PathBuf>, TemplateError> {
    let write = |path: PathBuf, text: &str| -> Result<PathBuf, TemplateError> {
        std::fs::write(&path, text).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    };
    std::fs::create_dir_all(out).map_err(|source| TemplateError::Read {
        path: out.display().to_string(),
        source,
    })?;
    let mut files = Vec::new();
    for kind in MailKind::ALL {
        let r = templates.render(kind, &sample(kind))?;
        files.push(write(out.join(format!("{}.html", kind.name())), &r.html)?);
        files.push(write(
            out.join(format!("{}.txt", kind.name())),
            &format!("Subject: {}\n\n{}", r.subject, r.text),
        )?);
    }
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn render_all_writes_html_and_text_for_every_kind() {
        let out = std::env::temp_dir().join(format!("bg-mail-preview-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let files = render_all(&Templates::embedded().unwrap(), &out).unwrap();
        assert_eq!(files.len(), 2 * MailKind::ALL.len());
        for kind in MailKind::ALL {
            let html = std::fs::read_to_string(out.join(format!("{}.html", kind.name()))).unwrap();
            assert!(html.contains("</html>"), "{kind:?}");
            let text = std::fs::read_to_string(out.join(format!("{}.txt", kind.name()))).unwrap();
            assert!(text.starts_with("Subject: "), "{kind:?}");
            assert!(text.contains(&sample(kind).session), "{kind:?}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
