//! Locally generated certificates: one CA, one serving certificate for every
//! server on loopback, client certificates and service-account keys.

use std::path::Path;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::layout::{CLUSTERS, HUB_IDENTITY, Layout};

/// Common name of the admin client certificate (member of `system:masters`).
pub const ADMIN_CN: &str = "testenv-admin";

/// A certificate and its private key, PEM encoded.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Certificate.
    pub cert: String,
    /// PKCS#8 private key.
    pub key: String,
}

/// All PEM material of an environment.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate.
    pub ca: String,
    /// Serving certificate (127.0.0.1, localhost, the kubernetes service names).
    pub serving: Pair,
    /// Admin client certificate (`system:masters`).
    pub admin: Pair,
    /// Client certificate of the hub's identity on the targets.
    pub hub_identity: Pair,
}

fn validity(params: &mut CertificateParams) {
    let now = rcgen::date_time_ymd(2020, 1, 1);
    params.not_before = now;
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
}

fn client(cn: &str, orgs: &[&str], issuer: &Issuer<'_, KeyPair>) -> anyhow::Result<Pair> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut params);
    let cert = params.signed_by(&key, issuer)?;
    Ok(Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Generates the PKI and writes it to the layout's `pki/` directory.
pub fn generate(layout: &Layout) -> anyhow::Result<Pki> {
    let dir = layout.pki_dir();
    std::fs::create_dir_all(&dir)?;

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "breakglass-testenv-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca_params);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let serving_key = KeyPair::generate()?;
    let mut sp = CertificateParams::new(vec![
        "localhost".to_owned(),
        "kubernetes".to_owned(),
        "kubernetes.default".to_owned(),
        "kubernetes.default.svc".to_owned(),
        "kubernetes.default.svc.cluster.local".to_owned(),
    ])?;
    sp.subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    sp.subject_alt_names
        .push(SanType::IpAddress([10, 96, 0, 1].into()));
    sp.distinguished_name
        .push(DnType::CommonName, "breakglass-testenv");
    sp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    sp.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    validity(&mut sp);
    let serving = Pair {
        cert: sp.signed_by(&serving_key, &issuer)?.pem(),
        key: serving_key.serialize_pem(),
    };

    let admin = client(ADMIN_CN, &["system:masters"], &issuer)?;
    let hub_identity = client(HUB_IDENTITY, &[], &issuer)?;

    write(&dir.join("ca.crt"), &ca_pem)?;
    write(&dir.join("ca.key"), &ca_key_pem)?;
    write(&dir.join("serving.crt"), &serving.cert)?;
    write(&dir.join("serving.key"), &serving.key)?;
    write(&dir.join("admin.crt"), &admin.cert)?;
    write(&dir.join("admin.key"), &admin.key)?;
    write(&dir.join("breakglass-hub.crt"), &hub_identity.cert)?;
    write(&dir.join("breakglass-hub.key"), &hub_identity.key)?;

    // One service-account signing key per cluster, so tokens do not cross clusters.
    for cluster in CLUSTERS {
        let key = KeyPair::generate()?;
        write(&dir.join(format!("sa-{cluster}.key")), &key.serialize_pem())?;
        write(
            &dir.join(format!("sa-{cluster}.pub")),
            &key.public_key_pem(),
        )?;
    }

    Ok(Pki {
        ca: ca_pem,
        serving,
        admin,
        hub_identity,
    })
}

fn write(path: &Path, content: &str) -> anyhow::Result<()> {
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}
