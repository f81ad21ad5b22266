//! The data map's search index (tantivy) over logical queues.
//!
//! The index is a cache of the database: it can always be rebuilt from it. One long-lived
//! reader serves searches; one writer, owned by the follower, applies the `queue_changes`
//! feed in batches (one commit per batch, never per document), so edits made by this or any
//! other console process on the same database become searchable within a fraction of a second.

mod collect;
mod expand;
mod follower;
mod query;

pub use follower::{open, start, Follower};

use crate::domain::{
    Facet as FacetCounts, FacetCount, IndexBuild, SearchHit, SearchRequest, SearchResults,
};
use crate::server::db::IndexDoc;
use collect::{MapCollector, PageOrder};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::Instant;
use tantivy::collector::{Collector, FacetCollector, SegmentCollector};
use tantivy::schema::{
    Facet, FacetOptions, Field, Schema, Value, FAST, INDEXED, STORED, STRING, TEXT,
};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, TantivyDocument};

/// Bumped whenever the schema or what is indexed changes; an index of another version is rebuilt.
pub const INDEX_VERSION: u32 = 4;
const VERSION_FILE: &str = "watershed-index-version";
/// Facets are counted exactly up to this many matches, and estimated from a sample beyond
/// (see `collect`).
pub const EXACT_FACETS_UP_TO: usize = 20_000;

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory")]
    Io(#[from] std::io::Error),
    #[error("search index: {0}")]
    OpenDirectory(#[from] tantivy::directory::error::OpenDirectoryError),
}

/// The schema's fields, looked up once.
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    name: Field,
    project: Field,
    description: Field,
    tags: Field,
    owner: Field,
    cluster: Field,
    format: Field,
    schema_fields: Field,
    schema_docs: Field,
    facets: Field,
    updated_at: Field,
    hit: Field,
}

/// The schema, built in one place.
fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | STORED | FAST),
        name: b.add_text_field("name", TEXT),
        project: b.add_text_field("project", TEXT),
        description: b.add_text_field("description", TEXT),
        tags: b.add_text_field("tags", TEXT),
        owner: b.add_text_field("owner", TEXT),
        cluster: b.add_text_field("cluster", TEXT),
        format: b.add_text_field("format", STRING),
        schema_fields: b.add_text_field("schema_fields", TEXT),
        schema_docs: b.add_text_field("schema_docs", TEXT),
        facets: b.add_facet_field("facets", FacetOptions::default()),
        updated_at: b.add_i64_field("updated_at", FAST),
        hit: b.add_text_field("hit", STORED),
    };
    (b.build(), fields)
}

/// A schema's field paths (and, for Protobuf, its message names) and its docs and comments,
/// as text to index. `None` when the stored definition no longer parses (it was valid when
/// published, so this only guards upgrades).
fn schema_words(schema: &crate::server::db::LatestSchema) -> Option<(Vec<String>, String)> {
    let parsed = crate::server::schema::parse_with(
        schema.format.parse().ok()?,
        &schema.definition,
        &schema.imports,
    )
    .ok()?;
    Some(parsed.index_words())
}

/// What a hit shows, stored with the document so a search needs no database query.
#[derive(Serialize, Deserialize)]
struct StoredHit {
    project: String,
    name: String,
    description: String,
    owner: String,
    tags: Vec<String>,
    cluster: String,
    cluster_kind: String,
    format: String,
    /// The schema's field paths (to show which matched), bounded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fields: Vec<String>,
}

/// At most this many schema field paths are stored with a hit.
const STORED_FIELDS: usize = 256;

/// The queue index: search here; the [`Follower`] writes.
pub struct QueueIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: Option<PathBuf>,
    exact_facets_up_to: AtomicUsize,
    /// The segments' change times, decoded for ranking.
    recency: collect::Recency,
    /// While a build from the database runs: queues indexed so far, and of how many.
    build: std::sync::Mutex<Option<IndexBuild>>,
}

impl QueueIndex {
    /// Opens the index in `dir`, or creates an empty one there. Returns whether it must be
    /// rebuilt from the database (new, or built by another index version).
    pub fn open(dir: &Path) -> Result<(Self, bool), SearchError> {
        let (schema, fields) = schema();
        let version_file = dir.join(VERSION_FILE);
        let current = std::fs::read_to_string(&version_file)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            == Some(INDEX_VERSION);
        if !current && dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let directory = tantivy::directory::MmapDirectory::open(dir)?;
        let index = Index::open_or_create(directory, schema)?;
        std::fs::write(&version_file, INDEX_VERSION.to_string())?;
        let this = Self::from_index(index, fields, Some(dir.to_path_buf()))?;
        let needs_rebuild = !current || this.seq()?.is_none();
        Ok((this, needs_rebuild))
    }

    /// An index in memory (tests and benchmarks).
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = schema();
        Self::from_index(Index::create_in_ram(schema), fields, None)
    }

    fn from_index(
        mut index: Index,
        fields: Fields,
        dir: Option<PathBuf>,
    ) -> Result<Self, SearchError> {
        // Segments are searched in parallel, one thread per core.
        index.set_default_multithread_executor()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            dir,
            exact_facets_up_to: AtomicUsize::new(EXACT_FACETS_UP_TO),
            recency: Default::default(),
            build: std::sync::Mutex::new(None),
        })
    }

    /// Sets how many matches get exact facet counts (tests use a small bound).
    pub fn set_exact_facets_up_to(&self, n: usize) {
        self.exact_facets_up_to.store(n, AtomicOrdering::Relaxed);
    }

    /// How far a build from the database has come; `None` when none is running.
    pub fn building(&self) -> Option<IndexBuild> {
        *self.build.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_building(&self, build: Option<IndexBuild>) {
        *self.build.lock().unwrap_or_else(|e| e.into_inner()) = build;
    }

    /// The change-feed position the last commit covered, if any commit was made.
    pub fn seq(&self) -> Result<Option<i64>, SearchError> {
        Ok(self
            .index
            .load_metas()?
            .payload
            .and_then(|p| p.parse().ok()))
    }

    /// Makes the latest commit and finished merges visible (the follower does this after
    /// each commit).
    pub fn refresh(&self) -> Result<(), SearchError> {
        Ok(self.reader.reload()?)
    }

    /// Documents and segments now visible to searches.
    pub fn stats(&self) -> (u64, usize) {
        let s = self.reader.searcher();
        (s.num_docs(), s.segment_readers().len())
    }

    /// Bytes on disk, for benchmarks.
    pub fn size_on_disk(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            std::fs::read_dir(p)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| match e.metadata() {
                            Ok(m) if m.is_dir() => walk(&e.path()),
                            Ok(m) => m.len(),
                            Err(_) => 0,
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        self.dir.as_deref().map(walk).unwrap_or(0)
    }

    /// The `n` words (not numbers) in the most documents, summed over the text fields; for
    /// benchmarks, which must include the corpus's most common word.
    pub fn most_common_words(&self, n: usize) -> Vec<String> {
        let f = &self.fields;
        let mut freq: std::collections::HashMap<String, u64> = Default::default();
        let searcher = self.reader.searcher();
        for segment in searcher.segment_readers() {
            for field in [f.name, f.project, f.description, f.tags, f.owner, f.cluster] {
                let Ok(inverted) = segment.inverted_index(field) else {
                    continue;
                };
                let mut terms = inverted.terms().stream().expect("term stream");
                while terms.advance() {
                    let Ok(word) = std::str::from_utf8(terms.key()) else {
                        continue;
                    };
                    if !word.chars().all(|c| c.is_ascii_digit()) {
                        *freq.entry(word.to_string()).or_default() += terms.value().doc_freq as u64;
                    }
                }
            }
        }
        let mut words: Vec<(String, u64)> = freq.into_iter().collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        words.into_iter().take(n).map(|(w, _)| w).collect()
    }

    fn document(&self, d: &IndexDoc) -> TantivyDocument {
        let f = &self.fields;
        let q = &d.queue;
        let cluster = q.active_cluster().to_string();
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.id, q.id as u64);
        doc.add_text(f.name, &q.name);
        doc.add_text(f.project, &q.project);
        doc.add_text(f.description, &q.description);
        doc.add_text(f.owner, &q.owner);
        doc.add_text(f.cluster, format!("{cluster} {}", d.cluster_kind));
        doc.add_text(f.format, q.data_format);
        for tag in &q.tags {
            doc.add_text(f.tags, tag);
            doc.add_facet(f.facets, Facet::from_path(["tag", tag.as_str()]));
        }
        doc.add_facet(f.facets, Facet::from_path(["project", q.project.as_str()]));
        doc.add_facet(f.facets, Facet::from_path(["cluster", cluster.as_str()]));
        doc.add_facet(
            f.facets,
            Facet::from_path(["format", q.data_format.as_ref()]),
        );
        doc.add_facet(f.facets, Facet::from_path(["owner", q.owner.as_str()]));
        let mut fields = Vec::new();
        if let Some((names, docs)) = d.schema.as_ref().and_then(schema_words) {
            doc.add_text(f.schema_fields, names.join("\n"));
            doc.add_text(f.schema_docs, docs);
            fields = names;
            fields.truncate(STORED_FIELDS);
        }
        doc.add_i64(f.updated_at, q.updated_at);
        let hit = StoredHit {
            project: q.project.clone(),
            name: q.name.clone(),
            description: q.description.clone(),
            owner: q.owner.clone(),
            tags: q.tags.clone(),
            cluster,
            cluster_kind: d.cluster_kind.clone(),
            format: q.data_format.to_string(),
            fields,
        };
        doc.add_text(f.hit, serde_json::to_string(&hit).unwrap_or_default());
        doc
    }

    /// Searches: words anywhere (prefix as you type, one typo in words of four letters or
    /// more), `field:value` filters, facet counts (estimated beyond the exact bound), ranked
    /// by relevance and recency (newest first without words), paged; in one pass over the
    /// matches.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, SearchError> {
        let started = Instant::now();
        let parsed = req.parse();
        let (offset, limit) = req.page();
        let query = query::build(&self.fields, &parsed);
        let searcher = self.reader.searcher();

        let exact_up_to = self.exact_facets_up_to.load(AtomicOrdering::Relaxed);
        // Words rank by relevance; only filters leave nothing to score: newest first.
        let order = if parsed.words.is_empty() {
            PageOrder::Newest
        } else {
            PageOrder::Relevance {
                now: crate::server::db::now_millis(),
            }
        };
        let fruit = searcher.search(
            &*query,
            &MapCollector {
                top: offset + limit,
                order,
                sample_up_to: exact_up_to,
                bases: collect::bases(&searcher),
                recency: self.recency.for_searcher(&searcher)?,
            },
        )?;
        let total = fruit.total;
        let top: Vec<(f64, DocAddress)> = fruit.top.into_iter().skip(offset).collect();

        // Facets of every match up to the bound; beyond it, of a uniform sample scaled up.
        let mut facet_collector = FacetCollector::for_field("facets");
        for field in crate::domain::FILTER_FIELDS {
            facet_collector.add_facet(Facet::from_path([field]));
        }
        let mut parts = Vec::with_capacity(fruit.sample.len());
        for (ord, docs) in &fruit.sample {
            let mut segment = facet_collector.for_segment(*ord, searcher.segment_reader(*ord))?;
            for &doc in docs {
                segment.collect(doc, 0.0);
            }
            parts.push(segment.harvest());
        }
        let facet_counts = facet_collector.merge_fruits(parts)?;
        let scale = (fruit.buckets < collect::BUCKETS)
            .then(|| f64::from(collect::BUCKETS) / f64::from(fruit.buckets));

        let hits = top
            .into_iter()
            .filter_map(|(key, addr): (f64, DocAddress)| {
                let doc: TantivyDocument = searcher.doc(addr).ok()?;
                let stored: StoredHit =
                    serde_json::from_str(doc.get_first(self.fields.hit)?.as_str()?).ok()?;
                let id = doc.get_first(self.fields.id)?.as_u64()? as i64;
                Some(SearchHit {
                    id,
                    access: crate::domain::QueueAccess::None,
                    health: None,
                    matched_fields: crate::domain::matching_fields(
                        &stored.fields,
                        &parsed.words,
                        5,
                    ),
                    snippet: crate::domain::highlight(&stored.description, &parsed.words),
                    project: stored.project,
                    name: stored.name,
                    description: stored.description,
                    owner: stored.owner,
                    tags: stored.tags,
                    cluster: stored.cluster,
                    cluster_kind: stored.cluster_kind,
                    format: stored.format,
                    score: match order {
                        PageOrder::Newest => 1.0,
                        PageOrder::Relevance { .. } => key as f32,
                    },
                })
            })
            .collect();
        let facets = crate::domain::FILTER_FIELDS
            .iter()
            .map(|field| FacetCounts {
                field: field.to_string(),
                values: facet_counts
                    .top_k(Facet::from_path([*field]), 10)
                    .into_iter()
                    .map(|(facet, count)| FacetCount {
                        value: facet
                            .to_path()
                            .last()
                            .map(|s| s.to_string())
                            .unwrap_or_default(),
                        count: scale.map_or(count, |k| (count as f64 * k).round() as u64),
                    })
                    .collect(),
            })
            .collect();
        Ok(SearchResults {
            hits,
            facets,
            total,
            facets_estimated: scale.is_some(),
            offset,
            limit,
            took_ms: started.elapsed().as_secs_f64() * 1e3,
            building: self.building(),
        })
    }
}
