//! AVX-512 microkernel: a 6 × 16 tile of C, one zmm register per row.
//!
//! The packed layouts are the AVX2 kernel's (`NR = 16` columns is exactly one zmm), so the
//! weights are packed the same way whichever path runs. With one register per row a 6-row
//! tile has only 6 accumulators, fewer than the 2 FMA pipes × 4-cycle latency need (8 in
//! flight): each row keeps two accumulators, one for even and one for odd k steps, summed
//! once at the end. Per two k steps: two B lines, 12 broadcasts of A, 12 FMAs.

use super::{Bf16, Microkernel, Prefetch, MR, NR};
use crate::ops::Activation;
use std::arch::x86_64::*;

/// The AVX-512 `6 × 16` kernel.
pub(crate) struct Avx512Fma6x16;

impl Microkernel for Avx512Fma6x16 {
    #[inline]
    unsafe fn pack_panel(rows: [&[f32]; MR], out: &mut [f32]) {
        // SAFETY: an AVX-512 CPU has AVX2 (the caller guarantees AVX-512 support).
        unsafe { super::avx2::pack_panel_6(rows, out) }
    }

    #[inline]
    unsafe fn activate(x: &mut [f32], act: Activation) {
        // SAFETY: the caller guarantees AVX-512 support.
        unsafe { crate::ops::activate_avx512(x, act) }
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
        // SAFETY: same contract, including the CPU support for AVX-512.
        unsafe { tile_6x16::<F32Line>(depth, a, b, c, ldc, bias, load_c, ahead) }
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
        // SAFETY: same contract, including the CPU support for AVX-512.
        unsafe { tile_6x16::<Bf16Line>(depth, a, b, c, ldc, bias, load_c, ahead) }
    }
}

/// Reads one packed line of B as one register of 16 f32 columns.
trait LineLoad {
    type Elem;

    /// Columns 0-15 of the line at `b`.
    ///
    /// # Safety
    ///
    /// `b` points to `NR` readable elements; the CPU supports AVX-512.
    unsafe fn load(b: *const Self::Elem) -> __m512;
}

/// f32 lines: one plain load.
struct F32Line;

impl LineLoad for F32Line {
    type Elem = f32;

    #[inline(always)]
    unsafe fn load(b: *const f32) -> __m512 {
        // SAFETY: 16 readable floats (caller).
        unsafe { _mm512_loadu_ps(b) }
    }
}

/// bf16 lines: zero-extended to 32 bits and shifted into the upper half of each lane (an
/// exact widening), then put back in column order. The lines are stored in
/// `BF16_COLUMN_AT` order (made for AVX2's in-lane unpacks), which swaps columns 4-7 and
/// 8-11: the same permutation undoes it.
struct Bf16Line;

impl LineLoad for Bf16Line {
    type Elem = Bf16;

    #[inline(always)]
    unsafe fn load(b: *const Bf16) -> __m512 {
        // SAFETY: 16 readable bf16 values = 32 bytes (caller), unaligned load.
        unsafe {
            let order = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
            let wide = _mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(_mm256_loadu_si256(b.cast())));
            _mm512_castsi512_ps(_mm512_permutexvar_epi32(order, wide))
        }
    }
}

/// See [`Microkernel::tile`].
///
/// # Safety
///
/// The contract of [`Microkernel::tile`]; the CPU must support AVX-512 (F).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
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
    // C's rows (one 64-byte line each, or two when unaligned) are read or written only after
    // the k loop: ask for them now (as the AVX2 kernel does).
    for r in 0..MR {
        // SAFETY: rows r < MR of the tile are inside C (caller); prefetching never faults.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc).cast());
            _mm_prefetch::<_MM_HINT_T0>(c.add(r * ldc + NR - 1).cast());
        }
    }
    let start = match bias {
        // SAFETY: `bias` is 16 floats; unaligned load.
        Some(bias) => unsafe { _mm512_loadu_ps(bias.as_ptr()) },
        None => _mm512_setzero_ps(),
    };
    // One accumulator per row for even k steps, one for odd ones (two separate arrays, so
    // that every index is known at compile time and all 12 stay in registers); the odd ones
    // start at zero so that the bias is counted once.
    let mut even = [start; MR];
    let mut odd = [_mm512_setzero_ps(); MR];
    // One k step into `acc`.
    let mut step = |acc: &mut [__m512; MR]| {
        // SAFETY: each of the `depth` steps reads the next NR elements of B and MR floats of
        // A, inside the `depth · NR` and `depth · MR` the caller guarantees.
        unsafe {
            let line = L::load(b);
            for (r, acc_row) in acc.iter_mut().enumerate() {
                *acc_row = _mm512_fmadd_ps(_mm512_set1_ps(*a.add(r)), line, *acc_row);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
    };
    // The first steps each also ask for one line of `ahead` (separate loops: no branch per
    // step).
    let prefetched = ahead.lines.min(depth);
    let mut p = 0;
    while p + 2 <= prefetched {
        // Prefetching never faults, whatever the address.
        _mm_prefetch::<_MM_HINT_T0>(ahead.start.wrapping_add(p * 64).cast());
        _mm_prefetch::<_MM_HINT_T0>(ahead.start.wrapping_add(p * 64 + 64).cast());
        step(&mut even);
        step(&mut odd);
        p += 2;
    }
    while p + 2 <= depth {
        step(&mut even);
        step(&mut odd);
        p += 2;
    }
    if p < depth {
        step(&mut even);
    }
    for (r, (even, odd)) in even.into_iter().zip(odd).enumerate() {
        // SAFETY: row `r < MR` of the tile is NR floats at `c + r · ldc`, writable and (with
        // `load_c`) readable, owned by this call (caller).
        unsafe {
            let row = c.add(r * ldc);
            let sum = _mm512_add_ps(even, odd);
            let sum = if load_c {
                _mm512_add_ps(_mm512_loadu_ps(row), sum)
            } else {
                sum
            };
            _mm512_storeu_ps(row, sum);
        }
    }
}
