//! What every store test shares: the repository root, and the backends to run against.
#![allow(dead_code)]

use embedkit_store::testing::TestSchema;
use embedkit_store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The store URLs a test runs against: always the embedded backend (a placeholder that
/// [`fresh_store`] turns into a new file), and PostgreSQL when `EMBEDKIT_TEST_POSTGRES_URL`
/// names a server with pgvector (`scripts/test.sh` sets one up).
pub fn store_urls() -> Vec<String> {
    let mut urls = vec!["sqlite".to_string()];
    match std::env::var("EMBEDKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => urls.push(url),
        _ => {
            eprintln!("EMBEDKIT_TEST_POSTGRES_URL is not set: the PostgreSQL backend is not tested")
        }
    }
    urls
}

/// A new, empty store for `url`; the guard keeps its folder alive. On PostgreSQL each call
/// gets a schema of its own, so tests (and test runs) never see each other's data, and the
/// guard drops it (with everything in it) when the test is done, failed or not.
pub fn fresh_store(url: &str) -> (Scratch, Store) {
    let dir = tempfile::tempdir().unwrap();
    let (store, schema) = match url {
        "sqlite" => (
            Store::open(dir.path().join("kb.db").to_str().unwrap()).unwrap(),
            None,
        ),
        server => {
            let schema = TestSchema::new(server, "t");
            (Store::open(&schema.url()).unwrap(), Some(schema))
        }
    };
    (
        Scratch {
            _dir: dir,
            _schema: schema,
        },
        store,
    )
}

/// What a fresh store leaves behind: its folder, and its PostgreSQL schema, both removed on
/// drop (after the store, which the caller binds after this guard).
pub struct Scratch {
    _dir: tempfile::TempDir,
    _schema: Option<TestSchema>,
}

/// Measured numbers by (backend, what).
type Results = HashMap<(String, String), Vec<f64>>;

static RESULTS: Mutex<Option<Results>> = Mutex::new(None);

/// Keeps a test's measured numbers per backend for [`assert_backends_agree`].
pub fn record(url: &str, what: &str, values: &[f64]) {
    RESULTS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert((url.to_string(), what.to_string()), values.to_vec());
}

/// Every backend measured the same numbers for `what`, within `tol`.
pub fn assert_backends_agree(what: &str, tol: f64) {
    let results = RESULTS.lock().unwrap();
    let rows: Vec<_> = results
        .iter()
        .flatten()
        .filter(|((_, w), _)| w == what)
        .collect();
    for (a, va) in &rows {
        for (b, vb) in &rows {
            for (x, y) in va.iter().zip(vb.iter()) {
                assert!((x - y).abs() <= tol, "{what}: {} {x} vs {} {y}", a.0, b.0);
            }
        }
    }
}
