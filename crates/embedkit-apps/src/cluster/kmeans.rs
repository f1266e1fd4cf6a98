//! Lloyd's k-means with k-means++ seeding (Arthur & Vassilvitskii 2007), best of several
//! seeded starts.

use crate::error::{invalid, Result};
use crate::linalg::{check_matrix, squared_distance};
use crate::rng::Rng;

/// How to run k-means.
#[derive(Debug, Clone)]
pub struct KMeansOptions {
    /// Clusters.
    pub k: usize,
    /// Seed of the k-means++ draws.
    pub seed: u64,
    /// Independent starts; the one with the lowest inertia is kept.
    pub starts: usize,
    /// Lloyd iterations per start (it stops earlier when nothing moves).
    pub max_iter: usize,
}

impl Default for KMeansOptions {
    fn default() -> Self {
        Self {
            k: 8,
            seed: 0,
            starts: 10,
            max_iter: 300,
        }
    }
}

/// A partition of the vectors.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Clustering {
    /// Cluster of each vector.
    pub assignments: Vec<usize>,
    /// Cluster centres.
    pub centroids: Vec<Vec<f32>>,
    /// Sum of squared distances of the vectors to their centres.
    pub inertia: f64,
}

/// Clusters `vectors` into `options.k` groups.
pub fn kmeans(vectors: &[Vec<f32>], options: &KMeansOptions) -> Result<Clustering> {
    check_matrix(vectors, "vectors to cluster")?;
    let n = vectors.len();
    if options.k == 0 || options.k > n {
        return Err(invalid(format!(
            "k = {} but there are {n} items: k must be between 1 and the number of items",
            options.k
        )));
    }
    let mut rng = Rng::new(options.seed);
    let mut best: Option<Clustering> = None;
    for _ in 0..options.starts.max(1) {
        let run = lloyd(
            vectors,
            seed_centroids(vectors, options.k, &mut rng),
            options,
        );
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    Ok(best.expect("at least one start"))
}

/// k-means++: each next centre is drawn with probability proportional to its squared
/// distance from the nearest centre so far.
fn seed_centroids(vectors: &[Vec<f32>], k: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
    let mut centroids = vec![vectors[rng.below(vectors.len())].clone()];
    let mut nearest: Vec<f64> = vectors
        .iter()
        .map(|v| f64::from(squared_distance(v, &centroids[0])))
        .collect();
    while centroids.len() < k {
        let total: f64 = nearest.iter().sum();
        let pick = if total > 0.0 {
            let mut target = rng.next_f64() * total;
            nearest
                .iter()
                .position(|&d| {
                    target -= d;
                    target < 0.0
                })
                .unwrap_or(vectors.len() - 1)
        } else {
            // Every point sits on a centre already (duplicates): any point will do.
            rng.below(vectors.len())
        };
        centroids.push(vectors[pick].clone());
        for (d, v) in nearest.iter_mut().zip(vectors) {
            *d = d.min(f64::from(squared_distance(v, &vectors[pick])));
        }
    }
    centroids
}

fn nearest_centroid(v: &[f32], centroids: &[Vec<f32>]) -> (usize, f32) {
    centroids
        .iter()
        .enumerate()
        .map(|(c, m)| (c, squared_distance(v, m)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .expect("k >= 1")
}

fn lloyd(
    vectors: &[Vec<f32>],
    mut centroids: Vec<Vec<f32>>,
    options: &KMeansOptions,
) -> Clustering {
    let dim = vectors[0].len();
    let k = centroids.len();
    let mut assignments = vec![usize::MAX; vectors.len()];
    for _ in 0..options.max_iter {
        let mut moved = false;
        for (a, v) in assignments.iter_mut().zip(vectors) {
            let (c, _) = nearest_centroid(v, &centroids);
            moved |= *a != c;
            *a = c;
        }
        if !moved {
            break;
        }
        let mut sums = vec![vec![0.0f64; dim]; k];
        let mut counts = vec![0usize; k];
        for (&a, v) in assignments.iter().zip(vectors) {
            counts[a] += 1;
            sums[a]
                .iter_mut()
                .zip(v)
                .for_each(|(s, x)| *s += f64::from(*x));
        }
        for c in 0..k {
            if counts[c] == 0 {
                // An empty cluster restarts at the point farthest from its centre.
                let far = (0..vectors.len())
                    .max_by(|&a, &b| {
                        squared_distance(&vectors[a], &centroids[assignments[a]])
                            .total_cmp(&squared_distance(&vectors[b], &centroids[assignments[b]]))
                    })
                    .expect("vectors are not empty");
                centroids[c] = vectors[far].clone();
                assignments[far] = c;
            } else {
                centroids[c] = sums[c]
                    .iter()
                    .map(|s| (s / counts[c] as f64) as f32)
                    .collect();
            }
        }
    }
    let inertia = vectors
        .iter()
        .zip(&assignments)
        .map(|(v, &a)| f64::from(squared_distance(v, &centroids[a])))
        .sum();
    Clustering {
        assignments,
        centroids,
        inertia,
    }
}

/// The `m` members of each cluster closest to its centre, closest first.
pub fn central_members(vectors: &[Vec<f32>], clustering: &Clustering, m: usize) -> Vec<Vec<usize>> {
    (0..clustering.centroids.len())
        .map(|c| {
            let mut members: Vec<(f32, usize)> = (0..vectors.len())
                .filter(|&i| clustering.assignments[i] == c)
                .map(|i| (squared_distance(&vectors[i], &clustering.centroids[c]), i))
                .collect();
            members.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            members.into_iter().take(m).map(|(_, i)| i).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<Vec<f32>> {
        let mut v = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for (dx, dy) in [(0.1, 0.0), (-0.1, 0.1), (0.0, -0.2), (0.2, 0.2)] {
                v.push(vec![cx + dx, cy + dy]);
            }
        }
        v
    }

    #[test]
    fn finds_three_separated_blobs_and_their_centres() {
        let v = blobs();
        let c = kmeans(
            &v,
            &KMeansOptions {
                k: 3,
                ..Default::default()
            },
        )
        .unwrap();
        for blob in 0..3 {
            let first = c.assignments[blob * 4];
            assert!(c.assignments[blob * 4..blob * 4 + 4]
                .iter()
                .all(|&a| a == first));
        }
        // Centre of blob 0: mean of the four offsets = (0.05, 0.025).
        let centre = &c.centroids[c.assignments[0]];
        assert!((centre[0] - 0.05).abs() < 1e-6 && (centre[1] - 0.025).abs() < 1e-6);
        let central = central_members(&v, &c, 1);
        assert!(central.iter().all(|m| m.len() == 1));
    }

    #[test]
    fn the_same_seed_gives_the_same_clusters_and_bad_k_is_refused() {
        let v = blobs();
        let o = KMeansOptions {
            k: 4,
            seed: 3,
            ..Default::default()
        };
        assert_eq!(kmeans(&v, &o).unwrap(), kmeans(&v, &o).unwrap());
        let err = kmeans(&v, &KMeansOptions { k: 13, ..o.clone() }).unwrap_err();
        assert!(err.to_string().contains("k = 13"), "{err}");
        assert!(kmeans(&v, &KMeansOptions { k: 0, ..o }).is_err());
    }
}
