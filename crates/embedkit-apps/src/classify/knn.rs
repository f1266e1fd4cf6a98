//! k nearest neighbours by cosine similarity.

use crate::linalg::{dot, unit};
use serde::{Deserialize, Serialize};

/// The training set, as unit vectors with their class indices.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Knn {
    /// Neighbours consulted.
    pub k: usize,
    /// Unit-length training vectors.
    pub vectors: Vec<Vec<f32>>,
    /// Class index of each training vector.
    pub targets: Vec<usize>,
}

impl Knn {
    pub(crate) fn fit(x: &[Vec<f32>], y: &[usize], k: usize) -> Self {
        Self {
            k,
            vectors: x.iter().map(|v| unit(v)).collect(),
            targets: y.to_vec(),
        }
    }

    /// Share of the vote of each class among the k most similar training vectors, each vote
    /// weighted by its (positive) cosine similarity so that closer neighbours count more.
    pub fn votes(&self, x: &[f32], classes: usize) -> Vec<f64> {
        let q = unit(x);
        let mut sims: Vec<(f32, usize)> = self
            .vectors
            .iter()
            .zip(&self.targets)
            .map(|(v, &t)| (dot(&q, v), t))
            .collect();
        let k = self.k.min(sims.len());
        sims.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        let mut votes = vec![0.0; classes];
        for &(s, t) in &sims[..k] {
            // A tiny floor keeps orthogonal or opposite neighbours from voting zero.
            votes[t] += f64::from(s.max(0.0)) + 1e-6;
        }
        let total: f64 = votes.iter().sum();
        votes.iter_mut().for_each(|v| *v /= total);
        votes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_class_wins() {
        let x = vec![vec![1.0_f32, 0.0], vec![0.9, 0.2], vec![0.0, 1.0]];
        let knn = Knn::fit(&x, &[0, 0, 1], 3);
        let v = knn.votes(&[1.0, 0.1], 2);
        assert!(v[0] > v[1], "{v:?}");
        let knn = Knn::fit(&x, &[0, 0, 1], 1);
        assert_eq!(knn.votes(&[0.1, 1.0], 2)[1], 1.0);
    }
}
