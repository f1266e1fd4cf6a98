//! Bearer-token check for the API routes (`/health` and `/metrics` stay open).

use crate::openai::{ApiError, ErrorKind};
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Rejects requests without `Authorization: Bearer <key>`. The comparison takes the same time
/// wherever the first differing byte is, so the key cannot be guessed byte by byte.
pub async fn require_api_key(State(key): State<Arc<String>>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(p) if bool::from(p.as_bytes().ct_eq(key.as_bytes())) => next.run(req).await,
        Some(_) => {
            ApiError::new(ErrorKind::Unauthorized, "incorrect API key provided").into_response()
        }
        None => ApiError::new(
            ErrorKind::Unauthorized,
            "missing API key: send Authorization: Bearer <key>",
        )
        .into_response(),
    }
}
