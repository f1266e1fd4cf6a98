//! AVX2 + FMA microkernel: a 6 × 16 tile of C in 12 ymm accumulators.
//!
//! Per k step it loads one 16-float line of packed B (two registers) and broadcasts six
//! values of packed A, feeding 12 independent FMAs: 12 accumulators + 2 B registers + 1
//! broadcast fit the 16 ymm registers, and 12 chains cover the 2 FMA pipes × 4-cycle latency
//! of Zen 3 (8 in flight needed) with room to spare. The 8 loads per step (6 cycles of FMAs)
//! are well within what the load units sustain, so the FMA pipes are the bottleneck, as they
//! should be.

use super::{Bf16, Microkernel, Prefetch, MR, NR};
use crate::ops::Activation;
use std::arch::x86_64::*;

/// The AVX2 + FMA `6 × 16` kernel.
pub(crate) struct Avx2Fma6x16;

impl Microkernel for Avx2Fma6x16 {
    #[inline]
    unsafe fn pack_panel(rows: [&[f32]; MR], out: &mut [f32]) {
        // SAFETY: the caller guarantees AVX2 support.
        unsafe { pack_panel_6(rows, out) }
    }

    #[inline]
    unsafe fn activate(x: &mut [f32], act: Activation) {
        // SAFETY: the caller guarantees AVX2 and FMA support.
        unsafe { activate_fused(x, act) }
    }

    #[inline]
    unsafe fn tile(
        depth: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        ahead: Prefetch,
    ) {
        // SAFETY: same contract, including the CPU support for avx2 and fma.
        unsafe { tile_6x16::<F32Lines>(depth, a, b, c, ldc, bias, load_c, ahead) }
    }

    #[inline]
    unsafe fn tile_bf16(
        depth: usize,
        a: *const f32,
        b: *const Bf16,
        c: *mut f32,
        ldc: usize,
        bias: Option<&[f32; NR]>,
        load_c: bool,
        ahead: Prefetch,
    ) {
        // SAFETY: same contract, including the CPU support for avx2 and fma.
        unsafe { tile_6x16::<Bf16Lines>(depth, a, b, c, ldc, bias, load_c, ahead) }
    }
}

/// The activations' portable body compiled with AVX2 + FMA (what `ops` runs on this path).
///
/// # Safety
///
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn activate_fused(x: &mut [f32], act: Activation) {
    crate::ops::body::activate::<crate::math::Fused>(x, act)
}

/// Reads one packed line of B as two registers of 8 f32 columns.
trait LineLoad {
    type Elem;

    /// Columns 0-7 and 8-15 of the line at `b`.
    ///
    /// # Safety
    ///
    /// `b` points to `NR` readable elements; the CPU supports AVX2.
    unsafe fn load(b: *const Self::Elem) -> (__m256, __m256);
}

/// f32 lines: two plain loads.
struct F32Lines;

impl LineLoad for F32Lines {
    type Elem = f32;

    #[inline(always)]
    unsafe fn load(b: *const f32) -> (__m256, __m256) {
        // SAFETY: 16 readable floats (caller).
        unsafe { (_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8))) }
    }
}

/// bf16 lines (stored in `BF16_COLUMN_AT` order): one load and two unpacks against zero,
/// which put each bf16 in the upper half of an f32 lane (an exact widening).
struct Bf16Lines;

impl LineLoad for Bf16Lines {
    type Elem = Bf16;

    #[inline(always)]
    unsafe fn load(b: *const Bf16) -> (__m256, __m256) {
        // SAFETY: 16 readable bf16 values = 32 bytes (caller), unaligned load.
        unsafe {
            let line = _mm256_loadu_si256(b.cast());
            let zero = _mm256_setzero_si256();
            (
                _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, line)),
                _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, line)),
            )
        }
    }
}

/// See [`Microkernel::tile`].
///
/// # Safety
///
/// The contract of [`Microkernel::tile`]; the CPU must support AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_6x16<L: LineLoad>(
    depth: usize,
    mut a: *const f32,
    mut b: *const L::Elem,
    c: *mut f32,
    ldc: usize,
    bias: Option<&[f32; NR]>,
    load_c: bool,
    ahead: Prefetch,
) {
    const _: () = assert!(
        MR == 6 && NR == 16,
        "the kernel is written for 6 x 16 tiles"
    );
    // C is read (or written) only after the k loop: start bringing its lines in now so that
    // the loads at the end do not wait on L3. A row of 16 floats spans at most two lines.
    // (Measured: 10-20% more GFLOP/s on the shapes whose C does not fit in L2.)
    for r in 0..MR {
        // SAFETY: rows r < MR of the tile are inside C (caller); prefetching never faults.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc).cast());
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + NR - 1).cast());
        }
    }
    let start = match bias {
        // SAFETY: `bias` is 16 floats; unaligned loads.
        Some(bias) => unsafe {
            [
                _mm256_loadu_ps(bias.as_ptr()),
                _mm256_loadu_ps(bias.as_ptr().add(8)),
            ]
        },
        None => [_mm256_setzero_ps(); 2],
    };
    let mut acc = [start; MR];
    // One k step: one line of B, MR broadcasts of A, 2 · MR FMAs.
    let mut step = |acc: &mut [[__m256; 2]; MR]| {
        // SAFETY: each of the `depth` steps reads the next NR floats of B and MR floats of A,
        // inside the `depth · NR` and `depth · MR` floats the caller guarantees.
        unsafe {
            let (b_lo, b_hi) = L::load(b);
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let a_val = _mm256_broadcast_ss(&*a.add(r));
                acc_row[0] = _mm256_fmadd_ps(a_val, b_lo, acc_row[0]);
                acc_row[1] = _mm256_fmadd_ps(a_val, b_hi, acc_row[1]);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
    };
    // The first steps each also ask for one line of `ahead` (two loops: no branch per step).
    let prefetched = ahead.lines.min(depth);
    for line in 0..prefetched {
        // Prefetching never faults, whatever the address.
        _mm_prefetch::<_MM_HINT_T0>(ahead.start.wrapping_add(line * 64).cast());
        step(&mut acc);
    }
    for _ in prefetched..depth {
        step(&mut acc);
    }
    for (r, [lo, hi]) in acc.into_iter().enumerate() {
        // SAFETY: row `r < MR` of the tile is NR floats at `c + r · ldc`, writable and (with
        // `load_c`) readable, owned by this call (caller).
        unsafe {
            let row = c.add(r * ldc);
            let (lo, hi) = if load_c {
                (
                    _mm256_add_ps(_mm256_loadu_ps(row), lo),
                    _mm256_add_ps(_mm256_loadu_ps(row.add(8)), hi),
                )
            } else {
                (lo, hi)
            };
            _mm256_storeu_ps(row, lo);
            _mm256_storeu_ps(row.add(8), hi);
        }
    }
}

/// Interleaves 6 rows into an A panel, 8 k steps at a time: the rows (plus two zero rows)
/// form an 8 × 8 block that is transposed in registers, and each transposed column is stored
/// as 8 floats at its 6-float slot, the 2 extra lanes being overwritten by the next column.
/// This replaces ~2 cycles per element of strided scalar stores, ~8% of the GEMM time.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn pack_panel_6(rows: [&[f32]; MR], out: &mut [f32]) {
    let depth = out.len() / MR;
    assert!(
        rows.iter().all(|r| r.len() >= depth),
        "A rows shorter than the panel"
    );
    let mut p = 0;
    // Strictly less: the spill of the last column's store must land on k steps still to come.
    while p + 8 < depth {
        // SAFETY: rows have ≥ depth > p + 8 floats (asserted); the stores write
        // out[(p + j) · 6 .. (p + j) · 6 + 8] for j < 8, the last one ending at
        // (p + 8) · 6 + 2 ≤ depth · 6 since p + 8 < depth.
        unsafe {
            let r: [__m256; 6] = std::array::from_fn(|i| _mm256_loadu_ps(rows[i].as_ptr().add(p)));
            let zero = _mm256_setzero_ps();
            // Pairs of rows interleaved: [a0 b0 a1 b1 | a4 b4 a5 b5] and [a2 b2 a3 b3 | ...].
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            // Rows 0-3 (and 4-5 then zeros) of columns j and j + 4.
            let lo = [
                _mm256_shuffle_ps::<0x44>(t0, t2),
                _mm256_shuffle_ps::<0xEE>(t0, t2),
                _mm256_shuffle_ps::<0x44>(t1, t3),
                _mm256_shuffle_ps::<0xEE>(t1, t3),
            ];
            let hi = [
                _mm256_shuffle_ps::<0x44>(t4, zero),
                _mm256_shuffle_ps::<0xEE>(t4, zero),
                _mm256_shuffle_ps::<0x44>(t5, zero),
                _mm256_shuffle_ps::<0xEE>(t5, zero),
            ];
            let dst = out.as_mut_ptr().add(p * MR);
            for j in 0..4 {
                let col_j = _mm256_permute2f128_ps::<0x20>(lo[j], hi[j]);
                _mm256_storeu_ps(dst.add(j * MR), col_j);
            }
            for j in 0..4 {
                let col_j4 = _mm256_permute2f128_ps::<0x31>(lo[j], hi[j]);
                _mm256_storeu_ps(dst.add((j + 4) * MR), col_j4);
            }
        }
        p += 8;
    }
    for (q, line) in out.chunks_exact_mut(MR).enumerate().skip(p) {
        for (dst, row) in line.iter_mut().zip(&rows) {
            *dst = row[q];
        }
    }
}
