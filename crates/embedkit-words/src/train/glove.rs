//! GloVe (Pennington et al. 2014) as the original tools train it: vocabulary count,
//! co-occurrence counting with `1/distance` weights under a memory bound, shuffling, then
//! AdaGrad on `f(X_ij) (w_i·w̃_j + b_i + b̃_j - ln X_ij)^2` with
//! `f(x) = min(1, (x/x_max)^alpha)`, Hogwild threads; the output is `W + W̃`.

use super::cooccur::{self, Cooc};
use super::hogwild::SharedMatrix;
use super::math::Lcg;
use super::{Progress, Vocab};
use crate::error::{Result, WordsError};
use crate::vectors::WordVectors;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Bytes the co-occurrence step may hold in memory before spilling to disk.
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
    let tmp = std::env::temp_dir().join(format!("embedkit-glove-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let mut pairs: Vec<Cooc> = Vec::new();
    let spilled = cooccur::count(path, &vocab, cfg.window, cfg.memory, &tmp, &mut |c| {
        pairs.push(c)
    });
    let _ = std::fs::remove_dir_all(&tmp);
    let spilled = spilled?;
    // Shuffle (Fisher-Yates), so that each thread's slice is a random sample.
    let mut rng = Lcg(cfg.seed);
    for k in (1..pairs.len()).rev() {
        let r = (rng.next() >> 16) as usize % (k + 1);
        pairs.swap(k, r);
    }
    let (n, dim) = (vocab.len(), cfg.dim);
    // Rows are `dim` weights then the bias, as in the original.
    let cols = dim + 1;
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
    let total = (pairs.len() * cfg.epochs) as u64;
    let per = pairs.len().div_ceil(cfg.threads).max(1);
    for _ in 0..cfg.epochs {
        std::thread::scope(|s| {
            for slice in pairs.chunks(per) {
                let (w, wt, gw, gwt, done) = (&w, &wt, &gw, &gwt, &done);
                s.spawn(move || {
                    let mut k = 0u64;
                    for c in slice {
                        let (wi, wj) = (w.row(c.i as usize), wt.row(c.j as usize));
                        let (gi, gj) = (gw.row(c.i as usize), gwt.row(c.j as usize));
                        let pred: f32 =
                            crate::vectors::dot(&wi[..dim], &wj[..dim]) + wi[dim] + wj[dim];
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
                });
            }
        });
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
        pairs: pairs.len(),
        spilled_chunks: spilled,
    })
}
