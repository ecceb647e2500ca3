use super::file::parse;
use super::*;

#[test]
fn reference_style_file_parses_with_inline_and_named_providers() {
    let c = parse(
        r"
version: v1
current-context: prod
oidc-providers:
  - name: corp
    authority: https://idp.example/realms/x
    client-id: bgctl
    grant-type: device-code
    client-secret-env: BGCTL_SECRET
    extra-auth-params:
      prompt: login
contexts:
  - name: prod
    server: https://breakglass.example
    oidc-provider: corp
  - name: lab
    server: http://127.0.0.1:8080
    ca-file: /etc/lab-ca.pem
    oidc:
      authority: https://dex.lab
      client-id: cli
settings:
  output-format: json
  page-size: 20
  timeout: 45s
",
    )
    .unwrap();
    assert_eq!(c.current_context.as_deref(), Some("prod"));
    let prod = c.context("prod").unwrap();
    let (key, p) = c.provider_of(prod).unwrap().unwrap();
    assert_eq!(key, "corp");
    assert_eq!(p.grant(), GrantType::DeviceCode);
    assert_eq!(p.extra_auth_params["prompt"], "login");
    let (key, p) = c.provider_of(c.context("lab").unwrap()).unwrap().unwrap();
    assert_eq!(key, "context:lab");
    assert_eq!(p.client_id, "cli");
    assert_eq!(p.effective_scopes(), DEFAULT_SCOPES);
    assert_eq!(
        c.settings.timeout().unwrap(),
        Some(std::time::Duration::from_secs(45))
    );
    // What is written reads back the same.
    let text = serde_saphyr::to_string(&c).unwrap();
    assert_eq!(parse(&text).unwrap(), c);
}

#[test]
fn unknown_keys_and_bad_values_name_their_path() {
    let e = parse("version: v1\ncontexts:\n  - name: a\n    server: https://a\n    sever: x\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("contexts[0]") && e.contains("sever"), "{e}");
    let e = parse("version: v2\n").unwrap_err().to_string();
    assert!(e.contains("version"), "{e}");
    let e = parse("current-context: ghost\n").unwrap_err().to_string();
    assert!(e.contains("current-context") && e.contains("ghost"), "{e}");
    let e = parse("contexts:\n  - name: a\n    server: https://a\n    oidc-provider: nope\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("contexts[0].oidc-provider"), "{e}");
    let e = parse("settings:\n  timeout: 5d\n").unwrap_err().to_string();
    assert!(e.contains("settings.timeout"), "{e}");
    let e = parse("contexts:\n  - name: a\n    server: not a url\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("contexts[0].server"), "{e}");
}

#[test]
fn insecure_tls_is_refused_for_servers_and_providers() {
    let e = parse(
        "contexts:\n  - name: a\n    server: https://a.example\n    insecure-skip-tls-verify: true\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("contexts[0].insecure-skip-tls-verify"), "{e}");
    let e = parse(
        "oidc-providers:\n  - name: p\n    authority: https://i\n    client-id: c\n    insecure-skip-tls-verify: true\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("oidc-providers[0].insecure-skip-tls-verify"),
        "{e}"
    );
    // An explicit `false` from a reference config is fine.
    assert!(
        parse("contexts:\n  - name: a\n    server: https://a.example\n    insecure-skip-tls-verify: false\n")
            .is_ok()
    );
}

#[test]
fn empty_or_missing_file_is_an_empty_config() {
    assert_eq!(parse("").unwrap(), Config::default_v1());
    let missing = std::env::temp_dir().join("bgctl-no-such-dir/config.yaml");
    assert_eq!(load(&missing).unwrap(), Config::default_v1());
}

#[test]
fn durations_parse_with_units_and_bounds() {
    assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
    assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
    assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
    assert!(parse_duration("0s").is_err());
    assert!(parse_duration("25h").is_err());
    assert!(parse_duration("1d").is_err());
    assert!(parse_duration("m").is_err());
}
