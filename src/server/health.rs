//! Consumer health: what the cluster agent's polls say about every consumer group, kept in
//! memory and judged after each poll.
//!
//! - [`lag_table`] dates offsets (lag in time) from each partition's end offsets over time;
//! - [`status`] judges a group OK, WARNING, STALLED or STOPPED over the evaluation window;
//! - [`Monitor`] holds both for every group on every queue's active cluster, and the facts the
//!   alert rules read (a queue's last write, a cluster's reachability);
//! - [`alerts`] turns the rules into alerts, firing → resolved, and delivers them;
//! - [`mail`] sends alert e-mails through an SMTP relay.
//!
//! Everything here is a cache of what the brokers say: a restart starts it afresh, and a
//! group's lag in time reads as a lower bound until the tables reach back far enough.

pub mod alerts;
pub mod lag_table;
pub mod mail;
pub mod status;

use crate::domain::{GroupHealth, GroupStatus};
use lag_table::{EndOffsetTable, WrittenAt};
use status::Sample;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the monitor judges.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    /// The evaluation window (Burrow's): a group is STALLED only after a whole window without
    /// a commit.
    pub window: Duration,
    /// An SDK client heard from within this long counts as connected.
    pub client_fresh: Duration,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(600),
            client_fresh: Duration::from_secs(180),
        }
    }
}

/// One consumer group's commits on one queue's topic, from one poll.
#[derive(Debug, Clone)]
pub struct PolledGroup {
    pub queue_id: i64,
    pub group: String,
    /// (partition, committed offset).
    pub committed: Vec<(i32, i64)>,
}

/// A queue bound to the polled cluster.
#[derive(Debug, Clone)]
pub struct PolledQueue {
    pub queue_id: i64,
    /// `project/queue`.
    pub key: String,
    pub topic: String,
    /// Whether the cluster is the queue's active side (only that side is judged).
    pub active: bool,
}

/// What one poll of one cluster read.
#[derive(Debug, Clone, Default)]
pub struct ClusterPoll {
    pub cluster_id: i64,
    pub cluster: String,
    pub at: i64,
    /// Why the cluster could not be reached, when it could not.
    pub unreachable: Option<String>,
    pub queues: Vec<PolledQueue>,
    /// (topic, partition) → end offset.
    pub ends: HashMap<(String, i32), i64>,
    pub groups: Vec<PolledGroup>,
    /// Members per group where the broker lists them.
    pub members: HashMap<String, i64>,
}

/// Who runs a group on a queue, from SDK reports: applications and live clients.
#[derive(Debug, Clone, Default)]
pub struct GroupPeople {
    /// `project/application` of each application using the group.
    pub applications: Vec<String>,
    pub application_ids: Vec<i64>,
    /// Their owners (usernames).
    pub owners: Vec<String>,
    pub live_clients: i64,
}

/// A group on a queue: its health and the applications behind it.
#[derive(Debug, Clone)]
pub struct TrackedGroup {
    pub queue_id: i64,
    /// Whether its status rests on enough polls (a whole window, or a moment caught up); not
    /// right after a start.
    pub settled: bool,
    pub health: GroupHealth,
    pub application_ids: Vec<i64>,
    pub owners: Vec<String>,
}

impl TrackedGroup {
    /// The projects of the applications behind the group (their webhooks hear its alerts).
    pub fn application_projects(&self) -> Vec<String> {
        self.health
            .applications
            .iter()
            .filter_map(|a| a.split_once('/').map(|(p, _)| p.to_string()))
            .collect()
    }
}

/// What the queue-level alert rules read about one queue.
#[derive(Debug, Clone)]
pub struct QueueFacts {
    pub queue_id: i64,
    pub key: String,
    pub cluster: String,
    /// The last poll at which its end offsets moved; `None` when never seen moving.
    pub last_write: Option<i64>,
    /// Since when its active cluster cannot be reached, and why.
    pub unreachable: Option<(i64, String)>,
}

#[derive(Debug, Default)]
struct GroupTrack {
    samples: VecDeque<Sample>,
    tracked: Option<TrackedGroup>,
    seen_at: i64,
}

#[derive(Debug)]
struct QueueTrack {
    key: String,
    cluster_id: i64,
    cluster: String,
    end: i64,
    last_write: Option<i64>,
    seen_at: i64,
}

#[derive(Debug, Default)]
struct State {
    tables: HashMap<(i64, Arc<str>, i32), EndOffsetTable>,
    groups: HashMap<(i64, String), GroupTrack>,
    queues: HashMap<i64, QueueTrack>,
    /// Cluster id → since when unreachable, and why.
    unreachable: HashMap<i64, (i64, String)>,
    /// Cluster names by id.
    names: HashMap<i64, String>,
}

/// Every consumer group's health, fed by the cluster agent's polls.
#[derive(Debug, Default)]
pub struct Monitor {
    settings: HealthSettings,
    state: Mutex<State>,
    /// Woken after each cluster pass, so alerts are judged right after fresh figures.
    polled: tokio::sync::Notify,
}

impl Monitor {
    pub fn new(settings: HealthSettings) -> Self {
        Self {
            settings,
            ..Default::default()
        }
    }

    /// The settings it judges by.
    pub fn settings(&self) -> &HealthSettings {
        &self.settings
    }

    /// Takes one cluster's poll; returns each judged group's lag in seconds (queue id, group)
    /// for the per-minute series.
    pub fn observe(
        &self,
        poll: &ClusterPoll,
        people: &HashMap<(i64, String), GroupPeople>,
    ) -> HashMap<(i64, String), i64> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.names.insert(poll.cluster_id, poll.cluster.clone());
        if let Some(why) = &poll.unreachable {
            let since = st
                .unreachable
                .get(&poll.cluster_id)
                .map_or(poll.at, |u| u.0);
            st.unreachable.insert(poll.cluster_id, (since, why.clone()));
            // Its queues are known all the same, so "cluster unreachable" can fire for them.
            for q in poll.queues.iter().filter(|q| q.active) {
                let track = st.queues.entry(q.queue_id).or_insert_with(|| QueueTrack {
                    key: q.key.clone(),
                    cluster_id: poll.cluster_id,
                    cluster: poll.cluster.clone(),
                    end: 0,
                    last_write: None,
                    seen_at: poll.at,
                });
                track.cluster_id = poll.cluster_id;
                track.cluster = poll.cluster.clone();
                track.seen_at = poll.at;
            }
            // Its groups are not gone, only unheard: kept as last judged until it answers.
            for g in st.groups.values_mut() {
                if g.tracked
                    .as_ref()
                    .is_some_and(|t| t.health.cluster == poll.cluster)
                {
                    g.seen_at = poll.at;
                }
            }
            return HashMap::new();
        }
        st.unreachable.remove(&poll.cluster_id);
        let window_ms = self.settings.window.as_millis() as i64;
        let mut topics: HashMap<&str, Arc<str>> = HashMap::new();
        for ((topic, partition), end) in &poll.ends {
            let name = topics
                .entry(topic.as_str())
                .or_insert_with(|| Arc::from(topic.as_str()))
                .clone();
            st.tables
                .entry((poll.cluster_id, name, *partition))
                .or_default()
                .record(poll.at, *end);
        }
        let by_id: HashMap<i64, &PolledQueue> =
            poll.queues.iter().map(|q| (q.queue_id, q)).collect();
        let mut sums: HashMap<&str, i64> = HashMap::new();
        for ((topic, _), end) in &poll.ends {
            *sums.entry(topic.as_str()).or_default() += end;
        }
        for q in poll.queues.iter().filter(|q| q.active) {
            let end = sums.get(q.topic.as_str()).copied().unwrap_or(0);
            let track = st.queues.entry(q.queue_id).or_insert_with(|| QueueTrack {
                key: q.key.clone(),
                cluster_id: poll.cluster_id,
                cluster: poll.cluster.clone(),
                end,
                last_write: None,
                seen_at: poll.at,
            });
            if track.cluster_id != poll.cluster_id {
                // Switched: the new side's offsets are not comparable with the old side's.
                track.cluster_id = poll.cluster_id;
                track.cluster = poll.cluster.clone();
                track.end = end;
            } else if end > track.end {
                track.end = end;
                track.last_write = Some(poll.at);
            }
            track.key = q.key.clone();
            track.seen_at = poll.at;
        }
        let mut lag_seconds = HashMap::new();
        for g in &poll.groups {
            let Some(q) = by_id.get(&g.queue_id).filter(|q| q.active) else {
                continue;
            };
            let topic = topics.get(q.topic.as_str()).cloned();
            let mut lag = 0i64;
            let mut oldest: Option<i64> = None;
            let mut at_least = false;
            let mut committed_sum = 0i64;
            for &(partition, committed) in &g.committed {
                committed_sum += committed;
                let Some(table) = topic
                    .as_ref()
                    .and_then(|t| st.tables.get(&(poll.cluster_id, t.clone(), partition)))
                else {
                    continue;
                };
                // The table's last point is this poll's end offset.
                let Some(end) = table.end() else {
                    continue;
                };
                lag += (end - committed).max(0);
                let written = match table.written_at(committed) {
                    WrittenAt::At(t) => t,
                    WrittenAt::Before(t) => {
                        at_least = true;
                        t
                    }
                    WrittenAt::NotYet => continue,
                };
                oldest = Some(oldest.map_or(written, |o: i64| o.min(written)));
            }
            let seconds = oldest.map_or(0, |o| ((poll.at - o) / 1000).max(0));
            lag_seconds.insert((g.queue_id, g.group.clone()), seconds);
            let key = (g.queue_id, g.group.clone());
            let who = people.get(&key).cloned().unwrap_or_default();
            // An SDK consumer is also a member on the broker: the larger count, not the sum.
            let clients = who
                .live_clients
                .max(poll.members.get(&g.group).copied().unwrap_or(0));
            let track = st.groups.entry(key).or_default();
            track.samples.push_back(Sample {
                at: poll.at,
                committed: committed_sum,
                lag,
            });
            // The window keeps one poll at or before its start, so a whole window is covered
            // whatever the polls' jitter.
            while track
                .samples
                .get(1)
                .is_some_and(|s| poll.at - s.at >= window_ms)
            {
                track.samples.pop_front();
            }
            let samples = track.samples.make_contiguous();
            let settled = samples.iter().any(|s| s.lag == 0)
                || samples.last().map_or(0, |l| l.at) - samples[0].at >= window_ms;
            let (status, reason) = status::judge(samples, window_ms, clients);
            let (project, queue) = q.key.split_once('/').unwrap_or(("", q.key.as_str()));
            track.seen_at = poll.at;
            track.tracked = Some(TrackedGroup {
                queue_id: g.queue_id,
                settled,
                health: GroupHealth {
                    project: project.to_string(),
                    queue: queue.to_string(),
                    consumer_group: g.group.clone(),
                    cluster: poll.cluster.clone(),
                    status,
                    reason,
                    lag_messages: lag,
                    lag_seconds: seconds,
                    lag_seconds_at_least: at_least && lag > 0,
                    clients,
                    applications: who.applications.clone(),
                    at: poll.at,
                },
                application_ids: who.application_ids.clone(),
                owners: who.owners.clone(),
            });
        }
        lag_seconds
    }

    /// Forgets groups and queues not polled for `stale` (removed, or moved off), and tables of
    /// partitions no longer polled.
    pub fn forget_older_than(&self, before: i64) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.groups.retain(|_, g| g.seen_at >= before);
        st.queues.retain(|_, q| q.seen_at >= before);
        // A table's last point is its last poll.
        st.tables
            .retain(|_, t| t.last_at().is_some_and(|at| at >= before));
    }

    /// Says a pass over every cluster is done.
    pub fn polled(&self) {
        self.polled.notify_waiters();
    }

    /// Waits for the next pass.
    pub async fn next_poll(&self) {
        self.polled.notified().await;
    }

    /// Every tracked group, by queue then group.
    pub fn groups(&self) -> Vec<TrackedGroup> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<TrackedGroup> = st
            .groups
            .values()
            .filter_map(|g| g.tracked.clone())
            .collect();
        out.sort_by(|a, b| {
            (a.queue_id, &a.health.consumer_group).cmp(&(b.queue_id, &b.health.consumer_group))
        });
        out
    }

    /// The groups of one queue.
    pub fn queue_groups(&self, queue_id: i64) -> Vec<GroupHealth> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<GroupHealth> = st
            .groups
            .iter()
            .filter(|((q, _), _)| *q == queue_id)
            .filter_map(|(_, g)| g.tracked.as_ref().map(|t| t.health.clone()))
            .collect();
        out.sort_by(|a, b| a.consumer_group.cmp(&b.consumer_group));
        out
    }

    /// The worst status per queue, for every tracked queue (for badges on many hits at once).
    pub fn statuses(&self) -> HashMap<i64, GroupStatus> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: HashMap<i64, GroupStatus> = HashMap::new();
        for ((q, _), g) in &st.groups {
            if let Some(t) = &g.tracked {
                let e = out.entry(*q).or_insert(t.health.status);
                *e = (*e).max(t.health.status);
            }
        }
        out
    }

    /// The worst status per queue, by `project/queue` (for lineage nodes).
    pub fn statuses_by_key(&self) -> HashMap<String, GroupStatus> {
        let mut out: HashMap<String, GroupStatus> = HashMap::new();
        for g in self.groups() {
            let key = format!("{}/{}", g.health.project, g.health.queue);
            let e = out.entry(key).or_insert(g.health.status);
            *e = (*e).max(g.health.status);
        }
        out
    }

    /// What the queue-level rules read, for every queue on a polled active cluster.
    pub fn queues(&self) -> Vec<QueueFacts> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<QueueFacts> = st
            .queues
            .iter()
            .map(|(id, q)| QueueFacts {
                queue_id: *id,
                key: q.key.clone(),
                cluster: q.cluster.clone(),
                last_write: q.last_write,
                unreachable: st.unreachable.get(&q.cluster_id).cloned(),
            })
            .collect();
        out.sort_by_key(|q| q.queue_id);
        out
    }

    /// The groups' gauges in Prometheus' text format: lag in seconds and messages, and status
    /// (0 OK, 1 WARNING, 2 STALLED, 3 STOPPED). Written out on each scrape, so a group that is
    /// gone leaves no stale series behind.
    pub fn prometheus(&self) -> String {
        use std::fmt::Write;
        let groups = self.groups();
        let mut out = String::new();
        let families = [
            (
                "watershed_consumer_lag_seconds",
                "How old the oldest message a consumer group has not read is.",
            ),
            (
                "watershed_consumer_lag_messages",
                "Messages a consumer group has not read.",
            ),
            (
                "watershed_consumer_group_status",
                "0 OK, 1 WARNING, 2 STALLED, 3 STOPPED (Burrow's evaluation).",
            ),
        ];
        for (i, (name, help)) in families.iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for g in &groups {
                let h = &g.health;
                let value = match i {
                    0 => h.lag_seconds,
                    1 => h.lag_messages,
                    _ => h.status.gauge(),
                };
                let _ = writeln!(
                    out,
                    "{name}{{project=\"{}\",queue=\"{}\",group=\"{}\",cluster=\"{}\"}} {value}",
                    label(&h.project),
                    label(&h.queue),
                    label(&h.consumer_group),
                    label(&h.cluster),
                );
            }
        }
        out
    }

    /// Points held in the lag tables (for the benchmark's memory account).
    pub fn table_points(&self) -> usize {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.tables.values().map(EndOffsetTable::len).sum()
    }
}

/// A Prometheus label value, escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
