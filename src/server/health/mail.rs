//! Alert e-mail through an SMTP relay, with `lettre` (a maintained SMTP client: STARTTLS and
//! implicit TLS on rustls, authentication, connection reuse).
//!
//! `WATERSHED_SMTP_URL` names the relay the way lettre reads it: `smtp://host:25` (STARTTLS when
//! offered is not assumed: add `?tls=required`), `smtps://user:password@host:465`, or
//! `smtp://host:2525?tls=none` … A failed send is tried three times and then logged; alert
//! state and console notifications never wait on mail.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Sends alert mail through one relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the relay's password: only the sender shows.
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// Why a mailer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("WATERSHED_SMTP_URL: {0}")]
    Url(String),
    #[error("WATERSHED_SMTP_FROM: {0}")]
    From(String),
}

impl Mailer {
    /// A mailer for the relay at `url`, sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        Ok(Self { transport, from })
    }

    /// Sends one message to each address, in the background; failures are logged.
    pub fn send(&self, to: Vec<String>, subject: String, body: String) {
        let mailer = self.clone();
        tokio::spawn(async move {
            for address in to {
                if let Err(e) = mailer.send_one(&address, &subject, &body).await {
                    tracing::warn!(to = %address, error = %e, "alert e-mail not sent");
                }
            }
        });
    }

    async fn send_one(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        let mut last = String::new();
        for attempt in 0..3u32 {
            match self.transport.send(message.clone()).await {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
        }
        Err(last)
    }
}
