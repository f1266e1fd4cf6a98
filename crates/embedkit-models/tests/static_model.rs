//! Static models (Model2Vec) against the model2vec package: folders it distilled and saved
//! load here and give `StaticModel.encode`'s vectors (a float16 table, and a vocabulary-
//! quantized one with a row mapping and per-token weights; model2vec averages a float16 table
//! in float16 and rounds its output to float16, embedkit keeps f32, hence the tolerance of a
//! float16 rounding step); texts with no known token give
//! the zero vector, as there; long texts are cut as there.
//! (scripts/make-model2vec-fixtures.py wrote the fixtures and reference/tiny-model2vec.)

mod common;

use common::fixtures;
use embedkit_models::{EmbedOptions, SentenceEmbedder};

pub struct Reference {
    pub texts: Vec<String>,
    pub json: serde_json::Value,
}

pub fn reference() -> Reference {
    let path = fixtures().join("reference/tiny-model2vec/encode.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let texts = serde_json::from_value(json["texts"].clone()).unwrap();
    Reference { texts, json }
}

pub fn rows(json: &serde_json::Value) -> Vec<Vec<f32>> {
    serde_json::from_value(json.clone()).unwrap()
}

fn check(folder: &str) {
    let r = reference();
    let m = SentenceEmbedder::from_folder(&fixtures().join(folder)).unwrap();
    assert_eq!(m.info().architecture, "model2vec");
    assert!(m.normalizes(), "the distilled config says normalize");
    let texts: Vec<&str> = r.texts.iter().map(String::as_str).collect();
    let got = m.embed(&texts, &EmbedOptions::default()).unwrap();
    let want = rows(&r.json[folder]);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if w.iter().all(|&x| x == 0.0) {
            assert!(
                g.iter().all(|&x| x == 0.0),
                "{folder}: text {i} gives zeros"
            );
        } else {
            let worst = g
                .iter()
                .zip(w)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            // Unit vectors: float16 steps are at most 2^-11 below 1.
            assert!(worst < 1e-3, "{folder}: text {i} differs by {worst}");
        }
    }
    let cos = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    };
    let compared = (0..want.len())
        .filter(|&i| want[i].iter().any(|&x| x != 0.0))
        .inspect(|&i| {
            let c = cos(&got[i], &want[i]);
            assert!(c >= 0.99999, "{folder}: text {i}: cosine {c}");
        })
        .count();
    assert_eq!(
        compared,
        want.len() - 3,
        "all but three texts have known tokens"
    );
    // One at a time (the tokenizer's single-text path) gives the same vectors.
    for (i, text) in texts.iter().enumerate() {
        let alone = m.embed(&[text], &EmbedOptions::default()).unwrap();
        assert_eq!(alone[0], got[i], "{folder}: {text:?} alone");
    }
}

#[test]
fn model2vec_folders_encode_as_model2vec() {
    check("tiny-model2vec");
}

#[test]
fn vocabulary_quantized_folders_use_mapping_and_weights() {
    check("tiny-model2vec-vq");
}

#[test]
fn distillation_reproduces_model2vec_distill() {
    use embedkit_models::distill::{distill, DistillOptions};
    let r = reference();
    let model = SentenceEmbedder::from_folder(&fixtures().join("tiny-minilm-mean")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = DistillOptions {
        dims: Some(16),
        float16: false,
        ..DistillOptions::default()
    };
    let mut calls = Vec::new();
    let made = distill(&model, out.path(), &options, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    assert_eq!(
        made.tokens,
        r.json["distilled_vocabulary"].as_u64().unwrap() as usize
    );
    assert_eq!(made.dims, 16);
    assert_eq!(calls.last(), Some(&(made.tokens, made.tokens)));
    let distilled = SentenceEmbedder::from_folder(out.path()).unwrap();
    assert_eq!(distilled.dimensions(), 16);
    let texts: Vec<&str> = r.texts.iter().map(String::as_str).collect();
    let got = distilled.embed(&texts, &EmbedOptions::default()).unwrap();
    assert_distilled_alike(&got, &rows(&r.json["distilled_f32"]), &texts);
}

#[test]
fn extra_words_are_added_as_model2vec_adds_them() {
    use embedkit_models::distill::{distill, DistillOptions};
    let r = reference();
    let model = SentenceEmbedder::from_folder(&fixtures().join("tiny-minilm-mean")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = DistillOptions {
        dims: Some(16),
        float16: false,
        extra_words: serde_json::from_value(r.json["extra_words"].clone()).unwrap(),
        ..DistillOptions::default()
    };
    let made = distill(&model, out.path(), &options, &mut |_, _| {}).unwrap();
    assert_eq!(
        made.tokens,
        r.json["distilled_words_vocabulary"].as_u64().unwrap() as usize
    );
    let distilled = SentenceEmbedder::from_folder(out.path()).unwrap();
    let mut texts: Vec<&str> = r.texts.iter().map(String::as_str).collect();
    texts.extend(["embedkit vectorstore in new york", "machine learning"]);
    let got = distilled.embed(&texts, &EmbedOptions::default()).unwrap();
    assert_distilled_alike(&got, &rows(&r.json["distilled_words_f32"]), &texts);
}

/// Vectors of a model embedkit distilled against those of model2vec's distillation of the
/// same model: model2vec's PCA runs in float32 (embedkit's in f64), so up to 5e-5 apart.
fn assert_distilled_alike(got: &[Vec<f32>], want: &[Vec<f32>], texts: &[&str]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let worst = g
            .iter()
            .zip(w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 5e-5, "text {i} ({:?}) differs by {worst}", texts[i]);
    }
}

/// The ids `tokenizers` gives a static model's text as Model2Vec's `encode` feeds it: the
/// text cut to 512 × the vocabulary's median token length characters, no special tokens,
/// truncated to 512 tokens, unknown tokens dropped.
fn reference_ids(
    tokenizer: &tokenizers::Tokenizer,
    text: &str,
    unk: u32,
    median: usize,
) -> Vec<u32> {
    let cut: String = text.chars().take(512 * median).collect();
    let e = tokenizer.encode_fast(cut.as_str(), false).unwrap();
    e.get_ids()
        .iter()
        .copied()
        .filter(|&id| id != unk)
        .collect()
}

#[test]
fn ascii_fast_path_tokenizes_as_the_tokenizers_library() {
    use embedkit_models::Prompt;
    let dir = fixtures().join("tiny-model2vec");
    let model = SentenceEmbedder::from_folder(&dir).unwrap();
    let mut reference = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    reference
        .with_truncation(Some(tokenizers::TruncationParams {
            max_length: 512,
            ..Default::default()
        }))
        .unwrap();
    reference.with_padding(None);
    let unk = reference.token_to_id("[UNK]").unwrap();
    let mut lengths: Vec<usize> = reference
        .get_vocab(true)
        .keys()
        .map(|t| t.chars().count())
        .collect();
    lengths.sort_unstable();
    let n = lengths.len();
    // NumPy's median, then int(), as Model2Vec computes it.
    let median = if n % 2 == 1 {
        lengths[n / 2]
    } else {
        (lengths[n / 2 - 1] + lengths[n / 2]) / 2
    };

    // Real sentences (the Lee corpus), then seeded random ASCII: letters of both cases,
    // digits, every punctuation mark, spaces, tabs, newlines and other control bytes, words
    // past WordPiece's 100-character limit, and pieces no vocabulary entry matches.
    let lee = std::fs::read(fixtures().join("../data/lee_background.cor")).unwrap();
    let mut texts: Vec<String> = lee
        .split(|&b| b == b'\n')
        .filter(|l| l.is_ascii())
        .map(|l| String::from_utf8(l.to_vec()).unwrap())
        .collect();
    assert!(texts.len() > 250, "the Lee corpus is mostly ASCII");
    let alphabet: Vec<u8> = (0u8..128).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..3000 {
        let len = next(60);
        let text: Vec<u8> = (0..len)
            .map(|_| match next(4) {
                0 => alphabet[next(128)],
                1 => b' ',
                _ => b"etaoinshrdluETAOINqxzj0123"[next(26)],
            })
            .collect();
        texts.push(String::from_utf8(text).unwrap());
    }
    texts.push("x".repeat(100));
    texts.push("y".repeat(101));
    texts.push("Supercalifragilisticexpialidocious antidisestablishmentarianism".into());
    // Texts the fast path hands over: non-ASCII, and added tokens written out.
    texts.push("naïve café [UNK] [PAD]".into());
    texts.push("你好 world".into());

    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let got = model.tokenize(&refs, &Prompt::None).unwrap();
    for (text, got) in texts.iter().zip(&got) {
        assert_eq!(
            got.ids,
            reference_ids(&reference, text, unk, median),
            "{text:?}"
        );
    }
}
