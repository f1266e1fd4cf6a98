//! Code written for OpenAI's embeddings API, run against `embedkit serve` with only
//! `base_url` changed: the real all-mpnet-base-v2 (768-d) served under both of OpenAI's
//! embedding model names, asked for `dimensions=512` with `api_key=""`, through the official
//! SDK and through LangChain. Every vector must be the first 512 components of
//! sentence-transformers' own vector (`testdata/fixtures/reference/all-mpnet-base-v2/`),
//! re-normalized.
//!
//! The snippets are Python files under `tests/python/`; this test substitutes the server's
//! address into their `base_url` and changes nothing else.

mod common;

use common::Server;
use embedkit_core::vector;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

const NAMES: &str = "text-embedding-3-large,text-embedding-3-small";
/// The address the snippets are written with (a default `embedkit serve`).
const WRITTEN_URL: &str = "base_url=\"http://127.0.0.1:8080/v1/\"";
const DIMENSIONS: usize = 512;
/// What the current SDK says when it refuses `api_key=""` in its constructor.
const SDK_REFUSAL: &str = "Missing credentials";
/// The documented way to run the code unchanged with an SDK that refuses an empty key: an
/// admin key gets the constructor past its check, and the Authorization header from
/// `OPENAI_CUSTOM_HEADERS` is what the SDK then sends (embedkit without `--api-key` ignores it).
const UNCHANGED_CODE_ENV: [(&str, &str); 2] = [
    ("OPENAI_ADMIN_KEY", "unused"),
    ("OPENAI_CUSTOM_HEADERS", "Authorization: Bearer unused"),
];

fn mpnet() -> PathBuf {
    let dir = std::env::var_os("EMBEDKIT_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::root().join("models"))
        .join("all-mpnet-base-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run scripts/fetch-models.sh",
        dir.display()
    );
    dir
}

/// sentence-transformers' full vectors, by text.
fn reference() -> Vec<(String, Vec<f32>)> {
    let dir = common::fixture("reference/all-mpnet-base-v2");
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("texts.json")).unwrap()).unwrap();
    let file = std::fs::File::open(dir.join("embeddings.npy")).unwrap();
    let a = embedkit_core::npy::read_f32(file).unwrap();
    assert_eq!(a.shape, [texts.len(), 768]);
    texts
        .into_iter()
        .zip(a.data.chunks_exact(768).map(<[f32]>::to_vec))
        .collect()
}

/// The first `n` components of `v`, at unit length (what OpenAI's `dimensions` gives),
/// computed here in f64 rather than with embedkit's own helper.
fn shortened(v: &[f32], n: usize) -> Vec<f32> {
    let head = &v[..n];
    let norm = head
        .iter()
        .map(|&x| f64::from(x).powi(2))
        .sum::<f64>()
        .sqrt();
    head.iter().map(|&x| (f64::from(x) / norm) as f32).collect()
}

/// The Python with the current `openai` SDK and LangChain (scripts/python-test-env.sh).
fn current_clients() -> String {
    std::env::var("EMBEDKIT_TEST_PYTHON").expect("EMBEDKIT_TEST_PYTHON")
}

/// Runs the snippet `file` with `python` against `url` with `env` set (and every other
/// `OPENAI_*` variable removed); `api_key`, if given, replaces the snippet's empty key.
fn run_snippet(
    python: &str,
    file: &str,
    url: &str,
    env: &[(&str, &str)],
    api_key: Option<&str>,
) -> Output {
    let code = std::fs::read_to_string(common::root().join("tests/python").join(file)).unwrap();
    assert_eq!(
        code.matches(WRITTEN_URL).count(),
        1,
        "{file}: {WRITTEN_URL}"
    );
    let mut code = code.replace(WRITTEN_URL, &format!("base_url=\"{url}/v1/\""));
    if let Some(key) = api_key {
        assert_eq!(code.matches("api_key=\"\"").count(), 1, "{file}");
        code = code.replace("api_key=\"\"", &format!("api_key=\"{key}\""));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    std::fs::write(&path, code).unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(&path);
    for var in [
        "OPENAI_API_KEY",
        "OPENAI_ADMIN_KEY",
        "OPENAI_CUSTOM_HEADERS",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run python")
}

/// Checks a snippet's printed vectors against the reference; returns the answer's JSON.
fn check_vectors(what: &str, out: &Output, reference: &[(String, Vec<f32>)]) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap();
    let texts: Vec<String> = serde_json::from_value(answer["texts"].clone()).unwrap();
    let vectors: Vec<Vec<f32>> = serde_json::from_value(answer["vectors"].clone()).unwrap();
    assert_eq!(texts.len(), vectors.len(), "{what}");
    for (text, got) in texts.iter().zip(&vectors) {
        let (_, full) = reference
            .iter()
            .find(|(t, _)| t == text)
            .unwrap_or_else(|| panic!("{what}: no reference for {text:?}"));
        let want = shortened(full, DIMENSIONS);
        assert_eq!(got.len(), DIMENSIONS, "{what}: {text}");
        let cos = vector::cosine(got, &want);
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let norm = vector::norm(got);
        eprintln!("{what}: {text}: cosine {cos:.9}, max |diff| {diff:.2e}, norm {norm:.7}");
        assert!(cos >= 0.99999, "{what}: {text}: cosine {cos}");
        assert!(diff <= 1e-5, "{what}: {text}: max |diff| {diff}");
        assert!((norm - 1.0).abs() <= 1e-5, "{what}: {text}: norm {norm}");
    }
    answer
}

/// Runs a snippet as written; where the client refuses `api_key=""` itself (current `openai`
/// SDKs do, in the constructor, before any request), checks that this is what happened and
/// that nothing reached the server, then runs it with the documented settings instead: the
/// environment above (code unchanged) and a non-empty key.
fn run_as_written(s: &Server, file: &str, reference: &[(String, Vec<f32>)]) -> Value {
    let tokens_before = tokens_embedded(s);
    let out = run_snippet(&current_clients(), file, &s.url, &[], None);
    if out.status.success() {
        eprintln!("{file}: this client accepts api_key=\"\" as written");
        return check_vectors(file, &out, reference);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(SDK_REFUSAL),
        "{file} failed, and not by the client's own refusal of an empty key:\n{stderr}"
    );
    assert_eq!(
        tokens_embedded(s),
        tokens_before,
        "the refusal happened in the client, before any request"
    );
    eprintln!("{file}: this client refuses api_key=\"\" before sending anything");
    let env = run_snippet(&current_clients(), file, &s.url, &UNCHANGED_CODE_ENV, None);
    check_vectors(
        &format!("{file} (unchanged, with the environment)"),
        &env,
        reference,
    );
    let keyed = run_snippet(&current_clients(), file, &s.url, &[], Some("unused"));
    check_vectors(&format!("{file} (api_key=\"unused\")"), &keyed, reference)
}

/// Tokens the server has embedded so far (from /metrics).
fn tokens_embedded(s: &Server) -> u64 {
    let (_, metrics) = s.get("/metrics", None);
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("embedkit_tokens_total "))
        .map_or(0, |n| n.trim().parse().unwrap())
}

#[test]
#[ignore = "needs models/all-mpnet-base-v2 and the Python clients: run scripts/test.sh"]
fn openai_sdk_and_langchain_snippets_run_unchanged_against_both_names() {
    let model = mpnet();
    let reference = reference();
    let s = Server::start(&[
        "--model",
        model.to_str().unwrap(),
        "--served-model-name",
        NAMES,
    ]);

    let (status, models) = s.get("/v1/models", None);
    assert_eq!(status, 200, "{models}");
    let models: Value = serde_json::from_str(&models).unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, NAMES.split(',').collect::<Vec<_>>());

    let sdk = run_as_written(&s, "openai_dropin_sdk.py", &reference);
    assert_eq!(sdk["model"], "text-embedding-3-large", "the name asked for");
    run_as_written(&s, "openai_dropin_langchain.py", &reference);

    // Clients from before the SDK refused an empty key (openai 2.33, langchain-openai 1.2,
    // set up by scripts/python-test-env.sh) run both snippets exactly as written.
    match std::env::var("EMBEDKIT_TEST_PYTHON_OPENAI2") {
        Ok(python) => {
            for file in ["openai_dropin_sdk.py", "openai_dropin_langchain.py"] {
                let out = run_snippet(&python, file, &s.url, &[], None);
                check_vectors(&format!("{file} (openai 2.33)"), &out, &reference);
            }
        }
        Err(_) => eprintln!(
            "EMBEDKIT_TEST_PYTHON_OPENAI2 is not set: the snippets ran with the current clients only"
        ),
    }
}

/// Without `--api-key` the server answers whatever Authorization header comes, or none:
/// clients with an empty key send none (older `openai`) or `Bearer ` with nothing after it.
/// Both names answer with the same vectors, and each answer names the model asked for.
#[test]
fn without_a_key_any_or_no_authorization_is_accepted_and_aliases_share_one_model() {
    let model = common::fixture("tiny-bge");
    let s = Server::start(&["-m", model.to_str().unwrap(), "--served-model-name", "a,b"]);
    let body = r#"{"model": "a", "input": ["one text", "another"], "dimensions": 8}"#;
    let mut answers = Vec::new();
    for header in [
        None,
        Some(""),
        Some("Bearer"),
        Some("Bearer "),
        Some("Bearer x"),
    ] {
        let mut req = ureq::post(&format!("{}/v1/embeddings", s.url));
        if let Some(h) = header {
            req = req.set("Authorization", h);
        }
        let r = req
            .send_string(body)
            .unwrap_or_else(|e| panic!("{header:?}: {e}"));
        let v: Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
        answers.push(common::vectors(&v));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));

    let (status, by_b) = s.post("/v1/embeddings", None, &body.replace("\"a\"", "\"b\""));
    assert_eq!(status, 200, "{by_b}");
    assert_eq!(by_b["model"], "b");
    assert_eq!(common::vectors(&by_b), answers[0]);
    let m = embedkit_models::SentenceEmbedder::from_folder(&model).unwrap();
    let options = embedkit_models::EmbedOptions {
        dimensions: Some(8),
        ..Default::default()
    };
    let want = m.embed(&["one text", "another"], &options).unwrap();
    for (g, w) in answers[0].iter().zip(&want) {
        assert!(vector::cosine(g, w) >= 0.99999);
    }
    assert_eq!(s.get("/v1/models/b", None).0, 200);
}

/// With `--api-key`, an empty or blank bearer is a wrong key like any other.
#[test]
fn with_a_key_an_empty_bearer_is_refused() {
    let model = common::fixture("tiny-bge");
    let s = Server::start(&["-m", model.to_str().unwrap(), "--api-key", "sk-test"]);
    let body = r#"{"model": "tiny-bge", "input": "a"}"#;
    for header in [
        None,
        Some(""),
        Some("Bearer"),
        Some("Bearer "),
        Some("Bearer  "),
    ] {
        let mut req = ureq::post(&format!("{}/v1/embeddings", s.url));
        if let Some(h) = header {
            req = req.set("Authorization", h);
        }
        match req.send_string(body) {
            Err(ureq::Error::Status(401, _)) => {}
            other => panic!("{header:?}: {:?}", other.map(|r| r.status())),
        }
    }
    assert_eq!(s.post("/v1/embeddings", Some("sk-test"), body).0, 200);
}

/// Served names: aliases of one model are separated by commas; an empty name, or a name given
/// twice (for one model or two), stops the server before it loads anything.
#[test]
fn empty_or_repeated_served_names_are_refused() {
    let bge = common::fixture("tiny-bge");
    let bge = bge.to_str().unwrap();
    for (args, message) in [
        (
            vec!["-m", bge, "--served-model-name", "a,,b"],
            "empty served name",
        ),
        (
            vec!["-m", bge, "--served-model-name", ""],
            "empty served name",
        ),
        (
            vec!["-m", bge, "--served-model-name", "a,a"],
            "\"a\" is given twice",
        ),
        (
            vec![
                "-m",
                bge,
                "-m",
                bge,
                "--served-model-name",
                "a,b",
                "--served-model-name",
                "b",
            ],
            "\"b\" is given twice",
        ),
        (
            vec!["-m", bge, "-m", bge, "--served-model-name", "a,b"],
            "one --served-model-name per --model",
        ),
        (vec!["-m", bge, "--api-key", " "], "--api-key is blank"),
    ] {
        let stderr = refused(&[&["serve", "--port", "0"], &args[..]].concat());
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// Runs `embedkit ARGS` expecting it to exit with an error soon; returns its stderr. A server
/// that starts instead is killed and fails the test (rather than hanging it).
fn refused(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_embedkit"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "{args:?} succeeded");
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return stderr;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} did not stop with an error");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
