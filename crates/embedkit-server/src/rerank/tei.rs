//! `POST /rerank` bodies in text-embeddings-inference's schema: `query`, `texts`,
//! `raw_scores` (the logits instead of the activated scores), `return_text`, `truncate`,
//! `truncation_direction`; the answer is a JSON array `[{"index", "score", "text"?}]`, best
//! first. embedkit adds `model`, for servers with several rerankers.

use serde::{Deserialize, Serialize};

/// The request body.
#[derive(Debug, Clone, Deserialize)]
pub struct TeiRerankRequest {
    /// The question.
    pub query: String,
    /// The documents. Optional here only so that a Cohere / Jina body (with `documents`) sent
    /// to this route gets an error that names the right route.
    #[serde(default)]
    pub texts: Option<Vec<String>>,
    /// Return the model's logits rather than scores through its activation.
    #[serde(default)]
    pub raw_scores: bool,
    /// Return each text with its score.
    #[serde(default)]
    pub return_text: bool,
    /// Cut pairs longer than the model's limit (default true, as `/v1/embeddings`);
    /// `false` answers 400 instead.
    #[serde(default)]
    pub truncate: Option<bool>,
    /// `Right` (the default, and the only direction supported: the longer of query and text
    /// loses tokens from its end, as transformers' `longest_first`).
    #[serde(default)]
    pub truncation_direction: Option<String>,
    /// embedkit extra: the served reranker (default: the only one).
    #[serde(default)]
    pub model: Option<String>,
}

/// One ranked text.
#[derive(Debug, Clone, Serialize)]
pub struct TeiRank {
    /// Position of the text in the request.
    pub index: usize,
    /// The score (or logit with `raw_scores`).
    pub score: f32,
    /// The text, with `return_text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}
