//! Sentence-embedding models: from a model folder or hub id to vectors that match
//! sentence-transformers.
//!
//! * [`hub`] resolves `org/name` ids into the Hugging Face cache (or takes a local folder).
//! * [`folder`] reads what a sentence-transformers folder says (both file layouts).
//! * [`tokenize`] reproduces sentence-transformers' tokenization.
//! * [`arch`] holds the transformer architectures (one file each) on packed batches.
//! * [`pooling`] and [`dense`] turn token vectors into sentence vectors.
//! * [`static_embedding`] is the token table of static models (Model2Vec), in place of a
//!   transformer.
//! * [`distill`] turns a model into a static one (Model2Vec's recipe).
//! * [`SentenceEmbedder`] runs the whole pipeline.
//! * [`infersent`] is InferSent's BiLSTM-max encoder over word vectors (`infersent:DIR`).
//! * [`CrossEncoder`] scores (query, document) pairs: rerankers.
//! * [`Model`] is any spec the tools accept: local, `infersent:DIR`, or `openai:NAME` through
//!   [`remote`].
//!
//! ```no_run
//! use embedkit_models::{EmbedOptions, SentenceEmbedder};
//! let model = SentenceEmbedder::load("sentence-transformers/all-MiniLM-L6-v2")?;
//! let vectors = model.embed(&["hello", "你好"], &EmbedOptions::default())?;
//! assert_eq!(vectors[0].len(), model.dimensions());
//! # Ok::<(), embedkit_models::Error>(())
//! ```
//!
//! Every model here implements the seam [`embedkit_core::Embedder`], which the store, the server
//! and the CLI use; its `embed_documents` / `embed_query` pick the model's `document` / `query`
//! prompt (BGE's or Qwen3's instruction) through [`Prompts::choose`], as sentence-transformers'
//! `encode_document` / `encode_query` do.
//!
//! ```no_run
//! use embedkit_core::Embedder;
//! use embedkit_models::SentenceEmbedder;
//! let model = SentenceEmbedder::load("BAAI/bge-small-en-v1.5")?;
//! let docs = model.embed_documents(&["Cats purr.", "Dogs bark."])?;
//! let query = model.embed_query("which animal purrs?")?;
//! assert_eq!(docs[0].len(), query.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod arch;
pub mod cross_encoder;
pub mod dense;
pub mod distill;
mod embedder;
mod error;
mod fast_wordpiece;
pub mod folder;
pub mod hub;
pub mod infersent;
mod model;
pub mod pooling;
pub mod remote;
pub mod static_embedding;
pub mod tokenize;
pub mod weights;

pub use cross_encoder::{CrossEncoder, Ranked};
pub use embedder::{ModelInfo, Prepared, SentenceEmbedder, Sequence};
pub use embedkit_core::{EmbedOptions, InputRole, Prompt, Prompts};
pub use error::{Error, Result};
pub use model::{Model, REMOTE_PREFIX};
pub use remote::{OpenAiEmbedder, RemoteOptions};
pub use weights::Precision;

/// Sets the number of threads used for inference (and tokenization). Call once, before the
/// first model runs.
pub fn set_threads(n: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
        .map_err(|e| Error::InvalidInput(format!("cannot set {n} threads: {e}")))
}
