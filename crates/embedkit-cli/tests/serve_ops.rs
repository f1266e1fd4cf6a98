//! `embedkit serve` as operations run it: configured by environment variables alone (and
//! flags winning over them), one access log line per request, and request latencies per
//! served model in `/metrics`.

mod common;

use common::{fixture, Server};
use embedkit_models::{Precision, SentenceEmbedder};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `embedkit serve` with none of the caller's `EMBEDKIT_*` / log variables, and `vars`.
fn serve_command(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embedkit"));
    cmd.arg("serve").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("EMBEDKIT_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(vars.iter().copied());
    cmd
}

fn json_get(s: &Server, path: &str, key: Option<&str>) -> Value {
    let (status, body) = s.get(path, key);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn serve_is_configured_by_environment_variables_alone() {
    let dir = tempfile::tempdir().unwrap();
    let bge = fixture("tiny-bge");
    let resnet = fixture("tiny-resnet");
    let models = format!(
        "{};{};openai:text-embedding-3-small",
        bge.display(),
        resnet.display()
    );
    let store = dir.path().join("kb.db");
    let mut cmd = serve_command(
        &[],
        &[
            ("EMBEDKIT_MODEL", &models),
            ("EMBEDKIT_SERVED_MODEL_NAME", "bge-a,bge-b;pictures;remote"),
            ("EMBEDKIT_HOST", "127.0.0.1"),
            ("EMBEDKIT_PORT", "0"),
            ("EMBEDKIT_API_KEY", "sk-from-env"),
            ("EMBEDKIT_MAX_BATCH_TOKENS", "1234"),
            ("EMBEDKIT_MAX_CLIENT_BATCH", "3"),
            ("EMBEDKIT_MAX_CONCURRENT_REQUESTS", "7"),
            ("EMBEDKIT_MAX_BODY_MB", "2"),
            ("EMBEDKIT_MAX_REQUEST_TOKENS", "5000"),
            ("EMBEDKIT_MAX_REQUEST_PIXELS", "123456"),
            ("EMBEDKIT_MAX_INFLIGHT_TOKENS", "777777"),
            ("EMBEDKIT_MAX_INFLIGHT_PIXELS", "888888"),
            ("EMBEDKIT_MAX_INFLIGHT_BODY_MB", "3"),
            ("EMBEDKIT_ALLOW_EMPTY", "true"),
            ("EMBEDKIT_CORS_ALLOW_ORIGIN", "https://example.org"),
            ("EMBEDKIT_UPSTREAM_BASE_URL", "http://127.0.0.1:9/v1"),
            ("EMBEDKIT_UPSTREAM_API_KEY_ENV", "EMBEDKIT_TEST_UNSET_KEY"),
            ("EMBEDKIT_CACHE_ENTRIES", "5"),
            ("EMBEDKIT_PRECISION", "bf16"),
            ("EMBEDKIT_STORE", store.to_str().unwrap()),
            ("EMBEDKIT_THREADS", "1"),
        ],
    );
    cmd.stderr(Stdio::inherit());
    let s = Server::start_command(cmd);
    assert!(s.url.starts_with("http://127.0.0.1:"), "{}", s.url);
    let key = Some("sk-from-env");

    // The names, one model's aliases split on ',' and the models on ';'.
    assert_eq!(
        s.get("/v1/models", None).0,
        401,
        "the key came from the environment"
    );
    let list = json_get(&s, "/v1/models", key);
    let names: BTreeSet<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["bge-a", "bge-b", "pictures", "remote"])
    );

    // /info: every limit as the variables set it, the remote model's upstream, the text
    // model's weights in bf16 (as loading it in bf16 here gives, and not as in f32).
    let info = json_get(&s, "/info", key);
    assert_eq!(
        info["limits"],
        json!({
            "max_batch_tokens": 1234,
            "max_client_batch": 3,
            "max_request_tokens": 5000,
            "max_request_pixels": 123456,
            "max_concurrent_requests": 7,
            "max_body_bytes": 2 << 20,
            "max_inflight_tokens": 777777,
            "max_inflight_pixels": 888888,
            "max_inflight_body_bytes": 3 << 20,
            // 7 requests × 32 KiB + 3 MiB × 2 + 777777 tokens × 100 + 888888 pixels × 12.
            "inflight_memory_bound_bytes": 94965188,
            "allow_empty": true,
        })
    );
    let card = |id: &str| {
        info["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in {info}"))
            .clone()
    };
    assert_eq!(card("remote")["base_url"], "http://127.0.0.1:9/v1");
    assert_eq!(card("pictures")["modality"], "image");
    let weights = |p| {
        SentenceEmbedder::from_folder_with(&bge, p)
            .unwrap()
            .info()
            .weight_bytes
    };
    assert_eq!(card("bge-a")["weight_bytes"], weights(Precision::Bf16));
    assert_ne!(weights(Precision::Bf16), weights(Precision::F32));

    // The limits act: four inputs are over the client batch, an empty string is embedded.
    let (status, body) = s.post(
        "/v1/embeddings",
        key,
        &json!({"model": "bge-b", "input": ["a", "b", "c", "d"]}).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 3"));
    let (status, body) = s.post(
        "/v1/embeddings",
        key,
        &json!({"model": "bge-a", "input": ""}).to_string(),
    );
    assert_eq!(status, 200, "{body}");

    // CORS for the origin given, and the store's routes.
    let r = ureq::get(&format!("{}/v1/models", s.url))
        .set("Authorization", "Bearer sk-from-env")
        .set("Origin", "https://example.org")
        .call()
        .unwrap();
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://example.org")
    );
    let collections = json_get(&s, "/v1/collections", key);
    assert_eq!(collections["object"], "list");
}

#[test]
fn flags_win_over_their_variables() {
    let bge = fixture("tiny-bge");
    let mut cmd = serve_command(
        &["--port", "0", "--max-client-batch", "5"],
        &[
            ("EMBEDKIT_MODEL", bge.to_str().unwrap()),
            // Not a port: read only if --port is missing.
            ("EMBEDKIT_PORT", "not-a-port"),
            ("EMBEDKIT_MAX_CLIENT_BATCH", "3"),
            ("EMBEDKIT_ALLOW_EMPTY", "false"),
        ],
    );
    cmd.stderr(Stdio::inherit());
    let s = Server::start_command(cmd);
    let info = json_get(&s, "/info", None);
    assert_eq!(info["limits"]["max_client_batch"], 5);
    assert_eq!(info["limits"]["allow_empty"], false);
    assert_eq!(info["models"][0]["id"], "tiny-bge");

    // A variable that does not parse is an argument error naming it.
    let out = serve_command(&[], &[("EMBEDKIT_MODEL", "x"), ("EMBEDKIT_PORT", "http")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--port"), "{err}");
}

/// One access log line: `... INFO embedkit_server::access: method=M path=P status=S
/// latency_ms=L model=N`, its fields by name.
fn access_fields(line: &str) -> Option<Vec<(String, String)>> {
    let (_, fields) = line.split_once("embedkit_server::access: ")?;
    Some(
        fields
            .split(' ')
            .map(|f| {
                let (k, v) = f.split_once('=').unwrap_or_else(|| panic!("{line}"));
                (k.to_string(), v.to_string())
            })
            .collect(),
    )
}

#[test]
fn every_request_gets_an_access_log_line_and_a_latency_per_model() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let bge = fixture("tiny-bge");
    let models = format!("{};{}", bge.display(), bge.display());
    let mut cmd = serve_command(
        &["--port", "0"],
        &[
            ("EMBEDKIT_MODEL", &models),
            ("EMBEDKIT_SERVED_MODEL_NAME", "first;second"),
            ("RUST_LOG", "embedkit_server::access=info"),
            ("EMBEDKIT_STORE", dir.path().join("kb.db").to_str().unwrap()),
        ],
    );
    cmd.stderr(std::fs::File::create(&log).unwrap());
    let s = Server::start_command(cmd);

    // Requests of every kind, each timed by the client.
    let body = |model: &str| json!({"model": model, "input": ["a", "b c"]}).to_string();
    let mut client_seconds = 0.0;
    let mut sent: Vec<(&str, &str, u16, &str)> = Vec::new();
    for (model, n) in [("first", 3), ("second", 2)] {
        for _ in 0..n {
            let t = Instant::now();
            assert_eq!(s.post("/v1/embeddings", None, &body(model)).0, 200);
            client_seconds += t.elapsed().as_secs_f64();
            sent.push(("POST", "/v1/embeddings", 200, model));
        }
    }
    let t = Instant::now();
    let (status, _) = s.post(
        "/v1/collections/kb/documents",
        None,
        &json!({"model": "second", "documents": [{"id": "d", "text": "a document"}]}).to_string(),
    );
    client_seconds += t.elapsed().as_secs_f64();
    assert_eq!(status, 200);
    sent.push(("POST", "/v1/collections/kb/documents", 200, "second"));
    // No served model: no latency series, and "-" in the log.
    assert_eq!(s.post("/v1/embeddings", None, &body("nope")).0, 404);
    sent.push(("POST", "/v1/embeddings", 404, "-"));
    assert_eq!(s.get("/v1/models", None).0, 200);
    sent.push(("GET", "/v1/models", 200, "-"));
    let (_, metrics) = s.get("/metrics", None);

    // The log: one line per request, in order, with its fields (the /health polls of the
    // start come first).
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log file:\n{text}"
    );
    let lines: Vec<Vec<(String, String)>> = text
        .lines()
        .filter_map(access_fields)
        .filter(|f| f[1].1 != "/health")
        .collect();
    assert_eq!(lines.len(), sent.len() + 1, "{text}");
    for (fields, (method, path, status, model)) in lines.iter().zip(&sent) {
        let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["method", "path", "status", "latency_ms", "model"]);
        assert_eq!(fields[0].1, *method);
        assert_eq!(fields[1].1, *path);
        assert_eq!(fields[2].1, status.to_string());
        let ms: f64 = fields[3].1.parse().unwrap();
        assert!((0.0..60_000.0).contains(&ms), "{ms}");
        assert_eq!(fields[4].1, *model);
    }
    // The last line is the /metrics request itself.
    assert_eq!(lines.last().unwrap()[1].1, "/metrics");
    // Each line starts with a timestamp (serve logs the time).
    let first = text.lines().find(|l| l.contains("access")).unwrap();
    assert!(first.starts_with("20") && first.contains('T'), "{first}");

    // /metrics: one histogram per served name, counts as sent, cumulative buckets, and a
    // sum no larger than the clients' own timings of the same requests.
    let samples = parse_exposition(&metrics);
    let series = |name: &str, model: &str| -> Vec<(String, f64)> {
        samples
            .iter()
            .filter(|(n, labels, _)| {
                n == name && labels.get("model").map(String::as_str) == Some(model)
            })
            .map(|(_, labels, v)| (labels.get("le").cloned().unwrap_or_default(), *v))
            .collect()
    };
    let mut total_sum = 0.0;
    for (model, count) in [("first", 3.0), ("second", 3.0)] {
        let buckets = series("embedkit_request_duration_seconds_bucket", model);
        assert!(buckets.len() > 5, "{metrics}");
        assert_eq!(buckets.last().unwrap(), &("+Inf".to_string(), count));
        assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
        let bounds: Vec<f64> = buckets[..buckets.len() - 1]
            .iter()
            .map(|(le, _)| le.parse().unwrap())
            .collect();
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
        assert_eq!(
            series("embedkit_request_duration_seconds_count", model),
            [(String::new(), count)]
        );
        total_sum += series("embedkit_request_duration_seconds_sum", model)[0].1;
    }
    assert!(
        total_sum > 0.0 && total_sum <= client_seconds,
        "{total_sum} > {client_seconds}"
    );
    let models: BTreeSet<&str> = samples
        .iter()
        .filter_map(|(_, labels, _)| labels.get("model").map(String::as_str))
        .collect();
    assert_eq!(models, BTreeSet::from(["first", "second"]));
    // The server is still up: the log is written as requests finish, not at exit.
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(s.get("/health", None).0, 200);
}

/// The samples of a Prometheus text exposition, checked line by line against the format:
/// `# HELP` / `# TYPE` comments, then `name{label="value",...} number` or `name number`,
/// every sample's family declared by a `# TYPE` before it.
fn parse_exposition(text: &str) -> Vec<(String, std::collections::BTreeMap<String, String>, f64)> {
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                ["counter", "gauge", "histogram", "summary"].contains(&kind),
                "{line}"
            );
            declared.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (head, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line:?}"));
        let (name, labels) = match head.split_once('{') {
            None => (head, Default::default()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line:?}"));
                let mut labels = std::collections::BTreeMap::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line:?}"));
                    labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
                }
                (name, labels)
            }
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line:?}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains(*f)))
            .unwrap_or(name);
        assert!(declared.contains(family), "{name} has no # TYPE before it");
        out.push((name.to_string(), labels, value));
    }
    out
}
