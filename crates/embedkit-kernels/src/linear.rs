//! Dense layers: `y = x · Wᵀ + b` on row-major token matrices.
//!
//! The weight is packed for the GEMM microkernel once, here at construction, so a forward
//! call only packs its activations; one call covers every token of a packed batch (no
//! padding rows are ever multiplied) and is threaded over rayon by the crate's `gemm`
//! module.

use crate::gemm::{self, Dest, PackedWeight};

/// A linear layer in PyTorch's layout: `weight` is `[out_features, in_features]`, row-major.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: PackedWeight,
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
            weight: PackedWeight::new(&weight, out_features, in_features),
            bias,
            in_features,
            out_features,
        })
    }

    /// Stacks layers that read the same input into one (e.g. Q, K and V into a fused QKV
    /// projection): the output columns are the layers' outputs side by side.
    ///
    /// The parts' weights are unpacked and the result packed again (load time only).
    pub fn concat(parts: &[Linear]) -> Result<Self, ShapeError> {
        let in_features = parts.first().map_or(0, |p| p.in_features);
        if let Some(p) = parts.iter().find(|p| p.in_features != in_features) {
            return Err(ShapeError {
                expected: format!("{in_features} input features in every part"),
                found: format!("{}", p.in_features),
            });
        }
        let out_features = parts.iter().map(|p| p.out_features).sum();
        let weight = parts.iter().flat_map(|p| p.weight.to_row_major()).collect();
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
        self.check_shapes(x, rows);
        let len = rows * self.out_features;
        let mut out = Vec::with_capacity(len);
        gemm::matmul(
            x,
            rows,
            &self.weight,
            self.bias.as_deref(),
            Dest::Overwrite(&mut out.spare_capacity_mut()[..len]),
        );
        // SAFETY: `Dest::Overwrite` initializes every one of the `len` elements it is given,
        // which are the first `len` of `out`'s capacity.
        unsafe { out.set_len(len) };
        out
    }

    /// Adds `x · Wᵀ + b` to `out` (the residual connection fused into the product).
    pub fn forward_add(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        self.check_shapes(x, rows);
        assert_eq!(
            out.len(),
            rows * self.out_features,
            "linear output is not rows x out_features"
        );
        gemm::matmul(
            x,
            rows,
            &self.weight,
            self.bias.as_deref(),
            Dest::Accumulate(out),
        );
    }

    fn check_shapes(&self, x: &[f32], rows: usize) {
        assert_eq!(
            x.len(),
            rows * self.in_features,
            "linear input is not rows x in_features"
        );
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
