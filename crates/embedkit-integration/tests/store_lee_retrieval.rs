//! Acceptance 1: the Lee corpus (50 news documents rated pairwise by humans, Lee et al.
//! 2005, as gensim ships it) indexed among 300 background documents with the real
//! all-MiniLM-L6-v2; each of the 50 documents is the query. Reports (and asserts) mean
//! reciprocal rank of the human-top document and the Pearson correlation of the retrieved
//! scores with the human ratings, next to the same model's own whole-document cosines
//! (sentence-transformers' reference: Pearson 0.656).

mod common;

use common::lee;

use std::collections::HashMap;
use std::sync::Mutex;

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn lee_corpus_retrieval_matches_human_ratings() {
    let human = lee::human_ratings();
    let model = common::text_model(&common::root().join("models/all-MiniLM-L6-v2"));
    let (docs, lee) = lee::documents();

    for url in common::store_urls() {
        let score = lee::store_scores(&url, &model);
        let (mrr, r) = lee::mrr_and_pearson(&human, &score);
        eprintln!(
            "{url}: Lee MRR {mrr:.3}, Pearson {r:.3} over {} pairs",
            50 * 49 / 2
        );

        // The independent reference: whole documents embedded directly (as
        // sentence-transformers does, truncated at 256 tokens), cosine per pair.
        let texts: Vec<&str> = lee.iter().map(|&d| docs[d].text.as_str()).collect();
        let v = model.model.embed(&texts, &Default::default()).unwrap();
        let (_, r_direct) = lee::mrr_and_pearson(&human, &lee::cosines(&v));
        eprintln!("{url}: whole-document cosine Pearson {r_direct:.3}");
        assert!(
            (r_direct - 0.656).abs() < 0.01,
            "reference Pearson {r_direct}"
        );
        // Measured: MRR 0.702, Pearson 0.656 (most documents are one chunk, so the store's
        // scores are the whole-document cosines).
        assert!(
            (r - r_direct).abs() < 0.01,
            "store Pearson {r} vs direct {r_direct}"
        );
        assert!(mrr > 0.65, "MRR {mrr}");
        record(&url, "lee", &[mrr, r]);
    }
    assert_backends_agree("lee", 0.005);
}

/// Measured numbers by (backend, what).
type Results = HashMap<(String, String), Vec<f64>>;

static RESULTS: Mutex<Option<Results>> = Mutex::new(None);

/// Keeps a test's measured numbers per backend for [`assert_backends_agree`].
fn record(url: &str, what: &str, values: &[f64]) {
    RESULTS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert((url.to_string(), what.to_string()), values.to_vec());
}

/// Every backend measured the same numbers for `what`, within `tol`.
fn assert_backends_agree(what: &str, tol: f64) {
    let results = RESULTS.lock().unwrap();
    let rows: Vec<_> = results
        .iter()
        .flatten()
        .filter(|((_, w), _)| w == what)
        .collect();
    for (a, va) in &rows {
        for (b, vb) in &rows {
            for (x, y) in va.iter().zip(vb.iter()) {
                assert!((x - y).abs() <= tol, "{what}: {} {x} vs {} {y}", a.0, b.0);
            }
        }
    }
}
