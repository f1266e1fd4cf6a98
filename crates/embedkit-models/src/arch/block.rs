//! The post-LayerNorm transformer encoder block shared by BERT, MPNet and DistilBERT, the
//! gated feed-forward's activation (Qwen3, NomicBERT) and the embedding table lookup.

use crate::error::{Error, Result};
use crate::weights::{Precision, WeightFile};
use embedkit_kernels::attention::{attention_into, QkvLayout, ScoreOptions};
use embedkit_kernels::linear::{eight_bit_activations, feed_forward_add, Linear, WeightFormat};
use embedkit_kernels::ops::{self, Activation};
use rayon::prelude::*;
use std::ops::Range;

/// Maps a `hidden_act` string from `config.json` to a kernel.
pub fn activation(name: &str) -> Result<Activation> {
    Ok(match name {
        "gelu" => Activation::GeluErf,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        "relu" => Activation::Relu,
        "silu" | "swish" => Activation::Silu,
        other => {
            return Err(Error::InvalidInput(format!(
                "unsupported hidden_act {other:?}"
            )))
        }
    })
}

/// Weight names of one block, which differ between architectures.
pub struct BlockNames {
    /// Prefix of the block, e.g. `encoder.layer.3`.
    pub prefix: String,
    /// Q, K, V, attention-output linear names under the prefix.
    pub q: &'static str,
    /// Key projection.
    pub k: &'static str,
    /// Value projection.
    pub v: &'static str,
    /// Attention output projection.
    pub o: &'static str,
    /// LayerNorm after attention.
    pub attn_norm: &'static str,
    /// Full name of the LayerNorm whose output the block reads (the embeddings' or the
    /// previous block's last).
    pub input_norm: String,
    /// Feed-forward names under the prefix.
    pub ffn: FfnNames,
}

/// Weight names of a block's feed-forward half, under the block's prefix.
#[derive(Clone, Copy)]
pub struct FfnNames {
    /// First linear layer (to the feed-forward width).
    pub input: &'static str,
    /// Second linear layer (back to the model width).
    pub output: &'static str,
    /// LayerNorm after the feed-forward's residual add.
    pub norm: &'static str,
}

impl FfnNames {
    /// BERT's and MPNet's names.
    pub const BERT: Self = Self {
        input: "intermediate.dense",
        output: "output.dense",
        norm: "output.LayerNorm",
    };
}

/// The intermediate activations of a block, kept from one layer to the next so that a batch's
/// tens of MB are allocated (and faulted in) once per forward pass rather than per layer.
#[derive(Default)]
pub struct BlockScratch {
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    inner: Vec<f32>,
}

/// Self-attention + feed-forward, each followed by residual add and LayerNorm.
pub struct EncoderBlock {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: (Vec<f32>, Vec<f32>),
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: (Vec<f32>, Vec<f32>),
}

/// Shape of the blocks of one model.
#[derive(Clone, Copy)]
pub struct BlockShape {
    /// Model width.
    pub hidden: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Attention heads.
    pub heads: usize,
    /// LayerNorm epsilon.
    pub eps: f32,
    /// Feed-forward activation.
    pub act: Activation,
}

impl EncoderBlock {
    /// Bytes held by the block's weights.
    pub fn weight_bytes(&self) -> usize {
        let norms = 2 * (self.attn_norm.0.len() + self.ffn_norm.0.len()) * 4;
        [&self.qkv, &self.attn_out, &self.ffn_in, &self.ffn_out]
            .iter()
            .map(|l| l.memory_bytes())
            .sum::<usize>()
            + norms
    }

    /// Loads one block; the Q, K and V projections are fused into one matrix.
    ///
    /// With `--precision int8` on CPUs with 8-bit activation products
    /// ([`eight_bit_activations`]), the layers whose inputs are bounded take them: QKV and
    /// the feed-forward's first layer (a LayerNorm's output) and the attention output (means
    /// of V's rows). The feed-forward's second layer, whose GELU inputs have heavy tails,
    /// multiplies bf16 pairs instead: 8-bit activations there cost all-MiniLM-L6-v2 cosine
    /// 0.9975 with f32, and pairs run at the rate of int8 weights with 16-bit activations
    /// without widening every weight byte.
    pub fn load(w: &WeightFile, names: &BlockNames, s: BlockShape) -> Result<Self> {
        let p = &names.prefix;
        let h = s.hidden;
        let input_norm = w.layer_norm(&names.input_norm, h)?;
        let attn_norm = w.layer_norm(&format!("{p}.{}", names.attn_norm), h)?;
        let qkv_names = [names.q, names.k, names.v].map(|n| format!("{p}.{n}"));
        let ffn_out = format!("{p}.{}", names.ffn.output);
        let ffn_out = if w.precision() == Precision::Int8 && eight_bit_activations() {
            w.linear_as(&ffn_out, h, s.intermediate, WeightFormat::Bf16)?
        } else {
            w.linear(&ffn_out, h, s.intermediate)?
        };
        Ok(Self {
            // Q and K smoothed together (they only meet in q·k), V on its own: a third less
            // quantizing than all three apart, for about the same quality (all-MiniLM-L6-v2,
            // `bench/int8_activation_numerics.py`: worst cosine with f32 0.99935 vs 0.99942);
            // one smoothing for all three: 0.9986.
            qkv: w.linear_after_norm(&qkv_names, (h, h), &input_norm, &[2 * h, h])?,
            attn_out: w.linear_after_attention(&format!("{p}.{}", names.o), h, h)?,
            ffn_in: w.linear_after_norm(
                &[format!("{p}.{}", names.ffn.input)],
                (s.intermediate, h),
                &attn_norm,
                &[s.intermediate],
            )?,
            ffn_out,
            attn_norm,
            ffn_norm: w.layer_norm(&format!("{p}.{}", names.ffn.norm), h)?,
        })
    }

    /// Runs the block in place on `h` (`[tokens, hidden]`), with `scratch` for its
    /// intermediate activations.
    pub fn forward(
        &self,
        h: &mut [f32],
        sequences: &[Range<usize>],
        s: BlockShape,
        options: ScoreOptions<'_>,
        scratch: &mut BlockScratch,
    ) {
        let BlockScratch { qkv, ctx, inner } = scratch;
        let tokens = h.len() / s.hidden;
        let head_dim = s.hidden / s.heads;
        self.qkv.forward_into(h, tokens, qkv);
        let layout = QkvLayout {
            heads: s.heads,
            kv_heads: s.heads,
            head_dim,
        };
        let scale = 1.0 / (head_dim as f32).sqrt();
        // bf16 layers' attention multiplies bf16 pairs too, where the CPU does (worst cosine
        // with f32 0.99997 either way on all-MiniLM-L6-v2). Not int8's: its 8-bit
        // activations use most of the quality budget (worst cosine 0.9993 of the 0.999
        // allowed; attention in pairs took another 1e-4), so its attention stays f32.
        let options = ScoreOptions {
            pairs: self.qkv.format() == WeightFormat::Bf16,
            ..options
        };
        attention_into(qkv, sequences, layout, scale, options, ctx);
        self.attn_out.forward_add(ctx, tokens, h);
        ops::layer_norm_rows(h, &self.attn_norm.0, &self.attn_norm.1, s.eps);
        feed_forward_add(&self.ffn_in, &self.ffn_out, s.act, h, tokens, inner);
        ops::layer_norm_rows(h, &self.ffn_norm.0, &self.ffn_norm.1, s.eps);
    }
}

/// The gated feed-forward's middle (SwiGLU and its kin): from each token's `[gate | up]` row
/// of `gate_up` (`[tokens, 2 * width]`), `act(gate) * up` into `out` (`[tokens, width]`).
pub fn gated(gate_up: &[f32], width: usize, act: Activation, out: &mut [f32]) {
    out.par_chunks_mut(width)
        .zip(gate_up.par_chunks(2 * width))
        .for_each(|(o, gu)| {
            o.copy_from_slice(&gu[..width]);
            ops::activate_in_place(o, act);
            o.iter_mut().zip(&gu[width..]).for_each(|(a, u)| *a *= u);
        });
}

/// Adds row `index` of a `[rows, width]` f32 table to `out` (position and segment tables,
/// which are always f32: see [`crate::weights::Table`] for token tables).
pub fn add_row(
    table: &[f32],
    width: usize,
    index: usize,
    out: &mut [f32],
    what: &str,
) -> Result<()> {
    let row = table
        .get(index * width..(index + 1) * width)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "{what} id {index} is outside the model's table of {} rows",
                table.len() / width.max(1)
            ))
        })?;
    out.iter_mut().zip(row).for_each(|(o, r)| *o += r);
    Ok(())
}
