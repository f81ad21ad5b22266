//! What people are told: console notifications and per-project webhooks.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// One notification in a user's console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NotificationView {
    pub id: i64,
    pub at: i64,
    /// The event, e.g. `access_request.created`.
    pub event: String,
    pub message: String,
    /// A console path to the thing the notification is about.
    pub link: String,
    pub read: bool,
}

/// What a project owner submits to set, change or remove the project's webhook.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookInput {
    /// `http://` or `https://` URL; empty removes the webhook.
    #[serde(default)]
    pub url: String,
    /// The HMAC-SHA256 key deliveries are signed with; empty keeps the current one.
    #[serde(default)]
    pub secret: String,
}

/// A validated webhook setting.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookSpec {
    Remove,
    /// `secret: None` keeps the stored secret.
    Set {
        url: String,
        secret: Option<String>,
    },
}

/// Webhook secrets are at least this long.
pub const MIN_WEBHOOK_SECRET: usize = 16;

impl WebhookInput {
    pub fn parse(&self) -> Result<WebhookSpec, Vec<FieldError>> {
        let url = self.url.trim();
        if url.is_empty() {
            return Ok(WebhookSpec::Remove);
        }
        let mut errors = Vec::new();
        match url::Url::parse(url) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => errors.push(FieldError::new(
                "url",
                format!(
                    "the URL must start with http:// or https://, not {}://",
                    u.scheme()
                ),
            )),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => {
                errors.push(FieldError::new("url", "the URL needs a host"))
            }
            Ok(_) if url.len() > 2000 => errors.push(FieldError::new(
                "url",
                "the URL is longer than 2000 characters",
            )),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new("url", format!("not a URL: {e}"))),
        }
        let secret = self.secret.trim();
        if !secret.is_empty() && secret.chars().count() < MIN_WEBHOOK_SECRET {
            errors.push(FieldError::new(
                "secret",
                format!("the secret must have at least {MIN_WEBHOOK_SECRET} characters"),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(WebhookSpec::Set {
            url: url.to_string(),
            secret: (!secret.is_empty()).then(|| secret.to_string()),
        })
    }
}

/// Where one webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not sent yet, or failed and waiting for its next attempt.
    Pending,
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One webhook delivery, as shown to a project's owners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookDeliveryView {
    pub id: i64,
    pub event: String,
    pub created_at: i64,
    pub attempts: i64,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i64>,
    pub last_error: String,
}

/// What the applications of the viewer's projects may do with a queue, for the data map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, strum::Display)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum QueueAccess {
    #[default]
    None,
    /// A request is open.
    Requested,
    Read,
    Write,
    ReadWrite,
}

impl QueueAccess {
    /// Combines two facts about one queue: live grants win over open requests, and read and
    /// write add up.
    pub fn merge(self, other: QueueAccess) -> QueueAccess {
        use QueueAccess::*;
        match (self, other) {
            (ReadWrite, _) | (_, ReadWrite) | (Read, Write) | (Write, Read) => ReadWrite,
            (Read, _) | (_, Read) => Read,
            (Write, _) | (_, Write) => Write,
            (Requested, _) | (_, Requested) => Requested,
            (None, None) => None,
        }
    }

    /// Words for a badge.
    pub fn label(self) -> &'static str {
        match self {
            QueueAccess::None => "no access",
            QueueAccess::Requested => "requested",
            QueueAccess::Read => "read",
            QueueAccess::Write => "write",
            QueueAccess::ReadWrite => "read & write",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, secret: &str) -> WebhookInput {
        WebhookInput {
            url: url.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn an_empty_url_removes_the_webhook() {
        assert_eq!(input(" ", "").parse().unwrap(), WebhookSpec::Remove);
    }

    #[test]
    fn a_webhook_url_must_be_http_with_a_host() {
        for bad in ["ftp://example.com/x", "not a url", "http://"] {
            let errs = input(bad, "0123456789abcdef").parse().unwrap_err();
            assert_eq!(errs[0].field, "url", "{bad}");
        }
    }

    #[test]
    fn a_short_secret_is_refused_by_name() {
        let errs = input("https://hooks.example.com/w", "short")
            .parse()
            .unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "secret");
    }

    #[test]
    fn an_empty_secret_keeps_the_stored_one() {
        assert_eq!(
            input("https://hooks.example.com/w", "").parse().unwrap(),
            WebhookSpec::Set {
                url: "https://hooks.example.com/w".into(),
                secret: None
            }
        );
    }

    #[test]
    fn grants_outrank_requests_and_read_and_write_add_up() {
        use QueueAccess::*;
        assert_eq!(Requested.merge(Read), Read);
        assert_eq!(Read.merge(Write), ReadWrite);
        assert_eq!(None.merge(Requested), Requested);
        assert_eq!(Write.merge(None), Write);
    }
}
