//! Pooling: token vectors of one sequence → one sentence vector, as sentence-transformers'
//! `Pooling` module computes it.

use std::ops::Range;

/// One pooling strategy (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolingMode {
    /// The first token (`[CLS]`), as BGE.
    Cls,
    /// Average of the token vectors.
    Mean,
    /// Element-wise maximum.
    Max,
    /// Sum divided by the square root of the token count.
    MeanSqrtLen,
    /// Mean weighted by position (1, 2, 3...), as SGPT.
    WeightedMean,
    /// The last real token, as decoder models (Qwen3-Embedding).
    LastToken,
}

impl PoolingMode {
    /// The name sentence-transformers 6 writes as `pooling_mode`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cls => "cls",
            Self::Mean => "mean",
            Self::Max => "max",
            Self::MeanSqrtLen => "mean_sqrt_len_tokens",
            Self::WeightedMean => "weightedmean",
            Self::LastToken => "lasttoken",
        }
    }
}

/// The pooling module: one or more modes, their results concatenated in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pooling {
    /// Modes, concatenated in this order.
    pub modes: Vec<PoolingMode>,
    /// Width of the token vectors.
    pub dimension: usize,
    /// Whether prompt tokens take part in pooling (they always take part in attention).
    pub include_prompt: bool,
}

impl Pooling {
    /// Width of the pooled vector.
    pub fn output_dimension(&self) -> usize {
        self.modes.len() * self.dimension
    }

    /// Pools one sequence. `hidden` holds all token rows of a packed batch (`dimension` wide),
    /// `rows` the rows of this sequence, and `prompt_tokens` how many leading tokens are the
    /// prompt (sentence-transformers counts the leading special token too).
    pub fn pool(&self, hidden: &[f32], rows: Range<usize>, prompt_tokens: usize) -> Vec<f32> {
        let d = self.dimension;
        let row = |t: usize| &hidden[t * d..(t + 1) * d];
        let skip = if self.include_prompt {
            0
        } else {
            prompt_tokens
        };
        let pooled_rows = (rows.start + skip).min(rows.end)..rows.end;
        let mut out = Vec::with_capacity(self.output_dimension());
        for mode in &self.modes {
            match mode {
                PoolingMode::Cls => out.extend_from_slice(row(rows.start)),
                PoolingMode::LastToken => match pooled_rows.clone().last() {
                    Some(t) => out.extend_from_slice(row(t)),
                    None => out.extend(std::iter::repeat_n(0.0, d)),
                },
                PoolingMode::Max => {
                    // sentence-transformers fills masked positions with -1e9 before the max.
                    let mut m = vec![-1e9_f32; d];
                    for t in pooled_rows.clone() {
                        m.iter_mut().zip(row(t)).for_each(|(a, b)| *a = a.max(*b));
                    }
                    out.extend(m);
                }
                PoolingMode::Mean | PoolingMode::MeanSqrtLen | PoolingMode::WeightedMean => {
                    let mut sum = vec![0.0_f32; d];
                    let mut weight_total = 0.0_f32;
                    for t in pooled_rows.clone() {
                        let w = if *mode == PoolingMode::WeightedMean {
                            (t - rows.start + 1) as f32
                        } else {
                            1.0
                        };
                        sum.iter_mut().zip(row(t)).for_each(|(a, b)| *a += w * b);
                        weight_total += w;
                    }
                    let divisor = match mode {
                        PoolingMode::MeanSqrtLen => weight_total.sqrt(),
                        _ => weight_total,
                    }
                    .max(1e-9);
                    out.extend(sum.into_iter().map(|v| v / divisor));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pooling(modes: Vec<PoolingMode>, include_prompt: bool) -> Pooling {
        Pooling {
            modes,
            dimension: 2,
            include_prompt,
        }
    }

    // Two sequences packed: rows 0..1 (one token) and 1..4 (three tokens).
    const HIDDEN: [f32; 8] = [9.0, 9.0, 1.0, 2.0, 3.0, -4.0, 5.0, 0.0];

    #[test]
    fn each_mode_matches_hand_computed_values() {
        use PoolingMode::*;
        let p = |m| pooling(vec![m], true).pool(&HIDDEN, 1..4, 0);
        assert_eq!(p(Cls), vec![1.0, 2.0]);
        assert_eq!(p(LastToken), vec![5.0, 0.0]);
        assert_eq!(p(Max), vec![5.0, 2.0]);
        assert_eq!(p(Mean), vec![3.0, -2.0 / 3.0]);
        let s3 = 3f32.sqrt();
        assert_eq!(p(MeanSqrtLen), vec![9.0 / s3, -2.0 / s3]);
        // weights 1,2,3: (1+6+15)/6, (2-8+0)/6
        assert_eq!(p(WeightedMean), vec![22.0 / 6.0, -1.0]);
    }

    #[test]
    fn modes_concatenate_and_prompt_tokens_can_be_excluded() {
        let both = pooling(vec![PoolingMode::Cls, PoolingMode::Mean], true);
        assert_eq!(both.pool(&HIDDEN, 0..1, 0), vec![9.0, 9.0, 9.0, 9.0]);
        let no_prompt = pooling(vec![PoolingMode::Mean], false);
        assert_eq!(no_prompt.pool(&HIDDEN, 1..4, 2), vec![5.0, 0.0]);
    }
}
