//! Damaged model files never crash the loader: seeded random truncations and byte changes of a
//! safetensors file (its JSON header, offsets and data) and of a model folder's config.json
//! either load or fail with an error, never panic. The seed is fixed, so a failure reruns the
//! same inputs; a longer run: `EMBEDKIT_MUTATION_ROUNDS=100000 cargo test --test mutated_files`.

mod common;

use embedkit_models::weights::{Precision, WeightFile};
use embedkit_models::SentenceEmbedder;

/// xorshift64*: enough randomness for mutations, identical on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// `seed` cut at a random place and with up to eight bytes replaced; sometimes a byte
    /// of JSON syntax or a digit, which reach further into a header than random bytes do.
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        if self.below(3) == 0 {
            let cut = self.below(b.len() + 1);
            b.truncate(cut);
        }
        for _ in 0..1 + self.below(8) {
            if b.is_empty() {
                break;
            }
            let i = self.below(b.len());
            b[i] = match self.below(3) {
                0 => b"{}[]\":,-0123456789e"[self.below(19)],
                _ => self.next() as u8,
            };
        }
        b
    }
}

fn rounds(default: usize) -> usize {
    std::env::var("EMBEDKIT_MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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
    for _ in 0..rounds(3000) {
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
    eprintln!("{loaded} mutated files opened, {refused} refused");
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
    let (mut loaded, mut refused) = (0, 0);
    for file in [
        "config.json",
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
    ] {
        let original = std::fs::read(src.join(file)).unwrap();
        for _ in 0..rounds(60) {
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
    eprintln!("{loaded} mutated folders loaded, {refused} refused");
    assert!(refused > 0);
}
