//! The seam for rerankers (cross-encoders): a model that reads a query and a document
//! together and scores how well the document answers the query. The store's `search
//! --rerank` and the server's collection search hold a `dyn Reranker`, so they do not depend
//! on how the model is built or where it runs.

use crate::embedder::EmbedError;

/// One document's place in a reranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// Position of the document in the input.
    pub index: usize,
    /// Its score (after the model's activation).
    pub score: f32,
}

/// Sorts by score, best first; equal scores keep input order (as sentence-transformers'
/// `CrossEncoder.rank` does, with a stable sort).
pub fn sort_ranked(ranked: &mut [Ranked]) {
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
}

/// Something that scores (query, document) pairs: one number per document, larger is better.
pub trait Reranker: Send + Sync {
    /// The score of each document for `query`, in input order, after the model's activation
    /// (sigmoid for one-label cross-encoders): what sentence-transformers'
    /// `CrossEncoder.predict` gives for the pairs `(query, document)`.
    fn score(&self, query: &str, documents: &[&str]) -> Result<Vec<f32>, EmbedError>;

    /// The documents by score, best first (ties keep input order), at most `top_n` of them
    /// (all for `None`).
    fn rerank(
        &self,
        query: &str,
        documents: &[&str],
        top_n: Option<usize>,
    ) -> Result<Vec<Ranked>, EmbedError> {
        let scores = self.score(query, documents)?;
        if scores.len() != documents.len() {
            return Err(EmbedError::model(format!(
                "the reranker gave {} scores for {} documents",
                scores.len(),
                documents.len()
            )));
        }
        let mut ranked: Vec<Ranked> = scores
            .into_iter()
            .enumerate()
            .map(|(index, score)| Ranked { index, score })
            .collect();
        sort_ranked(&mut ranked);
        if let Some(n) = top_n {
            ranked.truncate(n);
        }
        Ok(ranked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores a document by its length: longer is better.
    struct ByLength;

    impl Reranker for ByLength {
        fn score(&self, _: &str, documents: &[&str]) -> Result<Vec<f32>, EmbedError> {
            Ok(documents.iter().map(|d| d.len() as f32).collect())
        }
    }

    /// Gives one score too few.
    struct Short;

    impl Reranker for Short {
        fn score(&self, _: &str, documents: &[&str]) -> Result<Vec<f32>, EmbedError> {
            Ok(vec![0.0; documents.len().saturating_sub(1)])
        }
    }

    #[test]
    fn rerank_sorts_best_first_ties_in_input_order_and_cuts_at_top_n() {
        let docs = ["bb", "a", "cc", "dddd"];
        let all = ByLength.rerank("q", &docs, None).unwrap();
        let order: Vec<usize> = all.iter().map(|r| r.index).collect();
        assert_eq!(order, [3, 0, 2, 1]);
        assert_eq!(all[0].score, 4.0);
        let top = ByLength.rerank("q", &docs, Some(2)).unwrap();
        assert_eq!(top, all[..2]);
        assert_eq!(ByLength.rerank("q", &docs, Some(10)).unwrap().len(), 4);
    }

    #[test]
    fn a_reranker_that_loses_a_score_is_a_model_error() {
        let e = Short.rerank("q", &["a", "b"], None).unwrap_err();
        assert!(!e.is_invalid_input());
        assert!(e.message.contains("1 scores for 2 documents"), "{e}");
    }
}
