use super::*;

fn pair(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

/// A rotated pair is served from the next handshake on; a broken rotation keeps the
/// previous pair; a pair that does not load at start is an error naming the file.
#[test]
fn reloads_changed_files_and_keeps_the_last_good_pair() {
    let dir = std::env::temp_dir().join(format!("bg-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("tls.crt"), dir.join("tls.key"));
    let (a_cert, a_key) = pair("a.example");
    std::fs::write(&cert_file, &a_cert).unwrap();
    std::fs::write(&key_file, &a_key).unwrap();
    let certs = ReloadingCert::new(&cert_file, &key_file).unwrap();
    assert_eq!(certs.current().cert[0].as_ref(), der(&a_cert));

    // Rotation: both files replaced (new inodes, as a Secret mount swaps them).
    let (b_cert, b_key) = pair("b.example");
    std::fs::write(dir.join("new.crt"), &b_cert).unwrap();
    std::fs::write(dir.join("new.key"), &b_key).unwrap();
    std::fs::rename(dir.join("new.crt"), &cert_file).unwrap();
    std::fs::rename(dir.join("new.key"), &key_file).unwrap();
    assert_eq!(certs.current().cert[0].as_ref(), der(&b_cert));

    // A broken certificate file: the previous pair stays in service.
    std::fs::write(dir.join("bad.crt"), "not a certificate").unwrap();
    std::fs::rename(dir.join("bad.crt"), &cert_file).unwrap();
    assert_eq!(certs.current().cert[0].as_ref(), der(&b_cert));

    // A key of another certificate does not load at start.
    std::fs::write(&cert_file, &a_cert).unwrap();
    let err = ReloadingCert::new(&cert_file, &key_file).unwrap_err();
    assert!(matches!(err, TlsError::Pair(_)), "{err}");
    let err = ReloadingCert::new(dir.join("missing.crt"), &key_file).unwrap_err();
    assert!(err.to_string().contains("missing.crt"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The leaf certificate a new TLS connection to `addr` is served (the client trusts
/// `roots`).
async fn served_leaf(addr: SocketAddr, roots: &[&str]) -> Vec<u8> {
    let mut store = rustls::RootCertStore::empty();
    for pem in roots {
        store
            .add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
            .unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(store)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0]
        .as_ref()
        .to_vec()
}

/// Over real connections: the listener serves the files' pair, a rotation is served
/// to the next connection, and cancelling stops the listener.
#[tokio::test]
async fn listener_serves_the_rotated_certificate_to_new_connections() {
    let dir = std::env::temp_dir().join(format!("bg-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("tls.crt"), dir.join("tls.key"));
    let (a_cert, a_key) = pair("localhost");
    std::fs::write(&cert_file, &a_cert).unwrap();
    std::fs::write(&key_file, &a_key).unwrap();
    let certs = Arc::new(ReloadingCert::new(&cert_file, &key_file).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        axum::Router::new(),
        server_config(certs).unwrap(),
        stop.clone(),
    ));
    let (b_cert, b_key) = pair("localhost");
    let roots = [a_cert.as_str(), b_cert.as_str()];
    assert_eq!(served_leaf(addr, &roots).await, der(&a_cert));

    std::fs::write(dir.join("new.crt"), &b_cert).unwrap();
    std::fs::write(dir.join("new.key"), &b_key).unwrap();
    std::fs::rename(dir.join("new.key"), &key_file).unwrap();
    std::fs::rename(dir.join("new.crt"), &cert_file).unwrap();
    assert_eq!(served_leaf(addr, &roots).await, der(&b_cert));

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
