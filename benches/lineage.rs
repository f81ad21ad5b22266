//! Lineage benchmarks: building the graph from 1M stored edge rows (100k nodes), downstream
//! closure latency at that size, and the layered layout of a 300-node view.
//!
//! The generated graph is layered like real pipelines: 10 layers of 5,000 queues and 5,000
//! applications; each application reads 16 queues of its own layer near its position and
//! writes 4 queues of the next layer near its position (the last layer reads 20), so closures
//! reach thousands of nodes, not the whole graph. Closure sizes are printed with the latencies.
//!
//! Run with `cargo bench --bench lineage --features ssr`. Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

mod support;

use std::time::Instant;
use watershed::domain::{LineageQueryInput, LineageView};
use watershed::server::db::lineage::AppEdgeRecord;
use watershed::server::lineage::layout::layout;
use watershed::server::lineage::LineageGraph;

const LAYERS: usize = 10;
const PER_LAYER: usize = 5_000;
const READS: usize = 16;
const WRITES: usize = 4;
const NOW: i64 = 1_800_000_000_000;

/// Hands every generated row to `apply`, one application's rows at a time, as the server
/// streams them from the database: no copy of all rows is held. Returns how many.
fn rows(mut apply: impl FnMut(&AppEdgeRecord)) -> usize {
    let mut rng = support::Rng(0x9E37_79B9_7F4A_7C15);
    let mut count = 0;
    for layer in 0..LAYERS {
        for a in 0..PER_LAYER {
            let mut rows = Vec::with_capacity(READS + WRITES);
            let app = format!("app-{layer}-{a}");
            let project = format!("p{}", a / 100);
            let mut edge =
                |queue_layer: usize, q: usize, producer: bool, rng: &mut support::Rng| {
                    rows.push(AppEdgeRecord {
                        app_project: project.clone(),
                        app_name: app.clone(),
                        app_owner: "owner".into(),
                        queue_project: format!("p{}", q / 100),
                        queue_name: format!("q-{queue_layer}-{q}"),
                        queue_owner: "owner".into(),
                        role: if producer { "producer" } else { "consumer" }.into(),
                        consumer_group: if producer { String::new() } else { app.clone() },
                        first_seen: NOW - 30 * 86_400_000,
                        // Most edges are live; one in twenty went quiet a month ago.
                        last_seen: if rng.next().is_multiple_of(20) {
                            NOW - 30 * 86_400_000
                        } else {
                            NOW - 60_000
                        },
                        messages: 1_000,
                        bytes: 100_000,
                    });
                };
            // Distinct neighbours: each read or write picks one slot of its own window.
            let last = layer + 1 == LAYERS;
            let reads = if last { READS + WRITES } else { READS };
            let slot = 80 / reads;
            for k in 0..reads {
                let q = (a + PER_LAYER - 40 + k * slot + rng.next() as usize % slot) % PER_LAYER;
                edge(layer, q, false, &mut rng);
            }
            if !last {
                for k in 0..WRITES {
                    let q = (a + PER_LAYER - 40 + k * 20 + rng.next() as usize % 20) % PER_LAYER;
                    edge(layer + 1, q, true, &mut rng);
                }
            }
            count += rows.len();
            rows.iter().for_each(&mut apply);
        }
    }
    count
}

fn main() {
    let started = Instant::now();
    let mut graph = LineageGraph::default();
    let n = rows(|r| graph.apply_app_edge(r));
    let build = started.elapsed();
    let (rss, peak) = support::rss_mb();
    println!(
        "build: {} nodes, {} edges from {n} rows streamed in {:.2} s; process RSS {rss:.0} MB (peak {peak:.0} MB)",
        graph.node_count(),
        graph.edge_count(),
        build.as_secs_f64()
    );

    // Downstream closure from 1,000 queues spread over the layers, 7-day window.
    let since = NOW - 7 * 86_400_000;
    let mut rng = support::Rng(42);
    let mut times = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..1_000 {
        let layer = rng.next() as usize % LAYERS;
        let q = rng.next() as usize % PER_LAYER;
        let key = format!("queue:p{}/q-{layer}-{q}", q / 100);
        let t = Instant::now();
        let found = graph.downstream(&key, since).expect("generated node");
        times.push(t.elapsed());
        sizes.push(found.len());
    }
    let (p50, p99) = support::percentiles(times);
    sizes.sort_unstable();
    println!(
        "downstream closure (7-day window), 1,000 start queues: p50 {p50:.2} ms, p99 {p99:.2} ms; closure size p50 {} nodes, max {}",
        sizes[sizes.len() / 2],
        sizes[sizes.len() - 1]
    );

    // Layout of a 300-node view: the first 300 nodes around a first-layer queue.
    let q = LineageQueryInput {
        node: "queue:p25/q-0-2500".into(),
        direction: Some("downstream".into()),
        depth: Some("20".into()),
        days: Some("7".into()),
        stale: None,
    }
    .parse()
    .unwrap();
    let full = graph.view(&q, &[], NOW).unwrap();
    let keep: std::collections::HashSet<&str> = full
        .nodes
        .iter()
        .take(300)
        .map(|n| n.key.as_str())
        .collect();
    let view = LineageView {
        focus: full.focus.clone(),
        nodes: full.nodes.iter().take(300).cloned().collect(),
        edges: full
            .edges
            .iter()
            .filter(|e| keep.contains(e.from.as_str()) && keep.contains(e.to.as_str()))
            .cloned()
            .collect(),
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let d = layout(&view, Some("queue:p25/q-0-2500"));
        times.push(t.elapsed());
        assert_eq!(d.nodes.len(), view.nodes.len());
    }
    let (p50, _) = support::percentiles(times.clone());
    let max = times.iter().max().unwrap().as_secs_f64() * 1e3;
    println!(
        "layout: {} nodes, {} edges: p50 {p50:.1} ms, max {max:.1} ms over 5 runs",
        view.nodes.len(),
        view.edges.len()
    );
}
