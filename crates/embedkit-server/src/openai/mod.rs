//! The OpenAI embeddings API schema: requests, responses and the error envelope.

mod error;
mod request;
mod response;

pub use error::{ApiError, ErrorKind};
pub use request::{EmbeddingRequest, EncodingFormat, Input, InputType};
pub use response::{EmbeddingData, EmbeddingList, EmbeddingVector, ModelCard, ModelList, Usage};
