//! Helpers shared by the integration tests: fixture paths and reference files.
#![allow(dead_code)]

use embedkit_core::{npy, vector};
use std::path::PathBuf;

/// `testdata/fixtures` at the workspace root.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fixtures")
}

pub fn sentences() -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join("sentences.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Rows of a `[n, d]` float32 reference.
pub fn reference_rows(model: &str, file: &str) -> Vec<Vec<f32>> {
    let path = fixtures().join("reference").join(model).join(file);
    let arr = npy::read_f32(std::fs::File::open(&path).unwrap()).unwrap();
    arr.data.chunks(arr.shape[1]).map(<[f32]>::to_vec).collect()
}

/// `token_ids.json` → (default ids, query ids if present).
pub fn reference_ids(model: &str) -> (Vec<Vec<u32>>, Option<Vec<Vec<u32>>>) {
    let path = fixtures()
        .join("reference")
        .join(model)
        .join("token_ids.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ids = |key: &str| -> Option<Vec<Vec<u32>>> {
        v.get(key)?
            .get("input_ids")
            .map(|x| serde_json::from_value(x.clone()).unwrap())
    };
    (ids("default").unwrap(), ids("query"))
}

/// Asserts cosine ≥ `min_cos` and matching norms, row by row.
pub fn assert_rows_match(got: &[Vec<f32>], want: &[Vec<f32>], min_cos: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: row count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: row {i} length");
        let cos = vector::cosine(g, w);
        assert!(cos >= min_cos, "{what}: row {i} cosine {cos}");
        let (ng, nw) = (vector::norm(g), vector::norm(w));
        assert!(
            (ng - nw).abs() <= 1e-4 * nw.max(1.0),
            "{what}: row {i} norm {ng} vs {nw}"
        );
    }
}
