//! Talking to real clusters over the Kafka protocol, on the platform's behalf: health probes,
//! the topic behind every queue on each of its clusters, and the end offsets and committed
//! consumer-group offsets that give throughput and lag whether or not clients use the SDK.
//!
//! The wire work is the Stream-SDK's [`watershed_sdk::kafka`] on librdkafka, so the platform
//! and its clients speak to brokers through one client, with the same TLS and SASL.

use crate::domain::{ClusterHealth, QueueView, SdkCluster};
use crate::server::crypto::SecretBox;
use crate::server::db::kafka::{BrokerOffsetRow, GroupOffsetRow, ProvisionRow};
use crate::server::db::StoreError;
use crate::server::db::{now_millis, AuditEvent, ClusterRecord, Store};
use crate::server::health::{ClusterPoll, GroupPeople, Monitor, PolledGroup, PolledQueue};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use watershed_sdk::cluster::Admin;
use watershed_sdk::kafka::{KafkaError, PlanProblem, RawMessage, ReadPlan, ReadReport, TopicPlan};
use watershed_sdk::wire::SdkTls;

/// Why the cluster agent could not do what was asked. The services turn it into their own
/// error, so this module needs nothing from them.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No cluster by this name is registered.
    #[error("cluster {0:?} not found")]
    NotFound(String),
    /// The cluster cannot be reached or used now; the text says why, naming the cluster.
    #[error("{0}")]
    Unavailable(String),
    /// A sealed cluster password did not open (a changed secret key).
    #[error("cluster secret: {0}")]
    Secret(String),
    #[error("storage")]
    Store(#[from] StoreError),
}

pub type AgentResult<T> = Result<T, AgentError>;

/// How long a cached probe answers for a cluster page.
pub const HEALTH_TTL: Duration = Duration::from_secs(15);
/// How long a probe may take before the cluster counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often queue changes are checked for topics to create.
const PROVISION_TICK: Duration = Duration::from_secs(1);
/// How often failed provisioning is tried again.
const PROVISION_RETRY: Duration = Duration::from_secs(60);

/// Settings of the cluster agent.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// How often end offsets and group offsets are read off every cluster; `None` disables it.
    pub poll_every: Option<Duration>,
    /// Create each queue's topic on its clusters when the queue is created or rebound.
    pub provision: bool,
    /// Days broker samples are kept (the per-minute retention).
    pub retention_days: i64,
    /// How consumer groups are judged from the polls.
    pub health: crate::server::health::HealthSettings,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            poll_every: Some(Duration::from_secs(30)),
            provision: true,
            retention_days: 30,
            health: Default::default(),
        }
    }
}

/// Whose credential a connection to a cluster uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The platform's own: probes, provisioning, offset polling. Never leaves the server.
    Admin,
    /// The one handed to SDK clients in their config.
    Client,
}

/// What a client needs to reach a stored cluster, with the chosen credential unsealed.
pub fn cluster_access(
    record: &ClusterRecord,
    secrets: &SecretBox,
    credential: Credential,
) -> AgentResult<SdkCluster> {
    let c = &record.view;
    let (username, sealed) = match credential {
        Credential::Admin => (&c.sasl_username, &record.sasl_password_enc),
        Credential::Client => (&c.client_sasl_username, &record.client_sasl_password_enc),
    };
    let uses_sasl = c.sasl_mechanism != crate::domain::SaslMechanism::None;
    if credential == Credential::Client && uses_sasl && username.is_empty() {
        return Err(AgentError::Unavailable(format!(
            "cluster {} has no client credential yet: an admin sets one on the cluster page",
            c.name
        )));
    }
    let password = match sealed {
        Some(sealed) => Some(
            secrets
                .open(sealed)
                .map_err(|e| AgentError::Secret(e.to_string()))?,
        ),
        None => None,
    };
    let tls = if c.tls {
        let key = match &record.tls_client_key_enc {
            Some(sealed) => Some(
                secrets
                    .open(sealed)
                    .map_err(|e| AgentError::Secret(e.to_string()))?,
            ),
            None => None,
        };
        Some(SdkTls {
            ca_pem: Some(c.tls_ca_pem.clone()).filter(|p| !p.is_empty()),
            client_cert_pem: Some(c.tls_client_cert_pem.clone()).filter(|p| !p.is_empty()),
            client_key_pem: key,
        })
    } else {
        None
    };
    Ok(SdkCluster {
        name: c.name.clone(),
        kind: c.kind.to_string(),
        bootstrap_servers: c.bootstrap_servers.clone(),
        sasl_mechanism: c.sasl_mechanism.to_string(),
        sasl_username: username.clone(),
        sasl_password: password,
        tls,
    })
}

/// Whether a cluster has no brokers by its own registration: every address is under the
/// `.invalid` top-level domain, which never resolves (RFC 6761). The demo's clusters are such.
pub fn without_brokers(config: &SdkCluster) -> bool {
    !config.bootstrap_servers.is_empty()
        && config.bootstrap_servers.iter().all(|a| {
            let host = a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h);
            host.trim_end_matches('.').ends_with(".invalid")
        })
}

/// Asks a cluster for its metadata; never fails, an unreachable cluster is a health too.
pub async fn probe(admin: &Admin) -> ClusterHealth {
    if without_brokers(admin.config()) {
        return ClusterHealth {
            cluster: admin.cluster().to_string(),
            reachable: false,
            checked_at: now_millis(),
            latency_ms: 0,
            cluster_id: None,
            brokers: Vec::new(),
            topics: 0,
            error: Some(
                "no brokers: its addresses are placeholders under .invalid (a demo cluster); \
                 register a real cluster to use queues on it"
                    .into(),
            ),
            no_brokers: true,
        };
    }
    let started = Instant::now();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, admin.describe()).await;
    let mut health = ClusterHealth {
        cluster: admin.cluster().to_string(),
        reachable: false,
        checked_at: now_millis(),
        latency_ms: started.elapsed().as_millis() as u64,
        cluster_id: None,
        brokers: Vec::new(),
        topics: 0,
        error: None,
        no_brokers: false,
    };
    match answer {
        Ok(Ok(info)) => {
            health.reachable = true;
            health.cluster_id = info.cluster_id;
            health.brokers = info
                .brokers
                .iter()
                .map(|b| format!("{} {}:{}", b.id, b.host, b.port))
                .collect();
            health.topics = info.topics.iter().filter(|t| !t.internal).count();
        }
        Ok(Err(e)) => health.error = Some(e.to_string()),
        Err(_) => {
            health.error =
                Some(admin.explain(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())))
        }
    }
    health
}

/// Talks to the clusters: keeps their health, provisions topics and polls offsets.
pub struct ClusterAgent {
    store: Arc<dyn Store>,
    secrets: Arc<SecretBox>,
    settings: KafkaSettings,
    health: RwLock<HashMap<String, ClusterHealth>>,
    /// One set of librdkafka clients per cluster, made again when its registration changes.
    admins: Mutex<HashMap<String, Arc<Admin>>>,
    /// Every consumer group's health, from the polls.
    pub monitor: Arc<Monitor>,
}

impl ClusterAgent {
    /// The agent; its provisioning and polling loops ([`ClusterAgent::jobs`]) start with the
    /// other background tasks.
    pub fn new(
        store: Arc<dyn Store>,
        secrets: Arc<SecretBox>,
        settings: KafkaSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            secrets,
            monitor: Arc::new(Monitor::new(settings.health.clone())),
            settings,
            health: RwLock::default(),
            admins: Mutex::default(),
        })
    }

    /// The loops its settings ask for: provisioning new queues' topics, polling offsets.
    pub fn jobs(
        self: &Arc<Self>,
    ) -> Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        let mut jobs: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> =
            Vec::new();
        if self.settings.provision {
            jobs.push(Box::pin(self.clone().provisioning()));
        }
        if let Some(every) = self.settings.poll_every {
            jobs.push(Box::pin(self.clone().polling(every)));
        }
        jobs
    }

    async fn access(&self, name: &str) -> AgentResult<(i64, Arc<Admin>)> {
        let record = self
            .store
            .cluster(name)
            .await?
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        let access = cluster_access(&record, &self.secrets, Credential::Admin)?;
        Ok((record.view.id, self.admin(access)?))
    }

    /// The cluster's clients, made once per registration.
    fn admin(&self, access: SdkCluster) -> AgentResult<Arc<Admin>> {
        let mut admins = self.admins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = admins.get(&access.name).filter(|a| a.config() == &access) {
            return Ok(a.clone());
        }
        let admin = Arc::new(Admin::new(&access).map_err(|e| unreachable(&access.name, e))?);
        // A probe of the old registration says nothing about the new one.
        self.health
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&access.name);
        if let Some(old) = admins.insert(access.name.clone(), admin.clone()) {
            // Closing librdkafka clients blocks while their threads stop.
            tokio::task::spawn_blocking(move || drop(old));
        }
        Ok(admin)
    }

    fn remember(&self, health: ClusterHealth) -> ClusterHealth {
        self.health
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(health.cluster.clone(), health.clone());
        health
    }

    /// A cluster's health: the last probe if recent, else a new one.
    pub async fn health(&self, name: &str) -> AgentResult<ClusterHealth> {
        // The clients first: a changed registration makes new ones and forgets the last probe.
        let (_, admin) = self.access(name).await?;
        Ok(self.health_of(name, &admin).await)
    }

    /// The health of the cluster `admin` reaches: the last probe if recent, else a new one.
    async fn health_of(&self, name: &str, admin: &Admin) -> ClusterHealth {
        let cached = self
            .health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .filter(|h| now_millis() - h.checked_at < HEALTH_TTL.as_millis() as i64)
            .cloned();
        if let Some(h) = cached {
            return h;
        }
        self.remember(probe(admin).await)
    }

    /// Every topic on a cluster (internal ones excluded) with its partition count.
    pub async fn topics(&self, name: &str) -> AgentResult<Vec<(String, i32)>> {
        let (_, admin) = self.access(name).await?;
        let info = tokio::time::timeout(PROBE_TIMEOUT, admin.describe())
            .await
            .map_err(|_| unreachable(name, "no answer in time"))?
            .map_err(|e| unreachable(name, e))?;
        let mut topics: Vec<(String, i32)> = info
            .topics
            .into_iter()
            .filter(|t| !t.internal)
            .map(|t| (t.name, t.partitions))
            .collect();
        topics.sort();
        Ok(topics)
    }

    /// How long a topic keeps its data, in whole hours (rounded up); `None` when it keeps it
    /// for ever or the cluster does not say.
    pub async fn retention_hours(&self, name: &str, topic: &str) -> AgentResult<Option<i64>> {
        let (_, admin) = self.access(name).await?;
        let configs = tokio::time::timeout(PROBE_TIMEOUT, admin.topic_configs(topic))
            .await
            .map_err(|_| unreachable(name, "no answer in time"))?
            .map_err(|e| unreachable(name, e))?;
        Ok(configs
            .get("retention.ms")
            .and_then(|ms| ms.parse::<i64>().ok())
            .filter(|ms| *ms > 0)
            .map(|ms| (ms as u64).div_ceil(3_600_000) as i64))
    }

    /// Reads a topic's messages on a cluster without joining a consumer group (see
    /// [`Admin::read`]); the whole read is bounded by the plan's time budget and a little
    /// slack. `Ok(Err(_))` when the plan does not fit the topic.
    pub async fn read(
        &self,
        name: &str,
        plan: ReadPlan,
        keep: impl FnMut(RawMessage) -> bool + Send + 'static,
    ) -> AgentResult<Result<ReadReport, PlanProblem>> {
        let (_, admin) = self.access(name).await?;
        if without_brokers(admin.config()) {
            return Err(AgentError::Unavailable(format!(
                "cluster {name} has no brokers (its addresses are placeholders), so it holds no messages"
            )));
        }
        if admin.config().kind == crate::domain::ClusterKind::Rocketmq.to_string() {
            return Err(AgentError::Unavailable(format!(
                "cluster {name} is a RocketMQ cluster: looking inside its queues is not supported yet"
            )));
        }
        let bound = plan.max_time + Duration::from_secs(2);
        tokio::time::timeout(bound, admin.read(plan, keep))
            .await
            .map_err(|_| unreachable(name, "no answer in time"))?
            .map_err(|e| unreachable(name, e))
    }

    /// Makes sure the queue's topic exists on each of its clusters, recording each outcome.
    pub async fn provision(&self, queue: &QueueView) -> AgentResult<()> {
        let known = self.store.provisions(queue.id).await?;
        let clusters =
            std::iter::once(queue.primary_cluster.clone()).chain(queue.backup_cluster.clone());
        for name in clusters {
            let done = known
                .iter()
                .any(|p| p.cluster == name && p.topic == queue.topic && p.status != "failed");
            if done {
                continue;
            }
            let (cluster_id, admin) = self.access(&name).await?;
            // A cluster that did not answer its last probe is not asked again for every queue:
            // the outcome is recorded at once with the probe's reason, and retried later.
            let health = self.health_of(&name, &admin).await;
            let plan = TopicPlan {
                name: queue.topic.clone(),
                partitions: queue.partitions.clamp(1, i32::MAX as i64) as i32,
                replication: 0,
                configs: vec![(
                    "retention.ms".into(),
                    (queue.retention_hours * 3_600_000).to_string(),
                )],
            };
            let outcome = if health.reachable {
                tokio::time::timeout(PROBE_TIMEOUT * 3, admin.create_topic(&plan))
                    .await
                    .unwrap_or_else(|_| {
                        Err(KafkaError {
                            cluster: name.clone(),
                            message: admin.explain("no answer in time"),
                        })
                    })
            } else {
                Err(KafkaError {
                    cluster: name.clone(),
                    message: health
                        .error
                        .unwrap_or_else(|| "the cluster cannot be reached".into()),
                })
            };
            let key = format!("{}/{}", queue.project, queue.name);
            let (status, message) = match &outcome {
                Ok(true) => ("created", format!("{} partitions", plan.partitions)),
                Ok(false) => ("existed", "the topic was already there".to_string()),
                Err(e) => ("failed", e.to_string()),
            };
            let audit = (status == "created").then(|| AuditEvent {
                actor: "watershed".into(),
                action: "topic.create",
                target_kind: "queue",
                target: key.clone(),
                summary: format!(
                    "topic {} on cluster {name}: {} partitions, retention {} h",
                    queue.topic, plan.partitions, queue.retention_hours
                ),
            });
            if status == "failed" {
                tracing::warn!(queue = %key, cluster = %name, %message, "topic not provisioned");
            } else {
                tracing::info!(queue = %key, cluster = %name, status, "topic provisioned");
            }
            self.store
                .record_provision(
                    &ProvisionRow {
                        queue_id: queue.id,
                        cluster_id,
                        topic: queue.topic.clone(),
                        status,
                        message,
                    },
                    audit.as_ref(),
                )
                .await?;
        }
        Ok(())
    }

    /// Follows the change feed: every queue created or rebound gets its topics.
    async fn provisioning(self: Arc<Self>) {
        let mut seq = match self.store.queue_change_seq().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "provisioning off: cannot read the change feed");
                return;
            }
        };
        let mut pending: BTreeSet<i64> = BTreeSet::new();
        let mut last_retry = Instant::now() - PROVISION_RETRY;
        loop {
            tokio::time::sleep(PROVISION_TICK).await;
            match self.store.queue_changes_since(seq, 1000).await {
                Ok(changes) => {
                    for (s, queue_id) in changes {
                        seq = seq.max(s);
                        pending.insert(queue_id);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading the change feed failed"),
            }
            if last_retry.elapsed() >= PROVISION_RETRY {
                last_retry = Instant::now();
                if let Ok(failed) = self.store.failed_provisions().await {
                    pending.extend(failed);
                }
            }
            while !pending.is_empty() {
                let ids: Vec<i64> = pending.iter().take(100).copied().collect();
                for id in &ids {
                    pending.remove(id);
                }
                let docs = match self.store.index_docs_by_ids(&ids).await {
                    Ok(d) => d,
                    Err(e) => {
                        tracing::warn!(error = %e, "loading queues to provision failed");
                        pending.extend(ids);
                        break;
                    }
                };
                for doc in docs {
                    if let Err(e) = self.provision(&doc.queue).await {
                        tracing::warn!(error = %e, queue = doc.queue.id, "provisioning failed");
                    }
                }
            }
        }
    }

    async fn polling(self: Arc<Self>, every: Duration) {
        let mut last_prune = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.poll_once().await {
                tracing::warn!(error = %e, "polling the clusters failed");
            }
            if last_prune.elapsed() >= Duration::from_secs(3600) {
                last_prune = Instant::now();
                let before = now_millis() - self.settings.retention_days * 86_400_000;
                if let Err(e) = self.store.prune_broker_offsets(before).await {
                    tracing::warn!(error = %e, "pruning broker samples failed");
                }
            }
        }
    }

    /// Reads every cluster's end offsets and group offsets for the queues bound to it, and
    /// refreshes its health on the way.
    pub async fn poll_once(&self) -> AgentResult<()> {
        let bucket = {
            let now = now_millis();
            now - now.rem_euclid(60_000)
        };
        let fresh = now_millis() - self.settings.health.client_fresh.as_millis() as i64;
        let mut people: HashMap<(i64, String), GroupPeople> = HashMap::new();
        for g in self.store.group_applications(fresh).await? {
            let p = people.entry((g.queue_id, g.consumer_group)).or_default();
            p.applications.push(g.application);
            p.application_ids.push(g.application_id);
            p.owners.push(g.owner);
            p.live_clients += g.live_clients;
        }
        let started = now_millis();
        for cluster in self.store.list_clusters().await? {
            let bound = self.store.queues_on_cluster(cluster.id).await?;
            let mut poll = ClusterPoll {
                cluster_id: cluster.id,
                cluster: cluster.name.clone(),
                at: now_millis(),
                queues: bound
                    .iter()
                    .map(|q| PolledQueue {
                        queue_id: q.queue_id,
                        key: q.key.clone(),
                        topic: q.topic.clone(),
                        active: q.active,
                    })
                    .collect(),
                ..Default::default()
            };
            let admin = match self.access(&cluster.name).await {
                Ok((_, a)) => a,
                Err(e) => {
                    tracing::warn!(cluster = %cluster.name, error = %e, "cluster skipped");
                    poll.unreachable = Some(e.to_string());
                    self.monitor.observe(&poll, &people);
                    continue;
                }
            };
            if without_brokers(admin.config()) {
                // Nothing to poll and nothing to alert on: it never had brokers.
                continue;
            }
            let health = self.remember(probe(&admin).await);
            if !health.reachable {
                poll.unreachable = Some(health.error.clone().unwrap_or_default());
                self.monitor.observe(&poll, &people);
                continue;
            }
            if bound.is_empty() {
                continue;
            }
            // Groups SDK clients reported are read even where the cluster will not list its
            // groups (an ACL without Describe on the cluster, say).
            let mut known = std::collections::BTreeSet::new();
            for q in &bound {
                for c in self.store.queue_clients(q.queue_id, 1_000).await? {
                    known.extend(c.consumer_group);
                }
            }
            match tokio::time::timeout(
                every_cluster_limit(),
                read_offsets(&admin, &bound, &known, cluster.id, bucket),
            )
            .await
            {
                Ok(Ok(read)) => {
                    poll.at = now_millis();
                    poll.ends = read.ends;
                    poll.groups = read.polled;
                    poll.members = read.members;
                    let seconds = self.monitor.observe(&poll, &people);
                    let mut groups = read.groups;
                    for g in &mut groups {
                        g.lag_seconds = seconds
                            .get(&(g.queue_id, g.consumer_group.clone()))
                            .copied();
                    }
                    self.store
                        .write_broker_offsets(&read.offsets, &groups)
                        .await?;
                }
                Ok(Err(e)) => {
                    tracing::warn!(cluster = %cluster.name, error = %e, "offsets not read")
                }
                Err(_) => tracing::warn!(cluster = %cluster.name, "offsets not read in time"),
            }
        }
        // Groups and queues not seen for a few windows are gone (deleted, or moved off).
        let window = self.settings.health.window.as_millis() as i64;
        self.monitor
            .forget_older_than(started - 3 * window.max(60_000));
        self.monitor.polled();
        Ok(())
    }
}

/// What one cluster's offsets read gives: the per-minute rows, and per partition for health.
struct OffsetsRead {
    offsets: Vec<BrokerOffsetRow>,
    groups: Vec<GroupOffsetRow>,
    ends: HashMap<(String, i32), i64>,
    polled: Vec<PolledGroup>,
    members: HashMap<String, i64>,
}

fn every_cluster_limit() -> Duration {
    PROBE_TIMEOUT * 6
}

fn unreachable(name: &str, e: impl std::fmt::Display) -> AgentError {
    AgentError::Unavailable(format!("cluster {name} cannot be reached: {e}"))
}

/// One cluster's end offsets per bound queue and committed offsets per (group, queue).
async fn read_offsets(
    admin: &Admin,
    bound: &[crate::server::db::kafka::BoundQueue],
    known: &std::collections::BTreeSet<String>,
    cluster_id: i64,
    bucket: i64,
) -> Result<OffsetsRead, KafkaError> {
    let info = admin.describe().await?;
    let partitions: HashMap<&str, i32> = info
        .topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions))
        .collect();
    let topics: Vec<(String, Vec<i32>)> = bound
        .iter()
        .filter_map(|q| {
            let n = *partitions.get(q.topic.as_str())?;
            Some((q.topic.clone(), (0..n).collect()))
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    let ends = admin.end_offsets(&topics).await?;
    let end_of = |topic: &str| -> Option<HashMap<i32, i64>> {
        let n = *partitions.get(topic)?;
        Some(
            (0..n)
                .filter_map(|p| Some((p, *ends.get(&(topic.to_string(), p))?)))
                .collect(),
        )
    };
    let mut offsets = Vec::new();
    for q in bound {
        if let Some(end) = end_of(&q.topic) {
            offsets.push(BrokerOffsetRow {
                queue_id: q.queue_id,
                cluster_id,
                bucket,
                end_offset: end.values().sum(),
            });
        }
    }
    let mut groups = Vec::new();
    let mut polled = Vec::new();
    let mut members = HashMap::new();
    let mut listed: std::collections::BTreeSet<String> =
        admin.group_members().await.map_or_else(
            |e| {
                tracing::warn!(cluster = %admin.cluster(), error = %e, "consumer groups not listed; reading the groups SDK clients reported");
                Default::default()
            },
            |g| {
                g.into_iter()
                    .map(|(name, n)| {
                        if let Some(n) = n {
                            members.insert(name.clone(), n);
                        }
                        name
                    })
                    .collect()
            },
        );
    listed.extend(known.iter().cloned());
    for group in listed {
        // One group's trouble costs only that group's figures.
        let committed = match tokio::time::timeout(PROBE_TIMEOUT, admin.committed(&group, &topics))
            .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!(cluster = %admin.cluster(), %group, error = %e, "group offsets not read");
                continue;
            }
            Err(_) => {
                tracing::warn!(cluster = %admin.cluster(), %group, "group offsets not read in time");
                continue;
            }
        };
        for q in bound {
            let Some(end) = end_of(&q.topic) else {
                continue;
            };
            let mine: Vec<(i32, i64)> = committed
                .iter()
                .filter(|((t, _), _)| t == &q.topic)
                .map(|((_, p), o)| (*p, *o))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let lag = mine
                .iter()
                .map(|(p, o)| (end.get(p).copied().unwrap_or(*o) - o).max(0))
                .sum();
            groups.push(GroupOffsetRow {
                queue_id: q.queue_id,
                cluster_id,
                consumer_group: group.clone(),
                bucket,
                committed: mine.iter().map(|(_, o)| o).sum(),
                lag,
                lag_seconds: None,
            });
            polled.push(PolledGroup {
                queue_id: q.queue_id,
                group: group.clone(),
                committed: mine,
            });
        }
    }
    Ok(OffsetsRead {
        offsets,
        groups,
        ends,
        polled,
        members,
    })
}
