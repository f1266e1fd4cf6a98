//! The rerank step on both backends, with hand-made models whose answers the test computes
//! itself: vectors of letter counts for the first search, and a reranker that scores a chunk
//! by how often the query occurs in it. Checked: the answer is the `k` best of the first
//! search's candidates by the reranker's score (and carries that score), the candidates are
//! exactly the first search's (vector, keyword, filtered), and bad settings are errors.

mod common;

use common::{fresh_store, store_urls};
use embedkit_core::{EmbedError, EmbedOptions, Embedder, Reranker};
use embedkit_store::{
    Document, Error, Filter, Hit, IngestOptions, Rerank, SearchMode, SearchOptions, Storage,
    StoreModel, DEFAULT_RERANK_CANDIDATES,
};
use std::sync::Arc;

/// 26 letter counts.
struct Letters;

impl Embedder for Letters {
    fn embed_with_progress(
        &self,
        texts: &[&str],
        _: &EmbedOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        progress(texts.len());
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0; 26];
                for b in t
                    .to_ascii_lowercase()
                    .bytes()
                    .filter(u8::is_ascii_lowercase)
                {
                    v[(b - b'a') as usize] += 1.0;
                }
                v
            })
            .collect())
    }
    fn dimensions(&self) -> Option<usize> {
        Some(26)
    }
    fn normalizes(&self) -> bool {
        false
    }
    fn max_input_tokens(&self) -> Result<usize, EmbedError> {
        Ok(512)
    }
    fn count_tokens(&self, pieces: &[&str]) -> Result<Vec<usize>, EmbedError> {
        Ok(pieces
            .iter()
            .map(|p| p.split_whitespace().count())
            .collect())
    }
}

/// How many times the query occurs in the chunk (case-insensitive).
fn occurrences(query: &str, text: &str) -> f32 {
    text.to_lowercase().matches(&query.to_lowercase()).count() as f32
}

struct Occurrences;

impl Reranker for Occurrences {
    fn score(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>, EmbedError> {
        Ok(documents.iter().map(|d| occurrences(query, d)).collect())
    }
}

struct Broken;

impl Reranker for Broken {
    fn score(&self, _: &str, _: &[&str]) -> Result<Vec<f32>, EmbedError> {
        Err(EmbedError::model("the model produced a non-finite value"))
    }
}

const DOCS: [(&str, &str, &str); 6] = [
    ("a", "tea tea tea, and coffee", "en"),
    ("b", "teapots hold tea", "en"),
    ("c", "a tea plantation", "en"),
    ("d", "no drink here at all", "en"),
    ("e", "tea tea tea tea 茶", "zh"),
    ("f", "steam", "en"),
];

/// The reranker's answer over `candidates`, computed here: by occurrences, best first, ties
/// in candidate order, `k` of them.
fn expected(query: &str, candidates: &[Hit], k: usize) -> Vec<(String, f32)> {
    let mut scored: Vec<(usize, String, f32)> = candidates
        .iter()
        .enumerate()
        .map(|(i, h)| (i, h.id.clone(), occurrences(query, &h.text)))
        .collect();
    scored.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    scored
        .into_iter()
        .take(k)
        .map(|(_, id, s)| (id, s))
        .collect()
}

fn ids_scores(hits: &[Hit]) -> Vec<(String, f32)> {
    hits.iter().map(|h| (h.id.clone(), h.score)).collect()
}

#[test]
fn rerank_keeps_the_k_best_candidates_by_the_rerankers_score() {
    let model = StoreModel::new("letters", Arc::new(Letters));
    let docs: Vec<Document> = DOCS
        .iter()
        .map(|(id, text, lang)| Document {
            id: id.to_string(),
            text: text.to_string(),
            metadata: serde_json::json!({ "lang": lang }),
        })
        .collect();
    for url in store_urls() {
        let (_dir, store) = fresh_store(&url);
        store
            .create_collection(&model.collection("c", None, Storage::F32).unwrap())
            .unwrap();
        store
            .add_documents("c", &docs, &model, &IngestOptions::default(), |_| {})
            .unwrap();
        let rerank = Rerank::new(&Occurrences);
        for mode in [SearchMode::Vector, SearchMode::Keyword, SearchMode::Hybrid] {
            for (candidates, k) in [(None, 2), (Some(3), 2), (Some(6), 6), (Some(2), 2)] {
                let options = SearchOptions {
                    k,
                    mode,
                    ..Default::default()
                };
                let rerank = Rerank {
                    candidates,
                    ..rerank
                };
                let got = store
                    .search_reranked("c", &model, "tea", &options, &rerank)
                    .unwrap();
                // The candidates are the first search's best, as deep as asked.
                let depth = candidates.unwrap_or(DEFAULT_RERANK_CANDIDATES);
                let first = store
                    .search(
                        "c",
                        &model,
                        "tea",
                        &SearchOptions {
                            k: depth,
                            ..options.clone()
                        },
                    )
                    .unwrap();
                let want = expected("tea", &first, k);
                assert_eq!(ids_scores(&got), want, "{url} {mode:?} {candidates:?}");
                // Texts and metadata travel with the hits.
                for h in &got {
                    let (_, text, lang) = DOCS.iter().find(|d| d.0 == h.id).unwrap();
                    assert_eq!(
                        (h.text.as_str(), &h.metadata["lang"]),
                        (*text, &(*lang).into())
                    );
                }
            }
        }
        // With every chunk a candidate, the answer is the reranker's order of the collection:
        // e (4), a (3), then b and c (1 each, in the first search's order).
        let all = store
            .search_reranked(
                "c",
                &model,
                "tea",
                &SearchOptions {
                    k: 3,
                    ..Default::default()
                },
                &rerank,
            )
            .unwrap();
        let ids: Vec<&str> = all.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(&ids[..2], ["e", "a"], "{url}");
        assert_eq!(all[0].score, 4.0);
        assert!(["b", "c"].contains(&ids[2]), "{url}: {ids:?}");
        // A filter narrows the candidates.
        let en = store
            .search_reranked(
                "c",
                &model,
                "tea",
                &SearchOptions {
                    k: 1,
                    filter: Filter::parse(&["lang=en".to_string()]).unwrap(),
                    ..Default::default()
                },
                &rerank,
            )
            .unwrap();
        assert_eq!(ids_scores(&en), [("a".to_string(), 3.0)], "{url}");

        // Bad settings and a failing reranker are errors.
        let options = SearchOptions {
            k: 3,
            ..Default::default()
        };
        for candidates in [0, 2] {
            let rerank = Rerank {
                candidates: Some(candidates),
                ..rerank
            };
            let e = store
                .search_reranked("c", &model, "tea", &options, &rerank)
                .unwrap_err();
            assert!(matches!(e, Error::InvalidInput(_)), "{e}");
        }
        let e = store
            .search_reranked("c", &model, "tea", &options, &Rerank::new(&Broken))
            .unwrap_err();
        assert!(
            matches!(&e, Error::Embed(m) if !m.is_invalid_input()),
            "{e}"
        );
    }
}

#[test]
fn depth_is_the_default_or_k_and_apply_takes_any_hit_list() {
    let rerank = Rerank::new(&Occurrences);
    assert_eq!(rerank.depth(5).unwrap(), DEFAULT_RERANK_CANDIDATES);
    assert_eq!(rerank.depth(80).unwrap(), 80);
    let hit = |id: &str, text: &str| Hit {
        id: id.into(),
        chunk: 0,
        score: 0.5,
        text: text.into(),
        metadata: serde_json::json!({}),
    };
    assert!(rerank.apply("x", Vec::new(), 3).unwrap().is_empty());
    assert!(rerank
        .apply("x", vec![hit("a", "x")], 0)
        .unwrap()
        .is_empty());
    let got = rerank
        .apply("x", vec![hit("a", "x"), hit("b", "xxx"), hit("c", "")], 5)
        .unwrap();
    assert_eq!(
        ids_scores(&got),
        [("b".into(), 3.0), ("a".into(), 1.0), ("c".into(), 0.0)]
    );
}
