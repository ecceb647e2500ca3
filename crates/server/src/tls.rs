//! The HTTPS listener (`server.tls`): target apiservers call admission webhooks only
//! over TLS, so the server can serve a second address with a certificate and key read
//! from PEM files.
//!
//! The files are re-read when they change: every handshake compares their metadata
//! (modification time, size, inode) with the loaded pair and reloads on a difference,
//! so a rotated certificate (cert-manager, a mounted Secret) is served from the next
//! connection on, without a restart. A pair that does not load (half-written files,
//! a key that does not match) keeps the previous pair in service and is logged; the
//! first load must succeed, or the server does not start.
//!
//! Served there: the admission routes and the health probes, nothing else
//! ([`crate::webhook::ephemeral::router`]); the REST API stays on the plain listener.

use std::fs::Metadata;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

/// Why a certificate pair could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("{path}: no PEM certificate found")]
    NoCertificate {
        /// The file.
        path: String,
    },
    /// The key file holds no usable PEM private key.
    #[error("{path}: no usable PEM private key: {message}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The key does not belong to the certificate, or rustls refused the pair.
    #[error("certificate and key do not form a pair: {0}")]
    Pair(String),
}

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Stamp {
    fn of(meta: &Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode: meta.ino(),
        }
    }
}

struct Loaded {
    stamps: (Stamp, Stamp),
    key: Arc<CertifiedKey>,
}

/// A certificate resolver that serves the pair in `cert_file`/`key_file` and reloads it
/// when either file changes.
pub struct ReloadingCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    loaded: Mutex<Loaded>,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> Result<Stamp, TlsError> {
    std::fs::metadata(path)
        .map(|m| Stamp::of(&m))
        .map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
}

fn load_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    let cert_pem = read(cert_file)?;
    let key_pem = read(key_file)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_file.display().to_string(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Key {
        path: key_file.display().to_string(),
        message: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Pair(e.to_string()))
}

impl ReloadingCert {
    /// Loads the pair; fails when it does not load now.
    pub fn new(
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Result<Self, TlsError> {
        let cert_file = cert_file.into();
        let key_file = key_file.into();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let stamps = (stamp(&cert_file)?, stamp(&key_file)?);
        let key = Arc::new(load_pair(&cert_file, &key_file, &provider)?);
        Ok(Self {
            cert_file,
            key_file,
            provider,
            loaded: Mutex::new(Loaded { stamps, key }),
        })
    }

    /// The pair to serve now: the files are reloaded first when they changed; a pair
    /// that fails to load leaves the previous one in service.
    pub fn current(&self) -> Arc<CertifiedKey> {
        let mut loaded = match self.loaded.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = match (stamp(&self.cert_file), stamp(&self.key_file)) {
            (Ok(c), Ok(k)) => (c, k),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "TLS files unreadable; serving the loaded certificate");
                return loaded.key.clone();
            }
        };
        if now == loaded.stamps {
            return loaded.key.clone();
        }
        match load_pair(&self.cert_file, &self.key_file, &self.provider) {
            Ok(key) => {
                tracing::info!(cert = %self.cert_file.display(), "TLS certificate reloaded");
                *loaded = Loaded {
                    stamps: now,
                    key: Arc::new(key),
                };
            }
            Err(e) => {
                // Remember the stamps so a broken pair is not re-parsed on every handshake.
                tracing::warn!(error = %e, "TLS certificate reload failed; serving the previous one");
                loaded.stamps = now;
            }
        }
        loaded.key.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The rustls server configuration serving `certs` (HTTP/1.1 only).
pub fn server_config(certs: Arc<ReloadingCert>) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pair(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` over TLS on `listener` until `stop` is cancelled. Every connection
/// carries its peer address as axum's `ConnectInfo`, like the plain listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    config: rustls::ServerConfig,
    stop: CancellationToken,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let (tcp, peer) = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "TLS listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve_connection(acceptor, tcp, peer, router, stop).await;
        });
    }
}

async fn serve_connection(
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    stop: CancellationToken,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(peer = %peer, "TLS handshake timed out");
            return;
        }
    };
    let service = router.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
    let service = hyper_util::service::TowerToHyperService::new(service);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "TLS connection ended with an error");
            }
        }
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tls_tests.rs"]
mod tests;
