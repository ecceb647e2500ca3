//! ClusterConfig.

use breakglass_api::ClusterConfig;
use breakglass_api::cluster_config::{
    ClusterAuthType, ClusterConfigSpec, OidcAuthConfig, OidcFallbackPolicy,
    OidcFromIdentityProviderConfig, TokenExchangeConfig,
};
use breakglass_api::common::SecretKeyReference;

use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, Errors, ListRules};

/// Checks a Secret key reference: a DNS-subdomain name, a DNS-label namespace, a
/// non-empty key when given.
pub(crate) fn secret_key_ref(errs: &mut Errors, p: &Path, r: &SecretKeyReference) {
    if rules::required_str(errs, &p.child("name"), &r.name) {
        rules::dns1123_subdomain(errs, &p.child("name"), &r.name);
    }
    if rules::required_str(errs, &p.child("namespace"), &r.namespace) {
        rules::dns1123_label(errs, &p.child("namespace"), &r.namespace);
    }
    if let Some(key) = &r.key {
        rules::required_str(errs, &p.child("key"), key);
    }
}

fn opt_secret(errs: &mut Errors, p: &Path, r: Option<&SecretKeyReference>) {
    if let Some(r) = r {
        secret_key_ref(errs, p, r);
    }
}

/// The OIDC settings shared by `oidcAuth` and `oidcFromIdentityProvider`.
struct OidcFields<'a> {
    client_secret_ref: Option<&'a SecretKeyReference>,
    refresh_token_secret_ref: Option<&'a SecretKeyReference>,
    rotated_refresh_token_key: Option<&'a str>,
    token_exchange: Option<&'a TokenExchangeConfig>,
    fallback_policy: Option<OidcFallbackPolicy>,
    server: &'a str,
    ca_secret_ref: Option<&'a SecretKeyReference>,
}

fn token_exchange_enabled(t: Option<&TokenExchangeConfig>) -> bool {
    t.is_some_and(|t| t.enabled == Some(true))
}

fn oidc_common(errs: &mut Errors, p: &Path, o: &OidcFields<'_>) {
    if rules::required_str(errs, &p.child("server"), o.server) {
        rules::https_url(errs, &p.child("server"), o.server);
    }
    opt_secret(errs, &p.child("clientSecretRef"), o.client_secret_ref);
    opt_secret(
        errs,
        &p.child("refreshTokenSecretRef"),
        o.refresh_token_secret_ref,
    );
    opt_secret(errs, &p.child("caSecretRef"), o.ca_secret_ref);
    if let Some(key) = o.rotated_refresh_token_key {
        let kp = p.child("rotatedRefreshTokenKey");
        rules::max_len(errs, &kp, key, 253);
        match o.refresh_token_secret_ref {
            None => errs.push(FieldError::forbidden(&kp, "requires refreshTokenSecretRef")),
            Some(seed) if seed.key_or_default() == key => errs.push(FieldError::invalid(
                &kp,
                key,
                "must differ from the key of refreshTokenSecretRef",
            )),
            Some(_) => {}
        }
    }
    if let Some(policy) = o.fallback_policy
        && policy != OidcFallbackPolicy::None
        && o.refresh_token_secret_ref.is_none()
    {
        errs.push(FieldError::forbidden(
            p.child("fallbackPolicy"),
            &format!(
                "fallbackPolicy {} requires refreshTokenSecretRef",
                policy.as_str()
            ),
        ));
    }
    if let Some(t) = o.token_exchange
        && token_exchange_enabled(Some(t))
    {
        let tp = p.child("tokenExchange");
        match &t.subject_token_secret_ref {
            Some(r) => secret_key_ref(errs, &tp.child("subjectTokenSecretRef"), r),
            None => errs.push(FieldError::required(
                tp.child("subjectTokenSecretRef"),
                "required when token exchange is enabled",
            )),
        }
        opt_secret(
            errs,
            &tp.child("actorTokenSecretRef"),
            t.actor_token_secret_ref.as_ref(),
        );
        if o.client_secret_ref.is_none() {
            errs.push(FieldError::required(
                p.child("clientSecretRef"),
                "required when token exchange is enabled",
            ));
        }
    }
}

/// Exactly one way to reach the cluster, and an `authType` that agrees with it.
fn connection_mode(errs: &mut Errors, p: &Path, spec: &ClusterConfigSpec) {
    let blocks = [
        ("kubeconfigSecretRef", spec.kubeconfig_secret_ref.is_some()),
        ("oidcAuth", spec.oidc_auth.is_some()),
        (
            "oidcFromIdentityProvider",
            spec.oidc_from_identity_provider.is_some(),
        ),
    ];
    let set: Vec<&str> = blocks.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect();
    match set.as_slice() {
        [] => errs.push(FieldError::required(
            p,
            "exactly one of kubeconfigSecretRef, oidcAuth or oidcFromIdentityProvider is required",
        )),
        [_] => {}
        [_, rest @ ..] => {
            for name in rest {
                errs.push(FieldError::forbidden(
                    p.child(name),
                    "only one of kubeconfigSecretRef, oidcAuth or oidcFromIdentityProvider may be set",
                ));
            }
        }
    }
    if let (Some(auth_type), [block]) = (spec.auth_type, set.as_slice()) {
        let agrees = match auth_type {
            ClusterAuthType::Kubeconfig => *block == "kubeconfigSecretRef",
            ClusterAuthType::Oidc => *block != "kubeconfigSecretRef",
        };
        if !agrees {
            errs.push(FieldError::invalid(
                p.child("authType"),
                auth_type.as_str(),
                &format!("does not match the configured {block}"),
            ));
        }
    }
}

/// `spec.oidcAuth`: issuer, client and how tokens are obtained.
fn oidc_auth(errs: &mut Errors, p: &Path, o: &OidcAuthConfig) {
    let op = p.child("oidcAuth");
    if rules::required_str(errs, &op.child("issuerURL"), &o.issuer_url) {
        rules::https_url(errs, &op.child("issuerURL"), &o.issuer_url);
    }
    rules::required_str(errs, &op.child("clientID"), &o.client_id);
    let refresh = o.refresh_token_secret_ref.is_some();
    if o.client_secret_ref.is_none()
        && !refresh
        && !token_exchange_enabled(o.token_exchange.as_ref())
    {
        errs.push(FieldError::required(
            op.child("clientSecretRef"),
            "required unless refreshTokenSecretRef or token exchange is used",
        ));
    }
    oidc_common(
        errs,
        &op,
        &OidcFields {
            client_secret_ref: o.client_secret_ref.as_ref(),
            refresh_token_secret_ref: o.refresh_token_secret_ref.as_ref(),
            rotated_refresh_token_key: o.rotated_refresh_token_key.as_deref(),
            token_exchange: o.token_exchange.as_ref(),
            fallback_policy: o.fallback_policy,
            server: &o.server,
            ca_secret_ref: o.ca_secret_ref.as_ref(),
        },
    );
}

/// `spec.oidcFromIdentityProvider`: the provider and how tokens are obtained.
fn oidc_from_identity_provider(errs: &mut Errors, p: &Path, o: &OidcFromIdentityProviderConfig) {
    let op = p.child("oidcFromIdentityProvider");
    rules::required_str(errs, &op.child("name"), &o.name);
    if o.client_secret_ref.is_some() && o.refresh_token_secret_ref.is_some() {
        errs.push(FieldError::forbidden(
            op.child("refreshTokenSecretRef"),
            "clientSecretRef and refreshTokenSecretRef are mutually exclusive",
        ));
    }
    oidc_common(
        errs,
        &op,
        &OidcFields {
            client_secret_ref: o.client_secret_ref.as_ref(),
            refresh_token_secret_ref: o.refresh_token_secret_ref.as_ref(),
            rotated_refresh_token_key: o.rotated_refresh_token_key.as_deref(),
            token_exchange: o.token_exchange.as_ref(),
            fallback_policy: o.fallback_policy,
            server: &o.server,
            ca_secret_ref: o.ca_secret_ref.as_ref(),
        },
    );
}

/// Validates a ClusterConfig: exactly one way to reach the cluster, an `authType` that
/// agrees with it, HTTPS endpoints, the OIDC mode rules (client secret, token exchange,
/// refresh token and fallback), secret references, rate limits and list hygiene.
pub fn validate_cluster_config(c: &ClusterConfig) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &c.spec;
    for (name, v) in [
        ("clusterID", &spec.cluster_id),
        ("tenant", &spec.tenant),
        ("environment", &spec.environment),
        ("site", &spec.site),
        ("location", &spec.location),
    ] {
        if let Some(v) = v {
            rules::max_len(&mut errs, &p.child(name), v, 253);
        }
    }

    connection_mode(&mut errs, &p, spec);
    opt_secret(
        &mut errs,
        &p.child("kubeconfigSecretRef"),
        spec.kubeconfig_secret_ref.as_ref(),
    );
    if let Some(o) = &spec.oidc_auth {
        oidc_auth(&mut errs, &p, o);
    }
    if let Some(o) = &spec.oidc_from_identity_provider {
        oidc_from_identity_provider(&mut errs, &p, o);
    }

    for (name, v) in [("qps", spec.qps), ("burst", spec.burst)] {
        if let Some(v) = v {
            rules::int_range(&mut errs, &p.child(name), v.into(), 1, None);
        }
    }
    if let Some(refs) = &spec.identity_provider_refs {
        rules::string_list(
            &mut errs,
            &p.child("identityProviderRefs"),
            refs,
            ListRules::unique(),
            rules::identifier,
        );
    }
    if let Some(domains) = &spec.allowed_approver_domains {
        rules::string_list(
            &mut errs,
            &p.child("allowedApproverDomains"),
            domains,
            ListRules::unique(),
            rules::email_domain,
        );
    }
    if let Some(mp) = &spec.mail_provider {
        rules::dns1123_label(&mut errs, &p.child("mailProvider"), mp);
    }
    errs
}

/// Warnings of a ClusterConfig: TLS verification switched off, and refresh-token
/// authentication without a fallback.
pub(crate) fn cluster_config_warnings(c: &ClusterConfig) -> Vec<Warning> {
    let mut warns = Vec::new();
    let spec = &c.spec;
    let blocks = [
        (
            "spec.oidcAuth",
            spec.oidc_auth.as_ref().map(|o| {
                (
                    o.insecure_skip_tls_verify,
                    o.refresh_token_secret_ref.is_some(),
                    o.fallback_policy,
                )
            }),
        ),
        (
            "spec.oidcFromIdentityProvider",
            spec.oidc_from_identity_provider.as_ref().map(|o| {
                (
                    o.insecure_skip_tls_verify,
                    o.refresh_token_secret_ref.is_some(),
                    o.fallback_policy,
                )
            }),
        ),
    ];
    for (base, block) in blocks {
        let Some((insecure, refresh, fallback)) = block else {
            continue;
        };
        if insecure == Some(true) {
            warns.push(Warning::new(
                format!("{base}.insecureSkipTLSVerify"),
                "TLS verification of the cluster's API server is disabled; use caSecretRef or certificateAuthority",
            ));
        }
        if refresh && fallback.is_none_or(|f| f == OidcFallbackPolicy::None) {
            warns.push(Warning::new(
                format!("{base}.fallbackPolicy"),
                "refresh-token authentication without a fallback: the cluster becomes unreachable when the refresh token expires",
            ));
        }
    }
    warns
}
