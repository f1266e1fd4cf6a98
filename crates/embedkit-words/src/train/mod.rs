//! Trainers: word2vec (CBOW and skip-gram, negative sampling or hierarchical softmax),
//! fastText (subword skip-gram and CBOW; supervised classification) and
//! GloVe (memory-bounded co-occurrence counting, AdaGrad).

pub mod cooccur;
mod corpus;
pub mod fasttext;
pub mod glove;
mod math;
mod shuffle;
pub mod supervised;
mod vocab;
pub mod word2vec;

pub use vocab::Vocab;

/// Where training is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Words processed so far (all epochs).
    pub words: u64,
    /// Words to process in total.
    pub total: u64,
    /// Current learning rate.
    pub alpha: f32,
}
