//! Hub downloads against a fake hub on a loopback port, which serves the sharded fixture
//! (`testdata/fixtures/weight-formats/sharded`, plus a `pytorch_model.bin` that must not be
//! fetched) in the hub's URL shapes and can drop a connection, answer 503 or act as a proxy.
//! Settings go through [`Hub::from_vars`], never the process environment.

mod common;

use embedkit_models::hub::Hub;
use embedkit_models::{EmbedOptions, SentenceEmbedder};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const REPO: &str = "test-org/tiny";
const SHARD: &str = "model-00001-of-00003.safetensors";

fn fixture() -> PathBuf {
    common::fixtures().join("weight-formats/sharded")
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: HashMap<String, String>,
}

impl Seen {
    fn target(&self) -> &str {
        self.line.split_whitespace().nth(1).unwrap_or("")
    }
}

/// What the server does with the next request whose target contains `path`.
enum Fault {
    /// Answer with this status.
    Status(u16),
    /// Announce the whole body, send this many bytes, close.
    DropAfter(usize),
}

#[derive(Clone, Default)]
struct FakeHub {
    seen: Arc<Mutex<Vec<Seen>>>,
    faults: Arc<Mutex<Vec<(String, Fault)>>>,
}

impl FakeHub {
    /// Serves on a new port; returns the base URL.
    fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hub = self.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                hub.answer(stream);
            }
        });
        url
    }

    fn fault(&self, path: &str, fault: Fault) {
        self.faults.lock().unwrap().push((path.into(), fault));
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn answer(&self, mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.trim_end().split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let seen = Seen {
            line: line.trim_end().to_string(),
            headers,
        };
        self.seen.lock().unwrap().push(seen.clone());
        // A proxy receives the absolute form `GET http://host:port/path`.
        let target = seen.target();
        let path = match target.strip_prefix("http://") {
            Some(rest) => &rest[rest.find('/').unwrap_or(rest.len())..],
            None => target,
        };
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            let at = faults.iter().position(|(p, _)| path.contains(p.as_str()));
            at.map(|i| faults.remove(i).1)
        };
        let (status, body) = route(path);
        let range = seen
            .headers
            .get("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok());
        let write = |s: &mut TcpStream, status: &str, extra: &str, body: &[u8], sent: usize| {
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body[..sent.min(body.len())]);
            let _ = s.flush();
            let _ = s.shutdown(Shutdown::Both);
        };
        match (fault, range) {
            (Some(Fault::Status(code)), _) => {
                write(&mut stream, &format!("{code} Fault"), "", b"try again", 9)
            }
            (Some(Fault::DropAfter(n)), _) => write(&mut stream, status, "", &body, n),
            (None, Some(from)) if status == "200 OK" && from < body.len() => {
                let extra = format!(
                    "Content-Range: bytes {from}-{}/{}\r\n",
                    body.len() - 1,
                    body.len()
                );
                let rest = &body[from..];
                write(&mut stream, "206 Partial Content", &extra, rest, rest.len());
            }
            (None, _) => write(&mut stream, status, "", &body, body.len()),
        }
    }
}

/// The hub's answers: the revision API (any revision: one commit) and `resolve/<commit>/`.
fn route(path: &str) -> (&'static str, Vec<u8>) {
    let api = format!("/api/models/{REPO}/revision/");
    let resolve = format!("/{REPO}/resolve/{COMMIT}/");
    if path.starts_with(&api) {
        let mut siblings: Vec<_> = std::fs::read_dir(fixture())
            .unwrap()
            .map(|e| e.unwrap())
            .flat_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if e.file_type().unwrap().is_dir() {
                    std::fs::read_dir(e.path())
                        .unwrap()
                        .map(|f| format!("{name}/{}", f.unwrap().file_name().to_string_lossy()))
                        .collect()
                } else {
                    vec![name]
                }
            })
            .collect();
        siblings.push("pytorch_model.bin".into());
        let siblings: Vec<_> = siblings
            .iter()
            .map(|f| serde_json::json!({ "rfilename": f }))
            .collect();
        let info = serde_json::json!({ "id": REPO, "sha": COMMIT, "siblings": siblings });
        ("200 OK", info.to_string().into_bytes())
    } else if let Some(file) = path.strip_prefix(&resolve) {
        match std::fs::read(fixture().join(file)) {
            Ok(bytes) => ("200 OK", bytes),
            Err(_) => ("404 Not Found", b"not found".to_vec()),
        }
    } else {
        ("404 Not Found", b"not found".to_vec())
    }
}

/// Settings from `vars` alone, with short waits between retries.
fn hub(vars: &[(&str, &str)]) -> Hub {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut hub = Hub::from_vars(&|name| vars.get(name).cloned());
    hub.retry.base_wait = Duration::from_millis(5);
    hub.retry.max_wait = Duration::from_millis(20);
    hub
}

fn same_vectors_as_the_fixture(dir: &Path) {
    let texts = ["the cat sat on the mat", "hello world"];
    let options = EmbedOptions::default();
    let got = SentenceEmbedder::from_folder(dir)
        .unwrap()
        .embed(&texts, &options)
        .unwrap();
    let want = SentenceEmbedder::from_folder(&fixture())
        .unwrap()
        .embed(&texts, &options)
        .unwrap();
    assert_eq!(got, want);
}

fn requests_for<'a>(seen: &'a [Seen], part: &str) -> Vec<&'a Seen> {
    seen.iter().filter(|s| s.target().contains(part)).collect()
}

#[test]
fn a_dropped_download_resumes_with_a_range_request() {
    let server = FakeHub::default();
    let endpoint = server.start();
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    server.fault(SHARD, Fault::DropAfter(5000));
    let dir = hub(&[("HF_ENDPOINT", &endpoint), ("HF_HOME", home_str)])
        .resolve(REPO)
        .unwrap();

    let seen = server.seen();
    let shard_requests = requests_for(&seen, SHARD);
    assert_eq!(shard_requests.len(), 2, "{seen:#?}");
    assert_eq!(shard_requests[0].headers.get("range"), None);
    assert_eq!(
        shard_requests[1].headers.get("range").map(String::as_str),
        Some("bytes=5000-")
    );
    assert_eq!(
        std::fs::read(dir.join(SHARD)).unwrap(),
        std::fs::read(fixture().join(SHARD)).unwrap()
    );
    let blobs = home.path().join("hub/models--test-org--tiny/blobs");
    let leftovers: Vec<_> = std::fs::read_dir(blobs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Every shard the index names came, and the pickled copy beside them did not.
    assert!(requests_for(&seen, "pytorch_model.bin").is_empty());
    same_vectors_as_the_fixture(&dir);
}

#[test]
fn a_partial_file_of_an_earlier_run_is_resumed() {
    let server = FakeHub::default();
    let endpoint = server.start();
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    // The first run loses the connection every time: it gives up, leaving its part file.
    let mut first = hub(&[("HF_ENDPOINT", &endpoint), ("HF_HOME", home_str)]);
    first.retry.max_retries = 0;
    server.fault(SHARD, Fault::DropAfter(3000));
    assert!(first.resolve(REPO).is_err());
    let dir = hub(&[("HF_ENDPOINT", &endpoint), ("HF_HOME", home_str)])
        .resolve(REPO)
        .unwrap();
    let seen = server.seen();
    let ranges: Vec<_> = requests_for(&seen, SHARD)
        .iter()
        .map(|s| s.headers.get("range").cloned())
        .collect();
    assert_eq!(ranges, [None, Some("bytes=3000-".to_string())]);
    same_vectors_as_the_fixture(&dir);
}

#[test]
fn server_errors_are_retried() {
    let server = FakeHub::default();
    let endpoint = server.start();
    let home = tempfile::tempdir().unwrap();
    server.fault("/api/models/", Fault::Status(503));
    server.fault("config.json", Fault::Status(429));
    server.fault(SHARD, Fault::Status(502));
    let dir = hub(&[
        ("HF_ENDPOINT", &endpoint),
        ("HF_HOME", home.path().to_str().unwrap()),
    ])
    .resolve(REPO)
    .unwrap();
    let seen = server.seen();
    assert_eq!(requests_for(&seen, "/api/models/").len(), 2);
    assert_eq!(requests_for(&seen, SHARD).len(), 2);
    same_vectors_as_the_fixture(&dir);

    // 404 is final: one request, a clear error.
    let err = hub(&[
        ("HF_ENDPOINT", &endpoint),
        ("HF_HOME", home.path().to_str().unwrap()),
    ])
    .resolve("test-org/other")
    .unwrap_err()
    .to_string();
    assert!(err.contains("not found on the hub"), "{err}");
    assert_eq!(requests_for(&server.seen(), "test-org/other").len(), 1);
}

#[test]
fn the_saved_token_is_sent_and_hf_token_wins() {
    let server = FakeHub::default();
    let endpoint = server.start();
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    std::fs::write(home.path().join("token"), "hf_from_file\n").unwrap();
    hub(&[("HF_ENDPOINT", &endpoint), ("HF_HOME", home_str)])
        .resolve(REPO)
        .unwrap();
    let auth: Vec<_> = server
        .seen()
        .iter()
        .map(|s| s.headers.get("authorization").cloned())
        .collect();
    assert!(!auth.is_empty());
    assert!(
        auth.iter()
            .all(|a| a.as_deref() == Some("Bearer hf_from_file")),
        "{auth:?}"
    );

    let other = FakeHub::default();
    let endpoint = other.start();
    let second = home.path().join("second");
    let vars = [
        ("HF_ENDPOINT", endpoint.as_str()),
        ("HF_HOME", home_str),
        ("HF_HUB_CACHE", second.to_str().unwrap()),
        ("HF_TOKEN", "hf_from_env"),
    ];
    hub(&vars).resolve(REPO).unwrap();
    let seen = other.seen();
    assert!(seen
        .iter()
        .all(|s| s.headers.get("authorization").map(String::as_str) == Some("Bearer hf_from_env")));

    // HF_TOKEN_PATH points elsewhere.
    let path = home.path().join("elsewhere");
    std::fs::write(&path, "hf_elsewhere").unwrap();
    let h = hub(&[
        ("HF_HOME", home_str),
        ("HF_TOKEN_PATH", path.to_str().unwrap()),
    ]);
    assert_eq!(h.token.as_deref(), Some("hf_elsewhere"));
}

#[test]
fn http_proxy_carries_the_requests_unless_no_proxy_names_the_host() {
    let origin = FakeHub::default();
    let endpoint = origin.start();
    let proxy = FakeHub::default();
    let proxy_url = proxy.start();
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();

    let dir = hub(&[
        ("HF_ENDPOINT", &endpoint),
        ("HF_HOME", home_str),
        ("HTTP_PROXY", &proxy_url),
    ])
    .resolve(REPO)
    .unwrap();
    let through = proxy.seen();
    assert!(origin.seen().is_empty(), "every request went to the proxy");
    let api = format!("GET {endpoint}/api/models/{REPO}/revision/main HTTP/1.1");
    assert_eq!(through[0].line, api, "absolute-form request line");
    assert!(through
        .iter()
        .all(|s| s.target().starts_with(&format!("{endpoint}/"))));
    same_vectors_as_the_fixture(&dir);

    let cache = home.path().join("direct");
    hub(&[
        ("HF_ENDPOINT", &endpoint),
        ("HF_HOME", home_str),
        ("HF_HUB_CACHE", cache.to_str().unwrap()),
        ("HTTP_PROXY", &proxy_url),
        ("NO_PROXY", "example.com,127.0.0.1"),
    ])
    .resolve(REPO)
    .unwrap();
    assert_eq!(
        proxy.seen().len(),
        through.len(),
        "NO_PROXY bypasses the proxy"
    );
    let direct = origin.seen();
    assert!(!direct.is_empty());
    assert!(direct.iter().all(|s| s.target().starts_with('/')));

    // An https proxy setting does not apply to an http endpoint.
    let cache = home.path().join("https-only");
    hub(&[
        ("HF_ENDPOINT", &endpoint),
        ("HF_HUB_CACHE", cache.to_str().unwrap()),
        ("HTTPS_PROXY", &proxy_url),
    ])
    .resolve(REPO)
    .unwrap();
    assert_eq!(proxy.seen().len(), through.len());
}

#[test]
fn a_pull_request_revision_is_url_encoded_and_cached_under_its_ref() {
    let server = FakeHub::default();
    let endpoint = server.start();
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    let spec = format!("{REPO}@refs/pr/1");
    let dir = hub(&[("HF_ENDPOINT", &endpoint), ("HF_HOME", home_str)])
        .resolve(&spec)
        .unwrap();
    let api = format!("/api/models/{REPO}/revision/refs%2Fpr%2F1");
    assert_eq!(server.seen()[0].target(), api);
    let repo = home.path().join("hub/models--test-org--tiny");
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/refs/pr/1")).unwrap(),
        COMMIT
    );
    let offline = hub(&[("HF_HOME", home_str), ("HF_HUB_OFFLINE", "1")])
        .resolve(&spec)
        .unwrap();
    assert_eq!(offline, dir);
}
