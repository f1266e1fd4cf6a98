//! Dense layers: `y = x · Wᵀ + b` on row-major token matrices, through the `gemm` crate.
//!
//! `gemm` selects its AVX2 / AVX-512 microkernel at runtime and threads over rayon, so one
//! call covers every token of a packed batch (no padding rows are ever multiplied).

use gemm::{gemm, Parallelism};

/// A linear layer in PyTorch's layout: `weight` is `[out_features, in_features]`, row-major.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    in_features: usize,
    out_features: usize,
}

/// Shape mismatch found when building a [`Linear`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// What was expected, in words.
    pub expected: String,
    /// What was found.
    pub found: String,
}

impl Linear {
    /// Builds a layer, checking that `weight` holds `out_features × in_features` values and the
    /// bias (if any) `out_features`.
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        out_features: usize,
        in_features: usize,
    ) -> Result<Self, ShapeError> {
        if weight.len() != out_features * in_features {
            return Err(ShapeError {
                expected: format!("{out_features}x{in_features} weight"),
                found: format!("{} values", weight.len()),
            });
        }
        if let Some(b) = &bias {
            if b.len() != out_features {
                return Err(ShapeError {
                    expected: format!("{out_features} bias values"),
                    found: format!("{}", b.len()),
                });
            }
        }
        Ok(Self {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// Stacks layers that read the same input into one (e.g. Q, K and V into a fused QKV
    /// projection): the output columns are the layers' outputs side by side.
    pub fn concat(parts: &[Linear]) -> Result<Self, ShapeError> {
        let in_features = parts.first().map_or(0, |p| p.in_features);
        if let Some(p) = parts.iter().find(|p| p.in_features != in_features) {
            return Err(ShapeError {
                expected: format!("{in_features} input features in every part"),
                found: format!("{}", p.in_features),
            });
        }
        let out_features = parts.iter().map(|p| p.out_features).sum();
        let weight = parts
            .iter()
            .flat_map(|p| p.weight.iter().copied())
            .collect();
        let bias = if parts.iter().any(|p| p.bias.is_some()) {
            Some(
                parts
                    .iter()
                    .flat_map(|p| match &p.bias {
                        Some(b) => b.clone(),
                        None => vec![0.0; p.out_features],
                    })
                    .collect(),
            )
        } else {
            None
        };
        Self::new(weight, bias, out_features, in_features)
    }

    /// Input width.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Returns `x · Wᵀ + b` for `x` of `rows × in_features`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * self.out_features];
        self.forward_into(x, rows, &mut out, false);
        out
    }

    /// Adds `x · Wᵀ + b` to `out` (the residual connection fused into the product).
    pub fn forward_add(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        self.forward_into(x, rows, out, true);
    }

    fn forward_into(&self, x: &[f32], rows: usize, out: &mut [f32], accumulate: bool) {
        let (k, n) = (self.in_features, self.out_features);
        assert_eq!(x.len(), rows * k, "linear input is not rows x in_features");
        assert_eq!(
            out.len(),
            rows * n,
            "linear output is not rows x out_features"
        );
        if rows == 0 {
            return;
        }
        let mut read_dst = accumulate;
        if let Some(bias) = &self.bias {
            for row in out.chunks_exact_mut(n) {
                if accumulate {
                    row.iter_mut().zip(bias).for_each(|(o, b)| *o += b);
                } else {
                    row.copy_from_slice(bias);
                }
            }
            read_dst = true;
        }
        let threads = rayon::current_num_threads();
        let parallelism = if threads > 1 && rows * k * n >= 1 << 16 {
            Parallelism::Rayon(threads)
        } else {
            Parallelism::None
        };
        // SAFETY: the asserts above prove every index gemm touches is inside `x`, `out` and
        // `self.weight`: dst is rows×n row-major, lhs rows×k row-major, and rhs is Wᵀ (k×n)
        // read through W's [n, k] row-major storage (row stride 1, column stride k).
        unsafe {
            gemm(
                rows,
                n,
                k,
                out.as_mut_ptr(),
                1,
                n as isize,
                read_dst,
                x.as_ptr(),
                1,
                k as isize,
                self.weight.as_ptr(),
                k as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_matches_hand_computed_product() {
        // W = [[1,2],[3,4],[5,6]] (3 out, 2 in), b = [0.5, -1, 0]
        let l = Linear::new(
            vec![1., 2., 3., 4., 5., 6.],
            Some(vec![0.5, -1.0, 0.0]),
            3,
            2,
        )
        .unwrap();
        let y = l.forward(&[1.0, 1.0, 2.0, -1.0], 2);
        assert_eq!(y, vec![3.5, 6.0, 11.0, 0.5, 1.0, 4.0]);
        let mut acc = vec![1.0; 6];
        l.forward_add(&[1.0, 1.0, 2.0, -1.0], 2, &mut acc);
        assert_eq!(acc, vec![4.5, 7.0, 12.0, 1.5, 2.0, 5.0]);
    }

    #[test]
    fn concat_puts_outputs_side_by_side() {
        let a = Linear::new(vec![1., 0.], None, 1, 2).unwrap();
        let b = Linear::new(vec![0., 1., 1., 1.], Some(vec![1., 2.]), 2, 2).unwrap();
        let ab = Linear::concat(&[a, b]).unwrap();
        assert_eq!(ab.forward(&[3.0, 4.0], 1), vec![3.0, 5.0, 9.0]);
    }

    #[test]
    fn new_rejects_wrong_shapes() {
        assert!(Linear::new(vec![0.0; 5], None, 3, 2).is_err());
        assert!(Linear::new(vec![0.0; 6], Some(vec![0.0; 2]), 3, 2).is_err());
    }
}
