//! The interface every embedding model offers, local or remote, in LangChain's shape.

/// A failure of an [`Embedder`], keeping its cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct EmbedError {
    /// What failed.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl EmbedError {
    /// Wraps any error.
    pub fn from_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Self {
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

/// Something that turns texts into vectors: a local model or a remote API.
///
/// Documents and queries are separate calls because retrieval models embed them differently
/// (a query instruction, a `query` prompt).
pub trait Embedder: Send + Sync {
    /// Embeds documents (passages to be searched).
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Embeds one search query.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError>;
    /// Width of the vectors, when known without a call.
    fn dimensions(&self) -> Option<usize>;
}
