//! Serves the web UI: the embedded single-page app at `/`, every unknown non-API GET
//! answered with its entry page (client-side routes such as the approval deep link
//! `/session/<name>/approve`), hashed assets cached for a year, the entry page never
//! cached, and a strict Content-Security-Policy that names the identity providers the
//! browser must reach (discovery, token and key endpoints, the silent-renewal frame).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::AppState;

/// Paths that are never client-side routes of the UI.
const RESERVED: &[&str] = &["/api", "/healthz", "/readyz", "/metrics", "/validate-"];

/// Longest path considered (longer ones are not UI routes).
const MAX_PATH: usize = 2048;

/// The fallback of the main listener: a UI file, the entry page, or 404.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if RESERVED.iter().any(|r| path.starts_with(r)) || path.len() > MAX_PATH {
        return crate::http::not_found(request).await;
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let rel = path.trim_start_matches('/');
    let (asset, is_file) = match breakglass_ui::get(rel) {
        Some(a) if rel != "index.html" => (Some(a), true),
        _ => (breakglass_ui::index(), false),
    };
    // A missing hashed asset is a stale page asking for an old build: a 404, never the
    // entry page with a JavaScript content type.
    if !is_file
        && (rel.starts_with("assets/") || rel.rsplit('/').next().is_some_and(|s| s.contains('.')))
    {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let Some(asset) = asset else {
        return (
            StatusCode::NOT_FOUND,
            "the web UI is not part of this build",
        )
            .into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type()),
    );
    let cache = if asset.immutable() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    security_headers(&mut headers, &csp(&state));
    let body = if request.method() == Method::HEAD {
        axum::body::Body::empty()
    } else {
        axum::body::Body::from(asset.bytes)
    };
    (StatusCode::OK, headers, body).into_response()
}

fn security_headers(headers: &mut HeaderMap, csp: &str) {
    if let Ok(v) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
}

/// The policy: only our own scripts and styles; the browser talks to us and to the
/// enabled identity providers' origins, nothing else.
fn csp(state: &AppState) -> String {
    let mut origins: Vec<String> = state
        .app
        .stores
        .identity_providers
        .filter(|i| i.spec.disabled != Some(true))
        .iter()
        .filter_map(|i| origin_of(&i.spec.oidc.authority))
        .collect();
    origins.sort();
    origins.dedup();
    policy(&origins)
}

/// The policy for these identity-provider origins.
pub fn policy(idp_origins: &[String]) -> String {
    let idps = idp_origins.join(" ");
    let with = |base: &str| {
        if idps.is_empty() {
            base.to_owned()
        } else {
            format!("{base} {idps}")
        }
    };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         font-src 'self'; connect-src {}; frame-src {}; form-action {}; \
         frame-ancestors 'self'; base-uri 'self'; object-src 'none'",
        with("'self'"),
        with("'self'"),
        with("'self'"),
    )
}

/// `https://host[:port]` of an authority URL; `None` for anything that is not a plain
/// http(s) URL (never lets a configured value add arbitrary CSP tokens).
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let ok = !host.is_empty()
        && !host.contains('@')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| format!("{scheme}://{}", host.to_ascii_lowercase()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            origin_of("https://Dex.example.com:5556/dex/").as_deref(),
            Some("https://dex.example.com:5556")
        );
        assert_eq!(
            origin_of("https://idp/realms/x?y").as_deref(),
            Some("https://idp")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://a b"), None);
        assert_eq!(origin_of("https://x;script-src *"), None);
        assert_eq!(origin_of("https://user@host"), None);
        assert_eq!(origin_of("ftp://host"), None);
    }

    #[test]
    fn the_policy_allows_only_self_and_the_providers() {
        let p = policy(&["https://idp.example.com".to_owned()]);
        assert!(p.contains("script-src 'self';"), "{p}");
        assert!(p.contains("style-src 'self';"), "{p}");
        assert!(
            p.contains("connect-src 'self' https://idp.example.com;"),
            "{p}"
        );
        assert!(
            p.contains("frame-src 'self' https://idp.example.com;"),
            "{p}"
        );
        assert!(!p.contains("unsafe"), "{p}");
        let none = policy(&[]);
        assert!(none.contains("connect-src 'self';"), "{none}");
    }
}
