//! NomicBERT (nomic-embed-text-v1 and v1.5): BERT's post-LN encoder with rotary position
//! embeddings instead of a position table, a fused bias-free QKV projection and a SwiGLU
//! feed-forward. Follows transformers' `modeling_nomic_bert.py`, reading the weight names of
//! the hub checkpoints (which transformers also writes): `encoder.layers.N.attn.Wqkv`,
//! `mlp.fc11` (up), `mlp.fc12` (gate), `mlp.fc2`, `norm1`, `norm2`, `emb_ln`.

use super::block;
use super::qwen3::RopeParameters;
use super::rope::{self, Rotary};
use super::{Encoder, PackedBatch};
use crate::error::{Error, Result};
use crate::weights::{Table, WeightFile};
use embedkit_kernels::attention::{attention_into, QkvLayout, ScoreOptions};
use embedkit_kernels::linear::Linear;
use embedkit_kernels::ops::{self, Activation};
use rayon::prelude::*;
use serde::Deserialize;

/// The keys of a NomicBERT `config.json` that matter for inference. Hub configs, written for
/// the model's own code, spell the sizes as GPT-2 does (`n_embd`, ...); configs written by
/// transformers as BERT does. Where both appear, BERT's spelling wins, as in transformers.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    hidden_size: Option<usize>,
    n_embd: Option<usize>,
    num_hidden_layers: Option<usize>,
    n_layer: Option<usize>,
    num_attention_heads: Option<usize>,
    n_head: Option<usize>,
    intermediate_size: Option<usize>,
    n_inner: Option<usize>,
    head_dim: Option<usize>,
    layer_norm_eps: Option<f64>,
    layer_norm_epsilon: Option<f64>,
    hidden_act: Option<String>,
    activation_function: Option<String>,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    rope_parameters: Option<RopeParameters>,
    rope_theta: Option<f64>,
    rotary_emb_base: Option<f64>,
    // Options of the model's own code that transformers' class does not implement: a config
    // that turns one on is refused rather than run as something else.
    rotary_emb_fraction: Option<f64>,
    rotary_emb_interleaved: Option<bool>,
    rotary_scaling_factor: Option<f64>,
    prenorm: Option<bool>,
    use_rms_norm: Option<bool>,
    parallel_block: Option<bool>,
}

fn default_type_vocab() -> usize {
    2
}

/// transformers' `NomicBertConfig` defaults (nomic-embed-text-v1.5's values).
const DEFAULT_THETA: f64 = 1000.0;
const DEFAULT_EPS: f64 = 1e-12;

impl Config {
    fn required(&self, bert: Option<usize>, gpt2: Option<usize>, key: &str) -> Result<usize> {
        bert.or(gpt2)
            .ok_or_else(|| Error::InvalidInput(format!("nomic_bert config without {key}")))
    }

    /// Refuses the options of the model's own code that change the computation.
    fn check_supported(&self) -> Result<()> {
        let unsupported = |what: String| {
            Err(Error::UnsupportedArchitecture(format!(
                "nomic_bert with {what}"
            )))
        };
        if let Some(f) = self.rotary_emb_fraction.filter(|&f| f != 1.0) {
            return unsupported(format!("rotary_emb_fraction {f}"));
        }
        if let Some(f) = self.rotary_scaling_factor {
            return unsupported(format!("rotary_scaling_factor {f}"));
        }
        for (key, on) in [
            ("rotary_emb_interleaved", self.rotary_emb_interleaved),
            ("prenorm", self.prenorm),
            ("use_rms_norm", self.use_rms_norm),
            ("parallel_block", self.parallel_block),
        ] {
            if on == Some(true) {
                return unsupported(format!("{key} true"));
            }
        }
        if let Some(kind) = self
            .rope_parameters
            .as_ref()
            .and_then(|r| r.rope_type.as_deref())
            .filter(|&k| k != "default")
        {
            return unsupported(format!("rope_type {kind}"));
        }
        Ok(())
    }

    /// The activation applied to the gate: `hidden_act` (transformers), else the model's own
    /// `activation_function`, whose `swiglu` is SiLU-gated.
    fn activation(&self) -> Result<Activation> {
        match (&self.hidden_act, &self.activation_function) {
            (Some(act), _) => block::activation(act),
            (None, Some(f)) if f == "swiglu" => Ok(Activation::Silu),
            (None, Some(f)) => Err(Error::UnsupportedArchitecture(format!(
                "nomic_bert with activation_function {f}"
            ))),
            (None, None) => Ok(Activation::Silu),
        }
    }
}

struct Layer {
    qkv: Linear,
    o: Linear,
    attn_norm: (Vec<f32>, Vec<f32>),
    /// fc12 (gate) and fc11 (up) fused: `[gate | up]`.
    gate_up: Linear,
    down: Linear,
    mlp_norm: (Vec<f32>, Vec<f32>),
}

/// A loaded NomicBERT encoder.
pub struct NomicBert {
    word: Table,
    token_type: Vec<f32>,
    emb_norm: (Vec<f32>, Vec<f32>),
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    head_dim: usize,
    intermediate: usize,
    eps: f32,
    act: Activation,
    rotary: Rotary,
}

impl NomicBert {
    /// Loads the weights named as nomic-embed's checkpoints (and transformers) save them.
    pub fn load(w: &WeightFile, cfg: &Config) -> Result<Self> {
        cfg.check_supported()?;
        let h = cfg.required(cfg.hidden_size, cfg.n_embd, "hidden_size")?;
        let heads = cfg.required(cfg.num_attention_heads, cfg.n_head, "num_attention_heads")?;
        let layers = cfg.required(cfg.num_hidden_layers, cfg.n_layer, "num_hidden_layers")?;
        let inter = cfg.required(cfg.intermediate_size, cfg.n_inner, "intermediate_size")?;
        if heads == 0 || (cfg.head_dim.is_none() && !h.is_multiple_of(heads)) {
            return Err(Error::InvalidInput(format!(
                "hidden_size {h} is not a multiple of num_attention_heads {heads}"
            )));
        }
        let head_dim = cfg.head_dim.unwrap_or(h / heads);
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(Error::InvalidInput(format!(
                "head_dim {head_dim} must be even"
            )));
        }
        let theta = cfg
            .rope_parameters
            .as_ref()
            .and_then(|r| r.rope_theta)
            .or(cfg.rope_theta)
            .or(cfg.rotary_emb_base)
            .unwrap_or(DEFAULT_THETA);
        let width = heads * head_dim;
        let layers = (0..layers)
            .map(|i| {
                let p = format!("encoder.layers.{i}");
                let gate = w.linear(&format!("{p}.mlp.fc12"), inter, h)?;
                let up = w.linear(&format!("{p}.mlp.fc11"), inter, h)?;
                Ok(Layer {
                    qkv: w.linear(&format!("{p}.attn.Wqkv"), 3 * width, h)?,
                    o: w.linear(&format!("{p}.attn.out_proj"), h, width)?,
                    attn_norm: w.layer_norm(&format!("{p}.norm1"), h)?,
                    gate_up: Linear::concat(&[gate, up])
                        .map_err(|e| Error::InvalidInput(format!("{p}: {e:?}")))?,
                    down: w.linear(&format!("{p}.mlp.fc2"), h, inter)?,
                    mlp_norm: w.layer_norm(&format!("{p}.norm2"), h)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            word: w.table("embeddings.word_embeddings.weight", cfg.vocab_size, h)?,
            token_type: w.matrix(
                "embeddings.token_type_embeddings.weight",
                cfg.type_vocab_size,
                h,
            )?,
            emb_norm: w.layer_norm("emb_ln", h)?,
            layers,
            hidden: h,
            heads,
            head_dim,
            intermediate: inter,
            eps: cfg
                .layer_norm_eps
                .or(cfg.layer_norm_epsilon)
                .unwrap_or(DEFAULT_EPS) as f32,
            act: cfg.activation()?,
            rotary: Rotary::new(theta, head_dim),
        })
    }
}

impl Encoder for NomicBert {
    fn model_type(&self) -> &'static str {
        "nomic_bert"
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
                    + 2 * (l.attn_norm.0.len() + l.mlp_norm.0.len()) * 4
            })
            .sum();
        self.word.bytes() + (self.token_type.len() + 2 * self.emb_norm.0.len()) * 4 + layers
    }

    fn forward_traced(
        &self,
        batch: &PackedBatch,
        each_layer: &mut dyn FnMut(&[f32]),
    ) -> Result<Vec<f32>> {
        let h = self.hidden;
        let tokens = batch.tokens();
        let mut x = vec![0.0_f32; tokens * h];
        for (t, out) in x.chunks_exact_mut(h).enumerate() {
            self.word.add_row(h, batch.ids[t] as usize, out, "token")?;
            let kind = batch.type_ids[t] as usize;
            block::add_row(&self.token_type, h, kind, out, "token type")?;
        }
        ops::layer_norm_rows(&mut x, &self.emb_norm.0, &self.emb_norm.1, self.eps);
        let layout = QkvLayout {
            heads: self.heads,
            kv_heads: self.heads,
            head_dim: self.head_dim,
        };
        let scale = 1.0 / (self.head_dim as f32).sqrt();
        let (cos, sin) = self.rotary.tables(tokens, &batch.sequences);
        let half = self.head_dim / 2;
        // Intermediate activations, reused by every layer (see `Linear::forward_into`).
        let (mut qkv, mut ctx, mut gate_up) = (Vec::new(), Vec::new(), Vec::new());
        let mut act = vec![0.0_f32; tokens * self.intermediate];
        for layer in &self.layers {
            layer.qkv.forward_into(&x, tokens, &mut qkv);
            // Rotate q's and k's heads (the first two thirds of each row), not v's.
            let qk = 2 * self.heads * self.head_dim;
            qkv.par_chunks_mut(layout.row_width())
                .zip(cos.par_chunks(half).zip(sin.par_chunks(half)))
                .for_each(|(row, (cos, sin))| {
                    for v in row[..qk].chunks_exact_mut(self.head_dim) {
                        rope::rotate(v, cos, sin);
                    }
                });
            let options = ScoreOptions::default();
            attention_into(&qkv, &batch.sequences, layout, scale, options, &mut ctx);
            layer.o.forward_add(&ctx, tokens, &mut x);
            ops::layer_norm_rows(&mut x, &layer.attn_norm.0, &layer.attn_norm.1, self.eps);

            layer.gate_up.forward_into(&x, tokens, &mut gate_up);
            block::gated(&gate_up, self.intermediate, self.act, &mut act);
            layer.down.forward_add(&act, tokens, &mut x);
            ops::layer_norm_rows(&mut x, &layer.mlp_norm.0, &layer.mlp_norm.1, self.eps);
            each_layer(&x);
        }
        Ok(x)
    }
}
