//! Admission, served in-process on loopback: a request without a free slot is answered 429
//! before its body is read (a client that sent its headers and stalls its body does not keep
//! others from that answer), images over the request's pixel limit are refused from their
//! headers without being decoded, texts over the in-flight token budget are refused before
//! they are tokenized, and every refusal is counted in `/metrics` by reason.

mod common;

use embedkit_server::{routes, AppState, ModelSpec, ServerConfig};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Serves `tiny-bge` and `tiny-resnet` with `config`'s limits; returns the base URL.
fn serve(config: ServerConfig) -> String {
    let config = ServerConfig {
        models: vec![
            ModelSpec::new(
                common::fixture("tiny-bge").display().to_string(),
                "tiny-bge",
            ),
            ModelSpec::new(
                common::fixture("tiny-resnet").display().to_string(),
                "tiny-resnet",
            ),
        ],
        ..config
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let state = AppState::load(&config).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            state.warm_up_in_background();
            axum::serve(listener, routes::router(state, &config))
                .await
                .unwrap();
        });
    });
    let url = format!("http://{}", rx.recv().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while ureq::get(&format!("{url}/health")).call().is_err() {
        assert!(Instant::now() < deadline, "server never became healthy");
        std::thread::sleep(Duration::from_millis(20));
    }
    url
}

fn post(url: &str, body: &str) -> (u16, Value) {
    match ureq::post(&format!("{url}/v1/embeddings"))
        .set("Content-Type", "application/json")
        .send_string(body)
    {
        Ok(r) => (
            r.status(),
            serde_json::from_str(&r.into_string().unwrap()).unwrap(),
        ),
        Err(ureq::Error::Status(code, r)) => (
            code,
            serde_json::from_str(&r.into_string().unwrap()).unwrap_or_default(),
        ),
        Err(e) => panic!("transport error: {e}"),
    }
}

fn rejected(url: &str, reason: &str) -> u64 {
    let text = ureq::get(&format!("{url}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let name = format!("embedkit_rejected_requests_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&name))
        .unwrap_or_else(|| panic!("{name} not in {text}"))
        .parse()
        .unwrap()
}

/// Sends a request's headers, declaring a body of `length` bytes, and none of the body.
fn headers_only(url: &str, length: usize) -> TcpStream {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /v1/embeddings HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    s
}

/// Reads an HTTP answer until the end of its JSON body (the connection may stay open).
fn answer(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&out).trim_end().ends_with("}}") {
        let n = s.read(&mut buf).expect("an answer before the timeout");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn without_a_free_slot_the_answer_is_429_before_the_body_is_read() {
    let url = serve(ServerConfig {
        max_concurrent_requests: 1,
        ..ServerConfig::default()
    });
    let body = json!({"model": "tiny-bge", "input": "我们的办公室在三楼。"}).to_string();
    // This client takes the only slot and stalls before sending its body.
    let mut stalled = headers_only(&url, body.len());
    // Until the server holds it, a request may still get the slot; then it answers 200.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, answer) = post(&url, &body);
        if status == 429 {
            assert_eq!(answer["error"]["code"], "rate_limit_exceeded", "{answer}");
            assert_eq!(answer["error"]["type"], "rate_limit_error", "{answer}");
            break;
        }
        assert_eq!(status, 200, "{answer}");
        assert!(
            Instant::now() < deadline,
            "the stalled request never took the slot"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Another client sends only headers, announcing a large body, and gets its 429 without
    // sending a byte of it.
    let mut other = headers_only(&url, 1 << 20);
    let text = answer(&mut other);
    assert!(text.starts_with("HTTP/1.1 429"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("\r\nretry-after: 1\r\n"),
        "{text}"
    );
    assert!(rejected(&url, "concurrency") >= 2);
    // Health, metrics and the model list are not admitted: they answer meanwhile.
    for path in ["/health", "/metrics", "/v1/models", "/info"] {
        assert_eq!(
            ureq::get(&format!("{url}{path}")).call().unwrap().status(),
            200
        );
    }
    // The stalled client sends its body at last and is answered; the slot is free again.
    stalled.write_all(body.as_bytes()).unwrap();
    let text = answer(&mut stalled);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    drop(stalled);
    let (status, answer) = post(&url, &body);
    assert_eq!(status, 200, "{answer}");
}

/// A PNG whose header announces `w × h` RGB pixels, followed by a few bytes of image data
/// that decode to nothing valid: decoding it fails, so a 413 shows that it was judged by its
/// header alone.
fn png_header(w: u32, h: u32) -> Vec<u8> {
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
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn uri(bytes: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[test]
fn images_over_the_pixel_limit_are_refused_from_their_headers() {
    // Exactly three 100x50 images and their 224x224 model inputs.
    let per_image = 100 * 50 + 224 * 224;
    let url = serve(ServerConfig {
        max_request_pixels: 3 * per_image,
        ..ServerConfig::default()
    });
    let small = uri(&png(100, 50));
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": vec![&small; 3]}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
    // One pixel more: a 101x50 image in place of a 100x50 one.
    let wider = uri(&png(101, 50));
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": [&small, &small, &wider]}).to_string(),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "request_too_large", "{body}");
    assert_eq!(body["error"]["param"], "input", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{} pixels", 3 * per_image + 50)),
        "{message}"
    );
    // 10000 x 10000 announced (within the decoder's own limits), no pixel data behind it:
    // refused by its size; decoding would have failed on the data (a 400).
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": uri(&png_header(10_000, 10_000))}).to_string(),
    );
    assert_eq!(status, 413, "{body}");
    // 60000 x 60000 is over the decoder's limits: refused from the header as decoding would
    // refuse it, a 400 naming the limit.
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": uri(&png_header(60_000, 60_000))}).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("over the limit"),
        "{body}"
    );
    // 2048 one-pixel images: their model inputs alone are over the limit.
    let dot = uri(&png(1, 1));
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": vec![&dot; 2048]}).to_string(),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(rejected(&url, "request_pixels"), 3);
    // The server is well.
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": small}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn budgets_that_a_request_can_never_fit_are_413_and_body_limits_hold() {
    let url = serve(ServerConfig {
        max_inflight_tokens: 100,
        max_body_bytes: 4096,
        ..ServerConfig::default()
    });
    // 200 bytes of text are estimated at 204 tokens: over the whole budget before tokenizing.
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-bge", "input": "a".repeat(200)}).to_string(),
    );
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-inflight-tokens"),
        "{body}"
    );
    assert_eq!(rejected(&url, "inflight_tokens"), 1);
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-bge", "input": "a few words"}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    // Over --max-body-mb: declared, or sent without a length (chunked).
    let big = json!({"model": "tiny-bge", "input": "a ".repeat(3000)}).to_string();
    let (status, body) = post(&url, &big);
    assert_eq!(status, 413, "{body}");
    let chunked = ureq::post(&format!("{url}/v1/embeddings"))
        .set("Content-Type", "application/json")
        .send(std::io::Cursor::new(big.into_bytes()));
    match chunked {
        Err(ureq::Error::Status(413, _)) => {}
        other => panic!("chunked body over the limit: {other:?}"),
    }
    assert_eq!(rejected(&url, "body_size"), 2);
}

#[test]
fn long_texts_are_cut_before_tokenizing_and_embed_as_the_whole_text_does() {
    let url = serve(ServerConfig::default());
    // 1 MB of ordinary text: cut to 64 bytes per token of the model's limit before it is
    // tokenized, and its vector is the vector of the whole text, truncated by the model.
    let text = "The office is on the third floor. ".repeat(30_000);
    let response = ureq::post(&format!("{url}/v1/embeddings"))
        .set("Content-Type", "application/json")
        .send_string(&json!({"model": "tiny-bge", "input": &text}).to_string())
        .unwrap();
    assert_eq!(response.header("x-embedkit-truncated-inputs"), Some("1"));
    let body: Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    let got: Vec<f32> = serde_json::from_value(body["data"][0]["embedding"].clone()).unwrap();
    let model =
        embedkit_models::SentenceEmbedder::load(common::fixture("tiny-bge").to_str().unwrap())
            .unwrap();
    let want = model
        .embed(&[text.as_str()], &embedkit_models::EmbedOptions::default())
        .unwrap();
    // The same sequence in a pass of its own: equal up to the kernels' summation order.
    assert_eq!(got.len(), want[0].len());
    let diff = got
        .iter()
        .zip(&want[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff < 1e-5, "max difference {diff}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
}
