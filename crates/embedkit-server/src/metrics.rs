//! Prometheus metrics, kept in atomics (a handful of series does not need a metrics crate).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const BATCH_BUCKETS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// Counters and timings of the server.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<u16, u64>>,
    queue_micros: AtomicU64,
    queue_count: AtomicU64,
    inference_micros: AtomicU64,
    inference_count: AtomicU64,
    batch_buckets: [AtomicU64; BATCH_BUCKETS.len()],
    batch_sum: AtomicU64,
    tokens: AtomicU64,
}

impl Metrics {
    /// Counts a finished request by HTTP status.
    pub fn request(&self, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(status).or_default() += 1;
    }

    /// Records how long a job waited before its batch started.
    pub fn queued(&self, d: Duration) {
        self.queue_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.queue_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one forward pass: its duration, sequences and tokens.
    pub fn batch(&self, d: Duration, sequences: usize, tokens: usize) {
        self.inference_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.inference_count.fetch_add(1, Ordering::Relaxed);
        self.batch_sum
            .fetch_add(sequences as u64, Ordering::Relaxed);
        self.tokens.fetch_add(tokens as u64, Ordering::Relaxed);
        for (bucket, bound) in self.batch_buckets.iter().zip(BATCH_BUCKETS) {
            if sequences as u64 <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        s.push_str("# TYPE embedkit_requests_total counter\n");
        for (status, n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(s, "embedkit_requests_total{{status=\"{status}\"}} {n}");
        }
        for (name, micros, count) in [
            (
                "embedkit_queue_seconds",
                &self.queue_micros,
                &self.queue_count,
            ),
            (
                "embedkit_inference_seconds",
                &self.inference_micros,
                &self.inference_count,
            ),
        ] {
            let _ = writeln!(s, "# TYPE {name} summary");
            let _ = writeln!(s, "{name}_sum {}", load(micros) as f64 / 1e6);
            let _ = writeln!(s, "{name}_count {}", load(count));
        }
        s.push_str("# TYPE embedkit_batch_size histogram\n");
        for (bucket, bound) in self.batch_buckets.iter().zip(BATCH_BUCKETS) {
            let _ = writeln!(
                s,
                "embedkit_batch_size_bucket{{le=\"{bound}\"}} {}",
                load(bucket)
            );
        }
        let batches = load(&self.inference_count);
        let _ = writeln!(s, "embedkit_batch_size_bucket{{le=\"+Inf\"}} {batches}");
        let _ = writeln!(s, "embedkit_batch_size_sum {}", load(&self.batch_sum));
        let _ = writeln!(s, "embedkit_batch_size_count {batches}");
        s.push_str("# TYPE embedkit_tokens_total counter\n");
        let _ = writeln!(s, "embedkit_tokens_total {}", load(&self.tokens));
        s
    }
}
