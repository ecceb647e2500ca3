//! ClusterConfig rules.

use serde_json::json;

use crate::support::{bad, check_table, check_warnings, ok};

const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: ClusterConfig
metadata:
  name: prod-eu
  namespace: breakglass
spec:
  clusterID: prod-eu
  tenant: tenant-a
  kubeconfigSecretRef:
    name: prod-eu-kubeconfig
    namespace: breakglass
    key: value
  qps: 50
  burst: 100
"#;

fn oidc() -> serde_json::Value {
    json!({
        "issuerURL": "https://idp.example.com/realms/prod",
        "clientID": "breakglass",
        "clientSecretRef": {"name": "oidc", "namespace": "breakglass"},
        "server": "https://api.prod-eu.example.com:6443"
    })
}

#[test]
fn cluster_config_table() {
    check_table(
        BASE,
        vec![
            // exactly one auth method
            bad(
                "no auth method",
                json!({"spec": {"kubeconfigSecretRef": null}}),
                &[
                    "spec: Required value: exactly one of kubeconfigSecretRef, oidcAuth or oidcFromIdentityProvider is required",
                ],
            ),
            bad(
                "two auth methods",
                json!({"spec": {"oidcAuth": oidc()}}),
                &[
                    "spec.oidcAuth: Forbidden: only one of kubeconfigSecretRef, oidcAuth or oidcFromIdentityProvider may be set",
                ],
            ),
            ok(
                "oidc only",
                json!({"spec": {"kubeconfigSecretRef": null, "authType": "OIDC", "oidcAuth": oidc()}}),
            ),
            ok(
                "oidc without authType",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": oidc()}}),
            ),
            ok(
                "oidc from identity provider",
                json!({"spec": {"kubeconfigSecretRef": null, "authType": "OIDC", "oidcFromIdentityProvider": {"name": "corp", "server": "https://api.example.com"}}}),
            ),
            // authType agreement
            ok(
                "explicit Kubeconfig",
                json!({"spec": {"authType": "Kubeconfig"}}),
            ),
            bad(
                "authType OIDC with a kubeconfig",
                json!({"spec": {"authType": "OIDC"}}),
                &[
                    "spec.authType: Invalid value: \"OIDC\": does not match the configured kubeconfigSecretRef",
                ],
            ),
            bad(
                "authType Kubeconfig with OIDC",
                json!({"spec": {"authType": "Kubeconfig", "kubeconfigSecretRef": null, "oidcAuth": oidc()}}),
                &[
                    "spec.authType: Invalid value: \"Kubeconfig\": does not match the configured oidcAuth",
                ],
            ),
            bad(
                "unknown authType",
                json!({"spec": {"authType": "Token"}}),
                &[
                    "spec.authType: Unsupported value: \"Token\": supported values: \"Kubeconfig\", \"OIDC\"",
                ],
            ),
            // secret references
            bad(
                "kubeconfig secret without namespace",
                json!({"spec": {"kubeconfigSecretRef": {"namespace": null}}}),
                &["spec.kubeconfigSecretRef.namespace: Required value"],
            ),
            bad(
                "kubeconfig secret with an invalid name",
                json!({"spec": {"kubeconfigSecretRef": {"name": "Prod_EU"}}}),
                &[
                    "spec.kubeconfigSecretRef.name: Invalid value: \"Prod_EU\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ],
            ),
            // OIDC https URLs and modes
            bad(
                "http issuer",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "http://idp.example.com", "clientID": "c", "clientSecretRef": {"name": "s", "namespace": "n"}, "server": "https://api"}}}),
                &[
                    "spec.oidcAuth.issuerURL: Invalid value: \"http://idp.example.com\": must be an absolute https URL",
                ],
            ),
            bad(
                "http server",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "clientSecretRef": {"name": "s", "namespace": "n"}, "server": "http://api:6443"}}}),
                &[
                    "spec.oidcAuth.server: Invalid value: \"http://api:6443\": must be an absolute https URL",
                ],
            ),
            bad(
                "no client secret",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "server": "https://api"}}}),
                &[
                    "spec.oidcAuth.clientSecretRef: Required value: required unless refreshTokenSecretRef or token exchange is used",
                ],
            ),
            ok(
                "refresh token instead of client secret",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "server": "https://api", "refreshTokenSecretRef": {"name": "rt", "namespace": "n"}, "fallbackPolicy": "Auto", "rotatedRefreshTokenKey": "rotated"}}}),
            ),
            bad(
                "rotated key equal to the seed key",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "server": "https://api", "refreshTokenSecretRef": {"name": "rt", "namespace": "n"}, "fallbackPolicy": "Auto", "rotatedRefreshTokenKey": "value"}}}),
                &[
                    "spec.oidcAuth.rotatedRefreshTokenKey: Invalid value: \"value\": must differ from the key of refreshTokenSecretRef",
                ],
            ),
            bad(
                "fallback without refresh token",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "clientSecretRef": {"name": "s", "namespace": "n"}, "server": "https://api", "fallbackPolicy": "Warn"}}}),
                &[
                    "spec.oidcAuth.fallbackPolicy: Forbidden: fallbackPolicy Warn requires refreshTokenSecretRef",
                ],
            ),
            bad(
                "token exchange without subject token",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "clientSecretRef": {"name": "s", "namespace": "n"}, "server": "https://api", "tokenExchange": {"enabled": true}}}}),
                &[
                    "spec.oidcAuth.tokenExchange.subjectTokenSecretRef: Required value: required when token exchange is enabled",
                ],
            ),
            bad(
                "token exchange without client secret",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "server": "https://api", "tokenExchange": {"enabled": true, "subjectTokenSecretRef": {"name": "st", "namespace": "n"}}}}}),
                &[
                    "spec.oidcAuth.clientSecretRef: Required value: required when token exchange is enabled",
                ],
            ),
            bad(
                "identity provider with client secret and refresh token",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcFromIdentityProvider": {"name": "corp", "server": "https://api", "clientSecretRef": {"name": "s", "namespace": "n"}, "refreshTokenSecretRef": {"name": "rt", "namespace": "n"}}}}),
                &[
                    "spec.oidcFromIdentityProvider.refreshTokenSecretRef: Forbidden: clientSecretRef and refreshTokenSecretRef are mutually exclusive",
                ],
            ),
            bad(
                "identity provider without name",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcFromIdentityProvider": {"name": "", "server": "https://api"}}}),
                &["spec.oidcFromIdentityProvider.name: Required value"],
            ),
            // limits and lists
            bad(
                "qps zero",
                json!({"spec": {"qps": 0}}),
                &["spec.qps: Invalid value: 0: must be greater than or equal to 1"],
            ),
            bad(
                "burst negative",
                json!({"spec": {"burst": -5}}),
                &["spec.burst: Invalid value: -5: must be greater than or equal to 1"],
            ),
            bad(
                "duplicate identity provider ref",
                json!({"spec": {"identityProviderRefs": ["corp", "corp"]}}),
                &["spec.identityProviderRefs[1]: Duplicate value: \"corp\""],
            ),
            bad(
                "approver domain with upper case",
                json!({"spec": {"allowedApproverDomains": ["Example.com"]}}),
                &[
                    "spec.allowedApproverDomains[0]: Invalid value: \"Example.com\": must be a domain name such as example.com (lowercase letters, digits, '.' and '-')",
                ],
            ),
            bad(
                "tenant too long",
                json!({"spec": {"tenant": "t".repeat(254)}}),
                &["spec.tenant: Too long: may not be more than 253 bytes"],
            ),
            bad(
                "unknown user identifier claim",
                json!({"spec": {"userIdentifierClaim": "upn"}}),
                &[
                    "spec.userIdentifierClaim: Unsupported value: \"upn\": supported values: \"email\", \"preferred_username\", \"sub\"",
                ],
            ),
        ],
    );
}

#[test]
fn cluster_config_warnings() {
    check_warnings(
        BASE,
        vec![
            ("kubeconfig", json!({}), vec![]),
            (
                "TLS verification off",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcAuth": {"issuerURL": "https://idp", "clientID": "c", "clientSecretRef": {"name": "s", "namespace": "n"}, "server": "https://api", "insecureSkipTLSVerify": true}}}),
                vec![
                    "spec.oidcAuth.insecureSkipTLSVerify: TLS verification of the cluster's API server is disabled; use caSecretRef or certificateAuthority",
                ],
            ),
            (
                "refresh token without fallback",
                json!({"spec": {"kubeconfigSecretRef": null, "oidcFromIdentityProvider": {"name": "corp", "server": "https://api", "refreshTokenSecretRef": {"name": "rt", "namespace": "n"}}}}),
                vec![
                    "spec.oidcFromIdentityProvider.fallbackPolicy: refresh-token authentication without a fallback: the cluster becomes unreachable when the refresh token expires",
                ],
            ),
        ],
    );
}
