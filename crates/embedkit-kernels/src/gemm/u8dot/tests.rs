//! The 8-bit products against references computed from their definitions: the codes
//! against a scalar quantizer, the products against f64 sums of the dequantized operands
//! (so the zero-point and smoothing algebra is checked, not restated), and the whole
//! against the f32 product within the quantization error.

use super::*;
use crate::gemm::tests::values;
use std::mem::MaybeUninit;

/// The scalar quantizer `quantize_row` must agree with: codes and `(s, s · z)` per group.
/// Whether the 8-bit activation products are unavailable here, said on stderr so that a
/// skipped test does not pass silently: they need the AVX-512 path (F, BW, VL, VNNI) and a
/// bf16 pair engine (AVX512-BF16 or AMX-BF16).
fn skipped() -> bool {
    if available() {
        return false;
    }
    eprintln!("skipped: {}", crate::gemm::bf16dot::why_unavailable());
    true
}

fn quantize_reference(row: &[f32], inverse_smoothing: &[f32]) -> Vec<(Vec<u8>, [f32; 2])> {
    // Padding features are zeros (their weights are zero too).
    let mut x: Vec<f32> = row
        .iter()
        .zip(inverse_smoothing)
        .map(|(v, i)| v * i)
        .collect();
    x.resize(row.len().div_ceil(GROUP) * GROUP, 0.0);
    x.chunks(GROUP)
        .map(|group| {
            let low = group.iter().fold(0.0_f32, |m, &v| m.min(v));
            let high = group.iter().fold(0.0_f32, |m, &v| m.max(v));
            let span = high - low;
            let mut codes = vec![0_u8; GROUP];
            if group.iter().any(|v| !v.is_finite()) {
                return (codes, [f32::NAN; 2]);
            }
            let (scale, inverse) = (span / 255.0, 255.0 / span);
            if span <= 0.0 || !inverse.is_finite() {
                return (codes, [0.0; 2]);
            }
            let zero = (-low * inverse).round_ties_even();
            for (c, &v) in codes.iter_mut().zip(group) {
                *c = ((v * inverse).round_ties_even() + zero).clamp(0.0, 255.0) as u8;
            }
            (codes, [scale, scale * zero])
        })
        .collect()
}

/// A quantized for `b`'s segment `segment`.
fn quantized(a: &[f32], m: usize, b: &PackedQuads, segment: usize) -> QuantizedRows {
    let mut rows = QuantizedRows::default();
    quantize_a(a, m, b.k, &b.segments[segment].inverse_smoothing, &mut rows);
    rows
}

/// Smoothing factors between 0.5 and 2, varying with the feature and `seed`.
fn factors(k: usize, seed: usize) -> Vec<f32> {
    (0..k)
        .map(|p| 0.5 + ((p + seed) % 7) as f32 * 0.25)
        .collect()
}

#[test]
fn rows_quantize_as_the_scalar_definition() {
    if skipped() {
        return;
    }
    for &(m, k) in &[(1, 64), (3, 100), (33, 384), (2, 1)] {
        let mut a = values(m * k, 5);
        // A zero group, a one-signed group, a group within 1e-36 of zero and one with a NaN.
        a[..k.min(64)].fill(0.0);
        if m > 1 {
            a[k..k + k.min(64)]
                .iter_mut()
                .for_each(|v| *v = v.abs() + 0.5);
        }
        if m > 2 {
            a[2 * k..2 * k + k.min(64)].fill(0.0);
            a[2 * k] = 1e-37;
            if k > 64 {
                a[2 * k + 64] = f32::NAN;
            }
        }
        let w = values(8 * k, 6);
        let b = PackedQuads::with_smoothing(&w, 8, k, vec![(0..8, factors(k, 0))]);
        let rows = quantized(&a, m, &b, 0);
        let groups = padded_k(k) / GROUP;
        for r in 0..m {
            let inverse = &b.segments[0].inverse_smoothing;
            let want = quantize_reference(&a[r * k..(r + 1) * k], inverse);
            for (g, (codes, params)) in want.iter().enumerate() {
                assert_eq!(
                    &rows.codes[r * groups + g].0[..],
                    &codes[..],
                    "m={m} k={k} r={r} g={g}"
                );
                let got = rows.params[r * groups + g];
                let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
                assert!(
                    same(got[0], params[0]) && same(got[1], params[1]),
                    "m={m} k={k} r={r} g={g}: {got:?} vs {params:?}"
                );
            }
        }
    }
}

/// Each entry of `quant(A) · quant(B)ᵀ` from the dequantized operands, in f64, A quantized
/// for each column's segment.
fn dequantized_product(a: &[f32], m: usize, b: &PackedQuads) -> Vec<f64> {
    let (n, k) = (b.n, b.k);
    let groups = padded_k(k) / GROUP;
    let weight = b.to_row_major();
    let mut c = vec![0.0_f64; m * n];
    for (index, segment) in b.segments.iter().enumerate() {
        let rows = quantized(a, m, b, index);
        for i in 0..m {
            for j in segment.columns.clone() {
                c[i * n + j] = (0..k)
                    .map(|p| {
                        let [scale, shift] = rows.params[i * groups + p / GROUP];
                        let code = f64::from(rows.codes[i * groups + p / GROUP].0[p % GROUP]);
                        // x / s_p as quantized, times W · s_p as stored.
                        let x = f64::from(scale) * code - f64::from(shift);
                        let s = 1.0 / f64::from(segment.inverse_smoothing[p]);
                        x * f64::from(weight[j * k + p]) * s
                    })
                    .sum();
            }
        }
    }
    c
}

#[test]
fn products_match_the_dequantized_operands_with_every_epilogue() {
    if skipped() {
        return;
    }
    for &(m, n, k) in &[
        (1, 16, 64),
        (5, 33, 100),
        (40, 64, 384),
        (300, 48, 130),
        (7, 3, 1),
    ] {
        let a = values(m * k, 21);
        let w = values(n * k, 22);
        let bias = values(n, 23);
        // Two segments where there are two blocks of columns.
        let segments = if n > BLOCK {
            vec![(0..BLOCK, factors(k, 1)), (BLOCK..n, factors(k, 4))]
        } else {
            vec![(0..n, factors(k, 2))]
        };
        let b = PackedQuads::with_smoothing(&w, n, k, segments);
        let want = dequantized_product(&a, m, &b);
        let tolerance = 1e-4 * (k as f64).sqrt();

        let mut c = vec![MaybeUninit::uninit(); m * n];
        matmul(&a, m, &b, Some(&bias), Dest::Overwrite(&mut c));
        // SAFETY: every entry was written.
        let c: Vec<f32> = c.into_iter().map(|v| unsafe { v.assume_init() }).collect();
        for (idx, (&got, &want)) in c.iter().zip(&want).enumerate() {
            let want = want + f64::from(bias[idx % n]);
            assert!(
                (f64::from(got) - want).abs() <= tolerance,
                "m={m} n={n} k={k} [{idx}] {got} vs {want}"
            );
        }

        let mut acc = values(m * n, 24);
        let before = acc.clone();
        matmul(&a, m, &b, None, Dest::Accumulate(&mut acc));
        for (idx, ((&got, &want), &c0)) in acc.iter().zip(&want).zip(&before).enumerate() {
            let want = want + f64::from(c0);
            assert!(
                (f64::from(got) - want).abs() <= tolerance,
                "accumulate m={m} n={n} k={k} [{idx}]"
            );
        }
    }
}

/// `‖quant product − exact product‖ / ‖exact product‖` over `m` rows of `a`.
fn relative_error(a: &[f32], w: &[f32], b: &PackedQuads, m: usize) -> f64 {
    let (n, k) = (b.n, b.k);
    let mut c = vec![MaybeUninit::uninit(); m * n];
    matmul(a, m, b, None, Dest::Overwrite(&mut c));
    let (mut err, mut norm) = (0.0_f64, 0.0_f64);
    for i in 0..m {
        for j in 0..n {
            let exact: f64 = (0..k)
                .map(|p| f64::from(a[i * k + p]) * f64::from(w[j * k + p]))
                .sum();
            // SAFETY: written by `matmul`.
            let got = f64::from(unsafe { c[i * n + j].assume_init() });
            err += (got - exact).powi(2);
            norm += exact * exact;
        }
    }
    (err / norm).sqrt()
}

#[test]
fn products_stay_within_the_quantization_error_of_f32() {
    if skipped() {
        return;
    }
    let (m, n, k) = (64, 96, 384);
    let w = values(n * k, 32);
    let plain = values(m * k, 31);
    let unsmoothed = relative_error(&plain, &w, &PackedQuads::unsmoothed(&w, n, k), m);
    assert!(unsmoothed < 0.01, "relative error {unsmoothed}");
    // A feature the smoothing must tame: column 5 is 20 times the others.
    let mut a = plain;
    for row in a.chunks_exact_mut(k) {
        row[5] *= 20.0;
    }
    let mut magnitude = vec![1.0_f32; k];
    magnitude[5] = 20.0;
    let smoothed = relative_error(&a, &w, &PackedQuads::new(&w, n, k, &[n], &magnitude), m);
    assert!(smoothed < 0.01, "relative error {smoothed}");
}

#[test]
fn smoothing_balances_input_and_weight_magnitudes() {
    // Column maxima 2 and 0.5; magnitudes 8 and 0 (no information: left alone).
    let w = [1.0, -0.5, -2.0, 0.25];
    let s = smoothing(&w, 2, 2, &[8.0, 0.0]);
    assert_eq!(s, vec![2.0, 1.0]);
}

#[test]
fn packing_round_trips_within_half_a_step() {
    let (n, k) = (20, 70);
    let w = values(n * k, 41);
    let smoothing = factors(k, 3);
    let b = PackedQuads::with_smoothing(&w, n, k, vec![(0..n, smoothing.clone())]);
    for (j, (got, want)) in b.to_row_major().chunks(k).zip(w.chunks(k)).enumerate() {
        for (p, (g, v)) in got.iter().zip(want).enumerate() {
            let step = b.scales[j] / smoothing[p];
            assert!(
                (g - v).abs() <= 0.5 * step * 1.0001,
                "[{j}, {p}] {g} vs {v}"
            );
        }
    }
}

#[test]
fn fused_parts_get_their_own_smoothing_on_block_edges() {
    let k = 8;
    let w = values(96 * k, 51);
    let magnitude = vec![1.0; k];
    let columns = |b: &PackedQuads| -> Vec<Range<usize>> {
        b.segments.iter().map(|s| s.columns.clone()).collect()
    };
    let aligned = PackedQuads::new(&w, 96, k, &[32, 64], &magnitude);
    assert_eq!(columns(&aligned), vec![0..32, 32..96]);
    // Each part's factors come from its own rows.
    let first = smoothing(&w[..32 * k], 32, k, &magnitude);
    let inverse: Vec<f32> = first.iter().map(|s| 1.0 / s).collect();
    assert_eq!(aligned.segments[0].inverse_smoothing, inverse);
    // Boundaries inside a block move to the nearest edge; a part smaller than half a block
    // joins its neighbour.
    let ragged = PackedQuads::new(&w, 96, k, &[20, 76], &magnitude);
    assert_eq!(columns(&ragged), vec![0..32, 32..96]);
    let ragged = PackedQuads::new(&w, 96, k, &[10, 86], &magnitude);
    assert_eq!(columns(&ragged), vec![0..96]);
    let odd = PackedQuads::new(&w[..90 * k], 90, k, &[60, 30], &magnitude);
    assert_eq!(columns(&odd), vec![0..64, 64..90]);
}

#[test]
fn non_finite_inputs_give_nan_and_tiny_ones_zero() {
    if skipped() {
        return;
    }
    let (n, k) = (16, 64);
    let w = values(n * k, 61);
    let b = PackedQuads::unsmoothed(&w, n, k);
    let mut a = vec![0.0_f32; 3 * k];
    a[0] = 1e-37;
    a[k] = f32::NAN;
    a[2 * k + 3] = f32::INFINITY;
    let mut c = vec![MaybeUninit::uninit(); 3 * n];
    matmul(&a, 3, &b, None, Dest::Overwrite(&mut c));
    // SAFETY: written by `matmul`.
    let c: Vec<f32> = c.into_iter().map(|v| unsafe { v.assume_init() }).collect();
    assert!(c[..n].iter().all(|v| *v == 0.0), "{:?}", &c[..n]);
    assert!(c[n..].iter().all(|v| v.is_nan()), "{:?}", &c[n..]);
}
