//! The Stream-SDK's control plane: what a client asks (config, heartbeat, reports) and what
//! the platform answers, plus the traffic and client views the console shows.

use super::{FieldError, Validator};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString, VariantArray};

/// How long a client waits between heartbeats unless told otherwise.
pub const DEFAULT_HEARTBEAT_SECS: u64 = 60;
/// At most this many reports in one `reports` call.
pub const MAX_REPORTS_PER_CALL: usize = 1_000;
/// At most this many queues in one heartbeat.
pub const MAX_HEARTBEAT_QUEUES: usize = 1_000;

/// What a client does with a queue.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Display, EnumString, AsRefStr,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum SdkRole {
    Producer,
    Consumer,
}

impl SdkRole {
    /// The grant permission this role needs.
    pub fn needs(self) -> &'static str {
        match self {
            SdkRole::Producer => "produce",
            SdkRole::Consumer => "consume",
        }
    }
}

fn bounded(v: &mut Validator, field: &str, value: &str, max: usize, required: bool) {
    if required && value.trim().is_empty() {
        v.push(FieldError::new(field, "is required"));
    } else if value.chars().count() > max {
        v.push(FieldError::new(field, format!("at most {max} characters")));
    } else if value.chars().any(char::is_control) {
        v.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

/// `POST /api/v1/sdk/config`: a client introduces itself and asks where a queue lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConfigRequest {
    pub project: String,
    pub queue: String,
    pub role: SdkRole,
    /// The application's name as the client knows it; must be the token's application.
    pub app: String,
    #[serde(default)]
    pub consumer_group: Option<String>,
    /// Unique per client instance (the SDK makes one per process).
    pub client_id: String,
    pub host: String,
    #[serde(default)]
    pub sdk_version: String,
}

impl ConfigRequest {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        bounded(&mut v, "project", &self.project, 100, true);
        bounded(&mut v, "queue", &self.queue, 100, true);
        bounded(&mut v, "app", &self.app, 100, true);
        bounded(&mut v, "client_id", &self.client_id, 200, true);
        bounded(&mut v, "host", &self.host, 255, true);
        bounded(&mut v, "sdk_version", &self.sdk_version, 50, false);
        match (&self.consumer_group, self.role) {
            (None, SdkRole::Consumer) => v.push(FieldError::new(
                "consumer_group",
                "a consumer needs its group",
            )),
            (Some(g), _) => bounded(&mut v, "consumer_group", g, 255, true),
            _ => {}
        }
        v.finish()
    }
}

/// The physical cluster a queue is on now, with what a client needs to connect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SdkCluster {
    pub name: String,
    /// `kafka`, `automq`, `cloud-kafka`, `rocketmq`.
    pub kind: String,
    pub bootstrap_servers: Vec<String>,
    /// `none`, `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
    pub sasl_mechanism: String,
    pub sasl_username: String,
    pub sasl_password: Option<String>,
}

/// Where a queue lives now, as the SDK needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SdkConfig {
    pub project: String,
    pub queue: String,
    pub cluster: SdkCluster,
    /// The physical topic on that cluster.
    pub topic: String,
    /// `primary` or `backup`.
    pub active_side: String,
    /// Changes exactly when anything above changes; the SDK sends it back in heartbeats.
    pub config_version: String,
    pub heartbeat_interval_secs: u64,
}

/// One queue a client uses, as a heartbeat lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatQueue {
    pub project: String,
    pub queue: String,
    pub role: SdkRole,
    /// The config version the client runs with.
    pub config_version: String,
}

/// Running totals a client may attach to its heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatCounters {
    #[serde(default)]
    pub messages: u64,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub errors: u64,
}

/// `POST /api/v1/sdk/heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatRequest {
    pub client_id: String,
    pub queues: Vec<HeartbeatQueue>,
    #[serde(default)]
    pub counters: HeartbeatCounters,
}

impl HeartbeatRequest {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        bounded(&mut v, "client_id", &self.client_id, 200, true);
        if self.queues.len() > MAX_HEARTBEAT_QUEUES {
            v.push(FieldError::new(
                "queues",
                format!("at most {MAX_HEARTBEAT_QUEUES} queues per heartbeat"),
            ));
        }
        v.finish()
    }
}

/// A queue the client may no longer use, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RevokedQueue {
    pub project: String,
    pub queue: String,
    pub role: SdkRole,
    pub reason: String,
}

/// What a heartbeat answers: the new config of every queue whose mapping changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    pub changed: Vec<SdkConfig>,
    /// Queues the client's application may no longer use in that role.
    pub revoked: Vec<RevokedQueue>,
    pub heartbeat_interval_secs: u64,
}

/// A consumer's position in one partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PartitionOffset {
    pub partition: i32,
    pub offset: i64,
    pub lag: i64,
}

/// What one client did with one queue since its last report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Report {
    pub project: String,
    pub queue: String,
    pub role: SdkRole,
    pub client_id: String,
    pub host: String,
    #[serde(default)]
    pub app: Option<String>,
    #[serde(default)]
    pub consumer_group: Option<String>,
    #[serde(default)]
    pub sdk_version: String,
    /// The client's report counter, so a report can be traced end to end.
    #[serde(default)]
    pub seq: Option<i64>,
    /// Messages and bytes since the last report.
    pub messages: i64,
    pub bytes: i64,
    /// A consumer's committed offsets and lag per partition.
    #[serde(default)]
    pub offsets: Vec<PartitionOffset>,
}

/// `POST /api/v1/sdk/reports`: reports, batched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportBatch {
    pub reports: Vec<Report>,
}

impl ReportBatch {
    /// Checks every report; errors name the report by index (`reports[3].bytes`).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        if self.reports.is_empty() {
            v.push(FieldError::new("reports", "at least one report"));
        }
        if self.reports.len() > MAX_REPORTS_PER_CALL {
            v.push(FieldError::new(
                "reports",
                format!("at most {MAX_REPORTS_PER_CALL} reports per call"),
            ));
        }
        for (i, r) in self.reports.iter().enumerate() {
            let f = |name: &str| format!("reports[{i}].{name}");
            bounded(&mut v, &f("project"), &r.project, 100, true);
            bounded(&mut v, &f("queue"), &r.queue, 100, true);
            bounded(&mut v, &f("client_id"), &r.client_id, 200, true);
            bounded(&mut v, &f("host"), &r.host, 255, true);
            bounded(&mut v, &f("sdk_version"), &r.sdk_version, 50, false);
            if let Some(g) = &r.consumer_group {
                bounded(&mut v, &f("consumer_group"), g, 255, true);
            }
            if let Some(a) = &r.app {
                bounded(&mut v, &f("app"), a, 100, true);
            }
            if r.messages < 0 {
                v.push(FieldError::new(&f("messages"), "must not be negative"));
            }
            if r.bytes < 0 {
                v.push(FieldError::new(&f("bytes"), "must not be negative"));
            }
            if r.offsets.len() > 10_000 {
                v.push(FieldError::new(&f("offsets"), "at most 10000 partitions"));
            }
            if r.offsets
                .iter()
                .any(|o| o.offset < 0 || o.lag < 0 || o.partition < 0)
            {
                v.push(FieldError::new(
                    &f("offsets"),
                    "partitions, offsets and lag must not be negative",
                ));
            }
        }
        v.finish()
    }
}

/// What a `reports` call answers once the reports are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportAck {
    pub accepted: usize,
}

/// A time range a chart covers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, EnumString, VariantArray,
)]
#[strum(serialize_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum TrafficRange {
    Hour,
    Day,
    Week,
}

impl TrafficRange {
    /// (span, bucket) in milliseconds: minutes for an hour, 15 minutes for a day, hours for a week.
    pub fn span_and_bucket(self) -> (i64, i64) {
        const MIN: i64 = 60_000;
        match self {
            TrafficRange::Hour => (60 * MIN, MIN),
            TrafficRange::Day => (24 * 60 * MIN, 15 * MIN),
            TrafficRange::Week => (7 * 24 * 60 * MIN, 60 * MIN),
        }
    }
}

/// One series of a chart: (bucket start in ms, value) points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// A queue's traffic over a range: rates in and out, lag per consumer group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QueueTraffic {
    pub from: i64,
    pub to: i64,
    pub bucket_ms: i64,
    /// messages/s in (written by producers) and out (read by consumers).
    pub messages: Vec<Series>,
    /// bytes/s in and out.
    pub bytes: Vec<Series>,
    /// Total lag per consumer group.
    pub lag: Vec<Series>,
}

/// One client instance the platform has heard from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClientView {
    pub client_id: String,
    /// `project/name` of the application.
    pub app: String,
    pub role: SdkRole,
    pub host: String,
    pub ip: String,
    pub consumer_group: Option<String>,
    pub sdk_version: String,
    pub config_version: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// Totals over the last hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TrafficTotals {
    pub messages_in: i64,
    pub messages_out: i64,
    pub bytes_in: i64,
    pub bytes_out: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            project: "shop".into(),
            queue: "orders".into(),
            role: SdkRole::Producer,
            client_id: "c-1".into(),
            host: "web-1".into(),
            app: None,
            consumer_group: None,
            sdk_version: "0.1.0".into(),
            seq: Some(1),
            messages: 10,
            bytes: 1000,
            offsets: vec![],
        }
    }

    #[test]
    fn report_errors_name_the_report_and_field() {
        let mut bad = report();
        bad.bytes = -1;
        let errors = ReportBatch {
            reports: vec![report(), bad],
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "reports[1].bytes");
        assert!(ReportBatch { reports: vec![] }.validate().is_err());
    }

    #[test]
    fn a_consumer_needs_its_group() {
        let req = ConfigRequest {
            project: "shop".into(),
            queue: "orders".into(),
            role: SdkRole::Consumer,
            app: "billing".into(),
            consumer_group: None,
            client_id: "c".into(),
            host: "h".into(),
            sdk_version: String::new(),
        };
        let errors = req.validate().unwrap_err();
        assert_eq!(errors[0].field, "consumer_group");
        assert!(ConfigRequest {
            role: SdkRole::Producer,
            ..req
        }
        .validate()
        .is_ok());
    }
}
