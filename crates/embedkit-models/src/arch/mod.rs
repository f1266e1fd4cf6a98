//! Transformer architectures, one file each, all running on packed batches: the tokens of
//! every sequence concatenated, no padding. Attention is computed per sequence, so packing
//! gives the same numbers as a padded, masked batch without multiplying padding.

mod bert;
mod block;
mod distilbert;
mod mpnet;
mod nomic_bert;
mod qwen3;
mod rope;

use crate::error::{Error, Result};
use crate::folder::ModelFolder;
use crate::weights::{Precision, WeightFile};
use std::ops::Range;

/// Token ids of several sequences, concatenated.
#[derive(Debug, Clone, Default)]
pub struct PackedBatch {
    /// Vocabulary ids of every token.
    pub ids: Vec<u32>,
    /// Segment ids of every token.
    pub type_ids: Vec<u32>,
    /// Rows of each sequence in `ids`.
    pub sequences: Vec<Range<usize>>,
}

impl PackedBatch {
    /// Appends one sequence.
    pub fn push(&mut self, ids: &[u32], type_ids: &[u32]) {
        let start = self.ids.len();
        self.ids.extend_from_slice(ids);
        self.type_ids.extend_from_slice(type_ids);
        self.sequences.push(start..self.ids.len());
    }

    /// Total tokens.
    pub fn tokens(&self) -> usize {
        self.ids.len()
    }
}

/// A transformer that maps token ids to contextual token vectors.
pub trait Encoder: Send + Sync {
    /// Architecture name, as in `config.json`'s `model_type`.
    fn model_type(&self) -> &'static str;
    /// Width of the token vectors.
    fn hidden_size(&self) -> usize;
    /// Runs the model: returns `[batch.tokens(), hidden_size]`, row-major, and calls
    /// `each_layer` with the raw output of every block (to locate a diverging layer).
    fn forward_traced(
        &self,
        batch: &PackedBatch,
        each_layer: &mut dyn FnMut(&[f32]),
    ) -> Result<Vec<f32>>;

    /// Runs the model: returns `[batch.tokens(), hidden_size]`, row-major.
    fn forward(&self, batch: &PackedBatch) -> Result<Vec<f32>> {
        self.forward_traced(batch, &mut |_| {})
    }

    /// Bytes of memory held by the weights (what `--precision bf16` halves).
    fn weight_bytes(&self) -> usize;

    /// Longest input the position embeddings allow (`None`: rotary, no table).
    fn max_positions(&self) -> Option<usize>;

    /// The token every input must end with, for models pooled on their last token
    /// (Qwen3-Embedding's `<|endoftext|>`).
    fn required_eos(&self) -> Option<u32> {
        None
    }
}

/// Loads the architecture named by the folder's `config.json`, keeping its large weights in
/// `precision`.
pub fn load(folder: &ModelFolder, precision: Precision) -> Result<Box<dyn Encoder>> {
    load_dir(&folder.transformer_dir, &folder.hf_config, precision)
}

/// Loads the transformer in `dir` (its `config.json` already parsed as `hf_config`): the
/// base model of a sentence-embedding folder, or the encoder of a cross-encoder's
/// `*ForSequenceClassification` folder (whose weights carry a `bert.` / `roberta.` prefix).
pub fn load_dir(
    dir: &std::path::Path,
    hf_config: &serde_json::Value,
    precision: Precision,
) -> Result<Box<dyn Encoder>> {
    let config_path = dir.join("config.json");
    let model_type = hf_config
        .get("model_type")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Error::config(&config_path, "no model_type"))?
        .to_string();
    match model_type.as_str() {
        "bert" | "roberta" | "xlm-roberta" | "camembert" => {
            let cfg: bert::Config = parse_config(hf_config, &config_path)?;
            let w = WeightFile::open_folder(dir, &["", "bert.", "roberta.", "model."])?
                .with_precision(precision);
            Ok(Box::new(bert::Bert::load(&w, &cfg, &model_type)?))
        }
        "mpnet" => {
            let cfg: mpnet::Config = parse_config(hf_config, &config_path)?;
            let w =
                WeightFile::open_folder(dir, &["", "mpnet.", "model."])?.with_precision(precision);
            Ok(Box::new(mpnet::MpNet::load(&w, &cfg)?))
        }
        "distilbert" => {
            let cfg: distilbert::Config = parse_config(hf_config, &config_path)?;
            let w = WeightFile::open_folder(dir, &["", "distilbert."])?.with_precision(precision);
            Ok(Box::new(distilbert::DistilBert::load(&w, &cfg)?))
        }
        "nomic_bert" => {
            let cfg: nomic_bert::Config = parse_config(hf_config, &config_path)?;
            let w = WeightFile::open_folder(dir, &["", "nomic_bert."])?.with_precision(precision);
            Ok(Box::new(nomic_bert::NomicBert::load(&w, &cfg)?))
        }
        "qwen3" => {
            let cfg: qwen3::Config = parse_config(hf_config, &config_path)?;
            let w = WeightFile::open_folder(dir, &["", "model."])?.with_precision(precision);
            Ok(Box::new(qwen3::Qwen3::load(&w, &cfg)?))
        }
        other => Err(Error::UnsupportedArchitecture(other.to_string())),
    }
}

fn parse_config<T: serde::de::DeserializeOwned>(
    v: &serde_json::Value,
    path: &std::path::Path,
) -> Result<T> {
    T::deserialize(v).map_err(|e| Error::config(path, e))
}
