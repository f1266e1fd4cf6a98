//! BERT and its RoBERTa-layout variants (MiniLM, BGE, E5, GTE...): absolute position
//! embeddings, token types, post-LN encoder blocks.
//! Follows transformers' `modeling_bert.py` / `modeling_roberta.py`.

use super::block::{self, BlockNames, BlockScratch, BlockShape, EncoderBlock, FfnNames};
use super::{Encoder, PackedBatch};
use crate::error::{Error, Result};
use crate::weights::{Table, WeightFile};
use embedkit_kernels::attention::ScoreOptions;
use embedkit_kernels::ops;
use serde::Deserialize;

/// The keys of a BERT `config.json` that matter for inference.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
    #[serde(default)]
    pub pad_token_id: Option<usize>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// A loaded BERT encoder.
pub struct Bert {
    word: Table,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: (Vec<f32>, Vec<f32>),
    blocks: Vec<EncoderBlock>,
    shape: BlockShape,
    /// First position id: 0 for BERT, `padding_idx + 1` for RoBERTa-style tables.
    position_offset: usize,
    model_type: &'static str,
}

impl Bert {
    /// Loads the weights named as transformers' `BertModel` saves them.
    pub fn load(w: &WeightFile, cfg: &Config, model_type: &str) -> Result<Self> {
        if let Some(kind) = cfg.position_embedding_type.as_deref() {
            if kind != "absolute" {
                return Err(Error::UnsupportedArchitecture(format!(
                    "{model_type} with position_embedding_type {kind}"
                )));
            }
        }
        if cfg.num_attention_heads == 0 || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads)
        {
            return Err(Error::InvalidInput(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                cfg.hidden_size, cfg.num_attention_heads
            )));
        }
        let (model_type, position_offset) = match model_type {
            "bert" => ("bert", 0),
            "roberta" => ("roberta", cfg.pad_token_id.unwrap_or(1) + 1),
            "xlm-roberta" => ("xlm-roberta", cfg.pad_token_id.unwrap_or(1) + 1),
            _ => ("camembert", cfg.pad_token_id.unwrap_or(1) + 1),
        };
        let h = cfg.hidden_size;
        let shape = BlockShape {
            hidden: h,
            intermediate: cfg.intermediate_size,
            heads: cfg.num_attention_heads,
            eps: cfg.layer_norm_eps as f32,
            act: block::activation(&cfg.hidden_act)?,
        };
        let blocks = (0..cfg.num_hidden_layers)
            .map(|i| {
                let names = BlockNames {
                    prefix: format!("encoder.layer.{i}"),
                    q: "attention.self.query",
                    k: "attention.self.key",
                    v: "attention.self.value",
                    o: "attention.output.dense",
                    attn_norm: "attention.output.LayerNorm",
                    input_norm: match i {
                        0 => "embeddings.LayerNorm".to_string(),
                        _ => format!("encoder.layer.{}.output.LayerNorm", i - 1),
                    },
                    ffn: FfnNames::BERT,
                };
                EncoderBlock::load(w, &names, shape)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            word: w.table("embeddings.word_embeddings.weight", cfg.vocab_size, h)?,
            position: w.matrix(
                "embeddings.position_embeddings.weight",
                cfg.max_position_embeddings,
                h,
            )?,
            token_type: w.matrix(
                "embeddings.token_type_embeddings.weight",
                cfg.type_vocab_size,
                h,
            )?,
            emb_norm: w.layer_norm("embeddings.LayerNorm", h)?,
            blocks,
            shape,
            position_offset,
            model_type,
        })
    }
}

impl Encoder for Bert {
    fn model_type(&self) -> &'static str {
        self.model_type
    }

    fn max_positions(&self) -> Option<usize> {
        Some(self.position.len() / self.shape.hidden - self.position_offset)
    }

    fn hidden_size(&self) -> usize {
        self.shape.hidden
    }

    fn weight_bytes(&self) -> usize {
        let small = self.position.len() + self.token_type.len() + 2 * self.emb_norm.0.len();
        self.word.bytes()
            + small * 4
            + self
                .blocks
                .iter()
                .map(EncoderBlock::weight_bytes)
                .sum::<usize>()
    }

    fn forward_traced(
        &self,
        batch: &PackedBatch,
        each_layer: &mut dyn FnMut(&[f32]),
    ) -> Result<Vec<f32>> {
        let h = self.shape.hidden;
        let mut x = vec![0.0_f32; batch.tokens() * h];
        for seq in &batch.sequences {
            for (pos, t) in seq.clone().enumerate() {
                let out = &mut x[t * h..(t + 1) * h];
                self.word.add_row(h, batch.ids[t] as usize, out, "token")?;
                block::add_row(
                    &self.position,
                    h,
                    self.position_offset + pos,
                    out,
                    "position",
                )?;
                block::add_row(
                    &self.token_type,
                    h,
                    batch.type_ids[t] as usize,
                    out,
                    "token type",
                )?;
            }
        }
        ops::layer_norm_rows(&mut x, &self.emb_norm.0, &self.emb_norm.1, self.shape.eps);
        let (options, mut scratch) = (ScoreOptions::default(), BlockScratch::default());
        for b in &self.blocks {
            b.forward(&mut x, &batch.sequences, self.shape, options, &mut scratch);
            each_layer(&x);
        }
        Ok(x)
    }
}
