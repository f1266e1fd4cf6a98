//! Our own SGEMM for `C (+)= A · Bᵀ + bias`, with B a linear layer's weight packed at load.
//!
//! Why not the `gemm` crate: on 2-core Zen 3 machines (AVX2 + FMA, no AVX-512) its AVX2
//! kernel reached ~113 GFLOP/s on our shapes, about 70% of peak, while OpenBLAS gets ~150,
//! and on stable Rust it has no AVX-512 kernels. Two things are cheaper when we know B is
//! always a weight:
//!
//! * B is always a weight, so it is packed **once** per layer (see [`pack`]) instead of on
//!   every call, in exactly the layout the microkernel streams.
//! * The epilogue is ours: the bias is the accumulators' starting value and the residual
//!   (`forward_add`) is added when the tile is stored, so neither needs its own pass over C.
//!
//! The structure follows the BLIS / matrixmultiply design: the driver ([`driver`]) cuts k
//! into blocks whose B panel stays in L1, packs `MC` rows of A (L2) per block, and calls a
//! `MR × NR` microkernel that keeps the whole C tile in registers. Only the microkernel
//! differs between instruction sets ([`avx512`], [`avx2`], [`scalar`]); packing, blocking,
//! edge tiles and threading are shared, so the portable path also tests the driver.
//!
//! Three other product families live beside it: [`int8`] (8-bit weights, 16-bit activations,
//! integer sums), [`u8dot`] (8-bit weights and activations multiplied four at a time by
//! AVX512-VNNI, integer sums per group of 64) and [`bf16dot`] (bf16 weights and activations
//! multiplied in pairs by AVX512-BF16 or the AMX tile unit, f32 sums).

mod driver;
pub(crate) mod int8;
pub(crate) mod pack;
mod scalar;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
pub(crate) mod bf16dot;
#[cfg(target_arch = "x86_64")]
pub(crate) mod u8dot;

#[cfg(test)]
mod tests;

use crate::isa::{self, Isa};
use crate::ops::Activation;
pub use pack::Bf16;
pub(crate) use pack::{PackedElem, PackedWeight};
use std::mem::MaybeUninit;

/// Rows of a C tile (and of an A panel).
pub(crate) const MR: usize = 6;
/// Columns of a C tile (and of a B panel): two AVX2 registers.
pub(crate) const NR: usize = 16;

/// Lines of memory a tile asks the cache for while it computes: its share of the B panel the
/// task multiplies next.
///
/// Why: with a few token rows (one short query) every weight is read from memory once per
/// forward pass and then used by only a handful of tiles, so the first tile on each panel
/// used to wait on DRAM while the other tiles left the memory bus idle. Spreading the next
/// panel's lines over the current panel's tiles, one line per k step, keeps the bus busy
/// during the arithmetic (batch-1 latency: see `examples/gemm_bench.rs ... cold`).
#[derive(Clone, Copy)]
pub(crate) struct Prefetch {
    /// First byte of the lines (64-byte aligned in packed storage).
    pub(crate) start: *const u8,
    /// How many 64-byte lines, from `start`.
    pub(crate) lines: usize,
}

impl Prefetch {
    /// Nothing to bring in.
    pub(crate) const NONE: Self = Self {
        start: std::ptr::null(),
        lines: 0,
    };
}

/// A `MR × NR` register-tile kernel: `C[tile] = (load_c ? C[tile] : 0) + bias + A · B` over
/// one k block, and the packing of A panels it reads.
pub(crate) trait Microkernel {
    /// Interleaves `MR` rows of A, each `depth` long, into `out` (`depth · MR` floats):
    /// `out[p · MR + r] = rows[r][p]`.
    ///
    /// # Safety
    ///
    /// The CPU supports the instructions the implementation was compiled for.
    unsafe fn pack_panel(rows: [&[f32]; MR], out: &mut [f32]) {
        pack::interleave_rows(rows, out)
    }

    /// Applies `act` to `x` with this kernel's instruction set.
    ///
    /// # Safety
    ///
    /// The CPU supports the instructions the implementation was compiled for.
    unsafe fn activate(x: &mut [f32], act: Activation) {
        crate::ops::body::activate::<crate::math::Separate>(x, act)
    }

    /// Computes one full tile, prefetching `ahead`'s lines (one per k step) as it goes.
    ///
    /// # Safety
    ///
    /// * `a` points to `depth · MR` readable floats (an A panel from [`pack::pack_a`]).
    /// * `b` points to `depth · NR` readable floats (a [`PackedWeight::panel`]).
    /// * For every `r < MR`, `c + r · ldc` points to `NR` floats, writable, initialized when
    ///   `load_c` (otherwise possibly not), that no other thread touches during the call.
    /// * The CPU supports the instructions the implementation was compiled for.
    ///
    /// `ahead` may point anywhere: prefetching never faults.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        depth: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        ahead: Prefetch,
    );

    /// [`Microkernel::tile`] with a bf16 B panel (lines stored in
    /// [`pack::BF16_COLUMN_AT`] order), widened to f32 as it is read: fp32 products and sums.
    ///
    /// # Safety
    ///
    /// As [`Microkernel::tile`], with `b` pointing to `depth · NR` readable [`Bf16`] values.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_bf16(
        depth: usize,
        a: *const f32,
        b: *const Bf16,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        ahead: Prefetch,
    );
}

/// Where the product goes, and whether C's current values take part.
pub(crate) enum Dest<'c> {
    /// `C = A · Bᵀ + bias`: C's current contents are never read, so a freshly allocated
    /// output needs no zeroing pass (that pass was ~1.3% of a MiniLM run).
    Overwrite(&'c mut [MaybeUninit<f32>]),
    /// `C = act(A · Bᵀ + bias)`: as [`Dest::Overwrite`], with the activation applied to each
    /// block of C by the thread that computed it, while the block is still in cache (the
    /// feed-forward's first layer: no separate pass over a `tokens × intermediate` matrix).
    Activated(&'c mut [MaybeUninit<f32>], Activation),
    /// `C += A · Bᵀ + bias` (the residual connection of `forward_add`).
    Accumulate(&'c mut [f32]),
}

/// `C (+)= A · Bᵀ + bias` on the instruction set chosen for this process.
///
/// `a` is `m × k` row-major and C `m × n` row-major, with `(n, k)` the packed weight's shape;
/// the bias has one value per column. With [`Dest::Overwrite`], every element of C is
/// initialized on return. Panics if a length does not match.
pub(crate) fn matmul<E: PackedElem>(
    a: &[f32],
    m: usize,
    b: &PackedWeight<E>,
    bias: Option<&[f32]>,
    c: Dest<'_>,
) {
    matmul_on(isa::current(), a, m, b, bias, c)
}

/// [`matmul`] on a given instruction set. An ISA the CPU lacks runs the portable kernel, so
/// this is safe to call with any value (tests call it with each path explicitly).
pub(crate) fn matmul_on<E: PackedElem>(
    isa: Isa,
    a: &[f32],
    m: usize,
    b: &PackedWeight<E>,
    bias: Option<&[f32]>,
    c: Dest<'_>,
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the guard just checked that the CPU has AVX-512.
        _ if isa.runs_avx512() => unsafe {
            driver::run::<avx512::Avx512Fma6x16, E>(a, m, b, bias, c)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the guard just checked that the CPU has AVX2 and FMA.
        _ if isa.runs_avx2() => unsafe { driver::run::<avx2::Avx2Fma6x16, E>(a, m, b, bias, c) },
        // SAFETY: the portable kernel needs nothing beyond the compilation target.
        _ => unsafe { driver::run::<scalar::Portable6x16, E>(a, m, b, bias, c) },
    }
}
