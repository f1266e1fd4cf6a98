//! Prometheus metrics, kept in atomics and small maps (a handful of series does not need a
//! metrics crate).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const BATCH_BUCKETS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// Upper bounds of the request latency buckets, in seconds: from a tiny model's single text
/// (about a millisecond) to a large batch on a big model (seconds).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Why the admission limits refused a request: the `reason` label of
/// `embedkit_rejected_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// `--max-concurrent-requests` requests were in flight (429).
    Concurrency,
    /// The body was over `--max-body-mb` (413).
    BodySize,
    /// Admitted requests held `--max-inflight-body-mb` of bodies and answers (429).
    InflightBodyBytes,
    /// The request's tokens were over `--max-request-tokens` (400).
    RequestTokens,
    /// Admitted requests held `--max-inflight-tokens` tokens (429).
    InflightTokens,
    /// The request's image pixels were over `--max-request-pixels` (413).
    RequestPixels,
    /// Admitted requests held `--max-inflight-pixels` pixels (429).
    InflightPixels,
}

impl Reason {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [Reason; 7] = [
        Reason::Concurrency,
        Reason::BodySize,
        Reason::InflightBodyBytes,
        Reason::RequestTokens,
        Reason::InflightTokens,
        Reason::RequestPixels,
        Reason::InflightPixels,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Concurrency => "concurrency",
            Reason::BodySize => "body_size",
            Reason::InflightBodyBytes => "inflight_body_bytes",
            Reason::RequestTokens => "request_tokens",
            Reason::InflightTokens => "inflight_tokens",
            Reason::RequestPixels => "request_pixels",
            Reason::InflightPixels => "inflight_pixels",
        }
    }
}

/// One model's request latencies.
#[derive(Default, Clone)]
struct Latencies {
    /// Requests at or under each bound of [`LATENCY_BUCKETS`] (not yet cumulative).
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and timings of the server.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<u16, u64>>,
    /// By served model name: only names the server serves get here, so the label's values
    /// stay as few as the configured names.
    latencies: Mutex<BTreeMap<String, Latencies>>,
    queue_micros: AtomicU64,
    queue_count: AtomicU64,
    inference_micros: AtomicU64,
    inference_count: AtomicU64,
    batch_buckets: [AtomicU64; BATCH_BUCKETS.len()],
    batch_sum: AtomicU64,
    tokens: AtomicU64,
    rejected: [AtomicU64; Reason::ALL.len()],
}

impl Metrics {
    /// Counts a finished request by HTTP status.
    pub fn request(&self, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(status).or_default() += 1;
    }

    /// Records how long a request for the served model `model` took, arrival to answer.
    pub fn latency(&self, model: &str, d: Duration) {
        let seconds = d.as_secs_f64();
        let mut map = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        let entry = match map.get_mut(model) {
            Some(e) => e,
            None => map.entry(model.to_string()).or_default(),
        };
        if let Some(i) = LATENCY_BUCKETS.iter().position(|&b| seconds <= b) {
            entry.buckets[i] += 1;
        }
        entry.count += 1;
        entry.sum += seconds;
    }

    /// Counts a request the admission limits refused.
    pub fn rejected(&self, reason: Reason) {
        self.rejected[reason as usize].fetch_add(1, Ordering::Relaxed);
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
        // Every reason is listed, 0 included, so that rates work from the first scrape.
        s.push_str(
            "# HELP embedkit_rejected_requests_total Requests refused by the admission limits, by reason.\n",
        );
        s.push_str("# TYPE embedkit_rejected_requests_total counter\n");
        for reason in Reason::ALL {
            let _ = writeln!(
                s,
                "embedkit_rejected_requests_total{{reason=\"{}\"}} {}",
                reason.label(),
                load(&self.rejected[reason as usize])
            );
        }
        self.render_latencies(&mut s);
        s
    }

    fn render_latencies(&self, s: &mut String) {
        let name = "embedkit_request_duration_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} Time from a request's arrival to its answer, by served model."
        );
        let _ = writeln!(s, "# TYPE {name} histogram");
        let map = self
            .latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (model, l) in &map {
            let model = label_value(model);
            let mut cumulative = 0;
            for (n, bound) in l.buckets.iter().zip(LATENCY_BUCKETS) {
                cumulative += n;
                let _ = writeln!(
                    s,
                    "{name}_bucket{{model=\"{model}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                s,
                "{name}_bucket{{model=\"{model}\",le=\"+Inf\"}} {}",
                l.count
            );
            let _ = writeln!(s, "{name}_sum{{model=\"{model}\"}} {}", l.sum);
            let _ = writeln!(s, "{name}_count{{model=\"{model}\"}} {}", l.count);
        }
    }
}

/// A label value escaped as the text format wants: `\`, `"` and newlines.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_counted_by_reason_zeros_included() {
        let m = Metrics::default();
        m.rejected(Reason::Concurrency);
        m.rejected(Reason::Concurrency);
        m.rejected(Reason::RequestPixels);
        let text = m.render();
        for (reason, n) in [
            ("concurrency", 2),
            ("body_size", 0),
            ("inflight_body_bytes", 0),
            ("request_tokens", 0),
            ("inflight_tokens", 0),
            ("request_pixels", 1),
            ("inflight_pixels", 0),
        ] {
            let line = format!("embedkit_rejected_requests_total{{reason=\"{reason}\"}} {n}");
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn latencies_render_as_cumulative_histograms_per_model() {
        let m = Metrics::default();
        for ms in [0.5, 3.0, 3.0, 40.0, 60_000.0] {
            m.latency("a", Duration::from_secs_f64(ms / 1e3));
        }
        m.latency("say \"b\"\\", Duration::from_millis(2));
        let text = m.render();
        let line = |l: &str| assert!(text.lines().any(|x| x == l), "{l} not in\n{text}");
        line("embedkit_request_duration_seconds_bucket{model=\"a\",le=\"0.001\"} 1");
        line("embedkit_request_duration_seconds_bucket{model=\"a\",le=\"0.0025\"} 1");
        line("embedkit_request_duration_seconds_bucket{model=\"a\",le=\"0.005\"} 3");
        line("embedkit_request_duration_seconds_bucket{model=\"a\",le=\"0.05\"} 4");
        // Over the last bound: only in +Inf.
        line("embedkit_request_duration_seconds_bucket{model=\"a\",le=\"30\"} 4");
        line("embedkit_request_duration_seconds_bucket{model=\"a\",le=\"+Inf\"} 5");
        line("embedkit_request_duration_seconds_count{model=\"a\"} 5");
        line("embedkit_request_duration_seconds_count{model=\"say \\\"b\\\"\\\\\"} 1");
        let sum: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("embedkit_request_duration_seconds_sum{model=\"a\"} "))
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 60.0465).abs() < 1e-9, "{sum}");
    }
}
