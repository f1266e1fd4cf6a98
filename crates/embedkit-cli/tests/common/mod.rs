//! Helpers shared by the CLI tests: paths, the real model, running the binary, the store
//! backends a store test runs against, starting `embedkit serve` on a free loopback port, and
//! poisoned copies of the fixtures (one tensor set to NaN or infinity).
#![allow(dead_code)]

use base64::Engine as _;
use embedkit_store::testing::TestSchema;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real all-MiniLM-L6-v2, fetched by `scripts/fetch-models.sh` (or under
/// `EMBEDKIT_MODELS_DIR`).
pub fn minilm() -> PathBuf {
    let dir = std::env::var_os("EMBEDKIT_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models"))
        .join("all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run scripts/fetch-models.sh",
        dir.display()
    );
    dir
}

/// Runs the binary with `args`.
pub fn embedkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_embedkit"))
        .args(args)
        .output()
        .expect("run embedkit")
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "embedkit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("testdata/fixtures").join(name)
}

/// A running server, killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `embedkit serve --port 0 ARGS...` and waits until /health answers 200.
    pub fn start(args: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_embedkit"));
        cmd.args(["serve", "--port", "0"])
            .args(args)
            .stderr(Stdio::inherit());
        Server::start_command(cmd)
    }

    /// Starts `cmd` (an `embedkit serve` command line, its stderr set by the caller) and
    /// waits until /health answers 200.
    pub fn start_command(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start embedkit serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let server = Server { child, url };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ureq::get(&format!("{}/health", server.url)).call().is_err() {
            assert!(Instant::now() < deadline, "server never became healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// POSTs a JSON body; returns status and parsed body (errors included).
    pub fn post(&self, path: &str, key: Option<&str>, body: &str) -> (u16, serde_json::Value) {
        let mut req =
            ureq::post(&format!("{}{path}", self.url)).set("Content-Type", "application/json");
        if let Some(k) = key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        match req.send_string(body) {
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

    pub fn get(&self, path: &str, key: Option<&str>) -> (u16, String) {
        let mut req = ureq::get(&format!("{}{path}", self.url));
        if let Some(k) = key {
            req = req.set("Authorization", &format!("Bearer {k}"));
        }
        match req.call() {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
            Err(e) => panic!("transport error: {e}"),
        }
    }
}

/// Runs `test` once per store backend, each time with a new temporary folder and a new,
/// empty store: an SQLite file in that folder, then, when `EMBEDKIT_TEST_POSTGRES_URL` names
/// a server with pgvector (`scripts/test.sh` sets one up), a PostgreSQL schema of its own
/// (so tests running in parallel never meet), dropped again when the run ends, failed or
/// not. Without the variable PostgreSQL is skipped with a notice.
pub fn for_each_store(test: impl Fn(&str, &Path)) {
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
                let schema = TestSchema::new(&server, "cli");
                (schema.url(), Some(schema))
            }
        };
        eprintln!("-- on {backend}: {store}");
        let start = Instant::now();
        test(&store, dir.path());
        eprintln!("-- on {backend}: {:.1} s", start.elapsed().as_secs_f64());
    }
}

/// The vectors of an `/v1/embeddings` response, floats or base64.
pub fn vectors(body: &serde_json::Value) -> Vec<Vec<f32>> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| match &d["embedding"] {
            serde_json::Value::String(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            other => serde_json::from_value(other.clone()).unwrap(),
        })
        .collect()
}

/// Copies the model folder `src` to `dst`, rewriting `model.safetensors` with `poison`
/// applied to the values of every f32 tensor (given its name): a model that produces NaN or
/// infinity, made at test time instead of stored.
pub fn poisoned_copy(src: &Path, dst: &Path, poison: impl Fn(&str, &mut [f32])) {
    use safetensors::tensor::{Dtype, SafeTensors, TensorView};
    copy_dir(src, dst);
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = SafeTensors::deserialize(&bytes)
        .unwrap()
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let mut data = view.data().to_vec();
            if view.dtype() == Dtype::F32 {
                let mut values: Vec<f32> = data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                poison(&name, &mut values);
                data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            }
            (name, view.dtype(), view.shape().to_vec(), data)
        })
        .collect();
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            (
                name.as_str(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect::<Vec<_>>();
    safetensors::serialize_to_file(
        views,
        header.metadata().clone(),
        &dst.join("model.safetensors"),
    )
    .unwrap();
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let to = dst.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &to);
        } else {
            std::fs::copy(&path, &to).unwrap();
        }
    }
}
