//! The mail catcher: a real SMTP conversation, then the REST API.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{env, unique};

/// Sends one plain-text mail with a minimal SMTP client.
async fn send(
    addr: std::net::SocketAddr,
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    async fn reply(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> anyhow::Result<String> {
        // Multi-line replies have a '-' after the code on all but the last line.
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await? == 0 {
                anyhow::bail!("SMTP server closed the connection after {all:?}");
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(all);
            }
        }
    }
    let expect = |got: &str, code: &str| -> anyhow::Result<()> {
        anyhow::ensure!(got.starts_with(code), "SMTP: expected {code}, got {got:?}");
        Ok(())
    };
    expect(&reply(&mut r).await?, "220")?;
    for (cmd, code) in [
        ("EHLO smoke.test".to_owned(), "250"),
        (format!("MAIL FROM:<{from}>"), "250"),
        (format!("RCPT TO:<{to}>"), "250"),
        ("DATA".to_owned(), "354"),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).await?;
        expect(&reply(&mut r).await?, code)?;
    }
    let msg = format!(
        "From: Breakglass <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n.\r\n"
    );
    w.write_all(msg.as_bytes()).await?;
    expect(&reply(&mut r).await?, "250")?;
    w.write_all(b"QUIT\r\n").await?;
    Ok(())
}

#[tokio::test]
async fn mailbox_keeps_what_smtp_received() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let mailbox = env.mailbox();
    let to = format!("{}@example.com", unique("approver"));
    let subject = unique("Breakglass request");
    send(
        mailbox.smtp_addr(),
        "breakglass@example.com",
        &to,
        &subject,
        "Please approve.",
    )
    .await?;
    let msg = mailbox
        .wait_for(Duration::from_secs(10), |m| m.is_for(&to))
        .await?;
    assert_eq!(msg.subject, subject);
    assert!(msg.text.contains("Please approve."), "{:?}", msg.text);
    assert_eq!(
        msg.from.as_ref().map(|a| a.address.as_str()),
        Some("breakglass@example.com")
    );
    assert_eq!(mailbox.messages_for(&to).await?.len(), 1);
    let found = mailbox.search(&format!("to:\"{to}\"")).await?;
    assert_eq!(found.len(), 1);
    Ok(())
}
