//! `bgctl` run as a process: exit codes and output of `bgctl validate`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bgctl-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bgctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bgctl"))
        .args(args)
        .output()
        .unwrap()
}

fn validate(path: &Path) -> Output {
    bgctl(&["validate", "-f", path.to_str().unwrap()])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

const VALID: &str = "\
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: DenyPolicy
metadata:
  name: protect-secrets
spec:
  rules:
    - verbs: [delete]
      apiGroups: [\"\"]
      resources: [secrets]
";

const INVALID: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: breakglass
---
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: BreakglassEscalation
metadata:
  name: sre
  namespace: breakglass
spec:
  escalatedGroup: cluster-admin
  allowed:
    clusters: [prod]
    groups: [sre]
  approvers: {}
  maxValidFor: 1h
  approvalTimeout: 2h
";

#[test]
fn samples_are_valid() {
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/samples");
    let out = validate(&samples);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains(" 0 invalid"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn invalid_file_in_a_directory() {
    let dir = TempDir::new("invalid");
    dir.write("a/ok.yml", VALID);
    let bad = dir.write("b/bad.yaml", INVALID);
    dir.write("notes.txt", "not a manifest: [");
    let out = validate(&dir.0);
    assert_eq!(out.status.code(), Some(1));
    let shown = bad.display();
    assert_eq!(
        text(&out.stdout),
        format!(
            "{shown}:2 BreakglassEscalation/sre: spec.approvers: Required value: at least one approver user or group is required\n\
             {shown}:2 BreakglassEscalation/sre: spec.approvalTimeout: Invalid value: \"2h\": must not exceed maxValidFor (1h0m0s)\n"
        )
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "note: {shown}:1 Namespace/breakglass: skipped, v1 is not a breakglass API group"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("checked 2 document(s) in 2 file(s): 1 invalid, 1 skipped"),
        "{stderr}"
    );
}

#[test]
fn warnings_go_to_stderr() {
    let dir = TempDir::new("warnings");
    let file = dir.write(
        "template.yaml",
        "\
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: DebugSessionTemplate
metadata:
  name: tools
spec:
  podTemplateRef: tools-pod
",
    );
    let out = validate(&file);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).starts_with(&format!(
            "warning: {}:1 DebugSessionTemplate/tools: spec.podTemplateRef: podTemplateRef given as a string is read as {{name: \"tools-pod\"}}; write it as an object\n",
            file.display()
        )),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unreadable_input_exits_2() {
    let dir = TempDir::new("unreadable");
    let out = validate(&dir.0.join("missing.yaml"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: "),
        "{}",
        text(&out.stderr)
    );

    let broken = dir.write("broken.yaml", "apiVersion: v1\nkind: [unclosed\n");
    let out = validate(&broken);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("error: {}:", broken.display())),
        "{}",
        text(&out.stderr)
    );

    let duplicate = dir.write("duplicate.yaml", "kind: A\nkind: B\n");
    assert_eq!(validate(&duplicate).status.code(), Some(2));

    // An unreadable file wins over an invalid one.
    dir.write("invalid.yaml", INVALID);
    assert_eq!(validate(&dir.0).status.code(), Some(2));
}

#[test]
fn json_lists_and_stdin() {
    let dir = TempDir::new("json");
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            serde_json::from_str::<serde_json::Value>(r#"{"apiVersion":"breakglass.t-caas.telekom.com/v1alpha1","kind":"MailProvider","metadata":{"name":"smtp"},"spec":{"smtp":{"host":"smtp.example.com","port":0},"sender":{"address":"bg@example.com"}}}"#).unwrap()
        ]
    });
    let file = dir.write("list.json", &list.to_string());
    let out = validate(&file);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}:1 MailProvider/smtp: items[0].spec.smtp.port: Invalid value: 0: must be greater than or equal to 1\n",
            file.display()
        )
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_bgctl"))
        .args(["validate", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(VALID.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn help_documents_the_output() {
    let out = bgctl(&["validate", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "FILE:DOC KIND/NAME: FIELD.PATH: MESSAGE",
        "from 1",
        "Exit status: 0",
        "warning:",
    ] {
        assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
    }
}
