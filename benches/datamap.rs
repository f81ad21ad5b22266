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

/// The query classes people type, each with several queries. Filters with words (taken from
/// a hit, so they match) and the corpus's most common words are added at run time.
const CLASSES: [(&str, &[&str]); 5] = [
    ("short prefix", &["sh", "re", "ord", "pay", "inv", "cl"]),
    (
        "typo, common word",
        &["evnets", "chnages", "snapshtos", "metircs", "paymnets"],
    ),
    ("browse, no words", &[""]),
    (
        "one filter",
        &[
            "tag:pii",
            "project:shop",
            "format:avro",
            "owner:alice",
            "cluster:kafka-bj-1",
        ],
    ),
    (
        "whole words",
        &[
            "orders",
            "fraud signals",
            "cdc changes",
            "analytics dlq",
            "invetory snapshots",
        ],
    ),
];
const ROUNDS: usize = 40;

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
        dir: _dir,
        data,
        store,
        admin: actor,
        secrets,
    } = support::fixture().await;
    let t = Instant::now();
    let have = store.list_queues(&Default::default()).await.unwrap().total as usize;
    if have == 0 {
        watershed::server::demo::seed(&support::offline(&store, &secrets, &actor), n, false)
            .await
            .unwrap();
        println!(
            "seed (watershed demo --queues {n}, SQLite): {:.1} s",
            t.elapsed().as_secs_f64()
        );
    } else {
        assert_eq!(have, n, "WATERSHED_BENCH_DIR holds another size");
        println!("seed: kept from an earlier run (WATERSHED_BENCH_DIR)");
    }

    let index_dir = data.join("index");
    let present = index_dir.join("meta.json").exists();
    let t = Instant::now();
    let (index, follower) = watershed::server::search::start(Some(&index_dir), store.clone())
        .await
        .unwrap();
    let build = t.elapsed();
    let (docs, segments) = index.stats();
    assert!(docs as usize >= n, "{docs} indexed of {n}");
    let (rss, peak) = support::rss_mb();
    println!(
        "index {}: {:.2} s, {:.0} MB on disk, {segments} segments; process RSS {rss:.0} MB (peak {peak:.0} MB)",
        if present { "opened (present)" } else { "built from the database" },
        build.as_secs_f64(),
        index.size_on_disk() as f64 / 1e6
    );
    tokio::spawn(follower.run());
    if let Some(n) = std::env::var("WATERSHED_BENCH_EXACT_FACETS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        index.set_exact_facets_up_to(n);
        println!("facets exact up to {n} matches");
    }

    // Engine: every query of every class, many times, one at a time, pages 1 to 3.
    let mut classes: Vec<(String, Vec<String>)> = CLASSES
        .iter()
        .map(|(class, qs)| {
            (
                class.to_string(),
                qs.iter().map(|q| q.to_string()).collect(),
            )
        })
        .collect();
    let mut combined = Vec::new();
    for (word, second) in [
        ("orders", "tag"),
        ("events", "owner"),
        ("checkouts", "cluster"),
        ("changes", "format"),
    ] {
        let hit = index
            .search(&SearchRequest {
                q: Some(word.into()),
                limit: Some(1),
                offset: Some(7),
                ..Default::default()
            })
            .unwrap()
            .hits
            .remove(0);
        let value = match second {
            "tag" => hit.tags[0].clone(),
            "owner" => hit.owner.clone(),
            "cluster" => hit.cluster.clone(),
            _ => hit.format.clone(),
        };
        combined.push(format!("project:{} {second}:{value} {word}", hit.project));
    }
    classes.push(("filters with words".into(), combined));
    classes.push(("most common word".into(), index.most_common_words(3)));
    let mut engine = Vec::new();
    for (class, queries) in &classes {
        let mut times = Vec::new();
        for q in queries {
            let mut own = Vec::new();
            for round in 0..ROUNDS {
                let req = SearchRequest {
                    q: Some(q.to_string()),
                    limit: Some(20),
                    offset: Some((round % 3) * 20),
                    ..Default::default()
                };
                let t = Instant::now();
                let r = index.search(&req).unwrap();
                own.push(t.elapsed());
                assert!(r.total > 0, "{q:?} found nothing");
            }
            let total = index
                .search(&SearchRequest {
                    q: Some(q.to_string()),
                    ..Default::default()
                })
                .unwrap()
                .total;
            let (p50, p99) = percentiles(own.clone());
            println!("  {q:>40?}: {total:>8} matches, p50 {p50:.2} ms, p99 {p99:.2} ms");
            times.extend(own);
        }
        let (p50, p99) = percentiles(times.clone());
        println!(
            "class {class:?}: {} searches, p50 {p50:.2} ms, p99 {p99:.2} ms",
            times.len()
        );
        engine.extend(times);
    }
    let (p50, p99) = percentiles(engine.clone());
    println!(
        "engine, every class: {} searches, p50 {p50:.2} ms, p99 {p99:.2} ms",
        engine.len()
    );
    let mix: Vec<String> = classes.iter().flat_map(|(_, qs)| qs.clone()).collect();
    if std::env::var_os("WATERSHED_BENCH_ENGINE_ONLY").is_some() {
        return;
    }

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
        let (p50, p99) = http_round(&client, &base, &token, &mix, clients, 480 / clients).await;
        println!("HTTP GET /api/v1/search, {clients} concurrent client(s), 480 requests: p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    let (p50, p95, p99, edits) = open_loop(&client, &base, &token, &mix, 50, 30, &cx, &store).await;
    println!("HTTP GET /api/v1/search, open loop at 50/s for 30 s with {edits} edits (one every 200 ms): p50 {p50:.2} ms, p95 {p95:.2} ms, p99 {p99:.2} ms");

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
    mix: &[String],
    clients: usize,
    each: usize,
) -> (f64, f64) {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, token, base) = (client.clone(), token.to_string(), base.to_string());
        let mix = mix.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for i in 0..each {
                let url = search_url(&base, &mix[(c + i) % mix.len()]);
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

fn search_url(base: &str, q: &str) -> String {
    format!(
        "{base}/api/v1/search?limit=20&q={}",
        q.replace(' ', "+").replace(':', "%3A")
    )
}

/// Searches arriving at a fixed rate whatever the answers take (open loop), while a queue is
/// edited every 200 ms; each search is timed from when it was due to arrive. p50, p95, p99.
#[allow(clippy::too_many_arguments)]
async fn open_loop(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    mix: &[String],
    per_second: u64,
    seconds: u64,
    cx: &watershed::server::services::Ctx,
    store: &std::sync::Arc<dyn watershed::server::db::Store>,
) -> (f64, f64, f64, usize) {
    let page = store
        .list_queues(&watershed::domain::QueueFilter {
            limit: Some(100),
            offset: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    let (cx, edits_for) = (cx.clone(), Duration::from_secs(seconds));
    let editor = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let (t, mut n) = (Instant::now(), 0usize);
        while t.elapsed() < edits_for {
            tick.tick().await;
            let q = &page.items[n % page.items.len()];
            let mut input = q.to_input();
            input.description = format!("{} edited{n}", q.description);
            watershed::server::services::queues::update(&cx, &q.project, &q.name, &input)
                .await
                .unwrap();
            n += 1;
        }
        n
    });
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per_second));
    let mut tasks = Vec::new();
    for i in 0..(per_second * seconds) as usize {
        let due = tick.tick().await;
        let (client, token) = (client.clone(), token.to_string());
        let url = search_url(base, &mix[i % mix.len()]);
        tasks.push(tokio::spawn(async move {
            let r = client.get(url).bearer_auth(&token).send().await.unwrap();
            assert!(r.status().is_success());
            let _ = r.bytes().await.unwrap();
            due.elapsed()
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.push(t.await.unwrap());
    }
    let edits = editor.await.unwrap();
    all.sort();
    let at = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    (at(0.50), at(0.95), at(0.99), edits)
}
