//! Every path against a naive f64 triple loop, on shapes chosen to hit each edge: partial
//! row panels (m % 6), partial column panels (n % 16), several k blocks (k > 256) with a
//! ragged last one, k = 1, single rows, threaded and single-threaded grids.

use super::{matmul_on, Bf16, Dest, PackedElem, PackedWeight};
use crate::isa::{self, Isa};
use std::mem::MaybeUninit;

/// Small deterministic pseudo-random values in [-1, 1) (no `rand` dependency).
pub(crate) fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// `c0 (if accumulate) + a · wᵀ + bias`, accumulated in f64.
fn reference(
    a: &[f32],
    w: &[f32],
    (m, n, k): (usize, usize, usize),
    bias: Option<&[f32]>,
    c0: &[f32],
    accumulate: bool,
) -> Vec<f64> {
    let mut c = vec![0.0_f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s: f64 = (0..k)
                .map(|p| f64::from(a[i * k + p]) * f64::from(w[j * k + p]))
                .sum();
            s += bias.map_or(0.0, |b| f64::from(b[j]));
            if accumulate {
                s += f64::from(c0[i * n + j]);
            }
            c[i * n + j] = s;
        }
    }
    c
}

/// Relative error 1e-5, measured against the row's magnitude so that sums that cancel to
/// nearly zero are not held to an impossible standard.
fn assert_close(got: &[f32], want: &[f64], n: usize, what: &str) {
    for (i, (g_row, w_row)) in got.chunks(n).zip(want.chunks(n)).enumerate() {
        let scale = w_row.iter().fold(1.0_f64, |s, v| s.max(v.abs()));
        for (j, (&g, &w)) in g_row.iter().zip(w_row).enumerate() {
            let err = (f64::from(g) - w).abs() / scale;
            assert!(
                err <= 1e-5,
                "{what}: C[{i},{j}] = {g}, want {w} (rel err {err:e})"
            );
        }
    }
}

fn check(isa: Isa, m: usize, n: usize, k: usize) {
    check_elem::<f32>(isa, m, n, k, |w| w);
    // bf16 weights: the same product with the weights rounded to bf16 first.
    check_elem::<Bf16>(isa, m, n, k, |w| Bf16::round_all(&w));
}

fn check_elem<E: PackedElem>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    as_stored: impl Fn(Vec<f32>) -> Vec<f32>,
) {
    let seed = (m * 1_000_003 + n * 1_009 + k) as u64;
    let a = values(m * k, seed);
    let w = values(n * k, seed + 1);
    let bias = values(n, seed + 2);
    let c0 = values(m * n, seed + 3);
    let packed = PackedWeight::<E>::new(&w, n, k);
    let w = as_stored(w);
    for with_bias in [false, true] {
        for accumulate in [false, true] {
            let bias = with_bias.then_some(bias.as_slice());
            let c = if accumulate {
                let mut c = c0.clone();
                matmul_on(isa, &a, m, &packed, bias, Dest::Accumulate(&mut c));
                c
            } else {
                // Garbage in C must not leak into an overwriting product.
                let mut c = vec![MaybeUninit::new(f32::NAN); m * n];
                matmul_on(isa, &a, m, &packed, bias, Dest::Overwrite(&mut c));
                // SAFETY: every element was initialized (to NaN) before the call.
                c.into_iter().map(|v| unsafe { v.assume_init() }).collect()
            };
            let want = reference(&a, &w, (m, n, k), bias, &c0, accumulate);
            let what = format!(
                "{isa:?} {} m={m} n={n} k={k} bias={with_bias} acc={accumulate}",
                std::any::type_name::<E>()
            );
            assert_close(&c, &want, n.max(1), &what);
        }
    }
}

/// (m, n, k) of every product checked; Miri (far slower) gets the smallest that still cover
/// every edge: ragged row and column panels, two k blocks, k = 0 and 1, m = 0.
const SHAPES: &[(usize, usize, usize)] = if cfg!(miri) { MIRI_SHAPES } else { ALL_SHAPES };

const MIRI_SHAPES: &[(usize, usize, usize)] = &[(0, 16, 8), (2, 5, 0), (7, 17, 5), (1, 17, 385)];

const ALL_SHAPES: &[(usize, usize, usize)] = &[
    (0, 16, 8),
    (1, 1, 1),
    (1, 16, 1),
    (1, 17, 3),
    (1, 384, 384),
    (2, 5, 0),
    (5, 33, 7),
    (6, 16, 16),
    (7, 17, 385),
    // A short query's A packed once for all tasks, over several k blocks (ragged n and m too).
    (8, 384, 1536),
    (31, 40, 800),
    (12, 48, 256),
    (13, 31, 257),
    (37, 100, 64),
    (64, 384, 1),
    (100, 24, 513),
    (150, 40, 20),
    (200, 1152, 384),
    (289, 130, 1536),
    (1000, 16, 9),
];

#[test]
fn portable_path_matches_naive_product() {
    for &(m, n, k) in SHAPES {
        check(Isa::Scalar, m, n, k);
    }
}

#[test]
fn avx2_path_matches_naive_product() {
    if !isa::cpu_has_avx2_fma() {
        eprintln!("skipped: this CPU has no AVX2 + FMA");
        return;
    }
    for &(m, n, k) in SHAPES {
        check(Isa::Avx2Fma, m, n, k);
    }
}

#[test]
fn avx512_path_matches_naive_product() {
    if !isa::cpu_has_avx512() {
        eprintln!("skipped: this CPU has no AVX-512 (F, BW, VL, VNNI)");
        return;
    }
    for &(m, n, k) in SHAPES {
        check(Isa::Avx512, m, n, k);
    }
}

#[test]
fn single_threaded_pool_gives_the_same_result() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    pool.install(|| {
        if cfg!(miri) {
            return;
        }
        for isa in [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512] {
            check(isa, 200, 1152, 384);
            check(isa, 7, 17, 385);
        }
    });
}

#[test]
fn packing_round_trips_the_weight() {
    for &(n, k) in &[(1, 1), (17, 385), (16, 256), (40, 600), (3, 0)] {
        let w = values(n * k, 7);
        assert_eq!(
            PackedWeight::<f32>::new(&w, n, k).to_row_major(),
            w,
            "n={n} k={k}"
        );
        let rounded = Bf16::round_all(&w);
        let bf16 = PackedWeight::<Bf16>::new(&w, n, k);
        assert_eq!(bf16.to_row_major(), rounded, "bf16 n={n} k={k}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_panel_packing_matches_portable_for_every_depth() {
    if !isa::cpu_has_avx2_fma() {
        eprintln!("skipped: this CPU has no AVX2 + FMA");
        return;
    }
    use super::{avx2::Avx2Fma6x16, pack::interleave_rows, Microkernel, MR};
    for depth in 0..40 {
        let data = values(MR * depth, depth as u64);
        let rows: [&[f32]; MR] = std::array::from_fn(|r| &data[r * depth..(r + 1) * depth]);
        let mut want = vec![0.0; MR * depth];
        interleave_rows(rows, &mut want);
        let mut got = vec![f32::NAN; MR * depth];
        // SAFETY: AVX2 + FMA were detected above.
        unsafe { Avx2Fma6x16::pack_panel(rows, &mut got) };
        assert_eq!(got, want, "depth {depth}");
    }
}
