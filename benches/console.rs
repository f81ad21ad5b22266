//! Console benchmarks on the demo with 1,000 queues, signed in as admin: the data map page and
//! a busy queue's page (default and week range), each for one client (p50) and for 50
//! concurrent clients (pages/s, also as a share of a health check's rate in the same run);
//! where a queue page's time goes, section by section, read afresh (as every render did before
//! the page's reads were kept) and kept; and the release wasm bundle's size (raw, gzip,
//! brotli).
//!
//! Run with `cargo bench --bench console --features ssr` after `scripts/build.sh`
//! (the wasm figures read `target/site/pkg`). Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

mod support;

use std::io::Write;
use std::time::{Duration, Instant};
use watershed::server::db::now_millis;
use watershed::server::services::accounts;
use watershed::server::state::AppState;

const QUEUES: usize = 1_000;
const CLIENTS: usize = 50;
const REQUESTS_PER_CLIENT: usize = 40;
const SINGLE_CLIENT_REQUESTS: usize = 300;

fn main() {
    wasm_size();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(pages());
}

fn wasm_size() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/site/pkg/watershed_bg.wasm");
    let Ok(bytes) = std::fs::read(&path) else {
        println!(
            "wasm: {} missing; run scripts/build.sh first",
            path.display()
        );
        return;
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap().len();
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
        w.write_all(&bytes).unwrap();
    }
    println!(
        "wasm: raw {} KB, gzip -9 {} KB, brotli -11 {} KB",
        bytes.len() / 1000,
        gz / 1000,
        br.len() / 1000
    );
}

async fn pages() {
    let support::Fixture {
        dir: _dir,
        store,
        admin: actor,
        secrets,
        ..
    } = support::fixture().await;
    watershed::server::demo::seed(&support::offline(&store, &secrets, &actor), QUEUES, false)
        .await
        .unwrap();
    let token = accounts::random_token();
    store
        .create_session(
            &accounts::token_hash(&token),
            actor.id,
            now_millis(),
            now_millis() + 3_600_000,
        )
        .await
        .unwrap();
    // The demo's first queue: it has clients, traffic, lag, lineage and a schema.
    let (name, _, _) = watershed::server::demo::queue_at(0);
    let project = store.list_projects().await.unwrap()[0].name.clone();
    assert!(store.queue(&project, &name).await.unwrap().is_some());

    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("watershed")
        .site_root("target/site")
        .build();
    let (index, _follower) = watershed::server::search::start(None, store.clone())
        .await
        .unwrap();
    let state = AppState::new(store, secrets, options, false, index);
    watershed::server::background::start(&state, Default::default());
    let base = support::serve(watershed::server::web::router(state.clone())).await;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let cookie = format!("watershed_session={token}");
    let queue_page = format!("/queues/{project}/{name}");
    let week = format!("{queue_page}?range=week");
    let targets: [(&str, String, String); 4] = [
        ("health check", "/healthz".into(), "ok".into()),
        ("data map page", "/".into(), format!("{QUEUES} queues")),
        ("queue page", queue_page, "Consumer lag by group".into()),
        (
            "queue page, week range",
            week,
            "Consumer lag by group".into(),
        ),
    ];
    let mut healthz = 0.0;
    for (what, path, must_contain) in targets {
        let url = format!("{base}{path}");
        // Warm up: connections, caches, the first render; the page is what it should be.
        let mut size = 0;
        for _ in 0..20 {
            let r = client
                .get(&url)
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{what}: {}", r.status());
            let body = r.text().await.unwrap();
            assert!(body.contains(&must_contain), "{what}: {body}");
            size = body.len();
        }
        let (one, _, _) = load(&client, &url, &cookie, 1, SINGLE_CLIENT_REQUESTS).await;
        let (p50, p99, rate) = load(&client, &url, &cookie, CLIENTS, REQUESTS_PER_CLIENT).await;
        if healthz == 0.0 {
            healthz = rate;
        }
        println!(
            "{what} ({path}, {} KB): one client p50 {one:.2} ms; {CLIENTS} concurrent clients p50 {p50:.1} ms, p99 {p99:.1} ms, {rate:.0}/s ({:.2}% of the health check)",
            size / 1000,
            100.0 * rate / healthz
        );
    }
    sections(&state, actor, &project, &name).await;
}

/// A queue page's sections: p50 of each section's reads done afresh (what every render did
/// before they were kept) and of the same answer taken from the one-second memo.
async fn sections(state: &AppState, actor: watershed::domain::UserView, project: &str, name: &str) {
    use watershed::domain::TrafficRange;
    use watershed::server::services::{
        clusters, failover, health, lineage, queues, schemas, traffic,
    };
    let store = state.store.as_ref();
    let cx = state.ctx(actor);
    let cx = &cx;
    let q = queues::get(store, project, name).await.unwrap();
    let q = &q;
    println!("queue page, section by section (p50 of {SECTION_RUNS}, read afresh / kept):");
    let mut fresh_total = 0.0;
    macro_rules! section {
        ($what:expr, $read:expr) => {{
            let fresh = p50_of(|| async move { $read.await.unwrap() }).await;
            let kept = p50_of(|| async move {
                state
                    .memo
                    .get_or("bench", $what, || async move { Ok($read.await.unwrap()) })
                    .await
                    .unwrap()
            })
            .await;
            fresh_total += fresh;
            println!("  {:<34} {fresh:>7.3} ms / {kept:.4} ms", $what);
            fresh
        }};
    }
    section!("the queue", queues::get(store, project, name));
    section!(
        "data-path changes (audit log)",
        queues::data_path_changes(store, project, name)
    );
    section!(
        "charts, hour (rollups)",
        traffic::queue_traffic(store, project, name, TrafficRange::Hour)
    );
    let week = section!(
        "charts, week (rollups)",
        traffic::queue_traffic(store, project, name, TrafficRange::Week)
    );
    section!("clients", traffic::queue_clients(store, project, name));
    section!(
        "lineage strip",
        lineage::strip(store, &state.lineage, project, name)
    );
    section!("switch history", failover::history(store, project, name));
    section!(
        "rollout",
        failover::rollout(store, state.sdk.as_ref(), project, name)
    );
    section!("clusters", clusters::list(store));
    section!("topics", clusters::queue_topics(store, project, name));
    section!(
        "health (rules, silences, alerts)",
        health::queue_health_for_all(cx, q)
    );
    section!("Flink table (schema)", schemas::table(store, project, name));
    println!(
        "  {:<34} {:>7.3} ms",
        "sum read afresh (hour range)",
        fresh_total - week
    );
}

const SECTION_RUNS: usize = 200;

/// p50 of `SECTION_RUNS` calls, in ms.
async fn p50_of<T, F, Fut>(f: F) -> f64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut took = Vec::with_capacity(SECTION_RUNS);
    for _ in 0..SECTION_RUNS {
        let t = Instant::now();
        std::hint::black_box(f().await);
        took.push(t.elapsed());
    }
    support::percentiles(took).0
}

/// `clients` clients each send `requests` requests one after another; p50 and p99 of the
/// time to the whole body, and requests per second over the wall time.
async fn load(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    clients: usize,
    requests: usize,
) -> (f64, f64, f64) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, cookie) = (client.clone(), url.to_string(), cookie.to_string());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::with_capacity(requests);
            for _ in 0..requests {
                let t = Instant::now();
                let r = client
                    .get(url.as_str())
                    .header("cookie", cookie.as_str())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await.unwrap();
                took.push(t.elapsed());
            }
            took
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    let (p50, p99) = support::percentiles(all.clone());
    (p50, p99, all.len() as f64 / wall.as_secs_f64())
}
