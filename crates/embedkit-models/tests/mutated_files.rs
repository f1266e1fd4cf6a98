//! Damaged model files never crash the loader: seeded random truncations and byte changes of a
//! safetensors file (its JSON header, offsets and data) and of a model folder's config.json
//! either load or fail with an error, never panic. The seed is fixed, so a failure reruns the
//! same inputs; a longer run: `EMBEDKIT_MUTATION_ROUNDS=100000 cargo test --test mutated_files`.

mod common;

#[path = "../../../tests/support/mutation.rs"]
mod mutation;

use embedkit_models::weights::{Precision, WeightFile};
use embedkit_models::SentenceEmbedder;
use mutation::{rounds, Rng};

/// A small safetensors file in the layout the loaders read: F32 and BF16 tensors, a prefix.
fn small_safetensors() -> Vec<u8> {
    let header = r#"{"__metadata__":{"format":"pt"},"bert.embeddings.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"pooler.dense.bias":{"dtype":"BF16","shape":[3],"data_offsets":[24,30]},"classifier.weight":{"dtype":"F32","shape":[1,3],"data_offsets":[30,42]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend((0..42u8).map(|i| i.wrapping_mul(37)));
    bytes
}

#[test]
fn mutated_safetensors_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let seed = small_safetensors();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut loaded, mut refused) = (0, 0);
    let n = rounds(3000);
    for _ in 0..n {
        std::fs::write(&path, rng.mutate(&seed)).unwrap();
        for precision in [Precision::Auto, Precision::Int8] {
            match WeightFile::open(&path, &["", "bert."]) {
                Ok(w) => {
                    let w = w.with_precision(precision);
                    loaded += 1;
                    // Every accessor, with right and wrong shapes.
                    let _ = w.matrix("embeddings.weight", 2, 3);
                    let _ = w.vector("pooler.dense.bias", 3);
                    let _ = w.linear("classifier", 1, 3);
                    let _ = w.linear("classifier", 3, 1);
                    let _ = w.table("embeddings.weight", 2, 3);
                    let _ = w.layer_norm("pooler.dense", 3);
                }
                Err(_) => refused += 1,
            }
        }
    }
    eprintln!("safetensors: {n} inputs, {loaded} opened (auto and int8), {refused} refused");
    assert!(
        loaded > 0 && refused > 0,
        "the mutations reach both outcomes"
    );
}

#[test]
fn mutated_config_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny-bge");
    let src = common::fixtures().join("tiny-bge");
    std::fs::create_dir_all(model.join("1_Pooling")).unwrap();
    for f in [
        "config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "tokenizer.json",
        "vocab.txt",
        "1_Pooling/config.json",
    ] {
        std::fs::copy(src.join(f), model.join(f)).unwrap();
    }
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let (mut inputs, mut loaded, mut refused) = (0, 0, 0);
    for file in [
        "config.json",
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
    ] {
        let original = std::fs::read(src.join(file)).unwrap();
        for _ in 0..rounds(60) {
            inputs += 1;
            std::fs::write(model.join(file), rng.mutate(&original)).unwrap();
            match SentenceEmbedder::from_folder(&model) {
                Ok(m) => {
                    loaded += 1;
                    let _ = m.embed(&["你好", "hello"], &Default::default());
                }
                Err(_) => refused += 1,
            }
        }
        std::fs::write(model.join(file), &original).unwrap();
    }
    eprintln!("config files: {inputs} inputs, {loaded} folders loaded, {refused} refused");
    assert!(refused > 0);
}
