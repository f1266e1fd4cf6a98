//! Acceptance 4 (memory part): under a small memory limit the co-occurrence step spills
//! sorted chunks and merges them into the same matrix as an in-memory run, and a whole
//! GloVe run (counting, shuffling, training) stays within the bound and still learns.

use embedkit_words::train::cooccur::{self, Cooc};
use embedkit_words::train::Vocab;
use std::path::{Path, PathBuf};

fn count(corpus: &Path, vocab: &Vocab, window: usize, memory: usize) -> (Vec<Cooc>, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let chunks = cooccur::count(corpus, vocab, window, memory, tmp.path(), &mut |c| {
        out.push(c)
    })
    .unwrap();
    (out, chunks)
}

#[test]
fn hand_computed_counts_with_inverse_distance() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.txt");
    std::fs::write(&p, "a b c\nc a\n").unwrap();
    let vocab = Vocab::build(&p, 1).unwrap();
    let id = |w: &[u8]| vocab.id(w).unwrap();
    let (got, chunks) = count(&p, &vocab, 2, 1 << 20);
    assert_eq!(chunks, 0);
    let x = |a: &[u8], b: &[u8]| {
        got.iter()
            .find(|c| c.i == id(a) && c.j == id(b))
            .map_or(0.0, |c| c.x)
    };
    // Sentence 1: a-b, b-c at distance 1, a-c at 2; sentence 2: c-a at 1 (lines do not mix).
    assert_eq!(x(b"a", b"b"), 1.0);
    assert_eq!(x(b"b", b"c"), 1.0);
    assert_eq!(x(b"a", b"c"), 1.5);
    assert_eq!(x(b"c", b"a"), 1.5);
    assert_eq!(x(b"b", b"a"), 1.0);
    assert_eq!(got.len(), 6);
}

/// The original `cooccur` reads a line whole: a one-line corpus (text8, gcide) has no
/// sentence breaks, so pairs across word 10,000 count too (word2vec's trainers cut there).
#[test]
fn a_long_line_is_counted_whole() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.txt");
    let n = 25_001;
    std::fs::write(&p, "a b ".repeat(n / 2) + "a\n").unwrap();
    let vocab = Vocab::build(&p, 1).unwrap();
    let (got, _) = count(&p, &vocab, 1, 1 << 20);
    // Window 1: each of the n - 1 neighbouring pairs adds 1 to X[a][b] and to X[b][a].
    let total: f64 = got.iter().map(|c| c.x).sum();
    assert_eq!(total, 2.0 * (n - 1) as f64);
}

#[test]
fn spilled_and_merged_matrix_equals_the_in_memory_one() {
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/data/lee_background.cor");
    let vocab = Vocab::build(&corpus, 1).unwrap();
    let (full, chunks) = count(&corpus, &vocab, 10, 1 << 30);
    assert_eq!(chunks, 0);
    // 256 KiB of records: the corpus needs dozens of chunks.
    let (small, chunks) = count(&corpus, &vocab, 10, 256 << 10);
    assert!(chunks > 10, "{chunks} chunks");
    assert_eq!(full.len(), small.len());
    for (a, b) in full.iter().zip(&small) {
        assert_eq!((a.i, a.j), (b.i, b.j));
        // Sums in another grouping: equal up to f64 rounding.
        assert!((a.x - b.x).abs() <= 1e-12 * a.x, "{a:?} vs {b:?}");
    }
    assert!(
        full.windows(2).all(|w| (w[0].i, w[0].j) < (w[1].i, w[1].j)),
        "sorted, each pair once"
    );
}

/// The whole GloVe run under a tight memory bound: counting and shuffling both spill to
/// disk, training streams the shuffled pairs, and the vectors still learn the corpus's
/// topics (pairs that word2vec also ranks near the top on lee_background).
#[test]
fn glove_trained_under_a_small_memory_bound_learns_neighbourhoods() {
    use embedkit_words::train::glove::{self, GloveConfig};
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/data/lee_background.cor");
    let cfg = GloveConfig {
        min_count: 3,
        window: 10,
        x_max: 10.0,
        epochs: 15,
        // One thread: the neighbour check below is then exact; with two Hogwild threads it
        // failed about one run in twenty on a loaded 2-core machine (the races move the
        // top ten). Two threads are trained below for the rest of the pipeline.
        threads: 1,
        // The parameters take 1.2 MB; 24 MB are reserved; 2 MB are left for the buffers.
        memory: 27 << 20,
        ..Default::default()
    };
    let g = glove::train(&corpus, &cfg, &|_| {}).unwrap();
    assert!(g.spilled_chunks > 1, "{} chunks", g.spilled_chunks);
    // Every pair reached training: the count of an in-memory co-occurrence run.
    let vocab = Vocab::build(&corpus, 3).unwrap();
    let in_memory = count(&corpus, &vocab, 10, 1 << 30).0.len();
    assert_eq!(g.pairs, in_memory);
    // The same bound with two Hogwild threads: every pair still trained, finite vectors.
    let two = glove::train(
        &corpus,
        &GloveConfig {
            threads: 2,
            ..cfg.clone()
        },
        &|_| {},
    )
    .unwrap();
    assert!(two.spilled_chunks > 1, "{} chunks", two.spilled_chunks);
    assert_eq!(two.pairs, in_memory);
    let sim = two.vectors.most_similar(&["Qaeda"], &[], 10, None).unwrap();
    assert!(sim.iter().all(|s| s.score.is_finite()), "{sim:?}");
    for (w, near) in [("Qaeda", "Al"), ("Israel", "Arafat")] {
        let n: Vec<String> = g
            .vectors
            .most_similar(&[w], &[], 10, None)
            .unwrap()
            .into_iter()
            .map(|s| s.word)
            .collect();
        assert!(n.iter().any(|x| x == near), "{near} not near {w}: {n:?}");
    }
}
