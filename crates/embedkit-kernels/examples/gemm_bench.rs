//! GFLOP/s of `Linear::forward_add` (bias and residual included) on the all-MiniLM-L6-v2
//! layer shapes, m = 1024 token rows, on rayon's default pool (`RAYON_NUM_THREADS` changes
//! it).
//!
//! Compare with OpenBLAS through numpy on the same shapes (`OPENBLAS_NUM_THREADS=2`):
//! `np.matmul(a, w.T, out=c)` with float32 `a: [1024, k]`, `w: [n, k]`, best of ~1 s.
//!
//! Run: `cargo run --release -p embedkit-kernels --example gemm_bench [m] [seconds per shape]
//! [f32|bf16|int8|int8-after-norm] [cold]` (the weight format, f32 by default;
//! `int8-after-norm`: int8 built as a layer fed by a LayerNorm, with 8-bit activations where
//! the CPU has those products).
//!
//! `cold` as a fourth argument cycles through enough copies of each layer (≥ 64 MiB) that its
//! weight comes from memory on every call, as it does in a batch-1 forward pass of a whole
//! model (all-MiniLM-L6-v2's layers hold 42 MiB of f32 weights, more than the L3).
//!
//! Prints the best call of a `seconds`-long run per shape (and the median): other work sharing
//! the two cores only ever slows a call down, so the best one is the kernel's own speed. Then
//! what the exact GELU fused into the FFN-in product costs on top of it.

use embedkit_kernels::linear::{BoundedInput, Linear, WeightFormat};
use embedkit_kernels::ops::Activation;
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
    let (format, after_norm) = match args.next().as_deref() {
        Some("bf16") => (WeightFormat::Bf16, false),
        Some("int8") => (WeightFormat::Int8, false),
        Some("int8-after-norm") => (WeightFormat::Int8, true),
        _ => (WeightFormat::F32, false),
    };
    let cold = args.next().as_deref() == Some("cold");
    println!(
        "m={m}, {} threads, isa {}, {format:?} weights{}{}",
        rayon::current_num_threads(),
        embedkit_kernels::isa::current().name(),
        if after_norm { " after a norm" } else { "" },
        if cold { ", cold (from memory)" } else { "" }
    );
    for (k, n) in SHAPES {
        let copies = if cold {
            (64 << 20) / (4 * n * k) + 1
        } else {
            1
        };
        let layers: Vec<Linear> = (0..copies)
            .map(|c| {
                let (weight, bias) = (values(n * k, 1 + c as u32), Some(values(n, 2)));
                if after_norm {
                    let (magnitude, parts) = (vec![1.0; k], [n]);
                    let input = BoundedInput::Normalized {
                        magnitude: &magnitude,
                        parts: &parts,
                    };
                    Linear::with_bounded_input(weight, bias, (n, k), format, input)
                } else {
                    Linear::with_format(weight, bias, n, k, format)
                }
                .expect("weight and bias lengths match the shape")
            })
            .collect();
        let mut next = layers.iter().cycle();
        let x = values(m * k, 3);
        let mut out = vec![0.0; m * n];
        for _ in 0..3 {
            layers[0].forward_add(&x, m, &mut out);
        }
        let mut times = Vec::new();
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < seconds {
            let layer = next.next().expect("cycle of a non-empty list");
            let t = Instant::now();
            layer.forward_add(&x, m, &mut out);
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let (best, median) = (times[0], times[times.len() / 2]);
        let flops = 2.0 * (m * n * k) as f64;
        println!(
            "k={k:5} n={n:5}: {:6.1} GFLOP/s (best of {} calls: {:.3} ms; median {:.3} ms)",
            flops / best / 1e9,
            times.len(),
            best * 1e3,
            median * 1e3,
        );
    }
    gelu_cost(m, seconds);
}

/// What the exact GELU fused into the FFN-in product adds to it: the best of alternating
/// plain and activated calls (the difference is the activation's own cost, ~8% of the
/// product's at m = 30).
fn gelu_cost(m: usize, seconds: f64) {
    let (k, n) = (384, 1536);
    let layer = Linear::new(values(n * k, 1), Some(values(n, 2)), n, k)
        .expect("weight and bias lengths match the shape");
    let x = values(m * k, 3);
    let mut best = [f64::MAX; 2];
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        std::hint::black_box(layer.forward(&x, m));
        best[0] = best[0].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        std::hint::black_box(layer.forward_activated(&x, m, Activation::GeluErf));
        best[1] = best[1].min(t.elapsed().as_secs_f64());
    }
    println!(
        "k={k:5} n={n:5} + exact GELU: {:.1} us more than without (best {:.3} vs {:.3} ms)",
        (best[1] - best[0]) * 1e6,
        best[1] * 1e3,
        best[0] * 1e3,
    );
}
