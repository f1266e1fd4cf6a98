//! Every route goes through the same seam: the query prompt is chosen by one rule for
//! `/v1/embeddings` (`input_type`), `/v1/collections/{c}/search` and `embedkit search`, and
//! `/v1/collections` writes are admitted by the same engine as `/v1/embeddings`.

mod common;

use common::{embedkit, fixture, ok, vectors, Server};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

const DOCS: [(&str, &str); 3] = [
    ("cat", "The cat sleeps on the warm windowsill and purrs."),
    ("rust", "Rust programs are compiled ahead of time."),
    ("tea", "绿茶来自中国南方，办公室里常喝。"),
];
const QUERY: &str = "为什么猫会发出呼噜声？ why do cats purr?";

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Score per document id of a hit list.
fn scores(hits: &Value) -> Vec<(String, f32)> {
    let mut s: Vec<(String, f32)> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap().to_string(),
                h["score"].as_f64().unwrap() as f32,
            )
        })
        .collect();
    s.sort_by(|a, b| a.0.cmp(&b.0));
    s
}

#[test]
fn the_query_vector_is_the_same_through_embeddings_collections_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kb.db");
    let db = db.to_str().unwrap();
    let model = fixture("tiny-bge");
    let model = model.to_str().unwrap();
    let input = dir.path().join("docs.jsonl");
    let lines: Vec<String> = DOCS
        .iter()
        .map(|(id, text)| json!({"id": id, "text": text}).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    ok(&embedkit(&[
        "index",
        "add",
        "--store",
        db,
        "-c",
        "notes",
        "--model",
        model,
        input.to_str().unwrap(),
    ]));

    let cli = ok(&embedkit(&[
        "search", "--store", db, "-c", "notes", "-k", "3", "--json", QUERY,
    ]));
    let cli = scores(&serde_json::from_str(&cli).unwrap());

    let s = Server::start(&[
        "-m",
        model,
        "--served-model-name",
        "tiny-bge",
        "--store",
        db,
    ]);
    let (status, body) = s.post(
        "/v1/collections/notes/search",
        None,
        &json!({"query": QUERY, "k": 3}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let http = scores(&body["data"]);

    let embed = |input: Value, input_type: Option<&str>| {
        let mut req = json!({"model": "tiny-bge", "input": input});
        if let Some(t) = input_type {
            req["input_type"] = t.into();
        }
        let (status, body) = s.post("/v1/embeddings", None, &req.to_string());
        assert_eq!(status, 200, "{body}");
        vectors(&body)
    };
    let texts: Vec<&str> = DOCS.iter().map(|(_, t)| *t).collect();
    let docs = embed(json!(texts), Some("document"));
    let query = embed(json!(QUERY), Some("query")).remove(0);
    let plain = embed(json!(QUERY), None).remove(0);
    // tiny-bge's vectors are unit length and its collection is cosine: scores are dots.
    let mut want: Vec<(String, f32)> = DOCS
        .iter()
        .zip(&docs)
        .map(|((id, _), d)| (id.to_string(), dot(&query, d)))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, got) in [("embedkit search", &cli), ("/v1/collections", &http)] {
        assert_eq!(got.len(), want.len(), "{name}: {got:?}");
        for ((id, g), (wid, w)) in got.iter().zip(&want) {
            assert_eq!(id, wid);
            assert!((g - w).abs() < 1e-5, "{name} {id}: {g} vs {w}");
        }
    }
    // The query prompt makes a difference here, so agreeing above is not a coincidence.
    let moved = DOCS
        .iter()
        .zip(&docs)
        .map(|(_, d)| (dot(&plain, d) - dot(&query, d)).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "the query prompt changed no score ({moved})");
}

/// An upstream API that accepts one request and answers only when told: while it waits, the
/// `/v1/embeddings` request proxied to it holds the server's only admission permit.
struct HeldUpstream {
    url: String,
    answer: std::sync::mpsc::Sender<()>,
    arrived: std::sync::mpsc::Receiver<()>,
}

impl HeldUpstream {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let (answer, release) = std::sync::mpsc::channel::<()>();
        let (arrive, arrived) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            arrive.send(()).unwrap();
            let _ = release.recv_timeout(Duration::from_secs(60));
            let reply =
                r#"{"data":[{"index":0,"embedding":[0.6,0.8]}],"usage":{"prompt_tokens":2}}"#;
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        });
        Self {
            url,
            answer,
            arrived,
        }
    }
}

#[test]
fn collection_writes_and_searches_are_admitted_by_the_same_engine() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kb.db");
    let upstream = HeldUpstream::start();
    let model = fixture("tiny-bge");
    let s = Server::start(&[
        "-m",
        model.to_str().unwrap(),
        "-m",
        "openai:held",
        "--served-model-name",
        "tiny-bge",
        "--served-model-name",
        "held",
        "--upstream-base-url",
        &upstream.url,
        "--max-concurrent-requests",
        "1",
        "--store",
        db.to_str().unwrap(),
    ]);
    let add =
        json!({"model": "tiny-bge", "documents": [{"id": "cat", "text": DOCS[0].1}]}).to_string();
    let search = json!({"query": QUERY, "k": 1}).to_string();
    std::thread::scope(|scope| {
        let held = scope.spawn(|| {
            s.post(
                "/v1/embeddings",
                None,
                &json!({"model": "held", "input": "held"}).to_string(),
            )
        });
        // The held request now has the only permit: every route that runs a model waits its
        // turn, answered 429 in OpenAI's envelope.
        upstream
            .arrived
            .recv_timeout(Duration::from_secs(60))
            .expect("the proxied request reached the upstream");
        for (path, body) in [
            ("/v1/collections/notes/documents", &add),
            ("/v1/collections/notes/search", &search),
            (
                "/v1/embeddings",
                &json!({"model": "tiny-bge", "input": "x"}).to_string(),
            ),
        ] {
            let (status, err) = s.post(path, None, body);
            assert_eq!(status, 429, "{path}: {err}");
            assert_eq!(err["error"]["code"], "rate_limit_exceeded", "{path}: {err}");
        }
        upstream.answer.send(()).unwrap();
        let (status, body) = held.join().unwrap();
        assert_eq!(status, 200, "{body}");
    });
    // The permit is back: the same writes and searches go through.
    let (status, body) = s.post("/v1/collections/notes/documents", None, &add);
    assert_eq!((status, &body["added"]), (200, &json!(1)), "{body}");
    let (status, body) = s.post("/v1/collections/notes/search", None, &search);
    assert_eq!(
        (status, &body["data"][0]["id"]),
        (200, &json!("cat")),
        "{body}"
    );
}
