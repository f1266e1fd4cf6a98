//! What every store test shares: the repository root, and the backends to run against.
#![allow(dead_code)]

use embedkit_store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The store URLs a test runs against: always the embedded backend (a placeholder that
/// [`fresh_store`] turns into a new file).
pub fn store_urls() -> Vec<String> {
    vec!["sqlite".to_string()]
}

/// A new, empty store for `url`; the guard keeps its folder alive.
pub fn fresh_store(url: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = match url {
        "sqlite" => Store::open(dir.path().join("kb.db").to_str().unwrap()).unwrap(),
        other => Store::open(other).unwrap(),
    };
    (dir, store)
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
