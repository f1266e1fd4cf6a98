//! The one error type of the HTTP API, rendered as OpenAI's envelope
//! `{"error": {"message", "type", "param", "code"}}` with the matching status.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// What went wrong, each kind with one status and one machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed or invalid request (400).
    InvalidRequest,
    /// Missing or wrong API key (401).
    Unauthorized,
    /// Unknown model (404).
    ModelNotFound,
    /// Unknown route, or unknown document in a collection (404).
    NotFound,
    /// Unknown vector store collection (404).
    CollectionNotFound,
    /// Body over the limit (413).
    TooLarge,
    /// No room beside the requests in flight (429, with `Retry-After`).
    Overloaded,
    /// Model still loading (503).
    NotReady,
    /// The model failed on this request: its output held NaN or infinity (500). Unlike
    /// [`Internal`](Self::Internal) the message is shown, since it names no internals and
    /// tells the client that retrying the same input will not help.
    Model,
    /// Our fault (500); the message stays generic.
    Internal,
}

impl ErrorKind {
    /// Status, OpenAI `type`, and `code` for this kind.
    fn table(self) -> (StatusCode, &'static str, Option<&'static str>) {
        match self {
            Self::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request_error", None),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            Self::ModelNotFound => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("model_not_found"),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("not_found"),
            ),
            Self::CollectionNotFound => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("collection_not_found"),
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                Some("request_too_large"),
            ),
            Self::Overloaded => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                Some("rate_limit_exceeded"),
            ),
            Self::NotReady => (
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                Some("not_ready"),
            ),
            Self::Model => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                Some("model_error"),
            ),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None),
        }
    }
}

/// An API error: a kind, a message for the client and the offending parameter.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind (decides status and code).
    pub kind: ErrorKind,
    /// Human-readable message.
    pub message: String,
    /// The request field at fault, if one is.
    pub param: Option<&'static str>,
}

impl ApiError {
    /// A 400 about `param`.
    pub fn invalid(param: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidRequest,
            message: message.into(),
            param,
        }
    }

    /// Any kind, no param.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            param: None,
        }
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.kind.table().0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, code) = self.kind.table();
        let message = match self.kind {
            ErrorKind::Internal => {
                tracing::error!("internal error: {}", self.message);
                "the server had an error while processing your request".to_string()
            }
            ErrorKind::Model => {
                tracing::error!("model error: {}", self.message);
                self.message
            }
            _ => self.message,
        };
        let body = serde_json::json!({
            "error": { "message": message, "type": kind, "param": self.param, "code": code }
        });
        let mut response = (status, Json(body)).into_response();
        if self.kind == ErrorKind::Overloaded {
            // What is held is given back as requests are answered: usually within a second.
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
