//! Parity with sentence-transformers on the tiny random-weight fixtures: embeddings, prompt
//! embeddings, Matryoshka truncation and token ids; plus batch invariance.

mod common;

use common::*;
use embedkit_core::vector;
use embedkit_models::{EmbedOptions, Prompt, SentenceEmbedder};

const MIN_COS: f32 = 0.99999;

fn load(model: &str) -> SentenceEmbedder {
    load_dir(&fixtures().join(model))
}

fn load_dir(dir: &std::path::Path) -> SentenceEmbedder {
    SentenceEmbedder::from_folder(dir).unwrap()
}

fn embed(m: &SentenceEmbedder, texts: &[&str], options: EmbedOptions) -> Vec<Vec<f32>> {
    m.embed(texts, &options).unwrap()
}

fn check_model(model: &str, has_query_prompt: bool) {
    let m = load(model);
    let sentences = sentences();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();

    let (want_ids, want_query_ids) = reference_ids(model);
    let got_ids: Vec<Vec<u32>> = m
        .tokenize(&texts, &Prompt::None)
        .unwrap()
        .into_iter()
        .map(|e| e.ids)
        .collect();
    assert_eq!(got_ids, want_ids, "{model}: token ids");
    // A text on its own takes the tokenizer's single-text path: the same ids.
    for (text, want) in texts.iter().zip(&want_ids) {
        let alone = m.tokenize(&[text], &Prompt::None).unwrap();
        assert_eq!(&alone[0].ids, want, "{model}: {text:?} tokenized alone");
    }

    let got = embed(&m, &texts, EmbedOptions::default());
    assert_rows_match(
        &got,
        &reference_rows(model, "embeddings.npy"),
        MIN_COS,
        model,
    );

    for dims in [16, 8] {
        let options = EmbedOptions {
            dimensions: Some(dims),
            ..Default::default()
        };
        let got = embed(&m, &texts, options);
        let file = format!("embeddings_trunc{dims}_norm.npy");
        assert_rows_match(&got, &reference_rows(model, &file), MIN_COS, &file);
    }

    if has_query_prompt {
        let query = Prompt::Named("query".into());
        let ids: Vec<Vec<u32>> = m
            .tokenize(&texts, &query)
            .unwrap()
            .into_iter()
            .map(|e| e.ids)
            .collect();
        assert_eq!(Some(ids), want_query_ids, "{model}: query token ids");
        let options = EmbedOptions {
            prompt: query,
            ..Default::default()
        };
        let got = embed(&m, &texts, options);
        assert_rows_match(
            &got,
            &reference_rows(model, "embeddings_query.npy"),
            MIN_COS,
            "query",
        );
    }
}

#[test]
fn tiny_bge_cls_pooling_and_query_prompt_match_sentence_transformers() {
    check_model("tiny-bge", true);
}

#[test]
fn tiny_minilm_legacy_layout_without_normalize_matches_sentence_transformers() {
    check_model("tiny-minilm-mean", false);
}

#[test]
fn tiny_mpnet_relative_positions_match_sentence_transformers() {
    check_model("tiny-mpnet", false);
}

#[test]
fn tiny_distilbert_without_token_types_matches_sentence_transformers() {
    check_model("tiny-distilbert", false);
}

#[test]
fn tiny_nomic_bert_rotary_swiglu_and_query_prompt_match_sentence_transformers() {
    check_model("tiny-nomic-bert", true);
}

/// tiny-nomic-bert with `config.json` replaced by `config`.
fn nomic_bert_with_config(config: serde_json::Value) -> tempfile::TempDir {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy(&path, &target);
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixtures().join("tiny-nomic-bert"), dir.path());
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn nomic_bert_reads_the_hub_config_spelling_and_refuses_what_it_does_not_implement() {
    // nomic-embed-text's hub configs are written for the model's own code: GPT-2's key names
    // and its options, here with tiny-nomic-bert's sizes.
    let hub = serde_json::json!({
        "model_type": "nomic_bert",
        "vocab_size": 30522,
        "n_embd": 32,
        "n_head": 4,
        "n_layer": 2,
        "n_inner": 64,
        "n_positions": 128,
        "type_vocab_size": 2,
        "activation_function": "swiglu",
        "layer_norm_epsilon": 1e-12,
        "rotary_emb_base": 1000,
        "rotary_emb_fraction": 1.0,
        "rotary_emb_interleaved": false,
        "rotary_scaling_factor": null,
        "prenorm": false,
        "parallel_block": false,
        "use_rms_norm": false,
        "qkv_proj_bias": false,
        "mlp_fc1_bias": false,
        "mlp_fc2_bias": false
    });
    let dir = nomic_bert_with_config(hub.clone());
    let m = load_dir(dir.path());
    let sentences = sentences();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let got = embed(&m, &texts, EmbedOptions::default());
    let want = reference_rows("tiny-nomic-bert", "embeddings.npy");
    assert_rows_match(&got, &want, MIN_COS, "hub config");

    // A different rotary base is read, not ignored.
    let mut theta = hub.clone();
    theta["rotary_emb_base"] = serde_json::json!(10000);
    let dir = nomic_bert_with_config(theta);
    let got = embed(&load_dir(dir.path()), &texts, EmbedOptions::default());
    assert!(
        vector::cosine(&got[0], &want[0]) < 0.9999,
        "rotary_emb_base ignored"
    );

    for (key, value) in [
        ("rotary_emb_fraction", serde_json::json!(0.5)),
        ("rotary_emb_interleaved", serde_json::json!(true)),
        ("rotary_scaling_factor", serde_json::json!(2.0)),
        ("prenorm", serde_json::json!(true)),
        ("activation_function", serde_json::json!("gelu")),
    ] {
        let mut config = hub.clone();
        config[key] = value;
        let dir = nomic_bert_with_config(config);
        let err = SentenceEmbedder::from_folder(dir.path())
            .err()
            .unwrap_or_else(|| panic!("{key}: loaded"))
            .to_string();
        assert!(
            err.contains("unsupported architecture") && err.contains(key),
            "{key}: {err}"
        );
    }
}

#[test]
fn tiny_qwen3_last_token_pooling_and_instruction_prompt_match_sentence_transformers() {
    check_model("tiny-qwen3", true);
}

#[test]
fn results_do_not_depend_on_batching_or_order() {
    for model in [
        "tiny-bge",
        "tiny-mpnet",
        "tiny-distilbert",
        "tiny-nomic-bert",
        "tiny-qwen3",
    ] {
        let m = load(model);
        let sentences = sentences();
        let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
        let with_batch = |batch_size| {
            let options = EmbedOptions {
                batch_size,
                ..Default::default()
            };
            embed(&m, &texts, options)
        };
        let one_by_one: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| embed(&m, &[t], EmbedOptions::default()).remove(0))
            .collect();
        let by3 = with_batch(3);
        let by12 = with_batch(12);
        let by64 = with_batch(64);
        // Shuffled order (a fixed permutation), then put back.
        let perm = [7, 2, 11, 0, 5, 9, 1, 10, 3, 8, 6, 4];
        let shuffled: Vec<&str> = perm.iter().map(|&i| texts[i]).collect();
        let got = embed(&m, &shuffled, EmbedOptions::default());
        let mut unshuffled = vec![Vec::new(); texts.len()];
        for (row, &i) in got.into_iter().zip(&perm) {
            unshuffled[i] = row;
        }
        for other in [&by3, &by12, &by64, &unshuffled] {
            assert_rows_match(other, &one_by_one, MIN_COS, model);
        }
    }
}

#[test]
fn empty_string_embeds_like_sentence_transformers() {
    // Sentence 5 of the fixture set is "" (special tokens only).
    let m = load("tiny-bge");
    let got = embed(&m, &[""], EmbedOptions::default());
    let want = &reference_rows("tiny-bge", "embeddings.npy")[5];
    assert_rows_match(&got, std::slice::from_ref(want), MIN_COS, "empty string");
}

#[test]
fn bad_requests_are_errors() {
    let m = load("tiny-bge");
    let dims = |d| EmbedOptions {
        dimensions: Some(d),
        ..Default::default()
    };
    assert!(m.embed(&["x"], &dims(0)).is_err());
    assert!(m.embed(&["x"], &dims(33)).is_err());
    let unknown = EmbedOptions {
        prompt: Prompt::Named("passage".into()),
        ..Default::default()
    };
    let err = m.embed(&["x"], &unknown).unwrap_err().to_string();
    assert!(err.contains("query"), "lists the known prompts: {err}");
}

#[test]
fn max_length_can_be_changed_within_the_position_table() {
    let mut m = load("tiny-bge");
    let long = "word ".repeat(300);
    let count = |m: &SentenceEmbedder| m.tokenize(&[&long], &Prompt::None).unwrap()[0].ids.len();
    assert_eq!(count(&m), 64);
    m.set_max_seq_length(100).unwrap();
    assert_eq!(count(&m), 100);
    assert!(
        m.set_max_seq_length(129).is_err(),
        "tiny-bge has 128 positions"
    );
    assert!(m.set_max_seq_length(1).is_err());

    let mut q = load("tiny-qwen3");
    q.set_max_seq_length(1000).unwrap();
    let ids = q
        .tokenize(&[long.trim_end()], &Prompt::None)
        .unwrap()
        .remove(0)
        .ids;
    assert_eq!(ids.len(), 301, "300 words + EOS, no position table limit");
    assert_eq!(ids.last(), Some(&151_643));
}
