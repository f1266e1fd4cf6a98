//! Damaged word-vector files never crash a reader: seeded mutations (bytes, splices, cut and
//! repeated ranges, edge numbers in headers and counts) of small valid files in every format
//! embedkit reads (word2vec text and binary, GloVe text, fastText `.vec` and `.bin`, pruned
//! `.bin` too) and of the gensim fixtures are read by every reader, as `format::load` would
//! pick one; each either loads, and then answers queries, or fails with a `Malformed` error.
//! The stable-Rust counterpart of `fuzz/` (cargo-fuzz, nightly), run by `cargo test`; more
//! rounds: `EMBEDKIT_MUTATION_ROUNDS=100000 cargo test -p embedkit-words --test mutated_files`
//! or `scripts/fuzz.sh`.

#[path = "../../../tests/support/mutation.rs"]
mod mutation;

use embedkit_words::format::{self, fasttext::FastTextModel, word2vec};
use embedkit_words::{WordVectors, WordsError};
use mutation::{rounds, Rng};
use std::path::PathBuf;

fn testdata(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(path);
    std::fs::read(p).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    testdata(&format!("fixtures/wordvec/{name}"))
}

fn malformed(result: Result<impl std::fmt::Debug, WordsError>) -> String {
    let e = result.expect_err("must be refused");
    assert!(matches!(e, WordsError::Malformed { .. }), "{e:?}");
    e.to_string()
}

/// What reading `bytes` gave: loaded or refused.
#[derive(Default)]
struct Outcomes {
    loaded: usize,
    refused: usize,
}

impl Outcomes {
    fn record(&mut self, result: Result<WordVectors, WordsError>) {
        match result {
            Ok(vectors) => {
                self.loaded += 1;
                query(&vectors);
            }
            Err(e) => {
                // In-memory bytes cannot fail to be read: every refusal is about the content.
                assert!(matches!(e, WordsError::Malformed { .. }), "{e:?}");
                self.refused += 1;
            }
        }
    }
}

/// What a caller does with loaded vectors: known and unseen words (the fastText n-gram
/// table), neighbours.
fn query(vectors: &WordVectors) {
    let first = vectors.words().first().cloned().unwrap_or_default();
    for word in [first.as_str(), "fuzzing", "字"] {
        if let Ok(v) = vectors.vector(word) {
            assert_eq!(v.len(), vectors.dim());
        }
    }
    let _ = vectors.most_similar(&[first.as_str()], &[], 3, None);
}

/// Reads `bytes` with every reader (`format::load` picks one of them by `format::detect`).
fn read_every_way(bytes: &[u8], outcomes: &mut Outcomes) {
    let _ = format::detect(bytes);
    outcomes.record(word2vec::read_text(bytes, true));
    outcomes.record(word2vec::read_text(bytes, false));
    outcomes.record(word2vec::read_binary(bytes));
    outcomes.record(FastTextModel::read(bytes).and_then(FastTextModel::into_word_vectors));
}

/// The first `n` vectors of the gensim word2vec fixture.
fn small_vectors(n: usize) -> WordVectors {
    let all = word2vec::read_text(&fixture("w2v.txt")[..], true).unwrap();
    let dim = all.dim();
    WordVectors::new(
        all.words()[..n].to_vec(),
        dim,
        all.matrix()[..n * dim].to_vec(),
    )
    .unwrap()
}

/// The gensim fastText fixture cut down to `nwords` words and `bucket` n-gram rows; with
/// `pruned`, as a pruned model whose n-gram rows are reached through its prune index.
fn small_fasttext(nwords: usize, bucket: usize, pruned: bool) -> Vec<u8> {
    let mut m = FastTextModel::read(&fixture("fasttext.bin")[..]).unwrap();
    let dim = m.args.dim;
    let all_words = m.nwords();
    let mut input = m.input[..nwords * dim].to_vec();
    input.extend_from_slice(&m.input[all_words * dim..(all_words + bucket) * dim]);
    m.entries.truncate(nwords);
    m.input = input;
    m.output.truncate(nwords * dim);
    if pruned {
        // Buckets spread over the fixture's 2000, each to one of the kept rows.
        m.pruneidx = Some((0..bucket as i32).map(|r| (r * 37 % 2000, r)).collect());
    } else {
        m.args.bucket = bucket;
    }
    let mut bytes = Vec::new();
    m.write(&mut bytes).unwrap();
    bytes
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let small = small_vectors(12);
    let mut text = Vec::new();
    word2vec::write_text(&small, &mut text, true).unwrap();
    let mut glove = Vec::new();
    word2vec::write_text(&small, &mut glove, false).unwrap();
    let mut binary = Vec::new();
    word2vec::write_binary(&small, &mut binary).unwrap();
    // fastText's own .vec writes a space after each vector's last value.
    let vec = String::from_utf8(text.clone())
        .unwrap()
        .replace('\n', " \n")
        .into_bytes();
    vec![
        ("word2vec text", text),
        ("GloVe text", glove),
        ("word2vec binary", binary),
        ("fastText .vec", vec),
        ("fastText .bin", small_fasttext(12, 40, false)),
        ("pruned fastText .bin", small_fasttext(12, 40, true)),
    ]
}

#[test]
fn the_seeds_are_valid_files() {
    for (name, seed) in seeds() {
        let vectors = match name {
            "GloVe text" => word2vec::read_text(&seed[..], false),
            "word2vec binary" => word2vec::read_binary(&seed[..]),
            "fastText .bin" | "pruned fastText .bin" => {
                FastTextModel::read(&seed[..]).and_then(FastTextModel::into_word_vectors)
            }
            _ => word2vec::read_text(&seed[..], true),
        };
        let vectors = vectors.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((vectors.len(), vectors.dim()), (12, 16), "{name}");
    }
}

#[test]
fn mutated_word_vector_files_are_errors_not_panics() {
    let seeds = seeds();
    let donors: Vec<&[u8]> = seeds.iter().map(|(_, s)| s.as_slice()).collect();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for (name, seed) in &seeds {
        let mut outcomes = Outcomes::default();
        let n = rounds(1500);
        for _ in 0..n {
            read_every_way(&rng.mutate_bytes(seed, &donors), &mut outcomes);
        }
        eprintln!(
            "{name}: {n} inputs, {} reads loaded, {} refused",
            outcomes.loaded, outcomes.refused
        );
        assert!(
            outcomes.loaded > 0 && outcomes.refused > 0,
            "{name}: the mutations reach both outcomes"
        );
    }
}

#[test]
fn mutated_gensim_files_are_errors_not_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for name in ["w2v.txt", "w2v.bin", "fasttext.bin"] {
        let seed = fixture(name);
        let mut outcomes = Outcomes::default();
        let n = rounds(40);
        for _ in 0..n {
            read_every_way(&rng.mutate_bytes(&seed, &[]), &mut outcomes);
        }
        eprintln!(
            "{name}: {n} inputs, {} reads loaded, {} refused",
            outcomes.loaded, outcomes.refused
        );
        assert!(outcomes.refused > 0, "{name}");
    }
}

/// Found by `mutated_word_vector_files_are_errors_not_panics`: a word2vec binary header
/// announcing 184,467,440,716 dimensions made the reader reserve 2.2 × 10¹² floats up front,
/// and the process aborted on the failed allocation. Its buffers are now bounded and grow as
/// data arrives, so the file is refused as truncated.
#[test]
fn regression_binary_header_with_a_huge_dimension() {
    let m = malformed(word2vec::read_binary(&b"12 184467440716"[..]));
    assert!(m.contains("file ends in record 1 of 12"), "{m}");
    // The same with data after the header: still refused, without the huge buffers.
    let m = malformed(word2vec::read_binary(
        &b"2 1099511627776\nword \0\0\0\0"[..],
    ));
    assert!(m.contains("truncated"), "{m}");
}

/// Found by the same loop: a pruned fastText model whose prune index maps bucket 1443 to
/// row -536,870,873 (of 40) loaded, and building its word vectors indexed past the input
/// matrix and panicked. The reader now refuses prune-index rows outside the n-gram rows.
#[test]
fn regression_prune_index_row_out_of_range() {
    let bytes = testdata("fuzz-regressions/fasttext-prune-index-row-out-of-range.bin");
    let m = malformed(FastTextModel::read(&bytes[..]));
    assert!(
        m.contains("prune index maps bucket 1443 to row -536870873 of 40"),
        "{m}"
    );
}
