//! The training vocabulary: counts, frequency order, the negative-sampling table and the
//! Huffman codes of hierarchical softmax.

use super::corpus;
use crate::error::{Result, WordsError};
use std::collections::HashMap;
use std::path::Path;

/// Words kept for training, most frequent first.
#[derive(Debug, Clone)]
pub struct Vocab {
    /// The words.
    pub words: Vec<String>,
    /// Their counts in the corpus.
    pub counts: Vec<u64>,
    index: HashMap<Box<[u8]>, u32>,
}

impl Vocab {
    /// Counts the corpus (one streaming pass) and keeps words seen at least `min_count`
    /// times, sorted by count (ties by word, so that the order is reproducible).
    pub fn build(path: &Path, min_count: u64) -> Result<Self> {
        let mut counts: HashMap<Box<[u8]>, u64> = HashMap::new();
        corpus::scan(path, (0, u64::MAX), |t| {
            if !t.is_empty() {
                match counts.get_mut(t) {
                    Some(c) => *c += 1,
                    None => {
                        counts.insert(t.into(), 1);
                    }
                }
            }
        })?;
        let mut kept: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .map(|(w, c)| (String::from_utf8_lossy(&w).into_owned(), c))
            .collect();
        if kept.is_empty() {
            // No path here: the corpus may be a segmented temporary copy of the caller's.
            return Err(WordsError::Invalid(format!(
                "no word of the corpus occurs at least {min_count} times"
            )));
        }
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let index = kept
            .iter()
            .enumerate()
            .map(|(i, (w, _))| (w.as_bytes().into(), i as u32))
            .collect();
        let (words, counts) = kept.into_iter().unzip();
        Ok(Self {
            words,
            counts,
            index,
        })
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Id of a token.
    #[inline]
    pub fn id(&self, token: &[u8]) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// Sum of all counts: the training words per epoch.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Probability of keeping each word under subsampling with threshold `t`, the
    /// original's `sqrt(t/f) + t/f` (`f` the word's frequency), capped at 1; 1 when `t` is 0.
    pub(crate) fn keep_probabilities(&self, t: f64) -> Vec<f32> {
        let total = self.total() as f64;
        self.counts
            .iter()
            .map(|&c| {
                if t <= 0.0 {
                    return 1.0;
                }
                let r = t * total / c as f64;
                (r.sqrt() + r).min(1.0) as f32
            })
            .collect()
    }

    /// The table negatives are drawn from: each word fills a share of slots proportional to
    /// `count^0.75`.
    pub(crate) fn unigram_table(&self, size: usize) -> Vec<u32> {
        let pow: Vec<f64> = self.counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let sum: f64 = pow.iter().sum();
        let mut table = Vec::with_capacity(size);
        let mut i = 0;
        let mut cum = pow[0] / sum;
        for a in 0..size {
            table.push(i as u32);
            if (a as f64 + 1.0) / size as f64 > cum && i + 1 < pow.len() {
                i += 1;
                cum += pow[i] / sum;
            }
        }
        table
    }

    /// Huffman codes (bits) and paths (inner-node ids) of every word, as the original's
    /// `CreateBinaryTree`: frequent words get short codes.
    pub(crate) fn huffman(&self) -> Vec<(Vec<u8>, Vec<u32>)> {
        let n = self.len();
        if n == 1 {
            return vec![(vec![0], vec![0])];
        }
        let mut count: Vec<u64> = self.counts.clone();
        count.resize(2 * n, u64::MAX / 4);
        let mut parent = vec![0usize; 2 * n];
        let mut binary = vec![0u8; 2 * n];
        // Leaves are sorted by count descending; merge from the tail (two smallest).
        let (mut pos1, mut pos2) = (n as isize - 1, n);
        let pick = |count: &Vec<u64>, pos1: &mut isize, pos2: &mut usize| {
            if *pos1 >= 0 && count[*pos1 as usize] < count[*pos2] {
                *pos1 -= 1;
                (*pos1 + 1) as usize
            } else {
                *pos2 += 1;
                *pos2 - 1
            }
        };
        for a in 0..n - 1 {
            let m1 = pick(&count, &mut pos1, &mut pos2);
            let m2 = pick(&count, &mut pos1, &mut pos2);
            count[n + a] = count[m1] + count[m2];
            parent[m1] = n + a;
            parent[m2] = n + a;
            binary[m2] = 1;
        }
        let root = 2 * n - 2;
        (0..n)
            .map(|w| {
                let (mut code, mut point) = (Vec::new(), Vec::new());
                let mut b = w;
                while b != root {
                    code.push(binary[b]);
                    point.push((parent[b] - n) as u32);
                    b = parent[b];
                }
                code.reverse();
                point.reverse();
                (code, point)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(counts: &[u64]) -> Vocab {
        Vocab {
            words: (0..counts.len()).map(|i| format!("w{i}")).collect(),
            counts: counts.to_vec(),
            index: HashMap::new(),
        }
    }

    #[test]
    fn huffman_codes_are_prefix_free_and_optimal() {
        // Hand-computed Huffman tree for counts 5,2,1,1: code lengths 1,2,3,3.
        let v = vocab(&[5, 2, 1, 1]);
        let h = v.huffman();
        let lens: Vec<usize> = h.iter().map(|(c, _)| c.len()).collect();
        assert_eq!(lens, vec![1, 2, 3, 3]);
        for (i, (a, _)) in h.iter().enumerate() {
            for (j, (b, _)) in h.iter().enumerate() {
                assert!(i == j || !b.starts_with(a), "{a:?} prefixes {b:?}");
            }
        }
        // Every path starts at the root (the last inner node, id n-2).
        assert!(h.iter().all(|(_, p)| p[0] == 2));
    }

    #[test]
    fn huffman_codes_match_word2vec_c_by_hand() {
        // word2vec.c's CreateBinaryTree on counts 5,2,1,1 (n = 4), traced by hand: inner
        // node 0 = {w3, w2} (count 2; w2 the second pick, bit 1); node 1 = {node 0, w1} (the
        // tie 2 vs 2 goes to the inner node first, so w1 gets bit 1); node 2 (root) =
        // {node 1, w0}, w0 bit 1. Codes read root to leaf, points are the inner nodes passed.
        let h = vocab(&[5, 2, 1, 1]).huffman();
        let expected: [(&[u8], &[u32]); 4] = [
            (&[1], &[2]),
            (&[0, 1], &[2, 1]),
            (&[0, 0, 1], &[2, 1, 0]),
            (&[0, 0, 0], &[2, 1, 0]),
        ];
        for (w, (code, point)) in expected.iter().enumerate() {
            assert_eq!(h[w].0, *code, "code of w{w}");
            assert_eq!(h[w].1, *point, "path of w{w}");
        }
    }

    #[test]
    fn unigram_table_follows_count_to_the_three_quarters() {
        let v = vocab(&[16, 1]);
        let t = v.unigram_table(10_000);
        let share0 = t.iter().filter(|&&w| w == 0).count() as f64 / t.len() as f64;
        let expected = 8.0 / 9.0; // 16^0.75 = 8, 1^0.75 = 1
        assert!((share0 - expected).abs() < 1e-3, "{share0}");
    }

    #[test]
    fn keep_rule_is_sqrt_plus_ratio() {
        let v = vocab(&[1000, 10, 1]);
        let p = v.keep_probabilities(1e-3);
        for (i, c) in [1000.0f64, 10.0].into_iter().enumerate() {
            let r = 1e-3 / (c / 1011.0);
            assert!((p[i] as f64 - (r.sqrt() + r)).abs() < 1e-6);
        }
        // Rare words are always kept: sqrt(r) + r > 1.
        assert_eq!(p[2], 1.0);
    }
}
