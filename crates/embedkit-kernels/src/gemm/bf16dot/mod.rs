//! bf16 dot products: `C (+)= bf16(A) · Bᵀ + bias`, with B stored as bf16, A rounded to bf16
//! per call and every sum kept in f32. These are `--precision bf16`'s products on CPUs whose
//! instructions multiply pairs of bf16 values directly, instead of widening B to f32:
//!
//! * [`amx`]: the AMX tile unit (Sapphire Rapids and later Xeons). One `tdpbf16ps`
//!   multiplies a 16 × 32 tile of A by a 32 × 16 tile of B: 8,192 multiply-adds.
//! * [`avx512`]: AVX512-BF16 (AMD Zen 4 and later, Intel Cooper Lake and later). One
//!   `vdpbf16ps` adds two products to each of 16 f32 lanes: twice an f32 FMA's work.
//!
//! Both read the same layouts and share everything but the inner product: a task owns a
//! 32-column block of C (two 16-column panels of B) and walks its rows 32 at a time; the
//! engine leaves each finished 32 × 32 block in a buffer, from which the bias, the
//! activation or the residual are applied on the way to C.
//!
//! Layouts (each line 64 bytes, one AMX tile row):
//! * B: per 16-column panel, one line per pair of k steps, holding each column's two values
//!   side by side (the pair order both instructions read); k padded to a multiple of 32 and
//!   the panels to an even count with zeros.
//! * A: rounded to bf16 per call, row-major, k padded like B and the rows to a multiple of 32
//!   with zeros.

pub(crate) mod amx;
pub(crate) mod avx512;

use super::driver::{checked_c, Epilogue, SharedC};
use super::{Bf16, Dest};
use crate::isa::{self, Isa};
use crate::ops::Activation;
use crate::scratch::{grown, with_reused};
use crate::team::SendPtr;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::OnceLock;

/// k steps in one line of A (32 bf16 = 64 bytes).
pub(super) const LINE_K: usize = 32;
/// Rows (and columns) of C in one block.
pub(super) const BLOCK: usize = 32;
/// Rows of A a task multiplies by its B block before moving on (768 KB of bf16 at k = 1536:
/// they stay in a 1-2 MB L2 while every row block reuses the task's B block).
const ROWS_PER_TASK: usize = 256;

/// 64 bytes: one line (32 bf16 values).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct Line([u16; 32]);

pub(super) const ZERO_LINE: Line = Line([0; 32]);

/// The instructions that multiply bf16 pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    /// The AMX tile unit ([`amx`]).
    Amx,
    /// AVX512-BF16 vector instructions ([`avx512`]).
    Avx512Bf16,
}

impl Engine {
    /// The engine's name in `embedkit info`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Engine::Amx => "amx",
            Engine::Avx512Bf16 => "avx512bf16",
        }
    }

    /// Whether this process can run the engine's instructions.
    pub(crate) fn ready(self) -> bool {
        match self {
            Engine::Amx => amx::ready(),
            Engine::Avx512Bf16 => avx512::ready(),
        }
    }
}

/// The engine bf16 layers use in this process: only on the AVX-512 path (so `EMBEDKIT_ISA`
/// set to `avx2` or `scalar` keeps bf16 weights widened to f32), the tile unit where the CPU
/// and the OS offer it, else AVX512-BF16 where the CPU has it.
/// Decided once per process (it is asked on every bf16 product).
pub(crate) fn engine() -> Option<Engine> {
    static CHOSEN: OnceLock<Option<Engine>> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        if isa::current() != Isa::Avx512 {
            return None;
        }
        [Engine::Amx, Engine::Avx512Bf16]
            .into_iter()
            .find(|engine| engine.ready())
    })
}

/// Why [`engine`] is `None` here, for tests that skip without a pair engine to say so.
#[cfg(test)]
pub(crate) fn why_unavailable() -> &'static str {
    if !isa::cpu_has_avx512() {
        "CPU lacks AVX-512 (F, BW, VL, VNNI)"
    } else if isa::current() != Isa::Avx512 {
        "EMBEDKIT_ISA selects a path below avx512"
    } else {
        "CPU lacks avx512_bf16 (and AMX-BF16)"
    }
}

/// How an engine multiplies one block.
trait BlockProduct {
    /// Readies the unit for a task's blocks.
    ///
    /// # Safety
    ///
    /// The engine is ready ([`Engine::ready`]).
    unsafe fn begin() {}

    /// Leaves the unit as [`BlockProduct::begin`] found it.
    ///
    /// # Safety
    ///
    /// As [`BlockProduct::begin`], after it.
    unsafe fn end() {}

    /// Writes the product of 32 rows of A (`row_lines` lines each, the first at `a`) and the
    /// panels `b0`, `b1` (one line per k pair, `16 · row_lines` of them) into `out`. Only
    /// the first `height` rows of `out` need be right.
    ///
    /// # Safety
    ///
    /// Between [`BlockProduct::begin`] and [`BlockProduct::end`]; all 32 rows of A are
    /// readable (the padding rows included) and both panels hold `16 · row_lines` lines.
    unsafe fn block(
        a: *const Line,
        row_lines: usize,
        b0: *const Line,
        b1: *const Line,
        height: usize,
        out: &mut BlockF32,
    );
}

/// A weight packed in bf16 pairs.
#[derive(Clone)]
pub(crate) struct PackedPairs {
    lines: Vec<Line>,
    n: usize,
    k: usize,
}

impl std::fmt::Debug for PackedPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackedPairs")
            .field("n", &self.n)
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

/// k padded to whole lines.
pub(super) fn padded_k(k: usize) -> usize {
    k.div_ceil(LINE_K) * LINE_K
}

impl PackedPairs {
    /// Rounds (to nearest even) and packs a row-major `[n, k]` weight.
    pub(crate) fn new(weight: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(weight.len(), n * k, "weight is not n x k");
        let pairs = padded_k(k) / 2;
        let panels = n.div_ceil(BLOCK) * 2;
        let mut lines = vec![ZERO_LINE; panels * pairs];
        for j in 0..n {
            let (panel, col) = (j / 16, j % 16);
            for (p, &w) in weight[j * k..(j + 1) * k].iter().enumerate() {
                lines[panel * pairs + p / 2].0[col * 2 + p % 2] = Bf16::from_f32(w).0;
            }
        }
        Self { lines, n, k }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.lines.len() * 64
    }

    /// The stored (bf16-rounded) weight, row-major `[n, k]` (to re-pack fused layers).
    pub(crate) fn to_row_major(&self) -> Vec<f32> {
        let pairs = padded_k(self.k) / 2;
        let mut out = vec![0.0; self.n * self.k];
        for j in 0..self.n {
            let (panel, col) = (j / 16, j % 16);
            for p in 0..self.k {
                let bits = self.lines[panel * pairs + p / 2].0[col * 2 + p % 2];
                out[j * self.k + p] = Bf16(bits).to_f32();
            }
        }
        out
    }
}

/// `C (+)= bf16(A) · Bᵀ + bias` with `engine`. Panics if a length does not match or if the
/// engine is not ready (callers pack [`PackedPairs`] weights only for one that is).
pub(crate) fn matmul(
    engine: Engine,
    a: &[f32],
    m: usize,
    b: &PackedPairs,
    bias: Option<&[f32]>,
    c: Dest<'_>,
) {
    assert!(
        engine.ready(),
        "{} product on a CPU without it",
        engine.name()
    );
    match engine {
        Engine::Amx => multiply::<amx::Tiles>(a, m, b, bias, c),
        Engine::Avx512Bf16 => multiply::<avx512::Vectors>(a, m, b, bias, c),
    }
}

/// [`matmul`] with the engine `P`, which is ready.
fn multiply<P: BlockProduct>(
    a: &[f32],
    m: usize,
    b: &PackedPairs,
    bias: Option<&[f32]>,
    c: Dest<'_>,
) {
    let Some((shared, epilogue)) = checked_c(a, m, (b.n, b.k), bias, c) else {
        return;
    };
    with_reused(&ROUNDED_A, |buf| {
        let a = round_a(a, m, b.k, buf);
        run_products::<P>(a, m, b, Target::F32(shared, epilogue));
    });
}

/// `h += down(act(up(h)))` (a feed-forward block with its residual) with `engine`: the
/// intermediate is written by `up`'s epilogue straight as the rounded bf16 rows `down`
/// reads, never as f32. Panics if the engine is not ready or a length does not match.
#[allow(clippy::too_many_arguments)]
pub(crate) fn feed_forward_add(
    engine: Engine,
    h: &mut [f32],
    m: usize,
    up: &PackedPairs,
    up_bias: Option<&[f32]>,
    act: Activation,
    down: &PackedPairs,
    down_bias: Option<&[f32]>,
) {
    assert_eq!(
        up.k, down.n,
        "feed-forward: down does not map back to the input width"
    );
    if let Some(bias) = up_bias {
        assert_eq!(bias.len(), up.n, "feed-forward: bias is not n long");
    }
    let up_product = |x: &[f32], lines: SharedLines| {
        with_reused(&ROUNDED_A, |buf| {
            let x = round_a(x, m, up.k, buf);
            let target = Target::Lines(lines, up_bias, act);
            match engine {
                Engine::Amx => run_products::<amx::Tiles>(x, m, up, target),
                Engine::Avx512Bf16 => run_products::<avx512::Vectors>(x, m, up, target),
            }
        })
    };
    feed_forward_down(engine, h, m, up.n, &up_product, down, down_bias);
}

/// `h += down(inner) + down_bias` with the engine `engine`, where `up_product` first writes
/// `inner` (the rows of the feed-forward's intermediate, `inner_width` wide, as the bf16
/// lines [`round_a`] would give) from `h` through the shared lines it is handed. Panics if
/// the engine is not ready or a length does not match.
pub(super) fn feed_forward_down(
    engine: Engine,
    h: &mut [f32],
    m: usize,
    inner_width: usize,
    up_product: &dyn Fn(&[f32], SharedLines),
    down: &PackedPairs,
    down_bias: Option<&[f32]>,
) {
    assert!(
        engine.ready(),
        "{} product on a CPU without it",
        engine.name()
    );
    assert_eq!(
        inner_width, down.k,
        "feed-forward: up's outputs are not down's inputs"
    );
    assert_eq!(h.len(), m * down.n, "feed-forward: h is not m x n");
    if let Some(bias) = down_bias {
        assert_eq!(bias.len(), down.n, "feed-forward: bias is not n long");
    }
    if h.is_empty() {
        return;
    }
    with_reused(&INNER, |inner| {
        let row_lines = padded_k(inner_width) / LINE_K;
        let inner = grown(inner, m.div_ceil(BLOCK) * BLOCK * row_lines, ZERO_LINE);
        let lines = SharedLines {
            ptr: SendPtr::new(inner.as_mut_ptr()),
            row_lines,
        };
        // Before `down` adds into `h` itself.
        up_product(h, lines);
        let c = SharedC {
            ptr: h.as_mut_ptr(),
            ldc: down.n,
        };
        let epilogue = Epilogue {
            bias: down_bias,
            accumulate: true,
            activation: None,
        };
        let target = Target::F32(c, epilogue);
        match engine {
            Engine::Amx => run_products::<amx::Tiles>(inner, m, down, target),
            Engine::Avx512Bf16 => run_products::<avx512::Vectors>(inner, m, down, target),
        }
    })
}

/// Where a product's blocks go once finished.
#[derive(Clone, Copy)]
pub(super) enum Target<'b> {
    /// An f32 C, with its bias, activation or residual.
    F32(SharedC, Epilogue<'b>),
    /// Rounded bf16 rows in [`round_a`]'s layout, after the bias and the activation: the
    /// next product's A.
    Lines(SharedLines, Option<&'b [f32]>, Activation),
}

/// Rows of bf16 lines shared by the tasks, each of which writes its own blocks.
#[derive(Clone, Copy)]
pub(super) struct SharedLines {
    ptr: SendPtr<Line>,
    row_lines: usize,
}

/// The product of the rounded `a` (`m` rows) and `b` into `target`, on the kernels' threads.
fn run_products<P: BlockProduct>(a: &[Line], m: usize, b: &PackedPairs, target: Target) {
    let col_blocks = b.n.div_ceil(BLOCK);
    let row_chunks = m.div_ceil(ROWS_PER_TASK);
    let task = |index: usize| {
        let (chunk, block) = (index / col_blocks, index % col_blocks);
        let rows = chunk * ROWS_PER_TASK..((chunk + 1) * ROWS_PER_TASK).min(m);
        // SAFETY: the engine is ready (the callers' assertion); the task's rectangle (these
        // rows, columns `block · 32 ..`) is its own: tasks differ in row chunk or column block.
        unsafe { rectangle::<P>(a, b, target, rows, block) };
    };
    crate::team::run(row_chunks * col_blocks, &task);
}

thread_local! {
    /// The rounded A of this thread's last product, kept between calls: a fresh buffer per
    /// product (megabytes for a batch) cost a zero fill and page faults every time.
    static ROUNDED_A: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
    /// The rounded intermediate of this thread's last feed-forward, kept likewise.
    static INNER: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

/// Returns A rounded to bf16 in `lines`' storage, rows padded to a multiple of [`BLOCK`] and
/// k to whole lines (zeros).
fn round_a<'l>(a: &[f32], m: usize, k: usize, lines: &'l mut Vec<Line>) -> &'l [Line] {
    let row_lines = padded_k(k) / LINE_K;
    let lines = grown(lines, m.div_ceil(BLOCK) * BLOCK * row_lines, ZERO_LINE);
    if k == 0 {
        return lines;
    }
    crate::team::for_each_numbered_chunk_mut(lines, BLOCK * row_lines, &|block, piece| {
        let first = block * BLOCK;
        for (r, dst) in piece.chunks_exact_mut(row_lines).enumerate() {
            let row = first + r;
            if row < m {
                // SAFETY: every engine's `ready()` (checked by `matmul`) includes AVX512-BF16.
                unsafe { round_row(&a[row * k..(row + 1) * k], dst) };
            } else {
                dst.fill(ZERO_LINE);
            }
        }
    });
    lines
}

/// Rounds one row of A to bf16 (to nearest even, as [`Bf16::from_f32`]) into `dst`'s lines.
///
/// # Safety
///
/// The CPU supports AVX512-BF16.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
unsafe fn round_row(row: &[f32], dst: &mut [Line]) {
    use std::arch::x86_64::*;
    let out = dst.as_mut_ptr().cast::<u16>();
    let mut chunks = row.chunks_exact(16);
    for (i, chunk) in chunks.by_ref().enumerate() {
        // SAFETY: 16 floats read; 16 bf16 written at i · 16 < the row's padded length.
        unsafe {
            let rounded = _mm512_cvtneps_pbh(_mm512_loadu_ps(chunk.as_ptr()));
            _mm256_storeu_si256(
                out.add(i * 16).cast(),
                std::mem::transmute::<__m256bh, __m256i>(rounded),
            );
        }
    }
    let done = row.len() - chunks.remainder().len();
    for (i, &v) in chunks.remainder().iter().enumerate() {
        // SAFETY: done + i < row.len() ≤ the padded length.
        unsafe { out.add(done + i).write(Bf16::from_f32(v).0) };
    }
    // The k padding (the buffer is reused: it may hold an earlier product's values).
    for i in row.len()..dst.len() * LINE_K {
        // SAFETY: i < the padded length, `dst.len()` lines of 32 values.
        unsafe { out.add(i).write(0) };
    }
}

/// Computes the rows `rows` × columns `block · 32 .. block · 32 + 32` (clipped to n) of
/// the product into `target`.
///
/// # Safety
///
/// The engine `P` is ready; `a` is [`round_a`]'s layout for `m` rows and `b.k`; the target
/// holds `m` rows (an f32 C: `ldc = n`, initialized when accumulating; lines: the rows padded
/// to whole blocks, `padded_k(n) / 32` lines each); nobody else touches the rectangle.
unsafe fn rectangle<P: BlockProduct>(
    a: &[Line],
    b: &PackedPairs,
    target: Target,
    rows: Range<usize>,
    block: usize,
) {
    let row_lines = padded_k(b.k) / LINE_K;
    let pairs = padded_k(b.k) / 2;
    let b0 = b.lines[2 * block * pairs..].as_ptr();
    let b1 = b.lines[(2 * block + 1) * pairs..].as_ptr();
    let j0 = block * BLOCK;
    let width = BLOCK.min(b.n - j0);
    let mut out = BlockF32([0.0; BLOCK * BLOCK]);
    // SAFETY: the engine is ready (caller).
    unsafe { P::begin() };
    for i0 in rows.clone().step_by(BLOCK) {
        let height = BLOCK.min(rows.end - i0);
        // SAFETY: between begin and end; the A rows i0 .. i0 + 32 exist (padded to whole
        // blocks) with `row_lines` lines each; B panels hold `pairs` lines.
        unsafe {
            P::block(
                a[i0 * row_lines..].as_ptr(),
                row_lines,
                b0,
                b1,
                height,
                &mut out,
            )
        };
        // SAFETY: the rows i0 .. i0 + height and column block `block` are this task's
        // (caller); every engine's `ready()` includes AVX512-BF16.
        unsafe { deliver(target, &mut out, i0, height, block, width) };
    }
    // SAFETY: after begin.
    unsafe { P::end() };
}

/// Applies `target`'s epilogue to the finished block `out` (rows `i0 .. i0 + height`,
/// columns `block · 32 ..`, `width` of them) and stores it there.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL, BF16, AVX2 and FMA; the target holds those rows and
/// columns (see [`rectangle`]), and nobody else touches them.
pub(super) unsafe fn deliver(
    target: Target,
    out: &mut BlockF32,
    i0: usize,
    height: usize,
    block: usize,
    width: usize,
) {
    let j0 = block * BLOCK;
    match target {
        // SAFETY: rows i0 .. i0 + height < m and columns j0 .. j0 + width ≤ n are this
        // task's (caller); every engine's `ready()` includes AVX-512.
        Target::F32(c, epilogue) => unsafe {
            store_block(
                out,
                height,
                epilogue.bias.map(|bias| &bias[j0..j0 + width]),
                epilogue.activation,
                epilogue.accumulate,
                c.ptr.wrapping_add(i0 * c.ldc + j0),
                c.ldc,
                width,
            )
        },
        // SAFETY: the lines of rows i0 .. i0 + 32 (padded) in column block `block` are
        // this task's (caller); every engine's `ready()` includes AVX512-BF16.
        Target::Lines(lines, b, act) => unsafe {
            store_lines(
                out,
                height,
                b.map(|bias| &bias[j0..j0 + width]),
                act,
                lines.ptr.get().wrapping_add(i0 * lines.row_lines + block),
                lines.row_lines,
                width,
            )
        },
    }
}

/// A 32 × 32 block of C as an engine leaves it (row stride 128 bytes).
#[repr(C, align(64))]
pub(super) struct BlockF32(pub(super) [f32; BLOCK * BLOCK]);

/// Lanes `0 .. width` and `16 .. width` of a 32-column row's two halves.
fn half_masks(width: usize) -> [u16; 2] {
    let lanes = |w: usize| ((1_u32 << w.min(16)) - 1) as u16;
    [lanes(width), lanes(width.saturating_sub(16))]
}

/// Adds `bias` (`width` values) to the first `height` rows of `tile` and applies `act`, in
/// place, with AVX-512: done one float at a time this epilogue cost more than the tile
/// products themselves, and slices of a run-time width made the compiler call `memmove`
/// per row (10% of a bf16 run); masked loads instead.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL, AVX2 and FMA; `width ≤ 32`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn finish_in_place(
    tile: &mut BlockF32,
    height: usize,
    bias: Option<&[f32]>,
    act: Option<Activation>,
    width: usize,
) {
    use std::arch::x86_64::*;
    let masks = half_masks(width);
    let rows = &mut tile.0[..height * BLOCK];
    if let Some(bias) = bias {
        debug_assert_eq!(bias.len(), width);
        // SAFETY: masked loads read only the first `width` values of `bias`; masked-off
        // lanes never fault.
        let halves = unsafe {
            [
                _mm512_maskz_loadu_ps(masks[0], bias.as_ptr()),
                _mm512_maskz_loadu_ps(masks[1], bias.as_ptr().wrapping_add(16)),
            ]
        };
        for row in rows.chunks_exact_mut(BLOCK) {
            for (half, add) in row.chunks_exact_mut(16).zip(halves) {
                // SAFETY: `half` is 16 floats.
                unsafe {
                    let sum = _mm512_add_ps(_mm512_loadu_ps(half.as_ptr()), add);
                    _mm512_storeu_ps(half.as_mut_ptr(), sum);
                }
            }
        }
    }
    if let Some(act) = act {
        crate::ops::body::activate::<crate::math::Fused>(rows, act);
    }
}

/// Writes (or adds, when `accumulate`) the first `height` rows × `width` columns of `tile`
/// to C at `dst` (row stride `ldc`), after adding `bias` (`width` values) and applying `act`
/// (in place in `tile`, which is left changed). Masked stores cover ragged widths.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL, AVX2 and FMA; `width ≤ 32`; `dst` points to `height`
/// rows of `width` writable floats (initialized when `accumulate`) that nobody else touches.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn store_block(
    tile: &mut BlockF32,
    height: usize,
    bias: Option<&[f32]>,
    act: Option<Activation>,
    accumulate: bool,
    dst: *mut f32,
    ldc: usize,
    width: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: same CPU features; `width ≤ 32` (caller).
    unsafe { finish_in_place(tile, height, bias, act, width) };
    let masks = half_masks(width);
    for (r, row) in tile.0[..height * BLOCK].chunks_exact(BLOCK).enumerate() {
        for (h, mask) in masks.into_iter().enumerate() {
            // SAFETY: row r of the destination holds `width` writable floats, initialized
            // when `accumulate` (caller); the masks cover exactly those columns, and
            // masked-off lanes are neither read nor written.
            unsafe {
                let out = dst.wrapping_add(r * ldc + 16 * h);
                let mut v = _mm512_loadu_ps(row.as_ptr().add(16 * h));
                if accumulate {
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, out));
                }
                _mm512_mask_storeu_ps(out, mask, v);
            }
        }
    }
}

/// Writes the 32 rows of `tile` as bf16 lines at `dst` (one line per row, `row_lines`
/// apart), after adding `bias` (`width` values) and applying `act` to the first `height`:
/// columns from `width` on and rows from `height` on are written as zeros, as [`round_a`]
/// pads them. Rounds to nearest even, as [`round_row`]: the next product sees exactly what
/// rounding an f32 output would have given it.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL, BF16, AVX2 and FMA; `width ≤ 32`; `dst` points to 32
/// rows of `row_lines` lines whose first line each is writable and nobody else's.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
unsafe fn store_lines(
    tile: &mut BlockF32,
    height: usize,
    bias: Option<&[f32]>,
    act: Activation,
    dst: *mut Line,
    row_lines: usize,
    width: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: same CPU features; `width ≤ 32` (caller).
    unsafe { finish_in_place(tile, height, bias, Some(act), width) };
    let masks = half_masks(width);
    for r in 0..BLOCK {
        let line = if r < height {
            let row = tile.0[r * BLOCK..].as_ptr();
            // SAFETY: row r of the tile is 32 floats; masked-off lanes read as zero.
            unsafe {
                let low = _mm512_maskz_loadu_ps(masks[0], row);
                let high = _mm512_maskz_loadu_ps(masks[1], row.add(16));
                std::mem::transmute::<__m512bh, Line>(_mm512_cvtne2ps_pbh(high, low))
            }
        } else {
            ZERO_LINE
        };
        // SAFETY: the first line of row r is this call's to write (caller).
        unsafe { dst.add(r * row_lines).write(line) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::tests::values;
    use std::mem::MaybeUninit;

    #[test]
    fn packing_round_trips_the_rounded_weight() {
        for &(n, k) in &[(1, 1), (17, 385), (32, 64), (40, 600), (3, 0)] {
            let w = values(n * k, 11);
            let want = Bf16::round_all(&w);
            assert_eq!(
                PackedPairs::new(&w, n, k).to_row_major(),
                want,
                "n={n} k={k}"
            );
        }
    }

    #[test]
    fn block_epilogue_adds_bias_activates_and_stores_or_accumulates() {
        if !crate::isa::cpu_has_avx512() {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        }
        let original = BlockF32(std::array::from_fn(|i| (i as f32 - 500.0) / 100.0));
        let bias = values(BLOCK, 31);
        // Ragged widths on either side of a 16-column half, and a whole block.
        for (height, width, ldc) in [(7, 21, 25), (3, 32, 40), (32, 5, 9)] {
            for accumulate in [false, true] {
                for act in [None, Some(Activation::GeluErf)] {
                    let c0 = values(height * ldc, 32);
                    let mut c = c0.clone();
                    let mut tile = BlockF32(original.0);
                    // SAFETY: AVX-512 detected; C holds `height` rows of `ldc ≥ width` floats.
                    unsafe {
                        store_block(
                            &mut tile,
                            height,
                            Some(&bias[..width]),
                            act,
                            accumulate,
                            c.as_mut_ptr(),
                            ldc,
                            width,
                        )
                    };
                    let tile = &original;
                    for r in 0..height {
                        for j in 0..ldc {
                            let mut want =
                                [tile.0[r * BLOCK + j.min(BLOCK - 1)] + bias[j.min(BLOCK - 1)]];
                            if let Some(act) = act {
                                crate::ops::body::activate::<crate::math::Separate>(&mut want, act);
                            }
                            let want = match (j < width, accumulate) {
                                (false, _) => c0[r * ldc + j],
                                (true, true) => c0[r * ldc + j] + want[0],
                                (true, false) => want[0],
                            };
                            let got = c[r * ldc + j];
                            assert!(
                                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                                "{height}x{width} ({r}, {j}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_engine_multiplies_the_rounded_operands() {
        for engine in [Engine::Amx, Engine::Avx512Bf16] {
            if engine.ready() {
                products_match_the_rounded_operands(engine);
            } else {
                eprintln!(
                    "skipped {}: not offered by this CPU (or kernel)",
                    engine.name()
                );
            }
        }
    }

    fn products_match_the_rounded_operands(engine: Engine) {
        for &(m, n, k) in &[
            (1, 1, 1),
            (1, 384, 384),
            (7, 17, 385),
            (33, 40, 64),
            (64, 1536, 384),
            (300, 96, 1536),
            (3, 5, 0),
        ] {
            let a = values(m * k, 21);
            let w = values(n * k, 22);
            let bias = values(n, 23);
            let c0 = values(m * n, 24);
            let b = PackedPairs::new(&w, n, k);
            let wq = b.to_row_major();
            let aq = Bf16::round_all(&a);
            let want = |i: usize, j: usize| -> f64 {
                (0..k)
                    .map(|p| f64::from(aq[i * k + p]) * f64::from(wq[j * k + p]))
                    .sum::<f64>()
                    + f64::from(bias[j])
            };
            let mut acc = c0.clone();
            matmul(engine, &a, m, &b, Some(&bias), Dest::Accumulate(&mut acc));
            let mut fresh = vec![MaybeUninit::new(f32::NAN); m * n];
            matmul(engine, &a, m, &b, Some(&bias), Dest::Overwrite(&mut fresh));
            let mut gelu = vec![MaybeUninit::new(f32::NAN); m * n];
            matmul(
                engine,
                &a,
                m,
                &b,
                Some(&bias),
                Dest::Activated(&mut gelu, Activation::GeluErf),
            );
            for i in 0..m {
                for j in 0..n {
                    let (w, at) = (want(i, j), i * n + j);
                    let tol = 1e-4 * (1.0 + (k as f64).sqrt());
                    // SAFETY: initialized to NaN above, then overwritten.
                    let (fresh, gelu) =
                        unsafe { (fresh[at].assume_init(), gelu[at].assume_init()) };
                    assert!(
                        (f64::from(fresh) - w).abs() < tol,
                        "{engine:?} {m}x{n}x{k} ({i},{j}): {fresh} vs {w}"
                    );
                    let w_acc = w + f64::from(c0[at]);
                    assert!(
                        (f64::from(acc[at]) - w_acc).abs() < tol,
                        "acc {m}x{n}x{k} ({i},{j})"
                    );
                    let mut g = [fresh];
                    crate::ops::activate_in_place(&mut g, Activation::GeluErf);
                    assert!((gelu - g[0]).abs() < 1e-5, "gelu {m}x{n}x{k} ({i},{j})");
                }
            }
        }
    }
}
