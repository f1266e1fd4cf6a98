//! Hierarchical softmax (`--hs`, with `--negative 0` the only output layer) trains useful
//! vectors: on lee_background its nearest neighbours agree with those of negative sampling
//! far beyond chance, and both put known topical pairs of the corpus close together.

use embedkit_words::train::word2vec::{self, Word2VecConfig};
use embedkit_words::WordVectors;
use std::collections::HashSet;
use std::path::PathBuf;

fn train(hs: bool, negative: usize) -> WordVectors {
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/data/lee_background.cor");
    let cfg = Word2VecConfig {
        skip_gram: true,
        hs,
        negative,
        dim: 50,
        epochs: 10,
        min_count: 3,
        threads: 2,
        ..Default::default()
    };
    word2vec::train(&corpus, &cfg, &|_| {}).unwrap().vectors
}

fn neighbours(v: &WordVectors, w: &str, k: usize) -> HashSet<String> {
    v.most_similar(&[w], &[], k, None)
        .unwrap()
        .into_iter()
        .map(|s| s.word)
        .collect()
}

#[test]
fn hierarchical_softmax_alone_learns_the_same_neighbourhoods_as_negative_sampling() {
    let hs = train(true, 0);
    let ns = train(false, 5);
    let words: Vec<&str> = hs
        .words()
        .iter()
        .take(300)
        .skip(100)
        .map(String::as_str)
        .collect();
    let k = 10;
    let overlap: usize = words
        .iter()
        .map(|w| {
            neighbours(&hs, w, k)
                .intersection(&neighbours(&ns, w, k))
                .count()
        })
        .sum();
    let mean = overlap as f64 / words.len() as f64;
    // Two unrelated (or untrained) models share k*k/n ≈ 0.03 neighbours of 10 on average.
    eprintln!("mean overlap of top-{k} neighbours: {mean:.2}");
    assert!(mean > 1.0, "{mean}");
    // Pairs the corpus (2001 news) ties together; measured ranks 1-2 for both models.
    for model in [&hs, &ns] {
        for (w, near) in [
            ("Qaeda", "Al"),
            ("Taliban", "Afghanistan."),
            ("Israel", "Yasser"),
        ] {
            let n = neighbours(model, w, 10);
            assert!(n.contains(near), "{near} not near {w}: {n:?}");
        }
    }
}
