//! What embeddings are for, as small, tested algorithms on vectors: classification
//! ([`classify`]: logistic regression, k-NN, cross-validation), recommendation ([`recommend`]:
//! item-to-item, user-to-item, MMR, nDCG), clustering ([`cluster`]: k-means++, silhouette,
//! purity) and pictures of the vector space ([`plot`]: PCA, t-SNE, scatter plots and similarity
//! heat maps as PNG and SVG).
//!
//! Every algorithm works on plain `Vec<f32>` rows. Where the rows come from is one seam,
//! [`VectorSource`]: a sentence model (local or remote), vectors stored with the items
//! (`.npy`, JSONL `"embedding"`, a store collection) or averaged word vectors
//! ([`AveragedWords`]). Reading
//! items and labels from files is in [`data`].
//!
//! Items can also come from a collection of the vector store, whose index then finds the
//! neighbours ([`store`]: [`store::StoreIndex`] behind [`recommend::Neighbours`]).
//!
//! Not here: running models (embedkit-models), storing and indexing vectors
//! (embedkit-store), command-line parsing (embedkit-cli).
#![deny(missing_docs)]

pub mod classify;
pub mod cluster;
pub mod data;
mod error;
mod linalg;

pub mod plot;
pub mod recommend;
mod rng;
mod source;
pub mod store;

pub use error::{Error, Result};
pub use source::{
    texts_of, tokens, vectors_for, AveragedWords, StoredVectors, TextEmbedding, VectorSource,
    WORDS_PREFIX,
};
