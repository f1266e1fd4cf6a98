//! The HTTP routes and the middleware around them.

mod collections;
mod embeddings;
mod models;
mod ops;
mod rerank;

use crate::access;
use crate::admission;
use crate::auth;
use crate::config::ServerConfig;
use crate::openai::{ApiError, ErrorKind};
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use axum::middleware;
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;
use tower_http::cors::{Any, CorsLayer};

/// Builds the application: API routes (behind the key, if one is set), those that run a
/// model or the store admitted first ([`admission`]), open `/health` and `/metrics`, body
/// limit, status counts, latencies and the access log ([`access`]), and optional CORS.
pub fn router(state: AppState, config: &ServerConfig) -> Router {
    let mut limited = Router::new()
        .route("/v1/embeddings", post(embeddings::create))
        .route("/embeddings", post(embeddings::create))
        .route("/v1/rerank", post(rerank::cohere))
        .route("/rerank", post(rerank::tei));
    if state.store.is_some() {
        limited = limited
            .route("/v1/collections", get(collections::list))
            .route("/v1/collections/{c}", delete(collections::drop))
            .route("/v1/collections/{c}/documents", post(collections::add))
            // `*`: ids may hold '/' (e.g. `notes/a.md:3`).
            .route(
                "/v1/collections/{c}/documents/{*id}",
                delete(collections::delete_one),
            )
            .route("/v1/collections/{c}/search", post(collections::search))
            .route("/v1/collections/{c}/delete", post(collections::delete_many));
    }
    // Only these routes: the admission layer applies to the routes added before it.
    let limited = limited.layer(middleware::from_fn_with_state(
        state.clone(),
        admission::middleware::admit,
    ));
    let mut api = Router::new()
        .route("/v1/models", get(models::list))
        .route("/models", get(models::list))
        .route("/v1/models/{id}", get(models::get))
        .route("/info", get(ops::info))
        .merge(limited);
    if let Some(key) = &config.api_key {
        api = api.layer(middleware::from_fn_with_state(
            Arc::new(key.clone()),
            auth::require_api_key,
        ));
    }
    let open = Router::new()
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics));
    let mut app = api
        .merge(open)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::observe,
        ))
        .with_state(state);
    if let Some(origin) = &config.cors_allow_origin {
        let cors = CorsLayer::new().allow_methods(Any).allow_headers(Any);
        let cors = if origin == "*" {
            cors.allow_origin(Any)
        } else {
            match HeaderValue::from_str(origin) {
                Ok(v) => cors.allow_origin(v),
                Err(_) => cors,
            }
        };
        app = app.layer(cors);
    }
    app
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorKind::NotFound, "no such route")
}
