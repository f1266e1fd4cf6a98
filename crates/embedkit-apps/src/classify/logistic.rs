//! Multinomial logistic regression with an L2 penalty, fitted by L-BFGS.
//!
//! The objective is scikit-learn's `LogisticRegression(C=c)` (lbfgs solver): the summed
//! cross-entropy times `c` plus half the squared weights, intercepts not penalized. Two
//! classes use one weight vector (the binary model), more use one per class (softmax), as
//! scikit-learn does, so both give the same optimum.

use super::lbfgs::{minimize, Objective, Options};
use serde::{Deserialize, Serialize};

/// A fitted model: `weights[r]` and `bias[r]` score class `r` (or, for two classes, the one
/// row scores class 1 against class 0).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Inverse regularization strength.
    pub c: f64,
    /// One row per scored class.
    pub weights: Vec<Vec<f32>>,
    /// One intercept per row.
    pub bias: Vec<f32>,
    /// Whether L-BFGS met its tolerance (within 1000 iterations; on embeddings it takes far
    /// fewer). The weights are the best found either way.
    pub converged: bool,
}

struct Problem<'a> {
    x: &'a [Vec<f32>],
    y: &'a [usize],
    classes: usize,
    rows: usize,
    dim: usize,
    c: f64,
}

impl Problem<'_> {
    /// Logits of every class for one sample (class 0 is fixed at 0 in the binary model).
    fn logits(&self, theta: &[f64], x: &[f32], out: &mut [f64]) {
        let stride = self.dim + 1;
        let offset = self.classes - self.rows;
        out[0] = 0.0;
        for r in 0..self.rows {
            let w = &theta[r * stride..(r + 1) * stride];
            let z: f64 = w[..self.dim]
                .iter()
                .zip(x)
                .map(|(a, b)| a * f64::from(*b))
                .sum();
            out[r + offset] = z + w[self.dim];
        }
    }
}

/// Softmax in place; returns log-sum-exp of the inputs.
fn softmax(z: &mut [f64]) -> f64 {
    let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
    let lse = max + sum.ln();
    z.iter_mut().for_each(|v| *v = (*v - lse).exp());
    lse
}

impl Objective for Problem<'_> {
    // Scaled by 1/(c·n) so that tolerances do not depend on the data size.
    fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.x.len() as f64;
        let stride = self.dim + 1;
        let offset = self.classes - self.rows;
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut z = vec![0.0; self.classes];
        let mut loss = 0.0;
        for (x, &y) in self.x.iter().zip(self.y) {
            self.logits(theta, x, &mut z);
            let target = z[y];
            loss += softmax(&mut z) - target;
            for r in 0..self.rows {
                let class = r + offset;
                let err = z[class] - f64::from(u8::from(class == y));
                let g = &mut grad[r * stride..(r + 1) * stride];
                for (gi, xi) in g[..self.dim].iter_mut().zip(x) {
                    *gi += err * f64::from(*xi);
                }
                g[self.dim] += err;
            }
        }
        let penalty_scale = 1.0 / self.c;
        let mut penalty = 0.0;
        for r in 0..self.rows {
            for j in 0..self.dim {
                let w = theta[r * stride + j];
                penalty += w * w;
                grad[r * stride + j] += penalty_scale * w;
            }
        }
        grad.iter_mut().for_each(|g| *g /= n);
        (loss + 0.5 * penalty_scale * penalty) / n
    }
}

impl LogisticRegression {
    /// Fits `classes` classes (at least 2) to rows `x` with class indices `y`.
    pub(crate) fn fit(x: &[Vec<f32>], y: &[usize], classes: usize, c: f64) -> Self {
        let dim = x[0].len();
        let rows = if classes == 2 { 1 } else { classes };
        let problem = Problem {
            x,
            y,
            classes,
            rows,
            dim,
            c,
        };
        let solution = minimize(&problem, vec![0.0; rows * (dim + 1)], &Options::default());
        let params: Vec<Vec<f32>> = solution
            .x
            .chunks(dim + 1)
            .map(|r| r.iter().map(|v| *v as f32).collect())
            .collect();
        Self {
            c,
            weights: params.iter().map(|r| r[..dim].to_vec()).collect(),
            bias: params.iter().map(|r| r[dim]).collect(),
            converged: solution.converged,
        }
    }

    /// Class probabilities for one vector.
    pub fn probabilities(&self, x: &[f32]) -> Vec<f64> {
        let rows = self.weights.len();
        let classes = if rows == 1 { 2 } else { rows };
        let mut z = vec![0.0; classes];
        for (r, (w, b)) in self.weights.iter().zip(&self.bias).enumerate() {
            let s: f64 = w.iter().zip(x).map(|(a, v)| f64::from(a * v)).sum();
            z[r + classes - rows] = s + f64::from(*b);
        }
        softmax(&mut z);
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_fit_matches_the_closed_form_optimum_on_a_symmetric_problem() {
        // Two points x=+1 (class 1) and x=-1 (class 0); by symmetry b=0 and w solves
        // c·2·(1-σ(w)) = w. Check the stationarity condition instead of a stored number.
        let x = vec![vec![1.0_f32], vec![-1.0]];
        let m = LogisticRegression::fit(&x, &[1, 0], 2, 1.0);
        let w = f64::from(m.weights[0][0]);
        let sigma = 1.0 / (1.0 + (-w).exp());
        assert!((2.0 * (1.0 - sigma) - w).abs() < 1e-5, "w = {w}");
        assert!(m.bias[0].abs() < 1e-5);
    }

    #[test]
    fn multinomial_probabilities_sum_to_one_and_separate_the_classes() {
        let x = vec![
            vec![1.0_f32, 0.0],
            vec![0.9, 0.1],
            vec![0.0, 1.0],
            vec![0.1, 0.9],
            vec![-1.0, -1.0],
            vec![-0.9, -1.1],
        ];
        let y = [0, 0, 1, 1, 2, 2];
        let m = LogisticRegression::fit(&x, &y, 3, 10.0);
        for (xi, &yi) in x.iter().zip(&y) {
            let p = m.probabilities(xi);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            let best = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
            assert_eq!(best, yi);
        }
    }
}
