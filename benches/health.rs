//! Consumer-health benchmark: one evaluation pass over 10,000 consumer groups on 1,000 queues
//! (6 partitions each) whose end-offset tables hold a week of samples.
//!
//! A week is played into the monitor first: 336 polls half an hour apart, each partition
//! written at its own rate with quiet spells, so every table is full and thinning. Then polls
//! 30 s apart (the default interval) fill the evaluation window, and each of the last passes is
//! timed: the monitor taking the poll (lag tables, lag in seconds, status of every group) and
//! the alert judge checking every rule in force against every group and queue (defaults, plus
//! a queue rule and an application rule on a tenth of them).
//!
//! Run with `cargo bench --bench health --features ssr`. Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};
use watershed::domain::{AlertKind, RuleScope, RuleSettings};
use watershed::server::db::alerts::RuleRow;
use watershed::server::health::alerts::{Engine, Rules};
use watershed::server::health::{
    ClusterPoll, GroupPeople, HealthSettings, Monitor, PolledGroup, PolledQueue,
};

const QUEUES: usize = 1_000;
const PARTITIONS: i32 = 6;
const GROUPS_PER_QUEUE: usize = 10;
const WEEK_POLLS: i64 = 7 * 48;
const WINDOW_POLLS: i64 = 25;
const TIMED: usize = 10;
const START: i64 = 1_800_000_000_000;

struct Fleet {
    ends: Vec<i64>,
    committed: Vec<i64>,
    rng: support::Rng,
}

impl Fleet {
    /// Moves every partition on by `dt` ms: writes at the partition's own rate (with a quiet
    /// spell one time in eight), groups read most of it (a few fall behind or stop).
    fn advance(&mut self, dt: i64) {
        for (i, end) in self.ends.iter_mut().enumerate() {
            let rate = (i % 50) as i64 + 1;
            if !self.rng.next().is_multiple_of(8) {
                *end += rate * dt / 1000;
            }
        }
        // One committed offset per group and partition: group g of queue q reads q's partitions.
        for (i, c) in self.committed.iter_mut().enumerate() {
            let (group, partition) = (i / PARTITIONS as usize, i % PARTITIONS as usize);
            let queue = group / GROUPS_PER_QUEUE;
            let end = self.ends[queue * PARTITIONS as usize + partition];
            match group % 20 {
                0 => {}                                       // stopped
                1 => *c += (end - *c) / 2,                    // behind
                _ => *c = end - (self.rng.next() % 5) as i64, // keeping up
            }
            *c = (*c).clamp(0, end);
        }
    }

    fn poll(&self, at: i64) -> ClusterPoll {
        let mut ends = HashMap::new();
        let mut queues = Vec::with_capacity(QUEUES);
        let mut groups = Vec::with_capacity(QUEUES * GROUPS_PER_QUEUE);
        for q in 0..QUEUES {
            let topic = format!("p{}.q{q}", q / 100);
            for p in 0..PARTITIONS {
                ends.insert(
                    (topic.clone(), p),
                    self.ends[q * PARTITIONS as usize + p as usize],
                );
            }
            queues.push(PolledQueue {
                queue_id: q as i64,
                key: format!("p{}/q{q}", q / 100),
                topic,
                active: true,
            });
            for g in 0..GROUPS_PER_QUEUE {
                let group = q * GROUPS_PER_QUEUE + g;
                groups.push(PolledGroup {
                    queue_id: q as i64,
                    group: format!("group-{g}"),
                    committed: (0..PARTITIONS)
                        .map(|p| (p, self.committed[group * PARTITIONS as usize + p as usize]))
                        .collect(),
                });
            }
        }
        ClusterPoll {
            cluster_id: 1,
            cluster: "east".into(),
            at,
            unreachable: None,
            queues,
            ends,
            groups,
            members: HashMap::new(),
        }
    }
}

fn main() {
    let monitor = Monitor::new(HealthSettings {
        window: Duration::from_secs(600),
        client_fresh: Duration::from_secs(180),
    });
    let mut people: HashMap<(i64, String), GroupPeople> = HashMap::new();
    for q in 0..QUEUES as i64 {
        for g in 0..GROUPS_PER_QUEUE {
            people.insert(
                (q, format!("group-{g}")),
                GroupPeople {
                    applications: vec![format!("apps/app-{g}")],
                    application_ids: vec![g as i64],
                    owners: vec![format!("owner-{g}")],
                    live_clients: i64::from(g % 20 != 0),
                },
            );
        }
    }
    let mut rules = Vec::new();
    for q in (0..QUEUES as i64).step_by(10) {
        rules.push(RuleRow {
            scope: RuleScope::Queue,
            target_id: q,
            target: format!("p/q{q}"),
            kind: AlertKind::LagMessages,
            settings: RuleSettings {
                threshold: Some(10_000),
                for_seconds: 300,
                muted: false,
            },
            updated_by: "owner".into(),
            updated_at: START,
        });
    }
    rules.push(RuleRow {
        scope: RuleScope::Application,
        target_id: 3,
        target: "apps/app-3".into(),
        kind: AlertKind::LagSeconds,
        settings: RuleSettings {
            threshold: Some(120),
            for_seconds: 60,
            muted: false,
        },
        updated_by: "owner".into(),
        updated_at: START,
    });
    let rules = Rules::new(&rules);
    let mut fleet = Fleet {
        ends: vec![0; QUEUES * PARTITIONS as usize],
        committed: vec![0; QUEUES * GROUPS_PER_QUEUE * PARTITIONS as usize],
        rng: support::Rng(0x9E37_79B9_7F4A_7C15),
    };
    let (rss_before, _) = support::rss_mb();
    let started = Instant::now();
    let mut at = START;
    for _ in 0..WEEK_POLLS {
        fleet.advance(1_800_000);
        at += 1_800_000;
        monitor.observe(&fleet.poll(at), &people);
    }
    println!(
        "a week of samples played in {:.1} s; {} points in the lag tables",
        started.elapsed().as_secs_f64(),
        monitor.table_points()
    );
    let mut engine = Engine::default();
    let stale = HashMap::new();
    let (mut observe, mut judge, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut fired = 0;
    for i in 0..WINDOW_POLLS {
        fleet.advance(30_000);
        at += 30_000;
        let poll = fleet.poll(at);
        let t0 = Instant::now();
        monitor.observe(&poll, &people);
        let t1 = Instant::now();
        let groups = monitor.groups();
        let queues = monitor.queues();
        let held = engine.evaluate(at, &rules, &groups, &queues, &stale).held;
        let t2 = Instant::now();
        if i >= WINDOW_POLLS - TIMED as i64 {
            observe.push(t1 - t0);
            judge.push(t2 - t1);
            total.push(t2 - t0);
            fired = held.len();
        }
    }
    let (rss, peak) = support::rss_mb();
    let statuses = monitor.statuses();
    let groups = monitor.groups();
    let mut by_status: HashMap<String, usize> = HashMap::new();
    for g in &groups {
        *by_status.entry(g.health.status.to_string()).or_default() += 1;
    }
    let (o50, o99) = support::percentiles(observe);
    let (j50, j99) = support::percentiles(judge);
    let (t50, tmax) = support::percentiles(total);
    println!(
        "groups judged: {} on {} queues; by status: {by_status:?}",
        groups.len(),
        statuses.len()
    );
    println!("conditions holding past their rule's duration: {fired}");
    println!("monitor taking a poll: p50 {o50:.1} ms, max {o99:.1} ms");
    println!("alert judge over every rule: p50 {j50:.1} ms, max {j99:.1} ms");
    println!("one evaluation pass: p50 {t50:.1} ms, max {tmax:.1} ms (of {TIMED})");
    println!(
        "memory: {:.0} MB resident after (the state added {:.0} MB), peak {peak:.0} MB",
        rss,
        rss - rss_before
    );
}
