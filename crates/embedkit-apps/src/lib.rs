//! What embeddings are for, as small, tested algorithms on vectors: classification
//! ([`classify`]: logistic regression, k-NN, cross-validation), recommendation ([`recommend`]:
//! item-to-item, user-to-item, MMR, nDCG), clustering ([`cluster`]: k-means++, silhouette,
//! purity) and pictures of the vector space ([`plot`]: PCA, t-SNE, scatter plots and similarity
//! heat maps as PNG and SVG).
//!
//! Every algorithm works on plain `Vec<f32>` rows. Where the rows come from is one seam,
//! [`VectorSource`]: a sentence model (local or remote), vectors stored with the items
//! (`.npy`, JSONL `"embedding"`), and later word vectors, images or the vector store. Reading
//! items and labels from files is in [`data`].
//!
//! Not here: running models (embedkit-models), storing and indexing vectors at scale (the
//! store plugs in behind [`recommend::Neighbours`]), command-line parsing (embedkit-cli).
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

pub use error::{Error, Result};
pub use source::{texts_of, vectors_for, StoredVectors, TextEmbedding, VectorSource};
