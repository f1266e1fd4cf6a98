//! Time of one `attention` call on a MiniLM-like batch: 32 sequences of 30 tokens, 12 heads
//! of width 32 (set `[sequences] [length] [heads] [head_dim]` to change it).
//!
//! Run: `cargo run --release -p embedkit-kernels --example attention_bench`

use embedkit_kernels::attention::{attention_into, QkvLayout, ScoreOptions};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let arg = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (sequences, len, heads, head_dim) = (arg(0, 32), arg(1, 30), arg(2, 12), arg(3, 32));
    let layout = QkvLayout {
        heads,
        kv_heads: heads,
        head_dim,
    };
    let ranges: Vec<_> = (0..sequences).map(|s| s * len..(s + 1) * len).collect();
    let qkv: Vec<f32> = (0..sequences * len * layout.row_width())
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.5)
        .collect();
    let scale = 1.0 / (head_dim as f32).sqrt();
    // One output buffer for every call, as a model's layers share one.
    let mut ctx = Vec::new();
    let run = |ctx: &mut Vec<f32>| {
        let options = ScoreOptions::default();
        attention_into(&qkv, &ranges, layout, scale, options, ctx);
    };
    for _ in 0..10 {
        run(&mut ctx);
    }
    let mut best = f64::INFINITY;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 2.0 {
        let t = Instant::now();
        run(&mut ctx);
        std::hint::black_box(&ctx);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let pairs = (sequences * heads * len * len) as f64;
    println!(
        "{sequences} x {len} tokens, {heads} heads of {head_dim}: {:.3} ms \
         ({:.1} ns per (query, key, head))",
        best * 1e3,
        best * 1e9 / pairs
    );
}
