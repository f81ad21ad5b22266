//! Keeps the index in step with the database by following the `queue_changes` feed.

use super::{QueueIndex, SearchError};
use crate::domain::IndexBuild;
use crate::server::db::{IndexDoc, Store};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tantivy::{IndexWriter, TantivyDocument, Term};

/// How often the follower looks for changes when the feed was empty: often, as an edit waits
/// for the next look (half of this on average) and a look at an empty feed is one indexed
/// read of a few bytes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
const BATCH: i64 = 5_000;

/// Owns the index writer; applies changes in batches, one commit each.
pub struct Follower {
    index: Arc<QueueIndex>,
    writer: Arc<Mutex<IndexWriter>>,
    store: Arc<dyn Store>,
    seq: i64,
    /// The index must be built from the database before following the feed.
    must_build: bool,
}

/// Opens the index in `dir` (in memory when `None`) and returns it with its follower, not yet
/// running. When the index is missing or of another version, the follower builds it first
/// when it runs, and until then searches say so ([`QueueIndex::building`]): a server answers
/// at once instead of after the build (half a minute at a million queues).
pub async fn open(
    dir: Option<&Path>,
    store: Arc<dyn Store>,
) -> anyhow::Result<(Arc<QueueIndex>, Follower)> {
    let (index, must_build) = match dir {
        Some(d) => QueueIndex::open(d).context("opening the search index")?,
        None => (QueueIndex::in_memory()?, true),
    };
    let writer = index.index.writer(100_000_000).map_err(SearchError::from)?;
    let index = Arc::new(index);
    if must_build {
        index.set_building(Some(IndexBuild {
            indexed: 0,
            total: 0,
        }));
    }
    let seq = index.seq()?.unwrap_or(0);
    let follower = Follower {
        index: index.clone(),
        writer: Arc::new(Mutex::new(writer)),
        store,
        seq,
        must_build,
    };
    Ok((index, follower))
}

/// [`open`], then the build it needs, if any, before returning (tools, tests, benchmarks).
pub async fn start(
    dir: Option<&Path>,
    store: Arc<dyn Store>,
) -> anyhow::Result<(Arc<QueueIndex>, Follower)> {
    let (index, mut follower) = open(dir, store).await?;
    follower.build_if_needed().await?;
    Ok((index, follower))
}

impl Follower {
    /// Builds the index from the database if it was opened missing or outdated.
    pub async fn build_if_needed(&mut self) -> anyhow::Result<()> {
        if self.must_build {
            let started = std::time::Instant::now();
            let n = self.rebuild(false).await?;
            tracing::info!(
                queues = n,
                ms = started.elapsed().as_millis() as u64,
                "search index built from the database"
            );
        }
        Ok(())
    }

    /// Runs `f` with the writer on a blocking thread: commits do disk I/O.
    async fn with_writer<R: Send + 'static>(
        &self,
        f: impl FnOnce(&QueueIndex, &mut IndexWriter) -> Result<R, SearchError> + Send + 'static,
    ) -> anyhow::Result<R> {
        let (index, writer) = (self.index.clone(), self.writer.clone());
        tokio::task::spawn_blocking(move || {
            let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
            f(&index, &mut w)
        })
        .await?
        .map_err(Into::into)
    }

    /// Replaces the whole index with the database's queues. Returns how many were indexed.
    pub async fn rebuild(&mut self, progress: bool) -> anyhow::Result<u64> {
        // Read the feed position first: changes made during the scan are replayed afterwards.
        let seq = self.store.queue_change_seq().await?;
        let total = self.store.list_queues(&Default::default()).await?.total as u64;
        self.index
            .set_building(Some(IndexBuild { indexed: 0, total }));
        let bar = if progress {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} queues indexed ({per_sec}, eta {eta})",
            )
            .expect("static template"),
        );
        // A build that failed part-way may have left documents buffered in the writer, which
        // delete_all_documents would not discard: roll back to the last commit first.
        self.with_writer(|_, w| {
            w.rollback()?;
            Ok(w.delete_all_documents()?)
        })
        .await?;
        let mut after = 0;
        let mut count = 0;
        loop {
            let docs = self.store.index_docs(after, BATCH).await?;
            let Some(last) = docs.last() else { break };
            after = last.queue.id;
            count += docs.len() as u64;
            bar.inc(docs.len() as u64);
            self.index.set_building(Some(IndexBuild {
                indexed: count,
                total: total.max(count),
            }));
            self.with_writer(move |index, w| {
                for d in &docs {
                    w.add_document(index.document(d))?;
                }
                Ok(())
            })
            .await?;
        }
        self.commit(seq).await?;
        self.index.set_building(None);
        self.must_build = false;
        bar.finish_and_clear();
        Ok(count)
    }

    /// Applies one batch of changes from the feed. Returns how many changes it covered.
    pub async fn catch_up(&mut self) -> anyhow::Result<usize> {
        let changes = self.store.queue_changes_since(self.seq, BATCH).await?;
        let Some(&(last_seq, _)) = changes.last() else {
            return Ok(0);
        };
        let mut ids: Vec<i64> = changes.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let docs: Vec<IndexDoc> = self.store.index_docs_by_ids(&ids).await?;
        self.with_writer(move |index, w| {
            for id in &ids {
                w.delete_term(Term::from_field_u64(index.fields.id, *id as u64));
            }
            for d in &docs {
                let doc: TantivyDocument = index.document(d);
                w.add_document(doc)?;
            }
            Ok(())
        })
        .await?;
        self.commit(last_seq).await?;
        Ok(changes.len())
    }

    /// Commits with the feed position as payload, then makes the commit visible to searches.
    async fn commit(&mut self, seq: i64) -> anyhow::Result<()> {
        self.with_writer(move |index, w| {
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(&seq.to_string());
            prepared.commit()?;
            index.reader.reload()?;
            Ok(())
        })
        .await?;
        self.seq = seq;
        Ok(())
    }

    /// Builds the index if it must, then follows the feed until the process ends.
    pub async fn run(mut self) {
        while let Err(e) = self.build_if_needed().await {
            tracing::error!(error = ?e, "building the search index; trying again in 5 s");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        loop {
            match self.catch_up().await {
                Ok(0) => tokio::time::sleep(POLL_INTERVAL).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = ?e, "search index follower");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
