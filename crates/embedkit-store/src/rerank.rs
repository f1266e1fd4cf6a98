//! The rerank step of retrieval: take the best `candidates` chunks of a search (vector,
//! keyword or hybrid), score each chunk's text against the question with a cross-encoder, and
//! keep the `k` best by that score. A cross-encoder reads the question and the chunk together,
//! so it judges relevance better than comparing two separately made vectors, but it costs a
//! forward pass per chunk: hence the cheap first search to narrow the field.
//!
//! The model comes in through the [`Reranker`] seam (`embedkit_models::CrossEncoder` in the
//! CLI, the server's engine-batched reranker over HTTP), so this crate loads no model.

use crate::error::{Error, Result};
use crate::rag::{SearchOptions, StoreModel};
use crate::store::{Hit, Store};
use embedkit_core::{EmbedError, Reranker};

/// Chunks retrieved for the reranker when the caller names no number (at least `k`).
pub const DEFAULT_RERANK_CANDIDATES: usize = 50;

/// A reranker and how many retrieved chunks it sees.
#[derive(Clone, Copy)]
pub struct Rerank<'a> {
    /// The cross-encoder.
    pub model: &'a dyn Reranker,
    /// Chunks retrieved and rescored; `None` means [`DEFAULT_RERANK_CANDIDATES`], or `k` when
    /// more are asked for. An explicit number below `k` is an error: the reranker could not
    /// fill the answer.
    pub candidates: Option<usize>,
}

impl<'a> Rerank<'a> {
    /// `model` with the default number of candidates.
    pub fn new(model: &'a dyn Reranker) -> Self {
        Self {
            model,
            candidates: None,
        }
    }

    /// How many chunks the first search retrieves for an answer of `k` hits.
    pub fn depth(&self, k: usize) -> Result<usize> {
        match self.candidates {
            None => Ok(DEFAULT_RERANK_CANDIDATES.max(k)),
            Some(0) => Err(Error::InvalidInput(
                "the number of rerank candidates must be at least 1".into(),
            )),
            Some(n) if n < k => Err(Error::InvalidInput(format!(
                "rerank candidates ({n}) must be at least k ({k}): the reranker only reorders what the first search retrieved"
            ))),
            Some(n) => Ok(n),
        }
    }

    /// The `k` best of `hits` by the reranker's score of their texts against `query`, best
    /// first, each hit's `score` replaced by the reranker's; equal scores keep the order of
    /// `hits` (the first search's).
    pub fn apply(&self, query: &str, hits: Vec<Hit>, k: usize) -> Result<Vec<Hit>> {
        if hits.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let texts: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
        let ranked = self.model.rerank(query, &texts, Some(k))?;
        let count = texts.len();
        let mut slots: Vec<Option<Hit>> = hits.into_iter().map(Some).collect();
        ranked
            .into_iter()
            .map(|r| {
                let mut hit = slots
                    .get_mut(r.index)
                    .and_then(Option::take)
                    .ok_or_else(|| {
                        EmbedError::model(format!(
                            "the reranker ranked chunk {} of {} twice or out of range",
                            r.index, count
                        ))
                    })?;
                hit.score = r.score;
                Ok(hit)
            })
            .collect()
    }
}

impl Store {
    /// [`Store::search`] for `rerank`'s number of candidates (by `options.mode`, filter
    /// applied), then the `options.k` best of them by the reranker ([`Rerank::apply`]).
    pub fn search_reranked(
        &self,
        collection: &str,
        model: &StoreModel,
        query: &str,
        options: &SearchOptions,
        rerank: &Rerank<'_>,
    ) -> Result<Vec<Hit>> {
        let first = SearchOptions {
            k: rerank.depth(options.k)?,
            ..options.clone()
        };
        let hits = self.search(collection, model, query, &first)?;
        rerank.apply(query, hits, options.k)
    }
}
