//! `spawn_app()` on a fresh database and port 0, and a macro that runs a test on both backends.

mod world;

pub use world::{world, world_with, World};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use watershed::domain::Role;
use watershed::server::crypto::SecretBox;
use watershed::server::db::{self, Store};
use watershed::server::sdk::SdkSettings;
use watershed::server::services::accounts;
use watershed::server::state::AppState;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn(Backend)` as two tests: `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::postgres_url().is_none() {
                    // In CI a missing database is a broken run, not a skip.
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "CI=true but WATERSHED_TEST_POSTGRES_URL is not set"
                    );
                    eprintln!("skipped: WATERSHED_TEST_POSTGRES_URL is not set");
                    return;
                }
                super::$name($crate::harness::Backend::Postgres).await
            }
        }
    )*};
}

pub fn postgres_url() -> Option<String> {
    std::env::var("WATERSHED_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A fresh, migrated database. Keeps its temporary directory alive.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
    pub url: String,
}

static PG_CLEANUP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

pub async fn fresh_db(backend: Backend) -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
        Backend::Postgres => {
            let admin_url = postgres_url().expect("postgres url");
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to test postgres");
            // Databases left by earlier runs are dropped once per test process.
            PG_CLEANUP
                .get_or_init(|| async {
                    let mut c = sqlx::PgConnection::connect(&admin_url).await.unwrap();
                    let old: Vec<(String,)> = sqlx::query_as(
                        "SELECT datname FROM pg_database WHERE datname LIKE 'ws_test_%'",
                    )
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
                    for (name,) in old {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(&mut c)
                        .await;
                    }
                })
                .await;
            let suffix: String = accounts::random_token()
                .to_lowercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect();
            let name = format!("ws_test_{suffix}");
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
                .unwrap();
            replace_db_name(&admin_url, &name)
        }
    };
    let store = db::connect(&url).await.expect("open test database");
    store.migrate().await.expect("migrate");
    TestDb { store, dir, url }
}

/// `postgres://u@h:p/db?x` with `db` replaced.
fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host = path_start.map_or(base, |i| &base[..i]);
    match query {
        Some(q) => format!("{host}/{name}?{q}"),
        None => format!("{host}/{name}"),
    }
}

pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A running server on a fresh database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: TestDb,
    pub state: AppState,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn store(&self) -> &dyn Store {
        self.db.store.as_ref()
    }

    /// A client that keeps cookies and does not follow redirects, and, like a browser on the
    /// console's own pages, names the site as the `Origin` of what it sends.
    pub fn client(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ORIGIN,
            self.url("").parse().expect("an origin header"),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The HTML a fresh browser (no session) gets at `path`.
    pub async fn html(&self, path: &str) -> String {
        let r = self.client().get(self.url(path)).send().await.unwrap();
        r.text().await.unwrap()
    }

    /// Adds a user with a role and returns a personal API token for them.
    pub async fn token_for(&self, username: &str, role: Role) -> String {
        crate::drill::user_token(self.store(), username, role).await
    }
}

/// The loopback block, allowed for tests' webhook receivers.
pub fn loopback() -> Vec<ipnet::IpNet> {
    vec!["127.0.0.0/8".parse().unwrap()]
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, SdkSettings::default()).await
}

/// A running server whose SDK plane (and collector) has these settings.
pub async fn spawn_app_with(backend: Backend, sdk: SdkSettings) -> TestApp {
    let db = fresh_db(backend).await;
    accounts::ensure_admin(db.store.as_ref(), Some(ADMIN_PASSWORD))
        .await
        .unwrap();
    serve(db, sdk, true).await
}

/// A running server whose search index must still be built and is not being built (its
/// follower never runs): what a first start shows until the background build is done.
pub async fn spawn_app_unindexed(backend: Backend) -> TestApp {
    let db = fresh_db(backend).await;
    accounts::ensure_admin(db.store.as_ref(), Some(ADMIN_PASSWORD))
        .await
        .unwrap();
    serve(db, SdkSettings::default(), false).await
}

/// A second console process on the same database, with its own search index.
pub async fn spawn_replica(of: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = db::connect(&of.db.url).await.unwrap();
    serve(
        TestDb {
            store,
            dir,
            url: of.db.url.clone(),
        },
        SdkSettings::default(),
        true,
    )
    .await
}

/// A running server whose state `configure` finishes once its address is known (a single
/// sign-on redirect URL names it).
pub async fn spawn_app_configured(
    backend: Backend,
    configure: impl FnOnce(&mut AppState, SocketAddr),
) -> TestApp {
    let db = fresh_db(backend).await;
    accounts::ensure_admin(db.store.as_ref(), Some(ADMIN_PASSWORD))
        .await
        .unwrap();
    serve_configured(db, SdkSettings::default(), true, configure).await
}

async fn serve(db: TestDb, sdk: SdkSettings, index_built: bool) -> TestApp {
    serve_configured(db, sdk, index_built, |_, _| {}).await
}

async fn serve_configured(
    db: TestDb,
    sdk: SdkSettings,
    index_built: bool,
    configure: impl FnOnce(&mut AppState, SocketAddr),
) -> TestApp {
    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("watershed")
        .site_root("target/site")
        .build();
    let dir = db.dir.path().join("index");
    let (index, follower) = if index_built {
        watershed::server::search::start(Some(&dir), db.store.clone()).await
    } else {
        watershed::server::search::open(Some(&dir), db.store.clone()).await
    }
    .unwrap();
    let mut state = AppState::with_sdk(
        db.store.clone(),
        SecretBox::from_bytes(&[42; 32]).unwrap(),
        options,
        false,
        index,
        sdk,
    );
    // Tests' webhook receivers listen on loopback, which webhooks may not reach by default.
    state.webhook_allow = loopback();
    // Grant expiry and webhook delivery are driven by the tests that check them.
    watershed::server::background::start(
        &state,
        watershed::server::background::Jobs {
            follower: index_built.then_some(follower),
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    configure(&mut state, addr);
    let router = watershed::server::web::router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            watershed::server::web::no_delay(listener),
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    TestApp { addr, db, state }
}

#[test]
fn a_postgres_url_gets_its_database_replaced() {
    assert_eq!(
        replace_db_name("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        replace_db_name("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(replace_db_name("postgres://u@h", "x"), "postgres://u@h/x");
}

/// Asks `attempt` again every `every` until it answers `Some`, for at most `within`; panics
/// with `what` and the last answer otherwise. For things that happen shortly after a write
/// (the index follower, the lineage graph, client sightings), instead of a sleep.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    let every = Duration::from_millis(50);
    loop {
        match attempt().await {
            Ok(v) => return v,
            Err(last) if started.elapsed() >= within => panic!("{what} never happened: {last}"),
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

/// The string `key` of every object in the JSON array `list` (a test failure if it is not one).
pub fn strs<'a>(list: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|e| {
            e[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string {key:?} in {e}"))
        })
        .collect()
}
