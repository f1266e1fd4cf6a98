//! `POST /v1/rerank` (Cohere / Jina schema) and `POST /rerank` (text-embeddings-inference's):
//! parse → [`rerank::check`] → [`rerank::score`] → sort → answer in the route's schema.

use crate::access::ModelLabel;
use crate::admission::Admission;
use crate::json::OpenAiJson;
use crate::openai::ApiError;
use crate::rerank::cohere::{
    text_of, DocumentOut, RerankRequest, RerankResponse, RerankResult, RerankUsage,
};
use crate::rerank::tei::{TeiRank, TeiRerankRequest};
use crate::rerank::{self, ranking};
use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};

/// `POST /v1/rerank`.
pub async fn cohere(
    State(state): State<AppState>,
    Extension(label): Extension<ModelLabel>,
    Extension(admission): Extension<Admission>,
    OpenAiJson(req): OpenAiJson<RerankRequest>,
) -> Result<Json<RerankResponse>, ApiError> {
    let (name, served) = rerank::resolve(&state, req.model.as_deref(), "model")?;
    label.set(&name);
    let query = text_of(&req.query, "query", "query")?;
    let documents = req
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| text_of(d, "documents", &format!("documents[{i}]")))
        .collect::<Result<Vec<String>, ApiError>>()?;
    if req.top_n == Some(0) {
        return Err(ApiError::invalid(
            Some("top_n"),
            "top_n must be at least 1 (leave it out for every document)",
        ));
    }
    rerank::check(&state, &served, &query, documents.len(), "documents")?;
    let kept = req.return_documents.then(|| documents.clone());
    let scored = rerank::score(&state, &admission, &served, query, documents, true).await?;
    let results = ranking(&scored.scores(&served.model, false))
        .into_iter()
        .take(req.top_n.unwrap_or(usize::MAX))
        .map(|r| RerankResult {
            index: r.index,
            relevance_score: r.score,
            document: kept.as_ref().map(|docs| DocumentOut {
                text: docs[r.index].clone(),
            }),
        })
        .collect();
    Ok(Json(RerankResponse {
        model: name,
        results,
        usage: RerankUsage {
            total_tokens: scored.tokens,
        },
    }))
}

/// `POST /rerank`.
pub async fn tei(
    State(state): State<AppState>,
    Extension(label): Extension<ModelLabel>,
    Extension(admission): Extension<Admission>,
    OpenAiJson(req): OpenAiJson<TeiRerankRequest>,
) -> Result<Json<Vec<TeiRank>>, ApiError> {
    let (name, served) = rerank::resolve(&state, req.model.as_deref(), "model")?;
    label.set(&name);
    let Some(texts) = req.texts else {
        return Err(ApiError::invalid(
            Some("texts"),
            "texts is missing: this is text-embeddings-inference's /rerank ({\"query\", \"texts\"}); \
             requests with \"documents\" in the Cohere / Jina schema go to /v1/rerank",
        ));
    };
    if let Some(d) = &req.truncation_direction {
        if !d.eq_ignore_ascii_case("right") {
            return Err(ApiError::invalid(
                Some("truncation_direction"),
                format!("truncation_direction {d:?} is not supported: only Right (the ends of the longer of query and text are cut)"),
            ));
        }
    }
    rerank::check(&state, &served, &req.query, texts.len(), "texts")?;
    let kept = req.return_text.then(|| texts.clone());
    let truncate = req.truncate.unwrap_or(true);
    let scored = rerank::score(&state, &admission, &served, req.query, texts, truncate).await?;
    let ranks = ranking(&scored.scores(&served.model, req.raw_scores))
        .into_iter()
        .map(|r| TeiRank {
            index: r.index,
            score: r.score,
            text: kept.as_ref().map(|t| t[r.index].clone()),
        })
        .collect();
    Ok(Json(ranks))
}
