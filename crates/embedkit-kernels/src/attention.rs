//! Scaled dot-product attention over packed sequences (no padding, so no padding mask).
//!
//! The input is the fused QKV projection of every token of a batch, `[tokens, q | k | v]`;
//! sequences are consecutive row ranges. Each (sequence, head) pair is an independent task,
//! which keeps both cores busy even for a single short query.

use crate::ops;
use rayon::prelude::*;
use std::ops::Range;

/// Where the heads sit inside a fused QKV row.
#[derive(Debug, Clone, Copy)]
pub struct QkvLayout {
    /// Query heads.
    pub heads: usize,
    /// Key/value heads (equal to `heads` without grouped-query attention).
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl QkvLayout {
    /// Width of one fused QKV row.
    pub fn row_width(&self) -> usize {
        (self.heads + 2 * self.kv_heads) * self.head_dim
    }
    /// Width of the attention output row.
    pub fn out_width(&self) -> usize {
        self.heads * self.head_dim
    }
}

/// Extra terms of the attention scores.
#[derive(Clone, Copy, Default)]
pub struct ScoreOptions<'a> {
    /// Only attend to earlier positions (decoder models).
    pub causal: bool,
    /// Relative position bias: for a sequence of length `L`, a function of (head, j − i)
    /// given as `bias(head, L)` returning `2L − 1` values indexed by `j − i + L − 1`.
    pub relative_bias: Option<&'a (dyn Fn(usize, usize) -> Vec<f32> + Sync)>,
}

/// Computes attention for every sequence; returns `[tokens, heads · head_dim]`.
pub fn attention(
    qkv: &[f32],
    sequences: &[Range<usize>],
    layout: QkvLayout,
    scale: f32,
    options: ScoreOptions<'_>,
) -> Vec<f32> {
    let width = layout.row_width();
    let d = layout.head_dim;
    let tokens = sequences.last().map_or(0, |r| r.end);
    assert!(
        qkv.len() >= tokens * width,
        "qkv is shorter than the sequences"
    );
    let group = layout.heads / layout.kv_heads.max(1);
    let tasks: Vec<(usize, usize)> = (0..sequences.len())
        .flat_map(|s| (0..layout.heads).map(move |h| (s, h)))
        .collect();
    let blocks: Vec<Vec<f32>> = tasks
        .par_iter()
        .map(|&(s, h)| {
            let seq = sequences[s].clone();
            let len = seq.len();
            let kvh = h / group.max(1);
            let q_col = h * d;
            let k_col = layout.heads * d + kvh * d;
            let v_col = (layout.heads + layout.kv_heads) * d + kvh * d;
            let row = |i: usize, col: usize| {
                let start = (seq.start + i) * width + col;
                &qkv[start..start + d]
            };
            let bias = options.relative_bias.map(|f| f(h, len));
            let mut out = vec![0.0_f32; len * d];
            let mut scores = vec![0.0_f32; len];
            for i in 0..len {
                let visible = if options.causal { i + 1 } else { len };
                let q = row(i, q_col);
                for (j, sc) in scores[..visible].iter_mut().enumerate() {
                    *sc = ops::dot(q, row(j, k_col)) * scale;
                    if let Some(b) = &bias {
                        *sc += b[j + len - 1 - i];
                    }
                }
                ops::softmax_in_place(&mut scores[..visible]);
                let o = &mut out[i * d..(i + 1) * d];
                for (j, p) in scores[..visible].iter().enumerate() {
                    ops::axpy(*p, row(j, v_col), o);
                }
            }
            out
        })
        .collect();
    let out_width = layout.out_width();
    let mut ctx = vec![0.0_f32; tokens * out_width];
    for (&(s, h), block) in tasks.iter().zip(&blocks) {
        for (i, src) in block.chunks_exact(d).enumerate() {
            let start = (sequences[s].start + i) * out_width + h * d;
            ctx[start..start + d].copy_from_slice(src);
        }
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_head_matches_hand_computed_attention() {
        // Two tokens, one head, head_dim 1: q=k=v=x. Scores [[1,2],[2,4]] (scale 1).
        let qkv = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        let layout = QkvLayout {
            heads: 1,
            kv_heads: 1,
            head_dim: 1,
        };
        let out = attention(
            &qkv,
            std::slice::from_ref(&(0..2)),
            layout,
            1.0,
            ScoreOptions::default(),
        );
        let p0 = 1.0 / (1.0 + 1.0_f32.exp()); // softmax([1,2])[0]
        let p1 = 1.0 / (1.0 + 2.0_f32.exp()); // softmax([2,4])[0]
        assert!((out[0] - (p0 + 2.0 * (1.0 - p0))).abs() < 1e-6);
        assert!((out[1] - (p1 + 2.0 * (1.0 - p1))).abs() < 1e-6);
        let causal = ScoreOptions {
            causal: true,
            ..Default::default()
        };
        let out = attention(&qkv, std::slice::from_ref(&(0..2)), layout, 1.0, causal);
        assert_eq!(out[0], 1.0, "first token sees only itself");
    }

    #[test]
    fn sequences_do_not_see_each_other() {
        let layout = QkvLayout {
            heads: 1,
            kv_heads: 1,
            head_dim: 1,
        };
        let qkv = [1.0, 1.0, 5.0, 1.0, 1.0, -3.0];
        let out = attention(&qkv, &[0..1, 1..2], layout, 1.0, ScoreOptions::default());
        assert_eq!(out, vec![5.0, -3.0]);
    }
}
