//! fastText's unsupervised training (Bojanowski et al. 2017): word2vec's skip-gram and CBOW
//! where a word's input vector is the mean of its own row and the rows of its character
//! n-grams (hashed into `bucket` rows), so that words never seen in training get vectors
//! from their n-grams. Negative sampling (from a unigram^0.5 table, as fastText), frequent-word
//! subsampling, a window drawn uniformly from `1..=window`, a learning rate decaying linearly
//! to zero, Hogwild threads each reading its own part of the corpus file.
//!
//! The result is a [`FastTextModel`] that writes as fastText's `.bin` (version 12).

use super::corpus::{self, MAX_SENTENCE};
use super::math::{Lcg, Sigmoid};
use super::{Progress, Vocab};
use crate::error::{Result, WordsError};
use crate::format::fasttext::{Entry, FastTextArgs, FastTextModel, Loss, ModelKind};
use crate::subword::{fnv1a, for_each_ngram};
use embedkit_kernels::shared::SharedRows;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Negative-sampling table size (a power of two, small enough to stay in cache; see the
/// word2vec trainer for the measurement).
const TABLE_SIZE: usize = 1 << 16;
/// Words a thread processes between updates of the shared counter and the learning rate.
const REPORT_EVERY: u64 = 2_000;

/// Training settings; `Default` gives fastText's defaults for `skipgram` / `cbow`.
#[derive(Debug, Clone)]
pub struct FastTextConfig {
    /// Skip-gram (true) or CBOW (false).
    pub skip_gram: bool,
    /// Vector dimension.
    pub dim: usize,
    /// Largest context window (each word draws one from `1..=window`).
    pub window: usize,
    /// Negative samples per positive one.
    pub negative: usize,
    /// Subsampling threshold (0 = off).
    pub sample: f64,
    /// Words rarer than this are dropped.
    pub min_count: u64,
    /// Passes over the corpus.
    pub epochs: usize,
    /// Starting learning rate.
    pub lr: f32,
    /// Shortest character n-gram (characters).
    pub minn: usize,
    /// Longest character n-gram (0: no n-grams, plain word2vec).
    pub maxn: usize,
    /// Hash buckets for the n-grams.
    pub bucket: usize,
    /// Training threads.
    pub threads: usize,
    /// Random seed; with one thread the result is reproducible.
    pub seed: u64,
}

impl Default for FastTextConfig {
    fn default() -> Self {
        Self {
            skip_gram: true,
            dim: 100,
            window: 5,
            negative: 5,
            sample: 1e-4,
            min_count: 5,
            epochs: 5,
            lr: 0.05,
            minn: 3,
            maxn: 6,
            bucket: 2_000_000,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            seed: 1,
        }
    }
}

/// A trained model: the vocabulary with counts and the whole fastText model.
#[derive(Debug)]
pub struct FastText {
    /// The vocabulary with counts.
    pub vocab: Vocab,
    /// Input (word + n-gram rows) and output matrices, with the arguments, ready to write
    /// as `.bin` or to turn into word vectors.
    pub model: FastTextModel,
}

struct Shared<'a> {
    cfg: &'a FastTextConfig,
    vocab: &'a Vocab,
    /// Input rows of each word: its own row, then its n-gram rows.
    subwords: Vec<Vec<u32>>,
    input: SharedRows,
    output: SharedRows,
    table: Vec<u32>,
    keep: Vec<f32>,
    sigmoid: Sigmoid,
    done: AtomicU64,
    total: u64,
}

/// Input-matrix rows of `word` (vocabulary id `id`): the word's row, then one row per
/// character n-gram, `nwords + fnv1a(ngram) % bucket`, as fastText's `getSubwords`.
pub(crate) fn subword_rows(word: &str, id: usize, nwords: usize, cfg: &FastTextConfig) -> Vec<u32> {
    let mut rows = vec![id as u32];
    if cfg.bucket > 0 {
        for_each_ngram(word, cfg.minn, cfg.maxn, |g| {
            rows.push((nwords + (fnv1a(g.as_bytes()) % cfg.bucket as u32) as usize) as u32);
        });
    }
    rows
}

/// Trains on the text file at `path` (read as a stream, `epochs + 1` times). `progress` is
/// called every few thousand words from the training threads.
pub fn train(
    path: &Path,
    cfg: &FastTextConfig,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<FastText> {
    if cfg.dim == 0 || cfg.epochs == 0 || cfg.threads == 0 || cfg.window == 0 {
        return Err(WordsError::Invalid(
            "dim, window, epochs and threads must be at least 1".into(),
        ));
    }
    if cfg.negative == 0 {
        return Err(WordsError::Invalid(
            "fastText training needs negative samples (--negative N > 0)".into(),
        ));
    }
    if cfg.maxn > 0 && (cfg.minn == 0 || cfg.minn > cfg.maxn) {
        return Err(WordsError::Invalid(format!(
            "character n-grams need 1 <= minn <= maxn (got minn {}, maxn {})",
            cfg.minn, cfg.maxn
        )));
    }
    if cfg.maxn > 0 && cfg.bucket == 0 {
        return Err(WordsError::Invalid(
            "character n-grams need at least one bucket".into(),
        ));
    }
    // The .bin format stores the bucket count as an i32.
    if cfg.bucket > i32::MAX as usize {
        return Err(WordsError::Invalid(format!(
            "{} buckets: at most {} are supported",
            cfg.bucket,
            i32::MAX
        )));
    }
    let vocab = Vocab::build(path, cfg.min_count)?;
    let (n, dim) = (vocab.len(), cfg.dim);
    let bucket = if cfg.maxn == 0 { 0 } else { cfg.bucket };
    let rows = n + bucket;
    if rows > u32::MAX as usize {
        return Err(WordsError::Invalid(
            "vocabulary plus buckets exceed 2^32 rows".into(),
        ));
    }
    let mut rng = Lcg(cfg.seed);
    // fastText draws the input matrix from U(-1/dim, 1/dim); the output starts at zero.
    let input: Vec<f32> = (0..rows * dim)
        .map(|_| (rng.unit() * 2.0 - 1.0) / dim as f32)
        .collect();
    let eff = FastTextConfig {
        bucket,
        ..cfg.clone()
    };
    let subwords = vocab
        .words
        .iter()
        .enumerate()
        .map(|(i, w)| subword_rows(w, i, n, &eff))
        .collect();
    let shared = Shared {
        cfg: &eff,
        vocab: &vocab,
        subwords,
        input: SharedRows::new(input, dim),
        output: SharedRows::new(vec![0.0; n * dim], dim),
        table: sqrt_unigram_table(&vocab.counts),
        keep: vocab.keep_probabilities(cfg.sample),
        sigmoid: Sigmoid::new(),
        done: AtomicU64::new(0),
        total: vocab.total() * cfg.epochs as u64,
    };
    corpus::in_parallel(path, cfg.threads, |range, t| {
        shared.worker(path, range, t, progress)
    })?;
    let Shared { input, output, .. } = shared;
    let model = FastTextModel {
        args: FastTextArgs {
            dim,
            ws: cfg.window,
            epoch: cfg.epochs,
            min_count: cfg.min_count as usize,
            neg: cfg.negative,
            word_ngrams: 1,
            loss: Loss::NegativeSampling,
            model: if cfg.skip_gram {
                ModelKind::SkipGram
            } else {
                ModelKind::Cbow
            },
            bucket,
            minn: if bucket == 0 { 0 } else { cfg.minn },
            maxn: if bucket == 0 { 0 } else { cfg.maxn },
            lr_update_rate: 100,
            t: cfg.sample,
        },
        entries: vocab
            .words
            .iter()
            .zip(&vocab.counts)
            .map(|(w, &c)| Entry {
                word: w.clone(),
                count: c as i64,
                is_label: false,
            })
            .collect(),
        ntokens: vocab.total() as i64,
        pruneidx: None,
        input: input.into_vec(),
        output: output.into_vec(),
    };
    Ok(FastText { vocab, model })
}

/// fastText draws negatives proportionally to `count^0.5` (word2vec uses `^0.75`).
fn sqrt_unigram_table(counts: &[u64]) -> Vec<u32> {
    let pow: Vec<f64> = counts.iter().map(|&c| (c as f64).sqrt()).collect();
    let sum: f64 = pow.iter().sum();
    let mut table = Vec::with_capacity(TABLE_SIZE);
    let (mut i, mut cum) = (0, pow[0] / sum);
    for a in 0..TABLE_SIZE {
        table.push(i as u32);
        if (a as f64 + 1.0) / TABLE_SIZE as f64 > cum && i + 1 < pow.len() {
            i += 1;
            cum += pow[i] / sum;
        }
    }
    table
}

impl Shared<'_> {
    fn lr(&self) -> f32 {
        let left = 1.0 - self.done.load(Ordering::Relaxed) as f64 / (self.total + 1) as f64;
        (self.cfg.lr as f64 * left.max(0.0)) as f32
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
        let mut hidden = vec![0.0f32; dim];
        let mut grad = vec![0.0f32; dim];
        let mut bag: Vec<u32> = Vec::new();
        let mut lr = self.lr();
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
                for (pos, &word) in sentence.iter().enumerate() {
                    let reach = 1 + (rng.next() % self.cfg.window as u64) as usize;
                    let ctx = pos.saturating_sub(reach)..(pos + reach + 1).min(sentence.len());
                    if self.cfg.skip_gram {
                        let rows = &self.subwords[word as usize];
                        for c in ctx.filter(|&c| c != pos) {
                            self.update(rows, sentence[c], lr, &mut rng, &mut hidden, &mut grad);
                        }
                    } else {
                        bag.clear();
                        for c in ctx.filter(|&c| c != pos) {
                            bag.extend(&self.subwords[sentence[c] as usize]);
                        }
                        if !bag.is_empty() {
                            self.update(&bag, word, lr, &mut rng, &mut hidden, &mut grad);
                        }
                    }
                    if unreported >= REPORT_EVERY {
                        let words = self.done.fetch_add(unreported, Ordering::Relaxed) + unreported;
                        unreported = 0;
                        lr = self.lr();
                        progress(Progress {
                            words,
                            total: self.total,
                            alpha: lr,
                        });
                    }
                }
                sentence.clear();
            })?;
        }
        let words = self.done.fetch_add(unreported, Ordering::Relaxed) + unreported;
        progress(Progress {
            words,
            total: self.total,
            alpha: lr,
        });
        Ok(())
    }

    /// fastText's `Model::update` with the negative-sampling loss: the hidden vector is the
    /// mean of the `inputs` rows; `target` and `negative` random other words are scored
    /// against it, and every input row receives the whole gradient.
    fn update(
        &self,
        inputs: &[u32],
        target: u32,
        lr: f32,
        rng: &mut Lcg,
        hidden: &mut [f32],
        grad: &mut [f32],
    ) {
        hidden.fill(0.0);
        for &r in inputs {
            self.input.row(r as usize).add_to(1.0, hidden);
        }
        let inv = 1.0 / inputs.len() as f32;
        hidden.iter_mut().for_each(|x| *x *= inv);
        grad.fill(0.0);
        for d in 0..=self.cfg.negative {
            let (word, label) = if d == 0 {
                (target, 1.0)
            } else {
                // fastText redraws until the negative differs from the target.
                let mut t = target;
                for _ in 0..16 {
                    t = self.table[(rng.next() >> 16) as usize & (TABLE_SIZE - 1)];
                    if t != target {
                        break;
                    }
                }
                if t == target {
                    continue;
                }
                (t, 0.0)
            };
            let out = self.output.row(word as usize);
            let g = self.sigmoid.gradient(out.dot(hidden), label) * lr;
            out.step(g, hidden, grad);
        }
        for &r in inputs {
            self.input.row(r as usize).add(1.0, grad);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negatives_follow_the_square_root_of_counts() {
        let t = sqrt_unigram_table(&[16, 4]);
        let share0 = t.iter().filter(|&&w| w == 0).count() as f64 / t.len() as f64;
        assert!((share0 - 4.0 / 6.0).abs() < 1e-3, "{share0}");
    }

    #[test]
    fn subword_rows_are_the_word_then_hashed_ngrams() {
        let cfg = FastTextConfig {
            bucket: 1000,
            ..Default::default()
        };
        let rows = subword_rows("ab", 7, 50, &cfg);
        // "<ab>" has n-grams "<ab", "<ab>", "ab>" for minn 3.
        let want: Vec<u32> = ["<ab", "<ab>", "ab>"]
            .iter()
            .map(|g| 50 + fnv1a(g.as_bytes()) % 1000)
            .collect();
        assert_eq!(rows[0], 7);
        assert_eq!(&rows[1..], &want[..]);
    }
}
