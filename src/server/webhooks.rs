//! Sends project webhook deliveries from their outbox table: signed with HMAC-SHA256, retried
//! with exponential backoff, given up after a bounded number of attempts.
//!
//! Each delivery is a POST of the event's JSON with these headers:
//! - `X-Watershed-Event`: the event, e.g. `access_request.created`;
//! - `X-Watershed-Delivery`: the delivery id, the same on every retry (receivers deduplicate by it);
//! - `X-Watershed-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed
//!   with the project's webhook secret. Receivers recompute it and reject old timestamps.

use crate::server::crypto::SecretBox;
use crate::server::db::{DeliveryOutcome, Store, StoreResult, WebhookJob};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-watershed-signature";

/// How deliveries are retried.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// The wait after the first failure; it doubles after each further one.
    pub base_backoff_ms: i64,
    pub max_backoff_ms: i64,
    /// After this many failed attempts a delivery is given up.
    pub max_attempts: i64,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How long a claimed delivery stays claimed before another pass may retry it.
    pub lease_ms: i64,
}

impl Default for WebhookPolicy {
    /// 15 s, 30 s, 1 min … capped at an hour; 12 attempts span about seven hours.
    fn default() -> Self {
        Self {
            base_backoff_ms: 15_000,
            max_backoff_ms: 3_600_000,
            max_attempts: 12,
            timeout: Duration::from_secs(10),
            lease_ms: 60_000,
        }
    }
}

impl WebhookPolicy {
    /// The wait before the next attempt once `failed` attempts have failed.
    pub fn backoff_ms(&self, failed: i64) -> i64 {
        let doublings = (failed - 1).clamp(0, 30) as u32;
        self.base_backoff_ms
            .saturating_mul(1 << doublings)
            .min(self.max_backoff_ms)
    }
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The HTTP client deliveries are sent with: no redirects, a timeout per attempt.
pub fn client(policy: &WebhookPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Watershed-Webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

async fn attempt(
    client: &reqwest::Client,
    secrets: &SecretBox,
    job: &WebhookJob,
    now: i64,
) -> Result<i64, (Option<i64>, String)> {
    if job.url.is_empty() {
        return Err((None, "the project's webhook was removed".into()));
    }
    let secret = secrets.open(&job.secret_enc).map_err(|_| {
        (
            None,
            "the webhook secret cannot be opened with this key".to_string(),
        )
    })?;
    let response = client
        .post(&job.url)
        .header("content-type", "application/json")
        .header("x-watershed-event", &job.event)
        .header("x-watershed-delivery", job.id.to_string())
        .header(
            SIGNATURE_HEADER,
            signature(&secret, now / 1000, &job.payload),
        )
        .body(job.payload.clone())
        .send()
        .await
        .map_err(|e| (None, delivery_error(&e)))?;
    let status = i64::from(response.status().as_u16());
    if response.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("the receiver answered HTTP {status}")))
    }
}

fn delivery_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the receiver did not answer in time".into()
    } else if e.is_connect() {
        "could not connect to the receiver".into()
    } else {
        format!("sending failed: {e}")
    }
}

/// One pass: claims the deliveries due at `now`, sends them concurrently and records each
/// outcome. Returns how many were attempted.
pub async fn deliver_due(
    store: &Arc<dyn Store>,
    secrets: &Arc<SecretBox>,
    client: &reqwest::Client,
    policy: &WebhookPolicy,
    now: i64,
) -> StoreResult<usize> {
    let jobs = store
        .claim_deliveries(now, now + policy.lease_ms, 32)
        .await?;
    let n = jobs.len();
    let mut sending = tokio::task::JoinSet::new();
    for job in jobs {
        let (store, secrets, client, policy) = (
            store.clone(),
            secrets.clone(),
            client.clone(),
            policy.clone(),
        );
        sending.spawn(async move {
            let failed = job.attempts + 1;
            let outcome = match attempt(&client, &secrets, &job, now).await {
                Ok(status) => DeliveryOutcome {
                    at: now,
                    delivered: true,
                    status: Some(status),
                    error: String::new(),
                    next_attempt_at: None,
                },
                Err((status, error)) => {
                    tracing::warn!(delivery = job.id, project = %job.project, event = %job.event, attempt = failed, %error, "webhook delivery failed");
                    DeliveryOutcome {
                        at: now,
                        delivered: false,
                        status,
                        error,
                        next_attempt_at: (failed < policy.max_attempts && !job.url.is_empty())
                            .then(|| now + policy.backoff_ms(failed)),
                    }
                }
            };
            store.finish_delivery(job.id, &outcome).await
        });
    }
    while let Some(done) = sending.join_next().await {
        match done {
            Ok(Err(e)) => tracing::warn!(error = ?e, "recording a webhook delivery"),
            Err(e) => tracing::warn!(error = ?e, "webhook delivery task"),
            Ok(Ok(())) => {}
        }
    }
    Ok(n)
}

/// Sends due deliveries every second until the process ends.
pub fn spawn_deliverer(
    store: Arc<dyn Store>,
    secrets: Arc<SecretBox>,
    policy: WebhookPolicy,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = client(&policy);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = crate::server::db::now_millis();
            if let Err(e) = deliver_due(&store, &secrets, &client, &policy, now).await {
                tracing::warn!(error = ?e, "webhook deliverer");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let p = WebhookPolicy::default();
        assert_eq!(p.backoff_ms(1), 15_000);
        assert_eq!(p.backoff_ms(2), 30_000);
        assert_eq!(p.backoff_ms(3), 60_000);
        assert_eq!(p.backoff_ms(20), 3_600_000);
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = signature("0123456789abcdef", 1_700_000_000, "{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_ne!(a, signature("0123456789abcdef", 1_700_000_001, "{}"));
        assert_ne!(a, signature("0123456789abcdef", 1_700_000_000, "{ }"));
        assert_ne!(a, signature("fedcba9876543210", 1_700_000_000, "{}"));
    }
}
