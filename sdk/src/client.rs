//! What producers and consumers share: their settings, the platform link that fetches the
//! config (or reads it from the cache), heartbeats, reports, and tells them of a new mapping.

use crate::cache::ConfigCache;
use crate::platform::Platform;
use crate::wire::{
    ConfigRequest, HeartbeatCounters, HeartbeatQueue, HeartbeatRequest, PartitionOffset, Report,
    ReportBatch, SdkConfig, SdkRole,
};
use crate::{QueueAddress, SdkError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The SDK's version, as it introduces itself to the platform.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where a consumer starts when its group has no committed offset on the queue's cluster at
/// connect time. After a switch the consumer always starts at the earliest offset of a cluster
/// where the group has none, so nothing producers wrote there before it arrived is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResumePolicy {
    /// From the oldest message kept: nothing is skipped, a message may be read twice.
    #[default]
    Earliest,
    /// From the next message written: nothing old is re-read, anything already there is skipped.
    Latest,
}

/// How a client finds its queue, and who it says it is.
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) platform_url: String,
    pub(crate) address: QueueAddress,
    pub(crate) token: String,
    pub(crate) app: String,
    pub(crate) consumer_group: Option<String>,
    pub(crate) client_id: String,
    pub(crate) host: String,
    pub(crate) heartbeat_interval: Option<Duration>,
    pub(crate) report_interval: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) cache_dir: PathBuf,
    pub(crate) drain: Option<Duration>,
    pub(crate) resume: ResumePolicy,
    pub(crate) commit_interval: Duration,
    /// librdkafka properties set by the application, over the SDK's own.
    pub(crate) kafka: BTreeMap<String, String>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("platform_url", &self.platform_url)
            .field("queue", &self.address.to_string())
            .field("app", &self.app)
            .field("consumer_group", &self.consumer_group)
            .field("client_id", &self.client_id)
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WATERSHED_SDK_CACHE_DIR") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("watershed-sdk");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("watershed-sdk"),
        None => std::env::temp_dir().join("watershed-sdk"),
    }
}

impl ClientConfig {
    /// A client of `project/queue` on the platform at `platform_url`, as application `app`
    /// holding the application token `token` (`wsa_…`).
    pub fn new(
        platform_url: impl Into<String>,
        project: impl Into<String>,
        queue: impl Into<String>,
        token: impl Into<String>,
        app: impl Into<String>,
    ) -> Result<Self, SdkError> {
        let (platform_url, token, app) = (platform_url.into(), token.into(), app.into());
        let address = QueueAddress::new(project, queue)?;
        if platform_url.trim().is_empty() {
            return Err(SdkError::Empty {
                field: "platform_url",
            });
        }
        if token.trim().is_empty() {
            return Err(SdkError::Empty { field: "token" });
        }
        if app.trim().is_empty() {
            return Err(SdkError::Empty { field: "app" });
        }
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let client_id = format!(
            "{app}-{host}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        Ok(Self {
            platform_url,
            address,
            token,
            app,
            consumer_group: None,
            client_id,
            host,
            heartbeat_interval: None,
            report_interval: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            cache_dir: default_cache_dir(),
            drain: None,
            resume: ResumePolicy::default(),
            commit_interval: Duration::from_secs(5),
            kafka: BTreeMap::new(),
        })
    }

    /// The consumer group a consumer reads and commits as (required for consumers).
    pub fn with_consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer_group = Some(group.into());
        self
    }

    /// Heartbeat at this interval instead of the one the platform suggests (60 s by default).
    pub fn with_heartbeat_interval(mut self, every: Duration) -> Self {
        self.heartbeat_interval = Some(every);
        self
    }

    /// Report counters at this interval (10 s by default).
    pub fn with_report_interval(mut self, every: Duration) -> Self {
        self.report_interval = every;
        self
    }

    /// Where configs are cached (`$WATERSHED_SDK_CACHE_DIR`, else `$XDG_CACHE_HOME/watershed-sdk`,
    /// else `~/.cache/watershed-sdk`).
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = dir.into();
        self
    }

    /// This instance's id (unique per process by default).
    pub fn with_client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// How long a consumer keeps reading the old cluster after a switch, for what producers
    /// wrote there before they switched too (two heartbeat intervals by default).
    pub fn with_drain(mut self, drain: Duration) -> Self {
        self.drain = Some(drain);
        self
    }

    /// Where a consumer that connects starts when its group has no committed offset.
    pub fn with_resume(mut self, policy: ResumePolicy) -> Self {
        self.resume = policy;
        self
    }

    /// How often a consumer commits what it has handed out during `poll` (5 s by default).
    pub fn with_commit_interval(mut self, every: Duration) -> Self {
        self.commit_interval = every;
        self
    }

    /// Sets a librdkafka property on the Kafka-protocol clients this config makes, over the
    /// SDK's defaults: batching (`linger.ms`, `batch.size`), `compression.type`, timeouts such
    /// as `session.timeout.ms`, TLS files… Where the queue lives and its credentials still come
    /// from the platform and cannot be set here.
    pub fn with_kafka_setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.kafka.insert(key.into(), value.into());
        self
    }

    /// Time limit of one call to the platform (5 s by default).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The queue this client uses.
    pub fn address(&self) -> &QueueAddress {
        &self.address
    }

    /// This instance's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// Counters since the last report, and running totals for heartbeats.
#[derive(Default)]
struct Counters {
    messages: i64,
    bytes: i64,
    errors: u64,
    total_messages: u64,
    total_bytes: u64,
    offsets: Vec<PartitionOffset>,
    seq: i64,
}

/// The platform side of one producer or consumer.
pub(crate) struct Link {
    pub(crate) config: ClientConfig,
    pub(crate) role: SdkRole,
    platform: Platform,
    cache: ConfigCache,
    route: watch::Sender<SdkConfig>,
    counters: Mutex<Counters>,
    revoked: Mutex<Option<String>>,
    /// Set when the config came from the cache: the client still has to introduce itself.
    introduced: Mutex<bool>,
}

impl Link {
    /// Asks the platform where the queue lives (or, when it is unreachable, the cache), and
    /// starts heartbeating and reporting in the background.
    pub(crate) async fn open(config: ClientConfig, role: SdkRole) -> Result<Arc<Self>, SdkError> {
        if role == SdkRole::Consumer && config.consumer_group.is_none() {
            return Err(SdkError::Empty {
                field: "consumer_group",
            });
        }
        let platform = Platform::new(&config.platform_url, &config.token, config.request_timeout)?;
        let cache = ConfigCache::new(&config.cache_dir);
        let request = config_request(&config, role);
        let (first, introduced) = match platform.config(&request).await {
            Ok(c) => {
                if let Err(e) = cache.store(&c, role).await {
                    tracing::warn!(error = %e, "the config could not be cached");
                }
                (c, true)
            }
            Err(SdkError::Unreachable { message, .. }) => {
                let cached = cache
                    .load(&config.address.project, &config.address.queue, role)
                    .await
                    .ok_or_else(|| SdkError::NoConfig {
                        queue: config.address.to_string(),
                        message: message.clone(),
                    })?;
                tracing::warn!(%message, cluster = %cached.cluster.name,
                    "the platform is unreachable; running from the cached config");
                (cached, false)
            }
            Err(e) => return Err(e),
        };
        let (route, _) = watch::channel(first);
        let link = Arc::new(Self {
            config,
            role,
            platform,
            cache,
            route,
            counters: Mutex::default(),
            revoked: Mutex::default(),
            introduced: Mutex::new(introduced),
        });
        tokio::spawn(Self::heartbeats(Arc::downgrade(&link)));
        tokio::spawn(Self::reporting(Arc::downgrade(&link)));
        Ok(link)
    }

    /// The mapping in force, and a receiver that sees every later one.
    pub(crate) fn subscribe(&self) -> watch::Receiver<SdkConfig> {
        self.route.subscribe()
    }

    /// Fails once the platform withdrew the queue from this application.
    pub(crate) fn check_revoked(&self) -> Result<(), SdkError> {
        match &*self.revoked.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(reason) => Err(SdkError::Revoked {
                queue: self.config.address.to_string(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Counts what was produced or consumed.
    pub(crate) fn count(&self, messages: usize, bytes: usize) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.messages += messages as i64;
        c.bytes += bytes as i64;
        c.total_messages += messages as u64;
        c.total_bytes += bytes as u64;
    }

    /// Counts a failed call.
    pub(crate) fn count_error(&self) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .errors += 1;
    }

    /// A consumer's latest positions and lag, sent with the next report.
    pub(crate) fn set_offsets(&self, offsets: Vec<PartitionOffset>) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .offsets = offsets;
    }

    fn interval(&self) -> Duration {
        self.config.heartbeat_interval.unwrap_or_else(|| {
            Duration::from_secs(self.route.borrow().heartbeat_interval_secs.max(1))
        })
    }

    async fn heartbeats(link: std::sync::Weak<Self>) {
        loop {
            let Some(every) = link.upgrade().map(|l| l.interval()) else {
                return;
            };
            tokio::time::sleep(every).await;
            let Some(l) = link.upgrade() else { return };
            if let Err(e) = l.heartbeat().await {
                tracing::warn!(error = %e, "heartbeat failed; running on with the current config");
            }
        }
    }

    /// One heartbeat (or, while the client has not introduced itself, one config request).
    pub(crate) async fn heartbeat(&self) -> Result<(), SdkError> {
        let introduced = *self.introduced.lock().unwrap_or_else(|e| e.into_inner());
        if !introduced {
            let fresh = match self
                .platform
                .config(&config_request(&self.config, self.role))
                .await
            {
                Ok(c) => c,
                // Started from the cache, and the platform now says no: stop using the queue.
                Err(SdkError::Denied { reason }) | Err(SdkError::Unauthorized(reason)) => {
                    *self.revoked.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.clone());
                    return Err(SdkError::Denied { reason });
                }
                Err(e) => return Err(e),
            };
            *self.introduced.lock().unwrap_or_else(|e| e.into_inner()) = true;
            self.adopt(fresh).await;
            return Ok(());
        }
        let (project, queue) = (&self.config.address.project, &self.config.address.queue);
        let counters = {
            let c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            HeartbeatCounters {
                messages: c.total_messages,
                bytes: c.total_bytes,
                errors: c.errors,
            }
        };
        let request = HeartbeatRequest {
            client_id: self.config.client_id.clone(),
            queues: vec![HeartbeatQueue {
                project: project.clone(),
                queue: queue.clone(),
                role: self.role,
                config_version: self.route.borrow().config_version.clone(),
            }],
            counters,
        };
        let answer = self.platform.heartbeat(&request).await?;
        if let Some(r) = answer
            .revoked
            .iter()
            .find(|r| &r.project == project && &r.queue == queue && r.role == self.role)
        {
            tracing::warn!(reason = %r.reason, "access withdrawn");
            *self.revoked.lock().unwrap_or_else(|e| e.into_inner()) = Some(r.reason.clone());
        }
        if let Some(c) = answer
            .changed
            .into_iter()
            .find(|c| &c.project == project && &c.queue == queue)
        {
            self.adopt(c).await;
        }
        Ok(())
    }

    /// Takes a mapping the platform answered: cached, then handed to the producer or consumer.
    async fn adopt(&self, config: SdkConfig) {
        if let Err(e) = self.cache.store(&config, self.role).await {
            tracing::warn!(error = %e, "the config could not be cached");
        }
        self.route.send_if_modified(|current| {
            if current.config_version == config.config_version {
                return false;
            }
            tracing::info!(from = %current.cluster.name, to = %config.cluster.name,
                topic = %config.topic, "the queue moved");
            *current = config;
            true
        });
    }

    async fn reporting(link: std::sync::Weak<Self>) {
        loop {
            let Some(every) = link.upgrade().map(|l| l.config.report_interval) else {
                return;
            };
            tokio::time::sleep(every).await;
            let Some(l) = link.upgrade() else { return };
            if let Err(e) = l.report().await {
                tracing::debug!(error = %e, "report not delivered; counts carry over");
            }
        }
    }

    /// Sends what was counted since the last report; on failure the counts carry over.
    pub(crate) async fn report(&self) -> Result<(), SdkError> {
        let report = {
            let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            if c.messages == 0 && c.offsets.is_empty() {
                return Ok(());
            }
            c.seq += 1;
            let r = Report {
                project: self.config.address.project.clone(),
                queue: self.config.address.queue.clone(),
                role: self.role,
                client_id: self.config.client_id.clone(),
                host: self.config.host.clone(),
                app: Some(self.config.app.clone()),
                consumer_group: self.config.consumer_group.clone(),
                sdk_version: SDK_VERSION.into(),
                seq: Some(c.seq),
                messages: c.messages,
                bytes: c.bytes,
                offsets: std::mem::take(&mut c.offsets),
            };
            c.messages = 0;
            c.bytes = 0;
            r
        };
        let (messages, bytes) = (report.messages, report.bytes);
        let offsets = report.offsets.clone();
        let result = self
            .platform
            .reports(&ReportBatch {
                reports: vec![report],
            })
            .await;
        if result.is_err() {
            let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
            c.messages += messages;
            c.bytes += bytes;
            if c.offsets.is_empty() {
                c.offsets = offsets;
            }
        }
        result.map(|_| ())
    }
}

fn config_request(config: &ClientConfig, role: SdkRole) -> ConfigRequest {
    ConfigRequest {
        project: config.address.project.clone(),
        queue: config.address.queue.clone(),
        role,
        app: config.app.clone(),
        consumer_group: config.consumer_group.clone(),
        client_id: config.client_id.clone(),
        host: config.host.clone(),
        sdk_version: SDK_VERSION.into(),
    }
}

/// Turns a cluster's error into the SDK's, naming the cluster.
pub(crate) fn kafka_error(cluster: &str, e: impl std::fmt::Display) -> SdkError {
    SdkError::Kafka {
        cluster: cluster.into(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_names_the_missing_field() {
        let e = ClientConfig::new("http://p", "shop", "orders", "", "billing").unwrap_err();
        assert_eq!(e, SdkError::Empty { field: "token" });
        let e = ClientConfig::new("http://p", "shop", "orders", "wsa_x", " ").unwrap_err();
        assert_eq!(e, SdkError::Empty { field: "app" });
        let e = ClientConfig::new("", "shop", "orders", "wsa_x", "a").unwrap_err();
        assert_eq!(
            e,
            SdkError::Empty {
                field: "platform_url"
            }
        );
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let c = ClientConfig::new("http://p", "shop", "orders", "wsa_secret", "billing").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("wsa_secret"), "{shown}");
        assert!(c.client_id().starts_with("billing-"));
    }

    #[tokio::test]
    async fn a_consumer_without_a_group_is_refused_before_any_call() {
        let c = ClientConfig::new("http://127.0.0.1:1", "shop", "orders", "wsa_x", "a").unwrap();
        let e = Link::open(c, SdkRole::Consumer).await.err().unwrap();
        assert_eq!(
            e,
            SdkError::Empty {
                field: "consumer_group"
            }
        );
    }

    #[tokio::test]
    async fn an_unreachable_platform_with_nothing_cached_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let c = ClientConfig::new("http://127.0.0.1:1", "shop", "orders", "wsa_x", "a")
            .unwrap()
            .with_cache_dir(dir.path());
        let e = Link::open(c, SdkRole::Producer).await.err().unwrap();
        assert!(
            matches!(e, SdkError::NoConfig { ref queue, .. } if queue == "shop/orders"),
            "{e}"
        );
    }
}
