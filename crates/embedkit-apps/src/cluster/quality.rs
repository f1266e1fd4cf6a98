//! How good a clustering is: silhouette (no labels needed) and purity (against labels).

use super::kmeans::{kmeans, Clustering, KMeansOptions};
use crate::error::{invalid, Result};
use crate::linalg::squared_distance;

/// Mean silhouette coefficient (Rousseeuw 1987) with Euclidean distances, as scikit-learn's
/// `silhouette_score`: for each point, `(b - a) / max(a, b)` with `a` its mean distance to its
/// own cluster and `b` the smallest mean distance to another cluster; 0 for a point alone in
/// its cluster. Needs 2 ≤ clusters ≤ n - 1.
pub fn silhouette(vectors: &[Vec<f32>], assignments: &[usize]) -> Result<f64> {
    let n = vectors.len();
    let k = assignments.iter().max().map_or(0, |m| m + 1);
    let used = {
        let mut seen = vec![false; k];
        assignments.iter().for_each(|&a| seen[a] = true);
        seen.iter().filter(|s| **s).count()
    };
    if used < 2 || used > n.saturating_sub(1) {
        return Err(invalid(format!(
            "silhouette needs between 2 and n - 1 = {} clusters, got {used}",
            n.saturating_sub(1)
        )));
    }
    let mut sizes = vec![0usize; k];
    assignments.iter().for_each(|&a| sizes[a] += 1);
    let mut total = 0.0;
    let mut sums = vec![0.0f64; k];
    for i in 0..n {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for j in 0..n {
            if i != j {
                sums[assignments[j]] +=
                    f64::from(squared_distance(&vectors[i], &vectors[j])).sqrt();
            }
        }
        let own = assignments[i];
        if sizes[own] == 1 {
            continue;
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && sizes[c] > 0)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let m = a.max(b);
        if m > 0.0 {
            total += (b - a) / m;
        }
    }
    Ok(total / n as f64)
}

/// Share of items whose label is the most common label of their cluster.
pub fn purity(assignments: &[usize], labels: &[String]) -> Result<f64> {
    if assignments.len() != labels.len() || labels.is_empty() {
        return Err(invalid(format!(
            "{} assignments but {} labels",
            assignments.len(),
            labels.len()
        )));
    }
    let mut counts: std::collections::BTreeMap<(usize, &str), usize> = Default::default();
    for (&a, l) in assignments.iter().zip(labels) {
        *counts.entry((a, l.as_str())).or_default() += 1;
    }
    let mut best: std::collections::BTreeMap<usize, usize> = Default::default();
    for ((a, _), c) in counts {
        let b = best.entry(a).or_default();
        *b = (*b).max(c);
    }
    Ok(best.values().sum::<usize>() as f64 / labels.len() as f64)
}

/// The k picked by silhouette, with the clustering and the score of every k tried.
#[derive(Debug, Clone)]
pub struct KChoice {
    /// The best clustering.
    pub clustering: Clustering,
    /// `(k, silhouette)` for each k tried.
    pub scores: Vec<(usize, f64)>,
}

/// Runs k-means for every k in `ks` and keeps the one with the highest silhouette (the
/// smallest k on ties).
pub fn choose_k(
    vectors: &[Vec<f32>],
    ks: std::ops::RangeInclusive<usize>,
    options: &KMeansOptions,
) -> Result<KChoice> {
    let n = vectors.len();
    let (lo, hi) = (*ks.start().max(&2), (*ks.end()).min(n.saturating_sub(1)));
    if lo > hi {
        return Err(invalid(format!(
            "choosing k needs at least 3 items and a range reaching 2..n-1; got {n} items, k in {}..={}",
            ks.start(),
            ks.end()
        )));
    }
    let mut best: Option<(f64, Clustering)> = None;
    let mut scores = Vec::new();
    for k in lo..=hi {
        let c = kmeans(
            vectors,
            &KMeansOptions {
                k,
                ..options.clone()
            },
        )?;
        let s = silhouette(vectors, &c.assignments)?;
        scores.push((k, s));
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, c));
        }
    }
    let (_, clustering) = best.expect("lo <= hi");
    Ok(KChoice { clustering, scores })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silhouette_matches_a_hand_computed_value() {
        // Points 0, 1 | 10, 11. Point 0: a = 1, b = 10.5; point 1: a = 1, b = 9.5; the
        // other two mirror them.
        let v = vec![vec![0.0], vec![1.0], vec![10.0], vec![11.0]];
        let s = silhouette(&v, &[0, 0, 1, 1]).unwrap();
        let want = (9.5 / 10.5 + 8.5 / 9.5) / 2.0;
        assert!((s - want).abs() < 1e-9, "{s} vs {want}");
        assert!(silhouette(&v, &[0, 0, 0, 0]).is_err());
    }

    #[test]
    fn purity_counts_the_majority_label_of_each_cluster() {
        let labels: Vec<String> = ["a", "a", "b", "b", "b"].map(String::from).to_vec();
        assert_eq!(purity(&[0, 0, 0, 1, 1], &labels).unwrap(), 4.0 / 5.0);
    }

    #[test]
    fn choose_k_finds_the_number_of_blobs() {
        let mut v = Vec::new();
        for c in [0.0f32, 5.0, 10.0] {
            for d in [0.0f32, 0.1, 0.2, 0.3] {
                v.push(vec![c + d, c - d]);
            }
        }
        let choice = choose_k(&v, 2..=6, &KMeansOptions::default()).unwrap();
        assert_eq!(choice.clustering.centroids.len(), 3, "{:?}", choice.scores);
        assert!(choose_k(&v[..2], 2..=6, &KMeansOptions::default()).is_err());
    }
}
