//! Models whose output holds NaN or infinity, served in-process on loopback: every route that
//! embeds (`/v1/embeddings` and `/embeddings` for text and images, `/v1/collections` add and
//! search) answers 500 with OpenAI's error envelope and a message naming the cause, never a
//! 200 with `null`s and never a 400; inputs the model still embeds get the same vectors as
//! the unpoisoned model. The poisoned models are copies of the fixtures made here, with one
//! tensor rewritten through the `safetensors` crate.

mod common;

use common::{fixture, poisoned_copy};
use embedkit_models::{EmbedOptions, SentenceEmbedder};
use embedkit_server::{routes, AppState, ModelSpec, ServerConfig};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The row of `word` in the model's vocabulary (BERT's vocab.txt: one token per line).
fn token_id(model: &Path, word: &str) -> usize {
    std::fs::read_to_string(model.join("vocab.txt"))
        .unwrap()
        .lines()
        .position(|l| l == word)
        .unwrap_or_else(|| panic!("{word:?} is not in the vocabulary"))
}

/// tiny-bge whose word embedding of "poison" is NaN and of "infinity" is +inf: any text with
/// either word gives NaN (through LayerNorm and attention), any other text is untouched.
fn poisoned_bge(dir: &Path) -> PathBuf {
    let src = fixture("tiny-bge");
    let (nan, inf) = (token_id(&src, "poison"), token_id(&src, "infinity"));
    let dst = dir.join("poisoned-bge");
    poisoned_copy(&src, &dst, |name, values| {
        if name == "embeddings.word_embeddings.weight" {
            let width = 32;
            values[nan * width..(nan + 1) * width].fill(f32::NAN);
            values[inf * width..(inf + 1) * width].fill(f32::INFINITY);
        }
    });
    dst
}

/// tiny-resnet with one NaN in its last convolution: every image gives NaN embeddings.
fn poisoned_resnet(dir: &Path) -> PathBuf {
    let dst = dir.join("poisoned-resnet");
    poisoned_copy(&fixture("tiny-resnet"), &dst, |name, values| {
        if name == "layer4.0.conv2.weight" {
            values[7] = f32::NAN;
        }
    });
    dst
}

struct Served {
    url: String,
    _dir: tempfile::TempDir,
}

/// Serves the poisoned text model as `bge` and the poisoned image model as `resnet`, with a
/// store, and waits until `/health` says the models are warm (warm-up meets NaN on the image
/// model and must still finish).
fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let spec = |p: PathBuf| p.to_str().unwrap().to_string();
    let config = ServerConfig {
        models: vec![
            ModelSpec::new(spec(poisoned_bge(dir.path())), "bge"),
            ModelSpec::new(spec(poisoned_resnet(dir.path())), "resnet"),
        ],
        store: Some(spec(dir.path().join("kb.db"))),
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
    Served { url, _dir: dir }
}

fn post(url: &str, path: &str, body: &Value) -> (u16, Value) {
    match ureq::post(&format!("{url}{path}"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
    {
        Ok(r) => (
            r.status(),
            serde_json::from_str(&r.into_string().unwrap()).unwrap(),
        ),
        Err(ureq::Error::Status(code, r)) => (
            code,
            serde_json::from_str(&r.into_string().unwrap()).unwrap(),
        ),
        Err(e) => panic!("transport error: {e}"),
    }
}

/// Asserts a 500 in OpenAI's envelope that says the model produced a non-finite value, and
/// names `needle` (the input, or what held it).
fn assert_model_error(status: u16, body: &Value, needle: &str) {
    assert_eq!(status, 500, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let e = &body["error"];
    assert_eq!(e["type"], "server_error", "{body}");
    assert_eq!(e["code"], "model_error", "{body}");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("non-finite value (NaN or infinity)"),
        "{message}"
    );
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

fn floats(body: &Value) -> Vec<Vec<f32>> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d["embedding"].clone()).unwrap())
        .collect()
}

#[test]
fn nan_and_infinity_from_a_model_are_a_500_on_every_route_that_embeds() {
    let s = serve();
    let clean = ["a clean sentence", "the robot is warm"];

    // Texts the model still embeds: 200, with the unpoisoned fixture's vectors.
    let (status, body) = post(
        &s.url,
        "/v1/embeddings",
        &json!({"model": "bge", "input": clean}),
    );
    assert_eq!(status, 200, "{body}");
    let want = SentenceEmbedder::from_folder(&fixture("tiny-bge"))
        .unwrap()
        .embed(&clean, &EmbedOptions::default())
        .unwrap();
    for (got, want) in floats(&body).iter().zip(&want) {
        let cos = embedkit_core::vector::cosine(got, want);
        assert!(cos >= 0.99999, "cosine {cos}");
    }

    // NaN (from "poison") and infinity (from "infinity"), alone or among clean texts, in
    // every output form, on both paths of the route.
    let mut failures = 0;
    for (path, body, needle) in [
        (
            "/v1/embeddings",
            json!({"model": "bge", "input": "a poison pill"}),
            "input 0",
        ),
        (
            "/v1/embeddings",
            json!({"model": "bge", "input": [clean[0], "to infinity and beyond"]}),
            "input 1",
        ),
        (
            "/v1/embeddings",
            json!({"model": "bge", "input": ["poison"], "encoding_format": "base64"}),
            "input 0",
        ),
        (
            "/v1/embeddings",
            json!({"model": "bge", "input": "poison", "dimensions": 8, "normalize": true}),
            "input 0",
        ),
        (
            "/embeddings",
            json!({"model": "bge", "input": [clean[1], clean[0], "poison ivy"]}),
            "input 2",
        ),
    ] {
        let (status, answer) = post(&s.url, path, &body);
        assert_model_error(status, &answer, needle);
        failures += 1;
    }

    // The image model gives NaN for every image.
    let png = std::fs::read(fixture("images/chelsea.png")).unwrap();
    use base64::Engine as _;
    let uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    );
    for path in ["/v1/embeddings", "/embeddings"] {
        let (status, answer) = post(
            &s.url,
            path,
            &json!({"model": "resnet", "input": [uri.clone()]}),
        );
        assert_model_error(status, &answer, "input 0: the model produced");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("embeddings"),
            "{answer}"
        );
        failures += 1;
    }

    // The store: a clean document goes in; one the model cannot embed is refused whole
    // (nothing of it is stored); a search whose query gives NaN fails, a clean one and a
    // keyword search (which embeds nothing) answer.
    let docs = "/v1/collections/kb/documents";
    let (status, body) = post(
        &s.url,
        docs,
        &json!({"documents": [{"id": "ok", "text": "the robot is warm"}]}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &s.url,
        docs,
        &json!({"documents": [{"id": "bad", "text": "a drop of poison in the well"}]}),
    );
    assert_model_error(status, &body, "non-finite");
    failures += 1;
    let list: Value = serde_json::from_str(
        &ureq::get(&format!("{}/v1/collections", s.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(list["data"][0]["documents"], 1, "{list}");
    assert_eq!(list["data"][0]["chunks"], 1, "{list}");

    let search = "/v1/collections/kb/search";
    for mode in ["vector", "hybrid"] {
        let (status, body) = post(
            &s.url,
            search,
            &json!({"query": "where is the poison", "mode": mode}),
        );
        assert_model_error(status, &body, "non-finite");
        failures += 1;
    }
    let (status, body) = post(&s.url, search, &json!({"query": "a warm robot"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["id"], "ok", "{body}");
    let (status, body) = post(
        &s.url,
        search,
        &json!({"query": "poison robot", "mode": "keyword"}),
    );
    assert_eq!(status, 200, "{body}");

    // /metrics counted exactly these failures as 500s.
    let metrics = ureq::get(&format!("{}/metrics", s.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let line = format!("embedkit_requests_total{{status=\"500\"}} {failures}");
    assert!(
        metrics.lines().any(|l| l == line),
        "{line} not in\n{metrics}"
    );
}
