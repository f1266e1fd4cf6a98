//! Word embeddings: the word2vec, GloVe and fastText file formats (read and write, as the
//! original tools and gensim do), the queries of gensim's `KeyedVectors` (nearest words,
//! analogies, similarity, odd one out, vectors for unseen words from fastText n-grams) and
//! the standard evaluations (WordSim-353, SimLex-999, Google analogies), the trainers
//! (word2vec, GloVe, fastText), and the tokenizers that turn text into words (whitespace,
//! or jieba's Chinese word segmentation).
//!
//! Not for sentence embeddings (see `embedkit-models`), and nothing here touches the network.
//!
//! ```no_run
//! use embedkit_words::format;
//! let v = format::load("vectors.txt".as_ref(), None)?;
//! for n in v.most_similar(&["king", "woman"], &["man"], 3, None)? {
//!     println!("{} {:.4}", n.word, n.score);
//! }
//! # Ok::<(), embedkit_words::WordsError>(())
//! ```
#![deny(missing_docs)]

mod error;
pub mod eval;
pub mod format;
mod query;
pub mod subword;
pub mod tokenizer;
pub mod train;
mod vectors;

pub use error::{Result, WordsError};
pub use query::Scored;
pub use vectors::{dot, Subwords, WordVectors};
