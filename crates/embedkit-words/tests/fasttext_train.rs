//! fastText training (acceptance 5): vectors for words never seen in training come from
//! their character n-grams and sit next to their morphological relatives.

use embedkit_words::train::fasttext::{self, FastTextConfig};
use std::path::PathBuf;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

#[test]
fn unseen_words_are_nearest_to_their_morphological_relatives() {
    let corpus = testdata().join("data/lee_background.cor");
    let text = std::fs::read_to_string(&corpus).unwrap().to_lowercase();
    let cfg = FastTextConfig {
        dim: 50,
        epochs: 10,
        bucket: 100_000,
        threads: 1,
        ..Default::default()
    };
    let v = fasttext::train(&corpus, &cfg, &|_| {})
        .unwrap()
        .model
        .into_word_vectors()
        .unwrap();
    for (unseen, family) in [
        ("governmental", "govern"),
        ("terrorise", "terror"),
        ("militaristic", "milit"),
    ] {
        // Really unseen: not even a part of a corpus word.
        assert!(!text.contains(unseen), "{unseen} occurs in the corpus");
        assert!(v.index_of(unseen).is_none());
        let near = v.most_similar(&[unseen], &[], 3, None).unwrap();
        let words: Vec<&str> = near.iter().map(|s| s.word.as_str()).collect();
        assert!(
            words.iter().any(|w| w.to_lowercase().starts_with(family)),
            "{unseen}: top 3 {words:?} has no {family}- word"
        );
    }
}
