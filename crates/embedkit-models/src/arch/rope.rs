//! Rotary position embeddings in transformers' half-split layout (`rotate_half`: dimension `i`
//! pairs with `i + head_dim / 2`), shared by Qwen3 and NomicBERT.

use std::ops::Range;

/// The frequencies of one model's rotary embeddings.
pub struct Rotary {
    /// `1 / θ^(2i/d)` for each rotary pair.
    inv_freq: Vec<f32>,
}

impl Rotary {
    /// As transformers' default rope: `inv_freq = 1 / θ^(arange(0, d, 2) / d)`, in f32.
    pub fn new(theta: f64, head_dim: usize) -> Self {
        let inv_freq = (0..head_dim / 2)
            .map(|i| (1.0 / theta.powf((2 * i) as f64 / head_dim as f64)) as f32)
            .collect();
        Self { inv_freq }
    }

    /// Rotary `cos` and `sin` of every token (`[tokens, head_dim / 2]` each), at its position
    /// within its sequence (positions are relative, so where a sequence starts does not
    /// matter). Computed once per forward pass and shared by all layers.
    pub fn tables(&self, tokens: usize, sequences: &[Range<usize>]) -> (Vec<f32>, Vec<f32>) {
        let half = self.inv_freq.len();
        let (mut cos, mut sin) = (vec![0.0; tokens * half], vec![0.0; tokens * half]);
        for seq in sequences {
            for (pos, t) in seq.clone().enumerate() {
                for (i, f) in self.inv_freq.iter().enumerate() {
                    let angle = pos as f32 * f;
                    cos[t * half + i] = angle.cos();
                    sin[t * half + i] = angle.sin();
                }
            }
        }
        (cos, sin)
    }
}

/// Rotates one head's vector `v` by one token's `cos` and `sin` (each `v.len() / 2` long).
pub fn rotate(v: &mut [f32], cos: &[f32], sin: &[f32]) {
    let half = v.len() / 2;
    for i in 0..half {
        let (x1, x2) = (v[i], v[i + half]);
        v[i] = x1 * cos[i] - x2 * sin[i];
        v[i + half] = x2 * cos[i] + x1 * sin[i];
    }
}
