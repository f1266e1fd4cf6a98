//! Response bodies of the embeddings and models routes.

use serde::Serialize;

/// One vector, as floats or as base64 of little-endian f32.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// `encoding_format: float`.
    Float(Vec<f32>),
    /// `encoding_format: base64`.
    Base64(String),
}

/// One entry of `data`.
#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingData {
    /// Always `"embedding"`.
    pub object: &'static str,
    /// Position in the request's input.
    pub index: usize,
    /// The vector.
    pub embedding: EmbeddingVector,
}

/// Token counts.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// Tokens the model read (its own tokenizer, special tokens included).
    pub prompt_tokens: usize,
    /// Same as `prompt_tokens` for embeddings.
    pub total_tokens: usize,
}

/// The embeddings response.
#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingList {
    /// Always `"list"`.
    pub object: &'static str,
    /// One entry per input, in input order.
    pub data: Vec<EmbeddingData>,
    /// Served model name.
    pub model: String,
    /// Token counts.
    pub usage: Usage,
}

/// One entry of `GET /v1/models`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCard {
    /// Served name.
    pub id: String,
    /// Always `"model"`.
    pub object: &'static str,
    /// Unix time the server loaded it.
    pub created: u64,
    /// Always `"embedkit"`.
    pub owned_by: &'static str,
}

/// `GET /v1/models`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelList {
    /// Always `"list"`.
    pub object: &'static str,
    /// The served models.
    pub data: Vec<ModelCard>,
}
