//! [`WordVectors`]: a vocabulary in frequency order with one vector per word, plus, for
//! fastText models, the n-gram table that gives vectors to unseen words.

use crate::error::{Result, WordsError};
use crate::subword::{fnv1a, for_each_ngram};
use std::collections::HashMap;
use std::sync::OnceLock;

/// fastText's n-gram table: rows of the input matrix after the word rows.
#[derive(Debug, Clone)]
pub struct Subwords {
    /// Shortest n-gram, in characters.
    pub minn: usize,
    /// Longest n-gram, in characters.
    pub maxn: usize,
    /// Number of hash buckets.
    pub bucket: usize,
    /// The full input matrix (`nwords + rows` × dim): word rows, then n-gram rows.
    pub(crate) input: Vec<f32>,
    /// Rows of the input matrix that are words.
    pub(crate) nwords: usize,
    /// For pruned (quantized-then-dequantized) models: bucket → n-gram row.
    pub(crate) pruned: Option<HashMap<i32, i32>>,
}

impl Subwords {
    /// Input-matrix rows of `word`'s n-grams (without the word's own row).
    pub fn ngram_rows(&self, word: &str) -> Vec<usize> {
        let mut rows = Vec::new();
        if self.bucket == 0 {
            return rows;
        }
        for_each_ngram(word, self.minn, self.maxn, |g| {
            let h = (fnv1a(g.as_bytes()) % self.bucket as u32) as i32;
            match &self.pruned {
                None => rows.push(self.nwords + h as usize),
                Some(map) => {
                    if let Some(&r) = map.get(&h) {
                        rows.push(self.nwords + r as usize);
                    }
                }
            }
        });
        rows
    }

    /// Mean of the given input rows (zeros for none), as fastText's `getWordVector`.
    pub(crate) fn mean_of_rows(&self, rows: &[usize], dim: usize) -> Vec<f32> {
        let mut v = vec![0.0f32; dim];
        for &r in rows {
            for (a, b) in v.iter_mut().zip(&self.input[r * dim..(r + 1) * dim]) {
                *a += b;
            }
        }
        if !rows.is_empty() {
            let inv = 1.0 / rows.len() as f32;
            v.iter_mut().for_each(|x| *x *= inv);
        }
        v
    }
}

/// Word vectors in vocabulary order (most frequent first, as every format stores them).
#[derive(Debug)]
pub struct WordVectors {
    words: Vec<String>,
    index: HashMap<String, usize>,
    dim: usize,
    data: Vec<f32>,
    subwords: Option<Subwords>,
    unit: OnceLock<Vec<f32>>,
}

impl WordVectors {
    /// Builds from words and a row-major `words.len() × dim` matrix. A repeated word keeps
    /// its first row (as gensim does).
    pub fn new(words: Vec<String>, dim: usize, data: Vec<f32>) -> Result<Self> {
        if dim == 0 {
            return Err(WordsError::Invalid(
                "vector dimension must be at least 1".into(),
            ));
        }
        if data.len() != words.len() * dim {
            return Err(WordsError::Invalid(format!(
                "{} words need {} values, got {}",
                words.len(),
                words.len() * dim,
                data.len()
            )));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            index.entry(w.clone()).or_insert(i);
        }
        Ok(Self {
            words,
            index,
            dim,
            data,
            subwords: None,
            unit: OnceLock::new(),
        })
    }

    /// Attaches a fastText n-gram table, so that unseen words get vectors.
    pub fn with_subwords(mut self, subwords: Subwords) -> Self {
        self.subwords = Some(subwords);
        self
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Vocabulary size.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The vocabulary, most frequent first.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Row of `word`, if it is in the vocabulary.
    pub fn index_of(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    /// The fastText n-gram table, if any.
    pub fn subwords(&self) -> Option<&Subwords> {
        self.subwords.as_ref()
    }

    /// The stored vector of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The row-major matrix of all vectors.
    pub fn matrix(&self) -> &[f32] {
        &self.data
    }

    /// The vector of `word`: its row when in the vocabulary, else (fastText models) the
    /// mean of its n-gram vectors.
    pub fn vector(&self, word: &str) -> Result<Vec<f32>> {
        if let Some(i) = self.index_of(word) {
            return Ok(self.row(i).to_vec());
        }
        match &self.subwords {
            Some(sw) => {
                let rows = sw.ngram_rows(word);
                if rows.is_empty() {
                    return Err(WordsError::UnknownWord(format!(
                        "{word} (and it has no character n-grams in the model)"
                    )));
                }
                Ok(sw.mean_of_rows(&rows, self.dim))
            }
            None => Err(WordsError::UnknownWord(word.to_string())),
        }
    }

    /// Unit-length copies of all rows (zero rows stay zero), computed once.
    pub fn unit_matrix(&self) -> &[f32] {
        self.unit.get_or_init(|| {
            let mut u = self.data.clone();
            u.chunks_exact_mut(self.dim).for_each(unit_in_place);
            u
        })
    }

    /// Unit-length row `i`.
    pub fn unit_row(&self, i: usize) -> &[f32] {
        &self.unit_matrix()[i * self.dim..(i + 1) * self.dim]
    }
}

/// Scales `v` to unit length in place (zero vectors stay zero).
pub(crate) fn unit_in_place(v: &mut [f32]) {
    let n = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    if n > 0.0 {
        let inv = (1.0 / n) as f32;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

/// Dot product with eight independent accumulators, so that it vectorizes.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}
