//! The producer: sends to wherever the queue lives now.

use crate::client::{kafka_error, ClientConfig, Link};
use crate::native::{self, LastError, WatchContext, CALL_TIMEOUT};
use crate::wire::{SdkConfig, SdkRole};
use crate::SdkError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use std::sync::Arc;
use tokio::sync::{watch, RwLock};

/// Where a sent message was acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The cluster that acknowledged it.
    pub cluster: String,
    pub partition: i32,
    pub offset: i64,
}

/// The cluster a producer sends to now.
struct Route {
    config: SdkConfig,
    client: Client,
}

/// The native client for the route's cluster.
enum Client {
    Kafka {
        producer: Arc<FutureProducer<WatchContext>>,
        /// What librdkafka last reported about the connection, to explain a failed send.
        last_error: Arc<LastError>,
    },
    #[cfg(feature = "rocketmq")]
    RocketMq(Arc<crate::rocketmq::Sender>),
}

/// A producer for the queue's cluster (librdkafka, or RocketMQ's client for `rocketmq`
/// clusters), once the topic is known to be there.
async fn connect(config: SdkConfig, link: &Link) -> Result<Route, SdkError> {
    let name = config.cluster.name.clone();
    if config.cluster.kind == "rocketmq" {
        #[cfg(feature = "rocketmq")]
        {
            let sender = crate::rocketmq::Sender::connect(
                &config.cluster,
                &config.topic,
                &link.config.client_id,
            )
            .await?;
            return Ok(Route {
                config,
                client: Client::RocketMq(Arc::new(sender)),
            });
        }
        #[cfg(not(feature = "rocketmq"))]
        return Err(kafka_error(
            &name,
            "this build has no RocketMQ client (feature `rocketmq`)",
        ));
    }
    let mut rd = native::rd_config(&config.cluster, &link.config.client_id, &link.config.kafka)?;
    for (k, v) in PRODUCER_DEFAULTS {
        if !link.config.kafka.contains_key(*k) {
            rd.set(*k, *v);
        }
    }
    let context = WatchContext::new(&name);
    let last_error = context.last_error.clone();
    let producer: FutureProducer<WatchContext> = rd
        .create_with_context(context)
        .map_err(|e| kafka_error(&name, e))?;
    let producer = Arc::new(producer);
    native::partitions(producer.clone(), &last_error, &name, &config.topic).await?;
    Ok(Route {
        config,
        client: Client::Kafka {
            producer,
            last_error,
        },
    })
}

/// What a producer runs with unless the application says otherwise
/// ([`ClientConfig::with_kafka_setting`]).
const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    // Each message once and in order per partition, acknowledged by every in-sync replica.
    ("enable.idempotence", "true"),
    ("acks", "all"),
    // Keys land where Java clients put them (murmur2), so producers of any language agree.
    ("partitioner", "murmur2_random"),
    // A send to a cluster that does not answer fails within this, rather than the default five
    // minutes, so a switch is never held up long by a dead cluster.
    ("message.timeout.ms", "10000"),
    ("linger.ms", "5"),
    ("compression.type", "lz4"),
];

/// Sends messages to a logical queue. Cheap to share behind an `Arc`; sends may run concurrently.
///
/// When the platform moves the queue, the producer waits for the sends in flight to be
/// acknowledged (a flush), then sends to the new cluster; a send never straddles two clusters.
pub struct Producer {
    link: Arc<Link>,
    route: Arc<RwLock<Route>>,
    follower: tokio::task::JoinHandle<()>,
}

impl Producer {
    /// Asks the platform where the queue lives and connects to that cluster.
    pub async fn connect(config: ClientConfig) -> Result<Self, SdkError> {
        let link = Link::open(config, SdkRole::Producer).await?;
        let mut mapping = link.subscribe();
        let first = mapping.borrow_and_update().clone();
        let route = Arc::new(RwLock::new(connect(first, &link).await?));
        let follower = tokio::spawn(follow(mapping, route.clone(), Arc::downgrade(&link)));
        Ok(Self {
            link,
            route,
            follower,
        })
    }

    /// Sends one message and waits for the cluster's acknowledgement. With a key, messages with
    /// the same key go to the same partition; without, partitions take turns.
    pub async fn send(&self, key: Option<&[u8]>, value: &[u8]) -> Result<Delivery, SdkError> {
        let mut out = self
            .send_batch(vec![(key.map(<[u8]>::to_vec), value.to_vec())])
            .await?;
        Ok(out.remove(0))
    }

    /// Sends messages (key, value) and waits until all are acknowledged; the deliveries come in
    /// the order of the messages.
    pub async fn send_batch(
        &self,
        messages: Vec<(Option<Vec<u8>>, Vec<u8>)>,
    ) -> Result<Vec<Delivery>, SdkError> {
        self.link.check_revoked()?;
        // Held until every message is acknowledged: a switch waits for the sends in flight.
        let route = self.route.read().await;
        let cluster = route.config.cluster.name.clone();
        let count = messages.len();
        let bytes: usize = messages
            .iter()
            .map(|(k, v)| v.len() + k.as_ref().map_or(0, Vec::len))
            .sum();
        let (producer, last_error) = match &route.client {
            Client::Kafka {
                producer,
                last_error,
            } => (producer, last_error),
            #[cfg(feature = "rocketmq")]
            Client::RocketMq(sender) => {
                // One after another: keyed messages keep their order on their queue.
                let mut out = Vec::with_capacity(count);
                for (key, value) in &messages {
                    match sender
                        .send(&route.config.topic, key.as_deref(), value)
                        .await
                    {
                        Ok((partition, offset)) => out.push(Delivery {
                            cluster: cluster.clone(),
                            partition,
                            offset,
                        }),
                        Err(e) => {
                            self.link.count_error();
                            if !out.is_empty() {
                                self.link.count(out.len(), 0);
                            }
                            return Err(e);
                        }
                    }
                }
                self.link.count(count, bytes);
                return Ok(out);
            }
        };
        let mut pending = Vec::with_capacity(count);
        for (key, value) in &messages {
            let mut record = FutureRecord::<[u8], [u8]>::to(&route.config.topic).payload(value);
            if let Some(k) = key {
                record = record.key(k);
            }
            // Enqueued in order, so a batch keeps its order within each partition.
            let started = std::time::Instant::now();
            let mut record = record;
            let future = loop {
                match producer.send_result(record) {
                    Ok(f) => break f,
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        back,
                    )) if started.elapsed() < CALL_TIMEOUT => {
                        record = back;
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                    Err((e, _)) => {
                        self.link.count_error();
                        return Err(kafka_error(&cluster, e));
                    }
                }
            };
            pending.push(future);
        }
        let mut out = Vec::with_capacity(count);
        let mut failed = None;
        for delivered in futures_util::future::join_all(pending).await {
            match delivered {
                Ok(Ok(d)) => out.push(Delivery {
                    cluster: cluster.clone(),
                    partition: d.partition,
                    offset: d.offset,
                }),
                Ok(Err((e, _))) => failed = failed.or(Some(e.to_string())),
                Err(_) => failed = failed.or(Some("the producer was closed".to_string())),
            }
        }
        if let Some(e) = failed {
            self.link.count_error();
            let why = last_error.explain(e);
            return Err(kafka_error(&cluster, why));
        }
        self.link.count(count, bytes);
        Ok(out)
    }

    /// Waits until every send in flight is acknowledged.
    pub async fn flush(&self) {
        let route = self.route.write().await;
        flush(&route.client).await;
    }

    /// The cluster the producer sends to now.
    pub async fn cluster(&self) -> String {
        self.route.read().await.config.cluster.name.clone()
    }

    /// The physical topic the producer sends to now.
    pub async fn topic(&self) -> String {
        self.route.read().await.config.topic.clone()
    }

    /// Flushes, reports what was sent, and stops heartbeating.
    pub async fn close(self) -> Result<(), SdkError> {
        self.flush().await;
        self.follower.abort();
        #[cfg(feature = "rocketmq")]
        if let Client::RocketMq(sender) = &self.route.read().await.client {
            sender.close().await;
        }
        self.link.report().await
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// Waits (off the async threads) until librdkafka has delivered or failed everything queued.
/// RocketMQ sends are awaited one by one, so nothing is queued there.
async fn flush(client: &Client) {
    match client {
        Client::Kafka { producer, .. } => {
            let p = producer.clone();
            let _ = tokio::task::spawn_blocking(move || p.flush(CALL_TIMEOUT)).await;
        }
        #[cfg(feature = "rocketmq")]
        Client::RocketMq(_) => {}
    }
}

/// Lets a route's client go: flushed first; a RocketMQ client is also shut down (its
/// connections and background tasks).
async fn retire(client: Client) {
    flush(&client).await;
    #[cfg(feature = "rocketmq")]
    if let Client::RocketMq(sender) = client {
        sender.close().await;
    }
}

/// Switches the route whenever the platform announces a new mapping: connects to the new
/// cluster first, then takes the write lock, which waits for the sends in flight, and flushes
/// the old producer before it is dropped.
async fn follow(
    mut mapping: watch::Receiver<SdkConfig>,
    route: Arc<RwLock<Route>>,
    link: std::sync::Weak<Link>,
) {
    while mapping.changed().await.is_ok() {
        let config = mapping.borrow_and_update().clone();
        {
            // Only the version moved (the queue came back within one heartbeat): same client.
            let mut current = route.write().await;
            if current.config.cluster == config.cluster && current.config.topic == config.topic {
                current.config = config;
                continue;
            }
        }
        let mut attempt = 0u32;
        loop {
            let Some(l) = link.upgrade() else { return };
            match connect(config.clone(), &l).await {
                // A newer mapping arrived meanwhile: go there instead.
                Ok(_) if mapping.has_changed().unwrap_or(false) => break,
                Ok(next) => {
                    let mut current = route.write().await;
                    tracing::info!(from = %current.config.cluster.name, to = %next.config.cluster.name,
                        "producer switched cluster");
                    let old = std::mem::replace(&mut *current, next);
                    drop(current);
                    retire(old.client).await;
                    break;
                }
                Err(e) => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "cannot reach the new cluster yet; sending to the old one");
                    if mapping.has_changed().unwrap_or(false) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
        }
    }
}
