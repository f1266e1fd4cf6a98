//! Mutated request bodies never crash the server nor get a 5xx: seeded mutations of valid
//! bodies for every route that reads one (`/v1/embeddings` with texts, token ids and images,
//! `/v1/rerank`, `/rerank`, and `/v1/collections` add, search and delete on a SQLite store):
//! their JSON tree (deleted, repeated and unknown keys, values of the wrong type, edge
//! numbers, huge strings, deep nesting), their bytes (not UTF-8, cut, spliced), the image
//! bytes inside their data URIs, and their content type. The server runs in this process on a
//! loopback port with the tiny fixture models; every answer must be 200 with a JSON body, or
//! a 4xx in OpenAI's error envelope. More rounds:
//! `EMBEDKIT_MUTATION_ROUNDS=2000 cargo test -p embedkit-server --test mutated_requests` or
//! `scripts/fuzz.sh`.

mod common;

#[path = "../../../tests/support/mutation.rs"]
mod mutation;

use base64::Engine as _;
use common::fixture;
use embedkit_server::{routes, AppState, ModelSpec, ServerConfig};
use mutation::{rounds, Rng};
use serde_json::{json, Value};
use std::path::PathBuf;

/// A server on a free loopback port, in this process, with a SQLite store of its own.
struct Server {
    base: String,
    agent: ureq::Agent,
    _store: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let store = tempfile::tempdir().unwrap();
        let spec = |name: &str| fixture(name).to_string_lossy().into_owned();
        let config = ServerConfig {
            models: vec![
                ModelSpec::new(spec("tiny-bge"), "tiny-bge"),
                ModelSpec::new(spec("tiny-resnet"), "tiny-resnet"),
                ModelSpec::new(spec("tiny-cross-encoder"), "tiny-rerank"),
            ],
            store: Some(store.path().join("kb.db").display().to_string()),
            ..ServerConfig::default()
        };
        let state = AppState::load(&config).unwrap();
        let app = routes::router(state, &config);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self {
            base: format!("http://{}", rx.recv().unwrap()),
            agent: ureq::AgentBuilder::new().build(),
            _store: store,
        }
    }

    /// Posts `body` as it is (any bytes) and returns the status and the body's text.
    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let result = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("Content-Type", content_type)
            .send_bytes(body);
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            // A dropped connection is what a panicking handler leaves behind.
            Err(e) => panic!("POST {path}: no answer ({e}) to {}", excerpt(body)),
        };
        (response.status(), response.into_string().unwrap())
    }
}

/// The start of a body, for failure messages.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(600)]).into_owned()
}

/// Asserts what every answer must be: 200 with a JSON body, or a 4xx carrying OpenAI's
/// error envelope. Returns the status.
fn check(path: &str, body: &[u8], (status, text): (u16, String)) -> u16 {
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "POST {path}: {status} with a body that is not JSON ({e}): {text:.300}\nrequest: {}",
            excerpt(body)
        )
    });
    match status {
        // TEI's `/rerank` answers an array.
        200 => assert!(
            json.is_object() || json.is_array(),
            "POST {path}: {text:.300}"
        ),
        400..=499 => {
            let error = &json["error"];
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty())
                    && error["type"].is_string()
                    && error.get("param").is_some()
                    && error.get("code").is_some(),
                "POST {path}: {status} without OpenAI's error envelope: {text:.300}"
            );
        }
        _ => panic!(
            "POST {path}: {status}: {text:.300}\nrequest: {}",
            excerpt(body)
        ),
    }
    status
}

fn image(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/data/images")
            .join(name),
    )
    .unwrap()
}

fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Valid bodies for every route that reads one: (path, body).
fn seeds() -> Vec<(&'static str, Value)> {
    let png = data_uri("image/png", &image("horse.png"));
    let jpeg = data_uri("image/jpeg", &image("grace_hopper.jpg"));
    vec![
        (
            "/v1/embeddings",
            json!({"model": "tiny-bge", "input": "你好，你是一个机器人。"}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "tiny-bge", "input": ["I like large language models.", "猫"],
                   "encoding_format": "base64", "dimensions": 16, "input_type": "query",
                   "user": "u-1", "normalize": true, "truncate": true}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "tiny-bge", "input": [[101, 7592, 2088, 102], [101, 102]]}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "tiny-bge", "input": [101, 7592, 102], "prompt_name": "query"}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "tiny-resnet", "input": [png.clone()]}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "tiny-resnet", "input": jpeg, "encoding_format": "float"}),
        ),
        (
            "/v1/rerank",
            json!({"model": "tiny-rerank", "query": "Why do cats purr?",
                   "documents": ["Cats purr when content.", {"text": "猫咪"}, "Dogs bark."],
                   "top_n": 2, "return_documents": true}),
        ),
        (
            "/rerank",
            json!({"query": "Why do cats purr?", "texts": ["Cats purr.", "Dogs bark."],
                   "raw_scores": false, "return_text": true, "truncate": true,
                   "truncation_direction": "Right", "model": "tiny-rerank"}),
        ),
        (
            "/v1/collections/kb/documents",
            json!({"documents": [
                       {"id": "a", "text": "Cats purr when they are content.", "metadata": {"lang": "en", "n": 1}},
                       {"id": "notes/b.md:3", "text": "猫咪发出呼噜声。", "metadata": {"lang": "zh"}}],
                   "chunk_size": 32, "chunk_overlap": 4, "model": "tiny-bge"}),
        ),
        (
            "/v1/collections/kb/search",
            json!({"query": "Why do cats purr?", "k": 3, "filter": {"lang": "en"},
                   "mode": "hybrid", "exact": true, "rerank": "tiny-rerank", "rerank_candidates": 10}),
        ),
        (
            "/v1/collections/kb/search",
            json!({"query": "猫", "mode": "keyword"}),
        ),
        ("/v1/collections/kb/delete", json!({"ids": ["a", "zzz"]})),
        (
            "/v1/collections/kb/delete",
            json!({"filter": {"lang": "zh"}}),
        ),
    ]
}

#[test]
fn the_seed_bodies_are_answered_200() {
    let server = Server::start();
    for (path, body) in seeds() {
        let bytes = body.to_string().into_bytes();
        let status = check(path, &bytes, server.post(path, "application/json", &bytes));
        assert_eq!(status, 200, "POST {path} {body}");
    }
}

/// `seed` mutated as a JSON tree (most rounds), as bytes, or with the image inside a data
/// URI replaced by damaged image bytes.
fn mutated(rng: &mut Rng, seed: &Value, images: &[Vec<u8>]) -> Vec<u8> {
    let text = seed.to_string();
    match rng.below(8) {
        0 | 1 => rng.mutate_bytes(text.as_bytes(), &[]),
        2 if text.contains("data:image") => {
            let original = rng.pick(images).clone();
            let damaged = rng.mutate_bytes(&original, &[]);
            let mime = *rng.pick(&[
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "text/plain",
            ]);
            let mut body = seed.clone();
            let uri = Value::from(data_uri(mime, &damaged));
            match &mut body["input"] {
                Value::Array(items) => items[0] = uri,
                input => *input = uri,
            }
            body.to_string().into_bytes()
        }
        _ => rng.mutate_json(seed),
    }
}

#[test]
fn mutated_request_bodies_are_4xx_errors_never_5xx() {
    let server = Server::start();
    let images = [image("horse.png"), image("grace_hopper.jpg")];
    let mut rng = Rng(0x5851_F42D_4C95_7F2D);
    for (path, seed) in seeds() {
        let (mut ok, mut refused) = (0, 0);
        let n = rounds(40);
        for _ in 0..n {
            let body = mutated(&mut rng, &seed, &images);
            let content_type = match rng.below(12) {
                0 => "text/plain",
                1 => "application/json; charset=latin1",
                _ => "application/json",
            };
            match check(path, &body, server.post(path, content_type, &body)) {
                200 => ok += 1,
                _ => refused += 1,
            }
        }
        eprintln!("POST {path}: {n} inputs, {ok} answered 200, {refused} refused");
        assert!(refused > 0, "POST {path}: the mutations reach the errors");
    }
}
