//! Operational routes: `/health`, `/metrics`, `/info`.

use crate::openai::{ApiError, ErrorKind};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use std::sync::atomic::Ordering;

/// 200 once every model has run once, 503 before.
pub async fn health(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.ready.load(Ordering::SeqCst) {
        Ok(Json(serde_json::json!({ "status": "ok" })))
    } else {
        Err(ApiError::new(ErrorKind::NotReady, "models are warming up"))
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    state.budgets.render(&mut text);
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// Served models with dimensions, max length and pooling, and the server's limits (as they
/// were set, by flag or environment variable).
pub async fn info(State(state): State<AppState>) -> Json<serde_json::Value> {
    let models: Vec<_> = state
        .models
        .iter()
        .map(|(name, m)| {
            let mut v = serde_json::to_value(m.model.info()).unwrap_or_default();
            v["id"] = serde_json::Value::String(name.clone());
            v
        })
        .chain(state.images.iter().map(|(name, m)| {
            serde_json::json!({
                "id": name,
                "modality": "image",
                "architecture": m.model.network().name(),
                "dimensions": m.model.dimensions(),
                "image_size": m.model.preprocess().crop,
            })
        }))
        .chain(state.rerankers.iter().map(|(name, m)| {
            serde_json::json!({
                "id": name,
                "task": "rerank",
                "architecture": m.model.model_type(),
                "labels": m.model.labels(),
                "max_length": m.model.max_length(),
                "activation": format!("{:?}", m.model.activation()),
            })
        }))
        .chain(state.remotes.iter().map(|(name, m)| {
            serde_json::json!({
                "id": name,
                "remote_model": m.client.model(),
                "base_url": m.client.base_url(),
            })
        }))
        .collect();
    let l = &state.limits;
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "models": models,
        "limits": {
            "max_batch_tokens": l.max_batch_tokens,
            "max_client_batch": l.max_client_batch,
            "max_request_tokens": l.max_request_tokens,
            "max_request_pixels": l.max_request_pixels,
            "max_concurrent_requests": l.max_concurrent_requests,
            "max_body_bytes": l.max_body_bytes,
            "max_inflight_tokens": l.max_inflight_tokens,
            "max_inflight_pixels": l.max_inflight_pixels,
            "max_inflight_body_bytes": l.max_inflight_body_bytes,
            "inflight_memory_bound_bytes": state.budgets.memory_bound(),
            "allow_empty": l.allow_empty,
        },
    }))
}
