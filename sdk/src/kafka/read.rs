//! Reading a topic's messages for a look inside (the console's peek): partitions assigned by
//! hand from a start offset to the end they had when the read began, with a byte and a time
//! budget. The reader never subscribes (so never joins a consumer group) and never commits, so
//! it leaves no group behind on the cluster. librdkafka's assign needs a `group.id` all the
//! same; a throwaway one is named, used for nothing.

use super::{KafkaAdmin, KafkaResult, CALL_TIMEOUT};
use crate::native::WatchContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where a read starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// The last `n` messages each partition holds.
    Last(i64),
    /// This offset in each partition (from the partition's first held message when older).
    Offset(i64),
    /// The first message written at or after this time (milliseconds since the epoch).
    Time(i64),
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    pub topic: String,
    /// Only these partitions; every partition when `None`.
    pub partitions: Option<Vec<i32>>,
    pub from: ReadFrom,
    /// Stop once this many key and value bytes were read.
    pub max_bytes: u64,
    /// Stop after this long.
    pub max_time: Duration,
}

/// One message as the broker holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch, as the producer or the broker stamped it.
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl RawMessage {
    /// Key and value bytes, what the byte budget counts.
    pub fn size(&self) -> u64 {
        (self.key.as_ref().map_or(0, Vec::len) + self.value.as_ref().map_or(0, Vec::len)) as u64
    }
}

/// A partition's offsets when the read began, and where the read started in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionSpan {
    pub partition: i32,
    /// The first offset the partition still holds.
    pub low: i64,
    /// The next offset to be written.
    pub high: i64,
    /// Where the read started (`high` when there was nothing to read).
    pub start: i64,
}

/// Why a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStop {
    /// Every partition was read to the end it had when the read began.
    End,
    /// The byte budget was spent.
    Bytes,
    /// The time budget was spent.
    Time,
    /// The caller had enough of every partition it read.
    Enough,
}

/// What a read did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReport {
    pub partitions: Vec<PartitionSpan>,
    /// Messages read.
    pub scanned: u64,
    /// Key and value bytes read.
    pub bytes: u64,
    pub stopped: ReadStop,
}

/// Why a read plan cannot be carried out on this topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanProblem {
    /// The topic is not on the cluster.
    NoTopic,
    /// A partition the topic does not have; the topic's partition count.
    NoPartition(i32, usize),
    /// An offset past the end of every chosen partition; the greatest end.
    OffsetPastEnd(i64, i64),
}

impl KafkaAdmin {
    /// Reads `plan`'s messages, handing each to `keep` (in offset order within a partition)
    /// until every partition is read to where it ended when the read began or `keep` says it
    /// has enough of it (by answering `false`), or a budget is spent. `Ok(Err(_))` when the
    /// plan does not fit the topic.
    pub async fn read(
        &self,
        plan: ReadPlan,
        mut keep: impl FnMut(RawMessage) -> bool + Send + 'static,
    ) -> KafkaResult<Result<ReadReport, PlanProblem>> {
        let mut settings = self.settings()?;
        settings
            .set(
                "group.id",
                format!("watershed-peek-{:016x}", rand::random::<u64>()),
            )
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            // Prefetch no more than the budget allows (librdkafka counts kilobytes here).
            .set(
                "queued.max.messages.kbytes",
                plan.max_bytes
                    .div_ceil(1024)
                    .clamp(1024, 65_536)
                    .to_string(),
            );
        let reader: BaseConsumer<WatchContext> = settings
            .create_with_context(WatchContext::new(&self.cluster.name))
            .map_err(|e| self.error(e))?;
        let started = Instant::now();
        let answer = tokio::task::spawn_blocking(move || {
            let answer = read_blocking(&reader, &plan, started, &mut keep);
            let why = reader.context().last_error.get();
            drop(reader);
            (answer, why)
        })
        .await
        .map_err(|e| self.error(e))?;
        match answer {
            (Ok(done), _) => Ok(done),
            (Err(e), Some(why)) => Err(self.error(format!("{e} ({why})"))),
            (Err(e), None) => Err(self.error(e)),
        }
    }
}

fn read_blocking(
    reader: &BaseConsumer<WatchContext>,
    plan: &ReadPlan,
    started: Instant,
    keep: &mut dyn FnMut(RawMessage) -> bool,
) -> Result<Result<ReadReport, PlanProblem>, RdError> {
    // Finding the topic and its offsets counts against the time budget too.
    let call = plan.max_time.min(CALL_TIMEOUT);
    let metadata = reader.fetch_metadata(Some(&plan.topic), call)?;
    let Some(topic) = metadata
        .topics()
        .iter()
        .find(|t| t.name() == plan.topic && t.error().is_none() && !t.partitions().is_empty())
    else {
        return Ok(Err(PlanProblem::NoTopic));
    };
    let all: Vec<i32> = topic.partitions().iter().map(|p| p.id()).collect();
    let chosen = match &plan.partitions {
        None => all.clone(),
        Some(wanted) => {
            if let Some(&p) = wanted.iter().find(|p| !all.contains(p)) {
                return Ok(Err(PlanProblem::NoPartition(p, all.len())));
            }
            wanted.clone()
        }
    };
    let mut spans = Vec::with_capacity(chosen.len());
    for &p in &chosen {
        let (low, high) = reader.fetch_watermarks(&plan.topic, p, call)?;
        spans.push(PartitionSpan {
            partition: p,
            low,
            high,
            start: high,
        });
    }
    match plan.from {
        ReadFrom::Last(n) => {
            for s in &mut spans {
                s.start = (s.high - n.max(0)).max(s.low);
            }
        }
        ReadFrom::Offset(o) => {
            let end = spans.iter().map(|s| s.high).max().unwrap_or(0);
            if o > end {
                return Ok(Err(PlanProblem::OffsetPastEnd(o, end)));
            }
            for s in &mut spans {
                s.start = o.max(s.low).min(s.high);
            }
        }
        ReadFrom::Time(t) => {
            let mut list = TopicPartitionList::new();
            for s in &spans {
                list.add_partition_offset(&plan.topic, s.partition, Offset::Offset(t))?;
            }
            let found = reader.offsets_for_times(list, call)?;
            let at: BTreeMap<i32, Offset> = found
                .elements()
                .iter()
                .map(|e| (e.partition(), e.offset()))
                .collect();
            for s in &mut spans {
                s.start = match at.get(&s.partition) {
                    Some(Offset::Offset(o)) => (*o).max(s.low).min(s.high),
                    _ => s.high,
                };
            }
        }
    }
    let mut report = ReadReport {
        partitions: spans.clone(),
        scanned: 0,
        bytes: 0,
        stopped: ReadStop::End,
    };
    // Partitions still to read, with the offset they end at.
    let mut open: BTreeMap<i32, i64> = spans
        .iter()
        .filter(|s| s.start < s.high)
        .map(|s| (s.partition, s.high))
        .collect();
    if open.is_empty() {
        return Ok(Ok(report));
    }
    let mut list = TopicPartitionList::new();
    for s in spans.iter().filter(|s| s.start < s.high) {
        list.add_partition_offset(&plan.topic, s.partition, Offset::Offset(s.start))?;
    }
    reader.assign(&list)?;
    let deadline = started + plan.max_time;
    let mut enough = false;
    while !open.is_empty() {
        let now = Instant::now();
        if now >= deadline {
            report.stopped = ReadStop::Time;
            break;
        }
        let wait = (deadline - now).min(Duration::from_millis(200));
        let message = match reader.poll(wait) {
            None => continue,
            Some(Err(RdError::PartitionEOF(p))) => {
                open.remove(&p);
                continue;
            }
            Some(Err(e)) => return Err(e),
            Some(Ok(m)) => m,
        };
        let (partition, offset) = (message.partition(), message.offset());
        let Some(&end) = open.get(&partition) else {
            continue;
        };
        if offset >= end {
            open.remove(&partition);
            continue;
        }
        if offset + 1 >= end {
            open.remove(&partition);
        }
        let raw = RawMessage {
            partition,
            offset,
            timestamp: message.timestamp().to_millis(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: message
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
        };
        report.scanned += 1;
        report.bytes += raw.size();
        if !keep(raw) && open.remove(&partition).is_some() {
            // Enough of this partition: stop fetching it while the others are read.
            enough = true;
            let mut done = TopicPartitionList::new();
            done.add_partition(&plan.topic, partition);
            let _ = reader.pause(&done);
        }
        if report.bytes >= plan.max_bytes && !open.is_empty() {
            report.stopped = ReadStop::Bytes;
            break;
        }
    }
    if enough && report.stopped == ReadStop::End {
        report.stopped = ReadStop::Enough;
    }
    let _ = reader.unassign();
    Ok(Ok(report))
}
