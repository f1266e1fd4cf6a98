//! One model in every form transformers ships weights in (`scripts/make-weight-format-fixtures.py`):
//! sharded safetensors, `pytorch_model.bin` in torch's zip and legacy formats, and bf16 copies.
//! Each loads to the same vectors as the single `model.safetensors`, bit for bit, and that one
//! matches sentence-transformers' own vectors; broken shard indexes are clear errors.

mod common;

use embedkit_models::weights::{StoredFormat, WeightFile};
use embedkit_models::{EmbedOptions, Precision, SentenceEmbedder};
use std::path::{Path, PathBuf};

fn folder(name: &str) -> PathBuf {
    common::fixtures().join("weight-formats").join(name)
}

fn expected() -> (Vec<String>, Vec<Vec<f32>>) {
    let path = folder("expected.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let sentences = serde_json::from_value(v["sentences"].clone()).unwrap();
    let embeddings = serde_json::from_value(v["embeddings"].clone()).unwrap();
    (sentences, embeddings)
}

fn embed(dir: &Path, precision: Precision) -> Vec<Vec<f32>> {
    let (sentences, _) = expected();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let model = SentenceEmbedder::from_folder_with(dir, precision)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    model.embed(&texts, &EmbedOptions::default()).unwrap()
}

fn bits(rows: &[Vec<f32>]) -> Vec<Vec<u32>> {
    rows.iter()
        .map(|r| r.iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn single_safetensors_matches_sentence_transformers() {
    let (_, want) = expected();
    let got = embed(&folder("safetensors"), Precision::Auto);
    common::assert_rows_match(&got, &want, 0.99999, "weight-formats/safetensors");
}

#[test]
fn every_f32_format_gives_the_same_vectors_bit_for_bit() {
    for precision in [Precision::Auto, Precision::Int8] {
        let reference = bits(&embed(&folder("safetensors"), precision));
        for name in ["sharded", "pytorch-zip", "pytorch-legacy"] {
            let got = bits(&embed(&folder(name), precision));
            assert_eq!(got, reference, "{name} at {precision:?}");
        }
    }
}

#[test]
fn bf16_checkpoint_keeps_half_precision_like_bf16_safetensors() {
    let st = folder("bf16-safetensors");
    let bin = folder("bf16-pytorch");
    for precision in [Precision::Auto, Precision::F32, Precision::Bf16] {
        assert_eq!(
            bits(&embed(&bin, precision)),
            bits(&embed(&st, precision)),
            "{precision:?}"
        );
    }
    // Auto keeps bf16 tensors as bf16: the same memory as the safetensors file's model, half
    // of what the f32 copy of the same file takes.
    let size = |dir: &Path, p| {
        SentenceEmbedder::from_folder_with(dir, p)
            .unwrap()
            .info()
            .weight_bytes
    };
    assert_eq!(size(&bin, Precision::Auto), size(&st, Precision::Auto));
    assert!(size(&bin, Precision::Auto) * 3 < size(&bin, Precision::F32) * 2);
}

#[test]
fn stored_weights_describe_each_format() {
    let cases = [
        ("safetensors", StoredFormat::Safetensors, 1, "f32"),
        ("sharded", StoredFormat::Safetensors, 3, "f32"),
        ("pytorch-zip", StoredFormat::PytorchZip, 1, "f32"),
        ("pytorch-legacy", StoredFormat::PytorchLegacy, 1, "f32"),
        ("bf16-safetensors", StoredFormat::Safetensors, 1, "bf16"),
        ("bf16-pytorch", StoredFormat::PytorchZip, 1, "bf16"),
    ];
    for (name, format, shards, dtype) in cases {
        let w = WeightFile::open_folder(&folder(name), &[""]).unwrap();
        let stored = w.stored();
        assert_eq!(
            (stored.format, stored.shards, stored.dtypes.clone()),
            (format, shards, vec![dtype]),
            "{name}"
        );
    }
    let sharded = WeightFile::open_folder(&folder("sharded"), &[""]).unwrap();
    assert_eq!(
        sharded.stored().to_string(),
        "model.safetensors.index.json (safetensors, 3 shards, f32)"
    );
}

/// A copy of the sharded folder to damage.
fn sharded_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&folder("sharded"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn edit_index(dir: &Path, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let path = dir.join("model.safetensors.index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(index["weight_map"].as_object_mut().unwrap());
    std::fs::write(&path, index.to_string()).unwrap();
}

fn load_error(dir: &Path) -> String {
    match SentenceEmbedder::from_folder(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_tensor_missing_from_the_weight_map_is_named() {
    let dir = sharded_copy();
    let name = "encoder.layer.0.output.dense.weight";
    edit_index(dir.path(), |map| {
        map.remove(name).unwrap();
    });
    let err = load_error(dir.path());
    assert!(err.contains(name), "{err}");
    assert!(err.contains("weight_map"), "{err}");
}

#[test]
fn a_missing_shard_is_named() {
    let dir = sharded_copy();
    let shard = "model-00002-of-00003.safetensors";
    std::fs::remove_file(dir.path().join(shard)).unwrap();
    let err = load_error(dir.path());
    assert!(err.contains(shard) && err.contains("is missing"), "{err}");
}

#[test]
fn a_shard_without_its_mapped_tensor_is_named() {
    let dir = sharded_copy();
    let name = "encoder.layer.0.output.dense.weight";
    let shard = "model-00001-of-00003.safetensors";
    let mut moved = false;
    edit_index(dir.path(), |map| {
        moved = map.get(name).unwrap() != shard;
        map.insert(name.into(), shard.into());
    });
    assert!(moved, "the fixture keeps {name} in another shard");
    let err = load_error(dir.path());
    assert!(err.contains(name) && err.contains(shard), "{err}");
}

#[test]
fn shard_names_cannot_leave_the_folder() {
    let dir = sharded_copy();
    edit_index(dir.path(), |map| {
        map.insert(
            "embeddings.word_embeddings.weight".into(),
            "../model.safetensors".into(),
        );
    });
    let err = load_error(dir.path());
    assert!(err.contains("not a file name"), "{err}");
}

#[test]
fn safetensors_wins_over_pytorch_model_bin_in_one_folder() {
    // f32 safetensors beside a bf16 pytorch_model.bin: transformers reads the safetensors.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&folder("safetensors"), dir.path());
    std::fs::copy(
        folder("bf16-pytorch/pytorch_model.bin"),
        dir.path().join("pytorch_model.bin"),
    )
    .unwrap();
    let w = WeightFile::open_folder(dir.path(), &[""]).unwrap();
    assert_eq!(w.stored().format, StoredFormat::Safetensors);
    assert_eq!(
        bits(&embed(dir.path(), Precision::Auto)),
        bits(&embed(&folder("safetensors"), Precision::Auto))
    );
    // Without it, the checkpoint is read.
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    let w = WeightFile::open_folder(dir.path(), &[""]).unwrap();
    assert_eq!(w.stored().format, StoredFormat::PytorchZip);
}

#[test]
fn a_folder_without_weights_says_which_files_it_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&folder("safetensors"), dir.path());
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    let err = load_error(dir.path());
    assert!(
        err.contains("model.safetensors.index.json") && err.contains("pytorch_model.bin"),
        "{err}"
    );
}

#[test]
fn damaged_checkpoints_are_errors_not_panics() {
    // xorshift64*: the same damaged files on every run.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pytorch_model.bin");
    let mut read = 0;
    for name in ["pytorch-zip", "pytorch-legacy", "bf16-pytorch"] {
        let seed = std::fs::read(folder(name).join("pytorch_model.bin")).unwrap();
        for _ in 0..300 {
            let mut bytes = seed.clone();
            if next() % 3 == 0 {
                bytes.truncate(next() as usize % bytes.len());
            }
            for _ in 0..1 + next() % 8 {
                if !bytes.is_empty() {
                    let at = next() as usize % bytes.len();
                    bytes[at] = next() as u8;
                }
            }
            std::fs::write(&path, &bytes).unwrap();
            if let Ok(w) = WeightFile::open(&path, &[""]) {
                let _ = w.linear("encoder.layer.0.attention.self.query", 32, 32);
                read += usize::from(w.table("embeddings.word_embeddings.weight", 76, 32).is_ok());
            }
        }
    }
    assert!(
        read > 0,
        "some damaged files still open and read (bytes changed in the data)"
    );
}
