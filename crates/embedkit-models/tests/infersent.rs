//! InferSent against PyTorch: a tiny random-weight model of the reference architecture (a
//! bidirectional nn.LSTM over word vectors, max over time), saved as the original repository
//! saves it (`torch.save(state_dict)`, zip and legacy), with word-vector files in GloVe and
//! fastText `.vec` text. The references are PyTorch's vectors for English and Chinese texts
//! with out-of-vocabulary words, re-checked by a NumPy LSTM, and NLTK's tokens
//! (scripts/make-infersent-fixture.py wrote them).

mod common;

use common::fixtures;
use embedkit_core::Embedder;
use embedkit_models::infersent::InferSent;
use embedkit_models::{EmbedOptions, Error, Model, Prompt, RemoteOptions};
use std::path::{Path, PathBuf};

struct Reference {
    sentences: Vec<String>,
    words: Vec<Vec<String>>,
    embeddings: Vec<Vec<f32>>,
}

fn reference(version: u8) -> Reference {
    let path = fixtures().join(format!("reference/tiny-infersent/v{version}.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let get = |k: &str| json[k].clone();
    Reference {
        sentences: serde_json::from_value(get("sentences")).unwrap(),
        words: serde_json::from_value(get("words")).unwrap(),
        embeddings: serde_json::from_value(get("embeddings")).unwrap(),
    }
}

fn dir(version: u8) -> PathBuf {
    fixtures().join(format!("tiny-infersent/v{version}"))
}

fn embed(model: &InferSent, texts: &[String], batch_size: usize) -> Vec<Vec<f32>> {
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let options = EmbedOptions {
        batch_size,
        ..EmbedOptions::default()
    };
    model.embed_with_progress(&texts, &options, |_| {}).unwrap()
}

fn check_version(version: u8) {
    let r = reference(version);
    let model = InferSent::load(&dir(version)).unwrap();
    assert_eq!(model.version(), version);
    assert_eq!(model.dimensions(), 12);
    for (s, want) in r.sentences.iter().zip(&r.words) {
        assert_eq!(&model.input_words(s).unwrap(), want, "v{version}: {s:?}");
    }
    let got = embed(&model, &r.sentences, 32);
    assert_eq!(got.len(), r.embeddings.len());
    for ((g, w), s) in got.iter().zip(&r.embeddings).zip(&r.sentences) {
        assert_eq!(g.len(), w.len());
        let worst = g
            .iter()
            .zip(w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            worst < 1e-5,
            "v{version} {s:?}: off by {worst}\n{g:?}\n{w:?}"
        );
    }
}

#[test]
fn version_1_matches_pytorch() {
    check_version(1);
}

#[test]
fn version_2_matches_pytorch() {
    check_version(2);
}

#[test]
fn the_fixture_covers_cjk_and_unknown_words() {
    // Guards the comparison above: it must include Chinese words, dropped words and a text
    // with no known word, or it would prove less than it claims.
    let r = reference(2);
    let model = InferSent::load(&dir(2)).unwrap();
    let cjk = r.sentences.iter().position(|s| s.contains("喜欢")).unwrap();
    assert!(r.words[cjk].iter().any(|w| w == "喜欢"));
    // 猫 has no vector in version 2's file.
    assert!(model.words(&r.sentences[cjk]).contains(&"猫".to_string()));
    assert!(!r.words[cjk].contains(&"猫".to_string()));
    assert!(r.words.iter().any(|w| w == &["<p>", "</p>"]));
}

#[test]
fn batches_and_order_do_not_change_the_bits() {
    for version in [1, 2] {
        let r = reference(version);
        let model = InferSent::load(&dir(version)).unwrap();
        let whole = embed(&model, &r.sentences, 64);
        for batch in [1, 3, 5] {
            assert_eq!(embed(&model, &r.sentences, batch), whole, "batch {batch}");
        }
        let reversed: Vec<String> = r.sentences.iter().rev().cloned().collect();
        let mut back = embed(&model, &reversed, 4);
        back.reverse();
        assert_eq!(back, whole);
        // Alone, and beside the longest text.
        for (i, s) in r.sentences.iter().enumerate() {
            assert_eq!(embed(&model, std::slice::from_ref(s), 8)[0], whole[i]);
        }
    }
}

fn copy_of_v1(weights_from: &Path, name: &str, config: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(weights_from, tmp.path().join(name)).unwrap();
    std::fs::copy(dir(1).join("vectors.txt"), tmp.path().join("vectors.txt")).unwrap();
    if let Some(c) = config {
        std::fs::write(tmp.path().join("infersent.json"), c).unwrap();
    }
    tmp
}

#[test]
fn legacy_checkpoint_gives_the_same_vectors() {
    let r = reference(1);
    let zip = InferSent::load(&dir(1)).unwrap();
    let legacy_file = fixtures().join("tiny-infersent/infersent1-legacy.pkl");
    let tmp = copy_of_v1(&legacy_file, "model.pkl", Some(r#"{"version": 1}"#));
    let legacy = InferSent::load(tmp.path()).unwrap();
    assert_eq!(
        embed(&legacy, &r.sentences, 32),
        embed(&zip, &r.sentences, 32)
    );
}

#[test]
fn tokenizer_matches_nltk() {
    let path = fixtures().join("reference/tiny-infersent/tokenize.json");
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (v1, v2) = (
        InferSent::load(&dir(1)).unwrap(),
        InferSent::load(&dir(2)).unwrap(),
    );
    for case in &cases {
        let text = case["text"].as_str().unwrap();
        let nltk: Vec<String> = serde_json::from_value(case["nltk"].clone()).unwrap();
        let moses: Vec<String> = serde_json::from_value(case["moses"].clone()).unwrap();
        assert_eq!(v1.words(text), nltk, "{text:?}");
        assert_eq!(v2.words(text), moses, "{text:?}");
    }
}

#[test]
fn whitespace_splitting_when_tokenize_is_off() {
    let zip = dir(1).join("infersent1.pkl");
    let tmp = copy_of_v1(&zip, "infersent1.pkl", Some(r#"{"tokenize": false}"#));
    let model = InferSent::load(tmp.path()).unwrap();
    // "dog." is one word here, unknown to the vectors; NLTK would split off the period.
    assert_eq!(model.words("the dog."), ["the", "dog."]);
    assert_eq!(
        model.input_words("the dog.").unwrap(),
        ["<s>", "the", "</s>"]
    );
}

#[test]
fn through_model_and_the_embedder_seam() {
    let spec = format!("infersent:{}", dir(2).display());
    let model = Model::load(&spec, &RemoteOptions::default()).unwrap();
    assert!(matches!(model, Model::InferSent(_)));
    assert_eq!(Embedder::dimensions(&model), Some(12));
    assert!(!Embedder::normalizes(&model));
    let r = reference(2);
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let direct = embed(&InferSent::load(&dir(2)).unwrap(), &r.sentences, 32);
    assert_eq!(model.embed_documents(&texts).unwrap(), direct);
    assert_eq!(model.embed_query(texts[0]).unwrap(), direct[0]);
    assert_eq!(
        Embedder::count_tokens(&model, &["I don't know.", ""]).unwrap(),
        [5, 0]
    );
    // Normalize, then Matryoshka dimensions, as for every model.
    let options = EmbedOptions {
        normalize: true,
        dimensions: Some(4),
        ..EmbedOptions::default()
    };
    let v = &Embedder::embed(&model, &texts[..1], &options).unwrap()[0];
    let mut want = direct[0][..4].to_vec();
    let n = want.iter().map(|x| x * x).sum::<f32>().sqrt();
    want.iter_mut().for_each(|x| *x /= n);
    for (a, b) in v.iter().zip(&want) {
        assert!((a - b).abs() < 1e-6);
    }
    // A literal prompt is text in front of the input.
    let prompted = EmbedOptions {
        prompt: Prompt::Text("the ".into()),
        ..EmbedOptions::default()
    };
    assert_eq!(
        Embedder::embed(&model, &["quick brown fox"], &prompted).unwrap(),
        Embedder::embed(&model, &["the quick brown fox"], &EmbedOptions::default()).unwrap()
    );
}

#[test]
fn bad_folders_and_requests_are_errors() {
    let v1 = dir(1);
    // No folder, no weights, no vectors, no version.
    assert!(matches!(
        InferSent::load(Path::new("/nonexistent/infersent")),
        Err(Error::MissingFolder(_))
    ));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        InferSent::load(empty.path()),
        Err(Error::MissingFile { .. })
    ));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(v1.join("infersent1.pkl"), tmp.path().join("infersent1.pkl")).unwrap();
    assert!(matches!(
        InferSent::load(tmp.path()),
        Err(Error::MissingFile { .. })
    ));
    let tmp = copy_of_v1(&v1.join("infersent1.pkl"), "model.pkl", None);
    let e = InferSent::load(tmp.path()).unwrap_err();
    assert!(e.to_string().contains("version"), "{e}");
    // Vectors of the wrong width.
    let tmp = copy_of_v1(&v1.join("infersent1.pkl"), "infersent1.pkl", None);
    std::fs::write(
        tmp.path().join("vectors.txt"),
        "the 0.1 0.2\n</s> 0.3 0.4\n",
    )
    .unwrap();
    let e = InferSent::load(tmp.path()).unwrap_err();
    assert!(e.to_string().contains("2 dimensions"), "{e}");
    // A checkpoint cut short, and one that is not an InferSent state dict.
    let bytes = std::fs::read(v1.join("infersent1.pkl")).unwrap();
    for cut in [10, bytes.len() / 2, bytes.len() - 30] {
        let tmp = copy_of_v1(&v1.join("infersent1.pkl"), "infersent1.pkl", None);
        std::fs::write(tmp.path().join("infersent1.pkl"), &bytes[..cut]).unwrap();
        assert!(matches!(
            InferSent::load(tmp.path()),
            Err(Error::Weights { .. })
        ));
    }
    let tmp = copy_of_v1(
        &fixtures().join("pth/small_zip.pth"),
        "infersent1.pkl",
        None,
    );
    let e = InferSent::load(tmp.path()).unwrap_err();
    assert!(e.to_string().contains("enc_lstm.weight_ih_l0"), "{e}");
    // enc_lstm_dim that disagrees with the weights.
    let tmp = copy_of_v1(
        &v1.join("infersent1.pkl"),
        "infersent1.pkl",
        Some(r#"{"enc_lstm_dim": 4096}"#),
    );
    assert!(matches!(
        InferSent::load(tmp.path()),
        Err(Error::Config { .. })
    ));

    let model = InferSent::load(&v1).unwrap();
    let bad = |options: EmbedOptions| {
        model
            .embed_with_progress(&["the cat"], &options, |_| {})
            .unwrap_err()
    };
    for options in [
        EmbedOptions {
            prompt: Prompt::Named("query".into()),
            ..EmbedOptions::default()
        },
        EmbedOptions {
            dimensions: Some(13),
            ..EmbedOptions::default()
        },
        EmbedOptions {
            batch_size: 0,
            ..EmbedOptions::default()
        },
    ] {
        assert!(matches!(bad(options), Error::InvalidInput(_)));
    }
    // Without boundary tokens in the vectors, a text of unknown words has nothing to read.
    let tmp = copy_of_v1(&v1.join("infersent1.pkl"), "infersent1.pkl", None);
    let lines: String = std::fs::read_to_string(v1.join("vectors.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("<s> ") && !l.starts_with("</s> "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(tmp.path().join("vectors.txt"), lines).unwrap();
    let bare = InferSent::load(tmp.path()).unwrap();
    assert_eq!(bare.input_words("the cat").unwrap(), ["the", "cat"]);
    let e = bare
        .embed_with_progress(&["zzz qqq"], &EmbedOptions::default(), |_| {})
        .unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e}");
}
