//! GloVe (Pennington et al. 2014) as the original tools train it: vocabulary count,
//! co-occurrence counting with `1/distance` weights, shuffling (both under a memory bound,
//! spilling to temporary files), then, streaming the shuffled pairs from disk every epoch,
//! AdaGrad on `f(X_ij) (w_i·w̃_j + b_i + b̃_j - ln X_ij)^2` with
//! `f(x) = min(1, (x/x_max)^alpha)`, Hogwild threads; the output is `W + W̃`.

use super::cooccur::{self, ChunkReader, Cooc, RECORD};
use super::hogwild::SharedMatrix;
use super::math::Lcg;
use super::shuffle::Shuffler;
use super::{Progress, Vocab};
use crate::error::{Result, WordsError};
use crate::vectors::WordVectors;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of the `--memory` bound kept for the vocabulary, I/O buffers and the program.
const OVERHEAD: usize = 24 << 20;

/// Training settings; `Default` gives the original's demo settings (50-d, window 15,
/// x_max 100, alpha 0.75, eta 0.05, 25 iterations).
#[derive(Debug, Clone)]
pub struct GloveConfig {
    /// Vector dimension.
    pub dim: usize,
    /// Context window (symmetric).
    pub window: usize,
    /// Words rarer than this are dropped.
    pub min_count: u64,
    /// Bytes the whole run may hold in memory: the parameters, and buffers for counting and
    /// shuffling that spill to disk when full.
    pub memory: usize,
    /// Cut-off of the weighting function.
    pub x_max: f64,
    /// Exponent of the weighting function.
    pub alpha: f64,
    /// AdaGrad learning rate.
    pub eta: f32,
    /// Passes over the co-occurrences.
    pub epochs: usize,
    /// Training threads.
    pub threads: usize,
    /// Random seed.
    pub seed: u64,
}

impl Default for GloveConfig {
    fn default() -> Self {
        Self {
            dim: 50,
            window: 15,
            min_count: 5,
            memory: 1 << 30,
            x_max: 100.0,
            alpha: 0.75,
            eta: 0.05,
            epochs: 25,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            seed: 1,
        }
    }
}

/// A trained GloVe model.
#[derive(Debug)]
pub struct Glove {
    /// The vocabulary with counts.
    pub vocab: Vocab,
    /// `W + W̃`, in vocabulary order.
    pub vectors: WordVectors,
    /// Non-zero co-occurrence pairs.
    pub pairs: usize,
    /// Chunks the co-occurrence step spilled to disk.
    pub spilled_chunks: usize,
}

/// Trains on the text file at `path`; `progress` counts co-occurrence updates.
pub fn train(
    path: &Path,
    cfg: &GloveConfig,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Glove> {
    if cfg.dim == 0 || cfg.epochs == 0 || cfg.threads == 0 || cfg.window == 0 {
        return Err(WordsError::Invalid(
            "dim, window, epochs and threads must be at least 1".into(),
        ));
    }
    let vocab = Vocab::build(path, cfg.min_count)?;
    let (n, dim) = (vocab.len(), cfg.dim);
    // Rows are `dim` weights then the bias, as in the original.
    let cols = dim + 1;
    // The memory bound covers the whole run: the four parameter matrices (W, W̃ and their
    // AdaGrad sums) live only while training, but are reserved from the start, with some
    // room for the vocabulary and I/O buffers; counting and shuffling split the rest.
    let model_bytes = 4 * n * cols * std::mem::size_of::<f32>();
    let buffers = cfg.memory.saturating_sub(model_bytes + OVERHEAD) / 2;
    let tmp = TempDir::new()?;
    let shuffled = tmp.0.join("shuffled.bin");
    let mut shuffler = Shuffler::new(buffers, &tmp.0, cfg.seed);
    let mut err = None;
    let spilled = cooccur::count(path, &vocab, cfg.window, buffers, &tmp.0, &mut |c| {
        if err.is_none() {
            err = shuffler.push(c).err();
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    let pairs = shuffler.finish(&shuffled)?;
    let mut rng = Lcg(cfg.seed);
    let init = |rng: &mut Lcg| -> Vec<f32> {
        (0..n * cols)
            .map(|_| (rng.unit() - 0.5) / dim as f32)
            .collect()
    };
    let w = SharedMatrix::new(init(&mut rng), cols);
    let wt = SharedMatrix::new(init(&mut rng), cols);
    let gw = SharedMatrix::new(vec![1.0; n * cols], cols);
    let gwt = SharedMatrix::new(vec![1.0; n * cols], cols);
    let done = AtomicU64::new(0);
    let total = pairs * cfg.epochs as u64;
    let threads = cfg.threads as u64;
    for _ in 0..cfg.epochs {
        // Each thread streams its own stretch of the shuffled file, as glove.c does.
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (w, wt, gw, gwt, done) = (&w, &wt, &gw, &gwt, &done);
                    let (first, last) = (pairs * t / threads, pairs * (t + 1) / threads);
                    let shuffled = &shuffled;
                    s.spawn(move || -> Result<()> {
                        let mut file = File::open(shuffled)?;
                        file.seek(SeekFrom::Start(first * RECORD as u64))?;
                        let mut records = ChunkReader(BufReader::with_capacity(1 << 20, file));
                        let mut k = 0u64;
                        for _ in first..last {
                            let Some(c) = records.next()? else {
                                return Err(WordsError::Invalid(format!(
                                    "{} ended early",
                                    shuffled.display()
                                )));
                            };
                            update(cfg, &c, w, wt, gw, gwt);
                            k += 1;
                            if k % 100_000 == 0 {
                                let words = done.fetch_add(100_000, Ordering::Relaxed) + 100_000;
                                progress(Progress {
                                    words,
                                    total,
                                    alpha: cfg.eta,
                                });
                            }
                        }
                        done.fetch_add(k % 100_000, Ordering::Relaxed);
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("training thread panicked"))
                .collect::<Result<Vec<()>>>()
        })?;
    }
    let (w, wt) = (w.into_inner(), wt.into_inner());
    let mut data = Vec::with_capacity(n * dim);
    for i in 0..n {
        for d in 0..dim {
            data.push(w[i * cols + d] + wt[i * cols + d]);
        }
    }
    let vectors = WordVectors::new(vocab.words.clone(), dim, data)?;
    Ok(Glove {
        vocab,
        vectors,
        pairs: pairs as usize,
        spilled_chunks: spilled,
    })
}

/// One AdaGrad step on the pair `c` (glove.c's inner loop).
#[inline]
fn update(
    cfg: &GloveConfig,
    c: &Cooc,
    w: &SharedMatrix,
    wt: &SharedMatrix,
    gw: &SharedMatrix,
    gwt: &SharedMatrix,
) {
    let dim = cfg.dim;
    let (wi, wj) = (w.row(c.i as usize), wt.row(c.j as usize));
    let (gi, gj) = (gw.row(c.i as usize), gwt.row(c.j as usize));
    let pred: f32 = crate::vectors::dot(&wi[..dim], &wj[..dim]) + wi[dim] + wj[dim];
    let diff = pred - c.x.ln() as f32;
    let weight = if c.x > cfg.x_max {
        1.0
    } else {
        (c.x / cfg.x_max).powf(cfg.alpha) as f32
    };
    let fdiff = weight * diff * cfg.eta;
    for d in 0..dim {
        let t1 = fdiff * wj[d];
        let t2 = fdiff * wi[d];
        wi[d] -= t1 / gi[d].sqrt();
        wj[d] -= t2 / gj[d].sqrt();
        gi[d] += t1 * t1;
        gj[d] += t2 * t2;
    }
    wi[dim] -= fdiff / gi[dim].sqrt();
    wj[dim] -= fdiff / gj[dim].sqrt();
    gi[dim] += fdiff * fdiff;
    gj[dim] += fdiff * fdiff;
}

/// A private temporary folder, removed when dropped (also on errors).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "embedkit-glove-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
