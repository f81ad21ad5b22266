//! Stream-SDK: applications address data as *project + queue*; the Watershed platform tells
//! the client which cluster and topic that is, and the client follows when it changes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), watershed_sdk::SdkError> {
//! use watershed_sdk::{ClientConfig, Consumer, Producer};
//! let config = ClientConfig::new("http://watershed:3000", "shop", "orders", "wsa_…", "billing")?;
//! let producer = Producer::connect(config.clone()).await?;
//! producer.send(Some(b"order-1"), b"{\"total\": 12}").await?;
//!
//! let mut consumer = Consumer::connect(config.with_consumer_group("billing")).await?;
//! for message in consumer.poll(std::time::Duration::from_secs(1)).await? {
//!     println!("{:?}", message.value);
//! }
//! consumer.commit().await?;
//! # Ok(()) }
//! ```
//!
//! What a client does on its own:
//! - **Finds its queue.** [`Producer::connect`] and [`Consumer::connect`] ask the platform
//!   (`POST /api/v1/sdk/config`) for the cluster, topic and credentials, introducing the client
//!   (application, host, consumer group). Without a live grant for the role the platform says
//!   why, and connecting fails with [`SdkError::Denied`].
//! - **Heartbeats** every minute (or what the platform or [`ClientConfig::with_heartbeat_interval`]
//!   says) with the config version it runs, and **reports** messages, bytes and, for consumers,
//!   offsets and lag.
//! - **Reroutes** when the platform answers a heartbeat with a new mapping. A producer lets its
//!   in-flight sends finish (flush), then sends to the new cluster. A consumer commits its
//!   position on the old cluster, then reads the new one from its group's committed offsets
//!   there (the earliest offset where it has none) while it drains what producers still wrote
//!   to the old one for a grace period ([`ClientConfig::with_drain`]). [`ResumePolicy`]
//!   decides only where a group that never committed starts.
//! - **Survives the platform being down.** Every config it receives is cached on disk
//!   ([`ClientConfig::with_cache_dir`]); a client that starts while the platform is unreachable
//!   runs from that cache, and heartbeats resume when the platform is back.
//!
//! Underneath, Kafka-protocol clusters are spoken to by librdkafka (the `rdkafka` crate, built
//! from the source it bundles): producers are idempotent with `acks=all`, and consumers are
//! real members of their consumer group, so any number of instances of one group (in one
//! process or many, next to Java or Python consumers of the same group) share the queue's
//! partitions with cooperative-sticky rebalancing. [`ClientConfig::with_kafka_setting`]
//! tunes librdkafka (batching, compression, timeouts); where the queue lives, the credentials
//! and how offsets are kept stay the SDK's.
//!
//! Queues on RocketMQ clusters (feature `rocketmq`, on by default) go through the rocketmq-rust
//! project's client, found through the cluster's name servers: the same [`Producer`] and
//! [`Consumer`] calls, a consumer being a member of its group there (RocketMQ's lite pull
//! consumer in clustering mode), so a queue moves between Kafka and RocketMQ like any other.

#![recursion_limit = "512"]
use serde::{Deserialize, Serialize};

#[cfg(feature = "client")]
mod cache;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod cluster;
#[cfg(feature = "client")]
mod consumer;
#[cfg(feature = "client")]
pub mod kafka;
#[cfg(feature = "client")]
mod native;
#[cfg(feature = "client")]
mod platform;
#[cfg(feature = "client")]
mod producer;
#[cfg(feature = "rocketmq")]
pub mod rocketmq;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{ClientConfig, ResumePolicy};
#[cfg(feature = "client")]
pub use consumer::{Consumer, Message};
#[cfg(feature = "client")]
pub use platform::Platform;
#[cfg(feature = "client")]
pub use producer::{Delivery, Producer};

/// Where an application's data lives, in platform terms: never a cluster address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAddress {
    pub project: String,
    pub queue: String,
}

/// Errors the SDK reports to applications.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdkError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    /// The platform refused a field of the request.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The application's token is unknown or revoked.
    #[error("the platform refused the token: {0}")]
    Unauthorized(String),
    /// The application holds no live grant for this queue in this role (the platform's reason).
    #[error("access denied: {reason}")]
    Denied { reason: String },
    #[error("not found: {0}")]
    NotFound(String),
    /// The grant was revoked or expired while the client ran.
    #[error("access to {queue} was withdrawn: {reason}")]
    Revoked { queue: String, reason: String },
    /// The platform could not be reached (or answered with a server error).
    #[error("the platform at {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    /// The platform is unreachable and no config for this queue is cached on disk.
    #[error(
        "no config for {queue}: the platform is unreachable ({message}) and nothing is cached"
    )]
    NoConfig { queue: String, message: String },
    /// The platform is overloaded; retry after the given seconds.
    #[error("the platform is busy; retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// The cluster the queue lives on failed a call.
    #[error("cluster {cluster}: {message}")]
    Kafka { cluster: String, message: String },
    /// The on-disk config cache could not be written.
    #[error("config cache {path}: {message}")]
    Cache { path: String, message: String },
}

impl QueueAddress {
    /// An address from the project and queue names an application was configured with.
    pub fn new(project: impl Into<String>, queue: impl Into<String>) -> Result<Self, SdkError> {
        let (project, queue) = (project.into(), queue.into());
        if project.trim().is_empty() {
            return Err(SdkError::Empty { field: "project" });
        }
        if queue.trim().is_empty() {
            return Err(SdkError::Empty { field: "queue" });
        }
        Ok(Self { project, queue })
    }
}

impl std::fmt::Display for QueueAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.project, self.queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_needs_both_names() {
        assert_eq!(
            QueueAddress::new("", "orders"),
            Err(SdkError::Empty { field: "project" })
        );
        assert_eq!(
            QueueAddress::new("shop", " "),
            Err(SdkError::Empty { field: "queue" })
        );
        assert_eq!(
            QueueAddress::new("shop", "orders").unwrap().to_string(),
            "shop/orders"
        );
    }
}
