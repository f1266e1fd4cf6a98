//! Qwen3 (Qwen3-Embedding): a decoder used as an encoder. Pre-RMSNorm blocks, per-head
//! RMSNorm of q and k before rotary embeddings (half-split layout), grouped-query causal
//! attention, SwiGLU MLP, final norm; embeddings are pooled from the last token.
//! Follows transformers' `modeling_qwen3.py`.

use super::block;
use super::rope::{self, Rotary};
use super::{Encoder, PackedBatch};
use crate::error::{Error, Result};
use crate::weights::{Table, WeightFile};
use embedkit_kernels::attention::{attention_into, QkvLayout, ScoreOptions};
use embedkit_kernels::linear::Linear;
use embedkit_kernels::ops::{self, Activation};
use rayon::prelude::*;
use serde::Deserialize;

/// The keys of a Qwen3 `config.json` that matter for inference.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: Option<usize>,
    /// Width of one head; not `hidden_size / heads` in Qwen3-Embedding.
    pub head_dim: Option<usize>,
    pub intermediate_size: usize,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// transformers ≤ 4 spelling.
    pub rope_theta: Option<f64>,
    /// transformers 5 spelling: `{"rope_theta": ..., "rope_type": "default"}`.
    pub rope_parameters: Option<RopeParameters>,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub eos_token_id: Option<u32>,
}

/// `rope_parameters` of transformers 5 configs.
#[derive(Debug, Clone, Deserialize)]
pub struct RopeParameters {
    pub rope_theta: Option<f64>,
    pub rope_type: Option<String>,
}

fn default_eps() -> f64 {
    1e-6
}
fn default_act() -> String {
    "silu".into()
}

/// Qwen3-Embedding appends `<|endoftext|>`, id 151643, which is also its pad token.
const QWEN_ENDOFTEXT: u32 = 151_643;

struct Layer {
    input_norm: Vec<f32>,
    qkv: Linear,
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    o: Linear,
    post_norm: Vec<f32>,
    /// gate and up projections fused: `[gate | up]`.
    gate_up: Linear,
    down: Linear,
}

/// A loaded Qwen3 model (no LM head).
pub struct Qwen3 {
    embed: Table,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    intermediate: usize,
    eps: f32,
    rotary: Rotary,
    eos: u32,
}

impl Qwen3 {
    /// Loads the weights named as transformers' `Qwen3Model` saves them (with or without
    /// the `model.` prefix of `Qwen3ForCausalLM` checkpoints).
    pub fn load(w: &WeightFile, cfg: &Config) -> Result<Self> {
        let heads = cfg.num_attention_heads;
        let kv_heads = cfg.num_key_value_heads.unwrap_or(heads);
        if heads == 0 || kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return Err(Error::InvalidInput(format!(
                "num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}"
            )));
        }
        let head_dim = cfg.head_dim.unwrap_or(cfg.hidden_size / heads);
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(Error::InvalidInput(format!(
                "head_dim {head_dim} must be even"
            )));
        }
        if cfg.hidden_act != "silu" {
            return Err(Error::InvalidInput(format!(
                "qwen3 with hidden_act {:?} (only silu)",
                cfg.hidden_act
            )));
        }
        if let Some(kind) = cfg
            .rope_parameters
            .as_ref()
            .and_then(|r| r.rope_type.as_deref())
        {
            if kind != "default" {
                return Err(Error::UnsupportedArchitecture(format!(
                    "qwen3 with rope_type {kind}"
                )));
            }
        }
        let theta = cfg
            .rope_parameters
            .as_ref()
            .and_then(|r| r.rope_theta)
            .or(cfg.rope_theta)
            .unwrap_or(1_000_000.0);
        let (h, q_width, kv_width) = (cfg.hidden_size, heads * head_dim, kv_heads * head_dim);
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let p = format!("layers.{i}");
                let q = w.linear(&format!("{p}.self_attn.q_proj"), q_width, h)?;
                let k = w.linear(&format!("{p}.self_attn.k_proj"), kv_width, h)?;
                let v = w.linear(&format!("{p}.self_attn.v_proj"), kv_width, h)?;
                let gate = w.linear(&format!("{p}.mlp.gate_proj"), cfg.intermediate_size, h)?;
                let up = w.linear(&format!("{p}.mlp.up_proj"), cfg.intermediate_size, h)?;
                let fuse = |parts: &[Linear]| {
                    Linear::concat(parts).map_err(|e| Error::InvalidInput(format!("{p}: {e:?}")))
                };
                Ok(Layer {
                    input_norm: w.vector(&format!("{p}.input_layernorm.weight"), h)?,
                    qkv: fuse(&[q, k, v])?,
                    q_norm: w.vector(&format!("{p}.self_attn.q_norm.weight"), head_dim)?,
                    k_norm: w.vector(&format!("{p}.self_attn.k_norm.weight"), head_dim)?,
                    o: w.linear(&format!("{p}.self_attn.o_proj"), h, q_width)?,
                    post_norm: w.vector(&format!("{p}.post_attention_layernorm.weight"), h)?,
                    gate_up: fuse(&[gate, up])?,
                    down: w.linear(&format!("{p}.mlp.down_proj"), h, cfg.intermediate_size)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            embed: w.table("embed_tokens.weight", cfg.vocab_size, h)?,
            layers,
            norm: w.vector("norm.weight", h)?,
            hidden: h,
            heads,
            kv_heads,
            head_dim,
            intermediate: cfg.intermediate_size,
            eps: cfg.rms_norm_eps as f32,
            rotary: Rotary::new(theta, head_dim),
            eos: cfg.eos_token_id.unwrap_or(QWEN_ENDOFTEXT),
        })
    }

    fn layout(&self) -> QkvLayout {
        QkvLayout {
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
        }
    }

    /// Per-head RMSNorm of q and k, then the rotary embeddings of [`Rotary::tables`].
    fn norm_and_rotate(&self, qkv: &mut [f32], rotary: &(Vec<f32>, Vec<f32>), layer: &Layer) {
        let width = self.layout().row_width();
        let d = self.head_dim;
        let half = d / 2;
        let qk_heads = self.heads + self.kv_heads;
        qkv.par_chunks_mut(width)
            .zip(rotary.0.par_chunks(half).zip(rotary.1.par_chunks(half)))
            .for_each(|(row, (cos, sin))| {
                for (head, v) in row[..qk_heads * d].chunks_exact_mut(d).enumerate() {
                    let gamma = if head < self.heads {
                        &layer.q_norm
                    } else {
                        &layer.k_norm
                    };
                    ops::rms_norm_row(v, gamma, self.eps);
                    rope::rotate(v, cos, sin);
                }
            });
    }
}

impl Encoder for Qwen3 {
    fn model_type(&self) -> &'static str {
        "qwen3"
    }

    fn max_positions(&self) -> Option<usize> {
        None
    }

    fn hidden_size(&self) -> usize {
        self.hidden
    }

    fn weight_bytes(&self) -> usize {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.qkv, &l.o, &l.gate_up, &l.down]
                    .iter()
                    .map(|x| x.memory_bytes())
                    .sum::<usize>()
                    + (l.input_norm.len() + l.post_norm.len() + l.q_norm.len() + l.k_norm.len()) * 4
            })
            .sum();
        self.embed.bytes() + layers + self.norm.len() * 4
    }

    fn required_eos(&self) -> Option<u32> {
        Some(self.eos)
    }

    fn forward_traced(
        &self,
        batch: &PackedBatch,
        each_layer: &mut dyn FnMut(&[f32]),
    ) -> Result<Vec<f32>> {
        let h = self.hidden;
        let tokens = batch.tokens();
        let mut x = vec![0.0_f32; tokens * h];
        for (t, &id) in batch.ids.iter().enumerate() {
            self.embed
                .add_row(h, id as usize, &mut x[t * h..(t + 1) * h], "token")?;
        }
        let layout = self.layout();
        let causal = ScoreOptions {
            causal: true,
            ..ScoreOptions::default()
        };
        let scale = 1.0 / (self.head_dim as f32).sqrt();
        let mut normed = vec![0.0_f32; tokens * h];
        let rotary = self.rotary.tables(tokens, &batch.sequences);
        // Intermediate activations, reused by every layer (see `Linear::forward_into`).
        let (mut qkv, mut ctx, mut gate_up) = (Vec::new(), Vec::new(), Vec::new());
        let i = self.intermediate;
        let mut act = vec![0.0_f32; tokens * i];
        for layer in &self.layers {
            normed.copy_from_slice(&x);
            ops::rms_norm_rows(&mut normed, &layer.input_norm, self.eps);
            layer.qkv.forward_into(&normed, tokens, &mut qkv);
            self.norm_and_rotate(&mut qkv, &rotary, layer);
            attention_into(&qkv, &batch.sequences, layout, scale, causal, &mut ctx);
            layer.o.forward_add(&ctx, tokens, &mut x);

            normed.copy_from_slice(&x);
            ops::rms_norm_rows(&mut normed, &layer.post_norm, self.eps);
            layer.gate_up.forward_into(&normed, tokens, &mut gate_up);
            block::gated(&gate_up, i, Activation::Silu, &mut act);
            layer.down.forward_add(&act, tokens, &mut x);
            each_layer(&x);
        }
        ops::rms_norm_rows(&mut x, &self.norm, self.eps);
        Ok(x)
    }
}
