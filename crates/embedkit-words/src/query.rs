//! The queries of gensim's `KeyedVectors`, with the same numbers: cosine on unit vectors,
//! query words excluded from the answers.

use crate::error::{Result, WordsError};
use crate::tokenizer::{Segmenter, Tokenizer};
use crate::vectors::{dot, unit_in_place, WordVectors};
use rayon::prelude::*;

/// A neighbour and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The word.
    pub word: String,
    /// Cosine (or 3CosMul score).
    pub score: f32,
}

impl WordVectors {
    /// The words a query argument stands for, with vectors segmented by `segmenter`: an
    /// argument that is a word of the vectors is taken as it is; any other is segmented
    /// (jieba: its words; whitespace: left as it is) and its words stand for it. An argument
    /// in which segmenting finds no word stands for itself, so that the error of the query
    /// names what was asked.
    pub fn query_words(&self, arg: &str, segmenter: &Segmenter) -> Vec<String> {
        if self.index_of(arg).is_some() {
            return vec![arg.to_string()];
        }
        match segmenter.tokenizer() {
            Tokenizer::Whitespace => vec![arg.to_string()],
            Tokenizer::Jieba => {
                let words = segmenter.words(arg);
                if words.is_empty() {
                    vec![arg.to_string()]
                } else {
                    words.into_iter().map(String::from).collect()
                }
            }
        }
    }

    /// Unit vector of `word` and its row when in the vocabulary (fastText models give
    /// unseen words a vector too).
    fn unit_vector(&self, word: &str) -> Result<(Vec<f32>, Option<usize>)> {
        match self.index_of(word) {
            Some(i) => Ok((self.unit_row(i).to_vec(), Some(i))),
            None => {
                let mut v = self.vector(word)?;
                unit_in_place(&mut v);
                Ok((v, None))
            }
        }
    }

    /// Cosine similarity of two words.
    pub fn similarity(&self, a: &str, b: &str) -> Result<f32> {
        let (va, _) = self.unit_vector(a)?;
        let (vb, _) = self.unit_vector(b)?;
        Ok(dot(&va, &vb))
    }

    /// The `topn` words nearest to the mean of the unit vectors of `positive` minus those of
    /// `negative` (3CosAdd: `most_similar(positive=[b, c], negative=[a])` answers
    /// "a is to b as c is to ?"). Only the first `restrict` words are searched when given.
    pub fn most_similar(
        &self,
        positive: &[&str],
        negative: &[&str],
        topn: usize,
        restrict: Option<usize>,
    ) -> Result<Vec<Scored>> {
        if positive.is_empty() && negative.is_empty() {
            return Err(WordsError::Invalid(
                "most_similar needs at least one word".into(),
            ));
        }
        let mut mean = vec![0.0f32; self.dim()];
        let mut exclude = Vec::new();
        for (words, sign) in [(positive, 1.0f32), (negative, -1.0)] {
            for w in words {
                let (v, i) = self.unit_vector(w)?;
                exclude.extend(i);
                mean.iter_mut().zip(&v).for_each(|(m, x)| *m += sign * x);
            }
        }
        let n = (positive.len() + negative.len()) as f32;
        mean.iter_mut().for_each(|m| *m /= n);
        unit_in_place(&mut mean);
        let scores = self.scores(restrict, |u| dot(u, &mean));
        Ok(self.top(scores, topn, &exclude))
    }

    /// 3CosMul (Levy & Goldberg 2014) as gensim's `most_similar_cosmul`: the product of
    /// `(1 + cos) / 2` over `positive`, divided by the same product over `negative`
    /// plus 1e-6.
    pub fn most_similar_cosmul(
        &self,
        positive: &[&str],
        negative: &[&str],
        topn: usize,
        restrict: Option<usize>,
    ) -> Result<Vec<Scored>> {
        if positive.is_empty() {
            return Err(WordsError::Invalid(
                "3CosMul needs at least one positive word".into(),
            ));
        }
        let mut exclude = Vec::new();
        let mut unit = |words: &[&str]| -> Result<Vec<Vec<f32>>> {
            words
                .iter()
                .map(|w| {
                    let (v, i) = self.unit_vector(w)?;
                    exclude.extend(i);
                    Ok(v)
                })
                .collect()
        };
        let pos = unit(positive)?;
        let neg = unit(negative)?;
        let scores = self.scores(restrict, |u| {
            let p: f32 = pos.iter().map(|t| (1.0 + dot(u, t)) / 2.0).product();
            let q: f32 = neg.iter().map(|t| (1.0 + dot(u, t)) / 2.0).product();
            p / (q + 1e-6)
        });
        Ok(self.top(scores, topn, &exclude))
    }

    /// The word that fits least: the one farthest from the mean of all unit vectors. Words
    /// without a vector are ignored, as gensim does.
    pub fn doesnt_match(&self, words: &[&str]) -> Result<String> {
        let used: Vec<(&str, Vec<f32>)> = words
            .iter()
            .filter_map(|w| self.unit_vector(w).ok().map(|(v, _)| (*w, v)))
            .collect();
        if used.is_empty() {
            return Err(WordsError::Invalid("none of the words has a vector".into()));
        }
        let mut mean = vec![0.0f32; self.dim()];
        for (_, v) in &used {
            mean.iter_mut().zip(v).for_each(|(m, x)| *m += x);
        }
        mean.iter_mut().for_each(|m| *m /= used.len() as f32);
        unit_in_place(&mut mean);
        let (word, _) = used
            .iter()
            .map(|(w, v)| (*w, dot(v, &mean)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)))
            .expect("used is not empty");
        Ok(word.to_string())
    }

    fn scores(&self, restrict: Option<usize>, f: impl Fn(&[f32]) -> f32 + Sync + Send) -> Vec<f32> {
        let n = restrict.map_or(self.len(), |r| r.min(self.len()));
        self.unit_matrix()[..n * self.dim()]
            .par_chunks_exact(self.dim())
            .with_min_len(4096)
            .map(f)
            .collect()
    }

    fn top(&self, scores: Vec<f32>, topn: usize, exclude: &[usize]) -> Vec<Scored> {
        let mut idx: Vec<usize> = (0..scores.len()).filter(|i| !exclude.contains(i)).collect();
        let by_score = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
        if topn < idx.len() {
            idx.select_nth_unstable_by(topn, by_score);
            idx.truncate(topn);
        }
        idx.sort_by(by_score);
        idx.into_iter()
            .map(|i| Scored {
                word: self.words()[i].clone(),
                score: scores[i],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_arguments_that_are_not_words_are_segmented() {
        let words = ["苹果", "喜欢", "北京大学", "new york"]
            .map(String::from)
            .to_vec();
        let v = WordVectors::new(words, 2, vec![1.0; 8]).unwrap();
        let jieba = Segmenter::new(Tokenizer::Jieba);
        // A word of the vectors stays whole, even where jieba would split it.
        assert_eq!(v.query_words("北京大学", &jieba), ["北京大学"]);
        assert_eq!(v.query_words("new york", &jieba), ["new york"]);
        assert_eq!(v.query_words("我喜欢苹果", &jieba), ["我", "喜欢", "苹果"]);
        // No word in it: the argument itself.
        assert_eq!(v.query_words("。", &jieba), ["。"]);
        let ws = Segmenter::new(Tokenizer::Whitespace);
        assert_eq!(v.query_words("我喜欢苹果", &ws), ["我喜欢苹果"]);
        assert_eq!(v.query_words("a b", &ws), ["a b"]);
    }
}
