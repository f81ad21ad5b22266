//! Console benchmarks: the home page's time to first byte with 1,000 queues at 50 concurrent
//! clients, and the release wasm bundle's size (raw, gzip, brotli).
//!
//! Run with `cargo bench --bench console --features ssr` after `scripts/build.sh`
//! (the wasm figures read `target/site/pkg`). Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

mod support;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watershed::server::db::now_millis;
use watershed::server::services::accounts;
use watershed::server::state::AppState;

const QUEUES: usize = 1_000;
const CLIENTS: usize = 50;
const REQUESTS_PER_CLIENT: usize = 40;

fn main() {
    wasm_size();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(home_page_ttfb());
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

async fn home_page_ttfb() {
    let support::Fixture {
        dir: _dir,
        store,
        admin: actor,
        secrets,
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

    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("watershed")
        .site_root("target/site")
        .build();
    let (index, _follower) = watershed::server::search::start(None, store.clone())
        .await
        .unwrap();
    let state = AppState::new(store, secrets, options, false, index);
    watershed::server::background::start(&state, Default::default());
    let base = support::serve(watershed::server::web::router(state)).await;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let url = Arc::new(format!("{base}/"));
    let cookie = Arc::new(format!("watershed_session={token}"));
    // Warm up: connections, caches, the first render.
    for _ in 0..20 {
        let r = client
            .get(url.as_str())
            .header("cookie", cookie.as_str())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        assert!(r
            .text()
            .await
            .unwrap()
            .contains(&format!("{QUEUES} queues")));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url, cookie) = (client.clone(), url.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let mut ttfb = Vec::with_capacity(REQUESTS_PER_CLIENT);
            for _ in 0..REQUESTS_PER_CLIENT {
                let t = Instant::now();
                // `send` resolves when the status line and headers arrive: the first byte.
                let r = client
                    .get(url.as_str())
                    .header("cookie", cookie.as_str())
                    .send()
                    .await
                    .unwrap();
                ttfb.push(t.elapsed());
                let _ = r.bytes().await.unwrap();
            }
            ttfb
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    let (p50, p99) = support::percentiles(all.clone());
    println!(
        "home page, {QUEUES} queues, {CLIENTS} concurrent clients, {} requests: TTFB p50 {:.1} ms, p99 {:.1} ms, {:.0} pages/s",
        all.len(),
        p50,
        p99,
        all.len() as f64 / wall.as_secs_f64()
    );
}
