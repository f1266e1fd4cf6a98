//! 8-bit vectors for scans that are bound by memory bandwidth: a row quantized to `i8` with
//! one scale (`x ≈ scale · code`) is a quarter of its `f32` bytes, so a scan that streams
//! every row of a large collection reads four times less memory. Scores from codes are
//! approximate; callers rescore their best candidates with the `f32` rows.
//!
//! Codes stay within `-127..=127` (never -128), which keeps every pairwise product sum of
//! the AVX2 path (`|a|·b` over two lanes, at most 2·127² = 32,258) inside an `i16`.

use crate::isa::{self, Isa};

/// Quantizes `x` into `out` (same length) symmetrically and returns the scale:
/// `x[i] ≈ scale · out[i]`, with the largest magnitude mapped to ±127. An all-zero row gets
/// scale 0 (and zero codes).
pub fn quantize(x: &[f32], out: &mut [i8]) -> f32 {
    let max = x.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        out.iter_mut().for_each(|c| *c = 0);
        return 0.0;
    }
    // Divided first: `127 / max` would overflow for the tiniest magnitudes.
    for (c, v) in out.iter_mut().zip(x) {
        *c = (v / max * 127.0).round().clamp(-127.0, 127.0) as i8;
    }
    max / 127.0
}

/// `Σ a[i]·b[i]` over the shorter length, exactly (in `i32`: rows of up to 133,000 codes
/// cannot overflow), for codes in `-127..=127` as [`quantize`] makes them; a -128 code
/// gives an unspecified sum on the AVX2 path (its sign cannot be moved onto the other side).
pub fn dot(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    match isa::current() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Avx2Fma` and `Avx512` are only chosen after runtime detection of avx2.
        Isa::Avx2Fma | Isa::Avx512 => unsafe { avx2::dot(a, b) },
        _ => dot_portable(a, b),
    }
}

fn dot_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| *x as i32 * *y as i32).sum()
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// 32 codes per step: `maddubs` multiplies unsigned by signed bytes, so `a`'s sign is
    /// moved onto `b` (`|a| · sign(a)·b = a·b`), then pairs of `i16` products are summed
    /// into `i32` lanes by `madd` with ones.
    ///
    /// # Safety
    /// The CPU must have AVX2; `a` and `b` must have the same length.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len();
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_si256(); 2];
        let mut i = 0;
        while i + 64 <= n {
            for (j, lane) in acc.iter_mut().enumerate() {
                // SAFETY: i + 32·j + 32 <= n for both slices (unaligned loads).
                let x = _mm256_loadu_si256(a.as_ptr().add(i + 32 * j).cast());
                let y = _mm256_loadu_si256(b.as_ptr().add(i + 32 * j).cast());
                let p = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
                *lane = _mm256_add_epi32(*lane, _mm256_madd_epi16(p, ones));
            }
            i += 64;
        }
        while i + 32 <= n {
            // SAFETY: i + 32 <= n.
            let x = _mm256_loadu_si256(a.as_ptr().add(i).cast());
            let y = _mm256_loadu_si256(b.as_ptr().add(i).cast());
            let p = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
            acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(p, ones));
            i += 32;
        }
        let sum = _mm256_add_epi32(acc[0], acc[1]);
        let half = _mm_add_epi32(
            _mm256_castsi256_si128(sum),
            _mm256_extracti128_si256::<1>(sum),
        );
        let pair = _mm_add_epi32(half, _mm_unpackhi_epi64(half, half));
        let one = _mm_add_epi32(pair, _mm_shuffle_epi32::<0b01>(pair));
        _mm_cvtsi128_si32(one) + super::dot_portable(&a[i..], &b[i..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(n: usize, seed: u32) -> Vec<i8> {
        let mut s = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 255) as i8 as i32 as i8
            })
            .map(|c| c.max(-127))
            .collect()
    }

    #[test]
    fn dot_equals_the_integer_sum_at_every_length_and_extreme() {
        for n in [0, 1, 15, 31, 32, 33, 63, 64, 65, 100, 384, 1000] {
            let (a, b) = (codes(n, 1), codes(n, 2));
            let want: i32 = a.iter().zip(&b).map(|(x, y)| *x as i32 * *y as i32).sum();
            assert_eq!(dot(&a, &b), want, "n = {n}");
            assert_eq!(dot_portable(&a, &b), want);
        }
        // The largest magnitudes in every lane: no i16 saturation.
        let a = vec![-127_i8; 384];
        let b = vec![127_i8; 384];
        assert_eq!(dot(&a, &a), 384 * 127 * 127);
        assert_eq!(dot(&a, &b), -384 * 127 * 127);
    }

    #[test]
    fn quantize_maps_the_largest_magnitude_to_127_and_rounds_the_rest() {
        let mut c = [0_i8; 5];
        let s = quantize(&[0.5, -1.0, 0.25, 0.0, 0.004], &mut c);
        assert_eq!(s, 1.0 / 127.0);
        // 0.5·127 = 63.5 rounds away from zero; 0.004·127 = 0.508 rounds to 1.
        assert_eq!(c, [64, -127, 32, 0, 1]);
        assert_eq!(quantize(&[0.0, 0.0], &mut c[..2]), 0.0);
        assert_eq!(c[..2], [0, 0]);
    }

    #[test]
    fn a_quantized_dot_product_is_close_to_the_f32_one() {
        let x: Vec<f32> = (0..384)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let y: Vec<f32> = (0..384)
            .map(|i| ((i * 53 % 89) as f32 - 44.0) / 44.0)
            .collect();
        let (mut cx, mut cy) = (vec![0; 384], vec![0; 384]);
        let (sx, sy) = (quantize(&x, &mut cx), quantize(&y, &mut cy));
        let exact: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
        let approx = sx * sy * dot(&cx, &cy) as f32;
        // Each code is off by at most half a step (1/254 of the largest magnitude).
        let bound: f32 = x.iter().map(|a| a.abs()).sum::<f32>() / 254.0
            + y.iter().map(|b| b.abs()).sum::<f32>() / 254.0;
        assert!((exact - approx).abs() <= bound, "{exact} vs {approx}");
    }
}
