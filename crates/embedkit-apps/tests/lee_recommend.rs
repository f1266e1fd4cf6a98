//! Acceptance: recommendation quality against human judgement on the 50 Lee documents
//! (`testdata/data/lee.cor`, mean human similarity ratings in `similarities0-1.txt`), with
//! all-MiniLM-L6-v2 and with averaged GloVe word vectors.
//!
//! * Item-to-item: each document's top-5 list scored by nDCG@5 with the human ratings as
//!   gains; compared with `sklearn.metrics.ndcg_score` on sentence-transformers embeddings
//!   (`bench/apps_reference.py`: 0.8595) and on numpy means of the same GloVe 6B-50d rows
//!   (`bench/lee_glove_reference.py`: 0.77776).
//! * User-to-item on synthetic logs built from the ratings (construction below).

mod common;

use embedkit_apps::data::{items_from_texts, Item};
use embedkit_apps::recommend::{
    ndcg_at_k, recommend_for_user, similar_items, ExactIndex, Scored, UserOptions,
};
use embedkit_apps::{vectors_for, AveragedWords, TextEmbedding};

const SKLEARN_NDCG5: f64 = 0.8595;
/// `bench/lee_glove_reference.py` (numpy mean of the GloVe rows, cosine, sklearn's nDCG).
const NUMPY_GLOVE_NDCG5: f64 = 0.777_761;

fn gains(ratings: &[f64], list: &[Scored]) -> Vec<f64> {
    list.iter().map(|s| ratings[s.item]).collect()
}

/// Expected nDCG@5 of a uniformly random order of `candidates` (exact: every position has the
/// mean gain).
fn random_ndcg5(ratings: &[f64], candidates: &[usize]) -> f64 {
    let all: Vec<f64> = candidates.iter().map(|&j| ratings[j]).collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    ndcg_at_k(&[mean; 5], &all, 5)
}

/// Mean item-to-item nDCG@5 over the 50 documents, and that of a random order.
fn item_to_item_ndcg5(index: &ExactIndex, items: &[Item], ratings: &[Vec<f64>]) -> (f64, f64) {
    let (mut ndcg, mut random) = (0.0, 0.0);
    for (i, rated) in ratings.iter().enumerate() {
        let list = similar_items(index, items, i, 5).unwrap();
        assert_eq!(list.len(), 5);
        assert!(list.iter().all(|s| s.item != i));
        let others: Vec<usize> = (0..50).filter(|&j| j != i).collect();
        let all: Vec<f64> = others.iter().map(|&j| rated[j]).collect();
        ndcg += ndcg_at_k(&gains(rated, &list), &all, 5) / 50.0;
        random += random_ndcg5(rated, &others) / 50.0;
    }
    (ndcg, random)
}

#[test]
fn lee_item_to_item_with_averaged_glove_matches_numpy() {
    let items = items_from_texts(&common::lee_documents());
    let glove = AveragedWords::load(&common::data("glove-6b-50d-lee.txt")).unwrap();
    let vectors = vectors_for(&glove, &items).unwrap();
    assert_eq!(vectors[0].len(), 50);
    let index = ExactIndex::new(&vectors).unwrap();
    let (ndcg, random) = item_to_item_ndcg5(&index, &items, &common::lee_ratings());
    eprintln!("averaged GloVe item-to-item nDCG@5 {ndcg:.6} (random order {random:.4})");
    assert!(
        (ndcg - NUMPY_GLOVE_NDCG5).abs() < 1e-3,
        "nDCG@5 {ndcg} vs numpy + scikit-learn on the same GloVe rows {NUMPY_GLOVE_NDCG5}"
    );
    assert!(ndcg > random + 0.2, "{ndcg} vs random {random}");
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn lee_item_to_item_and_user_to_item_agree_with_human_ratings() {
    let docs = common::lee_documents();
    let ratings = common::lee_ratings();
    let model = common::minilm();
    let items = items_from_texts(&docs);
    let vectors = vectors_for(&TextEmbedding::new(&model, "all-MiniLM-L6-v2"), &items).unwrap();
    let index = ExactIndex::new(&vectors).unwrap();

    // Item-to-item.
    let (ndcg, random) = item_to_item_ndcg5(&index, &items, &ratings);
    eprintln!("item-to-item nDCG@5 {ndcg:.4} (random order {random:.4})");
    assert!(
        (ndcg - SKLEARN_NDCG5).abs() < 0.005,
        "nDCG@5 {ndcg} vs scikit-learn on sentence-transformers {SKLEARN_NDCG5}"
    );

    // User-to-item. Synthetic logs: user s is interested in the topic of document s. They
    // read the 4 documents people rated most similar to s (s itself excluded), in order of
    // increasing rating, so the most similar one is the most recent. What they should be
    // offered next is judged by the human ratings to s over the 45 documents they have not
    // read (s itself among them).
    let opts = UserOptions {
        k: 5,
        ..Default::default()
    };
    let (mut user_ndcg, mut user_random, mut seed_found) = (0.0, 0.0, 0);
    let mut histories = Vec::new();
    for (s, rated) in ratings.iter().enumerate() {
        let mut by_rating: Vec<usize> = (0..50).filter(|&j| j != s).collect();
        by_rating.sort_by(|&a, &b| rated[b].total_cmp(&rated[a]).then(a.cmp(&b)));
        let mut history: Vec<usize> = by_rating[..4].to_vec();
        history.reverse();
        let recs = recommend_for_user(&index, &history, &opts).unwrap();
        assert_eq!(recs.len(), 5);
        assert!(
            recs.iter().all(|r| !history.contains(&r.item)),
            "seen item offered"
        );
        let unseen: Vec<usize> = (0..50).filter(|j| !history.contains(j)).collect();
        let all: Vec<f64> = unseen.iter().map(|&j| rated[j]).collect();
        user_ndcg += ndcg_at_k(&gains(rated, &recs), &all, 5) / 50.0;
        user_random += random_ndcg5(rated, &unseen) / 50.0;
        seed_found += usize::from(recs.iter().any(|r| r.item == s));
        histories.push(history);
    }
    eprintln!(
        "user-to-item nDCG@5 {user_ndcg:.4} (random order {user_random:.4}); the seed document \
         is in the top 5 for {seed_found}/50 users"
    );
    assert!(
        user_ndcg > user_random + 0.2,
        "{user_ndcg} vs random {user_random}"
    );
    assert!(seed_found >= 25, "{seed_found}/50");

    // Recency: user (a, b) read a's 4 documents long ago, then b's 4. With a short half-life
    // the list follows b; with a plain mean it is shared between a and b. Pairs of seeds whose
    // histories do not overlap.
    let (mut recent_b, mut plain_b, mut pairs) = (0.0, 0.0, 0);
    for a in 0..50 {
        let b = (a + 25) % 50;
        if histories[a]
            .iter()
            .any(|x| histories[b].contains(x) || *x == b)
            || histories[b].contains(&a)
        {
            continue;
        }
        let history: Vec<usize> = histories[a].iter().chain(&histories[b]).copied().collect();
        let unseen: Vec<usize> = (0..50).filter(|j| !history.contains(j)).collect();
        let all: Vec<f64> = unseen.iter().map(|&j| ratings[b][j]).collect();
        let score = |half_life: f64| {
            let o = UserOptions {
                k: 5,
                half_life,
                mmr_lambda: None,
            };
            let recs = recommend_for_user(&index, &history, &o).unwrap();
            ndcg_at_k(&gains(&ratings[b], &recs), &all, 5)
        };
        recent_b += score(1.0);
        plain_b += score(f64::INFINITY);
        pairs += 1;
    }
    eprintln!(
        "recency over {pairs} users: nDCG@5 for the recent topic {:.4} (half-life 1) vs {:.4} \
         (plain mean)",
        recent_b / pairs as f64,
        plain_b / pairs as f64
    );
    assert!(pairs >= 10);
    assert!(recent_b > plain_b + 0.05 * pairs as f64);
}
