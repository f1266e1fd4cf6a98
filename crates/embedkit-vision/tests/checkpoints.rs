//! PyTorch checkpoints in both formats torch writes (zip and legacy), against the values
//! torch itself printed (`scripts/make-pth-fixtures.py`), and the same network from a
//! checkpoint and from safetensors.

mod common;

use common::fixtures;
use embedkit_vision::state_dict::StateDict;
use std::collections::HashMap;

fn expected() -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let text = std::fs::read_to_string(fixtures().join("pth/expected.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, t)| {
            let shape = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let values = t["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            (k.clone(), (shape, values))
        })
        .collect()
}

fn check(file: &str) {
    let mut sd = StateDict::load(&fixtures().join("pth").join(file)).unwrap();
    let want = expected();
    let mut names: Vec<&str> = sd.names().collect();
    names.sort_unstable();
    let mut want_names: Vec<&str> = want.keys().map(String::as_str).collect();
    want_names.sort_unstable();
    assert_eq!(
        names, want_names,
        "{file}: float tensors only, int64 skipped"
    );
    for (name, (shape, values)) in &want {
        assert_eq!(&sd.take(name, shape).unwrap(), values, "{file}: {name}");
    }
}

#[test]
fn zip_checkpoint_matches_torch() {
    check("small_zip.pth");
}

#[test]
fn legacy_checkpoint_matches_torch() {
    check("small_legacy.pth");
}

#[test]
fn damaged_checkpoints_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["small_zip.pth", "small_legacy.pth"] {
        let bytes = std::fs::read(fixtures().join("pth").join(file)).unwrap();
        let cut = dir.path().join(file);
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let err = StateDict::load(&cut).unwrap_err().to_string();
        assert!(err.contains("bad weights"), "{file}: {err}");
    }
}
