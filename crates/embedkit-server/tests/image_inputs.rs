//! Image models behind `/v1/embeddings`, served in-process on loopback: `data:image/...;base64`
//! inputs give the vectors the model gives for the same files, requests from several clients
//! are batched without mixing their answers, and every bad input is an OpenAI error envelope.

use base64::Engine as _;
use embedkit_server::{routes, AppState, ModelSpec, ServerConfig};
use embedkit_vision::ImageModel;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny_resnet() -> PathBuf {
    root().join("testdata/fixtures/tiny-resnet")
}

fn photos() -> Vec<PathBuf> {
    ["chelsea.png", "coffee.png", "astronaut.png"]
        .iter()
        .map(|f| root().join("testdata/fixtures/images").join(f))
        .collect()
}

/// Serves `tiny-resnet` (image) and `tiny-bge` (text) on a free port; returns the base URL.
fn serve(max_client_batch: usize) -> String {
    let config = ServerConfig {
        models: vec![
            ModelSpec::new(tiny_resnet().display().to_string(), "tiny-resnet"),
            ModelSpec::new(
                root()
                    .join("testdata/fixtures/tiny-bge")
                    .display()
                    .to_string(),
                "tiny-bge",
            ),
        ],
        max_client_batch,
        ..ServerConfig::default()
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

fn post(url: &str, body: &Value) -> (u16, Value) {
    match ureq::post(&format!("{url}/v1/embeddings"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
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

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn png_uri(path: &Path) -> String {
    data_uri("image/png", &std::fs::read(path).unwrap())
}

fn vectors(body: &Value) -> Vec<Vec<f32>> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d["embedding"].clone()).unwrap())
        .collect()
}

/// The embeddings of `files` straight from the model, one file at a time.
fn direct(files: &[PathBuf]) -> Vec<Vec<f32>> {
    let model = ImageModel::load(&tiny_resnet(), None).unwrap();
    files
        .iter()
        .map(|f| {
            let x = model.prepare_file(f).unwrap();
            model.run(&[x]).unwrap().embedding
        })
        .collect()
}

fn assert_close(got: &[Vec<f32>], want: &[Vec<f32>]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len());
        let max = g
            .iter()
            .zip(w)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let scale = w.iter().map(|x| x.abs()).fold(0f32, f32::max);
        assert!(
            max <= 1e-4 * scale.max(1.0),
            "max diff {max} (scale {scale})"
        );
    }
}

fn assert_error(status: u16, body: &Value, want_status: u16, needle: &str) {
    assert_eq!(status, want_status, "{body}");
    let e = &body["error"];
    assert_eq!(e["type"], "invalid_request_error", "{body}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

#[test]
fn data_uris_embed_like_the_files_and_concurrent_requests_keep_their_answers() {
    let url = serve(2048);
    let files = photos();
    let want = direct(&files);
    let uris: Vec<String> = files.iter().map(|f| png_uri(f)).collect();

    let (status, body) = post(&url, &json!({"model": "tiny-resnet", "input": uris}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "tiny-resnet");
    assert_eq!(body["data"][2]["index"], 2);
    assert_eq!(body["usage"]["prompt_tokens"], 0);
    assert_close(&vectors(&body), &want);

    // One image as a plain string, L2-normalized on request.
    let (status, body) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": uris[1], "normalize": true}),
    );
    assert_eq!(status, 200, "{body}");
    let mut unit = want[1].clone();
    embedkit_core::vector::normalize(&mut unit);
    assert_close(&vectors(&body), &[unit]);

    // Eight clients at once, each with its own order of images: the worker packs their images
    // into shared forward passes and every client gets its own vectors back, in order.
    let answers: Vec<(Vec<usize>, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|c| {
                let order: Vec<usize> = (0..=c % 3).map(|i| (c + i) % 3).collect();
                let input: Vec<&String> = order.iter().map(|&i| &uris[i]).collect();
                let url = &url;
                s.spawn(move || {
                    let (status, body) =
                        post(url, &json!({"model": "tiny-resnet", "input": input}));
                    assert_eq!(status, 200, "{body}");
                    (order, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (order, body) in answers {
        let expected: Vec<Vec<f32>> = order.iter().map(|&i| want[i].clone()).collect();
        assert_close(&vectors(&body), &expected);
    }

    let models = ureq::get(&format!("{url}/v1/models"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(models.contains("\"tiny-resnet\""), "{models}");
    let info: Value = serde_json::from_str(
        &ureq::get(&format!("{url}/info"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    let card = info["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "tiny-resnet")
        .unwrap();
    assert_eq!(card["modality"], "image");
    assert_eq!(card["dimensions"], 512);
}

#[test]
fn bad_image_inputs_are_openai_errors() {
    let url = serve(2);
    let ok = png_uri(&photos()[0]);
    let model = |input: Value| json!({"model": "tiny-resnet", "input": input});

    let (s, b) = post(&url, &model(json!("a photo of a cat")));
    assert_error(s, &b, 400, "image model");
    assert_eq!(b["error"]["param"], "input");
    let (s, b) = post(&url, &model(json!([ok, "a photo of a cat"])));
    assert_error(s, &b, 400, "input 1");
    let (s, b) = post(&url, &model(json!([1, 2, 3])));
    assert_error(s, &b, 400, "not token ids");
    let (s, b) = post(&url, &model(json!("data:image/png;base64,@@not base64@@")));
    assert_error(s, &b, 400, "bad base64");
    let (s, b) = post(&url, &model(json!(data_uri("text/plain", b"hello"))));
    assert_error(s, &b, 400, "text/plain");
    let (s, b) = post(
        &url,
        &model(json!(data_uri("image/png", b"hello, not a png"))),
    );
    assert_error(s, &b, 400, "not an image");
    let (s, b) = post(&url, &model(json!(data_uri("image/png", &[]))));
    assert_error(s, &b, 400, "empty");
    let (s, b) = post(
        &url,
        &model(json!(data_uri("image/png", &png_header(20000, 20000)))),
    );
    assert_error(s, &b, 400, "limit");
    let mut truncated = std::fs::read(&photos()[0]).unwrap();
    truncated.truncate(truncated.len() / 2);
    let (s, b) = post(&url, &model(json!(data_uri("image/png", &truncated))));
    assert_error(s, &b, 400, "input 0");
    let (s, b) = post(&url, &model(json!([ok, ok, ok])));
    assert_error(s, &b, 400, "too many inputs");
    let (s, b) = post(&url, &model(json!([])));
    assert_error(s, &b, 400, "empty array");
    let (s, b) = post(
        &url,
        &json!({"model": "tiny-resnet", "input": ok, "dimensions": 64}),
    );
    assert_error(s, &b, 400, "512-dimensional");

    // The server is still well after all of these, and text models are unaffected.
    let (s, b) = post(&url, &model(json!(ok)));
    assert_eq!(s, 200, "{b}");
    let (s, b) = post(
        &url,
        &json!({"model": "tiny-bge", "input": "a photo of a cat"}),
    );
    assert_eq!(s, 200, "{b}");
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

/// A PNG whose header announces `w × h` RGB pixels, with almost no data behind it.
fn png_header(w: u32, h: u32) -> Vec<u8> {
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
