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
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Served models with dimensions, max length and pooling.
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
        .chain(state.remotes.iter().map(|(name, m)| {
            serde_json::json!({
                "id": name,
                "remote_model": m.client.model(),
                "base_url": m.client.base_url(),
            })
        }))
        .collect();
    Json(serde_json::json!({ "models": models }))
}
