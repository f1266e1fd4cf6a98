//! fastText's supervised mode (Joulin et al. 2017, "Bag of Tricks for Efficient Text
//! Classification"): a line is `__label__X ... words`; its input is the mean of the vectors
//! of its words (and of its word n-grams, hashed into `bucket` rows as fastText does), a
//! linear layer and a softmax over the labels. Plain SGD with the learning rate decaying
//! linearly to zero, Hogwild threads, `predict` with the top-k probabilities and `test` with
//! precision and recall at k.
//!
//! A model saves as fastText's own `.bin` (version 12, model kind "supervised", softmax
//! loss), which the `fasttext` tool and its Python module load and predict with.
//!
//! Examples are held in memory: a labelled data set is small next to its model, and the
//! examples of cross-validation folds are trained on repeatedly.

use super::math::{axpy, dot, Lcg};
use crate::error::{Result, WordsError};
use crate::format::fasttext::{Entry, FastTextArgs, FastTextModel, Loss, ModelKind};
use crate::subword::fnv1a;
use crate::tokenizer::Segmenter;
use crate::vectors::WordVectors;
use embedkit_kernels::shared::SharedRows;
use std::collections::HashMap;
use std::io::BufRead;

/// fastText's label prefix.
pub const LABEL_PREFIX: &str = "__label__";
/// The end-of-line token fastText adds to every line (it is a word with its own vector).
const EOS: &str = "</s>";
/// fastText's multiplier for hashing word n-grams.
const NGRAM_MUL: u64 = 116_049_371;

/// One labelled line: its labels and its words (the end-of-line token included).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Labels with their `__label__` prefix.
    pub labels: Vec<String>,
    /// Words in order, ending with `</s>`.
    pub words: Vec<String>,
}

impl Example {
    /// Splits a line on ASCII whitespace (as fastText; bytes that are not UTF-8 become
    /// U+FFFD) into labels (tokens with the `__label__` prefix) and words.
    pub fn parse(line: &[u8]) -> Self {
        let mut ex = Example {
            labels: Vec::new(),
            words: Vec::new(),
        };
        for t in line
            .split(|b| b.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
        {
            let t = String::from_utf8_lossy(t).into_owned();
            if t.starts_with(LABEL_PREFIX) {
                ex.labels.push(t);
            } else {
                ex.words.push(t);
            }
        }
        ex.words.push(EOS.to_string());
        ex
    }
}

impl Example {
    /// Splits the words again with `segmenter` (jieba for Chinese text): each
    /// whitespace-separated word is segmented on its own, since jieba never joins characters
    /// across a space; labels, and the end-of-line token last, stay as they are.
    pub fn segment(&mut self, segmenter: &Segmenter) {
        let eos = self.words.pop();
        self.words = self
            .words
            .iter()
            .flat_map(|w| segmenter.words(w).into_iter().map(str::to_string))
            .chain(eos)
            .collect();
    }
}

/// The first label of each example, which stratified cross-validation deals the folds by; an
/// example without a label is an error.
pub fn first_labels(examples: &[Example]) -> Result<Vec<&str>> {
    examples
        .iter()
        .map(|e| e.labels.first().map(String::as_str))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            WordsError::Invalid("every line needs a __label__ for cross-validation".into())
        })
}

/// Reads one example per non-empty line.
pub fn read_examples(mut r: impl BufRead) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(out);
        }
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            out.push(Example::parse(&line));
        }
    }
}

/// Training settings; `Default` gives fastText's `supervised` defaults.
#[derive(Debug, Clone)]
pub struct SupervisedConfig {
    /// Vector dimension.
    pub dim: usize,
    /// Starting learning rate.
    pub lr: f32,
    /// Passes over the examples.
    pub epochs: usize,
    /// Words rarer than this are dropped.
    pub min_count: u64,
    /// Longest word n-gram (1: words only).
    pub word_ngrams: usize,
    /// Hash buckets for word n-grams (unused, and stored as 0, when `word_ngrams` is 1).
    pub bucket: usize,
    /// Training threads (each trains on its own share of the examples).
    pub threads: usize,
    /// Random seed; with one thread the result is reproducible.
    pub seed: u64,
}

impl Default for SupervisedConfig {
    fn default() -> Self {
        Self {
            dim: 100,
            lr: 0.1,
            epochs: 5,
            min_count: 1,
            word_ngrams: 1,
            bucket: 2_000_000,
            threads: 1,
            seed: 1,
        }
    }
}

/// A trained text classifier.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Words (most frequent first) with their counts.
    words: Vec<(String, u64)>,
    /// Labels (most frequent first) with their counts.
    labels: Vec<(String, u64)>,
    word_index: HashMap<String, u32>,
    label_index: HashMap<String, u32>,
    dim: usize,
    word_ngrams: usize,
    bucket: usize,
    epochs: usize,
    min_count: u64,
    ntokens: u64,
    /// `(words + bucket) × dim`.
    input: Vec<f32>,
    /// `labels × dim`.
    output: Vec<f32>,
}

/// A label with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The label, with its `__label__` prefix.
    pub label: String,
    /// Its softmax probability.
    pub probability: f32,
}

/// What `test` reports, as fastText's: examples, precision and recall at k.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// Examples with at least one label.
    pub examples: usize,
    /// Correct predictions / predictions made.
    pub precision: f64,
    /// Correct predictions / gold labels.
    pub recall: f64,
}

/// Sorts `(token, count)` by count, most frequent first; ties keep first appearance.
fn sorted(counts: HashMap<String, (u64, usize)>, min_count: u64) -> Vec<(String, u64)> {
    let mut v: Vec<(String, (u64, usize))> = counts
        .into_iter()
        .filter(|(_, (c, _))| *c >= min_count)
        .collect();
    v.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)));
    v.into_iter().map(|(w, (c, _))| (w, c)).collect()
}

fn index(list: &[(String, u64)]) -> HashMap<String, u32> {
    list.iter()
        .enumerate()
        .map(|(i, (w, _))| (w.clone(), i as u32))
        .collect()
}

/// Trains a classifier on `examples`.
pub fn train(examples: &[Example], cfg: &SupervisedConfig) -> Result<Classifier> {
    train_with_pretrained(examples, cfg, None)
}

/// Trains a classifier whose word vectors start from `pretrained` (fastText's
/// `-pretrainedVectors`): as fastText, every pretrained word joins the vocabulary, so that
/// words of new text never seen in the labelled examples still carry meaning.
pub fn train_with_pretrained(
    examples: &[Example],
    cfg: &SupervisedConfig,
    pretrained: Option<&WordVectors>,
) -> Result<Classifier> {
    if let Some(p) = pretrained {
        if p.dim() != cfg.dim {
            return Err(WordsError::Invalid(format!(
                "the pretrained vectors have dimension {}, the model {}",
                p.dim(),
                cfg.dim
            )));
        }
    }
    if cfg.dim == 0 || cfg.epochs == 0 || cfg.threads == 0 || cfg.word_ngrams == 0 {
        return Err(WordsError::Invalid(
            "dim, epochs, threads and word n-grams must be at least 1".into(),
        ));
    }
    if cfg.word_ngrams > 1 && cfg.bucket == 0 {
        return Err(WordsError::Invalid(
            "word n-grams need at least one bucket".into(),
        ));
    }
    if cfg.bucket > i32::MAX as usize {
        return Err(WordsError::Invalid(format!(
            "{} buckets: at most {} are supported",
            cfg.bucket,
            i32::MAX
        )));
    }
    let (mut words, mut labels) = (HashMap::new(), HashMap::new());
    let mut ntokens = 0u64;
    for ex in examples {
        ntokens += (ex.words.len() + ex.labels.len()) as u64;
        for (map, tokens) in [(&mut words, &ex.words), (&mut labels, &ex.labels)] {
            for t in tokens {
                let next = map.len();
                map.entry(t.clone()).or_insert((0, next)).0 += 1;
            }
        }
    }
    let labels = sorted(labels, 1);
    if labels.len() < 2 {
        return Err(WordsError::Invalid(format!(
            "supervised training needs at least two labels (lines starting with {LABEL_PREFIX}X), found {}",
            labels.len()
        )));
    }
    words.retain(|_, (c, _)| *c >= cfg.min_count.max(1));
    for w in pretrained.iter().flat_map(|p| p.words()) {
        let next = words.len();
        words.entry(w.clone()).or_insert((0, next)).0 += 1;
    }
    let words = sorted(words, 1);
    let bucket = if cfg.word_ngrams > 1 { cfg.bucket } else { 0 };
    let (dim, nwords, nlabels) = (cfg.dim, words.len(), labels.len());
    let mut rng = Lcg(cfg.seed);
    let mut input: Vec<f32> = (0..(nwords + bucket) * dim)
        .map(|_| (rng.unit() * 2.0 - 1.0) / dim as f32)
        .collect();
    if let Some(p) = pretrained {
        for (i, (w, _)) in words.iter().enumerate() {
            if let Some(j) = p.index_of(w) {
                input[i * dim..(i + 1) * dim].copy_from_slice(p.row(j));
            }
        }
    }
    let mut model = Classifier {
        word_index: index(&words),
        label_index: index(&labels),
        words,
        labels,
        dim,
        word_ngrams: cfg.word_ngrams,
        bucket,
        epochs: cfg.epochs,
        min_count: cfg.min_count.max(1),
        ntokens,
        input: Vec::new(),
        output: Vec::new(),
    };
    // Examples as input rows and label ids, computed once.
    let encoded: Vec<(Vec<u32>, Vec<u32>)> = examples
        .iter()
        .map(|ex| {
            let labels = ex
                .labels
                .iter()
                .filter_map(|l| model.label_index.get(l).copied())
                .collect();
            (model.input_rows(&ex.words), labels)
        })
        .collect();
    let input = SharedRows::new(input, dim);
    let output = SharedRows::new(vec![0.0; nlabels * dim], dim);
    let total = (ntokens * cfg.epochs as u64).max(1);
    let done = std::sync::atomic::AtomicU64::new(0);
    let threads = cfg.threads.min(encoded.len()).max(1);
    std::thread::scope(|s| {
        for t in 0..threads {
            let share = &encoded[t * encoded.len() / threads..(t + 1) * encoded.len() / threads];
            let (input, output, done) = (&input, &output, &done);
            let mut rng = Lcg(cfg.seed.wrapping_add((t as u64).wrapping_mul(0x9E37_79B9)));
            s.spawn(move || {
                let mut hidden = vec![0.0f32; dim];
                let mut grad = vec![0.0f32; dim];
                let mut probs = vec![0.0f32; nlabels];
                for _ in 0..cfg.epochs {
                    for (rows, labels) in share {
                        let seen = done.load(std::sync::atomic::Ordering::Relaxed);
                        let lr = cfg.lr * (1.0 - seen as f32 / total as f32).max(0.0);
                        let tokens = (rows.len() + labels.len()) as u64;
                        done.fetch_add(tokens, std::sync::atomic::Ordering::Relaxed);
                        if labels.is_empty() || rows.is_empty() {
                            continue;
                        }
                        // With several labels fastText trains on one drawn at random.
                        let target = labels[(rng.next() >> 16) as usize % labels.len()];
                        mean_rows(|r, h| input.row(r).add_to(1.0, h), rows, &mut hidden);
                        softmax(|r, h| output.row(r).dot(h), &hidden, &mut probs);
                        grad.fill(0.0);
                        for (i, &p) in probs.iter().enumerate() {
                            let label = if i as u32 == target { 1.0 } else { 0.0 };
                            let alpha = lr * (label - p);
                            output.row(i).step(alpha, &hidden, &mut grad);
                        }
                        // Each input row gets the gradient of the mean.
                        let scale = 1.0 / rows.len() as f32;
                        grad.iter_mut().for_each(|g| *g *= scale);
                        for &r in rows {
                            input.row(r as usize).add(1.0, &grad);
                        }
                    }
                }
            });
        }
    });
    model.input = input.into_vec();
    model.output = output.into_vec();
    Ok(model)
}

/// `hidden` = mean of the given rows (`add_row(r, hidden)` adds row `r` to `hidden`).
fn mean_rows(add_row: impl Fn(usize, &mut [f32]), rows: &[u32], hidden: &mut [f32]) {
    hidden.fill(0.0);
    for &r in rows {
        add_row(r as usize, hidden);
    }
    let inv = 1.0 / rows.len() as f32;
    hidden.iter_mut().for_each(|x| *x *= inv);
}

/// `probs` = softmax of the output rows times `hidden` (max subtracted first;
/// `dot_row(i, hidden)` is row `i` · `hidden`).
fn softmax(dot_row: impl Fn(usize, &[f32]) -> f32, hidden: &[f32], probs: &mut [f32]) {
    for (i, p) in probs.iter_mut().enumerate() {
        *p = dot_row(i, hidden);
    }
    let max = probs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0.0;
    for p in probs.iter_mut() {
        *p = (*p - max).exp();
        z += *p;
    }
    probs.iter_mut().for_each(|p| *p /= z);
}

/// Cross-validation: trains on every fold but one and reports the
/// accuracy of the first prediction on the held-out fold (fastText's P@1 for one label per
/// line), for each fold. `folds[i]` is the fold of `examples[i]`.
pub fn cross_validate(
    examples: &[Example],
    folds: &[usize],
    cfg: &SupervisedConfig,
    pretrained: Option<&WordVectors>,
) -> Result<Vec<f64>> {
    if folds.len() != examples.len() {
        return Err(WordsError::Invalid(format!(
            "{} fold numbers for {} examples",
            folds.len(),
            examples.len()
        )));
    }
    let k = folds.iter().max().map_or(0, |m| m + 1);
    (0..k)
        .map(|f| {
            let pick = |held: bool| -> Vec<Example> {
                examples
                    .iter()
                    .zip(folds)
                    .filter(|(_, &g)| (g == f) == held)
                    .map(|(e, _)| e.clone())
                    .collect()
            };
            let model = train_with_pretrained(&pick(false), cfg, pretrained)?;
            Ok(model.test(&pick(true), 1, 0.0).precision)
        })
        .collect()
}

impl Classifier {
    /// Input-matrix rows of a line: known words, then (with `word_ngrams > 1`) the hashed
    /// word n-grams of all its words, known or not, as fastText's `addWordNgrams`.
    fn input_rows(&self, words: &[String]) -> Vec<u32> {
        let mut rows = Vec::with_capacity(words.len() * self.word_ngrams);
        // fastText keeps each word's hash as an int32 and widens it to uint64 with sign
        // extension; the n-gram buckets depend on that.
        let mut hashes: Vec<u64> = Vec::with_capacity(words.len());
        for w in words {
            if let Some(&id) = self.word_index.get(w) {
                rows.push(id);
            }
            hashes.push(fnv1a(w.as_bytes()) as i32 as i64 as u64);
        }
        if self.bucket > 0 {
            let nwords = self.words.len() as u64;
            for i in 0..hashes.len() {
                let mut h = hashes[i];
                for &next in hashes
                    .iter()
                    .take((i + self.word_ngrams).min(hashes.len()))
                    .skip(i + 1)
                {
                    h = h.wrapping_mul(NGRAM_MUL).wrapping_add(next);
                    rows.push((nwords + h % self.bucket as u64) as u32);
                }
            }
        }
        rows
    }

    /// The labels, most frequent first.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|(l, _)| l.as_str())
    }

    /// Number of words in the vocabulary.
    pub fn nwords(&self) -> usize {
        self.words.len()
    }

    /// The `k` most probable labels of `words` (an [`Example`]'s words) with probability at
    /// least `threshold`, most probable first; none when no word of the line is known.
    pub fn predict_words(&self, words: &[String], k: usize, threshold: f32) -> Vec<Prediction> {
        let rows = self.input_rows(words);
        if rows.is_empty() {
            return Vec::new();
        }
        let dim = self.dim;
        let mut hidden = vec![0.0; dim];
        let (input, output) = (&self.input, &self.output);
        mean_rows(
            |r, h| axpy(1.0, &input[r * dim..(r + 1) * dim], h),
            &rows,
            &mut hidden,
        );
        let mut probs = vec![0.0; self.labels.len()];
        softmax(
            |r, h| dot(&output[r * dim..(r + 1) * dim], h),
            &hidden,
            &mut probs,
        );
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
        order
            .into_iter()
            .take(k)
            .filter(|&i| probs[i] >= threshold)
            .map(|i| Prediction {
                label: self.labels[i].0.clone(),
                probability: probs[i],
            })
            .collect()
    }

    /// Predicts a line of text (labels in it are ignored).
    pub fn predict(&self, text: &str, k: usize, threshold: f32) -> Vec<Prediction> {
        self.predict_words(&Example::parse(text.as_bytes()).words, k, threshold)
    }

    /// Precision and recall at `k` over the examples that have labels, as fastText's `test`.
    pub fn test(&self, examples: &[Example], k: usize, threshold: f32) -> TestResult {
        let (mut n, mut gold, mut predicted, mut correct) = (0usize, 0usize, 0usize, 0usize);
        for ex in examples.iter().filter(|e| !e.labels.is_empty()) {
            let p = self.predict_words(&ex.words, k, threshold);
            n += 1;
            gold += ex.labels.len();
            predicted += p.len();
            correct += p.iter().filter(|p| ex.labels.contains(&p.label)).count();
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        TestResult {
            examples: n,
            precision: ratio(correct, predicted),
            recall: ratio(correct, gold),
        }
    }

    /// The model as fastText's `.bin` structure (write it with [`FastTextModel::write`]).
    pub fn to_fasttext(&self) -> FastTextModel {
        let entries = self
            .words
            .iter()
            .map(|w| (w, false))
            .chain(self.labels.iter().map(|l| (l, true)))
            .map(|((word, count), is_label)| Entry {
                word: word.clone(),
                count: *count as i64,
                is_label,
            })
            .collect();
        FastTextModel {
            args: FastTextArgs {
                dim: self.dim,
                ws: 5,
                epoch: self.epochs,
                min_count: self.min_count as usize,
                neg: 5,
                word_ngrams: self.word_ngrams,
                loss: Loss::Softmax,
                model: ModelKind::Supervised,
                bucket: self.bucket,
                minn: 0,
                maxn: 0,
                lr_update_rate: 100,
                t: 1e-4,
            },
            entries,
            ntokens: self.ntokens as i64,
            pruneidx: None,
            input: self.input.clone(),
            output: self.output.clone(),
        }
    }

    /// A classifier from a fastText `.bin` (ours or fastText's own, unquantized, softmax
    /// loss, without character n-grams).
    pub fn from_fasttext(m: FastTextModel) -> Result<Self> {
        let a = &m.args;
        let unsupported = |what: &str| {
            Err(WordsError::Invalid(format!(
                "this fastText model cannot be used for classification here: {what}"
            )))
        };
        if a.model != ModelKind::Supervised {
            return unsupported("it is not a supervised model");
        }
        if a.loss != Loss::Softmax {
            return unsupported("only the softmax loss is supported");
        }
        if a.maxn > 0 {
            return unsupported("character n-grams (maxn > 0) are not supported");
        }
        if m.pruneidx.is_some() {
            return unsupported("pruned models are not supported");
        }
        let (words, labels): (Vec<_>, Vec<_>) = m.entries.into_iter().partition(|e| !e.is_label);
        let pairs = |v: Vec<Entry>| -> Vec<(String, u64)> {
            v.into_iter()
                .map(|e| (e.word, e.count.max(0) as u64))
                .collect()
        };
        let (words, labels) = (pairs(words), pairs(labels));
        let dim = a.dim;
        let bucket = if a.word_ngrams > 1 { a.bucket } else { 0 };
        if m.input.len() < (words.len() + bucket) * dim || m.output.len() != labels.len() * dim {
            return Err(WordsError::Invalid(
                "the model's matrices do not match its dictionary".into(),
            ));
        }
        if labels.is_empty() {
            return unsupported("it has no labels");
        }
        Ok(Self {
            word_index: index(&words),
            label_index: index(&labels),
            words,
            labels,
            dim,
            word_ngrams: a.word_ngrams.max(1),
            bucket,
            epochs: a.epoch,
            min_count: a.min_count as u64,
            ntokens: m.ntokens.max(0) as u64,
            input: m.input,
            output: m.output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segmenting_keeps_labels_and_the_end_of_line_last() {
        let mut ex = Example::parse("__label__fruit 我喜欢吃苹果 and pears".as_bytes());
        ex.segment(&Segmenter::new(crate::tokenizer::Tokenizer::Jieba));
        assert_eq!(ex.labels, ["__label__fruit"]);
        assert_eq!(ex.words.last().map(String::as_str), Some(EOS));
        assert!(ex.words.len() > 4, "{:?}", ex.words);
        assert!(ex.words.iter().any(|w| w == "苹果"), "{:?}", ex.words);
        assert_eq!(ex.words[ex.words.len() - 3..], ["and", "pears", EOS]);
        // Whitespace segmenting changes nothing.
        let mut same = Example::parse(b"__label__a x y");
        let before = same.clone();
        same.segment(&Segmenter::new(crate::tokenizer::Tokenizer::Whitespace));
        assert_eq!(same, before);
    }

    #[test]
    fn first_labels_need_a_label_on_every_line() {
        let ex = read_examples(&b"__label__a __label__b x\n__label__c y\n"[..]).unwrap();
        assert_eq!(first_labels(&ex).unwrap(), ["__label__a", "__label__c"]);
        let ex = read_examples(&b"__label__a x\ny\n"[..]).unwrap();
        let err = first_labels(&ex).unwrap_err().to_string();
        assert!(err.contains("every line needs a __label__"), "{err}");
    }

    fn classifier(words: &[&str], word_ngrams: usize, bucket: usize) -> Classifier {
        let words: Vec<(String, u64)> = words.iter().map(|w| (w.to_string(), 1)).collect();
        let labels = vec![("__label__a".to_string(), 1)];
        Classifier {
            word_index: index(&words),
            label_index: index(&labels),
            words,
            labels,
            dim: 1,
            word_ngrams,
            bucket,
            epochs: 1,
            min_count: 1,
            ntokens: 0,
            input: Vec::new(),
            output: Vec::new(),
        }
    }

    #[test]
    fn lines_split_into_labels_and_words_with_end_of_line() {
        let e = Example::parse(b"__label__pos  a great\tfilm \n");
        assert_eq!(e.labels, vec!["__label__pos"]);
        assert_eq!(e.words, vec!["a", "great", "film", "</s>"]);
    }

    #[test]
    fn word_bigrams_hash_like_fasttext() {
        // Hand-computed from fastText's addWordNgrams: h = h * 116049371 + next, both
        // int32 hashes widened with sign extension, then h % bucket after the word rows.
        let c = classifier(&["good", "movie"], 2, 1000);
        let words: Vec<String> = ["good", "unseen", "movie"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rows = c.input_rows(&words);
        let h = |w: &str| fnv1a(w.as_bytes()) as i32 as i64 as u64;
        let bigram =
            |a: &str, b: &str| 2 + (h(a).wrapping_mul(NGRAM_MUL).wrapping_add(h(b)) % 1000) as u32;
        assert_eq!(
            rows,
            vec![0, 1, bigram("good", "unseen"), bigram("unseen", "movie")]
        );
        // fnv1a("good") has its top bit set, so sign extension matters here.
        assert!(fnv1a(b"good") >= 1 << 31 || fnv1a(b"unseen") >= 1 << 31);
    }

    #[test]
    fn test_counts_precision_and_recall_like_fasttext() {
        // Two labels, one-word model where "x" points to label 0 ("__label__a").
        let mut c = classifier(&["x"], 1, 0);
        c.labels.push(("__label__b".into(), 1));
        c.label_index = index(&c.labels);
        c.input = vec![1.0];
        c.output = vec![1.0, -1.0];
        let ex = |labels: &[&str]| Example {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            words: vec!["x".into()],
        };
        let r = c.test(&[ex(&["__label__a"]), ex(&["__label__b"]), ex(&[])], 1, 0.0);
        assert_eq!(r.examples, 2);
        assert_eq!((r.precision, r.recall), (0.5, 0.5));
        let r = c.test(&[ex(&["__label__a", "__label__b"])], 2, 0.0);
        assert_eq!((r.precision, r.recall), (1.0, 1.0));
        let p = c.predict("x", 2, 0.0);
        let e = std::f32::consts::E;
        assert!((p[0].probability - e * e / (e * e + 1.0)).abs() < 1e-6);
    }
}
