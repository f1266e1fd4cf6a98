//! Shared by the tests on real data: the real model and the Lee documents.
#![allow(dead_code)]

use embedkit_models::SentenceEmbedder;
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn data(name: &str) -> PathBuf {
    root().join("testdata/data").join(name)
}

/// all-MiniLM-L6-v2, fetched by `scripts/fetch-models.sh`.
pub fn minilm() -> SentenceEmbedder {
    let dir = std::env::var_os("EMBEDKIT_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models"))
        .join("all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run scripts/fetch-models.sh",
        dir.display()
    );
    SentenceEmbedder::load(dir.to_str().unwrap()).expect("load all-MiniLM-L6-v2")
}

/// A latin-1 file of testdata/data (the Lee and polarity corpora are latin-1 on disk).
pub fn latin1(name: &str) -> String {
    let bytes = std::fs::read(data(name)).unwrap();
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The 50 Lee documents.
pub fn lee_documents() -> Vec<String> {
    let text = latin1("lee.cor");
    let docs: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(docs.len(), 50);
    docs
}

/// Mean human similarity ratings of the Lee documents, symmetric (the file holds the upper
/// triangle and a unit diagonal).
pub fn lee_ratings() -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(data("similarities0-1.txt")).unwrap();
    let m: Vec<Vec<f64>> = text
        .lines()
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    (0..50)
        .map(|i| (0..50).map(|j| m[i][j].max(m[j][i])).collect())
        .collect()
}
