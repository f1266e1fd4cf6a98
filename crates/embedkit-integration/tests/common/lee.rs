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

/// Indexes all documents with `model` into a fresh store at `url` and searches it with each
/// Lee document: `score[i][j]` is the best chunk of Lee document j for Lee document i.
pub fn store_scores(url: &str, model: &embedkit_store::StoreModel) -> Vec<Vec<f64>> {
    use embedkit_store::{Filter, IngestOptions, SearchOptions, Storage};
    let (docs, lee) = documents();
    let (_guard, store) = super::fresh_store(url);
    store
        .create_collection(&model.collection("lee", None, Storage::F32).unwrap())
        .unwrap();
    let progress = store
        .add_documents("lee", &docs, model, &IngestOptions::default(), |_| {})
        .unwrap();
    assert_eq!(progress.written, docs.len());
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
            ..Default::default()
        };
        for h in store.search("lee", model, &docs[d].text, &options).unwrap() {
            let j = index[h.id.as_str()];
            if score[i][j].is_nan() {
                score[i][j] = h.score as f64; // hits come best first
            }
        }
    }
    score
}
