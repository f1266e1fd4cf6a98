//! MPNet (all-mpnet-base-v2): BERT-like blocks plus a relative position bias shared by all
//! layers. Follows transformers' `modeling_mpnet.py`.

use super::block::{self, BlockNames, BlockScratch, BlockShape, EncoderBlock, FfnNames};
use super::{Encoder, PackedBatch};
use crate::error::{Error, Result};
use crate::weights::{Table, WeightFile};
use embedkit_kernels::attention::ScoreOptions;
use embedkit_kernels::ops;
use serde::Deserialize;

/// The keys of an MPNet `config.json` that matter for inference.
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
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
    #[serde(default = "default_pad")]
    pub pad_token_id: usize,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_eps() -> f64 {
    1e-12
}
fn default_buckets() -> usize {
    32
}
fn default_pad() -> usize {
    1
}

/// transformers' `MPNetEncoder.relative_position_bucket` (bidirectional, max distance 128),
/// for `relative = key_position − query_position`, in the same f32 arithmetic.
fn relative_position_bucket(relative: i64, num_buckets: usize) -> usize {
    const MAX_DISTANCE: f32 = 128.0;
    let half = (num_buckets / 2) as i64;
    let n = -relative;
    let mut bucket = if n < 0 { half } else { 0 };
    let n = n.abs();
    let max_exact = half / 2;
    if n < max_exact {
        bucket += n;
    } else {
        let scaled = (n as f32 / max_exact as f32).ln() / (MAX_DISTANCE / max_exact as f32).ln()
            * (half - max_exact) as f32;
        bucket += (max_exact + scaled as i64).min(half - 1);
    }
    bucket as usize
}

/// A loaded MPNet encoder.
pub struct MpNet {
    word: Table,
    position: Vec<f32>,
    emb_norm: (Vec<f32>, Vec<f32>),
    /// `[buckets, heads]`.
    relative_bias: Vec<f32>,
    buckets: usize,
    blocks: Vec<EncoderBlock>,
    shape: BlockShape,
    pad_token_id: usize,
}

impl MpNet {
    /// Loads the weights named as transformers' `MPNetModel` saves them.
    pub fn load(w: &WeightFile, cfg: &Config) -> Result<Self> {
        if cfg.num_attention_heads == 0 || !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads)
        {
            return Err(Error::InvalidInput(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                cfg.hidden_size, cfg.num_attention_heads
            )));
        }
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
                    q: "attention.attn.q",
                    k: "attention.attn.k",
                    v: "attention.attn.v",
                    o: "attention.attn.o",
                    attn_norm: "attention.LayerNorm",
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
            emb_norm: w.layer_norm("embeddings.LayerNorm", h)?,
            relative_bias: w.matrix(
                "encoder.relative_attention_bias.weight",
                cfg.relative_attention_num_buckets,
                cfg.num_attention_heads,
            )?,
            buckets: cfg.relative_attention_num_buckets,
            blocks,
            shape,
            pad_token_id: cfg.pad_token_id,
        })
    }

    /// Bias of head `head` for every `j − i` in `−(len−1) ..= len−1`.
    fn bias_row(&self, head: usize, len: usize) -> Vec<f32> {
        let heads = self.shape.heads;
        (-(len as i64 - 1)..len as i64)
            .map(|rel| {
                self.relative_bias[relative_position_bucket(rel, self.buckets) * heads + head]
            })
            .collect()
    }
}

impl Encoder for MpNet {
    fn model_type(&self) -> &'static str {
        "mpnet"
    }

    fn max_positions(&self) -> Option<usize> {
        Some(self.position.len() / self.shape.hidden - self.pad_token_id - 1)
    }

    fn hidden_size(&self) -> usize {
        self.shape.hidden
    }

    fn weight_bytes(&self) -> usize {
        let small = self.position.len() + self.relative_bias.len() + 2 * self.emb_norm.0.len();
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
                let position = self.pad_token_id + 1 + pos;
                block::add_row(&self.position, h, position, out, "position")?;
            }
        }
        ops::layer_norm_rows(&mut x, &self.emb_norm.0, &self.emb_norm.1, self.shape.eps);
        let bias = |head: usize, len: usize| self.bias_row(head, len);
        let options = ScoreOptions {
            relative_bias: Some(&bias),
            ..ScoreOptions::default()
        };
        let mut scratch = BlockScratch::default();
        for b in &self.blocks {
            b.forward(&mut x, &batch.sequences, self.shape, options, &mut scratch);
            each_layer(&x);
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::relative_position_bucket;

    #[test]
    fn buckets_match_transformers() {
        // Values computed with transformers' MPNetEncoder.relative_position_bucket
        // (num_buckets=32, max_distance=128): exact up to 7, logarithmic beyond, and the
        // other direction offset by 16.
        let expect = [
            (0, 0),
            (-1, 1),
            (-7, 7),
            (-8, 8),
            (-12, 9),
            (-16, 10),
            (-63, 13),
            (-128, 15),
            (-500, 15),
            (1, 17),
            (8, 24),
            (100, 31),
        ];
        for (rel, bucket) in expect {
            assert_eq!(relative_position_bucket(rel, 32), bucket, "relative {rel}");
        }
    }
}
