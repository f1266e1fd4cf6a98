//! The vector store behind the `/v1/collections` routes: the wire types ([`types`]), the
//! mapping of store errors onto the API's error envelope, and [`StoreService`], which holds
//! the store connections and knows which served model embeds for which collection, and
//! [`EngineEmbedder`], through which the store's embedding goes to the engine's queue.
//!
//! It uses only `embedkit_store::Store`'s public methods, so any backend the store opens by
//! URL works the same here.

mod service;
mod through_engine;
pub mod types;

pub use service::{StoreServedModel, StoreService};
pub use through_engine::EngineEmbedder;

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
            _ => ErrorKind::Internal,
        };
        ApiError::new(kind, e.to_string())
    }
}
