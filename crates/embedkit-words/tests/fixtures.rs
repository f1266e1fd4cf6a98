//! Acceptance 1: gensim 4.4's files load and reproduce gensim's vectors (in-vocabulary and,
//! through fastText n-grams, out-of-vocabulary) and most_similar lists.

use embedkit_words::format::{self, Format};
use embedkit_words::subword::{char_ngrams, fnv1a};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fixtures")
}

fn json(name: &str) -> Value {
    let p = root().join("reference/wordvec").join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn formats_are_detected() {
    let d = |f: &str| format::detect_file(&root().join("wordvec").join(f)).unwrap();
    assert_eq!(d("w2v.txt"), Format::Word2VecText);
    assert_eq!(d("w2v.bin"), Format::Word2VecBinary);
    assert_eq!(d("fasttext.bin"), Format::FastTextBin);
}

#[test]
fn word2vec_text_and_binary_match_gensim_exactly() {
    let reference = json("w2v_vectors.json");
    for file in ["w2v.txt", "w2v.bin"] {
        let v = format::load(&root().join("wordvec").join(file), None).unwrap();
        assert_eq!((v.len(), v.dim()), (3955, 16), "{file}");
        for (word, expected) in reference.as_object().unwrap() {
            assert_eq!(v.vector(word).unwrap(), floats(expected), "{file} {word}");
        }
    }
}

#[test]
fn most_similar_matches_gensim_top5() {
    let v = format::load(&root().join("wordvec/w2v.bin"), None).unwrap();
    for (word, expected) in json("w2v_most_similar.json").as_object().unwrap() {
        let got = v.most_similar(&[word], &[], 5, None).unwrap();
        let expected = expected.as_array().unwrap();
        assert_eq!(got.len(), 5);
        for (g, e) in got.iter().zip(expected) {
            assert_eq!(g.word, e[0].as_str().unwrap(), "neighbours of {word}");
            assert!(
                (g.score as f64 - e[1].as_f64().unwrap()).abs() < 1e-6,
                "{word}: {g:?} vs {e}"
            );
        }
        // The sixth neighbour too: the ranking beyond the top 5 agrees.
        let sixth = &json("w2v_most_similar_margins.json")[word]["sixth"];
        let got6 = v.most_similar(&[word], &[], 6, None).unwrap();
        assert_eq!(got6[5].word, sixth[0].as_str().unwrap());
    }
}

#[test]
fn fasttext_bin_gives_gensim_vectors_in_and_out_of_vocabulary() {
    let v = format::load(&root().join("wordvec/fasttext.bin"), None).unwrap();
    assert_eq!((v.len(), v.dim()), (3955, 16));
    let reference = json("fasttext_vectors.json");
    let params = json("params.json");
    let oov: Vec<&str> = params["words"]["oov"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let mut checked_oov = 0;
    for (word, expected) in reference.as_object().unwrap() {
        assert_eq!(
            v.index_of(word).is_none(),
            oov.contains(&word.as_str()),
            "{word}"
        );
        checked_oov += v.index_of(word).is_none() as usize;
        let got = v.vector(word).unwrap();
        for (g, e) in got.iter().zip(floats(expected)) {
            assert!((g - e).abs() <= 1e-6, "{word}: {g} vs {e}");
        }
    }
    assert_eq!(checked_oov, 5);
}

#[test]
fn ngrams_and_buckets_match_gensim() {
    let v = format::load(&root().join("wordvec/fasttext.bin"), None).unwrap();
    let sw = v.subwords().unwrap();
    for (word, info) in json("fasttext_subwords.json").as_object().unwrap() {
        let ngrams: Vec<String> = info["ngrams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_string())
            .collect();
        assert_eq!(char_ngrams(word, 3, 6), ngrams, "{word}");
        let buckets: Vec<u64> = ngrams
            .iter()
            .map(|g| (fnv1a(g.as_bytes()) % 2000) as u64)
            .collect();
        let expected: Vec<u64> = info["ngram_buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap())
            .collect();
        assert_eq!(buckets, expected, "{word}");
        let mut rows: Vec<u64> = v.index_of(word).map(|i| i as u64).into_iter().collect();
        rows.extend(sw.ngram_rows(word).into_iter().map(|r| r as u64));
        let expected_rows: Vec<u64> = info["input_matrix_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap())
            .collect();
        assert_eq!(rows, expected_rows, "{word}");
    }
}

#[test]
fn fasttext_bin_round_trips_byte_for_byte() {
    let path = root().join("wordvec/fasttext.bin");
    let model = format::load_fasttext(&path).unwrap();
    let mut out = Vec::new();
    model.write(&mut out).unwrap();
    assert_eq!(out, std::fs::read(path).unwrap());
}

#[test]
fn word2vec_formats_round_trip() {
    let v = format::load(&root().join("wordvec/w2v.txt"), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for f in [
        Format::Word2VecText,
        Format::Word2VecBinary,
        Format::GloveText,
    ] {
        let p = dir.path().join("out");
        format::save(&v, &p, f).unwrap();
        assert_eq!(format::detect_file(&p).unwrap(), f);
        let back = format::load(&p, None).unwrap();
        assert_eq!(back.words(), v.words());
        assert_eq!(back.matrix(), v.matrix());
    }
}
