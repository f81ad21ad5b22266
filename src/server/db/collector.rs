//! Storage for the streaming metrics collector: raw SDK reports, per-minute and per-hour
//! traffic rollups, consumer lag, and every client instance's last sighting. One batch is
//! one transaction of multi-row statements, the same SQL on SQLite and PostgreSQL.

use super::StoreResult;
use crate::domain::ClientView;
use async_trait::async_trait;

/// At most this many rows per multi-row statement (well under both databases' bind limits).
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// How a client sighting updates the stored one (an empty version keeps what is known).
pub(super) const CLIENTS_ON_CONFLICT: &str = " ON CONFLICT (client_id, queue_id, role) DO UPDATE SET \
     application_id = excluded.application_id, host = excluded.host, ip = excluded.ip, \
     consumer_group = excluded.consumer_group, \
     sdk_version = CASE WHEN excluded.sdk_version = '' THEN sdk_clients.sdk_version ELSE excluded.sdk_version END, \
     config_version = CASE WHEN excluded.config_version = '' THEN sdk_clients.config_version ELSE excluded.config_version END, \
     last_seen = excluded.last_seen";

/// One report as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub at: i64,
    pub queue_id: i64,
    pub application_id: i64,
    pub client_id: String,
    pub seq: Option<i64>,
    pub role: &'static str,
    pub host: String,
    pub ip: String,
    pub consumer_group: Option<String>,
    pub messages: i64,
    pub bytes: i64,
    pub lag: Option<i64>,
    pub offsets: Option<String>,
}

/// Traffic summed over a bucket (a minute or an hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficRow {
    pub queue_id: i64,
    pub application_id: i64,
    pub role: &'static str,
    pub bucket: i64,
    pub messages: i64,
    pub bytes: i64,
    pub reports: i64,
}

/// A consumer instance's latest lag in a minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LagRow {
    pub queue_id: i64,
    pub consumer_group: String,
    pub client_id: String,
    pub bucket: i64,
    pub lag: i64,
}

/// A client instance heard from (config call or report): inserted or refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub client_id: String,
    pub queue_id: i64,
    pub role: &'static str,
    pub application_id: i64,
    pub host: String,
    pub ip: String,
    pub consumer_group: Option<String>,
    pub sdk_version: String,
    /// Empty when unknown (a report does not carry it): the stored one is kept.
    pub config_version: String,
    pub at: i64,
}

/// A lineage edge seen in a batch: an application writing or reading a queue (per group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRow {
    pub application_id: i64,
    pub queue_id: i64,
    pub role: &'static str,
    /// Empty for producers.
    pub consumer_group: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub messages: i64,
    pub bytes: i64,
}

/// A heartbeat's sighting of a client on one queue: last seen and the config it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTouch {
    pub client_id: String,
    pub queue_id: i64,
    pub role: &'static str,
    pub config_version: String,
    pub at: i64,
}

/// What the collector writes in one transaction, already aggregated so that no statement
/// touches a row twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectedBatch {
    pub reports: Vec<ReportRow>,
    pub minutes: Vec<TrafficRow>,
    pub hours: Vec<TrafficRow>,
    pub lags: Vec<LagRow>,
    pub edges: Vec<EdgeRow>,
    pub clients: Vec<ClientRow>,
    pub touches: Vec<ClientTouch>,
}

impl CollectedBatch {
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty() && self.clients.is_empty() && self.touches.is_empty()
    }
}

/// Rows older than these instants (ms) are pruned.
#[derive(Debug, Clone, Copy)]
pub struct PruneBefore {
    pub raw: i64,
    pub minutes: i64,
    pub hours: i64,
    pub clients: i64,
}

/// Traffic in one bucket of a chart: (bucket start, role, messages, bytes).
pub type TrafficPoint = (i64, String, i64, i64);

/// The collector's storage.
#[async_trait]
pub trait CollectorStore: Send + Sync {
    /// Writes one batch in one transaction.
    async fn write_collected(&self, batch: &CollectedBatch) -> StoreResult<()>;
    /// Deletes what is past its retention; returns how many rows went.
    async fn prune_collected(&self, before: PruneBefore) -> StoreResult<u64>;
    /// A queue's traffic per bucket of `bucket_ms` in `[from, to)`, from the hourly rollups
    /// when `hourly`, else the minute ones.
    async fn queue_traffic(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
        bucket_ms: i64,
        hourly: bool,
    ) -> StoreResult<Vec<TrafficPoint>>;
    /// Total lag per consumer group per bucket: (bucket start, group, lag).
    async fn queue_lag(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
        bucket_ms: i64,
    ) -> StoreResult<Vec<(i64, String, i64)>>;
    /// A queue's client instances, most recently seen first.
    async fn queue_clients(&self, queue_id: i64, limit: i64) -> StoreResult<Vec<ClientView>>;
    /// (role, messages, bytes) since `since` over the queues whose active side is on the cluster.
    async fn cluster_traffic(
        &self,
        cluster_id: i64,
        since: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>>;
    /// The sequence numbers of a client's stored reports (tests and audits of loss).
    async fn report_seqs(&self, client_id: &str) -> StoreResult<Vec<i64>>;
    /// How many raw reports are stored.
    async fn count_reports(&self) -> StoreResult<i64>;
}
