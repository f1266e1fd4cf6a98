//! The vector store behind the `/v1/collections` routes: the wire types ([`types`]), the
//! mapping of store errors onto the API's error envelope, and [`StoreService`], which holds
//! the store connections and knows which served model embeds for which collection.
//!
//! It uses only `embedkit_store::Store`'s public methods, so any backend the store opens by
//! URL works the same here.

mod service;
pub mod types;

pub use service::StoreService;

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
            Error::Model(embedkit_models::Error::InvalidInput(_)) => ErrorKind::InvalidRequest,
            _ => ErrorKind::Internal,
        };
        ApiError::new(kind, e.to_string())
    }
}
