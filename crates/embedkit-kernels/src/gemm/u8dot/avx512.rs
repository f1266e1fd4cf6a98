//! The AVX512-VNNI block product (`vpdpbusd`) and the quantization of A's rows.
//!
//! `vpdpbusd acc, a, b` adds `Σ a[4i + t] · b[4i + t]` (t = 0..4, `a` unsigned and `b`
//! signed bytes) to each i32 lane `i`: with 4 codes of a row of A broadcast to every lane
//! and a line of B (16 columns' 4 bytes), one instruction does 4 k steps of a 1 × 16
//! product. Sums stay exact in i32 over a group (16 instructions: at most
//! 64 · 255 · 127 < 2³¹), then are scaled into f32 accumulators.
//!
//! [`ROWS`] rows × 32 columns per pass over k: 16 i32 sums (even and odd steps apart), 8 f32
//! accumulators, two B lines and a broadcast row take 27 of the 32 vector registers.

use super::{Codes, GROUP};
use crate::gemm::bf16dot::{BlockF32, BLOCK};
use std::arch::x86_64::*;

/// Rows of A per pass over k.
const ROWS: usize = 4;
/// Lines of B (and 4-code steps of A) per group.
const STEPS: usize = GROUP / 4;

/// One 16-column panel of a packed weight.
#[derive(Clone, Copy)]
pub(super) struct Panel {
    /// One line per 4 k steps.
    pub(super) lines: *const Codes,
    /// `[group][16]` column sums of the codes.
    pub(super) sums: *const f32,
    /// 16 column scales.
    pub(super) scales: *const f32,
}

/// Writes the product of 32 rows of A (codes: `groups` lines per row from `codes`; their
/// `(s, s · z)` from `params`) and the two panels into `out`. Rows from `height` on (rounded
/// up to whole passes) may be skipped.
///
/// # Safety
///
/// The CPU supports AVX-512 F, BW, VL and VNNI; all 32 rows of codes and params are
/// readable; each panel holds `16 · groups` lines, `16 · groups` sums and 16 scales.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,fma")]
pub(super) unsafe fn block(
    codes: *const Codes,
    params: *const [f32; 2],
    groups: usize,
    panels: [Panel; 2],
    height: usize,
    out: &mut BlockF32,
) {
    const _: () = assert!(BLOCK.is_multiple_of(ROWS) && BLOCK == 32);
    let [p0, p1] = panels;
    for first in (0..height).step_by(ROWS) {
        let mut acc = [_mm512_setzero_ps(); 2 * ROWS];
        for g in 0..groups {
            // Even and odd steps in separate sums: 16 chains in flight cover `vpdpbusd`'s
            // latency at two per cycle, where 8 left the units idle (~15% of the products).
            let mut even = [_mm512_setzero_si512(); 2 * ROWS];
            let mut odd = [_mm512_setzero_si512(); 2 * ROWS];
            for t in (0..STEPS).step_by(2) {
                // SAFETY: lines g · 16 + t, + 1 of each panel, and 8 codes of group g of rows
                // first .. first + ROWS ≤ 32, are inside their buffers (caller); lines are
                // 64-byte aligned.
                unsafe {
                    step(codes, groups, panels, first, g * STEPS + t, t, &mut even);
                    step(
                        codes,
                        groups,
                        panels,
                        first,
                        g * STEPS + t + 1,
                        t + 1,
                        &mut odd,
                    );
                }
            }
            let sums: [__m512i; 2 * ROWS] =
                std::array::from_fn(|i| _mm512_add_epi32(even[i], odd[i]));
            // SAFETY: group g's 16 sums of each panel and each row's params exist (caller).
            unsafe {
                let col_sums = [
                    _mm512_loadu_ps(p0.sums.add(g * 16)),
                    _mm512_loadu_ps(p1.sums.add(g * 16)),
                ];
                for r in 0..ROWS {
                    let [scale, shift] = params.add((first + r) * groups + g).read();
                    let (scale, shift) = (_mm512_set1_ps(scale), _mm512_set1_ps(shift));
                    for (h, col_sums) in col_sums.into_iter().enumerate() {
                        let i = 2 * r + h;
                        // s · Σ a·q − s · z · Σ q
                        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[i]), scale, acc[i]);
                        acc[i] = _mm512_fnmadd_ps(col_sums, shift, acc[i]);
                    }
                }
            }
        }
        // SAFETY: 16 scales per panel; rows first .. first + ROWS ≤ 32 of the block.
        unsafe {
            let scales = [_mm512_loadu_ps(p0.scales), _mm512_loadu_ps(p1.scales)];
            for r in 0..ROWS {
                let row = out.0[(first + r) * BLOCK..].as_mut_ptr();
                _mm512_storeu_ps(row, _mm512_mul_ps(acc[2 * r], scales[0]));
                _mm512_storeu_ps(row.add(16), _mm512_mul_ps(acc[2 * r + 1], scales[1]));
            }
        }
    }
}

/// One 4-code step of [`block`]: `line` of both panels times codes `4 · t ..` of each row's
/// current group (the group line of row `first + r` is `codes[(first + r) · groups + g]`,
/// with `g` = `line / 16`), added to `sums`.
///
/// # Safety
///
/// As [`block`]'s; `line` is inside both panels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn step(
    codes: *const Codes,
    groups: usize,
    [p0, p1]: [Panel; 2],
    first: usize,
    line: usize,
    t: usize,
    sums: &mut [__m512i; 2 * ROWS],
) {
    let g = line / STEPS;
    // SAFETY: the caller's.
    unsafe {
        let w0 = _mm512_load_si512(p0.lines.add(line).cast());
        let w1 = _mm512_load_si512(p1.lines.add(line).cast());
        for r in 0..ROWS {
            let group = codes.add((first + r) * groups + g).cast::<i32>();
            let x = _mm512_set1_epi32(group.add(t).read());
            sums[2 * r] = _mm512_dpbusd_epi32(sums[2 * r], x, w0);
            sums[2 * r + 1] = _mm512_dpbusd_epi32(sums[2 * r + 1], x, w1);
        }
    }
}

/// Quantizes one row (`row · inverse_smoothing`) into `codes` (one line per group) and
/// `params` (`(s, s · z)` per group): per group, the range `[min(x, 0), max(x, 0)]` is cut
/// into 255 steps of `s`, the zero point `z` is the code of 0 and a value's code is
/// `round(x / s) + z` (ties to even). An all-zero group (or one within 1e-36 of it) gets
/// `s = 0` and codes 0; a group holding NaN or ±∞ gets NaN parameters, so that the products
/// it enters are NaN.
///
/// # Safety
///
/// The CPU supports AVX-512 F and BW; `inverse_smoothing` is as long as `row`; `codes` and
/// `params` hold one entry per group of `row.len()` padded to whole groups.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) unsafe fn quantize_row(
    row: &[f32],
    inverse_smoothing: &[f32],
    codes: &mut [Codes],
    params: &mut [[f32; 2]],
) {
    let k = row.len();
    for (g, (line, param)) in codes.iter_mut().zip(params.iter_mut()).enumerate() {
        let mut x = [_mm512_setzero_ps(); GROUP / 16];
        for (i, v) in x.iter_mut().enumerate() {
            let start = g * GROUP + i * 16;
            let lanes = k.saturating_sub(start).min(16);
            let mask = ((1_u32 << lanes) - 1) as u16;
            // SAFETY: masked loads read only the lanes below k; masked-off lanes never fault.
            unsafe {
                let values = _mm512_maskz_loadu_ps(mask, row.as_ptr().wrapping_add(start));
                let inverse =
                    _mm512_maskz_loadu_ps(mask, inverse_smoothing.as_ptr().wrapping_add(start));
                *v = _mm512_mul_ps(values, inverse);
            }
        }
        // Padding lanes are 0, inside every range.
        let low = x
            .iter()
            .fold(_mm512_setzero_ps(), |m, &v| _mm512_min_ps(m, v));
        let high = x
            .iter()
            .fold(_mm512_setzero_ps(), |m, &v| _mm512_max_ps(m, v));
        let (low, high) = (_mm512_reduce_min_ps(low), _mm512_reduce_max_ps(high));
        let span = high - low;
        // min / max skip NaN lanes, so look for them apart.
        let nan = x
            .iter()
            .fold(0_u16, |m, &v| m | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v));
        let inverse = 255.0 / span;
        if nan != 0 || !span.is_finite() {
            // NaN or ±∞ in the group: the outputs become NaN, as an f32 product's would.
            *line = Codes([0; 64]);
            *param = [f32::NAN; 2];
            continue;
        }
        if !(span > 0.0 && inverse.is_finite()) {
            // All zero, or so close to it (|x| < 1e-36) that 255 / span overflows: zeros.
            *line = Codes([0; 64]);
            *param = [0.0; 2];
            continue;
        }
        let scale = span / 255.0;
        let zero = (-low * inverse).round_ties_even();
        *param = [scale, scale * zero];
        let (inverse, zero) = (_mm512_set1_ps(inverse), _mm512_set1_epi32(zero as i32));
        let (min, max) = (_mm512_setzero_si512(), _mm512_set1_epi32(255));
        for (i, &v) in x.iter().enumerate() {
            // Rounded to nearest even (the default MXCSR mode), as `round_ties_even` above.
            let code = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, inverse)), zero);
            let code = _mm512_min_epi32(_mm512_max_epi32(code, min), max);
            // SAFETY: 16 bytes at i · 16 of the 64-byte line.
            unsafe {
                _mm_storeu_si128(
                    line.0.as_mut_ptr().add(i * 16).cast(),
                    _mm512_cvtepi32_epi8(code),
                )
            };
        }
    }
}
