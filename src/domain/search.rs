//! The data map's query language and results: words, `field:value` filters, facets.

use serde::{Deserialize, Serialize};

/// The filters a query may carry, as `field:value` in the text or as separate parameters.
pub const FILTER_FIELDS: [&str; 5] = ["project", "tag", "cluster", "format", "owner"];

/// What a user asks the data map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct SearchRequest {
    /// Words (prefix and typo tolerant) and `field:value` filters.
    pub q: Option<String>,
    pub project: Option<String>,
    pub tag: Option<String>,
    pub cluster: Option<String>,
    pub format: Option<String>,
    pub owner: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// A query split into lowercase words and `(field, value)` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    pub words: Vec<String>,
    pub filters: Vec<(String, String)>,
}

impl SearchRequest {
    /// The filter parameters by name, in [`FILTER_FIELDS`] order.
    pub fn filter_params(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("project", &self.project),
            ("tag", &self.tag),
            ("cluster", &self.cluster),
            ("format", &self.format),
            ("owner", &self.owner),
        ]
    }

    /// Words from `q`; filters from `q` and from the separate parameters, deduplicated.
    pub fn parse(&self) -> ParsedQuery {
        let mut parsed = parse_query(self.q.as_deref().unwrap_or_default());
        for (field, value) in self.filter_params() {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                let pair = (field.to_string(), v.to_lowercase());
                if !parsed.filters.contains(&pair) {
                    parsed.filters.push(pair);
                }
            }
        }
        parsed
    }

    /// Page bounds: 20 by default, at most 100.
    pub fn page(&self) -> (usize, usize) {
        (
            self.offset.unwrap_or(0).min(10_000),
            self.limit.unwrap_or(20).clamp(1, 100),
        )
    }
}

/// Splits text into words (on anything that is not a letter or digit, as the index does)
/// and known `field:value` filters.
pub fn parse_query(text: &str) -> ParsedQuery {
    let mut out = ParsedQuery::default();
    for part in text.split_whitespace() {
        if let Some((field, value)) = part.split_once(':') {
            let field = field.to_lowercase();
            if FILTER_FIELDS.contains(&field.as_str()) && !value.is_empty() {
                let pair = (field, value.to_lowercase());
                if !out.filters.contains(&pair) {
                    out.filters.push(pair);
                }
                continue;
            }
        }
        out.words.extend(words(part));
    }
    out
}

/// Lowercase alphanumeric runs: the same split the index applies to text.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// One facet value and how many hits carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// The counts of one facet (project, tag, cluster, format, owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Facet {
    pub field: String,
    pub values: Vec<FacetCount>,
}

/// A run of description text, highlighted where it matched the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnippetPart {
    pub text: String,
    pub highlight: bool,
}

/// One queue found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub id: i64,
    pub project: String,
    pub name: String,
    pub description: String,
    pub snippet: Vec<SnippetPart>,
    pub owner: String,
    pub tags: Vec<String>,
    pub cluster: String,
    pub cluster_kind: String,
    pub format: String,
    pub score: f32,
    /// What the applications of the searcher's projects may do with the queue.
    #[serde(default)]
    pub access: super::QueueAccess,
    /// Schema fields whose names matched a word of the query (a few at most).
    #[serde(default)]
    pub matched_fields: Vec<String>,
    /// The worst status of the queue's consumer groups, where any is tracked.
    #[serde(default)]
    pub health: Option<super::GroupStatus>,
}

/// The field paths in which some query word starts one of the path's words (split at dots and
/// underscores), at most `max` of them.
pub fn matching_fields(paths: &[String], query_words: &[String], max: usize) -> Vec<String> {
    if query_words.is_empty() {
        return Vec::new();
    }
    paths
        .iter()
        .filter(|p| {
            p.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .any(|w| {
                    let w = w.to_lowercase();
                    query_words.iter().any(|q| w.starts_with(&q.to_lowercase()))
                })
        })
        .take(max)
        .cloned()
        .collect()
}

/// A page of hits with facet counts over all matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub facets: Vec<Facet>,
    /// True when the match set was large and facet counts were estimated from a sample.
    pub facets_estimated: bool,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub took_ms: f64,
    /// Set while the index is being built from the database (a first start, or an upgrade):
    /// what it holds so far, which may be nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub building: Option<IndexBuild>,
}

/// How far a build of the search index has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IndexBuild {
    pub indexed: u64,
    pub total: u64,
}

/// Whether a text word matches a query word: as a prefix, or within one edit for words of
/// four letters or more (the same rule the index applies).
pub fn word_matches(query: &str, word: &str) -> bool {
    if word.starts_with(query) {
        return true;
    }
    if query.chars().count() < 4 {
        return false;
    }
    // Compare with the word's prefix of the same length, allowing one edit.
    let q: Vec<char> = query.chars().collect();
    let w: Vec<char> = word.chars().collect();
    [q.len().saturating_sub(1), q.len(), q.len() + 1]
        .into_iter()
        .filter(|&n| n <= w.len() && n > 0)
        .any(|n| within_one_edit(&q, &w[..n]))
}

fn within_one_edit(a: &[char], b: &[char]) -> bool {
    match a.len() as isize - b.len() as isize {
        0 => {
            let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            match diffs.as_slice() {
                [] | [_] => true,
                [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
                _ => false,
            }
        }
        1 | -1 => {
            let (long, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
            let i = (0..short.len())
                .find(|&i| long[i] != short[i])
                .unwrap_or(short.len());
            long[i + 1..] == short[i..]
        }
        _ => false,
    }
}

/// Splits a description into runs, highlighting the words the query matched.
pub fn highlight(text: &str, query_words: &[String]) -> Vec<SnippetPart> {
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut push = |s: &str, highlight: bool| match parts.last_mut() {
        Some(last) if last.highlight == highlight => last.text.push_str(s),
        _ => parts.push(SnippetPart {
            text: s.to_string(),
            highlight,
        }),
    };
    let mut start = 0;
    let mut in_word = false;
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in bytes.iter().enumerate() {
        let is_word = c.is_alphanumeric();
        if is_word != in_word {
            if i > start {
                let chunk = &text[start..i];
                let hit = in_word
                    && query_words
                        .iter()
                        .any(|q| word_matches(q, &chunk.to_lowercase()));
                push(chunk, hit);
            }
            start = i;
            in_word = is_word;
        }
        if k == bytes.len() - 1 {
            let chunk = &text[start..];
            let hit = in_word
                && query_words
                    .iter()
                    .any(|q| word_matches(q, &chunk.to_lowercase()));
            push(chunk, hit);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn filters_are_taken_out_of_the_words() {
        let p = parse_query("Order events tag:PII project:shop nosuch:x");
        assert_eq!(p.words, ["order", "events", "nosuch", "x"]);
        assert_eq!(
            p.filters,
            [
                ("tag".into(), "pii".into()),
                ("project".into(), "shop".into())
            ]
        );
    }

    #[test]
    fn parameters_add_filters_once() {
        let r = SearchRequest {
            q: Some("x tag:pii".into()),
            tag: Some("pii".into()),
            project: Some("shop".into()),
            ..Default::default()
        };
        assert_eq!(r.parse().filters.len(), 2);
        assert_eq!(r.page(), (0, 20));
    }

    #[test]
    fn typos_of_one_edit_match_long_words_only() {
        assert!(word_matches("ord", "orders"));
        assert!(word_matches("ordres", "orders"), "transposition");
        assert!(word_matches("oders", "orders"), "deletion");
        assert!(word_matches("orderz", "orders"), "substitution");
        assert!(
            !word_matches("odr", "orders"),
            "short words need an exact prefix"
        );
        assert!(!word_matches("payments", "orders"));
    }

    #[test]
    fn matching_fields_finds_fields_by_word_prefix() {
        let paths = vec![
            "user_id".to_string(),
            "address.city".to_string(),
            "amount".to_string(),
        ];
        assert_eq!(
            matching_fields(&paths, &["city".into()], 5),
            vec!["address.city"]
        );
        assert_eq!(matching_fields(&paths, &["US".into()], 5), vec!["user_id"]);
        assert!(matching_fields(&paths, &[], 5).is_empty());
        assert_eq!(
            matching_fields(&paths, &["a".into()], 1),
            vec!["address.city"]
        );
    }

    #[test]
    fn highlighting_marks_matched_words_and_keeps_the_text() {
        let parts = highlight("Every order event, in order", &["order".into()]);
        let text: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "Every order event, in order");
        let marked: Vec<&str> = parts
            .iter()
            .filter(|p| p.highlight)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(marked, ["order", "order"]);
    }

    proptest! {
        #[test]
        fn highlighting_never_loses_text(text in "\\PC{0,60}", q in "[a-z]{1,6}") {
            let parts = highlight(&text, &[q]);
            let joined: String = parts.iter().map(|p| p.text.as_str()).collect();
            prop_assert_eq!(joined, text);
        }

        #[test]
        fn every_word_matches_itself_and_its_prefixes(w in "[a-z0-9]{1,12}") {
            prop_assert!(word_matches(&w, &w));
            prop_assert!(word_matches(&w[..1], &w));
        }
    }
}
