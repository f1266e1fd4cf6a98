//! `embedkit serve` with its default limits under overload: 64 clients send the largest text
//! and image requests the limits accept (and some just over them) for a few seconds. No answer
//! may be a 5xx or a broken connection; every refusal is a 429 or 413 counted in `/metrics`
//! under its reason; what requests held is all given back afterwards; and the server's peak
//! memory (VmHWM) stays under the documented bound: its peak while every model runs a full
//! forward pass at once, plus the in-flight bound `/info` reports.
//!
//! `EMBEDKIT_OVERLOAD_SECONDS` sets how long the clients send (default 4).

mod common;

use base64::Engine as _;
use common::Server;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;

/// What a client sends, and which statuses it may get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// 2048 texts filling the body to just under the in-flight byte budget.
    LargestBody,
    /// 2048 texts of at least the model's maximum length: the most tokens a request holds.
    MostTokens,
    /// As many 1x1 images as the request's pixel limit holds.
    MostImages,
    /// As many photos as the request's pixel limit holds.
    MostPhotos,
    /// One 1x1 image more than the pixel limit holds: always 413.
    OverPixels,
    /// A body one byte over `--max-body-mb`: always 413.
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

fn kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// Adler-32 (zlib's checksum).
fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// CRC-32 (PNG's chunk checksum), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A valid 1x1 RGB PNG (its pixel data in a stored deflate block).
fn one_pixel_png(rgb: [u8; 3]) -> Vec<u8> {
    let raw = [0, rgb[0], rgb[1], rgb[2]];
    let mut zlib = vec![0x78, 0x01, 0x01, 4, 0, !4, !0];
    zlib.extend_from_slice(&raw);
    zlib.extend(adler32(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = 1u32.to_be_bytes().to_vec();
    ihdr.extend(1u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    out
}

fn data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// The request bodies of every kind, sized from the limits `/info` reports.
fn bodies(info: &Value) -> BTreeMap<Kind, Arc<String>> {
    let limits = &info["limits"];
    let n = |key: &str| limits[key].as_u64().unwrap() as usize;
    let card = |id: &str| {
        info["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let text = card("tiny-bge");
    let (max_len, dims) = (
        text["max_seq_length"].as_u64().unwrap() as usize,
        text["dimensions"].as_u64().unwrap() as usize,
    );
    let crop = card("tiny-resnet")["image_size"].as_u64().unwrap() as usize;
    let inputs = n("max_client_batch");
    let words = "the office is on the third floor and tea comes from china ";
    let text_of = |bytes: usize| words.repeat(bytes / words.len() + 1)[..bytes].to_string();
    let body = |model: &str, input: Vec<String>| {
        Arc::new(json!({"model": model, "input": input}).to_string())
    };
    // The answer's bytes (20 per value) are held beside the body.
    let room = n("max_inflight_body_bytes").min(n("max_body_bytes")) - inputs * dims * 20;
    let largest = body("tiny-bge", vec![text_of(room / inputs - 16); inputs]);
    assert!(largest.len() < room, "{} > {room}", largest.len());
    // Ten bytes per token is more than any text needs: every input is at the model's limit.
    let most_tokens = body("tiny-bge", vec![text_of(max_len * 10); inputs]);
    let pixel = data_uri(&one_pixel_png([200, 30, 90]));
    let images = n("max_request_pixels") / (1 + crop * crop);
    let photo = std::fs::read(common::fixture("images/coffee.png")).unwrap();
    let photos = n("max_request_pixels") / (600 * 400 + crop * crop);
    let over_body = "x".repeat(n("max_body_bytes") + 1);
    BTreeMap::from([
        (Kind::LargestBody, largest),
        (Kind::MostTokens, most_tokens),
        (
            Kind::MostImages,
            body("tiny-resnet", vec![pixel.clone(); images]),
        ),
        (
            Kind::MostPhotos,
            body("tiny-resnet", vec![data_uri(&photo); photos]),
        ),
        (
            Kind::OverPixels,
            body("tiny-resnet", vec![pixel; images + 1]),
        ),
        (Kind::OverBody, Arc::new(over_body)),
    ])
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
        .parse()
        .unwrap()
}

#[test]
fn sixty_four_clients_at_the_limits_get_no_5xx_and_memory_stays_under_the_bound() {
    let seconds: u64 = std::env::var("EMBEDKIT_OVERLOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let text = common::fixture("tiny-bge");
    let image = common::fixture("tiny-resnet");
    let server = Server::start(&[
        "--model",
        text.to_str().unwrap(),
        "--model",
        image.to_str().unwrap(),
    ]);
    let pid = server.child.id();
    let (status, info) = server.get("/info", None);
    assert_eq!(status, 200, "{info}");
    let info: Value = serde_json::from_str(&info).unwrap();
    let bound = info["limits"]["inflight_memory_bound_bytes"]
        .as_u64()
        .unwrap();

    // The baseline: a full forward pass of every model at once (the models' threads run their
    // passes side by side under load too): the text pass's token budget in texts at the
    // model's maximum length (attention grows with it), and 8 images.
    let batch_tokens = info["limits"]["max_batch_tokens"].as_u64().unwrap() as usize;
    let max_len = info["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "tiny-bge")
        .and_then(|m| m["max_seq_length"].as_u64())
        .unwrap() as usize;
    let photo = data_uri(&std::fs::read(common::fixture("images/coffee.png")).unwrap());
    let calibration = [
        json!({"model": "tiny-bge", "input": vec!["tea ".repeat(max_len * 2); batch_tokens / max_len]}),
        json!({"model": "tiny-resnet", "input": vec![photo; 8]}),
    ];
    std::thread::scope(|s| {
        for body in &calibration {
            let server = &server;
            s.spawn(move || {
                let (status, answer) = server.post("/v1/embeddings", None, &body.to_string());
                assert_eq!(status, 200, "{answer}");
            });
        }
    });
    let baseline = kib(pid, "VmHWM:") << 10;

    // Each of the largest requests goes through on its own. (Under load one that needs a
    // whole budget waits for a moment when no other request holds any of it: with nothing
    // queued server-side, smaller requests may keep it out, and its client keeps retrying.)
    let bodies = bodies(&info);
    for kind in [
        Kind::LargestBody,
        Kind::MostTokens,
        Kind::MostImages,
        Kind::MostPhotos,
    ] {
        let (status, body) = server.post("/v1/embeddings", None, &bodies[&kind]);
        assert_eq!(status, 200, "{kind:?}: {body}");
    }
    let url = format!("{}/v1/embeddings", server.url);
    let counts: Mutex<BTreeMap<(Kind, u16), usize>> = Mutex::default();
    let failures: Mutex<Vec<String>> = Mutex::default();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let kind = KINDS[c % KINDS.len()];
            let body = bodies[&kind].clone();
            let (url, counts, failures, stop) = (&url, &counts, &failures, &stop);
            s.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(120))
                    .build();
                while !stop.load(Ordering::Relaxed) {
                    let status = match agent
                        .post(url)
                        .set("Content-Type", "application/json")
                        .send_string(&body)
                    {
                        Ok(r) => r.status(),
                        Err(ureq::Error::Status(code, r)) => {
                            let text = r.into_string().unwrap_or_default();
                            if code >= 500 || ![413, 429].contains(&code) {
                                failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("{kind:?}: {code} {text}"));
                            }
                            code
                        }
                        Err(e) => {
                            failures.lock().unwrap().push(format!("{kind:?}: {e}"));
                            continue;
                        }
                    };
                    *counts.lock().unwrap().entry((kind, status)).or_default() += 1;
                    if status == 429 {
                        // As clients do on Retry-After (shorter, to keep the pressure on).
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    let peak = kib(pid, "VmHWM:") << 10;
    let counts = counts.into_inner().unwrap();
    eprintln!(
        "{counts:?}\npeak {} MiB, baseline {} MiB + in-flight bound {} MiB",
        peak >> 20,
        baseline >> 20,
        bound >> 20
    );
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} failures: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let n = |kind: Option<Kind>, status: u16| -> usize {
        counts
            .iter()
            .filter(|((k, s), _)| *s == status && kind.is_none_or(|want| *k == want))
            .map(|(_, n)| n)
            .sum()
    };
    // Requests went through under the load; over-limit kinds never did.
    assert!(n(None, 200) > 0, "{counts:?}");
    for kind in [Kind::OverPixels, Kind::OverBody] {
        assert_eq!(n(Some(kind), 200), 0, "{counts:?}");
        assert!(n(Some(kind), 413) > 0, "{counts:?}");
    }
    assert!(
        n(None, 429) > 0,
        "no request was refused for load: {counts:?}"
    );

    // Every refusal is counted under its reason, and nothing is held any more.
    let (_, metrics) = server.get("/metrics", None);
    let reason = |r: &str| {
        metric(
            &metrics,
            &format!("embedkit_rejected_requests_total{{reason=\"{r}\"}}"),
        )
    };
    assert_eq!(reason("body_size") as usize, n(Some(Kind::OverBody), 413));
    assert_eq!(
        reason("request_pixels") as usize,
        n(Some(Kind::OverPixels), 413)
    );
    assert_eq!(reason("request_tokens"), 0);
    let load: u64 = [
        "concurrency",
        "inflight_body_bytes",
        "inflight_tokens",
        "inflight_pixels",
    ]
    .iter()
    .map(|r| reason(r))
    .sum();
    assert_eq!(load as usize, n(None, 429), "{metrics}");
    assert_eq!(
        n(None, 413),
        n(Some(Kind::OverBody), 413) + n(Some(Kind::OverPixels), 413)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, metrics) = server.get("/metrics", None);
        let held: Vec<u64> = ["requests", "body_bytes", "tokens", "pixels"]
            .iter()
            .map(|r| metric(&metrics, &format!("embedkit_inflight{{resource=\"{r}\"}}")))
            .collect();
        if held == [0, 0, 0, 0] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still held after the load: {held:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        peak <= baseline + bound,
        "peak RSS {} MiB over the bound {} + {} MiB",
        peak >> 20,
        baseline >> 20,
        bound >> 20
    );
}
