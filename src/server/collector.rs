//! The streaming metrics collector.
//!
//! SDK reports and sightings enter a bounded in-memory queue (bounded in rows, by a
//! semaphore: a request that does not fit is refused at once, so the API can answer 429 and
//! memory stays flat under any overload). A gatherer takes what is queued, up to 1,000 rows
//! or 250 ms after the first, and hands the batch to a writer (one on SQLite, three on
//! PostgreSQL, so batches are gathered while others commit), which aggregates it (per-minute
//! and per-hour rollups per queue, application and role; consumer lag; lineage edges;
//! clients' last sighting) and writes it in one transaction. A report is acknowledged only after that transaction commits. Shutdown stops
//! intake and drains the queue. A pruner deletes what is past its retention.

use crate::server::db::collector::{
    ClientRow, ClientTouch, CollectedBatch, EdgeRow, LagRow, PruneBefore, ReportRow, TrafficRow,
};
use crate::server::db::{now_millis, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// How the collector batches, bounds and keeps.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Rows that may wait in memory; beyond, submissions are refused (429).
    pub capacity: usize,
    /// A batch is cut at this many rows…
    pub max_batch_rows: usize,
    /// …or this long after its first row arrived.
    pub max_linger: Duration,
    /// When nothing more arrives for this long, the batch is cut early (low load, low latency).
    pub idle_gap: Duration,
    /// Transactions written at once; 0 picks by backend (PostgreSQL 3, SQLite 1, which has
    /// one writer anyway). While some write, the next batch is being gathered.
    pub writers: usize,
    pub retention: Retention,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_batch_rows: 1_000,
            max_linger: Duration::from_millis(250),
            idle_gap: Duration::from_millis(5),
            writers: 0,
            retention: Retention::default(),
        }
    }
}

/// How long collected data is kept, and how often it is pruned.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub raw_days: i64,
    pub minute_days: i64,
    pub hour_days: i64,
    /// Client instances not seen for this long are forgotten.
    pub client_days: i64,
    pub prune_every: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            raw_days: 7,
            minute_days: 30,
            hour_days: 365,
            client_days: 30,
            prune_every: Duration::from_secs(600),
        }
    }
}

impl Retention {
    pub fn cutoffs(&self, now: i64) -> PruneBefore {
        PruneBefore {
            raw: now - self.raw_days * DAY,
            minutes: now - self.minute_days * DAY,
            hours: now - self.hour_days * DAY,
            clients: now - self.client_days * DAY,
        }
    }
}

/// One thing to write.
#[derive(Debug, Clone)]
pub enum Entry {
    Report(ReportRow),
    Client(ClientRow),
    Touch(ClientTouch),
}

/// Why a submission was not taken or not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    #[error("the collector is full; retry after {retry_after_secs} s")]
    Full { retry_after_secs: u64 },
    #[error("the collector is shutting down")]
    ShuttingDown,
    #[error("storing the reports failed; retry")]
    WriteFailed,
}

struct Job {
    entries: Vec<Entry>,
    _permit: OwnedSemaphorePermit,
    done: Option<oneshot::Sender<Result<(), CollectError>>>,
}

/// The collector's intake; cheap to share.
pub struct Collector {
    tx: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
    capacity: usize,
    closing: AtomicBool,
    stop: tokio::sync::watch::Sender<bool>,
    writer: Mutex<Option<JoinHandle<()>>>,
    pruner: Mutex<Option<JoinHandle<()>>>,
    /// Rows written since start (for tests and `/metrics`).
    written: Arc<AtomicUsize>,
    /// Signalled after a batch with lineage edges is durable.
    edges_written: Arc<Notify>,
}

impl Collector {
    /// Starts the writer and the pruner.
    pub fn start(store: Arc<dyn Store>, config: CollectorConfig) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let permits = Arc::new(Semaphore::new(config.capacity));
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let written = Arc::new(AtomicUsize::new(0));
        let edges_written = Arc::new(Notify::new());
        let writers = match config.writers {
            0 if store.backend() == crate::server::db::Backend::Postgres => 3,
            0 => 1,
            n => n,
        };
        let writer = tokio::spawn(write_loop(
            store.clone(),
            writers,
            rx,
            stop_rx,
            config.clone(),
            permits.clone(),
            (written.clone(), edges_written.clone()),
        ));
        let pruner = tokio::spawn(prune_loop(store, config.retention));
        Arc::new(Self {
            tx,
            permits,
            capacity: config.capacity,
            closing: AtomicBool::new(false),
            stop,
            writer: Mutex::new(Some(writer)),
            pruner: Mutex::new(Some(pruner)),
            written,
            edges_written,
        })
    }

    fn enqueue(
        &self,
        entries: Vec<Entry>,
        done: Option<oneshot::Sender<Result<(), CollectError>>>,
    ) -> Result<(), CollectError> {
        if self.closing.load(Ordering::Acquire) {
            return Err(CollectError::ShuttingDown);
        }
        let n = entries.len().clamp(1, self.capacity) as u32;
        let permit = self
            .permits
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| {
                metrics::counter!("watershed_collector_rejected_total").increment(1);
                CollectError::Full {
                    retry_after_secs: 1,
                }
            })?;
        metrics::gauge!("watershed_collector_queue_depth").set(self.depth() as f64);
        self.tx
            .send(Job {
                entries,
                _permit: permit,
                done,
            })
            .map_err(|_| CollectError::ShuttingDown)
    }

    /// Queues entries and waits until they are durable.
    pub async fn submit_durable(&self, entries: Vec<Entry>) -> Result<(), CollectError> {
        let (done, wait) = oneshot::channel();
        self.enqueue(entries, Some(done))?;
        wait.await.unwrap_or(Err(CollectError::ShuttingDown))
    }

    /// Queues entries without waiting (sightings: losing one under overload is harmless).
    pub fn submit(&self, entries: Vec<Entry>) -> Result<(), CollectError> {
        self.enqueue(entries, None)
    }

    /// Refuses at once when the queue is full, so a caller can shed a request before doing
    /// any work for it (such as parsing its body).
    pub fn check_room(&self) -> Result<(), CollectError> {
        if self.permits.available_permits() == 0 {
            metrics::counter!("watershed_collector_rejected_total").increment(1);
            return Err(CollectError::Full {
                retry_after_secs: 1,
            });
        }
        Ok(())
    }

    /// Rows that may wait in memory at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rows waiting to be written.
    pub fn depth(&self) -> usize {
        self.capacity - self.permits.available_permits()
    }

    /// Rows written since the start.
    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// Signalled (one stored permit) each time lineage edges were written; the lineage
    /// graph waits on it to pick them up at once.
    pub fn edges_written(&self) -> Arc<Notify> {
        self.edges_written.clone()
    }

    /// Stops intake, writes everything queued, and stops the writer and pruner.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Release);
        let _ = self.stop.send(true);
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = writer {
            let _ = w.await;
        }
        let pruner = self.pruner.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(p) = pruner {
            p.abort();
        }
    }
}

/// A batch on its way to a writer, with the jobs waiting for its outcome.
struct Batch {
    jobs: Vec<Job>,
    rows: usize,
}

/// Gathers jobs into batches (up to `max_batch_rows`, `max_linger` after the first) and hands
/// them to `writers` concurrent writers; on stop, writes what is queued and waits for them.
async fn write_loop(
    store: Arc<dyn Store>,
    writers: usize,
    mut rx: mpsc::UnboundedReceiver<Job>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    config: CollectorConfig,
    permits: Arc<Semaphore>,
    written: (Arc<AtomicUsize>, Arc<Notify>),
) {
    let (to_writers, batches) = mpsc::channel::<Batch>(writers);
    let batches = Arc::new(tokio::sync::Mutex::new(batches));
    let mut pool = tokio::task::JoinSet::new();
    for _ in 0..writers {
        pool.spawn(write_batches(
            store.clone(),
            batches.clone(),
            config.capacity,
            permits.clone(),
            written.clone(),
        ));
    }
    let mut carry: Option<Job> = None;
    loop {
        let first = match carry.take() {
            Some(j) => Some(j),
            None => tokio::select! {
                biased;
                j = rx.recv() => j,
                _ = stop.changed() => {
                    // No new submissions; what is queued is still written below.
                    rx.close();
                    rx.recv().await
                }
            },
        };
        let Some(first) = first else { break };
        let deadline = Instant::now() + config.max_linger;
        let mut rows = first.entries.len();
        let mut jobs = vec![first];
        while rows < config.max_batch_rows {
            let next = match rx.try_recv() {
                Ok(j) => Some(j),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    let until = deadline.min(Instant::now() + config.idle_gap);
                    tokio::time::timeout_at(until, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
            };
            let Some(j) = next else { break };
            if rows + j.entries.len() > config.max_batch_rows {
                carry = Some(j);
                break;
            }
            rows += j.entries.len();
            jobs.push(j);
        }
        if to_writers.send(Batch { jobs, rows }).await.is_err() {
            break;
        }
    }
    drop(to_writers);
    while pool.join_next().await.is_some() {}
}

/// One writer: takes batches until the gatherer stops, writes each in one transaction and
/// tells every job's submitter how it went.
async fn write_batches(
    store: Arc<dyn Store>,
    batches: Arc<tokio::sync::Mutex<mpsc::Receiver<Batch>>>,
    capacity: usize,
    permits: Arc<Semaphore>,
    (written, edges_written): (Arc<AtomicUsize>, Arc<Notify>),
) {
    loop {
        let next = batches.lock().await.recv().await;
        let Some(Batch { jobs, rows }) = next else {
            break;
        };
        let batch = aggregate(jobs.iter().flat_map(|j| j.entries.iter()));
        let started = std::time::Instant::now();
        let result = if batch.is_empty() {
            Ok(())
        } else {
            store.write_collected(&batch).await
        };
        metrics::histogram!("watershed_collector_write_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!("watershed_collector_batch_rows").record(rows as f64);
        let answer = match result {
            Ok(()) => {
                written.fetch_add(rows, Ordering::Relaxed);
                if !batch.edges.is_empty() {
                    edges_written.notify_one();
                }
                metrics::counter!("watershed_collector_rows_total").increment(rows as u64);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = ?e, rows, "collector write failed");
                metrics::counter!("watershed_collector_write_errors_total").increment(1);
                Err(CollectError::WriteFailed)
            }
        };
        for job in jobs {
            if let Some(done) = job.done {
                let _ = done.send(answer.clone());
            }
        }
        metrics::gauge!("watershed_collector_queue_depth")
            .set((capacity - permits.available_permits()) as f64);
    }
}

async fn prune_loop(store: Arc<dyn Store>, retention: Retention) {
    let mut tick = tokio::time::interval(retention.prune_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match store.prune_collected(retention.cutoffs(now_millis())).await {
            Ok(n) if n > 0 => tracing::info!(rows = n, "pruned collected data past its retention"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "pruning collected data"),
        }
    }
}

/// Turns entries into one batch: raw rows as they are; minute and hour traffic summed per
/// (queue, application, role, bucket); each consumer's latest lag per minute; lineage edges
/// per (application, queue, role, group); each client's latest sighting. No two rows of one statement share a key.
pub fn aggregate<'a>(entries: impl Iterator<Item = &'a Entry>) -> CollectedBatch {
    let mut batch = CollectedBatch::default();
    let mut minutes: HashMap<(i64, i64, &'static str, i64), TrafficRow> = HashMap::new();
    let mut hours: HashMap<(i64, i64, &'static str, i64), TrafficRow> = HashMap::new();
    let mut lags: HashMap<(i64, String, String, i64), LagRow> = HashMap::new();
    let mut edges: HashMap<(i64, i64, &'static str, String), EdgeRow> = HashMap::new();
    let mut clients: HashMap<(String, i64, &'static str), ClientRow> = HashMap::new();
    let mut touches: HashMap<(String, i64, &'static str), ClientTouch> = HashMap::new();
    for e in entries {
        match e {
            Entry::Report(r) => {
                for (map, size) in [(&mut minutes, MINUTE), (&mut hours, HOUR)] {
                    let bucket = r.at - r.at.rem_euclid(size);
                    let t = map
                        .entry((r.queue_id, r.application_id, r.role, bucket))
                        .or_insert(TrafficRow {
                            queue_id: r.queue_id,
                            application_id: r.application_id,
                            role: r.role,
                            bucket,
                            messages: 0,
                            bytes: 0,
                            reports: 0,
                        });
                    t.messages += r.messages;
                    t.bytes += r.bytes;
                    t.reports += 1;
                }
                let group = r.consumer_group.clone().unwrap_or_default();
                let edge = edges
                    .entry((r.application_id, r.queue_id, r.role, group.clone()))
                    .or_insert(EdgeRow {
                        application_id: r.application_id,
                        queue_id: r.queue_id,
                        role: r.role,
                        consumer_group: group,
                        first_seen: r.at,
                        last_seen: r.at,
                        messages: 0,
                        bytes: 0,
                    });
                edge.first_seen = edge.first_seen.min(r.at);
                edge.last_seen = edge.last_seen.max(r.at);
                edge.messages += r.messages;
                edge.bytes += r.bytes;
                if let (Some(lag), Some(group)) = (r.lag, &r.consumer_group) {
                    let bucket = r.at - r.at.rem_euclid(MINUTE);
                    lags.insert(
                        (r.queue_id, group.clone(), r.client_id.clone(), bucket),
                        LagRow {
                            queue_id: r.queue_id,
                            consumer_group: group.clone(),
                            client_id: r.client_id.clone(),
                            bucket,
                            lag,
                        },
                    );
                }
                let key = (r.client_id.clone(), r.queue_id, r.role);
                let sdk_version = clients
                    .get(&key)
                    .map(|c| c.sdk_version.clone())
                    .unwrap_or_default();
                clients.insert(
                    key,
                    ClientRow {
                        client_id: r.client_id.clone(),
                        queue_id: r.queue_id,
                        role: r.role,
                        application_id: r.application_id,
                        host: r.host.clone(),
                        ip: r.ip.clone(),
                        consumer_group: r.consumer_group.clone(),
                        sdk_version,
                        config_version: String::new(),
                        at: r.at,
                    },
                );
                batch.reports.push(r.clone());
            }
            Entry::Client(c) => {
                let key = (c.client_id.clone(), c.queue_id, c.role);
                let mut c = c.clone();
                if let Some(prev) = clients.get(&key) {
                    if c.config_version.is_empty() {
                        c.config_version = prev.config_version.clone();
                    }
                }
                clients.insert(key, c);
            }
            Entry::Touch(t) => {
                touches.insert((t.client_id.clone(), t.queue_id, t.role), t.clone());
            }
        }
    }
    // Sorted by key: concurrent writers then lock shared rows in one order (no deadlocks).
    batch.minutes = sorted(minutes);
    batch.hours = sorted(hours);
    batch.lags = sorted(lags);
    batch.edges = sorted(edges);
    batch.clients = sorted(clients);
    batch.touches = sorted(touches);
    batch
}

fn sorted<K: Ord, V>(map: HashMap<K, V>) -> Vec<V> {
    let mut rows: Vec<(K, V)> = map.into_iter().collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, v)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(at: i64, client: &str, messages: i64, lag: Option<i64>) -> Entry {
        Entry::Report(ReportRow {
            at,
            queue_id: 1,
            application_id: 2,
            client_id: client.into(),
            seq: None,
            role: "consumer",
            host: "h".into(),
            ip: "10.0.0.1".into(),
            consumer_group: Some("g".into()),
            messages,
            bytes: messages * 10,
            lag,
            offsets: None,
        })
    }

    #[test]
    fn rollups_sum_per_bucket_and_lag_keeps_the_latest() {
        let base = 1_700_000_000_000 - 1_700_000_000_000 % HOUR;
        let entries = [
            report(base + 1_000, "a", 5, Some(100)),
            report(base + 2_000, "a", 7, Some(80)),
            report(base + MINUTE + 1, "b", 1, Some(3)),
        ];
        let b = aggregate(entries.iter());
        assert_eq!(b.reports.len(), 3);
        let mut minutes: Vec<(i64, i64, i64)> = b
            .minutes
            .iter()
            .map(|m| (m.bucket - base, m.messages, m.reports))
            .collect();
        minutes.sort();
        assert_eq!(minutes, vec![(0, 12, 2), (MINUTE, 1, 1)]);
        assert_eq!(b.hours.len(), 1);
        assert_eq!((b.hours[0].messages, b.hours[0].bytes), (13, 130));
        let a_lag: Vec<i64> = b
            .lags
            .iter()
            .filter(|l| l.client_id == "a")
            .map(|l| l.lag)
            .collect();
        assert_eq!(a_lag, vec![80]);
        assert_eq!(b.clients.len(), 2);
    }
}
