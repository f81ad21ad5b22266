//! Talking to real clusters over the Kafka protocol, on the platform's behalf: health probes,
//! the topic behind every queue on each of its clusters, and the end offsets and committed
//! consumer-group offsets that give throughput and lag whether or not clients use the SDK.
//!
//! The wire work is the Stream-SDK's [`watershed_sdk::kafka`], so the platform and its clients
//! speak to brokers through one implementation.

use crate::domain::{ClusterHealth, QueueView, SdkCluster};
use crate::server::crypto::SecretBox;
use crate::server::db::kafka::{BrokerOffsetRow, GroupOffsetRow, ProvisionRow};
use crate::server::db::StoreError;
use crate::server::db::{now_millis, AuditEvent, ClusterRecord, Store};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use watershed_sdk::kafka::{Admin, DataClient, KafkaError, TopicPlan};

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
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            poll_every: Some(Duration::from_secs(30)),
            provision: true,
            retention_days: 30,
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
    Ok(SdkCluster {
        name: c.name.clone(),
        kind: c.kind.to_string(),
        bootstrap_servers: c.bootstrap_servers.clone(),
        sasl_mechanism: c.sasl_mechanism.to_string(),
        sasl_username: username.clone(),
        sasl_password: password,
    })
}

/// Asks a cluster for its metadata; never fails, an unreachable cluster is a health too.
pub async fn probe(cluster: &SdkCluster) -> ClusterHealth {
    let started = Instant::now();
    let answer = tokio::time::timeout(PROBE_TIMEOUT, Admin::new(cluster.clone()).describe()).await;
    let mut health = ClusterHealth {
        cluster: cluster.name.clone(),
        reachable: false,
        checked_at: now_millis(),
        latency_ms: started.elapsed().as_millis() as u64,
        cluster_id: None,
        controller_id: None,
        brokers: Vec::new(),
        topics: 0,
        api_keys: 0,
        error: None,
    };
    match answer {
        Ok(Ok(info)) => {
            health.reachable = true;
            health.cluster_id = info.cluster_id;
            health.controller_id = Some(info.controller_id);
            health.brokers = info
                .brokers
                .iter()
                .map(|b| format!("{} {}:{}", b.id, b.host, b.port))
                .collect();
            health.topics = info.topics.iter().filter(|t| !t.internal).count();
            health.api_keys = info.api_versions;
        }
        Ok(Err(e)) => health.error = Some(e.to_string()),
        Err(_) => health.error = Some(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
    health
}

/// Talks to the clusters: keeps their health, provisions topics and polls offsets.
pub struct ClusterAgent {
    store: Arc<dyn Store>,
    secrets: Arc<SecretBox>,
    settings: KafkaSettings,
    health: RwLock<HashMap<String, ClusterHealth>>,
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
            settings,
            health: RwLock::default(),
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

    async fn access(&self, name: &str) -> AgentResult<(i64, SdkCluster)> {
        let record = self
            .store
            .cluster(name)
            .await?
            .ok_or_else(|| AgentError::NotFound(name.to_string()))?;
        Ok((
            record.view.id,
            cluster_access(&record, &self.secrets, Credential::Admin)?,
        ))
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
        let cached = self
            .health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .filter(|h| now_millis() - h.checked_at < HEALTH_TTL.as_millis() as i64)
            .cloned();
        if let Some(h) = cached {
            return Ok(h);
        }
        let (_, access) = self.access(name).await?;
        Ok(self.remember(probe(&access).await))
    }

    /// Every topic on a cluster (internal ones excluded) with its partition count.
    pub async fn topics(&self, name: &str) -> AgentResult<Vec<(String, i32)>> {
        let (_, access) = self.access(name).await?;
        let info = tokio::time::timeout(PROBE_TIMEOUT, Admin::new(access).describe())
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
            let (cluster_id, access) = self.access(&name).await?;
            let plan = TopicPlan {
                name: queue.topic.clone(),
                partitions: queue.partitions.clamp(1, i32::MAX as i64) as i32,
                replication: 0,
                configs: vec![(
                    "retention.ms".into(),
                    (queue.retention_hours * 3_600_000).to_string(),
                )],
            };
            let outcome =
                tokio::time::timeout(PROBE_TIMEOUT * 2, Admin::new(access).create_topic(&plan))
                    .await
                    .unwrap_or_else(|_| Err(KafkaError::Timeout { addr: name.clone() }));
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
        for cluster in self.store.list_clusters().await? {
            let bound = self.store.queues_on_cluster(cluster.id).await?;
            let access = match self.access(&cluster.name).await {
                Ok((_, a)) => a,
                Err(e) => {
                    tracing::warn!(cluster = %cluster.name, error = %e, "cluster skipped");
                    continue;
                }
            };
            let health = self.remember(probe(&access).await);
            if bound.is_empty() || !health.reachable {
                continue;
            }
            match tokio::time::timeout(
                every_cluster_limit(),
                read_offsets(&access, &bound, cluster.id, bucket),
            )
            .await
            {
                Ok(Ok((offsets, groups))) => {
                    self.store.write_broker_offsets(&offsets, &groups).await?;
                }
                Ok(Err(e)) => {
                    tracing::warn!(cluster = %cluster.name, error = %e, "offsets not read")
                }
                Err(_) => tracing::warn!(cluster = %cluster.name, "offsets not read in time"),
            }
        }
        Ok(())
    }
}

fn every_cluster_limit() -> Duration {
    PROBE_TIMEOUT * 6
}

fn unreachable(name: &str, e: impl std::fmt::Display) -> AgentError {
    AgentError::Unavailable(format!("cluster {name} cannot be reached: {e}"))
}

/// One cluster's end offsets per bound queue and committed offsets per (group, queue).
async fn read_offsets(
    access: &SdkCluster,
    bound: &[crate::server::db::kafka::BoundQueue],
    cluster_id: i64,
    bucket: i64,
) -> Result<(Vec<BrokerOffsetRow>, Vec<GroupOffsetRow>), KafkaError> {
    let data = DataClient::connect(access, "watershed-collector").await?;
    let admin = Admin::new(access.clone());
    let info = admin.describe().await?;
    let partitions: HashMap<&str, i32> = info
        .topics
        .iter()
        .map(|t| (t.name.as_str(), t.partitions))
        .collect();
    let mut ends: HashMap<i64, HashMap<i32, i64>> = HashMap::new();
    let mut offsets = Vec::new();
    for q in bound {
        let Some(&n) = partitions.get(q.topic.as_str()) else {
            continue;
        };
        let ids: Vec<i32> = (0..n).collect();
        let end = data.end_offsets(&q.topic, &ids).await?;
        offsets.push(BrokerOffsetRow {
            queue_id: q.queue_id,
            cluster_id,
            bucket,
            end_offset: end.values().sum(),
        });
        ends.insert(q.queue_id, end);
    }
    let mut groups = Vec::new();
    let listed = admin.groups().await.unwrap_or_else(|e| {
        tracing::warn!(cluster = %access.name, error = %e, "consumer groups not listed");
        Vec::new()
    });
    for group in listed {
        // One group's trouble costs only that group's figures.
        let committed = async {
            let mut conn = admin.coordinator(&group).await?;
            conn.committed_all(&group).await
        };
        let committed = match tokio::time::timeout(PROBE_TIMEOUT, committed).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!(cluster = %access.name, %group, error = %e, "group offsets not read");
                continue;
            }
            Err(_) => {
                tracing::warn!(cluster = %access.name, %group, "group offsets not read in time");
                continue;
            }
        };
        for q in bound {
            let Some(end) = ends.get(&q.queue_id) else {
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
            });
        }
    }
    Ok((offsets, groups))
}
