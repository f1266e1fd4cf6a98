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

#[test]
fn safetensors_whose_header_length_starts_like_a_pickle_is_safetensors() {
    // Header length 0x180: the file's first byte is 0x80, the pickle protocol opcode.
    let mut header = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.to_string();
    header.push_str(&" ".repeat(0x180 - header.len()));
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend([1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()));
    assert_eq!(bytes[0], 0x80);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let mut sd = StateDict::load(&path).unwrap();
    assert_eq!(sd.take("w", &[2]).unwrap(), vec![1.5, -2.0]);
}
