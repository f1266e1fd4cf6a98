//! Parity with sentence-transformers on the tiny random-weight fixtures: embeddings, prompt
//! embeddings, Matryoshka truncation and token ids; plus batch invariance.

mod common;

use common::*;
use embedkit_models::{EmbedOptions, Prompt, SentenceEmbedder};

const MIN_COS: f32 = 0.99999;

fn load(model: &str) -> SentenceEmbedder {
    SentenceEmbedder::from_folder(&fixtures().join(model)).unwrap()
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
fn tiny_qwen3_last_token_pooling_and_instruction_prompt_match_sentence_transformers() {
    check_model("tiny-qwen3", true);
}

#[test]
fn results_do_not_depend_on_batching_or_order() {
    for model in ["tiny-bge", "tiny-mpnet", "tiny-distilbert", "tiny-qwen3"] {
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
