//! DistilBERT (msmarco-distilbert, the distiluse models' text towers): BERT's post-LN blocks
//! under other names, learned absolute positions and no token types.
//! Follows transformers' `modeling_distilbert.py`.

use super::block::{self, BlockNames, BlockScratch, BlockShape, EncoderBlock, FfnNames};
use super::{Encoder, PackedBatch};
use crate::error::{Error, Result};
use crate::weights::{Table, WeightFile};
use embedkit_kernels::attention::ScoreOptions;
use embedkit_kernels::ops;
use serde::Deserialize;

/// The keys of a DistilBERT `config.json` that matter for inference.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub dim: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub hidden_dim: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_act")]
    pub activation: String,
}

fn default_act() -> String {
    "gelu".into()
}

/// transformers builds every DistilBERT LayerNorm with this epsilon; `config.json` has no key
/// for it.
const LAYER_NORM_EPS: f32 = 1e-12;

const FFN: FfnNames = FfnNames {
    input: "ffn.lin1",
    output: "ffn.lin2",
    norm: "output_layer_norm",
};

/// A loaded DistilBERT encoder.
pub struct DistilBert {
    word: Table,
    position: Vec<f32>,
    emb_norm: (Vec<f32>, Vec<f32>),
    blocks: Vec<EncoderBlock>,
    shape: BlockShape,
}

impl DistilBert {
    /// Loads the weights named as transformers' `DistilBertModel` saves them.
    pub fn load(w: &WeightFile, cfg: &Config) -> Result<Self> {
        if cfg.n_heads == 0 || !cfg.dim.is_multiple_of(cfg.n_heads) {
            return Err(Error::InvalidInput(format!(
                "dim {} is not a multiple of n_heads {}",
                cfg.dim, cfg.n_heads
            )));
        }
        let h = cfg.dim;
        let shape = BlockShape {
            hidden: h,
            intermediate: cfg.hidden_dim,
            heads: cfg.n_heads,
            eps: LAYER_NORM_EPS,
            act: block::activation(&cfg.activation)?,
        };
        let blocks = (0..cfg.n_layers)
            .map(|i| {
                let names = BlockNames {
                    prefix: format!("transformer.layer.{i}"),
                    q: "attention.q_lin",
                    k: "attention.k_lin",
                    v: "attention.v_lin",
                    o: "attention.out_lin",
                    attn_norm: "sa_layer_norm",
                    input_norm: match i {
                        0 => "embeddings.LayerNorm".to_string(),
                        _ => format!("transformer.layer.{}.{}", i - 1, FFN.norm),
                    },
                    ffn: FFN,
                };
                EncoderBlock::load(w, &names, shape)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            word: w.table("embeddings.word_embeddings.weight", cfg.vocab_size, h)?,
            // Stored even with `sinusoidal_pos_embds`: transformers fills the same table.
            position: w.matrix(
                "embeddings.position_embeddings.weight",
                cfg.max_position_embeddings,
                h,
            )?,
            emb_norm: w.layer_norm("embeddings.LayerNorm", h)?,
            blocks,
            shape,
        })
    }
}

impl Encoder for DistilBert {
    fn model_type(&self) -> &'static str {
        "distilbert"
    }

    fn max_positions(&self) -> Option<usize> {
        Some(self.position.len() / self.shape.hidden)
    }

    fn hidden_size(&self) -> usize {
        self.shape.hidden
    }

    fn weight_bytes(&self) -> usize {
        let small = self.position.len() + 2 * self.emb_norm.0.len();
        self.word.bytes()
            + small * 4
            + self
                .blocks
                .iter()
                .map(EncoderBlock::weight_bytes)
                .sum::<usize>()
    }

    /// `batch.type_ids` are ignored: DistilBERT has no segment embeddings, though its BERT
    /// tokenizer still produces them.
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
                block::add_row(&self.position, h, pos, out, "position")?;
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
