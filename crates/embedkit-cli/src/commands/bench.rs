//! `embedkit bench`: throughput (and optionally batch-1 latency) on a file of texts, printed
//! as one JSON line in the same shape as `bench/baseline.py`, so the two sit side by side.

use crate::args::BenchArgs;
use anyhow::Result;
use std::time::Instant;

pub fn run(a: BenchArgs) -> Result<()> {
    let texts = crate::input::read_texts(&[], Some(&a.texts))?;
    let model = super::load_local_model(&a.model.model, a.model.max_length, a.model.precision)?;
    let mut options = super::embed_options(&a.model, &model);
    options.normalize = true;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = model
        .tokenize(&refs, &options.prompt)?
        .iter()
        .map(|e| e.ids.len())
        .sum();

    // Warm-up on the first two batches, as the baseline does.
    model.embed(&refs[..refs.len().min(options.batch_size * 2)], &options)?;
    let mut best = f64::INFINITY;
    let mut first = Vec::new();
    for _ in 0..a.repeat.max(1) {
        let start = Instant::now();
        let out = model.embed(&refs, &options)?;
        best = best.min(start.elapsed().as_secs_f64());
        first = out[0]
            .iter()
            .take(4)
            .map(|v| (v * 1e6).round() / 1e6)
            .collect();
    }
    let mut report = serde_json::json!({
        "engine": "embedkit",
        "precision": a.model.precision.name(),
        "kernels": embedkit_kernels::isa::describe(),
        "max_length": model.max_seq_length(),
        "batch_size": options.batch_size,
        "texts": texts.len(),
        "tokens": tokens,
        "seconds": (best * 1e4).round() / 1e4,
        "texts_per_s": (texts.len() as f64 / best * 100.0).round() / 100.0,
        "tokens_per_s": (tokens as f64 / best * 10.0).round() / 10.0,
        "first": first,
    });
    if a.latency > 0 {
        let mut times = Vec::with_capacity(a.latency);
        for t in refs.iter().cycle().take(a.latency) {
            let start = Instant::now();
            model.embed(&[t], &options)?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        report["latency_ms"] = serde_json::json!({
            "queries": times.len(),
            "p50": (pct(0.5) * 1000.0).round() / 1000.0,
            "p99": (pct(0.99) * 1000.0).round() / 1000.0,
        });
    }
    println!("{report}");
    Ok(())
}
