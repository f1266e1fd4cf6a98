//! 8-bit activation products: `C (+)= dequant(quant(A) · quant(B)ᵀ) + bias`, with A
//! quantized per call to unsigned bytes and B to signed bytes once, multiplied four at a
//! time by AVX512-VNNI's `vpdpbusd`: 64 multiply-adds per instruction, twice `vdpbf16ps`'
//! 32 and at the same instruction rate (8.5 G instructions/s on one Zen 5 core for both).
//!
//! These are `--precision int8`'s products for layers whose inputs are bounded (in the
//! encoder block: QKV and the feed-forward's first layer, fed by a LayerNorm, and the
//! attention output). What keeps 8 bits of activation within the quality bound (cosine
//! ≥ 0.999 with f32) on all-MiniLM-L6-v2, worst over the fixture sentences as
//! `bench/int8_activation_numerics.py` reproduces each choice with sentence-transformers
//! (0.99935 as built, embedkit itself 0.99934):
//!
//! * **One scale and zero point per row and [`GROUP`] of k** (asymmetric, 255 levels): an
//!   outlier feature coarsens only its own group. Per row alone: 0.9987; symmetric (127
//!   levels): 0.9988.
//! * **Smoothing** ([`smoothing`]): the norm's per-feature magnitude (`|γ| + |β|`) is moved
//!   from the activations into the weight columns (`x / s`, `W · s`, `s = √(mag / max|W|)`,
//!   SmoothQuant's α = 0.5 without calibration data), so features the norm makes large no
//!   longer set their group's step. Without it: 0.9985. A fused layer can smooth its parts
//!   for their own weights (A is then quantized once per part): one factor for Q, K and V
//!   gave 0.9986; the encoder block smooths Q with K, and V alone (Q, K, V apart: 0.9994).
//! * The feed-forward's second layer (its inputs, GELU outputs, have heavy tails) stays on
//!   bf16 pairs: 8 bits there too cost 0.9975.
//!
//! Weights are symmetric int8 with one scale per output column (per-group weight scales
//! gained nothing once activations have groups). With `a` the codes and `z` the zero point
//! of a row's group, `x ≈ s · (a − z)`, so each group contributes
//! `s · (Σ a·q − z · Σ q)` to a column: the column sums `Σ q` per group are packed with B.
//!
//! Layouts (64-byte lines):
//! * B: per 16-column panel, one line per 4 k steps holding each column's 4 signed bytes
//!   side by side (what `vpdpbusd` sums into one lane); k padded to whole groups and the
//!   panels to an even count with zeros.
//! * A: per row, one line of 64 codes per group, rows padded to a multiple of 32; beside it
//!   each row group's `(s, s · z)`.

pub(crate) mod avx512;

use super::bf16dot::{self, deliver, BlockF32, Engine, PackedPairs, SharedLines, Target, BLOCK};
use super::driver::checked_c;
use super::Dest;
use crate::ops::Activation;
use crate::scratch::{grown, with_reused};
use crate::team::SendPtr;
use std::cell::RefCell;
use std::ops::Range;

/// k steps sharing one activation scale and zero point: one line of codes.
pub(crate) const GROUP: usize = 64;
/// k steps in one line of B (16 columns × 4 bytes).
const QUAD: usize = 4;
/// Rows of A a task multiplies by its B block before moving on (as in [`bf16dot`]).
const ROWS_PER_TASK: usize = 256;

/// 64 bytes: a group of a row's codes, or 4 k steps of a B panel's 16 columns.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct Codes(pub(super) [u8; 64]);

const ZERO_CODES: Codes = Codes([0; 64]);

/// Whether 8-bit activation products run in this process: they need AVX512-VNNI (part of
/// the AVX-512 path) and share their epilogue and their partner layers with the bf16 pair
/// engines, so both must be there.
pub(crate) fn available() -> bool {
    bf16dot::engine().is_some()
}

/// Per-feature smoothing factors `s` for a weight fed by a normalization whose outputs have
/// per-feature magnitude about `input_magnitude` (`|γ| + |β|`): `√(mag / max_j |W[j, k]|)`,
/// 1 where either is zero (nothing to balance).
pub(crate) fn smoothing(weight: &[f32], n: usize, k: usize, input_magnitude: &[f32]) -> Vec<f32> {
    assert_eq!(weight.len(), n * k, "weight is not n x k");
    assert_eq!(input_magnitude.len(), k, "one magnitude per input feature");
    let mut column_max = vec![0.0_f32; k];
    for row in weight.chunks_exact(k.max(1)) {
        for (m, w) in column_max.iter_mut().zip(row) {
            *m = m.max(w.abs());
        }
    }
    column_max
        .iter()
        .zip(input_magnitude)
        .map(|(&w, &a)| {
            let s = (a.abs() / w).sqrt();
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect()
}

/// k padded to whole groups.
fn padded_k(k: usize) -> usize {
    k.div_ceil(GROUP) * GROUP
}

/// A weight quantized to int8 per output column after smoothing, packed for `vpdpbusd`.
#[derive(Clone)]
pub(crate) struct PackedQuads {
    lines: Vec<Codes>,
    /// Per column (padded to whole blocks): the weight is `scale · q` (smoothed).
    scales: Vec<f32>,
    /// `[panel][group][16]`: `Σ q` of the column over the group's k steps.
    sums: Vec<f32>,
    /// The column ranges with their own smoothing, each starting on a whole block.
    segments: Vec<Segment>,
    n: usize,
    k: usize,
}

/// Columns sharing one smoothing, and its inverse per input feature (applied to A as it is
/// quantized for these columns).
#[derive(Clone)]
struct Segment {
    columns: Range<usize>,
    inverse_smoothing: Vec<f32>,
}

impl std::fmt::Debug for PackedQuads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedQuads")
            .field("n", &self.n)
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

impl PackedQuads {
    /// Packs a row-major `[n, k]` weight made of layers `parts` rows tall (fused Q and K,
    /// then V: two parts; a plain layer: `&[n]`) that read a normalization's output of
    /// per-feature magnitudes `input_magnitude`: each part is smoothed for its own weights.
    /// A is quantized per 32-column block, so a part boundary inside a block moves to the
    /// nearest block edge (the columns moved take the neighbouring part's smoothing).
    pub(crate) fn new(
        weight: &[f32],
        n: usize,
        k: usize,
        parts: &[usize],
        input_magnitude: &[f32],
    ) -> Self {
        let mut edges: Vec<usize> = parts
            .iter()
            .scan(0, |end, &rows| {
                *end += rows;
                Some(((*end + BLOCK / 2) / BLOCK * BLOCK).min(n))
            })
            .collect();
        edges.insert(0, 0);
        edges.push(n);
        edges.dedup();
        let ranges: Vec<Range<usize>> = edges.windows(2).map(|w| w[0]..w[1]).collect();
        let segments = ranges
            .into_iter()
            .map(|columns| {
                let rows = &weight[columns.start * k..columns.end * k];
                let s = smoothing(rows, columns.len(), k, input_magnitude);
                (columns, s)
            })
            .collect();
        Self::with_smoothing(weight, n, k, segments)
    }

    /// Packs a row-major `[n, k]` weight whose input needs no smoothing.
    pub(crate) fn unsmoothed(weight: &[f32], n: usize, k: usize) -> Self {
        Self::with_smoothing(weight, n, k, vec![(0..n, vec![1.0; k])])
    }

    /// Smooths (`W[j, p] · s[p]`, `s` the smoothing of column j's segment), quantizes and
    /// packs a row-major `[n, k]` weight. The segments cover `0..n` in order, each starting
    /// on a whole block.
    fn with_smoothing(
        weight: &[f32],
        n: usize,
        k: usize,
        segments: Vec<(Range<usize>, Vec<f32>)>,
    ) -> Self {
        assert_eq!(weight.len(), n * k, "weight is not n x k");
        let quads = padded_k(k) / QUAD;
        let groups = padded_k(k) / GROUP;
        let panels = n.div_ceil(BLOCK) * 2;
        let mut lines = vec![ZERO_CODES; panels * quads];
        let mut scales = vec![0.0_f32; panels * 16];
        let mut sums = vec![0.0_f32; panels * groups * 16];
        let mut smoothed = vec![0.0_f32; k];
        for (columns, smoothing) in &segments {
            assert!(columns.start % BLOCK == 0, "segments start on whole blocks");
            assert_eq!(smoothing.len(), k, "one smoothing factor per input feature");
            for j in columns.clone() {
                let (panel, col) = (j / 16, j % 16);
                for ((v, &w), &s) in smoothed.iter_mut().zip(&weight[j * k..]).zip(smoothing) {
                    *v = w * s;
                }
                let max = smoothed.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
                let scale = max / 127.0;
                scales[j] = scale;
                let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
                for (p, &v) in smoothed.iter().enumerate() {
                    let q = (v * inverse).round().clamp(-127.0, 127.0) as i8;
                    lines[panel * quads + p / QUAD].0[col * QUAD + p % QUAD] = q as u8;
                    sums[(panel * groups + p / GROUP) * 16 + col] += f32::from(q);
                }
            }
        }
        assert_eq!(
            segments.iter().map(|(c, _)| c.len()).sum::<usize>(),
            n,
            "segments cover the columns"
        );
        let segments = segments
            .into_iter()
            .map(|(columns, s)| Segment {
                columns,
                inverse_smoothing: s.iter().map(|s| 1.0 / s).collect(),
            })
            .collect();
        Self {
            lines,
            scales,
            sums,
            segments,
            n,
            k,
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        let smoothing: usize = self
            .segments
            .iter()
            .map(|s| s.inverse_smoothing.len())
            .sum();
        self.lines.len() * 64 + 4 * (self.scales.len() + self.sums.len() + smoothing)
    }

    /// The stored weight, dequantized and unsmoothed, row-major `[n, k]`.
    pub(crate) fn to_row_major(&self) -> Vec<f32> {
        let quads = padded_k(self.k) / QUAD;
        let mut out = vec![0.0; self.n * self.k];
        for segment in &self.segments {
            for j in segment.columns.clone() {
                let (panel, col) = (j / 16, j % 16);
                for (p, inverse) in segment.inverse_smoothing.iter().enumerate() {
                    let q = self.lines[panel * quads + p / QUAD].0[col * QUAD + p % QUAD] as i8;
                    out[j * self.k + p] = f32::from(q) * self.scales[j] * inverse;
                }
            }
        }
        out
    }
}

/// A quantized into codes and per-group `(s, s · z)`, rows padded to whole blocks.
#[derive(Default)]
pub(super) struct QuantizedRows {
    codes: Vec<Codes>,
    params: Vec<[f32; 2]>,
}

thread_local! {
    /// The quantized A of this thread's last product, one per segment, kept between calls
    /// (as [`bf16dot`]'s rounded A).
    static QUANTIZED_A: RefCell<Vec<QuantizedRows>> = const { RefCell::new(Vec::new()) };
}

/// Quantizes the `m` rows of `a` (`k` wide, times `inverse_smoothing`) into `rows`.
fn quantize_a(a: &[f32], m: usize, k: usize, inverse_smoothing: &[f32], rows: &mut QuantizedRows) {
    let groups = padded_k(k) / GROUP;
    let padded_rows = m.div_ceil(BLOCK) * BLOCK;
    let codes = grown(&mut rows.codes, padded_rows * groups, ZERO_CODES);
    let params = grown(&mut rows.params, padded_rows * groups, [0.0; 2]);
    let params = SendPtr::new(params.as_mut_ptr());
    crate::team::for_each_numbered_chunk_mut(codes, BLOCK * groups, &|block, piece| {
        for (r, dst) in piece.chunks_exact_mut(groups).enumerate() {
            let row = block * BLOCK + r;
            // SAFETY: each row's params are written by the task that owns its codes.
            let row_params =
                unsafe { std::slice::from_raw_parts_mut(params.get().add(row * groups), groups) };
            if row < m {
                // SAFETY: `available()` (checked by the callers) includes AVX-512.
                unsafe {
                    avx512::quantize_row(
                        &a[row * k..(row + 1) * k],
                        inverse_smoothing,
                        dst,
                        row_params,
                    )
                };
            } else {
                dst.fill(ZERO_CODES);
                row_params.fill([0.0; 2]);
            }
        }
    });
}

/// Quantizes A once per segment of `b` into `quantized` (grown to one per segment) and
/// runs the product into `target`.
fn quantize_and_multiply(
    a: &[f32],
    m: usize,
    b: &PackedQuads,
    quantized: &mut Vec<QuantizedRows>,
    target: Target,
) {
    quantized.resize_with(
        quantized.len().max(b.segments.len()),
        QuantizedRows::default,
    );
    for (segment, rows) in b.segments.iter().zip(quantized.iter_mut()) {
        quantize_a(a, m, b.k, &segment.inverse_smoothing, rows);
    }
    run_products(&quantized[..b.segments.len()], m, b, target);
}

/// `C (+)= dequant(quant(A) · Bᵀ) + bias`. Panics if a length does not match or if
/// [`available`] is false (callers pack [`PackedQuads`] only when it is true).
pub(crate) fn matmul(a: &[f32], m: usize, b: &PackedQuads, bias: Option<&[f32]>, c: Dest<'_>) {
    assert!(available(), "8-bit activation product on a CPU without it");
    let Some((shared, epilogue)) = checked_c(a, m, (b.n, b.k), bias, c) else {
        return;
    };
    with_reused(&QUANTIZED_A, |quantized| {
        quantize_and_multiply(a, m, b, quantized, Target::F32(shared, epilogue));
    });
}

/// `h += down(act(up(h)))` with `up` on 8-bit activations and `down` on bf16 pairs
/// (`engine`): `up`'s epilogue writes the intermediate straight as `down`'s bf16 rows.
/// Panics if a length does not match or if an engine is missing.
#[allow(clippy::too_many_arguments)]
pub(crate) fn feed_forward_add(
    h: &mut [f32],
    m: usize,
    up: &PackedQuads,
    up_bias: Option<&[f32]>,
    act: Activation,
    down: &PackedPairs,
    engine: Engine,
    down_bias: Option<&[f32]>,
) {
    assert!(available(), "8-bit activation product on a CPU without it");
    assert_eq!(h.len(), m * up.k, "feed-forward: h is not m x k");
    if let Some(bias) = up_bias {
        assert_eq!(bias.len(), up.n, "feed-forward: bias is not n long");
    }
    let up_product = |x: &[f32], lines: SharedLines| {
        with_reused(&QUANTIZED_A, |quantized| {
            quantize_and_multiply(x, m, up, quantized, Target::Lines(lines, up_bias, act));
        })
    };
    bf16dot::feed_forward_down(engine, h, m, up.n, &up_product, down, down_bias);
}

/// The product of the quantized `a` (`m` rows) and `b` into `target`, on the kernels'
/// threads: a task per 256-row chunk and 32-column block.
fn run_products(a: &[QuantizedRows], m: usize, b: &PackedQuads, target: Target) {
    let col_blocks = b.n.div_ceil(BLOCK);
    let row_chunks = m.div_ceil(ROWS_PER_TASK);
    let task = |index: usize| {
        let (chunk, block) = (index / col_blocks, index % col_blocks);
        let rows = chunk * ROWS_PER_TASK..((chunk + 1) * ROWS_PER_TASK).min(m);
        // SAFETY: `available()` (the callers' assertion); the task's rectangle is its own.
        unsafe { rectangle(a, b, target, rows, block) };
    };
    crate::team::run(row_chunks * col_blocks, &task);
}

/// Computes rows `rows` × columns `block · 32 ..` (clipped to n) into `target`.
///
/// # Safety
///
/// [`available`]; `a` holds [`quantize_a`]'s rows for each segment of `b`; the target holds
/// the rows (see [`bf16dot::deliver`]) and nobody else touches the rectangle.
unsafe fn rectangle(
    a: &[QuantizedRows],
    b: &PackedQuads,
    target: Target,
    rows: Range<usize>,
    block: usize,
) {
    let groups = padded_k(b.k) / GROUP;
    let quads = padded_k(b.k) / QUAD;
    let panel = |p: usize| avx512::Panel {
        lines: b.lines[p * quads..].as_ptr(),
        sums: b.sums[p * groups * 16..].as_ptr(),
        scales: b.scales[p * 16..].as_ptr(),
    };
    let panels = [panel(2 * block), panel(2 * block + 1)];
    let width = BLOCK.min(b.n - block * BLOCK);
    let segment = b
        .segments
        .iter()
        .position(|s| s.columns.contains(&(block * BLOCK)))
        .expect("segments cover the columns");
    let a = &a[segment];
    let mut out = BlockF32([0.0; BLOCK * BLOCK]);
    for i0 in rows.clone().step_by(BLOCK) {
        let height = BLOCK.min(rows.end - i0);
        // SAFETY: rows i0 .. i0 + 32 of A exist (padded to whole blocks), `groups` lines
        // and params each; the panels hold `quads` lines and `groups` sums.
        unsafe {
            avx512::block(
                a.codes[i0 * groups..].as_ptr(),
                a.params[i0 * groups..].as_ptr(),
                groups,
                panels,
                height,
                &mut out,
            );
            deliver(target, &mut out, i0, height, block, width);
        }
    }
}

#[cfg(test)]
mod tests;
