//! Packed operand layouts for the microkernels.
//!
//! A microkernel step reads one `MR`-tall column of A and one `NR`-wide row of Bᵀ, so both
//! operands are rearranged so that those reads are consecutive in memory:
//!
//! * The weight (B, PyTorch `[n, k]`) is packed **once**, when a layer is loaded, into
//!   `NR`-column panels, cut along k into depth blocks the size the driver multiplies at a
//!   time. Padding columns (past `n`) are zeros, so every panel is a full `NR` wide and the
//!   kernel never needs a column mask.
//! * The activations (A, `[m, k]` row-major) are packed per call, one `MR`-row panel at a time
//!   for the rows and depth block a task is about to multiply; padding rows are zeros.
//!
//! Packed B sits in 64-byte aligned storage so that each `NR = 16` float row of a panel is
//! exactly one cache line.

use super::{Microkernel, MR, NR};
use std::fmt;

/// Deepest k block multiplied in one pass. A `KC_MAX × NR` panel of B (24 KiB) stays
/// (mostly) in the 32 KiB L1 while the A panels stream past it from L2. 384 rather than
/// BLIS's usual 256 because it takes the k = 384 products of MiniLM-sized models in one block,
/// so C is stored once instead of stored, reloaded and stored again (a few percent faster on
/// those shapes in single-thread runs, and no slower at k = 1536).
pub(crate) const KC_MAX: usize = 384;

/// One 64-byte line of a packed panel: the `NR` values of one k step.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; NR]);

/// The weight of a linear layer, packed for the GEMM microkernels.
#[derive(Clone)]
pub(crate) struct PackedWeight {
    lines: Vec<Line>,
    /// Output features (columns of C).
    n: usize,
    /// Input features (the shared dimension).
    k: usize,
    /// Depth of every k block but possibly the last one.
    kc: usize,
}

impl fmt::Debug for PackedWeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values themselves are megabytes of noise in a debug print.
        f.debug_struct("PackedWeight")
            .field("n", &self.n)
            .field("k", &self.k)
            .field("kc", &self.kc)
            .finish_non_exhaustive()
    }
}

/// Depth of the k blocks for a shared dimension of `k`: blocks of equal depth (give or take
/// one) no deeper than [`KC_MAX`], so k = 1536 runs as 4 × 384, and k = 400 as 2 × 200
/// rather than 384 + 16.
fn block_depth(k: usize) -> usize {
    let blocks = k.div_ceil(KC_MAX).max(1);
    k.div_ceil(blocks).max(1)
}

impl PackedWeight {
    /// Packs a row-major `[n, k]` weight.
    ///
    /// Panics if `weight.len() != n * k` (callers check shapes first).
    pub(crate) fn new(weight: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(weight.len(), n * k, "weight is not n x k");
        let kc = block_depth(k);
        let panels = n.div_ceil(NR);
        let mut lines = vec![Line([0.0; NR]); k * panels];
        let mut next = 0;
        for (k0, depth) in k_blocks(k, kc) {
            for panel in 0..panels {
                let block = &mut lines[next..next + depth];
                next += depth;
                for col in 0..NR.min(n - panel * NR) {
                    let row = &weight[(panel * NR + col) * k + k0..][..depth];
                    for (line, &w) in block.iter_mut().zip(row) {
                        line.0[col] = w;
                    }
                }
            }
        }
        Self { lines, n, k, kc }
    }

    /// Output features.
    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// Number of `NR`-wide column panels (the last one zero-padded).
    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }

    /// The `(start, depth)` k blocks, in the order they are stored.
    pub(crate) fn k_blocks(&self) -> impl Iterator<Item = (usize, usize)> {
        k_blocks(self.k, self.kc)
    }

    /// The `depth × NR` panel for column panel `panel` of the k block starting at `k0`.
    ///
    /// Blocks are stored one after the other, each holding every panel for its depth, so the
    /// block starting at `k0` begins after `k0` lines of each panel.
    pub(crate) fn panel(&self, k0: usize, depth: usize, panel: usize) -> &[f32] {
        let start = k0 * self.panels() + panel * depth;
        let lines = &self.lines[start..start + depth];
        // SAFETY: `Line` is `repr(C)` around `[f32; NR]` with size 64 = NR · 4 bytes and
        // alignment 64, so there is no padding: `depth` lines are `depth · NR` initialized,
        // contiguous `f32`s, borrowed for as long as `self`.
        unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<f32>(), depth * NR) }
    }

    /// The weight back in its row-major `[n, k]` layout (used to re-pack fused layers).
    pub(crate) fn to_row_major(&self) -> Vec<f32> {
        let mut weight = vec![0.0; self.n * self.k];
        for (k0, depth) in self.k_blocks() {
            for panel in 0..self.panels() {
                let block = self.panel(k0, depth, panel);
                for col in 0..NR.min(self.n - panel * NR) {
                    let row = &mut weight[(panel * NR + col) * self.k + k0..][..depth];
                    for (p, w) in row.iter_mut().enumerate() {
                        *w = block[p * NR + col];
                    }
                }
            }
        }
        weight
    }
}

/// `(start, depth)` of each k block of depth `kc` (the last one may be shallower).
fn k_blocks(k: usize, kc: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..k).step_by(kc).map(move |k0| (k0, kc.min(k - k0)))
}

/// Stands in for the rows past the bottom of A in its last panel.
static ZEROS: [f32; KC_MAX] = [0.0; KC_MAX];

/// Packs rows `rows` × columns `k0..k0 + depth` of the row-major `a` (row stride `lda`) into
/// `MR`-row panels, `depth × MR` each, zero-filling rows past the end of `rows`. `depth` is
/// at most [`KC_MAX`], as every block of a [`PackedWeight`] is.
///
/// `dst` is resized as needed and reused between calls to avoid reallocating.
///
/// # Safety
///
/// The CPU supports the instructions `K` was compiled for.
pub(crate) unsafe fn pack_a<K: Microkernel>(
    a: &[f32],
    lda: usize,
    rows: std::ops::Range<usize>,
    k0: usize,
    depth: usize,
    dst: &mut Vec<f32>,
) {
    let panels = rows.len().div_ceil(MR);
    dst.resize(panels * MR * depth, 0.0);
    let row = |i: usize| &a[i * lda + k0..][..depth];
    for (panel, out) in dst.chunks_exact_mut(MR * depth).enumerate() {
        let first = rows.start + panel * MR;
        let height = MR.min(rows.end - first);
        if height == MR {
            // SAFETY: the caller vouches for `K`'s CPU features.
            unsafe { K::pack_panel(std::array::from_fn(|r| row(first + r)), out) };
        } else {
            // The ragged last panel (at most one per block): padding rows must be zeros.
            let rows = std::array::from_fn(|r| {
                if r < height {
                    row(first + r)
                } else {
                    &ZEROS[..depth]
                }
            });
            interleave_rows(rows, out);
        }
    }
}

/// Portable [`Microkernel::pack_panel`]: `out[p · MR + r] = rows[r][p]`.
pub(crate) fn interleave_rows(rows: [&[f32]; MR], out: &mut [f32]) {
    for (p, line) in out.chunks_exact_mut(MR).enumerate() {
        for (dst, row) in line.iter_mut().zip(&rows) {
            *dst = row[p];
        }
    }
}
