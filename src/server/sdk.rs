//! The Stream-SDK control plane: where a queue lives (from memory), who may use it, heartbeats
//! that carry mapping changes, and reports handed to the collector.
//!
//! Config answers come from a per-queue cache. It is dropped whenever this process makes an
//! audited mutation (see [`crate::server::db::Store::mutation_epoch`]) and when the change feed shows
//! that another process changed a queue or cluster (checked every second). Token and grant
//! checks are cached for at most [`AUTH_TTL`], so a revocation made by any process bites within
//! that time, and at once when made by this one.

use crate::domain::{
    ApplicationView, ConfigRequest, GrantView, HeartbeatRequest, HeartbeatResponse, Permission,
    ReportAck, ReportBatch, RevokedQueue, SdkCluster, SdkConfig, SdkRole, Validate,
    DEFAULT_HEARTBEAT_SECS,
};
use crate::server::collector::{CollectError, Collector, CollectorConfig, Entry};
use crate::server::crypto::SecretBox;
use crate::server::db::collector::{ClientRow, ClientTouch, ReportRow};
use crate::server::db::{now_millis, Store};
use crate::server::kafka::{cluster_access, Credential, KafkaSettings};
use crate::server::services::{access, queues, ServiceError, ServiceResult};
use ipnet::IpNet;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a token or grant check is trusted without asking the database again.
pub const AUTH_TTL: Duration = Duration::from_secs(4);
/// How often the change feed is checked for other processes' changes.
pub const FEED_POLL: Duration = Duration::from_secs(1);

/// Settings of the SDK plane, its collector and the cluster agent that polls brokers.
#[derive(Debug, Clone)]
pub struct SdkSettings {
    pub heartbeat_secs: u64,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub collector: CollectorConfig,
    pub kafka: KafkaSettings,
    /// Queues with this tag are never open to their project's own applications without a
    /// grant (they need an admin's approval like any request).
    pub sensitive_tag: String,
}

impl Default for SdkSettings {
    fn default() -> Self {
        Self {
            heartbeat_secs: DEFAULT_HEARTBEAT_SECS,
            trusted_proxies: Vec::new(),
            collector: CollectorConfig::default(),
            kafka: KafkaSettings::default(),
            sensitive_tag: crate::server::services::access::DEFAULT_SENSITIVE_TAG.to_string(),
        }
    }
}

/// A queue's mapping, cached.
#[derive(Debug, Clone)]
struct QueueEntry {
    queue_id: i64,
    /// The queue's tags (a sensitive one keeps its project's own applications out).
    tags: Vec<String>,
    config: SdkConfig,
}

struct Cached<T> {
    at: Instant,
    value: T,
}

type Cache<K, V> = RwLock<HashMap<K, Cached<V>>>;

/// The SDK plane: caches in front of the store, and the collector.
pub struct SdkPlane {
    store: Arc<dyn Store>,
    secrets: Arc<SecretBox>,
    pub collector: Arc<Collector>,
    pub settings: SdkSettings,
    queues: Cache<(String, String), Arc<QueueEntry>>,
    tokens: Cache<String, Option<ApplicationView>>,
    grants: Cache<i64, Arc<Vec<GrantView>>>,
    /// Whether a project's own applications use its queues without a request.
    own_access: Cache<String, bool>,
    epoch: AtomicU64,
    feed_seq: AtomicI64,
}

fn get<K: std::hash::Hash + Eq, V: Clone>(
    cache: &Cache<K, V>,
    key: &K,
    ttl: Option<Duration>,
) -> Option<V> {
    let map = cache.read().unwrap_or_else(|e| e.into_inner());
    map.get(key)
        .filter(|c| ttl.is_none_or(|t| c.at.elapsed() < t))
        .map(|c| c.value.clone())
}

fn put<K: std::hash::Hash + Eq, V>(cache: &Cache<K, V>, key: K, value: V) {
    let mut map = cache.write().unwrap_or_else(|e| e.into_inner());
    // Bounded: a flood of distinct bad tokens cannot grow it without limit.
    if map.len() >= 100_000 {
        map.clear();
    }
    map.insert(
        key,
        Cached {
            at: Instant::now(),
            value,
        },
    );
}

fn clear<K, V>(cache: &Cache<K, V>) {
    cache.write().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Identifies a mapping: changes exactly when what a client connects to changes.
/// A mapping's version: it changes with the cluster, topic, side or credential, and with
/// every switch (a failover and failback within one heartbeat is a new version, so consumers
/// hear of the cluster in between). The password
/// and the TLS client key enter only in their sealed forms (random nonce), so the version,
/// which any signed-in user may see in a rollout, is no offline oracle for guessing them.
fn config_version(
    cluster: &SdkCluster,
    sealed: [Option<&str>; 2],
    topic: &str,
    side: &str,
    last_switch: Option<i64>,
) -> String {
    let mut public = cluster.clone();
    public.sasl_password = None;
    if let Some(tls) = &mut public.tls {
        tls.client_key_pem = None;
    }
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&(public, sealed, topic, side, last_switch)).unwrap_or_default());
    hex::encode(&h.finalize()[..8])
}

impl From<CollectError> for ServiceError {
    fn from(e: CollectError) -> Self {
        match e {
            CollectError::Full { retry_after_secs } => {
                ServiceError::Overloaded { retry_after_secs }
            }
            other => ServiceError::Unavailable(other.to_string()),
        }
    }
}

impl SdkPlane {
    /// The plane with its collector running; [`SdkPlane::follow_feed`] keeps its caches honest
    /// (started with the other background tasks).
    pub fn start(
        store: Arc<dyn Store>,
        secrets: Arc<SecretBox>,
        settings: SdkSettings,
    ) -> Arc<Self> {
        let collector = Collector::start(store.clone(), settings.collector.clone());
        let epoch = AtomicU64::new(store.mutation_epoch());
        Arc::new(Self {
            store,
            secrets,
            collector,
            settings,
            queues: RwLock::default(),
            tokens: RwLock::default(),
            grants: RwLock::default(),
            own_access: RwLock::default(),
            epoch,
            feed_seq: AtomicI64::new(-1),
        })
    }

    /// Drops cached queue answers whenever the change feed moved (another process changed
    /// something), until the plane is dropped.
    pub async fn follow_feed(self: Arc<Self>) {
        let weak = Arc::downgrade(&self);
        drop(self);
        let mut tick = tokio::time::interval(FEED_POLL);
        loop {
            tick.tick().await;
            let Some(plane) = weak.upgrade() else { break };
            match plane.store.queue_change_seq().await {
                Ok(seq) => {
                    if plane.feed_seq.swap(seq, Ordering::AcqRel) != seq {
                        clear(&plane.queues);
                    }
                }
                Err(e) => tracing::warn!(error = ?e, "sdk cache: reading the change feed"),
            }
        }
    }

    /// Drops every cached answer when this process changed something since the last look.
    fn check_epoch(&self) {
        let now = self.store.mutation_epoch();
        if self.epoch.swap(now, Ordering::AcqRel) != now {
            clear(&self.queues);
            clear(&self.tokens);
            clear(&self.grants);
            clear(&self.own_access);
        }
    }

    /// The application a token belongs to; 401 when it is not a live application token.
    pub async fn authenticate(&self, token: Option<&str>) -> ServiceResult<ApplicationView> {
        self.check_epoch();
        let token = token.ok_or(ServiceError::Unauthenticated)?;
        let key = crate::server::services::accounts::token_hash(token);
        let app = match get(&self.tokens, &key, Some(AUTH_TTL)) {
            Some(app) => app,
            None => {
                let app = access::application_for_token(self.store.as_ref(), token).await?;
                put(&self.tokens, key, app.clone());
                app
            }
        };
        app.ok_or(ServiceError::Unauthenticated)
    }

    async fn queue(&self, project: &str, queue: &str) -> ServiceResult<Arc<QueueEntry>> {
        let key = (project.to_string(), queue.to_string());
        if let Some(e) = get(&self.queues, &key, None) {
            return Ok(e);
        }
        let q = queues::get(self.store.as_ref(), project, queue).await?;
        let record = self
            .store
            .cluster(q.active_cluster())
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("cluster {}", q.active_cluster())))?;
        let cluster = cluster_access(&record, &self.secrets, Credential::Client)?;
        let (last_switch, recent) = self.recent_clusters(q.id, q.active_cluster()).await?;
        let side = q.active_side.to_string();
        let entry = Arc::new(QueueEntry {
            queue_id: q.id,
            tags: q.tags.clone(),
            config: SdkConfig {
                config_version: config_version(
                    &cluster,
                    [
                        record.client_sasl_password_enc.as_deref(),
                        record.tls_client_key_enc.as_deref(),
                    ],
                    &q.topic,
                    &side,
                    last_switch,
                ),
                project: q.project,
                queue: q.name,
                cluster,
                topic: q.topic,
                active_side: side,
                heartbeat_interval_secs: self.settings.heartbeat_secs,
                recent,
            },
        });
        put(&self.queues, key, entry.clone());
        Ok(entry)
    }

    /// The queue's last switch, and the clusters other than `active` it lived on within the
    /// last five heartbeat intervals (newest first): a consumer that last looked before the
    /// first of two quick switches drains them all. A cluster since removed, or without a
    /// client credential, is left out (nothing can be read there).
    async fn recent_clusters(
        &self,
        queue_id: i64,
        active: &str,
    ) -> ServiceResult<(Option<i64>, Vec<SdkCluster>)> {
        let since = now_millis() - 5 * 1000 * self.settings.heartbeat_secs as i64;
        let switches = self.store.queue_switches(queue_id, 20).await?;
        let last = switches.first().map(|s| s.id);
        let mut names: Vec<String> = Vec::new();
        for s in switches.into_iter().take_while(|s| s.at >= since) {
            for name in [s.to_cluster, s.from_cluster] {
                if name != active && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let mut out = Vec::new();
        for name in names {
            let Some(record) = self.store.cluster(&name).await? else {
                continue;
            };
            match cluster_access(&record, &self.secrets, Credential::Client) {
                Ok(c) => out.push(c),
                Err(e) => tracing::warn!(cluster = %name, error = %e, "not drained by clients"),
            }
        }
        Ok((last, out))
    }

    async fn grants(&self, app: &ApplicationView) -> ServiceResult<Arc<Vec<GrantView>>> {
        if let Some(g) = get(&self.grants, &app.id, Some(AUTH_TTL)) {
            return Ok(g);
        }
        let g = Arc::new(self.store.grants(app.id).await?);
        put(&self.grants, app.id, g.clone());
        Ok(g)
    }

    /// Ok when `app` holds a live grant that covers `role` on the queue; else why not.
    async fn may_use(
        &self,
        app: &ApplicationView,
        project: &str,
        queue: &str,
        role: SdkRole,
    ) -> ServiceResult<Result<(), String>> {
        // A project's own applications use its queues, unless its owners switched that off or
        // the queue is sensitive (that needs an admin's approval, as any request for it).
        if app.project == project
            && !self
                .queue(project, queue)
                .await?
                .tags
                .contains(&self.settings.sensitive_tag)
        {
            let own = match get(&self.own_access, &app.project, Some(AUTH_TTL)) {
                Some(own) => own,
                None => {
                    let own = self.store.own_apps_access(project).await?;
                    put(&self.own_access, app.project.clone(), own);
                    own
                }
            };
            if own {
                return Ok(Ok(()));
            }
        }
        let now = now_millis();
        let grants = self.grants(app).await?;
        let covering = |g: &&GrantView| {
            g.queue_project == project
                && g.queue == queue
                && match g.permission {
                    Permission::Both => true,
                    p => p.to_string() == role.needs(),
                }
        };
        if grants.iter().filter(covering).any(|g| g.is_live(now)) {
            return Ok(Ok(()));
        }
        let why = match grants.iter().filter(covering).max_by_key(|g| g.created_at) {
            Some(g) if g.revoked_at.is_some() => " (its grant was revoked)",
            Some(_) => " (its grant expired)",
            None => "",
        };
        let own = if app.project == project {
            " (the project's owners switched off access for its own applications)"
        } else {
            ""
        };
        Ok(Err(format!(
            "application {}/{} has no live grant to {} queue {project}/{queue}{why}{own}; request access in the console",
            app.project,
            app.name,
            role.needs()
        )))
    }

    /// `config`: where the queue lives, for an application allowed to use it in that role.
    pub async fn config(
        &self,
        app: &ApplicationView,
        req: &ConfigRequest,
        ip: IpAddr,
    ) -> ServiceResult<SdkConfig> {
        req.validate()?;
        if req.app != app.name && req.app != format!("{}/{}", app.project, app.name) {
            return Err(vec![crate::domain::FieldError::new(
                "app",
                format!(
                    "the token belongs to application {}/{}, not {:?}",
                    app.project, app.name, req.app
                ),
            )]
            .into());
        }
        let entry = self.queue(&req.project, &req.queue).await?;
        self.may_use(app, &req.project, &req.queue, req.role)
            .await?
            .map_err(ServiceError::Forbidden)?;
        // Who asked is recorded without holding up the answer.
        let seen = ClientRow {
            client_id: req.client_id.clone(),
            queue_id: entry.queue_id,
            role: role_str(req.role),
            application_id: app.id,
            host: req.host.clone(),
            ip: ip.to_string(),
            consumer_group: req.consumer_group.clone(),
            sdk_version: req.sdk_version.clone(),
            config_version: entry.config.config_version.clone(),
            at: now_millis(),
        };
        if self.collector.submit(vec![Entry::Client(seen)]).is_err() {
            metrics::counter!("watershed_sdk_sightings_dropped_total").increment(1);
        }
        Ok(entry.config.clone())
    }

    /// `heartbeat`: the new config of every listed queue whose mapping changed, and the queues
    /// the application may no longer use.
    pub async fn heartbeat(
        &self,
        app: &ApplicationView,
        req: &HeartbeatRequest,
    ) -> ServiceResult<HeartbeatResponse> {
        req.validate()?;
        let now = now_millis();
        let mut changed = Vec::new();
        let mut revoked = Vec::new();
        let mut touches = Vec::with_capacity(req.queues.len());
        for (i, hq) in req.queues.iter().enumerate() {
            let entry = match self.queue(&hq.project, &hq.queue).await {
                Ok(e) => e,
                Err(ServiceError::NotFound(what)) => {
                    revoked.push(RevokedQueue {
                        project: hq.project.clone(),
                        queue: hq.queue.clone(),
                        role: hq.role,
                        reason: format!("{what} not found (queues[{i}])"),
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Err(reason) = self.may_use(app, &hq.project, &hq.queue, hq.role).await? {
                revoked.push(RevokedQueue {
                    project: hq.project.clone(),
                    queue: hq.queue.clone(),
                    role: hq.role,
                    reason,
                });
                continue;
            }
            if entry.config.config_version != hq.config_version {
                changed.push(entry.config.clone());
            }
            touches.push(Entry::Touch(ClientTouch {
                client_id: req.client_id.clone(),
                queue_id: entry.queue_id,
                role: role_str(hq.role),
                config_version: hq.config_version.clone(),
                at: now,
            }));
        }
        if !touches.is_empty() && self.collector.submit(touches).is_err() {
            metrics::counter!("watershed_sdk_sightings_dropped_total").increment(1);
        }
        Ok(HeartbeatResponse {
            changed,
            revoked,
            heartbeat_interval_secs: self.settings.heartbeat_secs,
        })
    }

    /// `reports`: stored durably before the answer; 429 when the collector is full.
    pub async fn reports(
        &self,
        app: &ApplicationView,
        batch: &ReportBatch,
        ip: IpAddr,
    ) -> ServiceResult<ReportAck> {
        batch.validate()?;
        let now = now_millis();
        let mut rows = Vec::with_capacity(batch.reports.len());
        for (i, r) in batch.reports.iter().enumerate() {
            let entry = self
                .queue(&r.project, &r.queue)
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound(what) => vec![crate::domain::FieldError::new(
                        &format!("reports[{i}].queue"),
                        format!("{what} not found"),
                    )]
                    .into(),
                    e => e,
                })?;
            self.may_use(app, &r.project, &r.queue, r.role)
                .await?
                .map_err(|why| ServiceError::Forbidden(format!("reports[{i}]: {why}")))?;
            let lag = (!r.offsets.is_empty()).then(|| r.offsets.iter().map(|o| o.lag).sum());
            rows.push(Entry::Report(ReportRow {
                at: now,
                queue_id: entry.queue_id,
                application_id: app.id,
                client_id: r.client_id.clone(),
                seq: r.seq,
                role: role_str(r.role),
                host: r.host.clone(),
                ip: ip.to_string(),
                consumer_group: r.consumer_group.clone(),
                messages: r.messages,
                bytes: r.bytes,
                lag,
                offsets: (!r.offsets.is_empty())
                    .then(|| serde_json::to_string(&r.offsets).unwrap_or_default()),
            }));
        }
        let accepted = rows.len();
        self.collector.submit_durable(rows).await?;
        Ok(ReportAck { accepted })
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the nearest
    /// untrusted address in `X-Forwarded-For`.
    pub fn client_ip(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        client_ip(peer, forwarded_for, &self.settings.trusted_proxies)
    }
}

fn role_str(role: SdkRole) -> &'static str {
    match role {
        SdkRole::Producer => "producer",
        SdkRole::Consumer => "consumer",
    }
}

/// See [`SdkPlane::client_ip`].
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(chain) = forwarded_for else {
        return peer;
    };
    let mut nearest = peer;
    for hop in chain.rsplit(',').map(str::trim) {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                nearest = ip;
                if !is_trusted(&ip) {
                    return ip;
                }
            }
            // A malformed hop ends what can be believed.
            Err(_) => return nearest,
        }
    }
    nearest
}

#[async_trait::async_trait]
impl crate::server::services::failover::ConfigSource for SdkPlane {
    /// The config clients of the queue are told now.
    async fn current_config(&self, project: &str, queue: &str) -> ServiceResult<SdkConfig> {
        Ok(self.queue(project, queue).await?.config.clone())
    }

    fn heartbeat_secs(&self) -> u64 {
        self.settings.heartbeat_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        // A stranger cannot claim another address.
        assert_eq!(client_ip(stranger, Some("1.2.3.4"), &trusted), stranger);
        // Through a trusted proxy, the nearest untrusted hop is the client.
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4, 198.51.100.7, 10.0.0.5"), &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, None, &trusted), proxy);
        assert_eq!(
            client_ip(proxy, Some("garbage, 10.0.0.9"), &trusted),
            "10.0.0.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_config_version_follows_the_mapping() {
        let c = SdkCluster {
            name: "a".into(),
            kind: "kafka".into(),
            bootstrap_servers: vec!["h:9092".into()],
            sasl_mechanism: "none".into(),
            sasl_username: String::new(),
            sasl_password: None,
            tls: None,
        };
        let v = config_version(&c, [None, None], "t", "primary", None);
        assert_eq!(
            v,
            config_version(&c.clone(), [None, None], "t", "primary", None)
        );
        assert_ne!(v, config_version(&c, [None, None], "t", "backup", None));
        // A new credential is a new version; the password itself does not enter it.
        assert_ne!(
            v,
            config_version(&c, [Some("v1:sealed"), None], "t", "primary", None)
        );
        let with_password = SdkCluster {
            sasl_password: Some("hunter2".into()),
            ..c.clone()
        };
        assert_eq!(
            v,
            config_version(&with_password, [None, None], "t", "primary", None)
        );
        // Switching TLS on reroutes the clients.
        let with_tls = SdkCluster {
            tls: Some(Default::default()),
            ..c.clone()
        };
        let tls_version = config_version(&with_tls, [None, None], "t", "primary", None);
        assert_ne!(v, tls_version);
        // Every switch is a new version, even back to where the queue was.
        assert_ne!(v, config_version(&c, [None, None], "t", "primary", Some(7)));
        // A new client key (sealed) is a new version too, even beside the same certificate.
        assert_ne!(
            tls_version,
            config_version(
                &with_tls,
                [None, Some("v1:sealed-key")],
                "t",
                "primary",
                None
            )
        );
        assert_ne!(
            v,
            config_version(
                &SdkCluster {
                    name: "b".into(),
                    ..c
                },
                [None, None],
                "t",
                "primary",
                None
            )
        );
    }
}
