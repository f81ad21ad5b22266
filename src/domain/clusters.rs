//! Real clusters as their brokers describe them: health, the topics behind queues, and
//! importing existing topics as queues.

use super::{FieldError, Slug, Validator};
use serde::{Deserialize, Serialize};

/// A cluster as its brokers answered the last probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterHealth {
    pub cluster: String,
    pub reachable: bool,
    /// When the probe ran (ms since the epoch).
    pub checked_at: i64,
    /// How long the metadata round trip took.
    pub latency_ms: u64,
    pub cluster_id: Option<String>,
    /// `id host:port` of every broker.
    pub brokers: Vec<String>,
    /// Topics, internal ones excluded.
    pub topics: usize,
    /// Why the cluster could not be reached.
    pub error: Option<String>,
    /// The cluster has no brokers by its registration (placeholder addresses, as the demo's):
    /// it was not probed.
    #[serde(default)]
    pub no_brokers: bool,
}

/// The topic behind a queue on one of its clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopicProvision {
    pub cluster: String,
    pub topic: String,
    /// `created`, `existed` or `failed`.
    pub status: String,
    pub message: String,
    pub at: i64,
}

/// A topic on a cluster, and the queue it backs if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterTopic {
    pub name: String,
    pub partitions: i32,
    /// `project/queue` of the queue whose topic this is on this cluster.
    pub queue: Option<String>,
}

/// `POST /api/v1/clusters/{name}/import`: existing topics to register as queues of a project.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportInput {
    pub project: String,
    pub topics: Vec<String>,
    /// User name of the queues' owner; the importer by default.
    #[serde(default)]
    pub owner: String,
}

impl ImportInput {
    /// Checks the shape; whether the project and topics exist is the service's to say.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        v.check(Slug::parse("project", &self.project));
        if self.topics.is_empty() {
            v.push(FieldError::new("topics", "choose at least one topic"));
        }
        if self.topics.len() > 1000 {
            v.push(FieldError::new("topics", "at most 1000 topics at once"));
        }
        v.finish()
    }
}

/// The queue name an imported topic gets: lower case, runs of anything but letters and digits
/// made one dash, a `t-` in front of a leading digit, at most 63 characters. `None` when
/// nothing usable is left.
pub fn queue_name_for_topic(topic: &str) -> Option<String> {
    let mut name = String::new();
    for c in topic.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "t-");
    }
    let name: String = name.chars().take(63).collect();
    let name = name.trim_end_matches('-').to_string();
    Slug::parse("name", &name).ok().map(|s| s.to_string())
}

/// A topic an import left alone, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SkippedTopic {
    pub topic: String,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImportResult {
    /// `project/queue` of every queue created.
    pub imported: Vec<String>,
    pub skipped: Vec<SkippedTopic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_become_queue_names() {
        assert_eq!(
            queue_name_for_topic("Orders.Created_v2").as_deref(),
            Some("orders-created-v2")
        );
        assert_eq!(queue_name_for_topic("__--xy--").as_deref(), Some("xy"));
        assert_eq!(
            queue_name_for_topic("2024-events").as_deref(),
            Some("t-2024-events")
        );
        assert_eq!(
            queue_name_for_topic(&"a".repeat(80)).map(|n| n.len()),
            Some(63)
        );
        assert_eq!(queue_name_for_topic("..."), None);
    }

    #[test]
    fn an_import_names_what_is_missing() {
        let e = ImportInput {
            project: "".into(),
            topics: vec![],
            owner: String::new(),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["project", "topics"]);
    }
}
