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
//! exactly one cache line (half of one for bf16 weights, see [`Bf16`]).

use super::{Microkernel, Prefetch, MR, NR};
use std::fmt;

/// Deepest k block multiplied in one pass. A `KC_MAX × NR` panel of B (24 KiB) stays
/// (mostly) in the 32 KiB L1 while the A panels stream past it from L2. 384 rather than
/// BLIS's usual 256 because it takes the k = 384 products of MiniLM-sized models in one block,
/// so C is stored once instead of stored, reloaded and stored again (a few percent faster on
/// those shapes in single-thread runs, and no slower at k = 1536).
pub(crate) const KC_MAX: usize = 384;

/// 64 bytes of packed storage: one f32 line of a panel, or two bf16 lines.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct CacheLine([u8; 64]);

/// How a weight element is stored in a packed panel, and how a microkernel multiplies it.
///
/// # Safety
///
/// Implementors are plain data (no padding, every bit pattern valid) with an alignment that
/// divides 64, so that packed storage can be viewed as a slice of them.
pub(crate) unsafe trait PackedElem: Copy + Send + Sync + 'static {
    /// Stores the `NR` values of one k step (one column value each) as a packed line.
    fn encode_line(values: &[f32; NR]) -> [Self; NR];

    /// The `NR` column values of a packed line, in column order.
    fn decode_line(line: &[Self]) -> [f32; NR];

    /// Runs `K`'s full-tile kernel on a panel of this element type.
    ///
    /// # Safety
    ///
    /// The contract of [`Microkernel::tile`], with `b` pointing to `depth · NR` elements.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<K: Microkernel>(
        depth: usize,
        a: *const f32,
        b: *const Self,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        ahead: Prefetch,
    );
}

// SAFETY: f32 is plain data with alignment 4.
unsafe impl PackedElem for f32 {
    fn encode_line(values: &[f32; NR]) -> [Self; NR] {
        *values
    }

    fn decode_line(line: &[Self]) -> [f32; NR] {
        std::array::from_fn(|i| line[i])
    }

    unsafe fn tile<K: Microkernel>(
        depth: usize,
        a: *const f32,
        b: *const Self,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        ahead: Prefetch,
    ) {
        // SAFETY: forwarded contract.
        unsafe { K::tile(depth, a, b, c, ldc, bias, load_c, ahead) }
    }
}

/// A bfloat16 weight: the upper half of an f32's bits. Widening it is a 16-bit shift, so a
/// microkernel can multiply bf16 weights at (almost) the speed of f32 ones while the weights
/// take half the memory and half the memory bandwidth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Bf16(pub u16);

impl Bf16 {
    /// Rounds to the nearest bf16, ties to even (as PyTorch's `.to(torch.bfloat16)`); NaN
    /// stays NaN.
    pub fn from_f32(v: f32) -> Self {
        let bits = v.to_bits();
        if v.is_nan() {
            return Self(((bits >> 16) as u16) | 0x40);
        }
        let round = 0x7FFF + ((bits >> 16) & 1);
        Self((bits.wrapping_add(round) >> 16) as u16)
    }

    /// The exact f32 value.
    pub fn to_f32(self) -> f32 {
        f32::from_bits(u32::from(self.0) << 16)
    }

    /// `values` rounded to bf16 and widened back: what bf16 storage (or a bf16 product's
    /// operand) holds of them.
    pub fn round_all(values: &[f32]) -> Vec<f32> {
        values.iter().map(|&v| Self::from_f32(v).to_f32()).collect()
    }
}

/// Storage order of the 16 columns of a bf16 line. AVX2 widens bf16 to f32 by interleaving
/// zeros below each value (`vpunpcklwd` / `vpunpckhwd`), which works on each 128-bit half
/// separately: storing columns 0-3 | 8-11 | 4-7 | 12-15 makes the two unpacks produce
/// columns 0-7 and 8-15 directly, two instructions per line instead of four.
pub(crate) const BF16_COLUMN_AT: [usize; NR] =
    [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15];

// SAFETY: `Bf16` is a transparent u16: plain data with alignment 2.
unsafe impl PackedElem for Bf16 {
    fn encode_line(values: &[f32; NR]) -> [Self; NR] {
        std::array::from_fn(|slot| Bf16::from_f32(values[BF16_COLUMN_AT[slot]]))
    }

    fn decode_line(line: &[Self]) -> [f32; NR] {
        let mut out = [0.0; NR];
        for (slot, v) in line[..NR].iter().enumerate() {
            out[BF16_COLUMN_AT[slot]] = v.to_f32();
        }
        out
    }

    unsafe fn tile<K: Microkernel>(
        depth: usize,
        a: *const f32,
        b: *const Self,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        ahead: Prefetch,
    ) {
        // SAFETY: forwarded contract.
        unsafe { K::tile_bf16(depth, a, b, c, ldc, bias, load_c, ahead) }
    }
}

/// The weight of a linear layer, packed for the GEMM microkernels, with elements `E`.
#[derive(Clone)]
pub(crate) struct PackedWeight<E: PackedElem = f32> {
    storage: Vec<CacheLine>,
    /// Output features (columns of C).
    n: usize,
    /// Input features (the shared dimension).
    k: usize,
    /// Depth of every k block but possibly the last one.
    kc: usize,
    elem: std::marker::PhantomData<E>,
}

impl<E: PackedElem> fmt::Debug for PackedWeight<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values themselves are megabytes of noise in a debug print.
        f.debug_struct("PackedWeight")
            .field("n", &self.n)
            .field("k", &self.k)
            .field("kc", &self.kc)
            .field("elem_bytes", &std::mem::size_of::<E>())
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

impl<E: PackedElem> PackedWeight<E> {
    /// Packs a row-major `[n, k]` weight.
    ///
    /// Panics if `weight.len() != n * k` (callers check shapes first).
    pub(crate) fn new(weight: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(weight.len(), n * k, "weight is not n x k");
        let kc = block_depth(k);
        let panels = n.div_ceil(NR);
        let elems = k * panels * NR;
        let bytes = elems * std::mem::size_of::<E>();
        let mut packed = Self {
            storage: vec![CacheLine([0; 64]); bytes.div_ceil(64)],
            n,
            k,
            kc,
            elem: std::marker::PhantomData,
        };
        let mut next = 0;
        let out = packed.elems_mut();
        for (k0, depth) in k_blocks(k, kc) {
            for panel in 0..panels {
                let width = NR.min(n - panel * NR);
                for p in 0..depth {
                    let mut line = [0.0; NR];
                    for (col, v) in line.iter_mut().enumerate().take(width) {
                        *v = weight[(panel * NR + col) * k + k0 + p];
                    }
                    out[next..next + NR].copy_from_slice(&E::encode_line(&line));
                    next += NR;
                }
            }
        }
        packed
    }

    fn elems_mut(&mut self) -> &mut [E] {
        let len = self.k * self.panels() * NR;
        // SAFETY: `E` is plain data whose alignment divides 64 (`PackedElem`'s contract) and
        // the storage holds at least `len · size_of::<E>()` bytes, all initialized.
        unsafe { std::slice::from_raw_parts_mut(self.storage.as_mut_ptr().cast::<E>(), len) }
    }

    fn elems(&self) -> &[E] {
        let len = self.k * self.panels() * NR;
        // SAFETY: as in `elems_mut`.
        unsafe { std::slice::from_raw_parts(self.storage.as_ptr().cast::<E>(), len) }
    }

    /// Output features.
    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub(crate) fn k(&self) -> usize {
        self.k
    }

    /// Bytes of packed storage (the weight's memory).
    pub(crate) fn bytes(&self) -> usize {
        self.storage.len() * std::mem::size_of::<CacheLine>()
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
    pub(crate) fn panel(&self, k0: usize, depth: usize, panel: usize) -> &[E] {
        let start = (k0 * self.panels() + panel * depth) * NR;
        &self.elems()[start..start + depth * NR]
    }

    /// The weight back in its row-major `[n, k]` layout (used to re-pack fused layers).
    pub(crate) fn to_row_major(&self) -> Vec<f32> {
        let mut weight = vec![0.0; self.n * self.k];
        for (k0, depth) in self.k_blocks() {
            for panel in 0..self.panels() {
                let block = self.panel(k0, depth, panel);
                for (p, line) in block.chunks_exact(NR).enumerate() {
                    let values = E::decode_line(line);
                    for (col, &v) in values.iter().enumerate().take(NR.min(self.n - panel * NR)) {
                        weight[(panel * NR + col) * self.k + k0 + p] = v;
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
/// `dst` holds exactly those panels: [`a_panels_len`]`(rows.len(), depth)` floats.
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
    dst: &mut [f32],
) {
    assert_eq!(dst.len(), a_panels_len(rows.len(), depth));
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

/// Floats of the `MR`-row panels [`pack_a`] makes of `rows` rows × `depth` columns (the last
/// panel padded to `MR` rows). Panels of consecutive k blocks laid end to end put block
/// `(k0, depth)` at `a_panels_len(rows, k0)`.
pub(crate) fn a_panels_len(rows: usize, depth: usize) -> usize {
    rows.div_ceil(MR) * MR * depth
}

/// Portable [`Microkernel::pack_panel`]: `out[p · MR + r] = rows[r][p]`.
pub(crate) fn interleave_rows(rows: [&[f32]; MR], out: &mut [f32]) {
    for (p, line) in out.chunks_exact_mut(MR).enumerate() {
        for (dst, row) in line.iter_mut().zip(&rows) {
            *dst = row[p];
        }
    }
}
