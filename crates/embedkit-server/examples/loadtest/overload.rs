//! `--overload SECONDS`: the server with its default limits under the largest requests they
//! accept, and some just over them (see the example's notes).

use super::{start_server, status_mib, Args};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Texts filling the body to just under the in-flight byte budget.
    LargestBody,
    /// Texts at the model's maximum length, up to the request token limit.
    MostTokens,
    /// As many 1x1 images as the request's pixel limit holds.
    MostImages,
    /// As many 600x400 photos as the request's pixel limit holds.
    MostPhotos,
    /// One 1x1 image more than the pixel limit holds: 413.
    OverPixels,
    /// A body one byte over the body limit: 413.
    OverBody,
}

const KINDS: [Kind; 6] = [
    Kind::LargestBody,
    Kind::MostTokens,
    Kind::MostImages,
    Kind::MostPhotos,
    Kind::OverPixels,
    Kind::OverBody,
];

fn data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode a PNG");
    out.into_inner()
}

fn get(url: &str) -> String {
    ureq::get(url)
        .call()
        .expect("GET")
        .into_string()
        .unwrap_or_default()
}

fn post(url: &str, body: &str) -> u16 {
    match ureq::post(&format!("{url}/v1/embeddings"))
        .set("Content-Type", "application/json")
        .send_string(body)
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    }
}

/// The value of a `/metrics` line `NAME VALUE`.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The request bodies of every kind, sized from the limits `/info` reports.
fn bodies(info: &Value, photo: &[u8]) -> BTreeMap<Kind, Arc<String>> {
    let limits = &info["limits"];
    let n = |key: &str| limits[key].as_u64().unwrap_or(0) as usize;
    let card = |id: &str| {
        info["models"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    let text = card("m");
    let max_len = text["max_seq_length"].as_u64().unwrap_or(0) as usize;
    let dims = text["dimensions"].as_u64().unwrap_or(0) as usize;
    let crop = card("img")["image_size"].as_u64().unwrap_or(224) as usize;
    let inputs = n("max_client_batch");
    let words = "the office is on the third floor and tea comes from china ";
    let text_of = |bytes: usize| words.repeat(bytes / words.len() + 1)[..bytes].to_string();
    let body = |model: &str, input: Vec<String>| {
        Arc::new(json!({"model": model, "input": input}).to_string())
    };
    // An answer's bytes (20 per value) are held beside its body.
    let room = n("max_inflight_body_bytes").min(n("max_body_bytes")) - inputs * dims * 20;
    // Ten bytes per token is more than any of these texts needs.
    let at_limit = (n("max_request_tokens") / max_len).min(inputs);
    let pixel = data_uri(&png(1, 1));
    let images = n("max_request_pixels") / (1 + crop * crop);
    let photos = n("max_request_pixels") / (600 * 400 + crop * crop);
    BTreeMap::from([
        (
            Kind::LargestBody,
            body("m", vec![text_of(room / inputs - 16); inputs]),
        ),
        (
            Kind::MostTokens,
            body("m", vec![text_of(max_len * 10); at_limit]),
        ),
        (Kind::MostImages, body("img", vec![pixel.clone(); images])),
        (Kind::MostPhotos, body("img", vec![data_uri(photo); photos])),
        (Kind::OverPixels, body("img", vec![pixel; images + 1])),
        (
            Kind::OverBody,
            Arc::new("x".repeat(n("max_body_bytes") + 1)),
        ),
    ])
}

/// Runs the overload; returns the exit status.
pub fn run(a: &Args) -> i32 {
    let server = start_server(
        a,
        &["--model", &a.image_model, "--served-model-name", "img"],
    );
    let (url, pid) = (server.url.clone(), server.child.id());
    let info: Value = serde_json::from_str(&get(&format!("{url}/info"))).unwrap_or_default();
    let limits = &info["limits"];
    let bound_mib = limits["inflight_memory_bound_bytes"].as_u64().unwrap_or(0) as f64 / 1048576.0;

    // The baseline: a full forward pass of every model at once: the text pass's token budget in texts at
    // the model's maximum length (attention grows with it), and 8 images.
    let photo = png(600, 400);
    let batch_tokens = limits["max_batch_tokens"].as_u64().unwrap_or(4096) as usize;
    let max_len = info["models"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["id"] == "m"))
        .and_then(|m| m["max_seq_length"].as_u64())
        .unwrap_or(128) as usize;
    let full_pass = vec!["tea ".repeat(max_len * 2); batch_tokens / max_len];
    let calibration = [
        json!({"model": "m", "input": full_pass}),
        json!({"model": "img", "input": vec![data_uri(&photo); 8]}),
    ];
    // At once: the models' threads run their passes side by side under load too.
    std::thread::scope(|s| {
        for body in &calibration {
            let url = &url;
            s.spawn(move || assert_eq!(post(url, &body.to_string()), 200, "calibration"));
        }
    });
    let idle = status_mib(pid, "VmRSS:");
    let baseline = status_mib(pid, "VmHWM:");
    let bodies = bodies(&info, &photo);
    println!(
        "overload: {} clients x {}s; limits {limits}",
        a.clients, a.overload_seconds
    );
    println!(
        "request sizes: {}",
        bodies
            .iter()
            .map(|(k, b)| format!("{k:?} {:.1} MiB", b.len() as f64 / 1048576.0))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let counts: Mutex<BTreeMap<(Kind, u16), usize>> = Mutex::default();
    let transport = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    let sampled = Mutex::new(0f64);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..a.clients {
            let kind = KINDS[c % KINDS.len()];
            let body = bodies[&kind].clone();
            let (url, counts, transport, stop) = (&url, &counts, &transport, &stop);
            s.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(600))
                    .build();
                while !stop.load(Ordering::Relaxed) {
                    let status = match agent
                        .post(&format!("{url}/v1/embeddings"))
                        .set("Content-Type", "application/json")
                        .send_string(&body)
                    {
                        Ok(r) => r.status(),
                        Err(ureq::Error::Status(code, _)) => code,
                        Err(e) => {
                            transport.lock().unwrap().push(format!("{kind:?}: {e}"));
                            continue;
                        }
                    };
                    *counts.lock().unwrap().entry((kind, status)).or_default() += 1;
                    if status == 429 {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            });
        }
        let (stop, sampled) = (&stop, &sampled);
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let rss = status_mib(pid, "VmRSS:");
                let mut peak = sampled.lock().unwrap();
                *peak = peak.max(rss);
                drop(peak);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        std::thread::sleep(Duration::from_secs(a.overload_seconds));
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = start.elapsed().as_secs_f64();
    let peak = status_mib(pid, "VmHWM:");
    let counts = counts.into_inner().unwrap();
    let transport = transport.into_inner().unwrap();
    // The last answers may still be on their way out: give their holdings a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (metrics, held) = loop {
        let metrics = get(&format!("{url}/metrics"));
        let held: Vec<u64> = ["requests", "body_bytes", "tokens", "pixels"]
            .iter()
            .map(|r| metric(&metrics, &format!("embedkit_inflight{{resource=\"{r}\"}}")))
            .collect();
        if held.iter().all(|&h| h == 0) || Instant::now() > deadline {
            break (metrics, held);
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let total: usize = counts.values().sum();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for ((_, status), n) in &counts {
        *by_status.entry(*status).or_default() += n;
    }
    println!(
        "requests: {total} in {elapsed:.0} s (the last answered after the stop); by status: {by_status:?}; transport errors: {}",
        transport.len()
    );
    for kind in KINDS {
        let of: Vec<String> = counts
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, s), n)| format!("{s}: {n}"))
            .collect();
        println!("  {kind:?}: {}", of.join(", "));
    }
    let reasons: Vec<String> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("embedkit_rejected_requests_total{reason=\""))
        .map(|l| l.replace("\"} ", ": "))
        .collect();
    println!("refused, as /metrics counts them: {}", reasons.join(", "));
    let bound = baseline + bound_mib;
    println!(
        "RSS: {idle:.0} MiB after the calibration passes (VmHWM {baseline:.0} MiB); peak VmHWM {peak:.0} MiB (sampled VmRSS peak {:.0} MiB); bound {baseline:.0} + {bound_mib:.0} = {bound:.0} MiB; held after the load: {held:?}",
        sampled.into_inner().unwrap()
    );
    let bad_statuses = by_status
        .keys()
        .filter(|s| ![200, 413, 429].contains(*s))
        .count();
    let failed =
        bad_statuses > 0 || !transport.is_empty() || held.iter().any(|&h| h > 0) || peak > bound;
    println!(
        "{}",
        if failed {
            "FAILED"
        } else {
            "ok: no 5xx, every refusal a 429 or 413, peak under the bound"
        }
    );
    i32::from(failed)
}
