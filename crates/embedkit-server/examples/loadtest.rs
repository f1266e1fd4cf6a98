//! Bounded load test of `embedkit serve` on loopback; it starts and stops the server itself.
//!
//! Phase 1: `--clients` concurrent clients send 1–32 texts each for `--seconds`; every answer
//! is checked against in-process embeddings; reports throughput next to the in-process
//! benchmark, p50/p99 latency and any 5xx.
//! Phase 2: the same load against a server admitting only 4 requests at once: the excess must
//! get 429 quickly while the server's memory stays flat.
//!
//! With `--soak MINUTES` it runs a soak instead: one server under the same load for that
//! long, reporting each minute's requests, p50 / p99 and 5xx, and the server's RSS after each
//! minute, then the drift from the first minute to the last.
//!
//! With `--overload SECONDS` (and `--image-model`) it overloads one server with its default
//! limits instead: the clients send the largest text and image requests those limits accept,
//! and some just over them, for that long; it reports the requests by kind and status, the
//! refusals `/metrics` counted by reason, and the server's peak RSS (VmHWM) against the bound:
//! its peak while every model runs a full forward pass at once, plus the in-flight bound
//! `/info` reports.
//! It fails on any 5xx, other refusal, broken connection, budget left held, or peak over the
//! bound.
//!
//! ```sh
//! cargo run --release -p embedkit-server --example loadtest -- \
//!   --embedkit target/release/embedkit --model models/all-MiniLM-L6-v2 --texts bench-data/sentences.txt
//! ```

// Not `examples/overload.rs`: cargo would take that for an example of its own.
#[path = "loadtest/overload.rs"]
mod overload;

use embedkit_models::{EmbedOptions, SentenceEmbedder};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    embedkit: String,
    model: String,
    texts: String,
    clients: usize,
    seconds: u64,
    soak_minutes: u64,
    overload_seconds: u64,
    image_model: String,
}

fn parse_args() -> Args {
    let mut a = Args {
        embedkit: "target/release/embedkit".into(),
        model: "models/all-MiniLM-L6-v2".into(),
        texts: "bench-data/sentences.txt".into(),
        clients: 64,
        seconds: 30,
        soak_minutes: 0,
        overload_seconds: 0,
        image_model: "models/mobilenet_v2".into(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--embedkit" => a.embedkit = v,
            "--model" => a.model = v,
            "--texts" => a.texts = v,
            "--clients" => a.clients = v.parse().expect("--clients N"),
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            "--soak" => a.soak_minutes = v.parse().expect("--soak MINUTES"),
            "--overload" => a.overload_seconds = v.parse().expect("--overload SECONDS"),
            "--image-model" => a.image_model = v,
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(a: &Args, extra: &[&str]) -> Server {
    let mut child = Command::new(&a.embedkit)
        .args([
            "serve",
            "--port",
            "0",
            "--model",
            &a.model,
            "--served-model-name",
            "m",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start embedkit serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().trim_start_matches("listening on ").to_string();
    while ureq::get(&format!("{url}/health")).call().is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, url }
}

fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// A memory line of `/proc/PID/status` (`VmRSS:`, `VmHWM:`), in MiB.
fn status_mib(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Default)]
struct Tally {
    ok: usize,
    texts: usize,
    rejected: usize,
    server_errors: usize,
    transport_errors: usize,
    wrong: usize,
    ok_ms: Vec<f64>,
    rejected_ms: Vec<f64>,
}

fn decode(b64: &str) -> Vec<f32> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn load(
    url: &str,
    texts: &[String],
    reference: &[Vec<f32>],
    clients: usize,
    seconds: u64,
) -> (Tally, f64) {
    let tally = Mutex::new(Tally::default());
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (tally, stop) = (&tally, &stop);
            s.spawn(move || {
                let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (c as u64 + 1);
                let mut next = || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                };
                let agent = ureq::AgentBuilder::new()
                    .timeout_connect(Duration::from_secs(5))
                    .timeout(Duration::from_secs(120))
                    .build();
                while !stop.load(Ordering::Relaxed) {
                    let n = 1 + (next() % 32) as usize;
                    let picks: Vec<usize> = (0..n).map(|_| (next() % texts.len() as u64) as usize).collect();
                    let input: Vec<&str> = picks.iter().map(|&i| texts[i].as_str()).collect();
                    let body = serde_json::json!({"model": "m", "input": input, "encoding_format": "base64"});
                    let t = Instant::now();
                    let result = agent.post(&format!("{url}/v1/embeddings")).send_string(&body.to_string());
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    let mut tl = tally.lock().unwrap();
                    match result {
                        Ok(r) => {
                            let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or_default();
                            let data = v["data"].as_array().cloned().unwrap_or_default();
                            let correct = data.len() == n
                                && data.iter().zip(&picks).all(|(d, &i)| {
                                    let got = decode(d["embedding"].as_str().unwrap_or(""));
                                    got.len() == reference[i].len()
                                        && embedkit_core::vector::cosine(&got, &reference[i]) >= 0.9999
                                });
                            if !correct {
                                tl.wrong += 1;
                            }
                            tl.ok += 1;
                            tl.texts += n;
                            tl.ok_ms.push(ms);
                        }
                        Err(ureq::Error::Status(429, _)) => {
                            tl.rejected += 1;
                            tl.rejected_ms.push(ms);
                            drop(tl);
                            // Back off briefly, as real clients do; retrying in a tight loop
                            // would only exhaust the machine's ephemeral ports.
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(ureq::Error::Status(code, _)) if code >= 500 => tl.server_errors += 1,
                        Err(ureq::Error::Status(_, _)) => tl.wrong += 1,
                        Err(ureq::Error::Transport(_)) => tl.transport_errors += 1,
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    (tally.into_inner().unwrap(), start.elapsed().as_secs_f64())
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let a = parse_args();
    if a.overload_seconds > 0 {
        std::process::exit(overload::run(&a));
    }
    let texts: Vec<String> = std::fs::read_to_string(&a.texts)
        .expect("read --texts")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();

    // In-process reference vectors and throughput (batch 32, as `embedkit bench`).
    let model = SentenceEmbedder::load(&a.model).expect("load model");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    model
        .embed(&refs[..64.min(refs.len())], &EmbedOptions::default())
        .unwrap();
    let t = Instant::now();
    let reference = model.embed(&refs, &EmbedOptions::default()).unwrap();
    let in_process = texts.len() as f64 / t.elapsed().as_secs_f64();
    drop(model);
    let reference = Arc::new(reference);

    if a.soak_minutes > 0 {
        std::process::exit(soak(&a, &texts, &reference));
    }

    let server = start_server(&a, &[]);
    let (mut t1, secs) = load(&server.url, &texts, &reference, a.clients, a.seconds);
    let served = t1.texts as f64 / secs;
    println!(
        "phase 1: {} clients x {}s: {} requests, {} texts, {:.1} texts/s = {:.2}x in-process ({:.1} texts/s); p50 {:.1} ms, p99 {:.1} ms; 5xx: {}, 429: {}, wrong vectors: {}, transport errors: {}",
        a.clients, a.seconds, t1.ok, t1.texts, served, served / in_process, in_process,
        percentile(&mut t1.ok_ms, 0.5), percentile(&mut t1.ok_ms, 0.99),
        t1.server_errors, t1.rejected, t1.wrong, t1.transport_errors
    );
    drop(server);

    let limited = start_server(&a, &["--max-concurrent-requests", "4"]);
    let pid = limited.child.id();
    let rss_before = rss_mib(pid);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (samples, sampling) = (samples.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                samples.lock().unwrap().push(rss_mib(pid));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let phase2_secs = a.seconds.min(10);
    let (mut t2, _) = load(&limited.url, &texts, &reference, a.clients, phase2_secs);
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let samples = samples.lock().unwrap();
    let peak = samples.iter().copied().fold(0.0, f64::max);
    let late = samples[samples.len() / 2..]
        .iter()
        .copied()
        .fold(0.0, f64::max);
    println!(
        "phase 2: at most 4 requests admitted, {} clients x {}s: {} answered, {} got 429 (p50 {:.2} ms, p99 {:.2} ms); 5xx: {}, wrong vectors: {}, transport errors: {}; RSS {:.0} MiB idle, peak {:.0} MiB, peak in 2nd half {:.0} MiB",
        a.clients, phase2_secs, t2.ok, t2.rejected,
        percentile(&mut t2.rejected_ms, 0.5), percentile(&mut t2.rejected_ms, 0.99),
        t2.server_errors, t2.wrong, t2.transport_errors, rss_before, peak, late
    );
    let failed = t1.server_errors + t1.wrong + t1.transport_errors + t2.server_errors + t2.wrong
        > 0
        || t2.rejected == 0;
    std::process::exit(i32::from(failed));
}

/// The soak: minute after minute of load on one server; returns the exit status (1 on any
/// 5xx, wrong vector or transport error).
fn soak(a: &Args, texts: &[String], reference: &Arc<Vec<Vec<f32>>>) -> i32 {
    let server = start_server(a, &[]);
    let pid = server.child.id();
    let idle = rss_mib(pid);
    println!(
        "soak: {} clients for {} minutes; RSS idle {idle:.0} MiB",
        a.clients, a.soak_minutes
    );
    let (mut rss, mut failures) = (Vec::new(), 0);
    for minute in 1..=a.soak_minutes {
        let (mut t, secs) = load(&server.url, texts, reference, a.clients, 60);
        rss.push(rss_mib(pid));
        failures += t.server_errors + t.wrong + t.transport_errors;
        println!(
            "minute {minute}: {} requests, {:.1} texts/s, p50 {:.1} ms, p99 {:.1} ms, 5xx {}, wrong {}, transport errors {}; RSS {:.0} MiB",
            t.ok, t.texts as f64 / secs, percentile(&mut t.ok_ms, 0.5), percentile(&mut t.ok_ms, 0.99),
            t.server_errors, t.wrong, t.transport_errors, rss[rss.len() - 1]
        );
    }
    let (first, last) = (rss[0], rss[rss.len() - 1]);
    let peak = rss.iter().copied().fold(0.0, f64::max);
    println!(
        "soak: RSS after minute 1 {first:.0} MiB, after minute {} {last:.0} MiB (drift {:+.0} MiB), peak {peak:.0} MiB; failures {failures}",
        rss.len(),
        last - first
    );
    i32::from(failures > 0)
}
