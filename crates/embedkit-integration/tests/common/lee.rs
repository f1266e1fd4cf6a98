//! The Lee corpus (50 news documents rated pairwise by humans, Lee et al. 2005, as gensim
//! ships it) and the two numbers every Lee test reports: the mean reciprocal rank of the
//! document humans rated most similar to each one, and the Pearson correlation of a model's
//! pairwise scores with the human ratings.

use super::root;

/// The human ratings, `[50][50]` (upper triangle filled).
pub fn human_ratings() -> Vec<Vec<f64>> {
    let path = root().join("testdata/data/similarities0-1.txt");
    let human: Vec<Vec<f64>> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(human.len(), 50);
    human
}

pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// MRR and Pearson of `score[i][j]` (document j's score for document i as the query).
pub fn mrr_and_pearson(human: &[Vec<f64>], score: &[Vec<f64>]) -> (f64, f64) {
    // Mean reciprocal rank of the documents humans rated most similar (ties: the best ranked
    // of them).
    let mut mrr = 0.0;
    for i in 0..50 {
        let rating = |j: usize| human[i.min(j)][i.max(j)];
        let others: Vec<usize> = (0..50).filter(|&j| j != i).collect();
        let top = others.iter().map(|&j| rating(j)).fold(0.0, f64::max);
        let mut ranked = others.clone();
        ranked.sort_by(|&a, &b| score[i][b].total_cmp(&score[i][a]));
        let rank = ranked.iter().position(|&j| rating(j) == top).unwrap() + 1;
        mrr += 1.0 / rank as f64 / 50.0;
    }
    let (mut h, mut s) = (Vec::new(), Vec::new());
    for i in 0..50 {
        for j in i + 1..50 {
            h.push(human[i][j]);
            s.push(score[i][j]);
        }
    }
    (mrr, pearson(&h, &s))
}

/// Pairwise cosines of whole-document vectors.
pub fn cosines(vectors: &[Vec<f32>]) -> Vec<Vec<f64>> {
    vectors
        .iter()
        .map(|a| {
            vectors
                .iter()
                .map(|b| embedkit_core::vector::cosine(a, b) as f64)
                .collect()
        })
        .collect()
}

/// The 300 background documents and the 50 Lee documents, as the store reads them, and the
/// positions of the 50 in that list.
pub fn documents() -> (Vec<embedkit_store::Document>, Vec<usize>) {
    let data = root().join("testdata/data");
    let lee_path = data.join("lee.cor");
    let docs =
        embedkit_store::read_documents(&[data.join("lee_background.cor"), lee_path.clone()], true)
            .unwrap();
    let lee: Vec<usize> = (0..docs.len())
        .filter(|&i| docs[i].metadata["source"] == lee_path.display().to_string())
        .collect();
    assert_eq!(lee.len(), 50);
    (docs, lee)
}

/// All documents indexed with `model` into a fresh store at `url` (the guard keeps it).
pub fn indexed(
    url: &str,
    model: &embedkit_store::StoreModel,
) -> (embedkit_store::testing::Scratch, embedkit_store::Store) {
    use embedkit_store::{IngestOptions, Storage};
    let (docs, _) = documents();
    let (guard, store) = super::fresh_store(url);
    store
        .create_collection(&model.collection("lee", None, Storage::F32).unwrap())
        .unwrap();
    let progress = store
        .add_documents("lee", &docs, model, &IngestOptions::default(), |_| {})
        .unwrap();
    assert_eq!(progress.written, docs.len());
    (guard, store)
}

/// Searches an [`indexed`] store with each Lee document in `mode`: `score[i][j]` is the best
/// chunk of Lee document j for Lee document i (minus infinity where the search did not
/// return it: a keyword search finds only documents sharing a word).
pub fn search_scores(
    store: &embedkit_store::Store,
    model: &embedkit_store::StoreModel,
    mode: embedkit_store::SearchMode,
) -> Vec<Vec<f64>> {
    use embedkit_store::{Filter, SearchOptions};
    let (docs, lee) = documents();
    let source = &docs[lee[0]].metadata["source"];
    let only_lee = Filter::parse(&[format!("source={}", source.as_str().unwrap())]).unwrap();
    let chunks = store.counts("lee").unwrap().chunks;
    let index: std::collections::HashMap<&str, usize> = lee
        .iter()
        .enumerate()
        .map(|(i, &d)| (docs[d].id.as_str(), i))
        .collect();
    let mut score = vec![vec![f64::NAN; 50]; 50];
    for (i, &d) in lee.iter().enumerate() {
        let options = SearchOptions {
            k: chunks,
            filter: only_lee.clone(),
            mode,
            ..Default::default()
        };
        for h in store.search("lee", model, &docs[d].text, &options).unwrap() {
            let j = index[h.id.as_str()];
            if score[i][j].is_nan() {
                score[i][j] = h.score as f64; // hits come best first
            }
        }
    }
    for v in score.iter_mut().flatten().filter(|v| v.is_nan()) {
        *v = f64::NEG_INFINITY;
    }
    score
}

/// [`indexed`] then [`search_scores`] by vector similarity.
pub fn store_scores(url: &str, model: &embedkit_store::StoreModel) -> Vec<Vec<f64>> {
    let (_guard, store) = indexed(url, model);
    search_scores(&store, model, embedkit_store::SearchMode::Vector)
}

/// nDCG@k of each Lee document's ranking of the 49 others, the human ratings as graded
/// relevance, averaged over the 50 queries.
pub fn ndcg(human: &[Vec<f64>], score: &[Vec<f64>], k: usize) -> f64 {
    let dcg = |gains: &[f64]| -> f64 {
        gains
            .iter()
            .take(k)
            .enumerate()
            .map(|(r, g)| g / (r as f64 + 2.0).log2())
            .sum()
    };
    let mut total = 0.0;
    for i in 0..50 {
        let rating = |j: usize| human[i.min(j)][i.max(j)];
        let mut ranked: Vec<usize> = (0..50).filter(|&j| j != i).collect();
        ranked.sort_by(|&a, &b| score[i][b].total_cmp(&score[i][a]));
        let gains: Vec<f64> = ranked.iter().map(|&j| rating(j)).collect();
        let mut ideal = gains.clone();
        ideal.sort_by(|a, b| b.total_cmp(a));
        total += dcg(&gains) / dcg(&ideal);
    }
    total / 50.0
}
