//! Word vectors for `embedkit.KeyedVectors` (python/embedkit/keyed_vectors.py): the files
//! word2vec, GloVe and fastText write, and gensim's queries and evaluation on them.

use crate::errors;
use crate::matrix;
use embedkit_words::format::{self, Format};
use embedkit_words::{eval, Scored};
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

/// Loaded word vectors (immutable, so shared by threads without a lock).
#[pyclass(frozen, module = "embedkit._embedkit")]
pub struct WordVectors {
    inner: embedkit_words::WordVectors,
}

impl WordVectors {
    /// Runs a nearest-words query with the GIL released (it scans every vector).
    fn query(
        &self,
        py: Python<'_>,
        positive: Vec<String>,
        negative: Vec<String>,
        run: impl Fn(
                &embedkit_words::WordVectors,
                &[&str],
                &[&str],
            ) -> embedkit_words::Result<Vec<Scored>>
            + Send
            + Sync,
    ) -> PyResult<Vec<(String, f32)>> {
        py.detach(|| {
            let pos: Vec<&str> = positive.iter().map(String::as_str).collect();
            let neg: Vec<&str> = negative.iter().map(String::as_str).collect();
            run(&self.inner, &pos, &neg)
        })
        .map(|list| list.into_iter().map(|s| (s.word, s.score)).collect())
        .map_err(errors::words)
    }
}

#[pymethods]
impl WordVectors {
    /// Reads a word-vector file: `format` is `word2vec` (text with an `N D` header),
    /// `binary`, `glove` (text without header) or `fasttext` (a `.bin` model, whose n-grams
    /// give vectors to unseen words); detected from the file when not given. `limit` keeps
    /// the first words only (gensim's `limit`).
    #[staticmethod]
    #[pyo3(signature = (path, *, format = None, limit = None))]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        format: Option<&str>,
        limit: Option<usize>,
    ) -> PyResult<Self> {
        let format: Option<Format> = format.map(str::parse).transpose().map_err(errors::words)?;
        let inner = py
            .detach(|| {
                let v = format::load(&path, format)?;
                match limit {
                    Some(n) if n < v.len() => embedkit_words::WordVectors::new(
                        v.words()[..n].to_vec(),
                        v.dim(),
                        v.matrix()[..n * v.dim()].to_vec(),
                    ),
                    _ => Ok(v),
                }
            })
            .map_err(errors::words)?;
        Ok(Self { inner })
    }

    /// The words, in file order (most frequent first for the original tools' files).
    fn words(&self) -> Vec<String> {
        self.inner.words().to_vec()
    }

    /// Width of the vectors.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Whether unseen words get vectors from character n-grams (fastText models).
    #[getter]
    fn has_subwords(&self) -> bool {
        self.inner.subwords().is_some()
    }

    /// Row of `word` in the vocabulary, if it is there.
    fn index_of(&self, word: &str) -> Option<usize> {
        self.inner.index_of(word)
    }

    /// All vectors, one row per word (a copy).
    fn matrix<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        let m = matrix::from_flat(
            self.inner.matrix().to_vec(),
            self.inner.len(),
            self.inner.dim(),
        );
        matrix::to_numpy(py, m)
    }

    /// The vector of `word` (built from n-grams for an unseen word of a fastText model).
    fn vector<'py>(&self, py: Python<'py>, word: &str) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let v = self.inner.vector(word).map_err(errors::words)?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// Cosine similarity of two words.
    fn similarity(&self, a: &str, b: &str) -> PyResult<f32> {
        self.inner.similarity(a, b).map_err(errors::words)
    }

    /// The `topn` nearest words to the mean of `positive` minus `negative` (3CosAdd), among
    /// the first `restrict` words when given.
    #[pyo3(signature = (positive, negative, topn, restrict = None))]
    fn most_similar(
        &self,
        py: Python<'_>,
        positive: Vec<String>,
        negative: Vec<String>,
        topn: usize,
        restrict: Option<usize>,
    ) -> PyResult<Vec<(String, f32)>> {
        self.query(py, positive, negative, |v, pos, neg| {
            v.most_similar(pos, neg, topn, restrict)
        })
    }

    /// gensim's `most_similar_cosmul` (3CosMul).
    #[pyo3(signature = (positive, negative, topn, restrict = None))]
    fn most_similar_cosmul(
        &self,
        py: Python<'_>,
        positive: Vec<String>,
        negative: Vec<String>,
        topn: usize,
        restrict: Option<usize>,
    ) -> PyResult<Vec<(String, f32)>> {
        self.query(py, positive, negative, |v, pos, neg| {
            v.most_similar_cosmul(pos, neg, topn, restrict)
        })
    }

    /// The word farthest from the mean of all of them.
    fn doesnt_match(&self, words: Vec<String>) -> PyResult<String> {
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        self.inner.doesnt_match(&refs).map_err(errors::words)
    }

    /// Scores a `word1<TAB>word2<TAB>score` file (WordSim-353, SimLex-999) as gensim's
    /// `evaluate_word_pairs`: returns (pearson, spearman, pairs scored, pairs skipped).
    #[pyo3(signature = (path, restrict = eval::PAIRS_RESTRICT))]
    fn evaluate_word_pairs(
        &self,
        py: Python<'_>,
        path: PathBuf,
        restrict: usize,
    ) -> PyResult<(f64, f64, usize, usize)> {
        py.detach(|| {
            let file = File::open(&path).map_err(|source| embedkit_words::WordsError::File {
                path: path.clone(),
                source,
            })?;
            eval::word_pairs(&self.inner, BufReader::new(file), restrict)
        })
        .map(|s| (s.pearson, s.spearman, s.pairs, s.oov_pairs))
        .map_err(errors::words)
    }
}
