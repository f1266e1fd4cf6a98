//! The seam every consumer of models uses: [`Embedder`] for texts (local models, remote APIs)
//! and [`ImageEmbedder`] for image files. The store, the server's collections, the CLI and
//! the applications hold a `dyn Embedder` / `dyn ImageEmbedder` and nothing more, so they do
//! not depend on how a model is built.

use crate::prompt::{InputRole, Prompt, Prompts};
use crate::Similarity;
use std::path::PathBuf;

/// What kind of failure an [`EmbedError`] is: the caller's input, or the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedErrorKind {
    /// The request cannot be embedded as given (an unknown prompt name, a bad image, too
    /// many dimensions): the caller can fix it.
    InvalidInput,
    /// The model failed (a remote API, non-finite outputs, a stopped worker).
    Model,
    /// The caller's own callback asked to stop; the reason is the caller's to keep.
    Stopped,
}

/// A failure of an [`Embedder`] or [`ImageEmbedder`], keeping its cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EmbedError {
    /// Input or model.
    pub kind: EmbedErrorKind,
    /// What failed.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl EmbedError {
    /// Wraps any error as a model failure.
    pub fn from_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Self {
            kind: EmbedErrorKind::Model,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }

    /// Wraps any error with the given kind.
    pub fn with_kind<E: std::error::Error + Send + Sync + 'static>(
        kind: EmbedErrorKind,
        e: E,
    ) -> Self {
        Self {
            kind,
            ..Self::from_error(e)
        }
    }

    /// Bad input, with a message for the person who gave it.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: EmbedErrorKind::InvalidInput,
            message: message.into(),
            source: None,
        }
    }

    /// A model failure.
    pub fn model(message: impl Into<String>) -> Self {
        Self {
            kind: EmbedErrorKind::Model,
            message: message.into(),
            source: None,
        }
    }

    /// The caller's callback stopped the run.
    pub fn stopped() -> Self {
        Self {
            kind: EmbedErrorKind::Stopped,
            message: "stopped by the caller".into(),
            source: None,
        }
    }

    /// Whether the caller's input is at fault.
    pub fn is_invalid_input(&self) -> bool {
        self.kind == EmbedErrorKind::InvalidInput
    }
}

/// How to embed texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedOptions {
    /// Prompt in front of every text.
    pub prompt: Prompt,
    /// Matryoshka truncation: keep this many dimensions, then re-normalize.
    pub dimensions: Option<usize>,
    /// L2-normalize the output even if the model has no Normalize module.
    pub normalize: bool,
    /// Texts per forward pass (or per API call).
    pub batch_size: usize,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            prompt: Prompt::Default,
            dimensions: None,
            normalize: false,
            batch_size: 32,
        }
    }
}

/// Something that turns texts into vectors: a local model or a remote API.
///
/// Implementors give [`embed_with_progress`](Self::embed_with_progress) and what they know of
/// themselves; the LangChain-shaped [`embed_documents`](Self::embed_documents) /
/// [`embed_query`](Self::embed_query) and the prompt of each [`InputRole`] come with the
/// trait, decided by [`Prompts::choose`].
pub trait Embedder: Send + Sync {
    /// Embeds `texts` with `options`, calling `progress(n)` after each batch of `n` texts;
    /// rows come back in input order.
    fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Width of the vectors, when known without a call.
    fn dimensions(&self) -> Option<usize>;

    /// The similarity function the model was trained for.
    fn similarity(&self) -> Similarity {
        Similarity::Cosine
    }

    /// Whether every vector comes out unit-length.
    fn normalizes(&self) -> bool;

    /// The model's named prompts and default (none for remote APIs).
    fn prompts(&self) -> Prompts {
        Prompts::default()
    }

    /// Tokens one input may have, prompt and special tokens excluded: the largest chunk the
    /// model embeds whole.
    fn max_input_tokens(&self) -> Result<usize, EmbedError>;

    /// Token counts of `pieces` without special tokens, as the model's tokenizer counts them.
    /// A piece the tokenizer had to cut counts as more than
    /// [`max_input_tokens`](Self::max_input_tokens).
    fn count_tokens(&self, pieces: &[&str]) -> Result<Vec<usize>, EmbedError>;

    /// Embeds `texts`; rows come back in input order.
    fn embed(&self, texts: &[&str], options: &EmbedOptions) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_with_progress(texts, options, &mut |_| {})
    }

    /// The options for texts of `role`: the model's prompt for it (see [`Prompts::choose`]),
    /// the rest default.
    fn options_for(&self, role: InputRole) -> EmbedOptions {
        EmbedOptions {
            prompt: self.prompts().choose(None, Some(role)),
            ..EmbedOptions::default()
        }
    }

    /// Embeds documents (passages to be searched) with the model's document prompt.
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed(texts, &self.options_for(InputRole::Document))
    }

    /// Embeds one search query with the model's query prompt (BGE's or Qwen3's instruction).
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut v = self.embed(&[text], &self.options_for(InputRole::Query))?;
        v.pop()
            .ok_or_else(|| EmbedError::model("the model returned no vector"))
    }
}

/// Something that turns image files into vectors.
pub trait ImageEmbedder: Send + Sync {
    /// Width of the vectors.
    fn dimensions(&self) -> usize;

    /// Embeds the images at `paths`, `batch_size` per forward pass, calling
    /// `on_batch(first, vectors)` in input order after each pass (`first` is the index of the
    /// batch's first image). An error from `on_batch` stops the run and is returned.
    fn embed_files(
        &self,
        paths: &[PathBuf],
        batch_size: usize,
        on_batch: &mut dyn FnMut(usize, Vec<Vec<f32>>) -> Result<(), EmbedError>,
    ) -> Result<(), EmbedError>;
}
