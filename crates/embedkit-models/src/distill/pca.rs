//! Principal component analysis for distillation, as Model2Vec computes it: center, the
//! covariance `Xcᵀ Xc / (n − 1)`, its eigenvectors by decreasing eigenvalue, scores `Xc · V`,
//! and each component's sign chosen so that its largest-magnitude score is positive.
//!
//! The eigenvectors come from cyclic Jacobi rotations on the covariance (in f64). It is the
//! one eigendecomposition of the product, of a matrix as wide as the model (384 to 1024), and
//! Jacobi is exact to rounding for such matrices in seconds; a linear-algebra crate would
//! add its compile time to every build for this one call.

/// `rows` × `cols` row-major `x` projected onto its first `k` principal components:
/// `rows` × `k`, row-major.
pub fn project(x: &[f32], rows: usize, cols: usize, k: usize) -> Vec<f32> {
    let mut mean = vec![0f64; cols];
    for r in x.chunks_exact(cols) {
        mean.iter_mut()
            .zip(r)
            .for_each(|(m, &v)| *m += f64::from(v));
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let centered: Vec<f64> = x
        .chunks_exact(cols)
        .flat_map(|r| r.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m))
        .collect();
    let mut cov = covariance(&centered, rows, cols);
    let vectors = jacobi_eigenvectors(&mut cov, cols);
    // Eigenvalues sit on the diagonal now: order the components by them, largest first.
    let mut order: Vec<usize> = (0..cols).collect();
    order.sort_by(|&a, &b| cov[b * cols + b].total_cmp(&cov[a * cols + a]));
    let mut scores = vec![0f64; rows * k];
    for (c, &j) in order.iter().take(k).enumerate() {
        let mut best = (0f64, 0f64);
        for (r, row) in centered.chunks_exact(cols).enumerate() {
            let s: f64 = row
                .iter()
                .enumerate()
                .map(|(i, v)| v * vectors[i * cols + j])
                .sum();
            scores[r * k + c] = s;
            if s.abs() > best.0 {
                best = (s.abs(), s);
            }
        }
        if best.1 < 0.0 {
            (0..rows).for_each(|r| scores[r * k + c] = -scores[r * k + c]);
        }
    }
    scores.into_iter().map(|v| v as f32).collect()
}

/// `Xcᵀ Xc / (n − 1)`, `cols` × `cols`.
fn covariance(centered: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    use rayon::prelude::*;
    let mut cov = vec![0f64; cols * cols];
    cov.par_chunks_mut(cols).enumerate().for_each(|(i, out)| {
        for row in centered.chunks_exact(cols) {
            let a = row[i];
            if a != 0.0 {
                out.iter_mut().zip(row).for_each(|(o, b)| *o += a * b);
            }
        }
    });
    let scale = 1.0 / (rows.saturating_sub(1).max(1)) as f64;
    cov.iter_mut().for_each(|v| *v *= scale);
    cov
}

/// Diagonalizes the symmetric `n` × `n` matrix `a` in place (its diagonal ends as the
/// eigenvalues) and returns the eigenvectors as the columns of an `n` × `n` matrix.
fn jacobi_eigenvectors(a: &mut [f64], n: usize) -> Vec<f64> {
    let mut v = vec![0f64; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|p| ((p + 1)..n).map(move |q| (p, q)))
            .map(|(p, q)| a[p * n + q] * a[p * n + q])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (the numerically stable choice of t).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvectors_of_a_hand_made_matrix() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1)/√2 and (1, −1)/√2.
        let mut a = vec![2.0, 1.0, 1.0, 2.0];
        let v = jacobi_eigenvectors(&mut a, 2);
        let mut values = [a[0], a[3]];
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12);
        let big = if a[0] > a[3] { 0 } else { 1 };
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((v[big].abs() - h).abs() < 1e-12 && (v[2 + big].abs() - h).abs() < 1e-12);
        assert!(v[big] * v[2 + big] > 0.0, "same signs: (1, 1)");
    }

    #[test]
    fn points_on_a_line_project_onto_it() {
        // Points along (3, 4)/5 with a little spread across it: the first component is the
        // distance along the line from the mean, signed so the largest score is positive.
        let t = [-2.0f32, -1.0, 0.5, 1.0, 1.5];
        let x: Vec<f32> = t
            .iter()
            .enumerate()
            .flat_map(|(i, &t)| {
                let e = if i % 2 == 0 { 0.01 } else { -0.01 };
                [
                    3.0 * t / 5.0 - 4.0 * e / 5.0 + 1.0,
                    4.0 * t / 5.0 + 3.0 * e / 5.0 - 2.0,
                ]
            })
            .collect();
        let p = project(&x, 5, 2, 1);
        let mean_t = t.iter().sum::<f32>() / 5.0;
        // The largest |score| is t = −2's: it comes out positive, so the axis is flipped.
        for (got, &t) in p.iter().zip(&t) {
            assert!(
                (got - -(t - mean_t)).abs() < 1e-4,
                "{got} vs {}",
                -(t - mean_t)
            );
        }
    }
}
