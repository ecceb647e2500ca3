//! The `bgctl` binary's contract with scripts: version output and exit codes.

use crate::cli_support::bgctl;

#[tokio::test]
async fn bgctl_version_and_usage_errors_exit_codes() {
    let home = crate::cli_support::home("basics").unwrap();
    let out = bgctl(&home)
        .await
        .unwrap()
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("bgctl "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // An unknown flag is a usage error: exit 2 and the flag named.
    let out = bgctl(&home)
        .await
        .unwrap()
        .args(["validate", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}
