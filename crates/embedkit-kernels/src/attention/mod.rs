//! Scaled dot-product attention over packed sequences (no padding, so no padding mask).
//!
//! The input is the fused QKV projection of every token of a batch, `[tokens, q | k | v]`;
//! sequences are consecutive row ranges. Each (sequence, head) pair is an independent task,
//! which keeps both cores busy even for a single short query.
//!
//! A task is one leaf function compiled per instruction set (like [`crate::ops`]), with the
//! dot products, softmax and weighted sum inlined into it: with head widths of 32-64 and
//! sequences of ~30 tokens, dispatching every tiny dot product and axpy separately cost
//! more than the arithmetic (attention was ~15% of a MiniLM run). For head widths 32 and 64
//! the layout is also reshaped for SIMD (see `head_fixed`). Tasks write their rows straight
//! into the output, working in buffers kept per thread (see `Scratch`).

#[cfg(target_arch = "x86_64")]
mod pairs;

use crate::isa::{self, Isa};
use crate::math::{self, MulAdd};
use crate::ops::body as ops;
use crate::scratch::{with_reused, zeroed};
use crate::team;
use std::cell::RefCell;
use std::ops::Range;

/// Where the heads sit inside a fused QKV row.
#[derive(Debug, Clone, Copy)]
pub struct QkvLayout {
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (equal to `heads` without grouped-query attention).
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl QkvLayout {
    /// Width of one fused QKV row.
    pub fn row_width(&self) -> usize {
        (self.heads + 2 * self.kv_heads) * self.head_dim
    }
    /// Width of the attention output row.
    pub fn out_width(&self) -> usize {
        self.heads * self.head_dim
    }
}

/// Extra terms of the attention scores, and how its products are computed.
#[derive(Clone, Copy, Default)]
pub struct ScoreOptions<'a> {
    /// Multiply q·k and the weighted sum of v in bf16 pairs (q, k, v and the softmax weights
    /// rounded to bf16, sums in f32) where the CPU has AVX512-BF16 and the AVX-512 path is in
    /// use, for heads 32 or 64 wide: bf16 layers' attention. Ignored elsewhere.
    pub pairs: bool,
    /// Only attend to earlier positions (decoder models).
    pub causal: bool,
    /// Relative position bias: for a sequence of length `L`, a function of (head, j − i)
    /// given as `bias(head, L)` returning `2L − 1` values indexed by `j − i + L − 1`.
    pub relative_bias: Option<&'a (dyn Fn(usize, usize) -> Vec<f32> + Sync)>,
}

/// Computes attention for every sequence; returns `[tokens, heads · head_dim]`.
pub fn attention(
    qkv: &[f32],
    sequences: &[Range<usize>],
    layout: QkvLayout,
    scale: f32,
    options: ScoreOptions<'_>,
) -> Vec<f32> {
    let mut ctx = Vec::new();
    attention_into(qkv, sequences, layout, scale, options, &mut ctx);
    ctx
}

/// [`attention`] into `ctx`, replacing its contents and reusing its allocation (see
/// [`crate::linear::Linear::forward_into`] for why).
pub fn attention_into(
    qkv: &[f32],
    sequences: &[Range<usize>],
    layout: QkvLayout,
    scale: f32,
    options: ScoreOptions<'_>,
    ctx: &mut Vec<f32>,
) {
    let width = layout.row_width();
    let d = layout.head_dim;
    let tokens = sequences.last().map_or(0, |r| r.end);
    assert!(
        qkv.len() >= tokens * width,
        "qkv is shorter than the sequences"
    );
    let group = layout.heads / layout.kv_heads.max(1);
    let tasks: Vec<(usize, usize)> = (0..sequences.len())
        .flat_map(|s| (0..layout.heads).map(move |h| (s, h)))
        .collect();
    let out_width = layout.out_width();
    ctx.clear();
    ctx.resize(tokens * out_width, 0.0);
    let shared = team::SendPtr::new(ctx.as_mut_ptr());
    team::run(tasks.len(), &|t| {
        let (s, h) = tasks[t];
        let kvh = h / group.max(1);
        let len = sequences[s].len();
        let bias = options.relative_bias.map(|f| f(h, len));
        if let Some(bias) = &bias {
            // `normalize` reads a window of it per query (and would silently stop short).
            assert_eq!(
                bias.len(),
                (2 * len).saturating_sub(1),
                "relative bias length"
            );
        }
        let task = HeadTask {
            qkv,
            width,
            rows: sequences[s].clone(),
            q_col: h * d,
            k_col: layout.heads * d + kvh * d,
            v_col: (layout.heads + layout.kv_heads) * d + kvh * d,
            d,
            scale,
            causal: options.causal,
            bias: bias.as_deref(),
        };
        with_reused(&SCRATCH, |scratch| {
            let out = zeroed(&mut scratch.out, len * d);
            let buffers = &mut scratch.buffers;
            #[cfg(target_arch = "x86_64")]
            let pair_buffers = &mut scratch.pair_buffers;
            #[cfg(target_arch = "x86_64")]
            let in_pairs = options.pairs && pairs::available();
            match isa::current() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY (both): `available()` includes AVX-512 and AVX512-BF16.
                _ if in_pairs && d == 32 => unsafe { pairs::head::<32>(&task, out, pair_buffers) },
                #[cfg(target_arch = "x86_64")]
                _ if in_pairs && d == 64 => unsafe { pairs::head::<64>(&task, out, pair_buffers) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Avx2Fma` is only chosen after runtime detection of avx2 and fma.
                Isa::Avx2Fma => unsafe { simd::head_avx2(&task, out, buffers) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Avx512` is only chosen after runtime detection of its features.
                Isa::Avx512 => unsafe { simd::head_avx512(&task, out, buffers) },
                _ => head::<math::Separate>(&task, out, buffers),
            }
            for (i, src) in out.chunks_exact(d).enumerate() {
                let start = (sequences[s].start + i) * out_width + h * d;
                // SAFETY: `start + d ≤ tokens · out_width`, the length of `ctx`; this task
                // alone writes the columns of head `h` in the rows of sequence `s`.
                unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), shared.get().add(start), d) };
            }
        });
    });
}

/// A thread's buffers for its attention tasks, kept between tasks and calls.
#[derive(Default)]
struct Scratch {
    /// A task's `len × d` output: one fresh vector per task, all alive until the end of the
    /// call, cost page faults on every call (32 sentences of 30 tokens, 12 heads: 0.92 →
    /// 0.58 ms per layer with this buffer, `attention_bench`).
    out: Vec<f32>,
    buffers: Buffers,
    /// The bf16 pair kernel's.
    #[cfg(target_arch = "x86_64")]
    pair_buffers: pairs::PairBuffers,
}

/// What a head kernel works in: Kᵀ, the packed values and the scores (three allocations per
/// task otherwise, thousands per layer of a batch).
#[derive(Default)]
struct Buffers {
    kt: Vec<f32>,
    values: Vec<f32>,
    scores: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// One (sequence, head) pair: where its q, k and v columns sit in the fused rows.
struct HeadTask<'a> {
    qkv: &'a [f32],
    width: usize,
    rows: Range<usize>,
    q_col: usize,
    k_col: usize,
    v_col: usize,
    d: usize,
    scale: f32,
    causal: bool,
    /// Relative position bias for this head, indexed by `j − i + len − 1`.
    bias: Option<&'a [f32]>,
}

impl HeadTask<'_> {
    /// The `d` values at column `col` of the sequence's `i`-th token.
    #[inline(always)]
    fn row(&self, i: usize, col: usize) -> &[f32] {
        let start = (self.rows.start + i) * self.width + col;
        &self.qkv[start..start + self.d]
    }
}

/// Attention of one head over one sequence into `out` (`len × d`, zeroed).
#[inline(always)]
fn head<M: MulAdd>(task: &HeadTask<'_>, out: &mut [f32], buffers: &mut Buffers) {
    match task.d {
        32 => head_fixed::<M, 32>(task, out, buffers),
        64 => head_fixed::<M, 64>(task, out, buffers),
        128 => head_blocked::<M, 128>(task, out, buffers),
        _ => head_any::<M>(task, out, buffers),
    }
}

/// Adds the scale and position bias to query `i`'s raw scores and turns them into softmax
/// weights.
#[inline(always)]
fn normalize<M: MulAdd>(task: &HeadTask<'_>, i: usize, scores: &mut [f32]) {
    scale_and_bias(task, i, scores);
    ops::softmax::<M>(scores);
}

/// Scales query `i`'s raw scores (its first `scores.len()` keys) and adds the position bias.
#[inline(always)]
fn scale_and_bias(task: &HeadTask<'_>, i: usize, scores: &mut [f32]) {
    let len = task.rows.len();
    // Two plain loops rather than one with the bias test inside, which stayed scalar.
    match task.bias {
        Some(bias) => {
            for (sc, b) in scores.iter_mut().zip(&bias[len - 1 - i..]) {
                *sc = *sc * task.scale + b;
            }
        }
        None => scores.iter_mut().for_each(|sc| *sc *= task.scale),
    }
}

/// Keys visible from query `i`.
#[inline(always)]
fn visible(task: &HeadTask<'_>, i: usize) -> usize {
    if task.causal {
        i + 1
    } else {
        task.rows.len()
    }
}

/// Any head width: the generic row kernels.
#[inline(always)]
fn head_any<M: MulAdd>(task: &HeadTask<'_>, out: &mut [f32], buffers: &mut Buffers) {
    let d = task.d;
    let scores = zeroed(&mut buffers.scores, task.rows.len());
    for (i, o) in out.chunks_exact_mut(d).enumerate() {
        let scores = &mut scores[..visible(task, i)];
        let q = task.row(i, task.q_col);
        for (j, sc) in scores.iter_mut().enumerate() {
            *sc = ops::dot::<M>(q, task.row(j, task.k_col));
        }
        normalize::<M>(task, i, scores);
        for (j, p) in scores.iter().enumerate() {
            ops::axpy::<M>(*p, task.row(j, task.v_col), o);
        }
    }
}

/// Queries scored together by [`head_fixed`].
const QUERY_ROWS: usize = 4;
/// Keys per score tile of [`head_fixed`]: two 8-lane registers per query.
const KEY_TILE: usize = 16;
/// Floats of output accumulated at once by [`head_fixed`]'s weighted sum: eight 8-lane
/// registers, i.e. the rows of `64 / D` queries (one or two).
const SUM_WIDTH: usize = 64;

/// Head width `D` known at compile time and dividing [`SUM_WIDTH`] (32 and 64: MiniLM, BGE,
/// E5...): the two small matrix
/// products around the softmax, each tiled so that eight independent accumulators keep both
/// FMA pipes busy (one query at a time left them half idle behind four dependent chains).
///
/// * Scores `Q·Kᵀ`: K is transposed once per task (`kt[t][j]`, zero-padded to whole tiles);
///   a tile of [`QUERY_ROWS`] queries × [`KEY_TILE`] keys lives in registers, fed per step
///   by one line of Kᵀ and one broadcast value per query.
/// * Weighted sum `P·V`: the output rows of `64 / D` queries live in registers, fed per key
///   by one row of V and one weight per query. Weights past a query's last visible key are
///   zeroed, so every query of the block runs the same loop.
#[inline(always)]
fn head_fixed<M: MulAdd, const D: usize>(
    task: &HeadTask<'_>,
    out: &mut [f32],
    buffers: &mut Buffers,
) {
    let len = task.rows.len();
    let padded = len.next_multiple_of(KEY_TILE);
    let Buffers { kt, values, scores } = buffers;
    let kt = transposed_keys::<D>(task, padded, kt);
    let values = packed_values::<D>(task, values);
    let per_sum = (SUM_WIDTH / D).max(1);
    let scores = zeroed(scores, QUERY_ROWS * padded);
    for (qb, out_block) in out.chunks_mut(QUERY_ROWS * D).enumerate() {
        let first = qb * QUERY_ROWS;
        let count = out_block.len() / D;
        let mut q = [[0.0_f32; D]; QUERY_ROWS];
        for (r, q) in q.iter_mut().enumerate().take(count) {
            q.copy_from_slice(&task.row(first + r, task.q_col)[..D]);
        }
        let reach = visible(task, first + count - 1);
        for tile in (0..reach).step_by(KEY_TILE) {
            let mut acc = [[0.0_f32; KEY_TILE]; QUERY_ROWS];
            for t in 0..D {
                let keys = &kt[t * padded + tile..][..KEY_TILE];
                for (acc, q) in acc.iter_mut().zip(&q) {
                    add_scaled::<M, KEY_TILE>(acc, q[t], keys);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                scores[r * padded + tile..][..KEY_TILE].copy_from_slice(acc);
            }
        }
        normalize_block::<M>(task, scores, padded, first, count, reach);
        for (g, out_rows) in out_block.chunks_mut(per_sum * D).enumerate() {
            // One or two rows (`per_sum` is a constant for each `D`), as separate arrays:
            // the compiler keeps each in registers.
            let (first_row, two) = (g * per_sum, per_sum == 2);
            let (mut acc0, mut acc1) = ([0.0_f32; D], [0.0_f32; D]);
            for (j, v) in values.chunks_exact(D).take(reach).enumerate() {
                add_scaled::<M, D>(&mut acc0, scores[first_row * padded + j], v);
                if two {
                    add_scaled::<M, D>(&mut acc1, scores[(first_row + 1) * padded + j], v);
                }
            }
            for (o, acc) in out_rows.chunks_exact_mut(D).zip([&acc0, &acc1]) {
                o.copy_from_slice(acc);
            }
        }
    }
}

/// Turns the raw scores of a block of queries (`first ..`, `count` of them; row `r` of
/// `scores` at `r · padded`) into softmax weights over the `reach` keys the block sees, with
/// zero weights past each query's last visible key and in the rows past the last query.
/// `padded` is a multiple of [`KEY_TILE`].
#[inline(always)]
fn normalize_block<M: MulAdd>(
    task: &HeadTask<'_>,
    scores: &mut [f32],
    padded: usize,
    first: usize,
    count: usize,
    reach: usize,
) {
    for (r, row) in scores.chunks_exact_mut(padded).enumerate() {
        let row = &mut row[..reach.next_multiple_of(KEY_TILE)];
        if r < count {
            let i = first + r;
            normalize_tiles::<M>(task, i, row, visible(task, i));
        } else {
            row.fill(0.0);
        }
    }
}

/// [`normalize`] for query `i`'s first `seen` scores, over whole tiles of `row` (its length
/// a multiple of [`KEY_TILE`]), leaving zeros in the rest: every step runs on full vectors.
/// Why: sequences of ~30 tokens left half of each row to the scalar tail loops of
/// [`ops::softmax`], scalar `exp` included (~40% of a MiniLM attention call).
#[inline(always)]
fn normalize_tiles<M: MulAdd>(task: &HeadTask<'_>, i: usize, row: &mut [f32], seen: usize) {
    scale_and_bias(task, i, &mut row[..seen]);
    let mut lanes = [f32::NEG_INFINITY; KEY_TILE];
    for (tile, chunk) in row.chunks_exact(KEY_TILE).enumerate() {
        for (lane, (m, &v)) in lanes.iter_mut().zip(chunk).enumerate() {
            if tile * KEY_TILE + lane < seen {
                *m = m.max(v);
            }
        }
    }
    let max = halving(lanes, f32::max);
    let mut sums = [0.0_f32; KEY_TILE];
    for (tile, chunk) in row.chunks_exact_mut(KEY_TILE).enumerate() {
        for (lane, (sum, v)) in sums.iter_mut().zip(chunk).enumerate() {
            let e = math::exp::<M>(*v - max);
            *v = if tile * KEY_TILE + lane < seen {
                e
            } else {
                0.0
            };
            *sum += *v;
        }
    }
    let inv = 1.0 / halving(sums, |a, b| a + b);
    // One flat loop: over `chunks_exact_mut` tiles the compiler emitted gathers and
    // scatters here (a fifth of the attention time on 128-token inputs).
    row.iter_mut().for_each(|v| *v *= inv);
}

/// Folds a tile's lanes with `f` in halves (lanes 0..8 with 8..16, then 0..4 with 4..8, ...):
/// vector operations and a chain of 4 steps, where a left-to-right fold is 15 dependent
/// scalar ones (per row of scores: they were a third of the softmax's time).
#[inline(always)]
fn halving(mut lanes: [f32; KEY_TILE], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut width = KEY_TILE;
    while width > 1 {
        width /= 2;
        let (low, high) = lanes.split_at_mut(width);
        for (a, &b) in low.iter_mut().zip(&high[..width]) {
            *a = f(*a, b);
        }
    }
    lanes[0]
}

/// Kᵀ of a head: `kt[t · padded + j]` is value `t` of key `j`, zero past the last key.
#[inline(always)]
fn transposed_keys<'b, const D: usize>(
    task: &HeadTask<'_>,
    padded: usize,
    buf: &'b mut Vec<f32>,
) -> &'b [f32] {
    let kt = zeroed(buf, D * padded);
    for j in 0..task.rows.len() {
        for (t, &k) in task.row(j, task.k_col)[..D].iter().enumerate() {
            kt[t * padded + j] = k;
        }
    }
    kt
}

/// The head's value rows, contiguous: `values[j · D..][..D]` is key `j`'s.
///
/// Why a copy: in the fused QKV rows consecutive keys' values are a whole row apart (1152
/// floats for MiniLM, a multiple of 64 bytes), so a 128-key sequence's values fall into a few
/// L1 sets and evict each other while the weighted sums read them over and over.
#[inline(always)]
fn packed_values<'b, const D: usize>(task: &HeadTask<'_>, values: &'b mut Vec<f32>) -> &'b [f32] {
    values.clear();
    for j in 0..task.rows.len() {
        values.extend_from_slice(&task.row(j, task.v_col)[..D]);
    }
    values
}

/// Keys scored together by [`head_blocked`]: four 8-lane accumulators per query.
const KEY_BLOCK: usize = 32;
/// Queries handled together by [`head_blocked`].
const QUERY_BLOCK: usize = 8;

/// Wide heads (`D = 128`, Qwen3) on long inputs: [`head_fixed`] per query reads all of Kᵀ
/// and V (1 MB each at 2k tokens) once per query, from L3. Here a block of
/// [`QUERY_BLOCK`] queries shares every read: each 32-key block of Kᵀ (16 KB, L1) is scored
/// against the block's queries two at a time (8 accumulators), and each V row is loaded once
/// and added into the block's 8 output rows (4 KB, L1). Memory stays linear in the length:
/// one `QUERY_BLOCK × len` score buffer.
#[inline(always)]
fn head_blocked<M: MulAdd, const D: usize>(
    task: &HeadTask<'_>,
    out: &mut [f32],
    buffers: &mut Buffers,
) {
    let len = task.rows.len();
    let padded = len.next_multiple_of(KEY_BLOCK);
    let kt = transposed_keys::<D>(task, padded, &mut buffers.kt);
    let scores = zeroed(&mut buffers.scores, QUERY_BLOCK * padded);
    for (qb, out_block) in out.chunks_mut(QUERY_BLOCK * D).enumerate() {
        let first = qb * QUERY_BLOCK;
        let count = out_block.len() / D;
        // Keys any query of the block can see.
        let reach = visible(task, first + count - 1);
        for block in (0..reach).step_by(KEY_BLOCK) {
            for pair in (0..count).step_by(2) {
                let q0 = &task.row(first + pair, task.q_col)[..D];
                let q1 = &task.row(first + (pair + 1).min(count - 1), task.q_col)[..D];
                let (mut acc0, mut acc1) = ([0.0_f32; KEY_BLOCK], [0.0_f32; KEY_BLOCK]);
                for t in 0..D {
                    let keys = &kt[t * padded + block..][..KEY_BLOCK];
                    for ((a0, a1), &k) in acc0.iter_mut().zip(acc1.iter_mut()).zip(keys) {
                        *a0 = M::mul_add(q0[t], k, *a0);
                        *a1 = M::mul_add(q1[t], k, *a1);
                    }
                }
                scores[pair * padded + block..][..KEY_BLOCK].copy_from_slice(&acc0);
                if pair + 1 < count {
                    scores[(pair + 1) * padded + block..][..KEY_BLOCK].copy_from_slice(&acc1);
                }
            }
        }
        let mut seen = [0_usize; QUERY_BLOCK];
        for (q, seen) in seen.iter_mut().enumerate().take(count) {
            *seen = visible(task, first + q);
            normalize::<M>(task, first + q, &mut scores[q * padded..][..*seen]);
        }
        let mut acc = [[0.0_f32; D]; QUERY_BLOCK];
        for j in 0..reach {
            let v = &task.row(j, task.v_col)[..D];
            for (q, acc) in acc.iter_mut().enumerate().take(count) {
                if j < seen[q] {
                    add_scaled::<M, D>(acc, scores[q * padded + j], v);
                }
            }
        }
        for (o, acc) in out_block.chunks_exact_mut(D).zip(&acc) {
            o.copy_from_slice(acc);
        }
    }
}

/// `acc += p · v[..D]`, on a fixed-size accumulator the compiler keeps in registers.
#[inline(always)]
fn add_scaled<M: MulAdd, const D: usize>(acc: &mut [f32; D], p: f32, v: &[f32]) {
    for (a, &x) in acc.iter_mut().zip(&v[..D]) {
        *a = M::mul_add(p, x, *a);
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! The attention task compiled with AVX2 + FMA enabled, and with AVX-512 on top.
    use super::{Buffers, HeadTask};
    use crate::math::Fused;

    /// [`super::head`] with fused multiply-adds and 256-bit vectors.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn head_avx2(task: &HeadTask<'_>, out: &mut [f32], buffers: &mut Buffers) {
        super::head::<Fused>(task, out, buffers)
    }

    /// [`super::head`] with fused multiply-adds and 512-bit vectors.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX-512 (F, BW, VL), AVX2 and FMA.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
    pub unsafe fn head_avx512(task: &HeadTask<'_>, out: &mut [f32], buffers: &mut Buffers) {
        match task.d {
            // SAFETY (both): this function's target features are the caller's promise.
            32 => unsafe { head_wide::<32>(task, out, buffers) },
            64 => unsafe { head_wide::<64>(task, out, buffers) },
            _ => super::head::<Fused>(task, out, buffers),
        }
    }

    /// Queries per block of [`head_wide`]: one 16-lane register each per tile of 16 keys.
    const WIDE_ROWS: usize = 8;
    /// Registers of output accumulated at once by [`head_wide`]'s weighted sum.
    const WIDE_SUMS: usize = 8;

    /// [`super::head_fixed`] for 16-lane registers, written with intrinsics: with the
    /// generic code's 4 queries × 16 keys a 16-lane register per query leaves only 4
    /// independent accumulators (the two FMA pipes half idle), and the generic code with 8
    /// queries kept its accumulators on the stack (7× slower). Here: 8 queries × 16 keys of
    /// scores, and 8 registers of output rows (`128 / D` queries) in the weighted sum.
    ///
    /// # Safety
    ///
    /// The CPU supports AVX-512 F; `D` is 32 or 64.
    #[inline(always)]
    unsafe fn head_wide<const D: usize>(
        task: &HeadTask<'_>,
        out: &mut [f32],
        buffers: &mut Buffers,
    ) {
        use super::{normalize_block, packed_values, transposed_keys, visible, KEY_TILE};
        use crate::scratch::zeroed;
        use std::arch::x86_64::*;
        const { assert!(D.is_multiple_of(16) && (WIDE_SUMS * 16).is_multiple_of(D) && KEY_TILE == 16) };
        let (lanes, per_sum) = (D / 16, WIDE_SUMS * 16 / D);
        let len = task.rows.len();
        let padded = len.next_multiple_of(KEY_TILE);
        let Buffers { kt, values, scores } = buffers;
        let kt = transposed_keys::<D>(task, padded, kt);
        let values = packed_values::<D>(task, values);
        let scores = zeroed(scores, WIDE_ROWS * padded);
        for (qb, out_block) in out.chunks_mut(WIDE_ROWS * D).enumerate() {
            let first = qb * WIDE_ROWS;
            let count = out_block.len() / D;
            // Rows past the last query repeat it; their scores are zeroed below.
            let q: [&[f32]; WIDE_ROWS] =
                std::array::from_fn(|r| &task.row(first + r.min(count - 1), task.q_col)[..D]);
            let reach = visible(task, first + count - 1);
            for tile in (0..reach).step_by(KEY_TILE) {
                let mut acc = [_mm512_setzero_ps(); WIDE_ROWS];
                for t in 0..D {
                    let keys = &kt[t * padded + tile..][..KEY_TILE];
                    // SAFETY: 16 floats at `keys`.
                    let k = unsafe { _mm512_loadu_ps(keys.as_ptr()) };
                    for (acc, q) in acc.iter_mut().zip(&q) {
                        *acc = _mm512_fmadd_ps(_mm512_set1_ps(q[t]), k, *acc);
                    }
                }
                for (r, acc) in acc.into_iter().enumerate() {
                    let row = &mut scores[r * padded + tile..][..KEY_TILE];
                    // SAFETY: 16 writable floats at `row`.
                    unsafe { _mm512_storeu_ps(row.as_mut_ptr(), acc) };
                }
            }
            normalize_block::<Fused>(task, scores, padded, first, count, reach);
            for (g, out_rows) in out_block.chunks_mut(per_sum * D).enumerate() {
                let first_row = g * per_sum;
                // Register `r · lanes + z` holds floats 16z .. 16z + 16 of row r.
                let mut acc = [_mm512_setzero_ps(); WIDE_SUMS];
                for (j, v) in values.chunks_exact(D).take(reach).enumerate() {
                    for r in 0..per_sum {
                        let p = _mm512_set1_ps(scores[(first_row + r) * padded + j]);
                        for z in 0..lanes {
                            // SAFETY: `v` is D = 16 · lanes floats.
                            let x = unsafe { _mm512_loadu_ps(v.as_ptr().add(16 * z)) };
                            acc[r * lanes + z] = _mm512_fmadd_ps(p, x, acc[r * lanes + z]);
                        }
                    }
                }
                for (r, o) in out_rows.chunks_exact_mut(D).enumerate() {
                    for z in 0..lanes {
                        // SAFETY: `o` is D = 16 · lanes writable floats.
                        unsafe { _mm512_storeu_ps(o.as_mut_ptr().add(16 * z), acc[r * lanes + z]) };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_head_matches_hand_computed_attention() {
        // Two tokens, one head, head_dim 1: q=k=v=x. Scores [[1,2],[2,4]] (scale 1).
        let qkv = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        let layout = QkvLayout {
            heads: 1,
            kv_heads: 1,
            head_dim: 1,
        };
        let out = attention(
            &qkv,
            std::slice::from_ref(&(0..2)),
            layout,
            1.0,
            ScoreOptions::default(),
        );
        let p0 = 1.0 / (1.0 + 1.0_f32.exp()); // softmax([1,2])[0]
        let p1 = 1.0 / (1.0 + 2.0_f32.exp()); // softmax([2,4])[0]
        assert!((out[0] - (p0 + 2.0 * (1.0 - p0))).abs() < 1e-6);
        assert!((out[1] - (p1 + 2.0 * (1.0 - p1))).abs() < 1e-6);
        let causal = ScoreOptions {
            causal: true,
            ..Default::default()
        };
        let out = attention(&qkv, std::slice::from_ref(&(0..2)), layout, 1.0, causal);
        assert_eq!(out[0], 1.0, "first token sees only itself");
    }

    #[test]
    fn sequences_do_not_see_each_other() {
        let layout = QkvLayout {
            heads: 1,
            kv_heads: 1,
            head_dim: 1,
        };
        let qkv = [1.0, 1.0, 5.0, 1.0, 1.0, -3.0];
        let out = attention(&qkv, &[0..1, 1..2], layout, 1.0, ScoreOptions::default());
        assert_eq!(out, vec![5.0, -3.0]);
    }

    /// Naive f64 attention of one head over one sequence, for comparison.
    fn reference(task: &HeadTask<'_>) -> Vec<f64> {
        let (len, d) = (task.rows.len(), task.d);
        let mut out = vec![0.0; len * d];
        for i in 0..len {
            let visible = if task.causal { i + 1 } else { len };
            let q = task.row(i, task.q_col);
            let scores: Vec<f64> = (0..visible)
                .map(|j| {
                    let k = task.row(j, task.k_col);
                    let dot: f64 = q
                        .iter()
                        .zip(k)
                        .map(|(a, b)| f64::from(*a) * f64::from(*b))
                        .sum();
                    dot * f64::from(task.scale)
                        + task.bias.map_or(0.0, |b| f64::from(b[j + len - 1 - i]))
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            for (j, s) in scores.iter().enumerate() {
                let p = (s - max).exp() / total;
                for (o, v) in out[i * d..(i + 1) * d]
                    .iter_mut()
                    .zip(task.row(j, task.v_col))
                {
                    *o += p * f64::from(*v);
                }
            }
        }
        out
    }

    #[test]
    fn every_head_width_and_path_matches_naive_attention() {
        // The paths this CPU cannot run are left out: said, so that they do not pass silently.
        #[cfg(target_arch = "x86_64")]
        for (runs, path, why) in [
            (
                crate::isa::cpu_has_avx2_fma(),
                "avx2",
                "CPU lacks AVX2 + FMA",
            ),
            (
                crate::isa::cpu_has_avx512(),
                "avx512",
                "CPU lacks AVX-512 (F, BW, VL, VNNI)",
            ),
            (
                pairs::available(),
                "pairs",
                crate::gemm::bf16dot::why_unavailable(),
            ),
        ] {
            if !runs {
                eprintln!("skipped the {path} path: {why}");
            }
        }
        for d in [8, 24, 32, 64, 128] {
            for (len, causal, with_bias) in [
                (1, false, false),
                (29, false, true),
                (13, true, false),
                (70, true, true),
                (45, false, false),
            ] {
                let width = 3 * d + 5; // extra columns: rows are strided, as in a real model
                let qkv: Vec<f32> = (0..(len + 2) * width)
                    .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.7)
                    .collect();
                let bias: Vec<f32> = (0..2 * len - 1).map(|i| (i as f32 * 0.37).sin()).collect();
                let task = HeadTask {
                    qkv: &qkv,
                    width,
                    rows: 2..2 + len,
                    q_col: 0,
                    k_col: d + 1,
                    v_col: 2 * d + 3,
                    d,
                    scale: 1.0 / (d as f32).sqrt(),
                    causal,
                    bias: with_bias.then_some(bias.as_slice()),
                };
                let want = reference(&task);
                let mut runs = vec![("portable", vec![0.0; len * d])];
                head::<math::Separate>(&task, &mut runs[0].1, &mut Buffers::default());
                #[cfg(target_arch = "x86_64")]
                if crate::isa::cpu_has_avx2_fma() {
                    let mut out = vec![0.0; len * d];
                    // SAFETY: AVX2 and FMA were just detected.
                    unsafe { simd::head_avx2(&task, &mut out, &mut Buffers::default()) };
                    runs.push(("avx2", out));
                }
                #[cfg(target_arch = "x86_64")]
                if crate::isa::cpu_has_avx512() {
                    let mut out = vec![0.0; len * d];
                    // SAFETY: AVX-512 was just detected.
                    unsafe { simd::head_avx512(&task, &mut out, &mut Buffers::default()) };
                    runs.push(("avx512", out));
                }
                for (path, got) in runs {
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (f64::from(*g) - w).abs() < 1e-5,
                            "{path} d={d} len={len} causal={causal} bias={with_bias}: {g} vs {w}"
                        );
                    }
                }
                #[cfg(target_arch = "x86_64")]
                if (d == 32 || d == 64) && pairs::available() {
                    // q, k and v rounded to bf16 as the kernel rounds them; its rounding of
                    // the weights moves each by at most 2⁻⁹ of itself, so the output by at
                    // most 2⁻⁹ · max |v| (< 1.4e-3 here).
                    let rounded: Vec<f32> = crate::gemm::Bf16::round_all(&qkv);
                    let want = reference(&HeadTask {
                        qkv: &rounded,
                        rows: task.rows.clone(),
                        ..task
                    });
                    let mut got = vec![0.0; len * d];
                    let buffers = &mut pairs::PairBuffers::default();
                    // SAFETY: `available()` includes AVX-512 and AVX512-BF16.
                    unsafe {
                        match d {
                            32 => pairs::head::<32>(&task, &mut got, buffers),
                            _ => pairs::head::<64>(&task, &mut got, buffers),
                        }
                    }
                    for (g, w) in got.iter().zip(&want) {
                        assert!(
                            (f64::from(*g) - w).abs() < 1.5e-3,
                            "pairs d={d} len={len} causal={causal} bias={with_bias}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}
