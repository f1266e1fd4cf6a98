//! Cross-encoders against sentence-transformers' `CrossEncoder` on the tiny random-weight
//! fixtures (scripts/make-cross-encoder-fixtures.py): token ids of every (query, document)
//! pair, raw logits, activated scores and `rank`, for BERT's head (one label, sigmoid) and
//! RoBERTa's (three labels, identity), batch-invariant.

mod common;

use embedkit_models::cross_encoder::ScoreActivation;
use embedkit_models::weights::Precision;
use embedkit_models::CrossEncoder;
use serde_json::Value;

fn reference(name: &str) -> Value {
    let path = common::fixtures()
        .join("reference")
        .join(name)
        .join("scores.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn load(name: &str) -> CrossEncoder {
    CrossEncoder::from_folder_with(&common::fixtures().join(name), Precision::F32).unwrap()
}

fn pairs(r: &Value) -> Vec<(String, String)> {
    r["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| match x {
            Value::Array(row) => row.iter().map(|y| y.as_f64().unwrap() as f32).collect(),
            y => vec![y.as_f64().unwrap() as f32],
        })
        .collect()
}

fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: {g} vs {w}");
    }
}

fn check(name: &str, labels: usize, activation: ScoreActivation) {
    let r = reference(name);
    let model = load(name);
    assert_eq!(model.labels(), labels);
    assert_eq!(model.activation(), activation);
    assert_eq!(
        model.max_length(),
        r["max_length"].as_u64().unwrap() as usize
    );
    let owned = pairs(&r);
    let pairs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();

    let ids: Vec<Vec<u32>> = serde_json::from_value(r["input_ids"].clone()).unwrap();
    let types: Vec<Vec<u32>> = serde_json::from_value(r["token_type_ids"].clone()).unwrap();
    let encoded = model.tokenize(&pairs).unwrap();
    for (i, e) in encoded.iter().enumerate() {
        assert_eq!(e.ids, ids[i], "ids of pair {i}");
        assert_eq!(e.type_ids, types[i], "segments of pair {i}");
    }
    assert!(
        encoded.iter().any(|e| e.truncated),
        "the long paragraph is cut"
    );

    let logits: Vec<f32> = model.logits(&pairs, 5).unwrap().concat();
    close(&logits, &floats(&r["logits"]), 2e-5, "logits");
    let scores: Vec<f32> = model.predict(&pairs, 5).unwrap().concat();
    close(&scores, &floats(&r["scores"]), 2e-5, "scores");
    // Batch-invariant: packed sequences do not see each other.
    let one_by_one: Vec<f32> = model.predict(&pairs, 1).unwrap().concat();
    close(&one_by_one, &scores, 1e-6, "batch 1");
}

#[test]
fn bert_head_matches_cross_encoder() {
    check("tiny-cross-encoder", 1, ScoreActivation::Sigmoid);
}

#[test]
fn roberta_head_matches_cross_encoder() {
    check("tiny-cross-encoder-roberta", 3, ScoreActivation::Identity);
}

#[test]
fn rerank_orders_as_cross_encoder_rank() {
    let r = reference("tiny-cross-encoder");
    let model = load("tiny-cross-encoder");
    let docs: Vec<&str> = r["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    for (q, want) in r["queries"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r["rank"].as_array().unwrap())
    {
        let got = model.rerank(q.as_str().unwrap(), &docs, 4).unwrap();
        let want: Vec<(usize, f32)> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["corpus_id"].as_u64().unwrap() as usize,
                    h["score"].as_f64().unwrap() as f32,
                )
            })
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, (index, score)) in got.iter().zip(&want) {
            assert!(
                (g.score - score).abs() <= 2e-5,
                "{q}: {g:?} vs {index} {score}"
            );
        }
        // The order agrees wherever the reference's scores are apart by more than the
        // tolerance (equal scores may come in either order).
        for pair in want.windows(2) {
            if pair[0].1 - pair[1].1 > 5e-5 {
                let pos = |i| got.iter().position(|g| g.index == i).unwrap();
                assert!(
                    pos(pair[0].0) < pos(pair[1].0),
                    "{q}: {} before {}",
                    pair[0].0,
                    pair[1].0
                );
            }
        }
    }
    let roberta = load("tiny-cross-encoder-roberta");
    let e = roberta.rerank("q", &["d"], 1).unwrap_err();
    assert!(e.to_string().contains("3 labels"), "{e}");
}

#[test]
fn folders_that_are_not_cross_encoders_are_refused() {
    let e = CrossEncoder::from_folder_with(&common::fixtures().join("tiny-qwen3"), Precision::F32)
        .err()
        .unwrap();
    assert!(e.to_string().contains("qwen3 as a cross-encoder"), "{e}");
    // A BERT embedding model has no classifier to score with.
    let e = CrossEncoder::from_folder_with(
        &common::fixtures().join("tiny-minilm-mean"),
        Precision::F32,
    )
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("classifier") || e.to_string().contains("pooler"),
        "{e}"
    );
}
