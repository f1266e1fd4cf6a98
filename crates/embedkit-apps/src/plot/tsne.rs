//! t-SNE (van der Maaten & Hinton 2008), exact: O(n²) per iteration, meant for up to a few
//! thousand points (word maps, a few hundred documents).
//!
//! Own code: the exact algorithm is ~100 lines, and the Rust crates for it are unmaintained
//! or pull in large linear-algebra stacks. Defaults follow scikit-learn's `TSNE`: perplexity
//! 30, early exaggeration 12 for 250 iterations, learning rate `max(n / 48, 50)`, momentum
//! 0.5 then 0.8 with per-coordinate gains, and a PCA start scaled to a standard deviation of
//! 1e-4, which makes the result deterministic.

use super::pca::pca;
use crate::error::{invalid, Result};
use crate::linalg::squared_distance;

/// t-SNE parameters.
#[derive(Debug, Clone)]
pub struct TsneOptions {
    /// Effective number of neighbours; lowered to (n - 1) / 3 for small sets.
    pub perplexity: f64,
    /// Gradient steps.
    pub iterations: usize,
}

impl Default for TsneOptions {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            iterations: 1000,
        }
    }
}

/// Largest number of points: the exact method keeps n² affinities.
pub const MAX_POINTS: usize = 10_000;

/// Joint probabilities p_ij from Gaussian neighbourhoods of the given perplexity.
fn affinities(vectors: &[Vec<f32>], perplexity: f64) -> Vec<f64> {
    let n = vectors.len();
    let mut p = vec![0.0; n * n];
    let target = perplexity.ln();
    let mut d = vec![0.0; n];
    for i in 0..n {
        for j in 0..n {
            d[j] = f64::from(squared_distance(&vectors[i], &vectors[j]));
        }
        let (mut beta, mut lo, mut hi) = (1.0, 0.0, f64::INFINITY);
        let row = &mut p[i * n..(i + 1) * n];
        for _ in 0..100 {
            let mut sum = 0.0;
            for j in 0..n {
                row[j] = if j == i { 0.0 } else { (-d[j] * beta).exp() };
                sum += row[j];
            }
            let sum = sum.max(1e-300);
            let weighted: f64 = (0..n).map(|j| d[j] * row[j]).sum::<f64>() / sum;
            let entropy = sum.ln() + beta * weighted;
            row.iter_mut().for_each(|v| *v /= sum);
            let diff = entropy - target;
            if diff.abs() < 1e-5 {
                break;
            }
            if diff > 0.0 {
                lo = beta;
                beta = if hi.is_finite() {
                    (beta + hi) / 2.0
                } else {
                    beta * 2.0
                };
            } else {
                hi = beta;
                beta = (beta + lo) / 2.0;
            }
        }
    }
    let mut joint = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            joint[i * n + j] = ((p[i * n + j] + p[j * n + i]) / (2.0 * n as f64)).max(1e-12);
        }
    }
    joint
}

/// Embeds `vectors` in 2-D, keeping neighbours together.
pub fn tsne(vectors: &[Vec<f32>], options: &TsneOptions) -> Result<Vec<[f64; 2]>> {
    let n = vectors.len();
    if n < 4 {
        return Err(invalid(format!(
            "t-SNE needs at least 4 points, got {n} (use PCA)"
        )));
    }
    if n > MAX_POINTS {
        return Err(invalid(format!(
            "t-SNE here is exact and takes at most {MAX_POINTS} points, got {n} (use PCA)"
        )));
    }
    if options.perplexity.is_nan() || options.perplexity <= 0.0 {
        return Err(invalid("perplexity must be positive"));
    }
    let perplexity = options.perplexity.min((n - 1) as f64 / 3.0);
    let p = affinities(vectors, perplexity);

    let start = pca(vectors)?;
    let std = {
        let mean = start.iter().map(|r| r[0]).sum::<f64>() / n as f64;
        (start.iter().map(|r| (r[0] - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
    };
    let scale = if std > 0.0 { 1e-4 / std } else { 1.0 };
    let mut y: Vec<[f64; 2]> = start.iter().map(|r| [r[0] * scale, r[1] * scale]).collect();

    let rate = (n as f64 / 48.0).max(50.0);
    let mut velocity = vec![[0.0; 2]; n];
    let mut gains = vec![[1.0; 2]; n];
    let mut num = vec![0.0; n * n];
    for iter in 0..options.iterations {
        let (exaggeration, momentum) = if iter < 250 { (12.0, 0.5) } else { (1.0, 0.8) };
        let mut total = 0.0;
        for i in 0..n {
            for j in 0..n {
                let q = if i == j {
                    0.0
                } else {
                    let (dx, dy) = (y[i][0] - y[j][0], y[i][1] - y[j][1]);
                    1.0 / (1.0 + dx * dx + dy * dy)
                };
                num[i * n + j] = q;
                total += q;
            }
        }
        for i in 0..n {
            let mut grad = [0.0; 2];
            for j in 0..n {
                let w = num[i * n + j];
                let f = (exaggeration * p[i * n + j] - w / total) * w;
                grad[0] += 4.0 * f * (y[i][0] - y[j][0]);
                grad[1] += 4.0 * f * (y[i][1] - y[j][1]);
            }
            for c in 0..2 {
                let same_sign = (grad[c] > 0.0) == (velocity[i][c] > 0.0);
                gains[i][c] = if same_sign {
                    gains[i][c] * 0.8
                } else {
                    gains[i][c] + 0.2
                };
                gains[i][c] = f64::max(gains[i][c], 0.01);
                velocity[i][c] = momentum * velocity[i][c] - rate * gains[i][c] * grad[c];
            }
        }
        for (yi, vi) in y.iter_mut().zip(&velocity) {
            yi[0] += vi[0];
            yi[1] += vi[1];
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_separated_groups_apart() {
        // Three noisy groups of 15 points in 10-D; in 2-D, almost every point's nearest
        // neighbour is in its own group.
        let mut rng = crate::rng::Rng::new(1);
        let mut v = Vec::new();
        for g in 0..3 {
            for _ in 0..15 {
                let mut p: Vec<f32> = (0..10).map(|_| rng.next_f64() as f32).collect();
                p[g] += 4.0;
                v.push(p);
            }
        }
        let y = tsne(
            &v,
            &TsneOptions {
                perplexity: 10.0,
                iterations: 500,
            },
        )
        .unwrap();
        let d = |i: usize, j: usize| (y[i][0] - y[j][0]).powi(2) + (y[i][1] - y[j][1]).powi(2);
        let right = (0..v.len())
            .filter(|&i| {
                let nearest = (0..v.len())
                    .filter(|&j| j != i)
                    .min_by(|&a, &b| d(i, a).total_cmp(&d(i, b)))
                    .unwrap();
                nearest / 15 == i / 15
            })
            .count();
        assert!(right >= 43, "{right}/45");
        assert!(tsne(&v[..3], &TsneOptions::default()).is_err());
    }
}
