//! IdentityProvider and MailProvider.

use breakglass_api::identity_provider::GroupSyncProvider;
use breakglass_api::{IdentityProvider, MailProvider};

use crate::duration::GoDuration;

use super::cluster_config::secret_key_ref;
use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, Errors};

fn https(errs: &mut Errors, p: &Path, value: &str) {
    if rules::required_str(errs, p, value) {
        rules::https_url(errs, p, value);
        rules::max_len(errs, p, value, 253);
    }
}

fn go_duration(errs: &mut Errors, p: &Path, value: Option<&str>) {
    if let Some(v) = value {
        match GoDuration::parse(v) {
            Ok(d) if d.is_positive() => {}
            Ok(_) => errs.push(FieldError::invalid(p, v, "must be greater than zero")),
            Err(e) => errs.push(FieldError::invalid(p, v, &e.to_string())),
        }
    }
}

/// Validates an IdentityProvider: HTTPS authority, JWKS endpoint and issuer, required
/// client and audience, TLS verification never disabled, a `keycloak` block exactly when
/// group sync uses Keycloak, and session limits.
pub fn validate_identity_provider(idp: &IdentityProvider) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &idp.spec;
    let op = p.child("oidc");
    https(&mut errs, &op.child("authority"), &spec.oidc.authority);
    if let Some(jwks) = &spec.oidc.jwks_endpoint {
        rules::https_url(&mut errs, &op.child("jwksEndpoint"), jwks);
    }
    rules::required_str(&mut errs, &op.child("clientID"), &spec.oidc.client_id);
    rules::required_str(
        &mut errs,
        &op.child("expectedAudience"),
        &spec.oidc.expected_audience,
    );
    if spec.oidc.insecure_skip_verify == Some(true) {
        errs.push(FieldError::forbidden(
            op.child("insecureSkipVerify"),
            "TLS verification may not be disabled for identity providers; set certificateAuthority instead",
        ));
    }
    if let Some(issuer) = &spec.issuer {
        https(&mut errs, &p.child("issuer"), issuer);
    }
    if let Some(name) = &spec.display_name {
        rules::max_len(&mut errs, &p.child("displayName"), name, 100);
    }
    let kp = p.child("keycloak");
    match (spec.group_sync_provider, &spec.keycloak) {
        (Some(GroupSyncProvider::Keycloak), None) => {
            errs.push(FieldError::required(
                &kp,
                "required when groupSyncProvider is Keycloak",
            ));
        }
        (None, Some(_)) => {
            errs.push(FieldError::forbidden(
                &kp,
                "only allowed when groupSyncProvider is Keycloak",
            ));
        }
        _ => {}
    }
    if let Some(k) = &spec.keycloak {
        if rules::required_str(&mut errs, &kp.child("baseURL"), &k.base_url) {
            rules::https_url(&mut errs, &kp.child("baseURL"), &k.base_url);
        }
        rules::required_str(&mut errs, &kp.child("realm"), &k.realm);
        rules::required_str(&mut errs, &kp.child("clientID"), &k.client_id);
        secret_key_ref(
            &mut errs,
            &kp.child("clientSecretRef"),
            &k.client_secret_ref,
        );
        go_duration(&mut errs, &kp.child("cacheTTL"), k.cache_ttl.as_deref());
        go_duration(
            &mut errs,
            &kp.child("requestTimeout"),
            k.request_timeout.as_deref(),
        );
        if k.insecure_skip_verify == Some(true) {
            errs.push(FieldError::forbidden(
                kp.child("insecureSkipVerify"),
                "TLS verification may not be disabled for group sync; set certificateAuthority instead",
            ));
        }
    }
    if let Some(limits) = &spec.session_limits {
        let lp = p.child("sessionLimits");
        if let Some(n) = limits.max_active_sessions_per_user {
            rules::int_range(
                &mut errs,
                &lp.child("maxActiveSessionsPerUser"),
                n.into(),
                1,
                None,
            );
        }
        for (i, o) in limits.group_overrides.iter().flatten().enumerate() {
            let gp = lp.child("groupOverrides").index(i);
            if rules::required_str(&mut errs, &gp.child("group"), &o.group) {
                rules::glob(&mut errs, &gp.child("group"), &o.group);
            }
            if o.unlimited == Some(true) && o.max_active_sessions_per_user.is_some() {
                errs.push(FieldError::forbidden(
                    gp.child("unlimited"),
                    "unlimited cannot be combined with maxActiveSessionsPerUser",
                ));
            }
            if let Some(n) = o.max_active_sessions_per_user {
                rules::int_range(
                    &mut errs,
                    &gp.child("maxActiveSessionsPerUser"),
                    n.into(),
                    1,
                    None,
                );
            }
        }
    }
    errs
}

/// Warnings of an IdentityProvider: the deprecated `primary` flag.
pub(crate) fn identity_provider_warnings(idp: &IdentityProvider) -> Vec<Warning> {
    let mut warns = Vec::new();
    if idp.spec.primary.is_some() {
        warns.push(Warning::new(
            "spec.primary",
            "primary is deprecated and has no effect",
        ));
    }
    warns
}

/// Validates a MailProvider: SMTP host and port, username and password reference set
/// together (with complete references), a valid sender address, retry bounds.
pub fn validate_mail_provider(m: &MailProvider) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let sp = p.child("smtp");
    let smtp = &m.spec.smtp;
    if rules::required_str(&mut errs, &sp.child("host"), &smtp.host) {
        rules::max_len(&mut errs, &sp.child("host"), &smtp.host, 253);
    }
    rules::int_range(
        &mut errs,
        &sp.child("port"),
        smtp.port.into(),
        1,
        Some(65535),
    );
    let has_user = smtp.username.as_deref().is_some_and(|u| !u.is_empty());
    match (has_user, &smtp.password_ref) {
        (true, None) => errs.push(FieldError::required(
            sp.child("passwordRef"),
            "required when username is set",
        )),
        (false, Some(_)) => errs.push(FieldError::required(
            sp.child("username"),
            "required when passwordRef is set",
        )),
        _ => {}
    }
    if let Some(r) = &smtp.password_ref {
        let rp = sp.child("passwordRef");
        secret_key_ref(&mut errs, &rp, r);
        if r.key.as_deref().is_none_or(str::is_empty) {
            errs.push(FieldError::required(rp.child("key"), ""));
        }
    }
    let sender = &m.spec.sender;
    let ap = p.child("sender").child("address");
    let addr = &sender.address;
    if rules::required_str(&mut errs, &ap, addr) {
        let len = addr.chars().count();
        if !(3..=254).contains(&len) || !rules::is_email(addr) {
            errs.push(FieldError::invalid(
                &ap,
                addr,
                "must be an e-mail address such as breakglass@example.com",
            ));
        }
    }
    if let Some(name) = &sender.name {
        rules::max_len(&mut errs, &p.child("sender").child("name"), name, 100);
    }
    if let Some(r) = &m.spec.retry {
        let rp = p.child("retry");
        for (name, v, min, max) in [
            ("count", r.count, 0, 10),
            ("initialBackoffMs", r.initial_backoff_ms, 10, 60_000),
            ("queueSize", r.queue_size, 10, 10_000),
        ] {
            if let Some(v) = v {
                rules::int_range(&mut errs, &rp.child(name), v.into(), min, Some(max));
            }
        }
    }
    errs
}

/// Warnings of a MailProvider: TLS verification disabled, no SMTP authentication.
pub(crate) fn mail_provider_warnings(m: &MailProvider) -> Vec<Warning> {
    let mut warns = Vec::new();
    let smtp = &m.spec.smtp;
    if smtp.insecure_skip_verify == Some(true) {
        warns.push(Warning::new(
            "spec.smtp.insecureSkipVerify",
            "TLS verification of the SMTP server is disabled; set certificateAuthority instead",
        ));
    }
    if smtp.username.as_deref().is_none_or(str::is_empty) && smtp.password_ref.is_none() {
        warns.push(Warning::new(
            "spec.smtp",
            "no SMTP authentication is configured",
        ));
    }
    warns
}
