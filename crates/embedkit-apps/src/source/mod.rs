//! Where vectors come from: the one seam between the applications and the models.
//!
//! A sentence model (local or `openai:` remote, through [`embedkit_core::Embedder`]) embeds
//! item texts; vectors given with the items are used as they are. Word vectors (a word is
//! looked up, a text is averaged: [`AveragedWords`]), image models (items naming image files)
//! and the vector store implement the same trait.

use crate::data::Item;
use crate::error::{invalid, Result};
use crate::linalg::check_matrix;
use embedkit_core::Embedder;

mod words;
pub use words::{tokens, AveragedWords, WORDS_PREFIX};

/// Produces one vector per item.
pub trait VectorSource {
    /// What made the vectors (model folder, hub id, `openai:NAME`, a file name); saved
    /// classifiers record it.
    fn model_id(&self) -> &str;
    /// Width of the vectors, when known before embedding.
    fn dimensions(&self) -> Option<usize>;
    /// One vector per item, in order.
    fn vectors(&self, items: &[Item]) -> Result<Vec<Vec<f32>>>;
}

/// Item texts embedded as documents by any [`Embedder`].
pub struct TextEmbedding<'a> {
    embedder: &'a dyn Embedder,
    id: String,
}

impl<'a> TextEmbedding<'a> {
    /// `id` names the model in saved classifiers.
    pub fn new(embedder: &'a dyn Embedder, id: impl Into<String>) -> Self {
        Self {
            embedder,
            id: id.into(),
        }
    }
}

/// The texts of `items`, or an error naming the first item without one.
pub fn texts_of(items: &[Item]) -> Result<Vec<&str>> {
    items
        .iter()
        .map(|i| {
            i.text
                .as_deref()
                .ok_or_else(|| invalid(format!("item {} has no text to embed", i.id)))
        })
        .collect()
}

impl VectorSource for TextEmbedding<'_> {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> Option<usize> {
        self.embedder.dimensions()
    }

    fn vectors(&self, items: &[Item]) -> Result<Vec<Vec<f32>>> {
        Ok(self.embedder.embed_documents(&texts_of(items)?)?)
    }
}

/// The vectors stored with the items (`"embedding"` in JSONL, or rows of an `.npy` file).
pub struct StoredVectors {
    id: String,
}

impl StoredVectors {
    /// `id` says where the vectors came from (e.g. the file, or the model that made them).
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }
}

impl VectorSource for StoredVectors {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> Option<usize> {
        None
    }

    fn vectors(&self, items: &[Item]) -> Result<Vec<Vec<f32>>> {
        items
            .iter()
            .map(|i| {
                i.embedding.clone().ok_or_else(|| {
                    invalid(format!(
                        "item {} has no \"embedding\" (give a model to embed texts)",
                        i.id
                    ))
                })
            })
            .collect()
    }
}

/// Vectors for `items` from `source`, checked: one per item, same width, finite.
pub fn vectors_for(source: &dyn VectorSource, items: &[Item]) -> Result<Vec<Vec<f32>>> {
    let vectors = source.vectors(items)?;
    if vectors.len() != items.len() {
        return Err(invalid(format!(
            "{} returned {} vectors for {} items",
            source.model_id(),
            vectors.len(),
            items.len()
        )));
    }
    check_matrix(&vectors, source.model_id())?;
    Ok(vectors)
}
