//! GFLOP/s of `Linear::forward_add` (bias and residual included) on the all-MiniLM-L6-v2
//! layer shapes, m = 1024 token rows, on rayon's default pool (`RAYON_NUM_THREADS` changes
//! it).
//!
//! Compare with OpenBLAS through numpy on the same shapes (`OPENBLAS_NUM_THREADS=2`):
//! `np.matmul(a, w.T, out=c)` with float32 `a: [1024, k]`, `w: [n, k]`, best of ~1 s.
//!
//! Run: `cargo run --release -p embedkit-kernels --example gemm_bench [m] [seconds per shape]
//! [f32|bf16|int8]` (the weight format; f32 by default).
//!
//! Prints the best call of a `seconds`-long run per shape: other work sharing the two cores
//! only ever slows a call down, so the best one is the kernel's own speed.

use embedkit_kernels::linear::{Linear, WeightFormat};
use std::time::Instant;

/// (in_features k, out_features n) of the fused QKV, attention output, FFN in and FFN out.
const SHAPES: [(usize, usize); 4] = [(384, 1152), (384, 384), (384, 1536), (1536, 384)];

fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let m: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let format = match args.next().as_deref() {
        Some("bf16") => WeightFormat::Bf16,
        Some("int8") => WeightFormat::Int8,
        _ => WeightFormat::F32,
    };
    println!(
        "m={m}, {} threads, isa {}, {format:?} weights",
        rayon::current_num_threads(),
        embedkit_kernels::isa::current().name()
    );
    for (k, n) in SHAPES {
        let layer = Linear::with_format(values(n * k, 1), Some(values(n, 2)), n, k, format)
            .expect("weight and bias lengths match the shape");
        let x = values(m * k, 3);
        let mut out = vec![0.0; m * n];
        for _ in 0..3 {
            layer.forward_add(&x, m, &mut out);
        }
        let (mut best, mut calls) = (f64::INFINITY, 0_u32);
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < seconds {
            let t = Instant::now();
            layer.forward_add(&x, m, &mut out);
            best = best.min(t.elapsed().as_secs_f64());
            calls += 1;
        }
        let flops = 2.0 * (m * n * k) as f64;
        println!(
            "k={k:5} n={n:5}: {:6.1} GFLOP/s (best of {calls} calls: {:.3} ms)",
            flops / best / 1e9,
            best * 1e3,
        );
    }
}
