//! The `/v1/collections` routes on a real loopback server: documents in, ranked chunks out,
//! filters, deletes, auth, every error in OpenAI's envelope, and concurrent use; each test on
//! both store backends.

use embedkit_core::Embedder;
use embedkit_models::SentenceEmbedder;
use embedkit_server::{routes, AppState, ModelSpec, ServerConfig};
use embedkit_store::testing::TestSchema;
use embedkit_store::{Collection, Distance, Modality, Storage, Store};
use serde_json::{json, Value};
use std::path::PathBuf;

const KEY: &str = "sk-store-test";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny_bge() -> String {
    root()
        .join("testdata/fixtures/tiny-bge")
        .to_string_lossy()
        .into_owned()
}

fn minilm() -> String {
    root()
        .join("models/all-MiniLM-L6-v2")
        .to_string_lossy()
        .into_owned()
}

/// A server on a free loopback port, in this process.
struct Server {
    base: String,
    key: Option<&'static str>,
    db: String,
}

impl Server {
    /// Serves `models` (each with its served names, comma-separated), and the store at `store`
    /// (a URL from [`for_each_store`]) if given.
    fn start(models: &[(&str, &str)], key: Option<&'static str>, store: Option<&str>) -> Self {
        let db = store.unwrap_or_default().to_string();
        let config = ServerConfig {
            models: models
                .iter()
                .map(|(spec, names)| ModelSpec {
                    spec: spec.to_string(),
                    served_names: names.split(',').map(str::to_string).collect(),
                })
                .collect(),
            port: 0,
            api_key: key.map(str::to_string),
            store: store.map(str::to_string),
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
        let addr = rx.recv().unwrap();
        Self {
            base: format!("http://{addr}"),
            key,
            db,
        }
    }

    /// Sends `body` (raw text, so malformed JSON can be sent) and returns status and JSON.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        self.call_with_key(method, path, body, self.key)
    }

    fn call_with_key(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = ureq::request(method, &format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
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

    fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, json) = self.call(method, path, Some(&body.to_string()));
        assert_eq!(status, 200, "{method} {path}: {json}");
        json
    }

    /// Asserts an OpenAI error envelope with `status`, and returns its message.
    fn fails(&self, method: &str, path: &str, body: Option<&str>, status: u16) -> String {
        let (got, json) = self.call(method, path, body);
        assert_eq!(got, status, "{method} {path} {body:?}: {json}");
        let e = &json["error"];
        assert!(
            e["type"].is_string() && e.get("param").is_some() && e.get("code").is_some(),
            "{json}"
        );
        e["message"].as_str().unwrap().to_string()
    }
}

/// Runs `test` once per store backend with a new, empty store's URL: an SQLite file in a
/// temporary folder, then, when `EMBEDKIT_TEST_POSTGRES_URL` names a server with pgvector
/// (`scripts/test.sh` sets one up), a PostgreSQL schema of its own (so tests running in
/// parallel never meet), dropped when the run ends, failed or not. Without the variable
/// PostgreSQL is skipped with a notice.
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
                let schema = TestSchema::new(&server, "server");
                (schema.url(), Some(schema))
            }
        };
        eprintln!("-- on {backend}: {store}");
        let start = std::time::Instant::now();
        test(&store);
        eprintln!("-- on {backend}: {:.1} s", start.elapsed().as_secs_f64());
    }
}

fn ids(hits: &Value) -> Vec<String> {
    hits["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

const DOCS: [(&str, &str, &str, i64); 4] = [
    (
        "cats",
        "Cats sleep most of the day and purr when they are happy.",
        "en",
        2001,
    ),
    (
        "stocks",
        "The stock market fell sharply after the central bank raised interest rates.",
        "en",
        2008,
    ),
    (
        "pasta",
        "Boil the pasta in salted water and serve it with tomato sauce.",
        "en",
        2001,
    ),
    (
        "katzen",
        "Katzen schlafen viel und schnurren, wenn sie zufrieden sind.",
        "de",
        2001,
    ),
];

fn documents() -> Value {
    json!({"documents": DOCS.iter().map(|(id, text, lang, year)| json!({
        "id": id, "text": text, "metadata": {"lang": lang, "year": year}
    })).collect::<Vec<_>>()})
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn added_documents_are_found_best_first_with_the_models_scores() {
    for_each_store(|store| {
        let s = Server::start(&[(&minilm(), "minilm")], None, Some(store));
        let added = s.ok("POST", "/v1/collections/kb/documents", documents());
        assert_eq!(added["object"], "collection.add");
        assert_eq!(added["model"], "minilm");
        assert_eq!(
            (added["added"].as_u64(), added["skipped"].as_u64()),
            (Some(4), Some(0))
        );
        assert_eq!(added["chunks"], 4);

        let question = "Why do cats purr?";
        let hits = s.ok(
            "POST",
            "/v1/collections/kb/search",
            json!({"query": question, "k": 4}),
        );
        assert_eq!(hits["object"], "list");
        let got = ids(&hits);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], "cats", "{hits}");
        // Scores are the model's cosine similarities, computed here independently, best first.
        let model = SentenceEmbedder::from_folder(&root().join("models/all-MiniLM-L6-v2")).unwrap();
        let q = model.embed_query(question).unwrap();
        let mut last = f32::INFINITY;
        for h in hits["data"].as_array().unwrap() {
            let (id, text, lang, year) = DOCS.iter().find(|d| d.0 == h["id"]).unwrap();
            let d = model.embed_documents(&[text]).unwrap().remove(0);
            let score = h["score"].as_f64().unwrap() as f32;
            assert!((score - dot(&q, &d)).abs() < 1e-4, "{id}: {score}");
            assert!(score <= last);
            last = score;
            assert_eq!(h["text"], *text);
            assert_eq!(h["chunk"], 0);
            assert_eq!(h["metadata"], json!({"lang": lang, "year": year}));
        }

        // The same documents again are skipped; a changed one is written.
        let again = s.ok("POST", "/v1/collections/kb/documents", documents());
        assert_eq!(
            (again["added"].as_u64(), again["skipped"].as_u64()),
            (Some(0), Some(4))
        );
        let changed = s.ok(
            "POST",
            "/v1/collections/kb/documents",
            json!({"documents": [{"id": "pasta", "text": "Risotto needs constant stirring."}]}),
        );
        assert_eq!(changed["added"], 1);

        // Keyword search finds the exact rare term; hybrid keeps it on top.
        for mode in ["keyword", "hybrid"] {
            let hits = s.ok(
                "POST",
                "/v1/collections/kb/search",
                json!({"query": "Risotto", "k": 2, "mode": mode}),
            );
            assert_eq!(ids(&hits)[0], "pasta", "{mode}: {hits}");
        }

        // Small chunks: more chunks, each one a hit of its own.
        let chunked = s.ok(
        "POST",
        "/v1/collections/small/documents",
        json!({"documents": [{"id": "long", "text": "One sentence here. Another one there. A third sentence follows. And a fourth."}],
               "chunk_size": 6}),
    );
        assert!(chunked["chunks"].as_u64().unwrap() >= 3, "{chunked}");
        let listed = s.ok("GET", "/v1/collections", Value::Null);
        let small = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "small")
            .unwrap();
        assert_eq!(small["chunks"], chunked["chunks"]);
        assert_eq!(small["documents"], 1);
        assert_eq!(small["dimensions"], 384);
        assert_eq!(small["model"], minilm());
    });
}

#[test]
fn filters_and_deletes_by_id_and_by_filter() {
    for_each_store(|store| {
        let s = Server::start(&[(&tiny_bge(), "bge")], None, Some(store));
        s.ok("POST", "/v1/collections/kb/documents", documents());
        let search = |filter: Value| {
            let mut got = ids(&s.ok(
                "POST",
                "/v1/collections/kb/search",
                json!({"query": "sleep", "k": 10, "filter": filter}),
            ));
            got.sort();
            got
        };
        assert_eq!(search(json!({"lang": "de"})), ["katzen"]);
        assert_eq!(
            search(json!({"year": 2001, "lang": "en"})),
            ["cats", "pasta"]
        );
        assert_eq!(search(json!({"year": 2008})), ["stocks"]);
        assert!(search(json!({"lang": "fr"})).is_empty());

        // By id (the route), then missing ids are 404.
        let deleted = s.ok("DELETE", "/v1/collections/kb/documents/cats", Value::Null);
        assert_eq!(
            deleted,
            json!({"id": "cats", "object": "document", "deleted": true})
        );
        assert_eq!(search(json!({"year": 2001})), ["katzen", "pasta"]);
        s.fails("DELETE", "/v1/collections/kb/documents/cats", None, 404);

        // Ids with a slash, as `embedkit index` makes them from file names.
        s.ok(
            "POST",
            "/v1/collections/kb/documents",
            json!({"documents": [{"id": "notes/a.md:3", "text": "sleep well"}]}),
        );
        s.ok(
            "DELETE",
            "/v1/collections/kb/documents/notes/a.md:3",
            Value::Null,
        );

        // By filter, and by a list of ids (a missing one is not counted).
        let by_filter = s.ok(
            "POST",
            "/v1/collections/kb/delete",
            json!({"filter": {"lang": "de"}}),
        );
        assert_eq!(by_filter["deleted"], 1);
        let by_ids = s.ok(
            "POST",
            "/v1/collections/kb/delete",
            json!({"ids": ["pasta", "nope"]}),
        );
        assert_eq!(by_ids["deleted"], 1);
        assert_eq!(search(json!({})), ["stocks"]);

        // Dropping the collection.
        let dropped = s.ok("DELETE", "/v1/collections/kb", Value::Null);
        assert_eq!(dropped["deleted"], true);
        assert_eq!(
            s.ok("GET", "/v1/collections", Value::Null)["data"],
            json!([])
        );
    });
}

#[test]
fn store_routes_need_the_api_key() {
    for_each_store(|store| {
        let s = Server::start(&[(&tiny_bge(), "bge")], Some(KEY), Some(store));
        let body = documents().to_string();
        for (method, path, body) in [
            ("GET", "/v1/collections", None),
            ("POST", "/v1/collections/kb/documents", Some(body.as_str())),
            (
                "POST",
                "/v1/collections/kb/search",
                Some(r#"{"query":"x"}"#),
            ),
            (
                "POST",
                "/v1/collections/kb/delete",
                Some(r#"{"ids":["x"]}"#),
            ),
            ("DELETE", "/v1/collections/kb/documents/x", None),
            ("DELETE", "/v1/collections/kb", None),
        ] {
            for key in [None, Some("sk-wrong")] {
                let (status, json) = s.call_with_key(method, path, body, key);
                assert_eq!(status, 401, "{method} {path} {key:?}");
                assert_eq!(json["error"]["code"], "invalid_api_key");
            }
        }
        // Nothing was written by the rejected calls.
        assert_eq!(
            s.ok("GET", "/v1/collections", Value::Null)["data"],
            json!([])
        );
        s.ok("POST", "/v1/collections/kb/documents", documents());
        assert_eq!(
            s.ok("GET", "/v1/collections", Value::Null)["data"][0]["documents"],
            4
        );
    });
}

#[test]
fn bad_requests_get_clear_errors_in_the_envelope() {
    for_each_store(|store| {
        let s = Server::start(&[(&tiny_bge(), "bge")], None, Some(store));
        s.ok("POST", "/v1/collections/kb/documents", documents());
        let add = "/v1/collections/kb/documents";
        let search = "/v1/collections/kb/search";

        // Unknown collection.
        let m = s.fails(
            "POST",
            "/v1/collections/nope/search",
            Some(r#"{"query":"x"}"#),
            404,
        );
        assert!(m.contains("unknown collection \"nope\""), "{m}");
        let (_, json) = s.call(
            "POST",
            "/v1/collections/nope/search",
            Some(r#"{"query":"x"}"#),
        );
        assert_eq!(json["error"]["code"], "collection_not_found");
        s.fails("DELETE", "/v1/collections/nope", None, 404);
        s.fails(
            "POST",
            "/v1/collections/nope/delete",
            Some(r#"{"ids":["a"]}"#),
            404,
        );
        s.fails("DELETE", "/v1/collections/nope/documents/a", None, 404);

        // Malformed JSON and wrong types.
        let m = s.fails("POST", search, Some(r#"{"query": "x""#), 400);
        assert!(m.contains("not valid JSON"), "{m}");
        for body in [
            r#"{"query": 3}"#,
            r#"{"query": "x", "k": "five"}"#,
            r#"{"query": "x", "k": -1}"#,
            r#"{"query": "x", "k": 1e400}"#,
            r#"{"query": "x", "k": 99999999999999999999999}"#,
            r#"{"query": "x", "mode": "fuzzy"}"#,
            r#"{"query": "x", "filter": "lang=en"}"#,
            r#"{"query": "x", "filters": {"lang": "en"}}"#,
            r#"{"k": 3}"#,
        ] {
            s.fails("POST", search, Some(body), 400);
        }
        for body in [
            r#"{"documents": "text"}"#,
            r#"{"documents": [{"id": 1, "text": "x"}]}"#,
            r#"{"documents": [{"id": "a"}]}"#,
            r#"{"documents": [{"id": "a", "text": "x", "metadata": [1]}]}"#,
            r#"{"documents": [{"id": "", "text": "x"}]}"#,
            r#"{"documents": []}"#,
            r#"{"documents": [{"id": "a", "text": "x"}], "chunk_size": 0}"#,
            r#"{"documents": [{"id": "a", "text": "x"}], "chunk_size": 8, "chunk_overlap": 8}"#,
            r#"{"documents": [{"id": "a", "text": "x"}], "chunk_size": 100000}"#,
            r#"{"documents": [{"id": "a", "text": "x"}], "storage": "f64"}"#,
            r#"{"documents": [{"id": "a", "text": "x"}], "model": "other"}"#,
        ] {
            s.fails("POST", add, Some(body), 400);
        }

        // k out of range.
        for k in [0u64, 1001, 1 << 40] {
            let m = s.fails(
                "POST",
                search,
                Some(&json!({"query": "x", "k": k}).to_string()),
                400,
            );
            assert!(m.contains("k must be between 1 and 1000"), "{m}");
        }
        // Filters: nested values and keys the store cannot take.
        for filter in [
            json!({"lang": ["en"]}),
            json!({"lang": null}),
            json!({"a=b": "c"}),
            json!({"l'": "c"}),
            json!({"": "c"}),
        ] {
            let body = json!({"query": "x", "filter": filter}).to_string();
            let (status, json) = s.call("POST", search, Some(&body));
            assert_eq!(status, 400, "{filter}: {json}");
            assert_eq!(json["error"]["param"], "filter");
        }
        // Deletes: exactly one of ids and filter, and no empty filter.
        for body in [
            r#"{}"#,
            r#"{"ids": ["a"], "filter": {"lang": "en"}}"#,
            r#"{"filter": {}}"#,
        ] {
            s.fails("POST", "/v1/collections/kb/delete", Some(body), 400);
        }
        // Bad collection names.
        s.fails(
            "POST",
            "/v1/collections/bad%20name/documents",
            Some(&documents().to_string()),
            400,
        );

        // A collection built with a model this server does not serve.
        Store::open(&s.db)
            .unwrap()
            .create_collection(&Collection {
                name: "foreign".into(),
                model: "some-org/other-model".into(),
                dimensions: 32,
                normalized: true,
                distance: Distance::Cosine,
                storage: Storage::F32,
                modality: Modality::Text,
            })
            .unwrap();
        for (path, body) in [
            (
                "/v1/collections/foreign/search",
                r#"{"query":"x"}"#.to_string(),
            ),
            ("/v1/collections/foreign/documents", documents().to_string()),
        ] {
            let m = s.fails("POST", path, Some(&body), 404);
            assert!(
                m.contains("some-org/other-model") && m.contains("bge"),
                "{m}"
            );
        }

        // After all that the store is intact and the server answers.
        assert_eq!(
            s.ok("GET", "/v1/collections", Value::Null)["data"][1]["documents"],
            4
        );
        let (status, _) = s.call("GET", "/health", None);
        assert!(status == 200 || status == 503);
    });
}

#[test]
fn several_served_models_need_a_name_for_a_new_collection() {
    for_each_store(|store| {
        let s = Server::start(
            &[
                (&tiny_bge(), "bge"),
                (
                    &root()
                        .join("testdata/fixtures/tiny-mpnet")
                        .to_string_lossy(),
                    "mpnet",
                ),
            ],
            None,
            Some(store),
        );
        let m = s.fails(
            "POST",
            "/v1/collections/kb/documents",
            Some(&documents().to_string()),
            400,
        );
        assert!(m.contains("bge, mpnet"), "{m}");
        let mut body = documents();
        body["model"] = json!("mpnet");
        assert_eq!(
            s.ok("POST", "/v1/collections/kb/documents", body.clone())["model"],
            "mpnet"
        );
        // The collection keeps its model: asking for another is an error, none is fine.
        body["model"] = json!("bge");
        let m = s.fails(
            "POST",
            "/v1/collections/kb/documents",
            Some(&body.to_string()),
            400,
        );
        assert!(m.contains("built with mpnet"), "{m}");
        s.fails(
            "POST",
            "/v1/collections/new/documents",
            Some(r#"{"documents":[{"id":"a","text":"b"}],"model":"gone"}"#),
            404,
        );
        let hits = s.ok(
            "POST",
            "/v1/collections/kb/search",
            json!({"query": "cats"}),
        );
        assert_eq!(ids(&hits).len(), 4);
    });
}

/// A model served under several names builds and searches one collection whichever of its
/// names a request gives; answers echo the name given (the first when none is).
#[test]
fn aliases_of_one_model_share_its_collections() {
    for_each_store(|store| {
        let mpnet = root().join("testdata/fixtures/tiny-mpnet");
        let s = Server::start(
            &[
                (&tiny_bge(), "bge,bge-alias"),
                (&mpnet.to_string_lossy(), "mpnet"),
            ],
            None,
            Some(store),
        );
        let m = s.fails(
            "POST",
            "/v1/collections/kb/documents",
            Some(&documents().to_string()),
            400,
        );
        assert!(m.contains("bge / bge-alias, mpnet"), "{m}");
        let mut body = documents();
        body["model"] = json!("bge-alias");
        let added = s.ok("POST", "/v1/collections/kb/documents", body.clone());
        assert_eq!(
            (added["model"].clone(), added["added"].clone()),
            (json!("bge-alias"), json!(4))
        );
        body["model"] = json!("bge");
        let again = s.ok("POST", "/v1/collections/kb/documents", body.clone());
        assert_eq!(
            (again["model"].clone(), again["skipped"].clone()),
            (json!("bge"), json!(4))
        );
        body.as_object_mut().unwrap().remove("model");
        assert_eq!(
            s.ok("POST", "/v1/collections/kb/documents", body.clone())["model"],
            "bge"
        );
        body["model"] = json!("mpnet");
        let m = s.fails(
            "POST",
            "/v1/collections/kb/documents",
            Some(&body.to_string()),
            400,
        );
        assert!(m.contains("built with bge / bge-alias"), "{m}");
        let hits = s.ok(
            "POST",
            "/v1/collections/kb/search",
            json!({"query": "cats"}),
        );
        assert_eq!(ids(&hits).len(), 4);
    });
}

#[test]
fn without_a_store_the_routes_are_absent() {
    let s = Server::start(&[(&tiny_bge(), "bge")], None, None);
    let m = s.fails("GET", "/v1/collections", None, 404);
    assert!(m.contains("no such route"), "{m}");
}

#[test]
fn concurrent_adds_and_searches_all_succeed_and_add_up() {
    for_each_store(|store| {
        let s = std::sync::Arc::new(Server::start(&[(&tiny_bge(), "bge")], None, Some(store)));
        s.ok(
            "POST",
            "/v1/collections/kb/documents",
            json!({"documents": [{"id": "seed", "text": "the first document"}]}),
        );
        let writers = 4;
        let per_writer = 10;
        let mut handles = Vec::new();
        for w in 0..writers {
            let s = s.clone();
            handles.push(std::thread::spawn(move || {
            for i in 0..per_writer {
                let body = json!({"documents": [
                    {"id": format!("w{w}-{i}"), "text": format!("writer {w} wrote document {i}"), "metadata": {"writer": w}}
                ]});
                s.ok("POST", "/v1/collections/kb/documents", body);
            }
        }));
        }
        for r in 0..4 {
            let s = s.clone();
            handles.push(std::thread::spawn(move || {
                for _ in 0..15 {
                    let hits = s.ok(
                        "POST",
                        "/v1/collections/kb/search",
                        json!({"query": format!("document {r}"), "k": 5}),
                    );
                    let got = ids(&hits);
                    assert!(!got.is_empty() && got.len() <= 5, "{hits}");
                    assert!(got.iter().all(|id| id == "seed" || id.starts_with('w')));
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        let listed = s.ok("GET", "/v1/collections", Value::Null);
        assert_eq!(listed["data"][0]["documents"], 1 + writers * per_writer);
        assert_eq!(listed["data"][0]["chunks"], 1 + writers * per_writer);
        for w in 0..writers {
            let hits = s.ok(
                "POST",
                "/v1/collections/kb/search",
                json!({"query": "document", "k": 100, "filter": {"writer": w}}),
            );
            assert_eq!(ids(&hits).len(), per_writer);
        }
    });
}
