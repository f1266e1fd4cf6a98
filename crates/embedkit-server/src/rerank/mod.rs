//! Rerankers (cross-encoders) behind `POST /v1/rerank` (the Cohere / Jina schema, in
//! [`cohere`]) and `POST /rerank` (text-embeddings-inference's, in [`tei`]).
//!
//! A folder whose config.json names a `*ForSequenceClassification` architecture is served as
//! a reranker. Each (query, document) pair is tokenized off the async runtime, then queued to
//! the model's own thread by the same engine as embeddings ([`crate::engine`]): a pair costs
//! its tokens, and the pairs of every waiting request are packed into forward passes of at most
//! `--max-batch-tokens`. Both routes share [`score`]: validation, limits, tokens, the pass, and
//! the check for NaN, so they answer the same numbers and the same errors.

pub mod cohere;
pub mod tei;

use crate::admission::Admission;
use crate::engine::{Batcher, Worker};
use crate::openai::{ApiError, ErrorKind};
use crate::state::AppState;
use crate::tokenizing;
use embedkit_models::tokenize::Encoded;
use embedkit_models::CrossEncoder;
use std::sync::Arc;

/// One served reranker (cloned under each of its names; the clones share the model and queue).
#[derive(Clone)]
pub struct ServedReranker {
    /// The cross-encoder.
    pub model: Arc<CrossEncoder>,
    /// Its worker thread.
    pub worker: Worker<RerankBatcher>,
    /// Unix time it was loaded.
    pub created: u64,
}

/// A cross-encoder for the engine: items are tokenized (query, document) pairs, each costing
/// its tokens.
pub struct RerankBatcher {
    /// The model.
    pub model: Arc<CrossEncoder>,
    /// Token budget of one forward pass.
    pub max_batch_tokens: usize,
}

impl Batcher for RerankBatcher {
    type Item = Encoded;
    const COST_IS_TOKENS: bool = true;

    fn cost(item: &Encoded) -> usize {
        item.ids.len()
    }

    fn budget(&self) -> usize {
        self.max_batch_tokens.max(1)
    }

    /// The raw logits: a pass mixes requests, so each request checks its own rows for NaN
    /// ([`score`]), and one request's NaN fails only that request.
    fn run(&self, batch: &[&Encoded]) -> Result<Vec<Vec<f32>>, String> {
        self.model.forward(batch).map_err(|e| e.to_string())
    }
}

/// The reranker a request asks for: `name` if given (404 if nothing has that name, 400 if it
/// is not a reranker), else the only served reranker. The name to report comes with it.
/// `param` is the request field that names it (`model`, or `rerank` in a collection search).
pub fn resolve(
    state: &AppState,
    name: Option<&str>,
    param: &'static str,
) -> Result<(String, ServedReranker), ApiError> {
    let Some(name) = name else {
        let mut all = state.rerankers.iter();
        return match (all.next(), all.next()) {
            (Some((n, served)), None) => Ok((n.clone(), served.clone())),
            (None, _) => Err(no_reranker(param)),
            (Some(_), Some(_)) => Err(ApiError::invalid(
                Some(param),
                format!(
                    "this server serves several rerankers ({}); name one in \"{param}\"",
                    names(state)
                ),
            )),
        };
    };
    if let Some(served) = state.rerankers.get(name) {
        return Ok((name.to_string(), served.clone()));
    }
    if state.models.contains_key(name)
        || state.images.contains_key(name)
        || state.remotes.contains_key(name)
    {
        let served = if state.rerankers.is_empty() {
            "this server serves none".to_string()
        } else {
            format!("served rerankers: {}", names(state))
        };
        return Err(ApiError::invalid(
            Some(param),
            format!(
                "the model {name:?} is an embedding model, not a reranker (cross-encoder); {served}"
            ),
        ));
    }
    Err(ApiError {
        param: Some(param),
        ..ApiError::new(
            ErrorKind::ModelNotFound,
            format!("the model {name:?} does not exist (see GET /v1/models)"),
        )
    })
}

fn no_reranker(param: &'static str) -> ApiError {
    ApiError::invalid(
        Some(param),
        "this server serves no reranker: start it with --model pointing at a cross-encoder \
         (a folder whose config.json names a *ForSequenceClassification architecture)",
    )
}

fn names(state: &AppState) -> String {
    state
        .rerankers
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// What [`score`] found: one raw logit per document, in input order, and what it read.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The model's logit of each (query, document) pair.
    pub logits: Vec<f32>,
    /// Tokens of every pair, special tokens included.
    pub tokens: usize,
    /// Pairs cut to the model's maximum length.
    pub truncated: usize,
}

impl Scored {
    /// Relevance scores: the logits through the model's activation (sigmoid for one-label
    /// models, as sentence-transformers' `CrossEncoder.predict`), or the logits themselves.
    pub fn scores(&self, model: &CrossEncoder, raw: bool) -> Vec<f32> {
        if raw {
            return self.logits.clone();
        }
        let activation = model.activation();
        self.logits.iter().map(|&x| activation.apply(x)).collect()
    }
}

/// The checks both routes make before any model runs: a query, at least one document, no
/// more than `--max-client-batch` of them, a one-label model. `param` names the request's
/// list of documents (`documents` or `texts`).
pub fn check(
    state: &AppState,
    served: &ServedReranker,
    query: &str,
    documents: usize,
    param: &'static str,
) -> Result<(), ApiError> {
    if query.trim().is_empty() {
        return Err(ApiError::invalid(Some("query"), "query is empty"));
    }
    if documents == 0 {
        return Err(ApiError::invalid(
            Some(param),
            format!("{param} is empty: send at least one document to rank"),
        ));
    }
    let max = state.limits.max_client_batch;
    if documents > max {
        return Err(ApiError::invalid(
            Some(param),
            format!("too many {param}: {documents} given, at most {max} per request"),
        ));
    }
    if served.model.labels() != 1 {
        return Err(ApiError::invalid(
            Some("model"),
            format!(
                "this model is a classifier with {} labels, not a reranker: reranking needs one score per pair",
                served.model.labels()
            ),
        ));
    }
    Ok(())
}

/// Scores every `(query, document)` pair (after [`check`]): tokenized on the blocking pool
/// within the token budgets ([`tokenizing`]: the request token limit, then the in-flight
/// one), run by the model's worker, each row checked for NaN or infinity (500 `model_error`
/// naming the document). Pairs over the model's length are cut, unless `truncate` is false:
/// then they are a 400.
pub async fn score(
    state: &AppState,
    admission: &Admission,
    served: &ServedReranker,
    mut query: String,
    mut documents: Vec<String>,
    truncate: bool,
) -> Result<Scored, ApiError> {
    let max_len = served.model.max_length();
    let query_cut = tokenizing::cut(&mut query, max_len);
    let cut: Vec<bool> = documents
        .iter_mut()
        .map(|d| tokenizing::cut(d, max_len) || query_cut)
        .collect();
    let query = Arc::new(query);
    let query_bytes = query.len();
    let model = served.model.clone();
    let max = state.limits.max_request_tokens;
    let mut tokenized = tokenizing::tokenize(
        admission,
        documents,
        |d| tokenizing::estimate(query_bytes + d.len()),
        max,
        |tokens| {
            ApiError::invalid(
                None,
                format!(
                    "the (query, document) pairs hold at least {tokens} tokens, max {max} tokens per request"
                ),
            )
        },
        move |chunk: Vec<String>| {
            let pairs: Vec<(&str, &str)> = chunk
                .iter()
                .map(|d| (query.as_str(), d.as_str()))
                .collect();
            model
                .tokenize(&pairs)
                .map_err(|e| ApiError::invalid(None, e.to_string()))
        },
    )
    .await?;
    for (encoded, cut) in tokenized.inputs.iter_mut().zip(cut) {
        encoded.truncated |= cut;
    }
    let tokens = tokenized.tokens;
    let encoded = tokenized.inputs;
    let truncated = encoded.iter().filter(|e| e.truncated).count();
    if truncated > 0 && !truncate {
        return Err(ApiError::invalid(
            Some("truncate"),
            format!(
                "{truncated} (query, document) pair(s) exceed the model's maximum of {} tokens and \"truncate\" is false",
                served.model.max_length()
            ),
        ));
    }
    let rows = served
        .worker
        .submit(encoded)
        .await
        .map_err(|_| ApiError::new(ErrorKind::Internal, "the model worker dropped the request"))?
        .map_err(|e| ApiError::new(ErrorKind::Internal, e))?;
    let logits = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| match row.first() {
            Some(x) if x.is_finite() => Ok(*x),
            Some(_) => Err(ApiError::new(
                ErrorKind::Model,
                format!("document {i}: {}", embedkit_models::Error::NonFinite),
            )),
            None => Err(ApiError::new(
                ErrorKind::Internal,
                format!("document {i}: the model gave no score"),
            )),
        })
        .collect::<Result<Vec<f32>, ApiError>>()?;
    drop(tokenized.reservation);
    Ok(Scored {
        logits,
        tokens,
        truncated,
    })
}

/// Indices of `scores` best first, ties in input order (as [`embedkit_core::sort_ranked`]).
pub fn ranking(scores: &[f32]) -> Vec<embedkit_core::Ranked> {
    let mut ranked: Vec<embedkit_core::Ranked> = scores
        .iter()
        .enumerate()
        .map(|(index, &score)| embedkit_core::Ranked { index, score })
        .collect();
    embedkit_core::sort_ranked(&mut ranked);
    ranked
}
