//! The served models as the store sees them: an [`Embedder`] whose forward passes go through
//! the model's engine queue, so `/v1/collections` writes and searches are batched with
//! `/v1/embeddings` requests under one token budget instead of running the model beside it;
//! and a [`Reranker`] whose passes go through the reranker's queue, batched with `/v1/rerank`
//! and `/rerank` requests.

use crate::engine::{TextBatcher, TextItem, Worker};
use crate::rerank::RerankBatcher;
use embedkit_core::{EmbedError, EmbedOptions, Embedder, Prompts, Reranker, Similarity};
use embedkit_models::{CrossEncoder, SentenceEmbedder};
use std::sync::Arc;

/// A local model whose passes run on its engine worker.
pub struct EngineEmbedder {
    model: Arc<SentenceEmbedder>,
    worker: Worker<TextBatcher>,
}

impl EngineEmbedder {
    /// `model`, run by `worker` (the worker that serves it).
    pub fn new(model: Arc<SentenceEmbedder>, worker: Worker<TextBatcher>) -> Self {
        Self { model, worker }
    }
}

impl Embedder for EngineEmbedder {
    /// Tokenizes here, then queues every text at once: the engine splits them into passes by
    /// its token budget. Called from the blocking pool (store work never runs on the async
    /// threads), so it may wait for the worker.
    fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.model.check_dimensions(options.dimensions)?;
        let prepared = self.model.prepare(texts, &options.prompt)?;
        let vectors = self
            .worker
            .submit(TextItem::all(prepared))
            .blocking_recv()
            .map_err(|_| EmbedError::model("the model worker dropped the request"))?
            .map_err(EmbedError::model)?;
        let out = vectors
            .into_iter()
            .map(|v| self.model.finish(v, options.dimensions, options.normalize))
            .collect::<Result<Vec<_>, _>>()?;
        progress(texts.len());
        Ok(out)
    }

    fn dimensions(&self) -> Option<usize> {
        Embedder::dimensions(self.model.as_ref())
    }

    fn similarity(&self) -> Similarity {
        self.model.similarity()
    }

    fn normalizes(&self) -> bool {
        Embedder::normalizes(self.model.as_ref())
    }

    fn prompts(&self) -> Prompts {
        self.model.prompts().clone()
    }

    fn max_input_tokens(&self) -> Result<usize, EmbedError> {
        Embedder::max_input_tokens(self.model.as_ref())
    }

    fn count_tokens(&self, pieces: &[&str]) -> Result<Vec<usize>, EmbedError> {
        Embedder::count_tokens(self.model.as_ref(), pieces)
    }
}

/// A served cross-encoder whose passes run on its engine worker.
pub struct EngineReranker {
    model: Arc<CrossEncoder>,
    worker: Worker<RerankBatcher>,
}

impl EngineReranker {
    /// `model`, run by `worker` (the worker that serves it).
    pub fn new(model: Arc<CrossEncoder>, worker: Worker<RerankBatcher>) -> Self {
        Self { model, worker }
    }
}

impl Reranker for EngineReranker {
    /// Tokenizes here and queues every pair at once (from the blocking pool, so it may wait),
    /// then checks the logits and applies the model's activation, as the rerank routes do.
    fn score(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>, EmbedError> {
        if self.model.labels() != 1 {
            return Err(EmbedError::invalid(format!(
                "this model is a classifier with {} labels, not a reranker: reranking needs one score per pair",
                self.model.labels()
            )));
        }
        let pairs: Vec<(&str, &str)> = documents.iter().map(|d| (query, *d)).collect();
        let encoded = self.model.tokenize(&pairs)?;
        let rows = self
            .worker
            .submit(encoded)
            .blocking_recv()
            .map_err(|_| EmbedError::model("the model worker dropped the request"))?
            .map_err(EmbedError::model)?;
        let activation = self.model.activation();
        rows.into_iter()
            .map(|row| match row.first() {
                Some(x) if x.is_finite() => Ok(activation.apply(*x)),
                // Kept as the cause, so the server answers 500 model_error as for embeddings.
                Some(_) => Err(EmbedError::from_error(embedkit_models::Error::NonFinite)),
                None => Err(EmbedError::model("the model gave no score")),
            })
            .collect()
    }
}
