//! GloVe (Pennington et al. 2014) as the original tools train it: vocabulary count,
//! co-occurrence counting with `1/distance` weights, shuffling (both under a memory bound,
//! spilling to temporary files), then, streaming the shuffled pairs from disk every epoch,
//! AdaGrad on `f(X_ij) (w_i·w̃_j + b_i + b̃_j - ln X_ij)^2` with
//! `f(x) = min(1, (x/x_max)^alpha)`, Hogwild threads; the output is `W + W̃`.

use super::cooccur::{self, ChunkReader, Cooc, RECORD};
use super::math::Lcg;
use super::shuffle::Shuffler;
use super::{Progress, Vocab};
use crate::error::{Result, WordsError};
use crate::vectors::WordVectors;
use embedkit_kernels::shared::{update_elements, SharedRows};
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// glove.c's bound on each gradient component (its `-grad-clip`).
const GRAD_CLIP: f32 = 100.0;

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
            // 1024 MB.
            memory: 1_024_000_000,
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
    let w = SharedRows::new(init(&mut rng), cols);
    let wt = SharedRows::new(init(&mut rng), cols);
    let gw = SharedRows::new(vec![1.0; n * cols], cols);
    let gwt = SharedRows::new(vec![1.0; n * cols], cols);
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
                        let mut next = records.next()?;
                        for at in first..last {
                            let Some(c) = next else {
                                return Err(WordsError::Invalid(format!(
                                    "{} ended early",
                                    shuffled.display()
                                )));
                            };
                            // The four rows of a pair are random places in matrices larger
                            // than the cache: the next pair's rows load while this one trains.
                            next = if at + 1 < last { records.next()? } else { None };
                            if let Some(n) = &next {
                                for (m, row) in [(w, n.i), (gw, n.i), (wt, n.j), (gwt, n.j)] {
                                    m.row(row as usize).prefetch();
                                }
                            }
                            update(cfg, &c, [w, wt, gw, gwt]);
                            k += 1;
                            if k.is_multiple_of(100_000) {
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
    let (w, wt) = (w.into_vec(), wt.into_vec());
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

/// One AdaGrad step on the pair `c` (glove.c's inner loop) in the matrices `m` = `[W, W̃, G,
/// G̃]` (weights and squared-gradient sums, the bias last in each row).
#[inline]
fn update(cfg: &GloveConfig, c: &Cooc, m: [&SharedRows; 4]) {
    let dim = cfg.dim;
    let (i, j) = (c.i as usize, c.j as usize);
    let (wi, wj, gi, gj) = (m[0].row(i), m[1].row(j), m[2].row(i), m[3].row(j));
    let pred: f32 = wi.slice(0..dim).dot_row(&wj.slice(0..dim)) + wi.get(dim) + wj.get(dim);
    let diff = pred - c.x.ln() as f32;
    let weight = if c.x > cfg.x_max {
        1.0
    } else {
        (c.x / cfg.x_max).powf(cfg.alpha) as f32
    };
    let fdiff = weight * diff;
    // As glove.c does today, a pair whose error is not finite is skipped and each gradient
    // component is clipped to ±GRAD_CLIP. Its biases now step without the learning rate
    // (a side effect of moving the rate into the clipped gradients); here they step with
    // it, as in GloVe 1.2 and the paper, which scored better on gcide (WordSim-353 0.544
    // against 0.528, one run each).
    if !fdiff.is_finite() {
        return;
    }
    let eta = cfg.eta;
    // One element-wise pass over the four rows, vectorized: the square roots and divisions
    // are most of the run time.
    let weights = [wi, wj, gi, gj].map(|r| r.slice(0..dim));
    update_elements(weights, |[wi, wj, gi, gj]| {
        let t1 = (fdiff * wj).clamp(-GRAD_CLIP, GRAD_CLIP) * eta;
        let t2 = (fdiff * wi).clamp(-GRAD_CLIP, GRAD_CLIP) * eta;
        [
            wi - t1 / gi.sqrt(),
            wj - t2 / gj.sqrt(),
            gi + t1 * t1,
            gj + t2 * t2,
        ]
    });
    let step = fdiff * eta;
    let (gi_bias, gj_bias) = (gi.get(dim), gj.get(dim));
    wi.set(dim, wi.get(dim) - step / gi_bias.sqrt());
    wj.set(dim, wj.get(dim) - step / gj_bias.sqrt());
    gi.set(dim, gi_bias + step * step);
    gj.set(dim, gj_bias + step * step);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One step on one pair, against glove.c's formulas evaluated by hand in f64: the
    /// weighted error, AdaGrad steps from the squared-gradient sums before the step, and
    /// the sums growing by the squared gradients (weights, then bias).
    #[test]
    fn one_update_is_the_adagrad_step_of_glove_c() {
        let cfg = GloveConfig {
            dim: 3,
            x_max: 10.0,
            alpha: 0.75,
            eta: 0.05,
            ..Default::default()
        };
        let (wi0, wj0) = ([0.1, -0.2, 0.3, 0.05], [0.4, 0.1, -0.1, -0.02]);
        let (gi0, gj0) = ([1.0, 1.5, 2.0, 1.2], [1.1, 1.0, 3.0, 1.0]);
        let m = |v: [f64; 4]| SharedRows::new(v.iter().map(|&x| x as f32).collect(), 4);
        let (w, wt, gw, gwt) = (m(wi0), m(wj0), m(gi0), m(gj0));
        let x = 3.0;
        update(&cfg, &Cooc { i: 0, j: 0, x }, [&w, &wt, &gw, &gwt]);

        let dot: f64 = (0..3).map(|d| wi0[d] * wj0[d]).sum();
        let diff = dot + wi0[3] + wj0[3] - f64::ln(x);
        let fdiff = (x / 10.0f64).powf(0.75) * diff * 0.05;
        let close = |got: f32, want: f64| (got as f64 - want).abs() < 1e-6;
        for d in 0..3 {
            let (t1, t2) = (fdiff * wj0[d], fdiff * wi0[d]);
            assert!(
                close(w.row(0).get(d), wi0[d] - t1 / gi0[d].sqrt()),
                "w[{d}]"
            );
            assert!(
                close(wt.row(0).get(d), wj0[d] - t2 / gj0[d].sqrt()),
                "w~[{d}]"
            );
            assert!(close(gw.row(0).get(d), gi0[d] + t1 * t1), "gw[{d}]");
            assert!(close(gwt.row(0).get(d), gj0[d] + t2 * t2), "gw~[{d}]");
        }
        assert!(close(w.row(0).get(3), wi0[3] - fdiff / gi0[3].sqrt()));
        assert!(close(wt.row(0).get(3), wj0[3] - fdiff / gj0[3].sqrt()));
        assert!(close(gw.row(0).get(3), gi0[3] + fdiff * fdiff));
        assert!(close(gwt.row(0).get(3), gj0[3] + fdiff * fdiff));
    }

    /// A huge error moves each weight by at most GRAD_CLIP · eta / sqrt(gradsq); an error
    /// that is not finite changes nothing.
    #[test]
    fn gradients_are_clipped_and_non_finite_errors_skipped() {
        let cfg = GloveConfig {
            dim: 2,
            x_max: 10.0,
            eta: 0.05,
            ..Default::default()
        };
        let m = |v: [f32; 3]| SharedRows::new(v.to_vec(), 3);
        let (w, wt, gw, gwt) = (
            m([1e6, -1e6, 0.0]),
            m([1e6, 1e6, 0.0]),
            m([1.0; 3]),
            m([4.0; 3]),
        );
        update(
            &cfg,
            &Cooc {
                i: 0,
                j: 0,
                x: 20.0,
            },
            [&w, &wt, &gw, &gwt],
        );
        // w·w̃ = 0, so the error is -ln 20 and every gradient component far past the clip.
        assert_eq!(w.row(0).get(0), 1e6 + GRAD_CLIP * 0.05);
        assert_eq!(wt.row(0).get(1), 1e6 - GRAD_CLIP * 0.05 / 2.0);
        assert_eq!(gw.row(0).get(0), 1.0 + (GRAD_CLIP * 0.05).powi(2));
        let before: Vec<f32> = w.row(0).to_vec();
        update(
            &cfg,
            &Cooc {
                i: 0,
                j: 0,
                x: f64::NAN,
            },
            [&w, &wt, &gw, &gwt],
        );
        assert_eq!(w.row(0).to_vec(), before);
    }
}
