//! IdentityProvider and MailProvider rules.

use serde_json::json;

use crate::support::{bad, check_table, check_warnings, ok};

const IDP: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: IdentityProvider
metadata:
  name: corp
spec:
  displayName: Corporate SSO
  issuer: https://idp.example.com/realms/corp
  oidc:
    authority: https://idp.example.com/realms/corp
    clientID: breakglass-ui
    expectedAudience: breakglass
"#;

fn keycloak() -> serde_json::Value {
    json!({"baseURL": "https://idp.example.com", "realm": "corp", "clientID": "sync", "clientSecretRef": {"name": "kc", "namespace": "breakglass"}})
}

fn with(mut base: serde_json::Value, patch: serde_json::Value) -> serde_json::Value {
    crate::support::merge(&mut base, &patch);
    base
}

#[test]
fn identity_provider_table() {
    check_table(
        IDP,
        vec![
            bad(
                "http authority",
                json!({"spec": {"oidc": {"authority": "http://idp.example.com"}}}),
                &[
                    "spec.oidc.authority: Invalid value: \"http://idp.example.com\": must be an absolute https URL",
                ],
            ),
            bad(
                "authority missing",
                json!({"spec": {"oidc": {"authority": null}}}),
                &["spec.oidc.authority: Required value"],
            ),
            bad(
                "authority too long",
                json!({"spec": {"oidc": {"authority": format!("https://{}", "a".repeat(250))}}}),
                &["spec.oidc.authority: Too long: may not be more than 253 bytes"],
            ),
            bad(
                "http JWKS endpoint",
                json!({"spec": {"oidc": {"jwksEndpoint": "http://idp/keys"}}}),
                &[
                    "spec.oidc.jwksEndpoint: Invalid value: \"http://idp/keys\": must be an absolute https URL",
                ],
            ),
            bad(
                "empty clientID",
                json!({"spec": {"oidc": {"clientID": ""}}}),
                &["spec.oidc.clientID: Required value"],
            ),
            bad(
                "expectedAudience missing",
                json!({"spec": {"oidc": {"expectedAudience": null}}}),
                &["spec.oidc.expectedAudience: Required value"],
            ),
            bad(
                "TLS verification disabled",
                json!({"spec": {"oidc": {"insecureSkipVerify": true}}}),
                &[
                    "spec.oidc.insecureSkipVerify: Forbidden: TLS verification may not be disabled for identity providers; set certificateAuthority instead",
                ],
            ),
            ok(
                "TLS verification explicitly on",
                json!({"spec": {"oidc": {"insecureSkipVerify": false}}}),
            ),
            bad(
                "http issuer",
                json!({"spec": {"issuer": "http://idp"}}),
                &["spec.issuer: Invalid value: \"http://idp\": must be an absolute https URL"],
            ),
            bad(
                "display name too long",
                json!({"spec": {"displayName": "d".repeat(101)}}),
                &["spec.displayName: Too long: may not be more than 100 bytes"],
            ),
            // keycloak iff groupSyncProvider
            ok(
                "keycloak group sync",
                json!({"spec": {"groupSyncProvider": "Keycloak", "keycloak": keycloak()}}),
            ),
            bad(
                "Keycloak without settings",
                json!({"spec": {"groupSyncProvider": "Keycloak"}}),
                &["spec.keycloak: Required value: required when groupSyncProvider is Keycloak"],
            ),
            bad(
                "incomplete keycloak settings",
                json!({"spec": {"groupSyncProvider": "Keycloak", "keycloak": {"baseURL": "https://kc"}}}),
                &[
                    "spec.keycloak.realm: Required value",
                    "spec.keycloak.clientID: Required value",
                    "spec.keycloak.clientSecretRef: Required value",
                ],
            ),
            bad(
                "settings without Keycloak",
                json!({"spec": {"keycloak": keycloak()}}),
                &["spec.keycloak: Forbidden: only allowed when groupSyncProvider is Keycloak"],
            ),
            bad(
                "keycloak over http with a bad cache TTL",
                json!({"spec": {"groupSyncProvider": "Keycloak", "keycloak": with(keycloak(), json!({"baseURL": "http://kc", "cacheTTL": "ten minutes"}))}}),
                &[
                    "spec.keycloak.baseURL: Invalid value: \"http://kc\": must be an absolute https URL",
                    "spec.keycloak.cacheTTL: Invalid value: \"ten minutes\": time: invalid duration \"ten minutes\"",
                ],
            ),
            bad(
                "keycloak TLS verification disabled",
                json!({"spec": {"groupSyncProvider": "Keycloak", "keycloak": with(keycloak(), json!({"insecureSkipVerify": true}))}}),
                &[
                    "spec.keycloak.insecureSkipVerify: Forbidden: TLS verification may not be disabled for group sync; set certificateAuthority instead",
                ],
            ),
            // session limits
            ok(
                "session limits",
                json!({"spec": {"sessionLimits": {"maxActiveSessionsPerUser": 2, "groupOverrides": [{"group": "sre-*", "unlimited": true}, {"group": "dev", "maxActiveSessionsPerUser": 1}]}}}),
            ),
            bad(
                "unlimited override with a limit",
                json!({"spec": {"sessionLimits": {"groupOverrides": [{"group": "sre", "unlimited": true, "maxActiveSessionsPerUser": 3}]}}}),
                &[
                    "spec.sessionLimits.groupOverrides[0].unlimited: Forbidden: unlimited cannot be combined with maxActiveSessionsPerUser",
                ],
            ),
            bad(
                "malformed override group glob",
                json!({"spec": {"sessionLimits": {"groupOverrides": [{"group": "sre-["}]}}}),
                &[
                    "spec.sessionLimits.groupOverrides[0].group: Invalid value: \"sre-[\": syntax error in glob pattern",
                ],
            ),
            bad(
                "zero per-user limit",
                json!({"spec": {"sessionLimits": {"maxActiveSessionsPerUser": 0}}}),
                &[
                    "spec.sessionLimits.maxActiveSessionsPerUser: Invalid value: 0: must be greater than or equal to 1",
                ],
            ),
        ],
    );
    check_warnings(
        IDP,
        vec![(
            "primary is deprecated",
            json!({"spec": {"primary": true}}),
            vec!["spec.primary: primary is deprecated and has no effect"],
        )],
    );
}

const MAIL: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: MailProvider
metadata:
  name: corp-smtp
spec:
  default: true
  smtp:
    host: smtp.example.com
    port: 587
    username: breakglass
    passwordRef:
      name: smtp
      namespace: breakglass
      key: password
  sender:
    address: breakglass@example.com
    name: Breakglass
  retry:
    count: 3
"#;

#[test]
fn mail_provider_table() {
    check_table(
        MAIL,
        vec![
            bad(
                "host missing",
                json!({"spec": {"smtp": {"host": ""}}}),
                &["spec.smtp.host: Required value"],
            ),
            bad(
                "port zero",
                json!({"spec": {"smtp": {"port": 0}}}),
                &["spec.smtp.port: Invalid value: 0: must be greater than or equal to 1"],
            ),
            bad(
                "port too high",
                json!({"spec": {"smtp": {"port": 65536}}}),
                &["spec.smtp.port: Invalid value: 65536: must be less than or equal to 65535"],
            ),
            bad(
                "username without password",
                json!({"spec": {"smtp": {"passwordRef": null}}}),
                &["spec.smtp.passwordRef: Required value: required when username is set"],
            ),
            bad(
                "password without username",
                json!({"spec": {"smtp": {"username": null}}}),
                &["spec.smtp.username: Required value: required when passwordRef is set"],
            ),
            bad(
                "password reference without key",
                json!({"spec": {"smtp": {"passwordRef": {"key": null}}}}),
                &["spec.smtp.passwordRef.key: Required value"],
            ),
            bad(
                "sender not an address",
                json!({"spec": {"sender": {"address": "breakglass"}}}),
                &[
                    "spec.sender.address: Invalid value: \"breakglass\": must be an e-mail address such as breakglass@example.com",
                ],
            ),
            bad(
                "sender without a dotted domain",
                json!({"spec": {"sender": {"address": "a@localhost"}}}),
                &[
                    "spec.sender.address: Invalid value: \"a@localhost\": must be an e-mail address such as breakglass@example.com",
                ],
            ),
            bad(
                "retry count above 10",
                json!({"spec": {"retry": {"count": 11}}}),
                &["spec.retry.count: Invalid value: 11: must be less than or equal to 10"],
            ),
            bad(
                "backoff below 10ms",
                json!({"spec": {"retry": {"initialBackoffMs": 5}}}),
                &[
                    "spec.retry.initialBackoffMs: Invalid value: 5: must be greater than or equal to 10",
                ],
            ),
            bad(
                "queue too small",
                json!({"spec": {"retry": {"queueSize": 9}}}),
                &["spec.retry.queueSize: Invalid value: 9: must be greater than or equal to 10"],
            ),
        ],
    );
    check_warnings(
        MAIL,
        vec![
            ("none", json!({}), vec![]),
            (
                "no authentication",
                json!({"spec": {"smtp": {"username": null, "passwordRef": null}}}),
                vec!["spec.smtp: no SMTP authentication is configured"],
            ),
            (
                "TLS verification off",
                json!({"spec": {"smtp": {"insecureSkipVerify": true}}}),
                vec![
                    "spec.smtp.insecureSkipVerify: TLS verification of the SMTP server is disabled; set certificateAuthority instead",
                ],
            ),
        ],
    );
}
