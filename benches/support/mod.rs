//! What both benchmark harnesses set up: a fresh SQLite database with an admin, and percentiles.

use std::sync::Arc;
use std::time::Duration;
use watershed::domain::{Role, UserView};
use watershed::server::crypto::SecretBox;
use watershed::server::db::{self, Store};
use watershed::server::services::accounts;

/// A migrated SQLite database in a temporary directory, its admin, and a secret box.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub admin: UserView,
    pub secrets: SecretBox,
}

pub async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = db::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
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
        store,
        admin,
        secrets: SecretBox::from_bytes(&[1; 32]).unwrap(),
    }
}

/// p50 and p99 in milliseconds.
pub fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    (at(0.50), at(0.99))
}
