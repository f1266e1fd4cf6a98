//! Plain data shared by every embedkit crate: the seam every model implements ([`Embedder`]
//! for texts, [`ImageEmbedder`] for images, [`Reranker`] for cross-encoders) with the one
//! prompt choice ([`Prompts::choose`]),
//! operations on embedding vectors (normalization, Matryoshka truncation), the similarity
//! functions sentence-transformers offers, and the `.npy` format used to exchange matrices
//! with NumPy; with the `pth` feature, the restricted reader of PyTorch checkpoints both model
//! crates load weights with.
//!
//! Nothing here loads models or touches the network.
//!
//! ```
//! use embedkit_core::{vector, Similarity};
//! let mut v = vec![3.0_f32, 4.0, 12.0];
//! vector::truncate_and_normalize(&mut v, 2);
//! assert_eq!(v, vec![0.6, 0.8]);
//! assert_eq!(Similarity::Dot.score(&v, &v), 1.0);
//! ```
#![deny(missing_docs)]

mod embedder;
pub mod npy;
mod prompt;
#[cfg(feature = "pth")]
pub mod pth;
mod reranker;
mod similarity;
pub mod vector;

pub use embedder::{EmbedError, EmbedErrorKind, EmbedOptions, Embedder, ImageEmbedder};
pub use prompt::{InputRole, Prompt, Prompts};
pub use reranker::{sort_ranked, Ranked, Reranker};
pub use similarity::{ParseSimilarityError, Similarity};
