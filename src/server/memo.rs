//! Short-lived answers for the pages everybody opens. A queue's page reads the same things for
//! every viewer (the queue, its charts and clients, its lineage strip, its switch history…);
//! those reads are kept here for at most [`TTL`] and dropped at once when this process changes
//! anything (the store's mutation epoch moved). Another replica's change or a collector flush
//! shows within [`TTL`]: the charts come from per-minute rollups anyway. So does a change whose
//! transaction was still committing while a look read the old rows (the epoch moves just before
//! the commit).
//!
//! What depends on the viewer is kept only under a key that names them (the header's counts of
//! their inbox and unread notifications), or not at all (what they may do on the page), and
//! every call still authorises before it reads.

use super::db::Store;
use super::services::ServiceResult;
use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long an answer is kept at most.
pub const TTL: Duration = Duration::from_secs(1);

/// How many answers are kept at most (a few per queue page in use).
const CAPACITY: u64 = 10_000;

type Key = (&'static str, Box<str>);

/// The kept answers, by what was asked (`kind`) and of what (`key`).
pub struct Memo {
    store: Arc<dyn Store>,
    epoch: AtomicU64,
    answers: moka::sync::Cache<Key, Arc<dyn Any + Send + Sync>>,
}

impl Memo {
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        let epoch = AtomicU64::new(store.mutation_epoch());
        Arc::new(Self {
            store,
            epoch,
            answers: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
        })
    }

    /// The kept answer to `kind` of `key`, or `read`'s (kept unless it failed or something
    /// changed while it ran).
    pub async fn get_or<T, F, Fut>(
        &self,
        kind: &'static str,
        key: &str,
        read: F,
    ) -> ServiceResult<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<T>>,
    {
        let before = self.store.mutation_epoch();
        if self.epoch.swap(before, Ordering::AcqRel) != before {
            self.answers.invalidate_all();
        }
        let key: Key = (kind, key.into());
        if let Some(kept) = self.answers.get(&key) {
            if let Some(answer) = kept.downcast_ref::<T>() {
                return Ok(answer.clone());
            }
        }
        let answer = read().await?;
        if self.store.mutation_epoch() == before {
            self.answers.insert(key, Arc::new(answer.clone()));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_is_kept_until_this_process_changes_something() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("memo.db").display());
        let store = crate::server::db::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let memo = Memo::new(store.clone());
        let reads = AtomicU64::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(reads.load(Ordering::SeqCst))
        };
        assert_eq!(memo.get_or("n", "a", read).await.unwrap(), 1);
        assert_eq!(memo.get_or("n", "a", read).await.unwrap(), 1, "kept");
        assert_eq!(memo.get_or("n", "b", read).await.unwrap(), 2, "by key");
        let epoch = store.mutation_epoch();
        crate::server::services::accounts::create_user(
            store.as_ref(),
            None,
            "memo-admin",
            "a long enough password",
            crate::domain::Role::Admin,
        )
        .await
        .unwrap();
        assert!(store.mutation_epoch() > epoch);
        assert_eq!(
            memo.get_or("n", "a", read).await.unwrap(),
            3,
            "dropped when the store changed"
        );
        tokio::time::sleep(TTL + Duration::from_millis(100)).await;
        assert_eq!(memo.get_or("n", "b", read).await.unwrap(), 4, "expired");
    }
}
