//! The vector store over HTTP: add documents, search, delete, list and drop collections.
//! Each request runs on the blocking pool with its own store connection; adding and
//! searching embed with the served model that built the collection. Every route here is
//! admitted first, as the model routes are ([`crate::admission`]).

use crate::access::ModelLabel;
use crate::json::OpenAiJson;
use crate::openai::{ApiError, ErrorKind};
use crate::rerank;
use crate::state::AppState;
use crate::store_api::types::{
    parse_filter, AddRequest, AddResult, CollectionCard, CollectionList, DeleteRequest,
    DeleteResult, Deleted, HitList, RerankChoice, SearchRequest, MAX_K,
};
use crate::store_api::{EngineReranker, StoreService};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use embedkit_store::{Document, Error, IngestOptions, Rerank, SearchOptions, Storage};
use std::sync::Arc;

/// Path parameters, with a malformed path answered in the API's envelope.
fn path<T>(p: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    p.map(|Path(t)| t)
        .map_err(|e| ApiError::invalid(None, format!("bad path: {e}")))
}

fn service(state: &AppState) -> Result<Arc<StoreService>, ApiError> {
    state
        .store
        .clone()
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, "no vector store (start with --store)"))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<CollectionList>, ApiError> {
    let data = service(&state)?
        .run(|_, store| {
            store
                .collections()?
                .into_iter()
                .map(|c| {
                    let counts = store.counts(&c.name)?;
                    Ok(CollectionCard {
                        object: "collection",
                        distance: c.distance.to_string(),
                        storage: c.storage.to_string(),
                        name: c.name,
                        model: c.model,
                        dimensions: c.dimensions,
                        documents: counts.documents,
                        chunks: counts.chunks,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    Ok(Json(CollectionList {
        object: "list",
        data,
    }))
}

pub async fn drop(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let name = path(name)?;
    let id = name.clone();
    service(&state)?
        .run(move |_, store| Ok(store.drop_collection(&name)?))
        .await?;
    Ok(Json(Deleted {
        id,
        object: "collection",
        deleted: true,
    }))
}

pub async fn add(
    State(state): State<AppState>,
    Extension(label): Extension<ModelLabel>,
    name: Result<Path<String>, PathRejection>,
    OpenAiJson(req): OpenAiJson<AddRequest>,
) -> Result<Json<AddResult>, ApiError> {
    let name = path(name)?;
    if req.documents.is_empty() {
        return Err(ApiError::invalid(
            Some("documents"),
            "documents is empty: send at least one {\"id\", \"text\"}",
        ));
    }
    let mut docs = Vec::with_capacity(req.documents.len());
    for d in req.documents {
        if d.id.is_empty() {
            return Err(ApiError::invalid(
                Some("documents"),
                "a document has an empty id",
            ));
        }
        let metadata = match d.metadata {
            None | Some(serde_json::Value::Null) => serde_json::json!({}),
            Some(m) if m.is_object() => m,
            Some(_) => {
                return Err(ApiError::invalid(
                    Some("documents"),
                    format!("metadata of document {:?} must be a JSON object", d.id),
                ))
            }
        };
        docs.push(Document {
            id: d.id,
            text: d.text,
            metadata,
        });
    }
    let storage = match &req.storage {
        None => Storage::F32,
        Some(s) => s
            .parse()
            .map_err(|e: Error| ApiError::invalid(Some("storage"), e.to_string()))?,
    };
    let defaults = IngestOptions::default();
    let options = IngestOptions {
        chunk_size: req.chunk_size,
        chunk_overlap: req.chunk_overlap.unwrap_or(match req.chunk_size {
            Some(size) => defaults.chunk_overlap.min(size / 4),
            None => defaults.chunk_overlap,
        }),
        ..defaults
    };
    let result = service(&state)?
        .run(move |service, store| {
            let (served, model) = match store.find_collection(&name)? {
                Some(spec) => service.model_for(&spec, req.model.as_deref())?,
                None => service.model_named(req.model.as_deref())?,
            };
            label.set(&served);
            store.open_or_create_collection(&name, || model.collection(&name, None, storage))?;
            let progress = store.add_documents(&name, &docs, &model, &options, |_| {})?;
            Ok(AddResult {
                object: "collection.add",
                collection: name,
                model: served,
                added: progress.written,
                skipped: progress.skipped,
                chunks: progress.chunks,
            })
        })
        .await?;
    Ok(Json(result))
}

pub async fn search(
    State(state): State<AppState>,
    Extension(label): Extension<ModelLabel>,
    name: Result<Path<String>, PathRejection>,
    OpenAiJson(req): OpenAiJson<SearchRequest>,
) -> Result<Json<HitList>, ApiError> {
    let name = path(name)?;
    if !(1..=MAX_K).contains(&req.k) {
        return Err(ApiError::invalid(
            Some("k"),
            format!("k must be between 1 and {MAX_K} (got {})", req.k),
        ));
    }
    if req.query.trim().is_empty() {
        return Err(ApiError::invalid(Some("query"), "query is empty"));
    }
    let options = SearchOptions {
        k: req.k,
        filter: match &req.filter {
            Some(f) => parse_filter(f)?,
            None => Default::default(),
        },
        mode: req.mode.into(),
        exact: req.exact,
    };
    let reranker = search_reranker(&state, &req)?;
    let data = service(&state)?
        .run(move |service, store| {
            let (served, model) = service.model_for(&store.collection(&name)?, None)?;
            label.set(&served);
            Ok(match &reranker {
                Some(r) => {
                    let rerank = Rerank {
                        model: r,
                        candidates: req.rerank_candidates,
                    };
                    store.search_reranked(&name, &model, &req.query, &options, &rerank)?
                }
                None => store.search(&name, &model, &req.query, &options)?,
            })
        })
        .await?;
    Ok(Json(HitList {
        object: "list",
        data,
    }))
}

/// The reranker a search asks for (none for `rerank` absent or false), with its candidates
/// checked: at least `k`, at most [`MAX_K`].
fn search_reranker(
    state: &AppState,
    req: &SearchRequest,
) -> Result<Option<EngineReranker>, ApiError> {
    let name = match &req.rerank {
        None | Some(RerankChoice::Flag(false)) => {
            if req.rerank_candidates.is_some() {
                return Err(ApiError::invalid(
                    Some("rerank_candidates"),
                    "rerank_candidates is for reranked searches: add \"rerank\"",
                ));
            }
            return Ok(None);
        }
        Some(RerankChoice::Flag(true)) => None,
        Some(RerankChoice::Name(n)) => Some(n.as_str()),
    };
    let (_, served) = rerank::resolve(state, name, "rerank")?;
    if served.model.labels() != 1 {
        return Err(ApiError::invalid(
            Some("rerank"),
            format!(
                "this model is a classifier with {} labels, not a reranker: reranking needs one score per pair",
                served.model.labels()
            ),
        ));
    }
    if let Some(n) = req.rerank_candidates {
        if !(req.k..=MAX_K).contains(&n) {
            return Err(ApiError::invalid(
                Some("rerank_candidates"),
                format!(
                    "rerank_candidates must be between k ({}) and {MAX_K} (got {n})",
                    req.k
                ),
            ));
        }
    }
    Ok(Some(EngineReranker::new(served.model, served.worker)))
}

pub async fn delete_one(
    State(state): State<AppState>,
    params: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let (name, id) = path(params)?;
    let doc = id.clone();
    let n = service(&state)?
        .run(move |_, store| Ok(store.delete(&name, &[doc.as_str()])?))
        .await?;
    if n == 0 {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            format!("no document {id:?} in this collection"),
        ));
    }
    Ok(Json(Deleted {
        id,
        object: "document",
        deleted: true,
    }))
}

pub async fn delete_many(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    OpenAiJson(req): OpenAiJson<DeleteRequest>,
) -> Result<Json<DeleteResult>, ApiError> {
    let name = path(name)?;
    enum Which {
        Ids(Vec<String>),
        Filter(embedkit_store::Filter),
    }
    let which = match (req.ids, req.filter) {
        (Some(ids), None) => Which::Ids(ids),
        (None, Some(f)) if f.is_empty() => {
            return Err(ApiError::invalid(
                Some("filter"),
                "filter is empty; to remove every document, DELETE the collection",
            ))
        }
        (None, Some(f)) => Which::Filter(parse_filter(&f)?),
        _ => {
            return Err(ApiError::invalid(
                None,
                "give exactly one of \"ids\" and \"filter\"",
            ))
        }
    };
    let collection = name.clone();
    let deleted = service(&state)?
        .run(move |_, store| {
            Ok(match &which {
                Which::Ids(ids) => {
                    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                    store.delete(&name, &refs)?
                }
                Which::Filter(f) => store.delete_where(&name, f)?,
            })
        })
        .await?;
    Ok(Json(DeleteResult {
        object: "collection.delete",
        collection,
        deleted,
    }))
}
