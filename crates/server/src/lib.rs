//! The breakglass hub server: REST API, authorization webhook, controllers.

pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;

/// Installs ring as the process-wide TLS crypto provider (idempotent). Every TLS client
/// and server of the process uses it; we ship exactly one provider.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider was installed first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
