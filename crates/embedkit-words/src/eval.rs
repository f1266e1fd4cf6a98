//! The standard intrinsic evaluations, with gensim's semantics
//! (`evaluate_word_pairs`, `evaluate_word_analogies`): words are matched case-insensitively
//! among the first `restrict` vocabulary words (the most frequent case variant wins), and
//! pairs or questions with a missing word are skipped and counted.

use crate::error::{Result, WordsError};
use crate::vectors::{dot, WordVectors};
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::BufRead;

/// The usual `restrict` of [`word_pairs`]: gensim's `evaluate_word_pairs` matches words among
/// the first 300,000.
pub const PAIRS_RESTRICT: usize = 300_000;

/// The usual `restrict` of [`analogies`]: word2vec's `compute-accuracy` searches the 30,000
/// most frequent words.
pub const ANALOGY_RESTRICT: usize = 30_000;

/// Result of a word-pair similarity benchmark (WordSim-353, SimLex-999).
#[derive(Debug, Clone, PartialEq)]
pub struct PairScore {
    /// Pearson correlation of cosine and human score.
    pub pearson: f64,
    /// Spearman rank correlation (ties get their average rank).
    pub spearman: f64,
    /// Pairs scored.
    pub pairs: usize,
    /// Pairs skipped because a word is out of vocabulary.
    pub oov_pairs: usize,
}

impl PairScore {
    /// Fraction of pairs skipped.
    pub fn oov_ratio(&self) -> f64 {
        self.oov_pairs as f64 / (self.pairs + self.oov_pairs).max(1) as f64
    }
}

/// One section of the analogy benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalogySection {
    /// Section name (`capital-common-countries`, ...; `total` for the sum).
    pub name: String,
    /// Questions answered right.
    pub correct: usize,
    /// Questions answered wrong.
    pub incorrect: usize,
    /// Questions skipped because a word is outside the restricted vocabulary.
    pub skipped: usize,
}

impl AnalogySection {
    /// Accuracy over the answered questions.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / (self.correct + self.incorrect).max(1) as f64
    }
}

/// Uppercased word → row, over the first `restrict` words; the most frequent variant wins.
fn case_insensitive_vocab(v: &WordVectors, restrict: usize) -> HashMap<String, usize> {
    let n = restrict.min(v.len());
    let mut map = HashMap::with_capacity(n);
    for (i, w) in v.words()[..n].iter().enumerate() {
        map.entry(w.to_uppercase()).or_insert(i);
    }
    map
}

/// Evaluates on tab-separated `word1 word2 score` lines (`#` lines are comments).
pub fn word_pairs(v: &WordVectors, data: impl BufRead, restrict: usize) -> Result<PairScore> {
    let vocab = case_insensitive_vocab(v, restrict);
    let (mut gold, mut model, mut oov) = (Vec::new(), Vec::new(), 0);
    for (k, line) in data.lines().enumerate() {
        let line = line?;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('\t').collect();
        let bad = || {
            WordsError::Invalid(format!(
                "pairs line {}: expected `word1<TAB>word2<TAB>score`",
                k + 1
            ))
        };
        let [a, b, s] = parts[..] else {
            return Err(bad());
        };
        let s: f64 = s.trim().parse().map_err(|_| bad())?;
        match (vocab.get(&a.to_uppercase()), vocab.get(&b.to_uppercase())) {
            (Some(&i), Some(&j)) => {
                gold.push(s);
                model.push(dot(v.unit_row(i), v.unit_row(j)) as f64);
            }
            _ => oov += 1,
        }
    }
    if gold.len() < 2 {
        return Err(WordsError::Invalid(
            "fewer than two pairs have vectors".into(),
        ));
    }
    Ok(PairScore {
        pearson: pearson(&gold, &model),
        spearman: pearson(&ranks(&gold), &ranks(&model)),
        pairs: gold.len(),
        oov_pairs: oov,
    })
}

/// Evaluates on Google's analogy questions (`: section` lines, then `a b c d`: a is to b
/// as c is to d), answering with 3CosAdd among the first `restrict` words.
pub fn analogies(
    v: &WordVectors,
    data: impl BufRead,
    restrict: usize,
) -> Result<Vec<AnalogySection>> {
    let vocab = case_insensitive_vocab(v, restrict);
    let mut sections: Vec<(String, Vec<[usize; 4]>, usize)> = Vec::new();
    for (k, line) in data.lines().enumerate() {
        let line = line?;
        if let Some(name) = line.strip_prefix(':') {
            sections.push((name.trim().to_string(), Vec::new(), 0));
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let Some(section) = sections.last_mut() else {
            return Err(WordsError::Invalid(format!(
                "analogy line {}: question before the first `: section` line",
                k + 1
            )));
        };
        let words: Vec<String> = line.split_whitespace().map(str::to_uppercase).collect();
        if words.len() != 4 {
            return Err(WordsError::Invalid(format!(
                "analogy line {}: expected 4 words",
                k + 1
            )));
        }
        let ids: Option<Vec<usize>> = words.iter().map(|w| vocab.get(w).copied()).collect();
        match ids {
            Some(ids) => section.1.push([ids[0], ids[1], ids[2], ids[3]]),
            None => section.2 += 1,
        }
    }
    let restrict = restrict.min(v.len());
    let mut out: Vec<AnalogySection> = sections
        .into_iter()
        .map(|(name, questions, skipped)| {
            let correct = questions
                .par_iter()
                .filter(|q| answer(v, q, restrict) == v.words()[q[3]].to_uppercase())
                .count();
            AnalogySection {
                name,
                correct,
                incorrect: questions.len() - correct,
                skipped,
            }
        })
        .collect();
    let total = AnalogySection {
        name: "total".into(),
        correct: out.iter().map(|s| s.correct).sum(),
        incorrect: out.iter().map(|s| s.incorrect).sum(),
        skipped: out.iter().map(|s| s.skipped).sum(),
    };
    out.push(total);
    Ok(out)
}

/// gensim's answer, uppercased: among the 5 best 3CosAdd candidates (question rows
/// excluded), the first that is not a question word in another case; the 5th if none.
fn answer(v: &WordVectors, q: &[usize; 4], restrict: usize) -> String {
    let dim = v.dim();
    let mut mean = vec![0.0f32; dim];
    for (i, sign) in [(q[1], 1.0f32), (q[2], 1.0), (q[0], -1.0)] {
        mean.iter_mut()
            .zip(v.unit_row(i))
            .for_each(|(m, x)| *m += sign * x);
    }
    let upper = |i: usize| v.words()[i].to_uppercase();
    let ignore = [upper(q[0]), upper(q[1]), upper(q[2])];
    let unit = &v.unit_matrix()[..restrict * dim];
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(8);
    for (i, u) in unit.chunks_exact(dim).enumerate() {
        if i == q[0] || i == q[1] || i == q[2] {
            continue;
        }
        let s = dot(u, &mean);
        if best.len() < 5 || s > best[best.len() - 1].0 {
            let pos = best.partition_point(|&(b, _)| b >= s);
            best.insert(pos, (s, i));
            best.truncate(5);
        }
    }
    let mut predicted = String::new();
    for &(_, i) in &best {
        predicted = upper(i);
        if !ignore.contains(&predicted) {
            break;
        }
    }
    predicted
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Ranks starting at 1, ties sharing their average rank (as scipy's `rankdata`).
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 10.0, 5.0]), vec![2.5, 4.0, 2.5, 1.0]);
    }

    #[test]
    fn pearson_of_linear_data_is_one() {
        let r = pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]);
        assert!(r > 0.99 && r < 1.0);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    }
}
