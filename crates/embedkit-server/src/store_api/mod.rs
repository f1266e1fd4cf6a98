//! The vector store behind the `/v1/collections` routes: the wire types ([`types`]), the
//! mapping of store errors onto the API's error envelope, and [`StoreService`], which holds
//! the store connections and knows which served model embeds for which collection, and
//! [`EngineEmbedder`] / [`EngineReranker`], through which the store's embedding and reranking
//! go to the engine's queues.
//!
//! It uses only `embedkit_store::Store`'s public methods, so any backend the store opens by
//! URL works the same here.

mod service;
mod through_engine;
pub mod types;

pub use service::{StoreServedModel, StoreService};
pub use through_engine::{EngineEmbedder, EngineReranker};

use crate::openai::{ApiError, ErrorKind};
use embedkit_store::Error;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::UnknownCollection { .. } => ErrorKind::CollectionNotFound,
            Error::CollectionMismatch { .. }
            | Error::Dimensions { .. }
            | Error::Filter(_)
            | Error::InvalidInput(_) => ErrorKind::InvalidRequest,
            Error::Embed(e) if e.is_invalid_input() => ErrorKind::InvalidRequest,
            Error::Embed(e) if non_finite(e) => ErrorKind::Model,
            _ => ErrorKind::Internal,
        };
        ApiError::new(kind, e.to_string())
    }
}

/// Whether the model's output held NaN or infinity, somewhere in the error's causes. Other
/// model failures (a remote API's answer, a stopped worker) stay generic 500s: their text
/// may hold what the client should not see.
fn non_finite(e: &embedkit_core::EmbedError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if matches!(
            c.downcast_ref::<embedkit_models::Error>(),
            Some(embedkit_models::Error::NonFinite)
        ) || matches!(
            c.downcast_ref::<embedkit_vision::Error>(),
            Some(embedkit_vision::Error::NonFinite(_))
        ) {
            return true;
        }
        cause = c.source();
    }
    false
}
