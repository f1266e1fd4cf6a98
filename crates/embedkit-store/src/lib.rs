//! A vector store for retrieval-augmented generation: collections of documents, chunked by
//! the tokens of the model that embeds them, stored with their vectors and metadata, and
//! searched by embedding similarity, BM25 keywords, or both fused.
//!
//! * [`Store`] is the database: one SQLite file (opened by path or `sqlite://PATH`), or a
//!   PostgreSQL database with pgvector (`postgres://...`); it is the source of truth and
//!   knows nothing about models.
//! * [`Collection`] fixes the model, width, normalization, distance and vector storage.
//! * [`rag`] adds models: [`Store::add_documents`] and [`Store::search`], with any
//!   [`embedkit_core::Embedder`] (the caller loads it; the store never loads models, so it
//!   depends on neither tokenizers nor image decoders).
//! * [`rerank`] rescores a search's best chunks with a cross-encoder
//!   ([`Store::search_reranked`], any [`embedkit_core::Reranker`]).
//! * [`image`] does the same for image collections: [`Store::add_images`] and
//!   [`Store::search_images`] with any [`embedkit_core::ImageEmbedder`] ([`ImageStoreModel`]).
//! * [`ann`] is the approximate search of large embedded (SQLite) collections: an HNSW graph,
//!   or a scan of 8-bit codes where the graph cannot find the neighbours (PostgreSQL uses
//!   pgvector's HNSW).
//! * [`chunk`], [`source`] and [`filter`] are the pieces they use.
//! * `testing` (feature `testing`) gives other crates' tests a PostgreSQL schema of their own.
//!
//! Not for: training, or serving embeddings (see embedkit-models and embedkit-server).
//!
//! ```no_run
//! use embedkit_core::Embedder;
//! use embedkit_store::{Document, IngestOptions, SearchOptions, Storage, Store, StoreModel};
//! use std::sync::Arc;
//!
//! /// Indexes a note and asks about it, with a model the caller loaded (e.g. an
//! /// `embedkit_models::SentenceEmbedder` from `models/all-MiniLM-L6-v2`).
//! fn ask(loaded: Arc<dyn Embedder>) -> embedkit_store::Result<()> {
//!     let store = Store::open("kb.db")?;
//!     let model = StoreModel::new("models/all-MiniLM-L6-v2", loaded);
//!     store.create_collection(&model.collection("notes", None, Storage::F32)?)?;
//!     let doc = Document { id: "a".into(), text: "Cats purr.".into(), metadata: serde_json::json!({}) };
//!     store.add_documents("notes", &[doc], &model, &IngestOptions::default(), |_| {})?;
//!     let options = SearchOptions { k: 3, ..Default::default() };
//!     let hits = store.search("notes", &model, "what do cats do?", &options)?;
//!     println!("{}", hits[0].id);
//!     Ok(())
//! }
//! ```
#![deny(missing_docs)]

pub mod ann;
mod backend;
pub mod chunk;
mod codec;
mod collection;
mod error;
pub mod filter;
pub mod image;
mod keywords;
pub mod rag;
pub mod rerank;
mod segment;
pub mod shard;
pub mod source;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use ann::AnnSettings;
pub use collection::{Collection, Distance, Modality, Storage};
pub use error::{Error, Result};
pub use filter::Filter;
pub use image::{read_images, ImageDocument, ImageStoreModel};
pub use rag::{IngestOptions, IngestProgress, SearchMode, SearchOptions, StoreModel};
pub use rerank::{Rerank, DEFAULT_RERANK_CANDIDATES};
pub use shard::Shard;
pub use source::{read_documents, Document};
pub use store::{fuse, Counts, Hit, Store, StoredChunk, StoredDocument};
