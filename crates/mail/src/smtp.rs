//! SMTP delivery through lettre (tokio, rustls).

use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::queue::{OutgoingMail, SendError, Transport};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP, no TLS at all (`disableTLS: true`; for local relays and tests).
    None,
    /// Plain connect, then STARTTLS, which is required (submission, port 587 and others).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
}

impl Security {
    /// The reference's rule: `disableTLS` turns TLS off; otherwise port 465 speaks TLS
    /// from the start and every other port must offer STARTTLS.
    pub fn for_port(port: u16, disable_tls: bool) -> Security {
        if disable_tls {
            Security::None
        } else if port == 465 {
            Security::Implicit
        } else {
            Security::StartTls
        }
    }
}

/// Everything needed to reach one SMTP server.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Host name (also the name the certificate must carry).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connection security.
    pub security: Security,
    /// Login, with the password.
    pub credentials: Option<(String, String)>,
    /// Extra PEM CA certificates trusted besides the system roots.
    pub ca_pem: Option<String>,
    /// Accept any certificate (discouraged).
    pub insecure_skip_verify: bool,
    /// Sender address.
    pub sender_address: String,
    /// Sender display name.
    pub sender_name: Option<String>,
    /// Bound of each network step (connect, every command).
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.credentials.as_ref().map(|c| &c.0))
            .field("ca_pem", &self.ca_pem.is_some())
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("sender_address", &self.sender_address)
            .finish()
    }
}

/// Why a transport could not be built from settings.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The sender is not a mail address.
    #[error("sender {address:?} is not a valid address: {message}")]
    Sender {
        /// The address.
        address: String,
        /// Why.
        message: String,
    },
    /// The CA bundle or TLS settings are unusable.
    #[error("TLS settings: {0}")]
    Tls(String),
}

/// An SMTP server, ready to send.
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    sender: Mailbox,
}

impl SmtpTransport {
    /// Builds the transport; nothing is contacted yet.
    pub fn new(s: &SmtpSettings) -> Result<Self, SmtpError> {
        let sender = Mailbox::new(
            s.sender_name.clone().filter(|n| !n.is_empty()),
            s.sender_address
                .parse()
                .map_err(|e: lettre::address::AddressError| SmtpError::Sender {
                    address: s.sender_address.clone(),
                    message: e.to_string(),
                })?,
        );
        let tls = match s.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters(s)?),
            Security::Implicit => Tls::Wrapper(tls_parameters(s)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        if let Some((user, password)) = &s.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            inner: builder.build(),
            sender,
        })
    }

    /// Connects and greets the server (a health check).
    pub async fn check(&self) -> Result<(), SendError> {
        match self.inner.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(SendError::transient("the server did not answer NOOP")),
            Err(e) => Err(classify(&e)),
        }
    }

    fn message(&self, mail: &OutgoingMail) -> Result<Message, SendError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| SendError::permanent(format!("recipient {:?}: {e}", mail.to)))?;
        Message::builder()
            .from(self.sender.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("building the message: {e}")))
    }
}

fn tls_parameters(s: &SmtpSettings) -> Result<TlsParameters, SmtpError> {
    let mut b = TlsParameters::builder(s.host.clone())
        .dangerous_accept_invalid_certs(s.insecure_skip_verify)
        .dangerous_accept_invalid_hostnames(s.insecure_skip_verify);
    if let Some(pem) = s.ca_pem.as_deref().filter(|p| !p.trim().is_empty()) {
        let cert = Certificate::from_pem(pem.as_bytes())
            .map_err(|e| SmtpError::Tls(format!("certificateAuthority: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| SmtpError::Tls(e.to_string()))
}

/// Permanent SMTP answers (5xx) are not retried; everything else (connection refused,
/// timeouts, 4xx) is.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_permanent() {
        SendError::permanent(message)
    } else {
        SendError::transient(message)
    }
}

impl Transport for SmtpTransport {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let message = self.message(mail)?;
            self.inner
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| classify(&e))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn security_follows_the_port_and_disable_tls() {
        assert_eq!(Security::for_port(465, false), Security::Implicit);
        assert_eq!(Security::for_port(587, false), Security::StartTls);
        assert_eq!(Security::for_port(25, false), Security::StartTls);
        assert_eq!(Security::for_port(465, true), Security::None);
        assert_eq!(Security::for_port(1025, true), Security::None);
    }

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            security: Security::StartTls,
            credentials: Some(("user".into(), "secret-password".into())),
            ca_pem: None,
            insecure_skip_verify: false,
            sender_address: "breakglass@example.com".into(),
            sender_name: Some("Breakglass".into()),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let text = format!("{:?}", settings());
        assert!(!text.contains("secret-password"), "{text}");
        assert!(text.contains("user"));
    }

    #[test]
    fn a_bad_sender_or_ca_is_refused() {
        let mut s = settings();
        s.sender_address = "not an address".into();
        assert!(matches!(
            SmtpTransport::new(&s),
            Err(SmtpError::Sender { .. })
        ));
        let mut s = settings();
        s.ca_pem =
            Some("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into());
        assert!(
            matches!(SmtpTransport::new(&s), Err(SmtpError::Tls(_))),
            "bad CA"
        );
        assert!(SmtpTransport::new(&settings()).is_ok());
    }

    #[test]
    fn a_bad_recipient_is_a_permanent_error() {
        let t = SmtpTransport::new(&settings()).unwrap();
        let mail = OutgoingMail {
            to: "no address".into(),
            ..crate::queue::tests::mail("x")
        };
        let e = t.message(&mail).unwrap_err();
        assert!(e.permanent, "{e}");
    }

    #[tokio::test]
    async fn plain_smtp_reaches_a_listening_server() {
        // A minimal SMTP server: enough of the dialogue for one message.
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (r, mut w) = sock.into_split();
            let mut lines = BufReader::new(r).lines();
            w.write_all(b"220 test ESMTP\r\n").await.unwrap();
            let mut data = String::new();
            let mut in_data = false;
            while let Some(line) = lines.next_line().await.unwrap() {
                if in_data {
                    if line == "." {
                        in_data = false;
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        data.push_str(&line);
                        data.push('\n');
                    }
                    continue;
                }
                let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" => b"250 test\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go\r\n"
                    }
                    "QUIT" => {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                w.write_all(reply).await.unwrap();
            }
            data
        });
        let mut s = settings();
        s.host = "127.0.0.1".into();
        s.port = port;
        s.security = Security::None;
        s.credentials = None;
        let t = SmtpTransport::new(&s).unwrap();
        t.send(&crate::queue::tests::mail("hello")).await.unwrap();
        let data = server.await.unwrap();
        assert!(data.contains("Subject: hello"), "{data}");
        assert!(data.contains("To: alice@example.com"), "{data}");
        assert!(data.contains("multipart/alternative"), "{data}");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_transient_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut s = settings();
        s.host = "127.0.0.1".into();
        s.port = port;
        s.security = Security::None;
        let t = SmtpTransport::new(&s).unwrap();
        let e = t.send(&crate::queue::tests::mail("x")).await.unwrap_err();
        assert!(!e.permanent, "{e}");
    }
}
