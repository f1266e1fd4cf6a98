//! Acceptance 6: malformed files give a clear error, never a panic.

#[path = "../../../tests/support/mutation.rs"]
mod mutation;

use embedkit_words::format::{fasttext::FastTextModel, word2vec};
use embedkit_words::WordsError;
use mutation::Rng;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/fixtures/wordvec")
        .join(name);
    std::fs::read(p).unwrap()
}

fn message(r: Result<impl std::fmt::Debug, WordsError>) -> String {
    let e = r.expect_err("must fail");
    assert!(matches!(e, WordsError::Malformed { .. }), "{e:?}");
    e.to_string()
}

#[test]
fn truncated_binary_files_are_reported() {
    let bin = fixture("w2v.bin");
    let m = message(word2vec::read_binary(&bin[..bin.len() - 10]));
    assert!(
        m.contains("truncated") && m.contains("record 3955 of 3955"),
        "{m}"
    );
    let ft = fixture("fasttext.bin");
    let m = message(FastTextModel::read(&ft[..ft.len() / 2]));
    assert!(m.contains("truncated"), "{m}");
    let m = message(FastTextModel::read(&ft[..30]));
    assert!(m.contains("truncated"), "{m}");
}

#[test]
fn wrong_header_counts_are_reported() {
    let m = message(word2vec::read_text(&b"3 2\na 1 2\nb 3 4\n"[..], true));
    assert!(m.contains("announces 3 vectors but the file has 2"), "{m}");
    let m = message(word2vec::read_text(&b"1 2\na 1 2\nb 3 4\n"[..], true));
    assert!(m.contains("line 3: more vectors than the 1"), "{m}");
    let m = message(word2vec::read_text(&b"2 3\na 1 2\nb 3 4\n"[..], true));
    assert!(m.contains("line 2 (a): expected 3 values, found 2"), "{m}");
    let mut bin = b"1 2\n".to_vec();
    for w in ["a", "b"] {
        bin.extend(w.as_bytes());
        bin.push(b' ');
        bin.extend(1f32.to_le_bytes());
        bin.extend(2f32.to_le_bytes());
    }
    let m = message(word2vec::read_binary(&bin[..]));
    assert!(m.contains("data after the 1 vectors"), "{m}");
    let m = message(word2vec::read_binary(&b"x 2\n"[..]));
    assert!(m.contains("header word count \"x\""), "{m}");
}

#[test]
fn non_utf8_words_are_reported() {
    let m = message(word2vec::read_text(&b"1 2\ncaf\xe9 1 2\n"[..], true));
    assert!(m.contains("line 2: not valid UTF-8"), "{m}");
    let mut bin = b"1 1\ncaf\xe9 ".to_vec();
    bin.extend(1f32.to_le_bytes());
    let m = message(word2vec::read_binary(&bin[..]));
    assert!(m.contains("record 1: word is not valid UTF-8"), "{m}");
}

#[test]
fn nan_values_are_reported() {
    let m = message(word2vec::read_text(&b"a 1 NaN\n"[..], false));
    assert!(m.contains("line 1 (a): non-finite value NaN"), "{m}");
    let m = message(word2vec::read_text(&b"1 2\na 1 inf\n"[..], true));
    assert!(m.contains("non-finite"), "{m}");
    let mut bin = b"1 1\na ".to_vec();
    bin.extend(f32::NAN.to_le_bytes());
    let m = message(word2vec::read_binary(&bin[..]));
    assert!(m.contains("record 1 (a): non-finite value"), "{m}");
    // A NaN in the fastText input matrix (first float after the header and dictionary).
    let mut ft = fixture("fasttext.bin");
    let at = ft.len() - (5955 + 3955) * 16 * 4 - 16 - 1;
    ft[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let m = message(FastTextModel::read(&ft[..]));
    assert!(m.contains("non-finite value in the input matrix"), "{m}");
}

fn read_all(bytes: &[u8]) {
    // Any result is fine; a panic fails the test.
    let _ = word2vec::read_text(bytes, true);
    let _ = word2vec::read_text(bytes, false);
    let _ = word2vec::read_binary(bytes);
    let _ = FastTextModel::read(bytes).map(|m| m.into_word_vectors());
    let _ = embedkit_words::format::detect(bytes);
}

#[test]
fn random_truncated_and_mutated_inputs_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let txt = fixture("w2v.txt");
    let seeds = [
        fixture("w2v.bin")[..4000].to_vec(),
        txt[..4000].to_vec(),
        fixture("fasttext.bin"),
        b"2 2\na 1 2\nb 3 4\n".to_vec(),
    ];
    for seed in &seeds {
        for _ in 0..150 {
            let mut b = seed.clone();
            let cut = rng.below(b.len() + 1);
            b.truncate(cut);
            for _ in 0..rng.below(8) {
                if b.is_empty() {
                    break;
                }
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            read_all(&b);
        }
    }
    for _ in 0..300 {
        let n = rng.below(200);
        let b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        read_all(&b);
    }
}
