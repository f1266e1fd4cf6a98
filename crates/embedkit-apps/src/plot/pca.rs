//! Principal component analysis to two dimensions.

use crate::error::Result;
use crate::linalg::check_matrix;

/// Coordinates of each vector on the first two principal components (power iteration with
/// deflation on the centred data; each axis's sign is fixed so that its largest loading is
/// positive, so results do not flip between runs).
pub fn pca(vectors: &[Vec<f32>]) -> Result<Vec<[f64; 2]>> {
    let dim = check_matrix(vectors, "vectors to project")?;
    let n = vectors.len();
    let mean: Vec<f64> = (0..dim)
        .map(|j| vectors.iter().map(|v| f64::from(v[j])).sum::<f64>() / n as f64)
        .collect();
    let x: Vec<Vec<f64>> = vectors
        .iter()
        .map(|v| {
            v.iter()
                .zip(&mean)
                .map(|(a, m)| f64::from(*a) - m)
                .collect()
        })
        .collect();
    let mut components: Vec<Vec<f64>> = Vec::new();
    for c in 0..2 {
        // A fixed, generic start vector: deterministic and not orthogonal to any axis.
        let mut v: Vec<f64> = (0..dim)
            .map(|j| 1.0 + ((j * 7 + c * 3) % 11) as f64 * 0.1)
            .collect();
        for _ in 0..500 {
            let xv: Vec<f64> = x.iter().map(|r| dot(r, &v)).collect();
            let mut next = vec![0.0; dim];
            for (r, s) in x.iter().zip(&xv) {
                next.iter_mut().zip(r).for_each(|(o, a)| *o += a * s);
            }
            for prev in &components {
                let p = dot(&next, prev);
                next.iter_mut().zip(prev).for_each(|(o, a)| *o -= p * a);
            }
            let norm = dot(&next, &next).sqrt();
            if norm == 0.0 {
                break; // no variance left in this direction
            }
            next.iter_mut().for_each(|o| *o /= norm);
            let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = next;
            if change < 1e-12 {
                break;
            }
        }
        let largest = v
            .iter()
            .cloned()
            .fold(0.0f64, |m, a| if a.abs() > m.abs() { a } else { m });
        if largest < 0.0 {
            v.iter_mut().for_each(|a| *a = -*a);
        }
        components.push(v);
    }
    Ok(x.iter()
        .map(|r| [dot(r, &components[0]), dot(r, &components[1])])
        .collect())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_axes_of_a_stretched_cloud() {
        // Points spread 10x more along (1, 1, 0) than along (1, -1, 0), none along z.
        let mut v = Vec::new();
        for (a, b) in [
            (-2.0, 0.1),
            (-1.0, -0.2),
            (0.0, 0.15),
            (1.0, -0.1),
            (2.0, 0.05),
        ] {
            let (a, b): (f32, f32) = (a * 5.0, b);
            v.push(vec![a + b, a - b, 0.0]);
        }
        let p = pca(&v).unwrap();
        // First coordinate = projection on (1,1,0)/√2 of the centred points = a·√2.
        for (row, a) in p.iter().zip([-10.0, -5.0, 0.0, 5.0, 10.0]) {
            assert!((row[0] - a * 2f64.sqrt()).abs() < 1e-4, "{row:?}");
        }
    }
}
