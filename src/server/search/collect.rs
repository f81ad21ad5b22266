//! One pass over a search's matches: the count, the page (by relevance lifted a little by
//! recency, or newest first) and a bounded, uniform sample of the matches to count facets on.
//!
//! tantivy's stock collectors would each walk every match (count, top docs with a tweaked
//! score, facet ords); at a million queues a short prefix matches a fifth of them, and reading
//! every match's facets is most of the time. Here facets are read once the pass is over, for
//! every match when there are at most `sample_up_to`, otherwise for a hash sample of about
//! [`FACET_SAMPLE`] (never less than a 64th of the matches), scaled up (the answer then says
//! `facets_estimated`).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnIndex;
use tantivy::index::SegmentId;
use tantivy::query::Weight;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader};

/// Sample buckets: a match's bucket is a hash of its position in the whole index (its segment's
/// base plus its doc id, so segments small or large are sampled alike); a sample keeps the
/// matches of the first `b` buckets.
pub(super) const BUCKETS: u32 = 64;
/// Beyond the exact bound, facets are estimated from a sample of about this many (at least a
/// 64th of the matches: the finest sampling rate).
const FACET_SAMPLE: usize = 5_000;
/// At most this much lift for a recently changed queue (see [`lift`]).
#[cfg(test)]
const MAX_LIFT: f64 = 1.25;

/// How a page is ordered.
#[derive(Clone, Copy)]
pub(super) enum PageOrder {
    /// Relevance, lifted by up to a quarter for queues changed in the last weeks; `now` in ms.
    Relevance { now: i64 },
    /// Most recently changed first (browsing: nothing to score).
    Newest,
}

/// The collector; see the module doc.
pub(super) struct MapCollector {
    /// How many of the best to keep (offset + limit).
    pub top: usize,
    pub order: PageOrder,
    /// Facets are exact up to this many matches and sampled beyond.
    pub sample_up_to: usize,
    /// Per segment ordinal, where its documents start in the whole index ([`bases`]).
    pub bases: Vec<DocId>,
    /// Per segment ordinal, its change times decoded ([`Recency::for_searcher`]).
    pub recency: Vec<Arc<SegmentRecency>>,
}

/// Lift time constant: a queue changed 30 days ago is lifted by `e^-1` of the most.
const LIFT_MS: f64 = 30.0 * 86_400_000.0;

/// A segment's change times, decoded once: ranking reads one for nearly every match (in a
/// large segment later documents are newer, so almost every match may make the page), and
/// reading the bit-packed column and taking an exponential per match was a third of a common
/// word's search. Segments never change, so neither does this.
pub(super) struct SegmentRecency {
    /// Per document, when its queue last changed (ms).
    updated: Box<[i64]>,
    /// Per document, `e^((updated - newest) / LIFT_MS)` (at most 1): the lift at any `now`
    /// is `1 + 0.25 e^(-(now - newest) / LIFT_MS) * fresh` without an exponential per match.
    fresh: Box<[f32]>,
    newest: i64,
}

impl SegmentRecency {
    fn read(reader: &SegmentReader) -> tantivy::Result<Self> {
        let column = reader.fast_fields().i64("updated_at")?;
        // Every queue has one change time: read the values without the optional-value layer.
        let values = match column.index {
            ColumnIndex::Full => column.values.clone(),
            _ => column.first_or_default_col(0),
        };
        let mut updated = vec![0i64; reader.max_doc() as usize];
        values.get_range(0, &mut updated);
        Ok(Self::from_updated(updated))
    }

    fn from_updated(updated: Vec<i64>) -> Self {
        let newest = updated.iter().copied().max().unwrap_or(0);
        let fresh = updated
            .iter()
            .map(|&u| (((u - newest) as f64) / LIFT_MS).exp() as f32)
            .collect();
        Self {
            updated: updated.into(),
            fresh,
            newest,
        }
    }

    /// What multiplies `fresh` for a lift at `now`: at most 0.25, the lift of a change made
    /// just now (a change time ahead of `now` lifts no more than that).
    fn scale(&self, now: i64) -> f64 {
        0.25 * (-((now - self.newest).max(0) as f64) / LIFT_MS).exp()
    }
}

/// The decoded change times of the segments searched lately.
#[derive(Default)]
pub(super) struct Recency(Mutex<HashMap<SegmentId, Arc<SegmentRecency>>>);

impl Recency {
    /// Per segment ordinal of `searcher`, its change times; segments no longer searched are
    /// forgotten.
    pub fn for_searcher(&self, searcher: &Searcher) -> tantivy::Result<Vec<Arc<SegmentRecency>>> {
        let readers = searcher.segment_readers();
        let kept: Vec<Option<Arc<SegmentRecency>>> = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            map.retain(|id, _| readers.iter().any(|r| r.segment_id() == *id));
            readers
                .iter()
                .map(|r| map.get(&r.segment_id()).cloned())
                .collect()
        };
        let mut out = Vec::with_capacity(readers.len());
        for (reader, kept) in readers.iter().zip(kept) {
            out.push(match kept {
                Some(r) => r,
                None => {
                    // Read outside the lock: a large segment takes a few milliseconds.
                    let r = Arc::new(SegmentRecency::read(reader)?);
                    self.0
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(reader.segment_id(), r.clone());
                    r
                }
            });
        }
        Ok(out)
    }
}

/// Where each segment's documents start when the searcher's segments are laid end to end.
pub(super) fn bases(searcher: &tantivy::Searcher) -> Vec<DocId> {
    searcher
        .segment_readers()
        .iter()
        .scan(0 as DocId, |next, r| {
            let base = *next;
            *next = next.wrapping_add(r.max_doc());
            Some(base)
        })
        .collect()
}

/// A segment's share of the answer.
pub(super) struct SegmentFruit {
    ord: SegmentOrdinal,
    base: DocId,
    count: usize,
    /// Best first.
    top: Vec<Ranked>,
    /// The matches of buckets below `buckets`.
    sample: Vec<DocId>,
    buckets: u32,
}

/// The merged answer.
pub(super) struct MapFruit {
    pub total: usize,
    /// Best first, `top` of them at most.
    pub top: Vec<(f64, DocAddress)>,
    /// Per segment, the sampled matches to count facets on.
    pub sample: Vec<(SegmentOrdinal, Vec<DocId>)>,
    /// `BUCKETS` when the sample is every match.
    pub buckets: u32,
}

#[derive(Clone, Copy, PartialEq)]
struct Ranked {
    key: f64,
    doc: DocId,
}

impl Eq for Ranked {}

impl Ord for Ranked {
    /// Greater is better: a higher key, then (ties) the earlier document, as tantivy's own
    /// top-docs collector breaks them, so pages do not overlap.
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .total_cmp(&other.key)
            .then_with(|| other.doc.cmp(&self.doc))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The sample bucket of the document at `base + doc` in the whole index (Fibonacci hashing:
/// consecutive positions spread evenly).
pub(super) fn bucket(base: DocId, doc: DocId) -> u32 {
    base.wrapping_add(doc).wrapping_mul(0x9E37_79B9) >> 26
}

/// How much a queue changed `age_ms` ago is lifted among equally relevant ones (what
/// [`SegmentRecency`] computes without an exponential per match).
#[cfg(test)]
fn lift(age_ms: i64) -> f64 {
    1.0 + 0.25 * (-((age_ms.max(0) as f64) / LIFT_MS)).exp()
}

/// Collects one segment.
pub(super) struct MapSegment {
    ord: SegmentOrdinal,
    base: DocId,
    top: usize,
    order: PageOrder,
    sample_up_to: usize,
    recency: Arc<SegmentRecency>,
    /// A match's lift is `1 + scale * fresh` ([`SegmentRecency`]).
    scale: f64,
    /// The most any match of this segment can be lifted (from its newest change).
    max_lift: f64,
    /// Candidates for the page; cut back to the best `top` whenever it holds twice that.
    best: Vec<Ranked>,
    /// Once a cut was made: what a match must beat to be a candidate.
    bar: Option<Ranked>,
    count: usize,
    sample: Vec<DocId>,
    buckets: u32,
}

impl MapSegment {
    fn offer(&mut self, r: Ranked) {
        if self.bar.is_some_and(|bar| r <= bar) {
            return;
        }
        self.best.push(r);
        if self.best.len() == 2 * self.top {
            self.cut();
        }
    }

    /// Keeps the best `top` candidates (in no order) and raises the bar to the worst of them.
    fn cut(&mut self) {
        if self.best.len() > self.top {
            self.best
                .select_nth_unstable_by(self.top - 1, |a, b| b.cmp(a));
            self.best.truncate(self.top);
            self.bar = self.best.iter().min().copied();
        }
    }
}

impl SegmentCollector for MapSegment {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.count += 1;
        if bucket(self.base, doc) < self.buckets {
            self.sample.push(doc);
            if self.sample.len() > self.sample_up_to && self.buckets > 1 {
                self.buckets /= 2;
                let (b, base) = (self.buckets, self.base);
                self.sample.retain(|&d| bucket(base, d) < b);
            }
        }
        match self.order {
            PageOrder::Newest => {
                let key = self.recency.updated[doc as usize] as f64;
                self.offer(Ranked { key, doc });
            }
            PageOrder::Relevance { .. } => {
                let score = f64::from(score);
                // Most matches cannot make the page even with the segment's largest lift:
                // their age is not read. (A later document loses ties, so equal is out.)
                if self.bar.is_some_and(|bar| score * self.max_lift <= bar.key) {
                    return;
                }
                let lift = 1.0 + self.scale * f64::from(self.recency.fresh[doc as usize]);
                self.offer(Ranked {
                    key: score * lift,
                    doc,
                });
            }
        }
    }

    fn harvest(mut self) -> SegmentFruit {
        self.cut();
        let mut top = self.best;
        top.sort_by(|a, b| b.cmp(a));
        SegmentFruit {
            ord: self.ord,
            base: self.base,
            count: self.count,
            top,
            sample: self.sample,
            buckets: self.buckets,
        }
    }
}

impl Collector for MapCollector {
    type Fruit = MapFruit;
    type Child = MapSegment;

    fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<MapSegment> {
        let recency = match self.recency.get(ord as usize) {
            Some(r) => r.clone(),
            None => Arc::new(SegmentRecency::read(reader)?),
        };
        let scale = match self.order {
            PageOrder::Relevance { now } => recency.scale(now),
            PageOrder::Newest => 0.0,
        };
        let top = self.top.max(1);
        Ok(MapSegment {
            ord,
            base: self.bases.get(ord as usize).copied().unwrap_or(0),
            top,
            order: self.order,
            sample_up_to: self.sample_up_to.max(1),
            recency,
            scale,
            max_lift: 1.0 + scale,
            best: Vec::with_capacity(2 * top),
            bar: None,
            count: 0,
            sample: Vec::new(),
            buckets: BUCKETS,
        })
    }

    fn requires_scoring(&self) -> bool {
        matches!(self.order, PageOrder::Relevance { .. })
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFruit> {
        let mut segment = self.for_segment(ord, reader)?;
        let alive = reader.alive_bitset();
        let is_alive = |doc: DocId| alive.is_none_or(|a| a.is_alive(doc));
        match self.order {
            PageOrder::Relevance { .. } => weight.for_each(reader, &mut |doc, score| {
                if is_alive(doc) {
                    segment.collect(doc, score);
                }
            })?,
            PageOrder::Newest => weight.for_each_no_score(reader, &mut |docs| {
                for &doc in docs {
                    if is_alive(doc) {
                        segment.collect(doc, 0.0);
                    }
                }
            })?,
        }
        Ok(segment.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<MapFruit> {
        let total = fruits.iter().map(|f| f.count).sum();
        let mut top: Vec<(Ranked, SegmentOrdinal)> = fruits
            .iter()
            .flat_map(|f| f.top.iter().map(move |r| (*r, f.ord)))
            .collect();
        top.sort_by(|(a, sa), (b, sb)| {
            b.key
                .total_cmp(&a.key)
                .then(sa.cmp(sb))
                .then(a.doc.cmp(&b.doc))
        });
        top.truncate(self.top);
        // One sampling rate for every segment, so one scale applies to all counts: the
        // smallest any segment kept, halved until the whole sample fits the bound.
        let mut buckets = fruits.iter().map(|f| f.buckets).min().unwrap_or(BUCKETS);
        let kept = |b: u32| -> usize {
            fruits
                .iter()
                .map(|f| f.sample.iter().filter(|&&d| bucket(f.base, d) < b).count())
                .sum()
        };
        // Beyond the exact bound, a smaller sample estimates as well (a value in a fifth of
        // the matches within about 3%) for a quarter of the facet reads.
        let target = if total > self.sample_up_to {
            self.sample_up_to.min(FACET_SAMPLE)
        } else {
            self.sample_up_to
        };
        while buckets > 1 && kept(buckets) > target {
            buckets /= 2;
        }
        let sample = fruits
            .into_iter()
            .map(|mut f| {
                let base = f.base;
                f.sample.retain(|&d| bucket(base, d) < buckets);
                (f.ord, f.sample)
            })
            .collect();
        Ok(MapFruit {
            total,
            top: top
                .into_iter()
                .map(|(r, ord)| (r.key, DocAddress::new(ord, r.doc)))
                .collect(),
            sample,
            buckets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_spread_consecutive_documents_evenly() {
        let mut counts = [0u32; BUCKETS as usize];
        for doc in 0..64_000 {
            counts[bucket(0, doc) as usize] += 1;
        }
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(
            *min >= 900 && *max <= 1100,
            "buckets hold {min}..{max} of 1,000 each"
        );
    }

    /// Many small segments (as right after a burst of edits) are sampled at the same rate as
    /// one large one: a quarter of the buckets holds about a quarter of the documents.
    #[test]
    fn small_segments_are_sampled_at_the_rate_of_the_whole() {
        for size in [1u32, 3, 7, 40] {
            let segments = 2_400 / size;
            let sampled: u32 = (0..segments)
                .map(|s| {
                    (0..size)
                        .filter(|&d| bucket(s * size, d) < BUCKETS / 4)
                        .count() as u32
                })
                .sum();
            let whole = segments * size;
            let share = f64::from(sampled) / f64::from(whole);
            assert!(
                (share - 0.25).abs() < 0.02,
                "segments of {size}: {sampled} of {whole} sampled"
            );
        }
    }

    /// The lift taken from a segment's decoded change times is the lift of each one's age.
    #[test]
    fn decoded_change_times_lift_as_their_age_does() {
        let now = 1_800_000_000_000i64;
        let day = 86_400_000i64;
        let ages = [0, 1, day, 7 * day, 30 * day, 400 * day];
        let r = SegmentRecency::from_updated(ages.iter().map(|a| now - 3 * day - a).collect());
        for (doc, age) in ages.iter().enumerate() {
            let got = 1.0 + r.scale(now) * f64::from(r.fresh[doc]);
            let want = lift(3 * day + age);
            assert!((got - want).abs() < 1e-6, "age {age}: {got} vs {want}");
        }
        assert!(
            (1.0 + r.scale(now - 10 * day) - MAX_LIFT).abs() < 1e-9,
            "a clock behind"
        );
    }

    #[test]
    fn the_lift_is_largest_for_a_queue_changed_just_now_and_fades() {
        assert!((lift(0) - MAX_LIFT).abs() < 1e-9);
        assert!(lift(86_400_000 * 30) < lift(86_400_000));
        assert!(lift(86_400_000 * 365) > 1.0);
        assert!(lift(-5) <= MAX_LIFT, "a clock ahead lifts no more than now");
    }

    /// The page is the best `top` however they arrive: rising keys (every match beats the
    /// bar, as when later documents are newer), falling and equal ones.
    #[test]
    fn a_segment_keeps_the_best_whatever_the_order_of_arrival() {
        let recency = Arc::new(SegmentRecency::from_updated(vec![0; 1000]));
        let run = |keys: &dyn Fn(u32) -> f64| {
            let mut seg = MapSegment {
                ord: 0,
                base: 0,
                top: 10,
                order: PageOrder::Newest,
                sample_up_to: 100,
                recency: recency.clone(),
                scale: 0.0,
                max_lift: 1.0,
                best: Vec::new(),
                bar: None,
                count: 0,
                sample: Vec::new(),
                buckets: BUCKETS,
            };
            for doc in 0..1000 {
                seg.count += 1;
                seg.offer(Ranked {
                    key: keys(doc),
                    doc,
                });
            }
            seg.harvest().top
        };
        let rising = run(&|d| d as f64);
        assert_eq!(
            rising.iter().map(|r| r.doc).collect::<Vec<_>>(),
            (990..1000).rev().collect::<Vec<_>>()
        );
        let falling = run(&|d| -(d as f64));
        assert_eq!(
            falling.iter().map(|r| r.doc).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        let equal = run(&|_| 1.0);
        assert_eq!(
            equal.iter().map(|r| r.doc).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>(),
            "ties go to the earlier"
        );
    }

    #[test]
    fn ties_go_to_the_earlier_document() {
        let a = Ranked { key: 1.0, doc: 3 };
        let b = Ranked { key: 1.0, doc: 7 };
        assert!(a > b);
        assert!(Ranked { key: 2.0, doc: 9 } > a);
    }
}
