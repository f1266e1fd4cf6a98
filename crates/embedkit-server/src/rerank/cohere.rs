//! `POST /v1/rerank` bodies in the schema Cohere's and Jina's rerank APIs share (and vLLM
//! serves): `model`, `query`, `documents` (strings, or objects with a `text` field), `top_n`,
//! `return_documents`; the answer is `{"model", "results": [{"index", "relevance_score",
//! "document"?}], "usage": {"total_tokens"}}`, best first. Unknown fields (Cohere's
//! `max_tokens_per_doc`, `rank_fields`, ...) are ignored, as the embeddings route ignores
//! `user`.

use crate::openai::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The request body.
#[derive(Debug, Clone, Deserialize)]
pub struct RerankRequest {
    /// Served reranker name; may be left out when the server serves one reranker.
    #[serde(default)]
    pub model: Option<String>,
    /// The question: a string, or an object with a `text` field (as Jina accepts).
    pub query: Value,
    /// The documents: strings, or objects with a `text` field.
    pub documents: Vec<Value>,
    /// How many results to return, best first (default: all; 0 is an error).
    #[serde(default)]
    pub top_n: Option<usize>,
    /// Whether each result carries its document's text (default true, as Jina and Cohere's
    /// v1 with documents sent as objects).
    #[serde(default = "default_return_documents")]
    pub return_documents: bool,
}

fn default_return_documents() -> bool {
    true
}

/// The text of a query or document: a string, or an object's string `text` field.
/// `what` names it in the error (`query`, `documents[3]`).
pub fn text_of(value: &Value, param: &'static str, what: &str) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Object(o) => match o.get("text") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(ApiError::invalid(
                Some(param),
                format!("{what} is an object without a string \"text\" field"),
            )),
        },
        other => Err(ApiError::invalid(
            Some(param),
            format!(
                "{what} must be a string or an object with a \"text\" field, not {}",
                kind(other)
            ),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A document as returned with a result.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentOut {
    /// Its text, as sent.
    pub text: String,
}

/// One ranked document.
#[derive(Debug, Clone, Serialize)]
pub struct RerankResult {
    /// Position of the document in the request.
    pub index: usize,
    /// The model's score after its activation (sigmoid for one-label cross-encoders): what
    /// sentence-transformers' `CrossEncoder.predict` gives.
    pub relevance_score: f32,
    /// The document, unless `return_documents` was false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentOut>,
}

/// Token counts.
#[derive(Debug, Clone, Serialize)]
pub struct RerankUsage {
    /// Tokens of every (query, document) pair the model read, special tokens included.
    pub total_tokens: usize,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct RerankResponse {
    /// The served name the request gave (or the only reranker's).
    pub model: String,
    /// Best first; equal scores keep the request's order.
    pub results: Vec<RerankResult>,
    /// Token counts.
    pub usage: RerankUsage,
}
