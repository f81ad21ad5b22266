//! Data map benchmarks at scale: seeding, index build time and size, resident memory, query
//! latency in the engine and over HTTP, and how soon an edit becomes searchable.
//!
//! `cargo bench --bench datamap --features ssr -- 100000` (the argument is the queue count).
#![recursion_limit = "512"]

mod support;

use std::time::{Duration, Instant};
use support::percentiles;
use watershed::domain::SearchRequest;
use watershed::server::db::now_millis;
use watershed::server::services::accounts;
use watershed::server::state::AppState;

/// A fixed mix: whole words, prefixes, typos, filters, and browsing with no words.
const MIX: [&str; 12] = [
    "orders",
    "refu",
    "payemnts",
    "tag:pii",
    "project:shop events",
    "fraud signals",
    "ship",
    "cdc changes",
    "",
    "owner:alice inventory",
    "analytics dlq",
    "invetory snapshots",
];

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(n));
}

async fn run(n: usize) {
    println!("== data map, {n} queues ==");
    let support::Fixture {
        dir,
        store,
        admin: actor,
        secrets,
    } = support::fixture().await;
    let t = Instant::now();
    watershed::server::demo::seed(&support::offline(&store, &secrets, &actor), n, false)
        .await
        .unwrap();
    println!(
        "seed (watershed demo --queues {n}, SQLite): {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let index_dir = dir.path().join("index");
    let t = Instant::now();
    let (index, follower) = watershed::server::search::start(Some(&index_dir), store.clone())
        .await
        .unwrap();
    let build = t.elapsed();
    let (docs, segments) = index.stats();
    assert_eq!(docs as usize, n);
    let (rss, peak) = support::rss_mb();
    println!(
        "index build: {:.1} s, {:.0} MB on disk, {segments} segments; process RSS {rss:.0} MB (peak {peak:.0} MB)",
        build.as_secs_f64(),
        index.size_on_disk() as f64 / 1e6
    );
    tokio::spawn(follower.run());

    // Engine: every query of the mix, many times, one at a time.
    let mut engine = Vec::new();
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); MIX.len()];
    for round in 0..40 {
        for (k, q) in MIX.iter().enumerate() {
            let req = SearchRequest {
                q: Some(q.to_string()),
                limit: Some(20),
                offset: Some((round % 3) * 20),
                ..Default::default()
            };
            let t = Instant::now();
            let r = index.search(&req).unwrap();
            engine.push(t.elapsed());
            per_query[k].push(t.elapsed());
            assert!(q.is_empty() || r.total > 0, "{q:?} found nothing");
        }
    }
    for (q, times) in MIX.iter().zip(per_query) {
        let total = index
            .search(&SearchRequest {
                q: Some(q.to_string()),
                ..Default::default()
            })
            .unwrap()
            .total;
        let (p50, p99) = percentiles(times);
        println!("  {q:>24?}: {total:>8} matches, p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    let (p50, p99) = percentiles(engine);
    println!(
        "engine, {} queries of a {}-query mix: p50 {p50:.2} ms, p99 {p99:.2} ms",
        40 * MIX.len(),
        MIX.len()
    );

    // HTTP: the REST search endpoint, one client at a time (as the engine figures), then 8.
    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("watershed")
        .build();
    let state = AppState::new(store.clone(), secrets, options, false, index.clone());
    watershed::server::background::start(&state, Default::default());
    let cx = state.ctx(actor.clone());
    let base = support::serve(watershed::server::web::router(state)).await;
    let token = accounts::create_api_token(store.as_ref(), &actor, "bench")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    for clients in [1usize, 8] {
        let (p50, p99) = http_round(&client, &base, &token, clients, 480 / clients).await;
        println!("HTTP GET /api/v1/search, {clients} concurrent client(s), 480 requests: p50 {p50:.2} ms, p99 {p99:.2} ms");
    }

    // Write → searchable: edit a queue's description to a fresh word, wait until it is found.
    let mut visible = Vec::new();
    let page = store
        .list_queues(&watershed::domain::QueueFilter {
            limit: Some(50),
            ..Default::default()
        })
        .await
        .unwrap();
    for (i, q) in page.items.iter().enumerate() {
        let word = format!("zzmarker{i}x{}", now_millis());
        let mut input = q.to_input();
        input.description = format!("{} {word}", q.description);
        let t = Instant::now();
        watershed::server::services::queues::update(&cx, &q.project, &q.name, &input)
            .await
            .unwrap();
        let req = SearchRequest {
            q: Some(word),
            ..Default::default()
        };
        while index.search(&req).unwrap().total == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert!(t.elapsed() < Duration::from_secs(30));
        }
        visible.push(t.elapsed());
    }
    visible.sort();
    let p95 = visible[(visible.len() * 95 / 100).min(visible.len() - 1)].as_secs_f64() * 1e3;
    let (_, segments) = index.stats();
    println!("write → searchable over 50 edits: p50 {:.0} ms, p95 {p95:.0} ms; {segments} segments after", visible[visible.len() / 2].as_secs_f64() * 1e3);
    let (rss, peak) = support::rss_mb();
    println!("process RSS at the end {rss:.0} MB (peak {peak:.0} MB)");
}

/// `clients` concurrent clients each sending `each` searches from the mix.
async fn http_round(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    clients: usize,
    each: usize,
) -> (f64, f64) {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, token, base) = (client.clone(), token.to_string(), base.to_string());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for i in 0..each {
                let q = MIX[(c + i) % MIX.len()];
                let url = format!(
                    "{base}/api/v1/search?limit=20&q={}",
                    q.replace(' ', "+").replace(':', "%3A")
                );
                let t = Instant::now();
                let r = client.get(url).bearer_auth(&token).send().await.unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await.unwrap();
                times.push(t.elapsed());
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    percentiles(all)
}
