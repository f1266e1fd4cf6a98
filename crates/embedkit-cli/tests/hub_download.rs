//! Hub ids: downloaded through `HF_ENDPOINT` (here a local server that serves a fixture in
//! the hub's URL layout) into the `HF_HOME` cache, then used offline with `HF_HUB_OFFLINE=1`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fixtures/tiny-bge")
}

fn files_under(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        if e.file_type().unwrap().is_dir() {
            files_under(&e.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
}

/// Serves `repo` from `dir` like the hub: the revision API and `resolve/<commit>/<file>`.
/// Returns the base URL and a request counter.
fn serve_hub(repo: &'static str, dir: PathBuf) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap() == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let api = format!("/api/models/{repo}/revision/main");
            let resolve = format!("/{repo}/resolve/{COMMIT}/");
            let (status, body) = if path == api {
                let mut files = Vec::new();
                files_under(&dir, "", &mut files);
                let siblings: Vec<_> = files
                    .iter()
                    .map(|f| serde_json::json!({ "rfilename": f }))
                    .collect();
                let info = serde_json::json!({ "id": repo, "sha": COMMIT, "siblings": siblings });
                ("200 OK", info.to_string().into_bytes())
            } else if let Some(file) = path.strip_prefix(&resolve) {
                match std::fs::read(dir.join(file)) {
                    Ok(bytes) => ("200 OK", bytes),
                    Err(_) => ("404 Not Found", b"not found".to_vec()),
                }
            } else {
                ("404 Not Found", b"not found".to_vec())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (url, hits)
}

fn embed(model: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embedkit"));
    cmd.args(["embed", "-m", model, "hello world", "你好"]);
    for var in [
        "HF_ENDPOINT",
        "HF_HOME",
        "HF_HUB_CACHE",
        "HF_HUB_OFFLINE",
        "HF_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn hub_id_downloads_into_the_cache_then_works_offline() {
    let (endpoint, hits) = serve_hub("test-org/tiny-bge", fixture());
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("hf");
    let home_str = home.to_str().unwrap();

    let online = embed(
        "test-org/tiny-bge",
        &[("HF_ENDPOINT", &endpoint), ("HF_HOME", home_str)],
    );
    assert!(
        online.status.success(),
        "{}",
        String::from_utf8_lossy(&online.stderr)
    );
    assert!(
        hits.load(Ordering::SeqCst) > 5,
        "files came from the server"
    );

    let repo = home.join("hub/models--test-org--tiny-bge");
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap(),
        COMMIT
    );
    let snapshot = repo.join("snapshots").join(COMMIT);
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "1_Pooling/config.json",
    ] {
        let p = snapshot.join(f);
        assert!(
            p.symlink_metadata().unwrap().file_type().is_symlink(),
            "{f} links into blobs"
        );
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(fixture().join(f)).unwrap()
        );
    }
    assert!(
        !snapshot.join("README.md").exists(),
        "only model files are fetched"
    );

    let local = embed(fixture().to_str().unwrap(), &[]);
    assert_eq!(
        online.stdout, local.stdout,
        "same vectors as the local folder"
    );

    let before = hits.load(Ordering::SeqCst);
    let offline = embed(
        "test-org/tiny-bge",
        &[
            ("HF_ENDPOINT", "http://127.0.0.1:9"),
            ("HF_HOME", home_str),
            ("HF_HUB_OFFLINE", "1"),
        ],
    );
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert_eq!(offline.stdout, local.stdout);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before,
        "offline makes no request"
    );

    let missing = embed(
        "test-org/not-cached",
        &[("HF_HOME", home_str), ("HF_HUB_OFFLINE", "1")],
    );
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("HF_HUB_OFFLINE is set"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn unknown_repo_on_the_hub_is_a_clear_error() {
    let (endpoint, _) = serve_hub("test-org/tiny-bge", fixture());
    let tmp = tempfile::tempdir().unwrap();
    let o = embed(
        "test-org/other",
        &[
            ("HF_ENDPOINT", &endpoint),
            ("HF_HOME", tmp.path().to_str().unwrap()),
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not found on the hub"), "{err}");
    assert!(!err.contains("panicked"));
}
