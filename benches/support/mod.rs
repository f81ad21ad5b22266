//! What the benchmark harnesses share: a fresh database with an admin, percentiles, memory.
//! Each benchmark uses its own part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;
use watershed::domain::{Role, UserView};
use watershed::server::crypto::SecretBox;
use watershed::server::db::{self, Store};
use watershed::server::services::accounts;

/// A migrated SQLite database in a temporary directory, its admin, and a secret box.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    /// Where the database (and a benchmark's index) live: `dir`, or the directory named by
    /// `WATERSHED_BENCH_DIR`, kept between runs so a large seed is made once.
    pub data: std::path::PathBuf,
    pub store: Arc<dyn Store>,
    pub admin: UserView,
    pub secrets: SecretBox,
}

pub async fn fixture() -> Fixture {
    fixture_on(None).await
}

/// A fixture on SQLite, or on a new database of the PostgreSQL server at `postgres_url`.
pub async fn fixture_on(postgres_url: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = match std::env::var_os("WATERSHED_BENCH_DIR") {
        Some(kept) if postgres_url.is_none() => {
            std::fs::create_dir_all(&kept).unwrap();
            std::path::PathBuf::from(kept)
        }
        _ => dir.path().to_path_buf(),
    };
    let url = match postgres_url {
        None => format!("sqlite://{}", data.join("bench.db").display()),
        Some(admin_url) => fresh_postgres(admin_url).await,
    };
    let store = db::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    accounts::ensure_admin(store.as_ref(), Some("bench-password"))
        .await
        .unwrap();
    let admin = store.user_by_name("admin").await.unwrap().unwrap();
    let admin = UserView {
        id: admin.id,
        username: admin.username,
        role: Role::Admin,
    };
    Fixture {
        dir,
        data,
        store,
        admin,
        secrets: SecretBox::from_bytes(&[1; 32]).unwrap(),
    }
}

/// A new database `ws_bench_<pid>` on the server (earlier ones dropped first); its URL.
async fn fresh_postgres(admin_url: &str) -> String {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(admin_url).await.unwrap();
    let old: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'ws_bench_%'")
            .fetch_all(&mut c)
            .await
            .unwrap();
    for (name,) in old {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut c)
            .await;
    }
    let name = format!("ws_bench_{}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut c)
        .await
        .unwrap();
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let host_end = base
        .rfind('/')
        .filter(|&i| i > base.find("://").map_or(0, |j| j + 2));
    let host = host_end.map_or(base, |i| &base[..i]);
    match query {
        Some(q) => format!("{host}/{name}?{q}"),
        None => format!("{host}/{name}"),
    }
}

/// This process's resident set now and at its peak, in MB.
pub fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

/// p50 and p99 in milliseconds.
pub fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    (at(0.50), at(0.99))
}

/// A use-case context for `actor` outside any server (seeding).
pub fn offline(
    store: &Arc<dyn Store>,
    secrets: &SecretBox,
    actor: &UserView,
) -> watershed::server::services::Ctx {
    watershed::server::services::Ctx::offline(
        store.clone(),
        Arc::new(secrets.clone()),
        actor.clone(),
    )
    .unwrap()
}

/// Serves `router` on a loopback port of its own (with the client's address, as the server
/// does); its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            watershed::server::web::no_delay(listener),
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    format!("http://{addr}")
}

/// A small deterministic generator (xorshift), so every run measures the same data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
