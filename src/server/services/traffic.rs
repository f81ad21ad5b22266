//! What the collector gathered, shaped for the console: a queue's throughput and lag over a
//! range, its clients, and a cluster's totals.

use super::{clusters, queues, ServiceResult};
use crate::domain::{ClientView, QueueTraffic, Series, TrafficRange, TrafficTotals};
use crate::server::db::{now_millis, Store};
use std::collections::BTreeMap;

/// Turns (bucket, value) sums into a per-second series with every bucket present.
fn series(name: &str, from: i64, to: i64, bucket: i64, sums: &BTreeMap<i64, i64>) -> Series {
    let secs = bucket as f64 / 1000.0;
    Series {
        name: name.into(),
        points: (0..)
            .map(|i| from + i * bucket)
            .take_while(|b| *b < to)
            .map(|b| (b, sums.get(&b).copied().unwrap_or(0) as f64 / secs))
            .collect(),
    }
}

/// Which counter a broker sample belongs to: (cluster id, consumer group or empty).
type CounterKey = (i64, String);
/// One minute of a counter: (minute, first poll, last poll).
type CounterMinute = (i64, i64, i64);

/// Messages added to a growing counter (an end offset, or a group's committed offsets) per
/// series key, summed into chart buckets: within each minute (its last poll less its first)
/// and between minutes (a minute's first poll less the one before's last). A counter that
/// went backwards (a recreated topic) counts from zero.
fn growth(
    samples: impl Iterator<Item = (CounterKey, i64, i64, i64)>,
    bucket: i64,
) -> BTreeMap<i64, i64> {
    let mut by_key: BTreeMap<CounterKey, Vec<CounterMinute>> = BTreeMap::new();
    for (key, at, first, last) in samples {
        by_key.entry(key).or_default().push((at, first, last));
    }
    let mut sums = BTreeMap::new();
    for mut minutes in by_key.into_values() {
        minutes.sort();
        let mut before: Option<i64> = None;
        for (at, first, last) in minutes {
            let between = match before {
                Some(b) if first >= b => first - b,
                Some(_) => first,
                None => 0,
            };
            let within = (last - first).max(0);
            *sums.entry(at - at.rem_euclid(bucket)).or_default() += between + within;
            before = Some(last);
        }
    }
    sums
}

/// A queue's messages/s and bytes/s in (producers) and out (consumers), and lag per
/// consumer group, over `range` ending now.
pub async fn queue_traffic(
    store: &dyn Store,
    project: &str,
    queue: &str,
    range: TrafficRange,
) -> ServiceResult<QueueTraffic> {
    let q = queues::get(store, project, queue).await?;
    let (span, bucket) = range.span_and_bucket();
    let now = now_millis();
    let to = now - now.rem_euclid(bucket) + bucket;
    let from = to - span;
    let rows = store
        .queue_traffic(q.id, from, to, bucket, range == TrafficRange::Week)
        .await?;
    let mut sums: BTreeMap<(&'static str, bool), BTreeMap<i64, i64>> = BTreeMap::new();
    for (b, role, messages, bytes) in &rows {
        let dir = if role == "producer" { "in" } else { "out" };
        *sums.entry((dir, false)).or_default().entry(*b).or_default() += messages;
        *sums.entry((dir, true)).or_default().entry(*b).or_default() += bytes;
    }
    let empty = BTreeMap::new();
    let pick = |dir: &'static str, bytes: bool| sums.get(&(dir, bytes)).unwrap_or(&empty);
    let mut lag_sums: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    // Lag is kept per minute for 30 days; the week view reads it per hour.
    for (b, group, lag) in store.queue_lag(q.id, from, to, bucket).await? {
        lag_sums.entry(group).or_default().insert(b, lag);
    }
    let mut messages = vec![
        series("in", from, to, bucket, pick("in", false)),
        series("out", from, to, bucket, pick("out", false)),
    ];
    let mut lag: Vec<Series> = lag_sums
        .iter()
        .map(|(group, sums)| Series {
            name: group.clone(),
            points: (0..)
                .map(|i| from + i * bucket)
                .take_while(|b| *b < to)
                .map(|b| (b, sums.get(&b).copied().unwrap_or(0) as f64))
                .collect(),
        })
        .collect();
    // What the brokers say, for clients with or without the SDK: messages written from the
    // growth of end offsets, messages read from the growth of committed offsets, lag per group.
    let ends = store.broker_offsets(q.id, from - 60_000, to).await?;
    let mut lag_seconds = Vec::new();
    if !ends.is_empty() {
        let written = growth(
            ends.iter().map(|e| {
                (
                    (e.cluster_id, String::new()),
                    e.bucket,
                    e.first_offset,
                    e.end_offset,
                )
            }),
            bucket,
        );
        messages.push(series("in (brokers)", from, to, bucket, &written));
        let groups = store.broker_group_offsets(q.id, from - 60_000, to).await?;
        let read = growth(
            groups.iter().map(|g| {
                let key = (g.cluster_id, g.consumer_group.clone());
                (key, g.bucket, g.first_committed, g.committed)
            }),
            bucket,
        );
        messages.push(series("out (brokers)", from, to, bucket, &read));
        lag.extend(worst_per_bucket(
            groups
                .iter()
                .map(|g| (format!("{} (brokers)", g.consumer_group), g.bucket, g.lag)),
            (from, to, bucket),
        ));
        lag_seconds = worst_per_bucket(
            groups.iter().filter_map(|g| {
                g.lag_seconds
                    .map(|s| (g.consumer_group.clone(), g.bucket, s))
            }),
            (from, to, bucket),
        );
    }
    Ok(QueueTraffic {
        from,
        to,
        bucket_ms: bucket,
        messages,
        bytes: vec![
            series("in", from, to, bucket, pick("in", true)),
            series("out", from, to, bucket, pick("out", true)),
        ],
        lag,
        lag_seconds,
    })
}

/// One series per name of the largest value in each bucket of `[from, to)` (0 where none).
fn worst_per_bucket(
    rows: impl Iterator<Item = (String, i64, i64)>,
    (from, to, bucket): (i64, i64, i64),
) -> Vec<Series> {
    let mut by_name: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for (name, at, value) in rows {
        let v = by_name
            .entry(name)
            .or_default()
            .entry(at - at.rem_euclid(bucket))
            .or_default();
        *v = (*v).max(value);
    }
    by_name
        .into_iter()
        .map(|(name, worst)| Series {
            name,
            points: (0..)
                .map(|i| from + i * bucket)
                .take_while(|b| *b < to)
                .map(|b| (b, worst.get(&b).copied().unwrap_or(0) as f64))
                .collect(),
        })
        .collect()
}

/// A queue's client instances, most recently seen first.
pub async fn queue_clients(
    store: &dyn Store,
    project: &str,
    queue: &str,
) -> ServiceResult<Vec<ClientView>> {
    let q = queues::get(store, project, queue).await?;
    Ok(store.queue_clients(q.id, 200).await?)
}

/// Messages and bytes in and out over the last hour on the queues active on a cluster.
pub async fn cluster_totals(store: &dyn Store, cluster: &str) -> ServiceResult<TrafficTotals> {
    let c = clusters::get(store, cluster).await?;
    let mut t = TrafficTotals::default();
    for (role, messages, bytes) in store
        .cluster_traffic(c.id, now_millis() - 3_600_000)
        .await?
    {
        if role == "producer" {
            t.messages_in += messages;
            t.bytes_in += bytes;
        } else {
            t.messages_out += messages;
            t.bytes_out += bytes;
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_counters_turn_into_messages_per_bucket() {
        let samples = vec![
            // 100 → 120 within the first minute, then 120 → 150 → 160.
            ((1, String::new()), 60_000, 100, 120),
            ((1, String::new()), 120_000, 150, 160),
            // A recreated topic starts again from zero.
            ((1, String::new()), 180_000, 30, 30),
            // Another cluster's counter is its own.
            ((2, String::new()), 120_000, 5_000, 5_000),
            ((2, String::new()), 180_000, 5_010, 5_012),
        ];
        let sums = growth(samples.into_iter(), 60_000);
        assert_eq!(
            sums,
            BTreeMap::from([(60_000, 20), (120_000, 40), (180_000, 42)])
        );
    }

    #[test]
    fn series_have_every_bucket_as_a_rate() {
        let sums = BTreeMap::from([(120_000, 600), (240_000, 60)]);
        let s = series("in", 60_000, 300_000, 60_000, &sums);
        let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
        assert_eq!(values, vec![0.0, 10.0, 0.0, 1.0]);
    }
}
