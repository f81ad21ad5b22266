//! Turns a parsed query into a tantivy query.

use super::expand::{Expansions, Plus};
use super::Fields;
use crate::domain::ParsedQuery;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Facet, IndexRecordOption};
use tantivy::Term;

/// Every word must match some field; every filter must hold. Exact terms score by BM25 and
/// outrank prefix matches, which outrank one-typo matches (both score a constant); each term's
/// postings are read once per field (see `expand`).
pub(super) fn build(f: &Fields, parsed: &ParsedQuery) -> Box<dyn Query> {
    // (field, boost, whether one typo is forgiven there): typos are forgiven in the short,
    // telling fields; long descriptions and names of people and clusters match by prefix.
    let text_fields = [
        (f.name, 4.0, true),
        (f.project, 2.0, true),
        (f.tags, 2.0, true),
        (f.description, 1.0, false),
        (f.owner, 1.0, false),
        (f.cluster, 1.0, false),
        // A schema's field names find the queues that carry them; their docs match by word.
        (f.schema_fields, 1.5, false),
        (f.schema_docs, 0.5, false),
    ];
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for word in &parsed.words {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let typo_tolerant = word.chars().count() >= 4;
        for (field, boost, typos_here) in text_fields {
            let typos = typo_tolerant && typos_here;
            // Exact scores by BM25 above a prefix (as you type), which scores above a typo.
            // Each clause reads only its own terms (`expand`); a match of the exact or a
            // longer term also gets the constant of each looser clause it used to match too.
            let (prefix, typo) = (boost * 0.5, if typos { boost * 0.2 } else { 0.0 });
            let exact = TermQuery::new(
                Term::from_field_text(field, word),
                IndexRecordOption::WithFreqs,
            );
            alternatives.push((
                Occur::Should,
                Box::new(Plus {
                    inner: Box::new(BoostQuery::new(Box::new(exact), boost * 2.0)),
                    add: prefix + typo,
                }),
            ));
            let expansions = |typo| Expansions {
                field,
                word: word.clone(),
                typo,
            };
            alternatives.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(expansions(false)), prefix + typo)),
            ));
            if typos {
                alternatives.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(expansions(true)), typo)),
                ));
            }
        }
        alternatives.push((
            Occur::Should,
            Box::new(TermQuery::new(
                Term::from_field_text(f.format, word),
                IndexRecordOption::Basic,
            )),
        ));
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
    }
    for (field, value) in &parsed.filters {
        let facet = Facet::from_path([field.as_str(), value.as_str()]);
        clauses.push((
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_facet(f.facets, &facet),
                IndexRecordOption::Basic,
            )),
        ));
    }
    if parsed.words.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}
