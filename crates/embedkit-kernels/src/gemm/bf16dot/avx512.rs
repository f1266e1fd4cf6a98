//! The AVX512-BF16 block product: `vdpbf16ps`.
//!
//! `vdpbf16ps acc, a, b` adds `a[2i] · b[2i] + a[2i + 1] · b[2i + 1]` to each f32 lane `i`
//! of `acc`: with one pair of a row of A broadcast to every lane and a line of B (16 columns'
//! pairs), one instruction does two k steps of a 1 × 16 product, where an f32 FMA does one.
//! Each bf16 product is exact in f32, so only the sums round, as in the f32 kernels.
//!
//! A block is computed [`ROWS`] rows at a time over the whole of k, each row's 32 columns in
//! two accumulators: per k pair, two B lines, [`ROWS`] broadcasts (folded into the
//! instructions) and `2 · ROWS` products, 16 independent sums to cover the latency.

use super::{BlockF32, BlockProduct, Line, BLOCK};
use std::arch::x86_64::*;

/// Rows of A per pass over k.
const ROWS: usize = 8;

/// Whether the CPU has AVX-512 (as the AVX-512 path needs it) and AVX512-BF16.
pub(crate) fn ready() -> bool {
    crate::isa::cpu_has_avx512() && std::arch::is_x86_feature_detected!("avx512bf16")
}

/// [`BlockProduct`] on AVX512-BF16 vectors.
pub(super) struct Vectors;

impl BlockProduct for Vectors {
    /// See [`BlockProduct::block`]; the CPU supports AVX-512 F and BF16 (`ready()`).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
    unsafe fn block(
        a: *const Line,
        row_lines: usize,
        b0: *const Line,
        b1: *const Line,
        height: usize,
        out: &mut BlockF32,
    ) {
        const _: () = assert!(
            BLOCK.is_multiple_of(ROWS) && BLOCK == 32,
            "whole groups of rows, two lines of B per block"
        );
        let pairs = row_lines * 16;
        // One 32-bit value per pair of A: a row is `pairs` of them.
        let a = a.cast::<i32>();
        for first in (0..height).step_by(ROWS) {
            let rows = a.wrapping_add(first * pairs);
            let mut left = [_mm512_setzero_ps(); ROWS];
            let mut right = [_mm512_setzero_ps(); ROWS];
            for q in 0..pairs {
                // SAFETY: line q of each panel and pair q of rows first .. first + ROWS ≤ 32 are
                // inside the panels and A (caller); lines are 64-byte aligned.
                unsafe {
                    let w0: __m512bh = std::mem::transmute(_mm512_load_si512(b0.add(q).cast()));
                    let w1: __m512bh = std::mem::transmute(_mm512_load_si512(b1.add(q).cast()));
                    for r in 0..ROWS {
                        let x: __m512bh =
                            std::mem::transmute(_mm512_set1_epi32(*rows.add(r * pairs + q)));
                        left[r] = _mm512_dpbf16_ps(left[r], x, w0);
                        right[r] = _mm512_dpbf16_ps(right[r], x, w1);
                    }
                }
            }
            for r in 0..ROWS {
                let row = out.0[(first + r) * BLOCK..].as_mut_ptr();
                // SAFETY: row first + r < 32 of the block holds 32 floats.
                unsafe {
                    _mm512_storeu_ps(row, left[r]);
                    _mm512_storeu_ps(row.add(16), right[r]);
                }
            }
        }
    }
}
