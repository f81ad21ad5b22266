//! The platform's channel to any registered cluster: one [`Admin`] over librdkafka for
//! Kafka-protocol clusters ([`crate::kafka`]) and over the RocketMQ client for RocketMQ clusters
//! ([`crate::rocketmq`]), asking both the same questions.

use crate::kafka::{
    ClusterInfo, KafkaAdmin, KafkaResult, PlanProblem, RawMessage, ReadPlan, ReadReport, TopicPlan,
};
use crate::wire::SdkCluster;
use std::collections::HashMap;

/// Cluster-wide operations (metadata, topics, end offsets, consumer groups and what they
/// consumed) on a cluster of either protocol. It never joins a consumer group.
pub enum Admin {
    Kafka(KafkaAdmin),
    #[cfg(feature = "rocketmq")]
    RocketMq(Box<crate::rocketmq::Admin>),
}

/// Runs the same call on whichever client the cluster has.
macro_rules! each {
    ($admin:expr, $a:ident => $call:expr) => {
        match $admin {
            Admin::Kafka($a) => $call,
            #[cfg(feature = "rocketmq")]
            Admin::RocketMq($a) => $call,
        }
    };
}

impl Admin {
    /// The client for the cluster a platform config describes, by its kind: `rocketmq`
    /// clusters through their name servers, every other kind through librdkafka. Fails only on
    /// settings the client refuses; connecting happens on the first call.
    pub fn new(cluster: &SdkCluster) -> KafkaResult<Self> {
        if cluster.kind == "rocketmq" {
            #[cfg(feature = "rocketmq")]
            return crate::rocketmq::Admin::new(cluster).map(|a| Admin::RocketMq(Box::new(a)));
            #[cfg(not(feature = "rocketmq"))]
            return Err(crate::kafka::KafkaError {
                cluster: cluster.name.clone(),
                message: "this build has no RocketMQ client (feature `rocketmq`)".into(),
            });
        }
        KafkaAdmin::new(cluster).map(Admin::Kafka)
    }

    /// The cluster's registered name.
    pub fn cluster(&self) -> &str {
        each!(self, a => a.cluster())
    }

    /// What the client was made with.
    pub fn config(&self) -> &SdkCluster {
        each!(self, a => a.config())
    }

    /// `message`, with what the client knows of the connection's trouble.
    pub fn explain(&self, message: impl std::fmt::Display) -> String {
        each!(self, a => a.explain(message))
    }

    /// Brokers and topics.
    pub async fn describe(&self) -> KafkaResult<ClusterInfo> {
        each!(self, a => a.describe().await)
    }

    /// Creates a topic; `Ok(false)` when it already existed.
    pub async fn create_topic(&self, plan: &TopicPlan) -> KafkaResult<bool> {
        each!(self, a => a.create_topic(plan).await)
    }

    /// A topic's configuration (`retention.ms` and the like); RocketMQ topics have none.
    pub async fn topic_configs(&self, topic: &str) -> KafkaResult<HashMap<String, String>> {
        each!(self, a => a.topic_configs(topic).await)
    }

    /// The next offset to be written in each of `topics`' partitions.
    pub async fn end_offsets(
        &self,
        topics: &[(String, Vec<i32>)],
    ) -> KafkaResult<HashMap<(String, i32), i64>> {
        each!(self, a => a.end_offsets(topics).await)
    }

    /// Every consumer group on the cluster, sorted, each once.
    pub async fn groups(&self) -> KafkaResult<Vec<String>> {
        let mut groups = each!(self, a => a.groups().await)?;
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    /// Every consumer group on the cluster, sorted, each once, with its member count where the
    /// cluster tells it.
    pub async fn group_members(&self) -> KafkaResult<Vec<(String, Option<i64>)>> {
        let mut groups = each!(self, a => a.group_members().await)?;
        groups.sort();
        groups.dedup_by(|a, b| a.0 == b.0);
        Ok(groups)
    }

    /// What `group` has committed on `topics`' partitions.
    pub async fn committed(
        &self,
        group: &str,
        topics: &[(String, Vec<i32>)],
    ) -> KafkaResult<HashMap<(String, i32), i64>> {
        each!(self, a => a.committed(group, topics).await)
    }

    /// Reads a topic's messages without joining a consumer group (see
    /// [`KafkaAdmin::read`]); Kafka-protocol clusters only.
    pub async fn read(
        &self,
        plan: ReadPlan,
        keep: impl FnMut(RawMessage) -> bool + Send + 'static,
    ) -> KafkaResult<Result<ReadReport, PlanProblem>> {
        match self {
            Admin::Kafka(a) => a.read(plan, keep).await,
            #[cfg(feature = "rocketmq")]
            Admin::RocketMq(a) => Err(crate::kafka::KafkaError {
                cluster: a.cluster().to_string(),
                message: "reading messages of a RocketMQ cluster is not supported yet".into(),
            }),
        }
    }
}
