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
use ipnet::IpNet;
use sha2::Sha256;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Address blocks a webhook may not reach unless the operator allows them: loopback, private,
/// link-local (cloud metadata services), shared, reserved and multicast space. Without this,
/// a project owner could point a webhook at internal services and read the delivery log as a
/// port scanner's output.
const INTERNAL_BLOCKS: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
    // NAT64 prefixes translate to IPv4 behind them, private ranges included.
    "64:ff9b::/96",
    "64:ff9b:1::/48",
];

/// Whether a webhook may connect to `ip`: a public address, or one inside `allow`.
pub fn may_reach(ip: IpAddr, allow: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if allow.iter().any(|n| n.contains(&ip)) {
        return true;
    }
    !INTERNAL_BLOCKS
        .iter()
        .filter_map(|b| b.parse::<IpNet>().ok())
        .any(|n| n.contains(&ip))
}

/// Resolves a webhook URL's host and refuses it when any address it resolves to is internal
/// and not allowed. Run when a webhook is saved and again on every delivery (the resolver of
/// [`client`] applies the same rule at connect time, so a name that changes its answer later
/// cannot slip through).
pub async fn check_destination(url: &str, allow: &[IpNet]) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect(),
    };
    match addrs.iter().find(|a| !may_reach(a.ip(), allow)) {
        Some(bad) => Err(format!(
            "{host} resolves to {}, an internal address; an operator can allow it with \
             WATERSHED_WEBHOOK_ALLOW",
            bad.ip()
        )),
        None if addrs.is_empty() => Err(format!("{host} does not resolve")),
        None => Ok(()),
    }
}

/// The deliverer's resolver: only addresses webhooks may reach.
struct GuardedResolver {
    allow: Arc<Vec<IpNet>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| may_reach(a.ip(), &allow))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

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
    /// Internal addresses webhooks may reach all the same (`WATERSHED_WEBHOOK_ALLOW`).
    pub allow: Vec<IpNet>,
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
            allow: Vec::new(),
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

/// The HTTP client deliveries are sent with: no redirects, a timeout per attempt, and a
/// resolver that never hands out internal addresses the operator has not allowed.
pub fn client(policy: &WebhookPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(policy.timeout)
        // A proxy would resolve and connect on its own, around the guarded resolver.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver {
            allow: Arc::new(policy.allow.clone()),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Watershed-Webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend is compiled in")
}

async fn attempt(
    client: &reqwest::Client,
    secrets: &SecretBox,
    policy: &WebhookPolicy,
    job: &WebhookJob,
    now: i64,
) -> Result<i64, (Option<i64>, String)> {
    if job.url.is_empty() {
        return Err((None, "the project's webhook was removed".into()));
    }
    check_destination(&job.url, &policy.allow)
        .await
        .map_err(|e| (None, e))?;
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

/// Deliveries of one project sent in one pass, one after another; the rest wait for a later
/// pass. Their attempts together stay within the claim's lease.
pub const PER_PROJECT_PER_PASS: usize = 4;

/// Projects whose deliveries are being sent now: a slow receiver holds up only its own
/// project's deliveries, never another project's.
#[derive(Clone, Default)]
pub struct Sending(Arc<Mutex<HashSet<String>>>);

impl Sending {
    fn begin(&self, project: &str) -> bool {
        self.0
            .lock()
            .map(|mut s| s.insert(project.to_string()))
            .unwrap_or(false)
    }

    fn end(&self, project: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(project);
        }
    }
}

/// Claims the deliveries due at `now` and starts sending them: per project, in order, at most
/// [`PER_PROJECT_PER_PASS`]; a project still sending from an earlier pass is skipped (its
/// deliveries come back when their claim lapses). Returns the senders started.
pub async fn start_pass(
    store: &Arc<dyn Store>,
    secrets: &Arc<SecretBox>,
    client: &reqwest::Client,
    policy: &WebhookPolicy,
    sending: &Sending,
    now: i64,
) -> StoreResult<tokio::task::JoinSet<usize>> {
    let jobs = store
        .claim_deliveries(now, now + policy.lease_ms, 32)
        .await?;
    let mut by_project: BTreeMap<String, Vec<WebhookJob>> = BTreeMap::new();
    for job in jobs {
        by_project.entry(job.project.clone()).or_default().push(job);
    }
    let mut senders = tokio::task::JoinSet::new();
    for (project, jobs) in by_project {
        if !sending.begin(&project) {
            continue;
        }
        let (store, secrets, client, policy, sending) = (
            store.clone(),
            secrets.clone(),
            client.clone(),
            policy.clone(),
            sending.clone(),
        );
        senders.spawn(async move {
            let mut sent = 0;
            for job in jobs.into_iter().take(PER_PROJECT_PER_PASS) {
                send_one(&store, &secrets, &client, &policy, job, now).await;
                sent += 1;
            }
            sending.end(&project);
            sent
        });
    }
    Ok(senders)
}

async fn send_one(
    store: &Arc<dyn Store>,
    secrets: &SecretBox,
    client: &reqwest::Client,
    policy: &WebhookPolicy,
    job: WebhookJob,
    now: i64,
) {
    let failed = job.attempts + 1;
    let outcome = match attempt(client, secrets, policy, &job, now).await {
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
    if let Err(e) = store.finish_delivery(job.id, &outcome).await {
        tracing::warn!(error = ?e, "recording a webhook delivery");
    }
}

/// One whole pass: claims the deliveries due at `now`, sends them and records each outcome.
/// Returns how many were attempted.
pub async fn deliver_due(
    store: &Arc<dyn Store>,
    secrets: &Arc<SecretBox>,
    client: &reqwest::Client,
    policy: &WebhookPolicy,
    now: i64,
) -> StoreResult<usize> {
    let sending = Sending::default();
    let mut senders = start_pass(store, secrets, client, policy, &sending, now).await?;
    let mut n = 0;
    while let Some(done) = senders.join_next().await {
        n += done.unwrap_or(0);
    }
    Ok(n)
}

/// Sends due deliveries every second until the process ends, without waiting for slow
/// receivers: each project's deliveries run on their own. Read notifications and finished
/// deliveries older than `keep_days` are pruned hourly.
pub async fn deliver_forever(
    store: Arc<dyn Store>,
    secrets: Arc<SecretBox>,
    policy: WebhookPolicy,
    keep_days: i64,
) {
    let client = client(&policy);
    let sending = Sending::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_prune = 0;
    loop {
        tick.tick().await;
        let now = crate::server::db::now_millis();
        match start_pass(&store, &secrets, &client, &policy, &sending, now).await {
            // The senders finish on their own; the next pass does not wait for them.
            Ok(mut senders) => senders.detach_all(),
            Err(e) => tracing::warn!(error = ?e, "webhook deliverer"),
        }
        if now - last_prune >= 3_600_000 {
            last_prune = now;
            let before = now - keep_days * 86_400_000;
            match store.prune_notices(before, before).await {
                Ok((n, d)) if n + d > 0 => {
                    tracing::info!(notifications = n, deliveries = d, "pruned old notices")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "pruning notices"),
            }
        }
    }
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

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "192.168.1.1",
            "::1",
            "::ffff:127.0.0.1",
            "fd00::1",
        ] {
            assert!(!may_reach(ip(internal), &[]), "{internal}");
        }
        assert!(may_reach(ip("93.184.216.34"), &[]));
        assert!(may_reach(ip("2606:4700::1111"), &[]));
        let allow: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(may_reach(ip("10.1.2.3"), &allow));
        assert!(!may_reach(ip("127.0.0.1"), &allow));
    }

    #[tokio::test]
    async fn a_loopback_webhook_is_refused_with_the_reason() {
        let e = check_destination("http://127.0.0.1:9/hook", &[])
            .await
            .unwrap_err();
        assert!(
            e.contains("internal address") && e.contains("WATERSHED_WEBHOOK_ALLOW"),
            "{e}"
        );
        let loopback: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        assert!(check_destination("http://127.0.0.1:9/hook", &loopback)
            .await
            .is_ok());
        assert!(check_destination("http://localhost:9/hook", &[])
            .await
            .is_err());
    }
}
