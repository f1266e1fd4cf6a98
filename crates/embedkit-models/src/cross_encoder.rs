//! Cross-encoders (rerankers): a query and a document go through the transformer together,
//! and a classification head on the first token scores how well the document answers the
//! query, as sentence-transformers' `CrossEncoder` computes it.
//!
//! Folders are transformers' `*ForSequenceClassification` layout (config.json,
//! tokenizer.json, model.safetensors), e.g. cross-encoder/ms-marco-MiniLM-L-6-v2 (BERT) or
//! BAAI/bge-reranker-base (XLM-RoBERTa). The two heads:
//! * BERT: `pooler.dense` + tanh on the first token, then `classifier`;
//! * RoBERTa / XLM-R: `classifier.dense` + tanh on the first token, then
//!   `classifier.out_proj`.
//!
//! The score is the logit passed through the model's activation: sigmoid for one label unless
//! `config.json` names another (`sentence_transformers.activation_fn`, or the older
//! `sbert_ce_default_activation_function`), identity for several labels.

use crate::arch::{self, Encoder, PackedBatch};
use crate::error::{Error, Result};
use crate::folder::read_json;
use crate::hub;
use crate::tokenize::{Encoded, TextTokenizer};
use crate::weights::{Precision, WeightFile};
use embedkit_core::{EmbedError, Reranker};
use embedkit_kernels::linear::Linear;
use embedkit_kernels::ops::{self, Activation};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// How logits become scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreActivation {
    /// 1 / (1 + e^-x): one label, the default.
    Sigmoid,
    /// The raw logits: several labels, or models configured so.
    Identity,
}

impl ScoreActivation {
    /// The score of logit `x`.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Self::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Self::Identity => x,
        }
    }
}

/// The classification head on the first token.
struct Head {
    /// BERT's pooler or RoBERTa's `classifier.dense`, followed by tanh.
    dense: Linear,
    /// The last projection to the labels.
    out: Linear,
}

/// One document's place in a reranking (the type of the [`Reranker`] seam).
pub use embedkit_core::Ranked;

/// A loaded cross-encoder.
pub struct CrossEncoder {
    root: PathBuf,
    tokenizer: TextTokenizer,
    encoder: Box<dyn Encoder>,
    head: Head,
    labels: usize,
    activation: ScoreActivation,
}

fn activation_of(config: &Value, labels: usize, path: &Path) -> Result<ScoreActivation> {
    let named = config
        .pointer("/sentence_transformers/activation_fn")
        .or_else(|| config.get("sbert_ce_default_activation_function"))
        .and_then(Value::as_str);
    match named.map(|n| n.rsplit('.').next().unwrap_or(n)) {
        None if labels == 1 => Ok(ScoreActivation::Sigmoid),
        None | Some("Identity") => Ok(ScoreActivation::Identity),
        Some("Sigmoid") => Ok(ScoreActivation::Sigmoid),
        Some(other) => Err(Error::config(
            path,
            format!("unsupported cross-encoder activation {other} (Sigmoid or Identity)"),
        )),
    }
}

/// The token limit: `tokenizer_config.json`'s `model_max_length` (transformers writes a huge
/// number when it has none), within the position table.
fn max_length(dir: &Path, encoder: &dyn Encoder) -> Result<usize> {
    let path = dir.join("tokenizer_config.json");
    let configured = if path.is_file() {
        read_json::<Value>(&path)?
            .get("model_max_length")
            .and_then(Value::as_f64)
            .filter(|n| (2.0..1e9).contains(n))
            .map(|n| n as usize)
    } else {
        None
    };
    Ok(match (configured, encoder.max_positions()) {
        (Some(n), Some(limit)) => n.min(limit),
        (Some(n), None) => n,
        (None, Some(limit)) => limit,
        (None, None) => 512,
    })
}

impl CrossEncoder {
    /// Loads a cross-encoder from a local folder or a hub id (see [`hub`]).
    pub fn load(spec: &str) -> Result<Self> {
        Self::load_with(spec, Precision::Auto)
    }

    /// [`CrossEncoder::load`], keeping the transformer's weights in `precision`.
    pub fn load_with(spec: &str, precision: Precision) -> Result<Self> {
        Self::from_folder_with(&hub::resolve(spec)?, precision)
    }

    /// Whether `dir` holds a transformers sequence classifier (config.json's `architectures`
    /// names a `*ForSequenceClassification` class), the layout of cross-encoders such as
    /// cross-encoder/ms-marco-MiniLM-L-6-v2 and BAAI/bge-reranker-base: what a server loads
    /// as a reranker rather than as a sentence-embedding model.
    pub fn recognizes(dir: &Path) -> bool {
        let Ok(config) = read_json::<Value>(&dir.join("config.json")) else {
            return false;
        };
        config
            .get("architectures")
            .and_then(Value::as_array)
            .is_some_and(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|n| n.ends_with("ForSequenceClassification"))
            })
    }

    /// Loads a cross-encoder folder.
    pub fn from_folder_with(dir: &Path, precision: Precision) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(Error::MissingFile {
                path: config_path,
                why: "a cross-encoder folder has transformers' config.json",
            });
        }
        let config: Value = read_json(&config_path)?;
        let model_type = config
            .get("model_type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let labels = config
            .get("id2label")
            .and_then(Value::as_object)
            .map(|m| m.len())
            .or_else(|| {
                config
                    .get("num_labels")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize)
            })
            .unwrap_or(1);
        if labels == 0 {
            return Err(Error::config(
                &config_path,
                "a classifier needs at least one label",
            ));
        }
        let activation = activation_of(&config, labels, &config_path)?;
        let encoder = arch::load_dir(dir, &config, precision)?;
        let h = encoder.hidden_size();
        // The head stays in f32 whatever `precision` is: it is tiny and decides the score.
        let w = WeightFile::open_folder(dir, &["", "bert.", "model."])?;
        let head = match model_type.as_str() {
            "bert" => Head {
                dense: w.linear("pooler.dense", h, h)?,
                out: w.linear("classifier", labels, h)?,
            },
            "roberta" | "xlm-roberta" | "camembert" => Head {
                dense: w.linear("classifier.dense", h, h)?,
                out: w.linear("classifier.out_proj", labels, h)?,
            },
            other => {
                return Err(Error::UnsupportedArchitecture(format!(
                    "{other} as a cross-encoder (supported: bert, roberta / xlm-roberta)"
                )))
            }
        };
        let tokenizer = TextTokenizer::load(dir, max_length(dir, encoder.as_ref())?, false)?;
        Ok(Self {
            root: dir.to_path_buf(),
            tokenizer,
            encoder,
            head,
            labels,
            activation,
        })
    }

    /// The folder the model was loaded from.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `model_type` of the transformer.
    pub fn model_type(&self) -> &'static str {
        self.encoder.model_type()
    }

    /// Number of labels the head scores (1 for rerankers).
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// How logits become scores.
    pub fn activation(&self) -> ScoreActivation {
        self.activation
    }

    /// Token limit of one (query, document) pair, special tokens included.
    pub fn max_length(&self) -> usize {
        self.tokenizer.max_length()
    }

    /// The token ids the model reads for each pair.
    pub fn tokenize(&self, pairs: &[(&str, &str)]) -> Result<Vec<Encoded>> {
        let encoded = self.tokenizer.encode_pairs(pairs)?;
        // The classifier reads the first token: a tokenizer.json whose post-processor adds
        // no special tokens gives a pair of empty texts none.
        if encoded.iter().any(|e| e.ids.is_empty()) {
            return Err(Error::Tokenizer(
                "tokenizer.json gives no tokens for a pair (its post-processor adds no special \
                 tokens), and the model needs at least one"
                    .into(),
            ));
        }
        Ok(encoded)
    }

    /// The raw logits of each pair (`labels()` values each), in input order; pairs run
    /// longest first in packed batches of `batch_size`.
    pub fn logits(&self, pairs: &[(&str, &str)], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        if batch_size == 0 {
            return Err(Error::InvalidInput("batch size must be at least 1".into()));
        }
        let encoded = self.tokenize(pairs)?;
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].ids.len()));
        let mut out = vec![Vec::new(); pairs.len()];
        for chunk in order.chunks(batch_size) {
            let batch: Vec<&Encoded> = chunk.iter().map(|&i| &encoded[i]).collect();
            for (row, &i) in self.forward(&batch)?.into_iter().zip(chunk) {
                if row.iter().any(|x| !x.is_finite()) {
                    return Err(Error::NonFinite);
                }
                out[i] = row;
            }
        }
        Ok(out)
    }

    /// One packed forward pass over pairs tokenized by [`CrossEncoder::tokenize`]: the raw
    /// logits of each (`labels()` values), in order, not checked for NaN or infinity. A server
    /// that packs the pairs of several requests into one pass uses it, and each request then
    /// checks its own rows, so one request's NaN fails only that request.
    pub fn forward(&self, batch: &[&Encoded]) -> Result<Vec<Vec<f32>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut packed = PackedBatch::default();
        for e in batch {
            packed.push(&e.ids, &e.type_ids);
        }
        let hidden = self.encoder.forward(&packed)?;
        let h = self.encoder.hidden_size();
        let first: Vec<f32> = packed
            .sequences
            .iter()
            .flat_map(|rows| hidden[rows.start * h..(rows.start + 1) * h].iter().copied())
            .collect();
        let mut pooled = self.head.dense.forward(&first, batch.len());
        ops::activate_in_place(&mut pooled, Activation::Tanh);
        let logits = self.head.out.forward(&pooled, batch.len());
        Ok(logits
            .chunks_exact(self.labels)
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// The scores of each pair: logits through the model's activation (sentence-transformers'
    /// `CrossEncoder.predict`).
    pub fn predict(&self, pairs: &[(&str, &str)], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        let mut scores = self.logits(pairs, batch_size)?;
        for row in &mut scores {
            for x in row.iter_mut() {
                *x = self.activation.apply(*x);
            }
        }
        Ok(scores)
    }

    /// The documents by score for `query`, best first (ties keep input order): what
    /// sentence-transformers' `CrossEncoder.rank` returns. Needs a one-label model.
    pub fn rerank(
        &self,
        query: &str,
        documents: &[&str],
        batch_size: usize,
    ) -> Result<Vec<Ranked>> {
        if self.labels != 1 {
            return Err(Error::InvalidInput(format!(
                "reranking needs a model with one score per pair; this one has {} labels",
                self.labels
            )));
        }
        let pairs: Vec<(&str, &str)> = documents.iter().map(|d| (query, *d)).collect();
        let mut ranked: Vec<Ranked> = self
            .predict(&pairs, batch_size)?
            .into_iter()
            .enumerate()
            .map(|(index, s)| Ranked { index, score: s[0] })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        Ok(ranked)
    }
}

/// Pairs per forward pass behind the [`Reranker`] seam (sentence-transformers' default).
const RERANK_BATCH_SIZE: usize = 32;

impl Reranker for CrossEncoder {
    /// [`CrossEncoder::predict`] of the pairs `(query, document)`; a model with more than one
    /// label is an input error (it classifies pairs, it does not rank them).
    fn score(&self, query: &str, documents: &[&str]) -> std::result::Result<Vec<f32>, EmbedError> {
        if self.labels != 1 {
            return Err(Error::InvalidInput(format!(
                "reranking needs a model with one score per pair; this one has {} labels",
                self.labels
            ))
            .into());
        }
        let pairs: Vec<(&str, &str)> = documents.iter().map(|d| (query, *d)).collect();
        Ok(self
            .predict(&pairs, RERANK_BATCH_SIZE)?
            .into_iter()
            .map(|s| s[0])
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/fixtures")
            .join(name)
    }

    #[test]
    fn sequence_classifiers_are_recognized_and_embedders_are_not() {
        assert!(CrossEncoder::recognizes(&fixture("tiny-cross-encoder")));
        assert!(CrossEncoder::recognizes(&fixture(
            "tiny-cross-encoder-roberta"
        )));
        assert!(!CrossEncoder::recognizes(&fixture("tiny-bge")));
        assert!(!CrossEncoder::recognizes(&fixture("no-such-folder")));
    }

    /// The seam gives what `rerank` gives: the same scores, the same order.
    #[test]
    fn the_reranker_seam_agrees_with_rerank() {
        let model =
            CrossEncoder::from_folder_with(&fixture("tiny-cross-encoder"), Precision::F32).unwrap();
        let docs = [
            "你好，你是一个机器人。",
            "what is the capital of France?",
            "",
            "Paris",
        ];
        let direct = model.rerank("capital of France", &docs, 2).unwrap();
        let seam: &dyn Reranker = &model;
        assert_eq!(
            seam.rerank("capital of France", &docs, None).unwrap(),
            direct
        );
        assert_eq!(
            seam.rerank("capital of France", &docs, Some(1)).unwrap(),
            direct[..1]
        );
        let roberta =
            CrossEncoder::from_folder_with(&fixture("tiny-cross-encoder-roberta"), Precision::F32)
                .unwrap();
        let e = Reranker::score(&roberta, "q", &["d"]).unwrap_err();
        assert!(
            e.is_invalid_input() && e.message.contains("3 labels"),
            "{e}"
        );
    }
}
