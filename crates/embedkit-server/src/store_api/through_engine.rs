//! The served models as the store sees them: an [`Embedder`] whose forward passes go through
//! the model's engine queue, so `/v1/collections` writes and searches are batched with
//! `/v1/embeddings` requests under one token budget instead of running the model beside it.

use crate::engine::{TextBatcher, TextItem, Worker};
use embedkit_core::{EmbedError, EmbedOptions, Embedder, Prompts, Similarity};
use embedkit_models::SentenceEmbedder;
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
