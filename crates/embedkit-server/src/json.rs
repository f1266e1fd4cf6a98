//! A JSON body extractor whose failures are OpenAI-shaped errors (axum's own `Json` answers
//! malformed bodies with plain text, which the OpenAI SDKs cannot parse).

use crate::openai::{ApiError, ErrorKind};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// `Json<T>` with OpenAI errors: 413 over the body limit, 400 for anything unparsable.
pub struct OpenAiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OpenAiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorKind::TooLarge,
                    "request body is larger than the server accepts",
                )
            } else {
                ApiError::invalid(None, format!("cannot read the request body: {rejection}"))
            }
        })?;
        serde_json::from_slice(&bytes).map(OpenAiJson).map_err(|e| {
            let what = if e.is_syntax() || e.is_eof() {
                "the body is not valid JSON"
            } else {
                "the body does not match the request schema"
            };
            ApiError::invalid(None, format!("{what}: {e}"))
        })
    }
}
