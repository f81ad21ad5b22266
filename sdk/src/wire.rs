//! The wire types of the SDK plane: what a client asks (config, heartbeat, reports) and what
//! the platform answers. The platform's REST API and this crate share them, so they cannot drift.

use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString};

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
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
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

/// `POST /api/v1/sdk/config`: a client introduces itself and asks where a queue lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
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

/// The physical cluster a queue is on now, with what a client needs to connect. Its `Debug`
/// leaves the password out.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SdkCluster {
    pub name: String,
    /// `kafka`, `automq`, `cloud-kafka`, `rocketmq`.
    pub kind: String,
    pub bootstrap_servers: Vec<String>,
    /// `none`, `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
    pub sasl_mechanism: String,
    pub sasl_username: String,
    pub sasl_password: Option<String>,
    /// TLS to the brokers; absent for plain TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SdkTls>,
}

impl std::fmt::Debug for SdkCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkCluster")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field(
                "sasl_password",
                &self.sasl_password.as_ref().map(|_| "<redacted>"),
            )
            .field("tls", &self.tls)
            .finish()
    }
}

/// How a client talks TLS to a cluster's brokers. The broker's name is always checked against
/// its certificate.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct SdkTls {
    /// PEM certificates the brokers' chain must lead to; the system's roots when absent.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// PEM client certificate, for brokers that require one (mutual TLS).
    #[serde(default)]
    pub client_cert_pem: Option<String>,
    /// PEM private key of the client certificate.
    #[serde(default)]
    pub client_key_pem: Option<String>,
}

impl std::fmt::Debug for SdkTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkTls")
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .field(
                "client_cert_pem",
                &self.client_cert_pem.as_ref().map(|p| p.len()),
            )
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Where a queue lives now, as the SDK needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
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
    /// Other clusters the queue lived on within the last few heartbeat intervals, newest
    /// first. A consumer that switches drains each of them as well as the one it ran on, so
    /// after a rapid double switch (A to B to C within one heartbeat) what producers wrote on
    /// B is read too. Not part of the version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<SdkCluster>,
}

/// One queue a client uses, as a heartbeat lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct HeartbeatQueue {
    pub project: String,
    pub queue: String,
    pub role: SdkRole,
    /// The config version the client runs with.
    pub config_version: String,
}

/// Running totals a client may attach to its heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct HeartbeatRequest {
    pub client_id: String,
    pub queues: Vec<HeartbeatQueue>,
    #[serde(default)]
    pub counters: HeartbeatCounters,
}

/// A queue the client may no longer use, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RevokedQueue {
    pub project: String,
    pub queue: String,
    pub role: SdkRole,
    pub reason: String,
}

/// What a heartbeat answers: the new config of every queue whose mapping changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    pub changed: Vec<SdkConfig>,
    /// Queues the client's application may no longer use in that role.
    pub revoked: Vec<RevokedQueue>,
    pub heartbeat_interval_secs: u64,
}

/// A consumer's position in one partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct PartitionOffset {
    pub partition: i32,
    pub offset: i64,
    pub lag: i64,
}

/// What one client did with one queue since its last report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ReportBatch {
    pub reports: Vec<Report>,
}

/// What a `reports` call answers once the reports are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ReportAck {
    pub accepted: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_holds_no_secret() {
        let cluster = SdkCluster {
            name: "east".into(),
            sasl_mechanism: "SCRAM-SHA-512".into(),
            sasl_username: "app".into(),
            sasl_password: Some("hunter2-password".into()),
            tls: Some(SdkTls {
                ca_pem: Some("-----BEGIN CERTIFICATE-----".into()),
                client_cert_pem: Some("-----BEGIN CERTIFICATE-----".into()),
                client_key_pem: Some("-----BEGIN PRIVATE KEY----- secret-key".into()),
            }),
            ..Default::default()
        };
        let shown = format!("{cluster:?}");
        assert!(shown.contains("east") && shown.contains("app"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("secret-key"), "{shown}");
    }
}
