//! Operations on single embedding vectors.

/// Euclidean norm.
pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Scales `v` to unit length. A zero vector stays zero (as `torch.nn.functional.normalize`,
/// which divides by `max(norm, 1e-12)`).
pub fn normalize(v: &mut [f32]) {
    let n = norm(v).max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
}

/// Matryoshka truncation: keeps the first `dims` values, then re-normalizes to unit length.
/// A `dims` at or above the current length only normalizes.
pub fn truncate_and_normalize(v: &mut Vec<f32>, dims: usize) {
    v.truncate(dims);
    normalize(v);
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = norm(a) * norm(b);
    if n == 0.0 {
        0.0
    } else {
        dot / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_zero_vectors_finite() {
        let mut z = vec![0.0; 4];
        normalize(&mut z);
        assert_eq!(z, vec![0.0; 4]);
    }

    #[test]
    fn cosine_of_orthogonal_and_parallel_vectors() {
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 2.0]), 0.0);
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-7);
    }
}
