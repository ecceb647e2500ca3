//! The mail catcher (mailpit): everything sent to its SMTP port is kept and can
//! be listed, read and deleted through its REST API.
//!
//! The mailbox is shared by all tests of a run: filter on recipients or
//! subjects ([`Mailbox::wait_for`]) instead of clearing it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::Error;

/// A mail address with display name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Address {
    /// Display name.
    #[serde(rename = "Name", default)]
    pub name: String,
    /// Address.
    #[serde(rename = "Address")]
    pub address: String,
}

/// A message in the list.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageSummary {
    /// Mailpit's id of the message.
    #[serde(rename = "ID")]
    pub id: String,
    /// Sender.
    #[serde(rename = "From")]
    pub from: Option<Address>,
    /// Recipients.
    #[serde(rename = "To", default)]
    pub to: Vec<Address>,
    /// Carbon-copy recipients.
    #[serde(rename = "Cc", default)]
    pub cc: Option<Vec<Address>>,
    /// Subject.
    #[serde(rename = "Subject", default)]
    pub subject: String,
    /// Reception time (RFC 3339).
    #[serde(rename = "Created", default)]
    pub created: String,
    /// The beginning of the text.
    #[serde(rename = "Snippet", default)]
    pub snippet: String,
}

impl MessageSummary {
    /// True if `address` is among the To or Cc recipients.
    pub fn is_for(&self, address: &str) -> bool {
        self.to
            .iter()
            .any(|a| a.address.eq_ignore_ascii_case(address))
            || self
                .cc
                .iter()
                .flatten()
                .any(|a| a.address.eq_ignore_ascii_case(address))
    }
}

/// A whole message.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// Mailpit's id of the message.
    #[serde(rename = "ID")]
    pub id: String,
    /// Sender.
    #[serde(rename = "From")]
    pub from: Option<Address>,
    /// Recipients.
    #[serde(rename = "To", default)]
    pub to: Vec<Address>,
    /// Carbon-copy recipients.
    #[serde(rename = "Cc", default)]
    pub cc: Option<Vec<Address>>,
    /// Subject.
    #[serde(rename = "Subject", default)]
    pub subject: String,
    /// Plain-text body.
    #[serde(rename = "Text", default)]
    pub text: String,
    /// HTML body.
    #[serde(rename = "HTML", default)]
    pub html: String,
}

#[derive(Debug, Deserialize)]
struct List {
    #[serde(default)]
    messages: Vec<MessageSummary>,
}

/// Client of the mail catcher.
#[derive(Debug, Clone)]
pub struct Mailbox {
    api: String,
    smtp: SocketAddr,
    http: reqwest::Client,
}

impl Mailbox {
    /// A client for the REST API at `api` (e.g. `http://127.0.0.1:17180/api/v1`).
    pub fn new(api: String, smtp: SocketAddr) -> Mailbox {
        crate::harness::install_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Mailbox { api, smtp, http }
    }

    /// The SMTP address to send mail to (no TLS, any or no authentication).
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: String) -> Result<T, Error> {
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(Error::http(format!("GET {url}")))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(Error::http(format!("GET {url}")))?;
        if !status.is_success() {
            return Err(Error::Mail(format!("GET {url} answered {status}: {body}")));
        }
        serde_json::from_str(&body).map_err(|e| Error::Mail(format!("GET {url}: {e}")))
    }

    /// All messages, newest first.
    pub async fn list(&self) -> Result<Vec<MessageSummary>, Error> {
        let list: List = self
            .get_json(format!("{}/messages?limit=1000", self.api))
            .await?;
        Ok(list.messages)
    }

    /// Messages matching a mailpit search query (e.g. `to:"approver@example.com"`).
    pub async fn search(&self, query: &str) -> Result<Vec<MessageSummary>, Error> {
        let mut url = url::Url::parse(&format!("{}/search", self.api))
            .map_err(|e| Error::Mail(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("query", query)
            .append_pair("limit", "1000");
        let list: List = self.get_json(url.to_string()).await?;
        Ok(list.messages)
    }

    /// One message with its bodies.
    pub async fn get(&self, id: &str) -> Result<Message, Error> {
        self.get_json(format!("{}/message/{id}", self.api)).await
    }

    /// Messages to `address` (To or Cc), newest first.
    pub async fn messages_for(&self, address: &str) -> Result<Vec<MessageSummary>, Error> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .filter(|m| m.is_for(address))
            .collect())
    }

    /// Waits until a message matches `pred`, then returns it in full.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&MessageSummary) -> bool,
    ) -> Result<Message, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.list().await?.into_iter().find(|m| pred(m)) {
                return self.get(&m.id).await;
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!(
                    "no matching mail within {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Deletes every message (affects all tests of the run; prefer filtering).
    pub async fn clear(&self) -> Result<(), Error> {
        let url = format!("{}/messages", self.api);
        let resp = self
            .http
            .delete(&url)
            .send()
            .await
            .map_err(Error::http(format!("DELETE {url}")))?;
        if !resp.status().is_success() {
            return Err(Error::Mail(format!(
                "DELETE {url} answered {}",
                resp.status()
            )));
        }
        Ok(())
    }
}
