//! `POST /v1/rerank` (Cohere / Jina schema), `POST /rerank` (text-embeddings-inference's) and
//! reranked `/v1/collections` searches on a real loopback server, against sentence-transformers'
//! `CrossEncoder` outputs stored with the tiny BERT cross-encoder fixture
//! (testdata/fixtures/reference/tiny-cross-encoder/scores.json: three queries, twelve
//! documents in Chinese, English and other scripts, their logits, scores and token ids): the
//! scores, the order, the token counts, and every bad input answered 400 (or 404 / 500) in
//! OpenAI's error envelope.

mod common;

use common::{fixture, poisoned_copy};
use embedkit_server::{routes, AppState, ModelSpec, ServerConfig};
use embedkit_store::testing::TestSchema;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

fn spec(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

/// What sentence-transformers' CrossEncoder gave for every (query, document) pair.
struct Reference {
    queries: Vec<String>,
    documents: Vec<String>,
    /// Row-major: query `q`, document `d` at `q * documents + d`.
    logits: Vec<f32>,
    scores: Vec<f32>,
    tokens: Vec<usize>,
}

impl Reference {
    fn load() -> Self {
        let path = fixture("reference/tiny-cross-encoder/scores.json");
        let r: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let strings = |v: &Value| -> Vec<String> { serde_json::from_value(v.clone()).unwrap() };
        let floats = |v: &Value| -> Vec<f32> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        };
        let ids: Vec<Vec<u32>> = serde_json::from_value(r["input_ids"].clone()).unwrap();
        let me = Self {
            queries: strings(&r["queries"]),
            documents: strings(&r["documents"]),
            logits: floats(&r["logits"]),
            scores: floats(&r["scores"]),
            tokens: ids.iter().map(Vec::len).collect(),
        };
        assert_eq!(me.scores.len(), me.queries.len() * me.documents.len());
        me
    }

    fn of(&self, values: &[f32], q: usize) -> Vec<f32> {
        let n = self.documents.len();
        values[q * n..(q + 1) * n].to_vec()
    }
}

/// Asserts that `got` (index, score) pairs rank documents as `want` (a score per document)
/// does: every score within 2e-5 of the reference, best first, each document at most once.
/// Scores within the tolerance may come in either order; any two further apart must not.
fn assert_ranked(got: &[(usize, f32)], want: &[f32], what: &str) {
    let mut seen = vec![false; want.len()];
    for &(i, s) in got {
        assert!(!seen[i], "{what}: document {i} twice");
        seen[i] = true;
        assert!(
            (s - want[i]).abs() <= 2e-5,
            "{what}: document {i}: {s} vs {}",
            want[i]
        );
    }
    for pair in got.windows(2) {
        assert!(pair[0].1 >= pair[1].1, "{what}: not best first: {got:?}");
    }
}

fn pairs(results: &Value, score: &str) -> Vec<(usize, f32)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap() as usize,
                r[score].as_f64().unwrap() as f32,
            )
        })
        .collect()
}

/// A server on a free loopback port, in this process; `/health` is 200 before it returns.
struct Server {
    url: String,
}

impl Server {
    fn start(config: ServerConfig) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Loaded outside the runtime: the PostgreSQL client blocks.
            let state = AppState::load(&config).unwrap();
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
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
        Self { url }
    }

    /// Serves `models` (spec, served name), answering up to 12 documents per request.
    fn serving(models: &[(String, &str)], store: Option<&str>) -> Self {
        Self::start(ServerConfig {
            models: models
                .iter()
                .map(|(spec, name)| ModelSpec::new(spec.clone(), *name))
                .collect(),
            max_client_batch: 12,
            store: store.map(str::to_string),
            ..ServerConfig::default()
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let req = ureq::request(method, &format!("{}{path}", self.url));
        let result = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        (status, json)
    }

    fn ok(&self, path: &str, body: &Value) -> Value {
        let (status, json) = self.call("POST", path, Some(&body.to_string()));
        assert_eq!(status, 200, "{path} {body}: {json}");
        json
    }

    /// Asserts an OpenAI error envelope with `status` and returns (message, param).
    fn fails(&self, path: &str, body: &str, status: u16) -> (String, Value) {
        let (got, json) = self.call("POST", path, Some(body));
        assert_eq!(got, status, "{path} {body}: {json}");
        let e = &json["error"];
        assert!(
            e["type"].is_string() && e.get("param").is_some() && e.get("code").is_some(),
            "{json}"
        );
        (
            e["message"].as_str().unwrap().to_string(),
            e["param"].clone(),
        )
    }
}

fn rerankers() -> Vec<(String, &'static str)> {
    vec![
        (spec("tiny-cross-encoder"), "rr"),
        (spec("tiny-bge"), "bge"),
        (spec("tiny-cross-encoder-roberta"), "classifier"),
    ]
}

#[test]
fn v1_rerank_gives_cross_encoder_scores_best_first() {
    let r = Reference::load();
    let s = Server::serving(&rerankers(), None);
    for (q, query) in r.queries.iter().enumerate() {
        let want = r.of(&r.scores, q);
        // Documents as strings and as {"text"} objects, mixed (Cohere's and Jina's forms).
        let documents: Vec<Value> = r
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if i % 2 == 0 {
                    json!(d)
                } else {
                    json!({"text": d, "id": i})
                }
            })
            .collect();
        let body = s.ok(
            "/v1/rerank",
            &json!({"model": "rr", "query": query, "documents": documents}),
        );
        assert_eq!(body["model"], "rr");
        let results = &body["results"];
        let got = pairs(results, "relevance_score");
        assert_eq!(got.len(), r.documents.len());
        assert_ranked(&got, &want, query);
        // Documents come back (default), as sent.
        for res in results.as_array().unwrap() {
            let i = res["index"].as_u64().unwrap() as usize;
            assert_eq!(res["document"], json!({"text": r.documents[i]}));
        }
        // The tokens of every pair, as the reference tokenizer counted them.
        let n = r.documents.len();
        let tokens: usize = r.tokens[q * n..(q + 1) * n].iter().sum();
        assert_eq!(body["usage"]["total_tokens"], tokens, "{query}");

        // top_n keeps the best; return_documents: false leaves the texts out.
        let top = s.ok(
            "/v1/rerank",
            &json!({"model": "rr", "query": query, "documents": r.documents,
                    "top_n": 3, "return_documents": false}),
        );
        let top_pairs = pairs(&top["results"], "relevance_score");
        assert_eq!(top_pairs, got[..3], "{query}");
        assert!(top["results"][0].get("document").is_none(), "{top}");
        // More than there are is all of them.
        let all = s.ok(
            "/v1/rerank",
            &json!({"model": "rr", "query": query, "documents": r.documents, "top_n": 100}),
        );
        assert_eq!(pairs(&all["results"], "relevance_score"), got);
    }
}

#[test]
fn tei_rerank_gives_scores_or_raw_logits_best_first() {
    let r = Reference::load();
    let s = Server::serving(&[(spec("tiny-cross-encoder"), "rr")], None);
    for (q, query) in r.queries.iter().enumerate() {
        // No model field: the server's only reranker answers.
        let body = s.ok("/rerank", &json!({"query": query, "texts": r.documents}));
        let got = pairs(&body, "score");
        assert_eq!(got.len(), r.documents.len());
        assert_ranked(&got, &r.of(&r.scores, q), query);
        assert!(body[0].get("text").is_none(), "{body}");

        let raw = s.ok(
            "/rerank",
            &json!({"query": query, "texts": r.documents, "raw_scores": true,
                    "return_text": true, "truncate": true, "truncation_direction": "Right"}),
        );
        assert_ranked(&pairs(&raw, "score"), &r.of(&r.logits, q), query);
        for res in raw.as_array().unwrap() {
            let i = res["index"].as_u64().unwrap() as usize;
            assert_eq!(res["text"], r.documents[i]);
        }
        // The same model through the Cohere / Jina route: the same numbers.
        let cohere = s.ok(
            "/v1/rerank",
            &json!({"query": query, "documents": r.documents}),
        );
        assert_eq!(pairs(&cohere["results"], "relevance_score"), got);
        assert_eq!(cohere["model"], "rr");
    }
    // The reranker is listed with the other models.
    let (status, models) = s.call("GET", "/v1/models", None);
    assert_eq!(status, 200);
    assert_eq!(models["data"][0]["id"], "rr", "{models}");
    assert_eq!(s.call("GET", "/v1/models/rr", None).0, 200);
    let (_, info) = s.call("GET", "/info", None);
    let card = &info["models"][0];
    assert_eq!(
        (
            &card["id"],
            &card["task"],
            &card["labels"],
            &card["max_length"]
        ),
        (&json!("rr"), &json!("rerank"), &json!(1), &json!(64)),
        "{info}"
    );
}

/// Pairs of many requests at once are packed into shared forward passes by the engine; each
/// request still gets its own documents' scores.
#[test]
fn concurrent_rerank_requests_each_get_their_own_scores() {
    let r = Reference::load();
    let s = Server::serving(&[(spec("tiny-cross-encoder"), "rr")], None);
    std::thread::scope(|scope| {
        for t in 0..6 {
            let (s, r) = (&s, &r);
            scope.spawn(move || {
                let q = t % r.queries.len();
                // Each thread sends its own slice of the documents.
                let docs: Vec<usize> = (0..r.documents.len()).filter(|d| d % 2 == t % 2).collect();
                let texts: Vec<&str> = docs.iter().map(|&d| r.documents[d].as_str()).collect();
                let body = s.ok("/rerank", &json!({"query": r.queries[q], "texts": texts}));
                let want: Vec<f32> = docs.iter().map(|&d| r.of(&r.scores, q)[d]).collect();
                assert_ranked(&pairs(&body, "score"), &want, &format!("thread {t}"));
            });
        }
    });
}

#[test]
fn bad_rerank_requests_are_400_in_openais_envelope() {
    let s = Server::serving(&rerankers(), None);
    let thirteen: Vec<String> = (0..13).map(|i| format!("document {i}")).collect();
    let long = "word ".repeat(200);
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "/v1/rerank",
            json!({"model": "rr", "query": "", "documents": ["a"]}),
            "query",
            "query is empty",
        ),
        (
            "/v1/rerank",
            json!({"model": "rr", "query": "  \n", "documents": ["a"]}),
            "query",
            "query is empty",
        ),
        (
            "/v1/rerank",
            json!({"model": "rr", "query": "q", "documents": []}),
            "documents",
            "documents is empty",
        ),
        (
            "/v1/rerank",
            json!({"model": "rr", "query": "q", "documents": ["a"], "top_n": 0}),
            "top_n",
            "top_n must be at least 1",
        ),
        (
            "/v1/rerank",
            json!({"model": "rr", "query": "q", "documents": thirteen}),
            "documents",
            "too many documents: 13 given, at most 12",
        ),
        (
            "/v1/rerank",
            json!({"model": "rr", "query": "q", "documents": [{"title": "a"}]}),
            "documents",
            "documents[0] is an object without a string \"text\" field",
        ),
        (
            "/v1/rerank",
            json!({"model": "rr", "query": "q", "documents": ["a", 7]}),
            "documents",
            "documents[1] must be a string",
        ),
        (
            "/v1/rerank",
            json!({"model": "rr", "query": 3, "documents": ["a"]}),
            "query",
            "query must be a string",
        ),
        (
            "/v1/rerank",
            json!({"model": "bge", "query": "q", "documents": ["a"]}),
            "model",
            "\"bge\" is an embedding model, not a reranker",
        ),
        (
            "/v1/rerank",
            json!({"model": "classifier", "query": "q", "documents": ["a"]}),
            "model",
            "classifier with 3 labels, not a reranker",
        ),
        (
            "/v1/rerank",
            json!({"query": "q", "documents": ["a"]}),
            "model",
            "several rerankers (classifier, rr); name one",
        ),
        (
            "/rerank",
            json!({"model": "rr", "query": "", "texts": ["a"]}),
            "query",
            "query is empty",
        ),
        (
            "/rerank",
            json!({"model": "rr", "query": "q", "texts": []}),
            "texts",
            "texts is empty",
        ),
        (
            "/rerank",
            json!({"model": "rr", "query": "q", "texts": thirteen}),
            "texts",
            "too many texts: 13 given",
        ),
        (
            "/rerank",
            json!({"model": "rr", "query": "q", "documents": ["a"]}),
            "texts",
            "requests with \"documents\" in the Cohere / Jina schema go to /v1/rerank",
        ),
        (
            "/rerank",
            json!({"model": "rr", "query": "q", "texts": [long], "truncate": false}),
            "truncate",
            "1 (query, document) pair(s) exceed the model's maximum of 64 tokens",
        ),
        (
            "/rerank",
            json!({"model": "rr", "query": "q", "texts": ["a"], "truncation_direction": "Left"}),
            "truncation_direction",
            "not supported",
        ),
        (
            "/rerank",
            json!({"model": "bge", "query": "q", "texts": ["a"]}),
            "model",
            "is an embedding model",
        ),
        (
            "/v1/embeddings",
            json!({"model": "rr", "input": "a"}),
            "model",
            "\"rr\" is a reranker (cross-encoder)",
        ),
    ];
    for (path, body, param, needle) in cases {
        let (message, got_param) = s.fails(path, &body.to_string(), 400);
        assert!(message.contains(needle), "{path} {body}: {message}");
        assert_eq!(got_param, param, "{path} {body}: {message}");
    }
    // Malformed bodies and wrong types are 400 too.
    for (path, body) in [
        ("/v1/rerank", "{\"model\": \"rr\", \"query\": \"q\""),
        (
            "/v1/rerank",
            "{\"model\": \"rr\", \"query\": \"q\", \"documents\": \"a\"}",
        ),
        (
            "/v1/rerank",
            "{\"model\": \"rr\", \"query\": \"q\", \"documents\": [\"a\"], \"top_n\": -1}",
        ),
        (
            "/rerank",
            "{\"model\": \"rr\", \"query\": \"q\", \"texts\": [1]}",
        ),
    ] {
        s.fails(path, body, 400);
    }
    // An unknown model is a 404, as on /v1/embeddings.
    let (message, _) = s.fails(
        "/v1/rerank",
        &json!({"model": "nope", "query": "q", "documents": ["a"]}).to_string(),
        404,
    );
    assert!(message.contains("\"nope\" does not exist"), "{message}");
    // The long text is fine when it may be cut (the default).
    let cut = s.ok(
        "/rerank",
        &json!({"model": "rr", "query": "q", "texts": [long]}),
    );
    assert_eq!(cut.as_array().unwrap().len(), 1);

    // A server without a reranker says so.
    let embed_only = Server::serving(&[(spec("tiny-bge"), "bge")], None);
    let (message, _) = embed_only.fails(
        "/v1/rerank",
        &json!({"query": "q", "documents": ["a"]}).to_string(),
        400,
    );
    assert!(message.contains("serves no reranker"), "{message}");
}

/// The tiny cross-encoder whose word embedding of "poison" is NaN: any pair with that word
/// scores NaN, any other pair is untouched.
fn poisoned_cross_encoder(dir: &Path) -> String {
    let src = fixture("tiny-cross-encoder");
    let row = std::fs::read_to_string(src.join("vocab.txt"))
        .unwrap()
        .lines()
        .position(|l| l == "poison")
        .unwrap();
    let dst = dir.join("poisoned-cross-encoder");
    poisoned_copy(&src, &dst, |name, values| {
        if name == "bert.embeddings.word_embeddings.weight" {
            values[row * 32..(row + 1) * 32].fill(f32::NAN);
        }
    });
    dst.to_string_lossy().into_owned()
}

#[test]
fn nan_scores_are_a_500_model_error_naming_the_document() {
    let r = Reference::load();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::serving(
        &[
            (poisoned_cross_encoder(dir.path()), "rr"),
            (spec("tiny-bge"), "bge"),
        ],
        Some(&dir.path().join("kb.db").to_string_lossy()),
    );
    let query = &r.queries[2];
    for (path, body) in [
        (
            "/v1/rerank",
            json!({"query": query, "documents": ["a clean one", "poison ivy"]}),
        ),
        (
            "/rerank",
            json!({"query": query, "texts": ["a clean one", "poison ivy"]}),
        ),
    ] {
        let (status, json) = s.call("POST", path, Some(&body.to_string()));
        assert_eq!(status, 500, "{path}: {json}");
        let e = &json["error"];
        assert_eq!(
            (&e["type"], &e["code"]),
            (&json!("server_error"), &json!("model_error"))
        );
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains("document 1: the model produced a non-finite value (NaN or infinity)"),
            "{message}"
        );
    }
    // Documents without the word: the unpoisoned model's scores.
    let body = s.ok("/rerank", &json!({"query": query, "texts": r.documents}));
    assert_ranked(&pairs(&body, "score"), &r.of(&r.scores, 2), "clean");
    // A reranked collection search that meets the word: 500 too.
    s.ok(
        "/v1/collections/kb/documents",
        &json!({"model": "bge", "documents": [
            {"id": "clean", "text": "a clean one"}, {"id": "bad", "text": "poison ivy"}]}),
    );
    let (status, json) = s.call(
        "POST",
        "/v1/collections/kb/search",
        Some(&json!({"query": "ivy", "rerank": true}).to_string()),
    );
    assert_eq!(status, 500, "{json}");
    assert_eq!(json["error"]["code"], "model_error", "{json}");
}

/// Runs `test` once per store backend with a new, empty store's URL (PostgreSQL when
/// `EMBEDKIT_TEST_POSTGRES_URL` is set, in a schema of its own).
fn for_each_store(test: impl Fn(&str)) {
    let mut backends = vec![("sqlite", None)];
    match std::env::var("EMBEDKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => backends.push(("postgres", Some(url))),
        _ => eprintln!("EMBEDKIT_TEST_POSTGRES_URL is not set: PostgreSQL is not tested"),
    }
    for (backend, server) in backends {
        let dir = tempfile::tempdir().unwrap();
        let (store, _schema) = match server {
            None => (dir.path().join("kb.db").to_str().unwrap().to_string(), None),
            Some(server) => {
                let schema = TestSchema::new(&server, "rerank");
                (schema.url(), Some(schema))
            }
        };
        eprintln!("-- on {backend}: {store}");
        test(&store);
    }
}

/// The reference documents that the store keeps as one chunk of the same text (not the empty
/// one, the one with surrounding whitespace, or the paragraph longer than a chunk).
const STORED: [usize; 9] = [0, 1, 2, 3, 4, 8, 9, 10, 11];

#[test]
fn reranked_collection_search_gives_cross_encoder_scores_on_both_backends() {
    let r = Reference::load();
    for_each_store(|store| {
        let s = Server::serving(&rerankers(), Some(store));
        let documents: Vec<Value> = STORED
            .iter()
            .map(|&i| json!({"id": format!("d{i}"), "text": r.documents[i]}))
            .collect();
        s.ok(
            "/v1/collections/kb/documents",
            &json!({"model": "bge", "documents": documents}),
        );
        for (q, query) in r.queries.iter().enumerate() {
            let scores = r.of(&r.scores, q);
            let want: Vec<f32> = STORED.iter().map(|&i| scores[i]).collect();
            for mode in ["vector", "hybrid"] {
                // Every chunk is a candidate (the default 50), so the answer is the
                // cross-encoder's ranking of the collection.
                let hits = s.ok(
                    "/v1/collections/kb/search",
                    &json!({"query": query, "k": 4, "mode": mode, "rerank": "rr"}),
                );
                let got: Vec<(usize, f32)> = hits["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| {
                        let i: usize = h["id"].as_str().unwrap()[1..].parse().unwrap();
                        assert_eq!(h["text"], r.documents[i]);
                        let pos = STORED.iter().position(|&s| s == i).unwrap();
                        (pos, h["score"].as_f64().unwrap() as f32)
                    })
                    .collect();
                assert_eq!(got.len(), 4);
                assert_ranked(&got, &want, &format!("{store} {mode} {query}"));
                // The four are the best four.
                let mut sorted = want.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                assert!(got[3].1 >= sorted[4] - 2e-5, "{query}: {got:?} {sorted:?}");
                // `true` picks the only reranker, when there is one; here there are two.
                let (message, param) = s.fails(
                    "/v1/collections/kb/search",
                    &json!({"query": query, "rerank": true}).to_string(),
                    400,
                );
                assert_eq!(param, "rerank");
                assert!(message.contains("several rerankers"), "{message}");
            }
            // Fewer candidates: the reranked best of the vector search's best 3.
            let first = s.ok(
                "/v1/collections/kb/search",
                &json!({"query": query, "k": 3}),
            );
            let reranked = s.ok(
                "/v1/collections/kb/search",
                &json!({"query": query, "k": 2, "rerank": "rr", "rerank_candidates": 3}),
            );
            let pool: Vec<&str> = first["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["id"].as_str().unwrap())
                .collect();
            for h in reranked["data"].as_array().unwrap() {
                assert!(pool.contains(&h["id"].as_str().unwrap()), "{reranked}");
            }
        }
        for (body, param, needle) in [
            (
                json!({"query": "q", "rerank_candidates": 5}),
                "rerank_candidates",
                "add \"rerank\"",
            ),
            (
                json!({"query": "q", "k": 5, "rerank": "rr", "rerank_candidates": 4}),
                "rerank_candidates",
                "between k (5) and 1000",
            ),
            (
                json!({"query": "q", "rerank": "rr", "rerank_candidates": 1001}),
                "rerank_candidates",
                "between k (5) and 1000",
            ),
            (
                json!({"query": "q", "rerank": "bge"}),
                "rerank",
                "is an embedding model",
            ),
            (
                json!({"query": "q", "rerank": "classifier"}),
                "rerank",
                "3 labels",
            ),
            (
                json!({"query": "q", "rerank": 3}),
                "null",
                "does not match the request schema",
            ),
        ] {
            let (message, got_param) = s.fails("/v1/collections/kb/search", &body.to_string(), 400);
            assert!(message.contains(needle), "{body}: {message}");
            assert_eq!(got_param.to_string().trim_matches('"'), param, "{body}");
        }
    });
}
