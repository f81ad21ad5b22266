//! A word's clauses that read each matching term's postings once.
//!
//! A typed word matches a field three ways: exactly (scored by BM25), as the start of a longer
//! term (as you type) and with one typo. tantivy's prefix and fuzzy queries each include the
//! word itself, so for a common word (`kafka`, in 600,000 queues' cluster names) the same
//! postings were read into a bitset once per way on top of the exact clause scoring them. Here
//! the prefix clause takes only the longer terms, the typo clause only the terms the other two
//! do not, and the exact clause carries the bonuses the other two used to add to an exact match,
//! so every document scores as before while each term's postings are read once.

use tantivy::query::{
    AutomatonWeight, EmptyScorer, EnableScoring, Explanation, FuzzyTermQuery, Query, QueryClone,
    Scorer, Weight,
};
use tantivy::schema::Field;
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, Term};
use tantivy_fst::Automaton;

/// Terms of `field` strictly longer than `word` that start with it, or (`typo`) the terms that
/// start within one edit of `word` but do not start with it; each matching document scores the
/// boost it is given (a constant).
#[derive(Clone, Debug)]
pub(super) struct Expansions {
    pub field: Field,
    pub word: String,
    pub typo: bool,
}

impl Query for Expansions {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let starts = StartsWith(self.word.as_bytes().into());
        if self.typo {
            let term = Term::from_field_text(self.field, &self.word);
            let dfa = FuzzyTermQuery::new_prefix(term, 1, true).automaton()?;
            Ok(Box::new(AutomatonWeight::new(
                self.field,
                NotStartingWith { dfa, starts },
            )))
        } else {
            Ok(Box::new(AutomatonWeight::new(self.field, starts)))
        }
    }
}

/// Matches the terms that start with a word and are longer than it.
struct StartsWith(Box<[u8]>);

/// How far a term has followed the word: `0..=len` bytes matched, `len + 1` past its end, or
/// [`DEAD`] (it left the word).
type Progress = usize;
const DEAD: Progress = usize::MAX;

impl StartsWith {
    fn step(&self, at: Progress, byte: u8) -> Progress {
        let len = self.0.len();
        match at {
            DEAD => DEAD,
            at if at < len => {
                if self.0[at] == byte {
                    at + 1
                } else {
                    DEAD
                }
            }
            _ => len + 1,
        }
    }

    /// Whether a term that got this far starts with the word (is it or longer).
    fn started(&self, at: Progress) -> bool {
        at != DEAD && at >= self.0.len()
    }
}

impl Automaton for StartsWith {
    type State = Progress;

    fn start(&self) -> Progress {
        0
    }

    fn is_match(&self, at: &Progress) -> bool {
        *at == self.0.len() + 1
    }

    fn can_match(&self, at: &Progress) -> bool {
        *at != DEAD
    }

    fn will_always_match(&self, at: &Progress) -> bool {
        self.is_match(at)
    }

    fn accept(&self, at: &Progress, byte: u8) -> Progress {
        self.step(*at, byte)
    }
}

/// One typo's terms less those that start with the word (the exact and prefix clauses').
struct NotStartingWith {
    dfa: tantivy::query::DfaWrapper,
    starts: StartsWith,
}

impl Automaton for NotStartingWith {
    type State = (u32, Progress);

    fn start(&self) -> Self::State {
        (self.dfa.start(), self.starts.start())
    }

    fn is_match(&self, (dfa, at): &Self::State) -> bool {
        self.dfa.is_match(dfa) && !self.starts.started(*at)
    }

    fn can_match(&self, (dfa, at): &Self::State) -> bool {
        // A term that starts with the word only goes on to longer terms that do too.
        self.dfa.can_match(dfa) && !self.starts.started(*at)
    }

    fn accept(&self, (dfa, at): &Self::State, byte: u8) -> Self::State {
        (self.dfa.accept(dfa, byte), self.starts.step(*at, byte))
    }
}

/// `inner` with `add` (times the boost it is given) added to every match's score.
#[derive(Debug)]
pub(super) struct Plus {
    pub inner: Box<dyn Query>,
    pub add: Score,
}

impl Clone for Plus {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.box_clone(),
            add: self.add,
        }
    }
}

impl Query for Plus {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(PlusWeight {
            inner: self.inner.weight(scoring)?,
            add: self.add,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct PlusWeight {
    inner: Box<dyn Weight>,
    add: Score,
}

impl Weight for PlusWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.inner.scorer(reader, boost)?;
        // An absent term stays visibly empty, so the boolean query drops the clause.
        if inner.is::<EmptyScorer>() {
            return Ok(inner);
        }
        Ok(Box::new(PlusScorer {
            inner,
            add: self.add * boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let inner = self.inner.explain(reader, doc)?;
        let mut explanation =
            Explanation::new_with_string(format!("plus {}", self.add), inner.value() + self.add);
        explanation.add_detail(inner);
        Ok(explanation)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

struct PlusScorer {
    inner: Box<dyn Scorer>,
    add: Score,
}

impl DocSet for PlusScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.inner.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.inner.seek_danger(target)
    }

    fn fill_buffer(&mut self, buffer: &mut [DocId; tantivy::COLLECT_BLOCK_BUFFER_LEN]) -> usize {
        self.inner.fill_buffer(buffer)
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn cost(&self) -> u64 {
        self.inner.cost()
    }
}

impl Scorer for PlusScorer {
    fn score(&mut self) -> Score {
        self.inner.score() + self.add
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<A: Automaton>(a: &A, term: &str) -> bool {
        let mut s = a.start();
        for &b in term.as_bytes() {
            if !a.can_match(&s) {
                return false;
            }
            s = a.accept(&s, b);
        }
        a.is_match(&s)
    }

    #[test]
    fn the_prefix_clause_takes_only_longer_terms() {
        let a = StartsWith((*b"kafka").into());
        assert!(run(&a, "kafkas"));
        assert!(!run(&a, "kafka"), "the word itself is the exact clause's");
        assert!(!run(&a, "kafk"));
        assert!(!run(&a, "kafta"));
    }

    #[test]
    fn the_typo_clause_leaves_out_what_starts_with_the_word() {
        let a = NotStartingWith {
            dfa: FuzzyTermQuery::new_prefix(
                Term::from_field_text(Field::from_field_id(0), "events"),
                1,
                true,
            )
            .automaton()
            .unwrap(),
            starts: StartsWith((*b"events").into()),
        };
        assert!(run(&a, "evnets"), "a transposition");
        assert!(run(&a, "evants"), "a substitution");
        assert!(run(&a, "eventually"), "starts one edit away");
        assert!(!run(&a, "events"));
        assert!(!run(&a, "eventsource"));
        assert!(!run(&a, "orders"));
    }

    /// Each document matching one way scores what it did when every clause also took the
    /// word itself (and the typo clause the longer terms).
    #[test]
    fn scores_are_those_of_the_overlapping_clauses() {
        use tantivy::collector::TopDocs;
        use tantivy::query::{BooleanQuery, BoostQuery, Occur, TermQuery};
        use tantivy::schema::{IndexRecordOption, Schema, TEXT};
        let mut schema = Schema::builder();
        let name = schema.add_text_field("name", TEXT);
        let index = tantivy::Index::create_in_ram(schema.build());
        let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        for text in [
            "kafka east",
            "kafkaesque",
            "kafk",
            "orders",
            "kafka kafka west",
        ] {
            writer.add_document(tantivy::doc!(name => text)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = Term::from_field_text(name, "kafka");
        let boost = |q: Box<dyn Query>, b: Score| -> (Occur, Box<dyn Query>) {
            (Occur::Should, Box::new(BoostQuery::new(q, b)))
        };
        let exact = || Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs));
        let before = BooleanQuery::new(vec![
            boost(exact(), 2.0),
            boost(
                Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, false)),
                0.5,
            ),
            boost(
                Box::new(FuzzyTermQuery::new_prefix(term.clone(), 1, true)),
                0.2,
            ),
        ]);
        let expansions = |typo| Expansions {
            field: name,
            word: "kafka".into(),
            typo,
        };
        let after = BooleanQuery::new(vec![
            (
                Occur::Should,
                Box::new(Plus {
                    inner: Box::new(BoostQuery::new(exact(), 2.0)),
                    add: 0.7,
                }) as Box<dyn Query>,
            ),
            boost(Box::new(expansions(false)), 0.7),
            boost(Box::new(expansions(true)), 0.2),
        ]);
        let scores = |q: &BooleanQuery| {
            let mut hits = searcher
                .search(q, &TopDocs::with_limit(10).order_by_score())
                .unwrap();
            hits.sort_by_key(|(_, a)| a.doc_id);
            hits
        };
        let (b, a) = (scores(&before), scores(&after));
        assert_eq!(b.len(), 4, "all but orders: {b:?}");
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        for ((sb, db), (sa, da)) in b.iter().zip(&a) {
            assert_eq!(db, da);
            assert!((sb - sa).abs() < 1e-4, "doc {da:?}: {sa} now, {sb} before");
        }
    }
}
