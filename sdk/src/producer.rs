//! The producer: sends to wherever the queue lives now.

use crate::client::{kafka_error, ClientConfig, Link};
use crate::kafka::{DataClient, CALL_TIMEOUT};
use crate::wire::{SdkConfig, SdkRole};
use crate::SdkError;
use rskafka::chrono::Utc;
use rskafka::client::partition::Compression;
use rskafka::record::Record;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    data: DataClient,
    partitions: Vec<i32>,
}

async fn connect(config: SdkConfig, client_id: &str) -> Result<Route, SdkError> {
    let name = config.cluster.name.clone();
    let data = DataClient::connect(&config.cluster, client_id)
        .await
        .map_err(|e| kafka_error(&name, e))?;
    let partitions = data
        .partition_ids(&config.topic)
        .await
        .map_err(|e| kafka_error(&name, e))?;
    if partitions.is_empty() {
        return Err(kafka_error(
            &name,
            format!("topic {:?} has no partitions", config.topic),
        ));
    }
    Ok(Route {
        config,
        data,
        partitions,
    })
}

/// Sends messages to a logical queue. Cheap to share behind an `Arc`; sends may run concurrently.
///
/// When the platform moves the queue, the producer waits for the sends in flight to be
/// acknowledged (a flush), then sends to the new cluster; a send never straddles two clusters.
pub struct Producer {
    link: Arc<Link>,
    route: Arc<RwLock<Route>>,
    next: AtomicUsize,
    follower: tokio::task::JoinHandle<()>,
}

impl Producer {
    /// Asks the platform where the queue lives and connects to that cluster.
    pub async fn connect(config: ClientConfig) -> Result<Self, SdkError> {
        let link = Link::open(config, SdkRole::Producer).await?;
        let mut mapping = link.subscribe();
        let first = mapping.borrow_and_update().clone();
        let route = Arc::new(RwLock::new(connect(first, &link.config.client_id).await?));
        let follower = tokio::spawn(follow(
            mapping,
            route.clone(),
            link.config.client_id.clone(),
        ));
        Ok(Self {
            link,
            route,
            next: AtomicUsize::new(0),
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
        let route = self.route.read().await;
        let now = Utc::now();
        let mut by_partition: BTreeMap<i32, Vec<(usize, Record)>> = BTreeMap::new();
        let mut bytes = 0;
        let count = messages.len();
        for (i, (key, value)) in messages.into_iter().enumerate() {
            let p = match &key {
                Some(k) => route.partitions[partition_for(k, route.partitions.len())],
                None => {
                    route.partitions
                        [self.next.fetch_add(1, Ordering::Relaxed) % route.partitions.len()]
                }
            };
            bytes += value.len() + key.as_ref().map_or(0, Vec::len);
            by_partition.entry(p).or_default().push((
                i,
                Record {
                    key,
                    value: Some(value),
                    headers: BTreeMap::new(),
                    timestamp: now,
                },
            ));
        }
        let cluster = route.config.cluster.name.clone();
        let mut out = vec![None; count];
        for (p, records) in by_partition {
            let (slots, records): (Vec<usize>, Vec<Record>) = records.into_iter().unzip();
            let client = route
                .data
                .partition(&route.config.topic, p)
                .await
                .map_err(|e| kafka_error(&cluster, e))?;
            // rskafka's retry deadline counts only the pauses between attempts; this bounds the
            // whole call, so a dead cluster cannot hold the route (and a switch) for minutes.
            let offsets = tokio::time::timeout(
                CALL_TIMEOUT,
                client.produce(records, Compression::NoCompression),
            )
            .await
            .map_err(|_| kafka_error(&cluster, "the cluster did not acknowledge in time"))
            .and_then(|r| r.map_err(|e| kafka_error(&cluster, e)))
            .inspect_err(|_| self.link.count_error())?;
            for (slot, offset) in slots.into_iter().zip(offsets) {
                out[slot] = Some(Delivery {
                    cluster: cluster.clone(),
                    partition: p,
                    offset,
                });
            }
        }
        self.link.count(count, bytes);
        out.into_iter()
            .map(|d| d.ok_or_else(|| kafka_error(&cluster, "a message was not acknowledged")))
            .collect()
    }

    /// Waits until every send in flight is acknowledged.
    pub async fn flush(&self) {
        drop(self.route.write().await);
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
        self.link.report().await
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// Switches the route whenever the platform announces a new mapping: connects to the new
/// cluster first, then takes the write lock, which waits for the sends in flight.
async fn follow(
    mut mapping: watch::Receiver<SdkConfig>,
    route: Arc<RwLock<Route>>,
    client_id: String,
) {
    while mapping.changed().await.is_ok() {
        let config = mapping.borrow_and_update().clone();
        let mut attempt = 0u32;
        loop {
            match connect(config.clone(), &client_id).await {
                // A newer mapping arrived meanwhile: go there instead.
                Ok(_) if mapping.has_changed().unwrap_or(false) => break,
                Ok(next) => {
                    let mut current = route.write().await;
                    tracing::info!(from = %current.config.cluster.name, to = %next.config.cluster.name,
                        "producer switched cluster");
                    *current = next;
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

/// Kafka's default partitioner: murmur2 of the key, made positive, modulo the partition count,
/// so keyed messages land where Java and librdkafka producers would put them.
fn partition_for(key: &[u8], partitions: usize) -> usize {
    (murmur2(key) & 0x7fff_ffff) as usize % partitions
}

fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_land_where_kafkas_default_partitioner_puts_them() {
        // Values from Apache Kafka's own partitioner tests (Utils.murmur2).
        assert_eq!(murmur2(b"21") as i32, -973932308);
        assert_eq!(murmur2(b"foobar") as i32, -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985981536);
        assert_eq!(murmur2(b"abc") as i32, 479470107);
        let p = partition_for(b"order-1", 3);
        assert!(p < 3);
        assert_eq!(p, partition_for(b"order-1", 3));
    }
}
