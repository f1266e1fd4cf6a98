//! Qwen3-Embedding specifics: layer-by-layer parity (to pinpoint a failing layer), the EOS
//! appended with or without the tokenizer's post-processor, and the instruction format.

mod common;

use common::*;
use embedkit_core::npy;
use embedkit_models::arch::{self, PackedBatch};
use embedkit_models::folder::ModelFolder;
use embedkit_models::{EmbedOptions, Precision, Prompt, SentenceEmbedder};

fn read(file: &str) -> npy::Array<f32> {
    let path = fixtures().join("reference/tiny-qwen3").join(file);
    npy::read_f32(std::fs::File::open(path).unwrap()).unwrap()
}

fn read_i64(file: &str) -> npy::Array<i64> {
    let path = fixtures().join("reference/tiny-qwen3").join(file);
    npy::read_i64(std::fs::File::open(path).unwrap()).unwrap()
}

#[test]
fn every_layer_matches_transformers() {
    let folder = ModelFolder::read(&fixtures().join("tiny-qwen3")).unwrap();
    let encoder = arch::load(&folder, Precision::Auto).unwrap();
    // first2_*: sentences 0 and 1 in one left-padded batch [2, L].
    let ids = read_i64("first2_input_ids.npy");
    let mask = read_i64("first2_attention_mask.npy");
    let len = ids.shape[1];
    let mut batch = PackedBatch::default();
    let mut real_positions = Vec::new();
    for row in 0..2 {
        let cols: Vec<usize> = (0..len)
            .filter(|&c| mask.data[row * len + c] == 1)
            .collect();
        let toks: Vec<u32> = cols
            .iter()
            .map(|&c| ids.data[row * len + c] as u32)
            .collect();
        batch.push(&toks, &vec![0; toks.len()]);
        real_positions.push(cols);
    }
    let d = encoder.hidden_size();
    let mut layers = Vec::new();
    let last = encoder
        .forward_traced(&batch, &mut |x| layers.push(x.to_vec()))
        .unwrap();
    let reference = read("first2_layer_outputs.npy"); // [layers, 2, L, d]
    let compare = |name: &str, got: &[f32], want: &[f32]| {
        for (row, cols) in real_positions.iter().enumerate() {
            for (t, &c) in cols.iter().enumerate() {
                let g = &got[(batch.sequences[row].start + t) * d..][..d];
                let w = &want[(row * len + c) * d..][..d];
                for (a, b) in g.iter().zip(w) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{name}: row {row} token {t}: {a} vs {b}"
                    );
                }
            }
        }
    };
    assert_eq!(layers.len(), reference.shape[0]);
    let per_layer = 2 * len * d;
    for (i, got) in layers.iter().enumerate() {
        compare(
            &format!("layer {i}"),
            got,
            &reference.data[i * per_layer..(i + 1) * per_layer],
        );
    }
    compare(
        "last_hidden_state",
        &last,
        &read("first2_last_hidden_state.npy").data,
    );
}

#[test]
fn eos_is_appended_even_without_the_tokenizer_post_processor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qwen3-plain-tokenizer");
    std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    std::fs::create_dir_all(dir.join("2_Normalize")).unwrap();
    let src = fixtures().join("tiny-qwen3");
    for f in [
        "config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer_config.json",
        "1_Pooling/config.json",
        "2_Normalize/config.json",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    // The plain Qwen3 tokenizer: a ByteLevel post-processor only, appending nothing.
    let mut tok: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("tokenizer.json")).unwrap())
            .unwrap();
    tok["post_processor"] = serde_json::json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false});
    std::fs::write(dir.join("tokenizer.json"), tok.to_string()).unwrap();

    let m = SentenceEmbedder::from_folder(&dir).unwrap();
    let info = m.info();
    assert_eq!(
        info.eos.as_deref(),
        Some("token 151643 appended by embedkit")
    );
    assert!(info.notes.iter().any(|n| n.contains("151643")));
    let sentences = sentences();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let ids: Vec<Vec<u32>> = m
        .tokenize(&texts, &Prompt::None)
        .unwrap()
        .into_iter()
        .map(|e| e.ids)
        .collect();
    assert_eq!(
        ids,
        reference_ids("tiny-qwen3").0,
        "same ids, truncated paragraph included"
    );
    let got = m.embed(&texts, &EmbedOptions::default()).unwrap();
    assert_rows_match(
        &got,
        &reference_rows("tiny-qwen3", "embeddings.npy"),
        0.99999,
        "plain tokenizer",
    );
}

#[test]
fn instruction_builds_the_model_card_query_format() {
    let m = SentenceEmbedder::from_folder(&fixtures().join("tiny-qwen3")).unwrap();
    let task = "Given a web search query, retrieve relevant passages that answer the query";
    // The fixture's `query` prompt is exactly this instruction.
    assert_eq!(
        m.prompt_text(&Prompt::instruction(task)).unwrap(),
        m.prompt_text(&Prompt::Named("query".into())).unwrap()
    );
    let sentences = sentences();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let options = EmbedOptions {
        prompt: Prompt::instruction(task),
        ..Default::default()
    };
    let got = m.embed(&texts, &options).unwrap();
    assert_rows_match(
        &got,
        &reference_rows("tiny-qwen3", "embeddings_query.npy"),
        0.99999,
        "instruction",
    );
    let info = m.info();
    assert_eq!(info.pooling, vec!["lasttoken"]);
    assert_eq!(info.padding_side, "left");
}
