//! Acceptance 2: what embedkit writes (word2vec text and binary from a trained model, a
//! fastText `.bin`, rewritten and trained by embedkit), gensim reads back identically, out-of-vocabulary fastText vectors
//! included. Needs Python with gensim: `scripts/python-words-env.sh` prints
//! `EMBEDKIT_WORDS_PYTHON=...`; `scripts/test.sh` runs it with `--include-ignored`.

use embedkit_words::format::{self, Format};
use embedkit_words::train::fasttext::{self, FastTextConfig};
use embedkit_words::train::word2vec::{self, Word2VecConfig};
use embedkit_words::WordVectors;
use std::path::PathBuf;
use std::process::Command;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

#[test]
#[ignore = "needs Python with gensim (scripts/python-words-env.sh)"]
fn gensim_reads_what_embedkit_writes() {
    let python = std::env::var("EMBEDKIT_WORDS_PYTHON")
        .expect("set EMBEDKIT_WORDS_PYTHON (scripts/python-words-env.sh prints it)");
    let dir = tempfile::tempdir().unwrap();
    let cfg = Word2VecConfig {
        dim: 24,
        epochs: 1,
        threads: 1,
        min_count: 3,
        ..Default::default()
    };
    let w2v = word2vec::train(&testdata().join("data/lee_background.cor"), &cfg, &|_| {})
        .unwrap()
        .vectors;
    format::save(&w2v, &dir.path().join("w2v.txt"), Format::Word2VecText).unwrap();
    format::save(&w2v, &dir.path().join("w2v.bin"), Format::Word2VecBinary).unwrap();

    // A fastText model that is not gensim's own bytes: the fixture with every weight halved.
    let mut ft = format::load_fasttext(&testdata().join("fixtures/wordvec/fasttext.bin")).unwrap();
    ft.input.iter_mut().for_each(|x| *x *= 0.5);
    ft.output.iter_mut().for_each(|x| *x *= 0.5);
    let mut f = std::fs::File::create(dir.path().join("fasttext.bin")).unwrap();
    ft.write(&mut f).unwrap();
    let ftv = ft.into_word_vectors().unwrap();
    // And a fastText model embedkit trained itself (subword CBOW).
    let cfg = FastTextConfig {
        skip_gram: false,
        dim: 16,
        epochs: 1,
        bucket: 20_000,
        threads: 1,
        ..Default::default()
    };
    let trained = fasttext::train(&testdata().join("data/lee_background.cor"), &cfg, &|_| {})
        .unwrap()
        .model;
    let mut f = std::fs::File::create(dir.path().join("fasttext_trained.bin")).unwrap();
    trained.write(&mut f).unwrap();
    let trained = trained.into_word_vectors().unwrap();

    let mut w2v_words = serde_json::Map::new();
    for w in w2v.words().iter().step_by(50) {
        w2v_words.insert(w.clone(), w2v.vector(w).unwrap().into());
    }
    let oov = [
        "unbelievableness",
        "xyzzyq",
        "café",
        "tokenizers",
        "zürich",
        "北京大学",
    ];
    let some_words = |v: &WordVectors| {
        let mut m = serde_json::Map::new();
        for w in v.words().iter().step_by(100).map(String::as_str).chain(oov) {
            m.insert(w.to_string(), v.vector(w).unwrap().into());
        }
        m
    };
    let expected = serde_json::json!({"w2v_len": w2v.len(), "w2v": w2v_words,
        "fasttext": some_words(&ftv), "fasttext_trained": some_words(&trained)});
    std::fs::write(dir.path().join("expected.json"), expected.to_string()).unwrap();

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/gensim_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gensim check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn single_thread_training_is_reproducible() {
    let corpus = testdata().join("data/lee_background.cor");
    let run = |seed, skip_gram, hs| {
        let cfg = Word2VecConfig {
            dim: 16,
            epochs: 1,
            threads: 1,
            seed,
            skip_gram,
            hs,
            ..Default::default()
        };
        word2vec::train(&corpus, &cfg, &|_| {}).unwrap().vectors
    };
    for (sg, hs) in [(true, false), (false, true)] {
        let a = run(7, sg, hs);
        let b = run(7, sg, hs);
        assert_eq!(a.words(), b.words());
        assert_eq!(a.matrix(), b.matrix(), "sg={sg} hs={hs}");
        assert_ne!(a.matrix(), run(8, sg, hs).matrix(), "the seed matters");
    }
}
