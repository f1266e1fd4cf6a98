//! Helpers shared by the integration tests: paths into `testdata/`, `.npy` loading, metrics.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixtures() -> PathBuf {
    repo().join("testdata/fixtures")
}

pub fn reference(model: &str, file: &str) -> (Vec<usize>, Vec<f32>) {
    let path = fixtures().join("reference").join(model).join(file);
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = embedkit_core::npy::read_f32(f).unwrap();
    (a.shape, a.data)
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    embedkit_core::vector::cosine(a, b)
}
