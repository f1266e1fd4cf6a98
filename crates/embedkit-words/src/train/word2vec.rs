//! word2vec (Mikolov et al. 2013) as the original C tool trains it: CBOW or skip-gram,
//! negative sampling from a unigram^0.75 table or hierarchical softmax over a Huffman tree,
//! subsampling of frequent words, random window shrinking, learning rate decaying linearly
//! to `alpha * 1e-4`, and Hogwild threads each reading its own part of the corpus file.

use super::corpus::{self, MAX_SENTENCE};
use super::math::{Lcg, Sigmoid, MAX_EXP};
use super::{Progress, Vocab};
use crate::error::{Result, WordsError};
use crate::vectors::WordVectors;
use embedkit_kernels::shared::SharedRows;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Negative-sampling table size, a power of two. Every negative sample reads one random
/// slot, so the table must stay in the core's cache: at the C tool's 1e8 slots (400 MB) or
/// fastText's 1e7 that read is a cache miss and took 80% of training time (measured with
/// perf); 2^16 slots (256 KB) halve the training time. Words with a sampling probability
/// under 2^-16 get a slot or none by rounding, which only touches the rarest words.
const TABLE_SIZE: usize = 1 << 16;
/// Words a thread processes between updates of the shared counter and the learning rate.
const REPORT_EVERY: u64 = 10_000;

/// Training settings; `Default` gives the original tool's defaults.
#[derive(Debug, Clone)]
pub struct Word2VecConfig {
    /// Skip-gram (true) or CBOW (false).
    pub skip_gram: bool,
    /// Vector dimension.
    pub dim: usize,
    /// Maximum distance between the centre word and a context word.
    pub window: usize,
    /// Negative samples per positive one (0 = no negative sampling).
    pub negative: usize,
    /// Hierarchical softmax.
    pub hs: bool,
    /// Subsampling threshold (0 = off).
    pub sample: f64,
    /// Words rarer than this are dropped.
    pub min_count: u64,
    /// Passes over the corpus.
    pub epochs: usize,
    /// Starting learning rate (default 0.025 skip-gram, 0.05 CBOW).
    pub alpha: Option<f32>,
    /// Training threads.
    pub threads: usize,
    /// Random seed; with one thread the result is reproducible.
    pub seed: u64,
}

impl Default for Word2VecConfig {
    fn default() -> Self {
        Self {
            skip_gram: false,
            dim: 100,
            window: 5,
            negative: 5,
            hs: false,
            sample: 1e-3,
            min_count: 5,
            epochs: 5,
            alpha: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            seed: 1,
        }
    }
}

impl Word2VecConfig {
    /// The starting learning rate.
    pub fn start_alpha(&self) -> f32 {
        self.alpha
            .unwrap_or(if self.skip_gram { 0.025 } else { 0.05 })
    }
}

/// A trained model: the input vectors are the word vectors.
#[derive(Debug)]
pub struct Word2Vec {
    /// The vocabulary with counts.
    pub vocab: Vocab,
    /// The word vectors, in vocabulary order.
    pub vectors: WordVectors,
}

struct Shared<'a> {
    cfg: &'a Word2VecConfig,
    vocab: &'a Vocab,
    syn0: SharedRows,
    syn1: Option<SharedRows>,
    syn1neg: Option<SharedRows>,
    table: Vec<u32>,
    huffman: Vec<(Vec<u8>, Vec<u32>)>,
    keep: Vec<f32>,
    sigmoid: Sigmoid,
    done: AtomicU64,
    total: u64,
}

/// Trains on the text file at `path` (read as a stream, `epochs + 1` times). `progress` is
/// called every few thousand words from the training threads.
pub fn train(
    path: &Path,
    cfg: &Word2VecConfig,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Word2Vec> {
    if cfg.dim == 0 || cfg.epochs == 0 || cfg.threads == 0 {
        return Err(WordsError::Invalid(
            "dim, epochs and threads must be at least 1".into(),
        ));
    }
    if cfg.negative == 0 && !cfg.hs {
        return Err(WordsError::Invalid(
            "choose negative sampling (--negative N > 0) and/or hierarchical softmax (--hs)".into(),
        ));
    }
    let vocab = Vocab::build(path, cfg.min_count)?;
    let (n, dim) = (vocab.len(), cfg.dim);
    let mut rng = Lcg(cfg.seed);
    let syn0: Vec<f32> = (0..n * dim)
        .map(|_| (rng.unit() - 0.5) / dim as f32)
        .collect();
    let shared = Shared {
        cfg,
        vocab: &vocab,
        syn0: SharedRows::new(syn0, dim),
        syn1: cfg.hs.then(|| SharedRows::new(vec![0.0; n * dim], dim)),
        syn1neg: (cfg.negative > 0).then(|| SharedRows::new(vec![0.0; n * dim], dim)),
        table: if cfg.negative > 0 {
            vocab.unigram_table(TABLE_SIZE)
        } else {
            Vec::new()
        },
        huffman: if cfg.hs { vocab.huffman() } else { Vec::new() },
        keep: vocab.keep_probabilities(cfg.sample),
        sigmoid: Sigmoid::new(),
        done: AtomicU64::new(0),
        total: vocab.total() * cfg.epochs as u64,
    };
    corpus::in_parallel(path, cfg.threads, |range, t| {
        shared.worker(path, range, t, progress)
    })?;
    let data = shared.syn0.into_vec();
    let vectors = WordVectors::new(vocab.words.clone(), dim, data)?;
    Ok(Word2Vec { vocab, vectors })
}

impl Shared<'_> {
    fn alpha(&self) -> f32 {
        let start = self.cfg.start_alpha();
        let left = 1.0 - self.done.load(Ordering::Relaxed) as f64 / (self.total + 1) as f64;
        (start * left as f32).max(start * 1e-4)
    }

    fn worker(
        &self,
        path: &Path,
        range: (u64, u64),
        thread: u64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<()> {
        let dim = self.cfg.dim;
        let mut rng = Lcg(self.cfg.seed.wrapping_add(thread.wrapping_mul(0x9E37_79B9)));
        let mut sentence: Vec<u32> = Vec::with_capacity(MAX_SENTENCE);
        let mut scratch = Scratch {
            l1: vec![0.0f32; dim],
            neu1: vec![0.0f32; dim],
            neu1e: vec![0.0f32; dim],
            negatives: Vec::with_capacity(self.cfg.negative),
        };
        let mut alpha = self.alpha();
        let mut unreported = 0u64;
        for _ in 0..self.cfg.epochs {
            corpus::scan(path, range, |token| {
                if !token.is_empty() {
                    if let Some(id) = self.vocab.id(token) {
                        unreported += 1;
                        let keep = self.keep[id as usize];
                        if keep >= 1.0 || keep >= rng.unit() {
                            sentence.push(id);
                        }
                    }
                    return;
                }
                if unreported >= REPORT_EVERY {
                    let words = self.done.fetch_add(unreported, Ordering::Relaxed) + unreported;
                    unreported = 0;
                    alpha = self.alpha();
                    progress(Progress {
                        words,
                        total: self.total,
                        alpha,
                    });
                }
                if self.cfg.skip_gram {
                    self.skip_gram(&sentence, alpha, &mut rng, &mut scratch);
                } else {
                    self.cbow(&sentence, alpha, &mut rng, &mut scratch);
                }
                sentence.clear();
            })?;
        }
        let words = self.done.fetch_add(unreported, Ordering::Relaxed) + unreported;
        progress(Progress {
            words,
            total: self.total,
            alpha,
        });
        Ok(())
    }

    /// Context positions of `pos` with the window shrunk by a random `b`.
    fn context(&self, pos: usize, len: usize, rng: &mut Lcg) -> std::ops::Range<usize> {
        let w = self.cfg.window;
        let b = (rng.next() % w.max(1) as u64) as usize;
        let reach = w - b;
        pos.saturating_sub(reach)..(pos + reach + 1).min(len)
    }

    /// One output-layer update for hidden vector `l1` predicting `word`: accumulates the
    /// gradient for `l1` in `neu1e` and updates the output rows.
    fn learn(
        &self,
        word: u32,
        l1: &[f32],
        alpha: f32,
        rng: &mut Lcg,
        neu1e: &mut [f32],
        negatives: &mut Vec<u32>,
    ) {
        if let Some(syn1) = &self.syn1 {
            let (code, point) = &self.huffman[word as usize];
            for (&bit, &node) in code.iter().zip(point) {
                let out = syn1.row(node as usize);
                let f = out.dot(l1);
                if f <= -MAX_EXP || f >= MAX_EXP {
                    continue;
                }
                let g = (1.0 - bit as f32 - self.sigmoid.get(f)) * alpha;
                out.step(g, l1, neu1e);
            }
        }
        if let Some(syn1neg) = &self.syn1neg {
            // The negatives are drawn first (the same draws, in the same order, as drawing
            // each in turn) so that their rows, random places in a matrix larger than the
            // cache, load while the first ones train.
            negatives.clear();
            negatives.extend((0..self.cfg.negative).filter_map(|_| {
                let t = self.table[(rng.next() >> 16) as usize & (TABLE_SIZE - 1)];
                (t != word).then_some(t)
            }));
            for &t in negatives.iter() {
                syn1neg.row(t as usize).prefetch();
            }
            let targets = std::iter::once((word, 1.0)).chain(negatives.iter().map(|&t| (t, 0.0)));
            for (target, label) in targets {
                let out = syn1neg.row(target as usize);
                let g = self.sigmoid.gradient(out.dot(l1), label) * alpha;
                out.step(g, l1, neu1e);
            }
        }
    }

    fn skip_gram(&self, sentence: &[u32], alpha: f32, rng: &mut Lcg, scratch: &mut Scratch) {
        let Scratch {
            l1,
            neu1e,
            negatives,
            ..
        } = scratch;
        for (pos, &word) in sentence.iter().enumerate() {
            for c in self.context(pos, sentence.len(), rng) {
                if c == pos {
                    continue;
                }
                // The next context word's row loads while this one trains.
                if let Some(&next) = sentence.get(c + 1) {
                    self.syn0.row(next as usize).prefetch();
                }
                // The context row is copied out: the output rows are updated from it while
                // other threads may be writing it.
                let row = self.syn0.row(sentence[c] as usize);
                row.read_into(l1);
                neu1e.fill(0.0);
                self.learn(word, l1, alpha, rng, neu1e, negatives);
                row.add(1.0, neu1e);
            }
        }
    }

    fn cbow(&self, sentence: &[u32], alpha: f32, rng: &mut Lcg, scratch: &mut Scratch) {
        let Scratch {
            neu1,
            neu1e,
            negatives,
            ..
        } = scratch;
        for (pos, &word) in sentence.iter().enumerate() {
            let ctx = self.context(pos, sentence.len(), rng);
            let cw = ctx.len() - 1;
            if cw == 0 {
                continue;
            }
            neu1.fill(0.0);
            for c in ctx.clone().filter(|&c| c != pos) {
                self.syn0.row(sentence[c] as usize).add_to(1.0, neu1);
            }
            neu1.iter_mut().for_each(|x| *x /= cw as f32);
            neu1e.fill(0.0);
            self.learn(word, neu1, alpha, rng, neu1e, negatives);
            for c in ctx.filter(|&c| c != pos) {
                self.syn0.row(sentence[c] as usize).add(1.0, neu1e);
            }
        }
    }
}

/// One training thread's buffers, reused for every word.
struct Scratch {
    /// Skip-gram's hidden layer: a copy of the context word's row.
    l1: Vec<f32>,
    /// CBOW's hidden layer: the mean of the context rows.
    neu1: Vec<f32>,
    /// The gradient for the hidden layer (or the context row, in skip-gram).
    neu1e: Vec<f32>,
    /// Room for the negative samples of one update.
    negatives: Vec<u32>,
}
