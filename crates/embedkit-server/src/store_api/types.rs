//! Request and response bodies of the `/v1/collections` routes (embedkit's own API, in the
//! OpenAI style: `object` tags, lists as `{"object": "list", "data": [...]}`). Requests
//! reject unknown fields, so a misspelt `filter` is an error, not an unfiltered search.

use crate::openai::ApiError;
use embedkit_store::{Filter, Hit, SearchMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most hits one search returns.
pub const MAX_K: usize = 1000;

/// One document to add.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentIn {
    /// Unique within the collection; adding an id again replaces the document.
    pub id: String,
    /// Its full text (chunked by the server).
    pub text: String,
    /// A JSON object returned with every hit; none means `{}`.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// `POST /v1/collections/{c}/documents`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// The documents.
    pub documents: Vec<DocumentIn>,
    /// Tokens per chunk (default: the model's limit).
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// Tokens repeated between neighbouring chunks (default 32, at most a quarter of an
    /// explicit `chunk_size`).
    #[serde(default)]
    pub chunk_overlap: Option<usize>,
    /// Served model for a new collection (default: the only served model). An existing
    /// collection keeps the model it was built with.
    #[serde(default)]
    pub model: Option<String>,
    /// Vector storage of a new collection: `f32` (default), `f16` or `int8`.
    #[serde(default)]
    pub storage: Option<String>,
}

/// Answer to an add.
#[derive(Debug, Clone, Serialize)]
pub struct AddResult {
    /// Always `collection.add`.
    pub object: &'static str,
    /// The collection.
    pub collection: String,
    /// Served name of the model that embedded the documents.
    pub model: String,
    /// Documents written (new or changed).
    pub added: usize,
    /// Documents skipped because text, metadata and chunking were unchanged.
    pub skipped: usize,
    /// Chunks written.
    pub chunks: usize,
}

/// `mode` of a search.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Embedding similarity.
    #[default]
    Vector,
    /// BM25 keywords.
    Keyword,
    /// Both, fused by reciprocal rank.
    Hybrid,
}

impl From<Mode> for SearchMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Vector => SearchMode::Vector,
            Mode::Keyword => SearchMode::Keyword,
            Mode::Hybrid => SearchMode::Hybrid,
        }
    }
}

/// Metadata conditions: every key must have the value (a string, number or boolean).
pub type FilterIn = BTreeMap<String, serde_json::Value>;

/// `POST /v1/collections/{c}/search`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The question.
    pub query: String,
    /// Hits wanted (default 5, at most [`MAX_K`]).
    #[serde(default = "default_k")]
    pub k: usize,
    /// Metadata conditions.
    #[serde(default)]
    pub filter: Option<FilterIn>,
    /// Vector (default), keyword or hybrid.
    #[serde(default)]
    pub mode: Mode,
    /// Score every stored vector instead of searching the approximate (HNSW) index.
    #[serde(default)]
    pub exact: bool,
    /// Rescore the best `rerank_candidates` chunks with a served reranker and return the `k`
    /// best by its score: `true` for the only served reranker, or a reranker's served name.
    #[serde(default)]
    pub rerank: Option<RerankChoice>,
    /// Chunks the first search retrieves for the reranker (default 50, or `k` if larger; at
    /// least `k`, at most [`MAX_K`]).
    #[serde(default)]
    pub rerank_candidates: Option<usize>,
}

/// `rerank` of a search: on / off, or which served reranker.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum RerankChoice {
    /// `true`: the only served reranker; `false`: no reranking.
    Flag(bool),
    /// A served reranker's name.
    Name(String),
}

fn default_k() -> usize {
    5
}

/// Search hits, best first (the fields of `embedkit search --json`).
#[derive(Debug, Clone, Serialize)]
pub struct HitList {
    /// Always `list`.
    pub object: &'static str,
    /// The hits.
    pub data: Vec<Hit>,
}

/// `POST /v1/collections/{c}/delete`: exactly one of the two.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// Document ids.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Delete the documents whose metadata matches.
    #[serde(default)]
    pub filter: Option<FilterIn>,
}

/// Answer to a delete of documents.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteResult {
    /// Always `collection.delete`.
    pub object: &'static str,
    /// The collection.
    pub collection: String,
    /// Documents deleted.
    pub deleted: usize,
}

/// Answer to deleting one document or a whole collection (OpenAI's deletion shape).
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    /// The id of what was deleted.
    pub id: String,
    /// `document` or `collection`.
    pub object: &'static str,
    /// Always true (a missing one is a 404).
    pub deleted: bool,
}

/// One collection in `GET /v1/collections`.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionCard {
    /// Always `collection`.
    pub object: &'static str,
    /// Its name.
    pub name: String,
    /// The model spec its vectors come from.
    pub model: String,
    /// Vector width.
    pub dimensions: usize,
    /// `cosine`, `dot` or `l2`.
    pub distance: String,
    /// `f32`, `f16` or `int8`.
    pub storage: String,
    /// Documents stored.
    pub documents: usize,
    /// Chunks (vectors) stored.
    pub chunks: usize,
}

/// `GET /v1/collections`.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionList {
    /// Always `list`.
    pub object: &'static str,
    /// The collections, by name.
    pub data: Vec<CollectionCard>,
}

/// Turns `{key: value}` into the store's filter; only strings, numbers and booleans can be
/// matched, and keys follow the store's rules.
pub fn parse_filter(filter: &FilterIn) -> Result<Filter, ApiError> {
    let mut conditions = Vec::with_capacity(filter.len());
    for (key, value) in filter {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => value.to_string(),
            _ => {
                return Err(ApiError::invalid(
                    Some("filter"),
                    format!("filter value of {key:?} must be a string, number or boolean"),
                ))
            }
        };
        let parsed = Filter::parse(&[format!("{key}={text}")])
            .map_err(|e| ApiError::invalid(Some("filter"), e.to_string()))?;
        // A key holding '=' would split elsewhere: only an exact round trip is the same key.
        match parsed.0.into_iter().next() {
            Some(c) if c.key == *key => conditions.push(c),
            _ => {
                return Err(ApiError::invalid(
                    Some("filter"),
                    format!("malformed filter key {key:?}: use letters, digits, '_', '-' or '.'"),
                ))
            }
        }
    }
    Ok(Filter(conditions))
}
