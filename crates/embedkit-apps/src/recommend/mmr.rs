//! Maximal marginal relevance (Carbonell & Goldstein 1998): trade relevance for variety.

use super::index::{Neighbours, Scored};
use crate::linalg::dot;

/// Picks `k` of `candidates` (scored by relevance) one at a time, each maximizing
/// `lambda * relevance - (1 - lambda) * (highest similarity to an item already picked)`.
/// `lambda = 1` keeps the relevance order; lower values favour variety.
pub fn mmr(index: &dyn Neighbours, candidates: &[Scored], k: usize, lambda: f32) -> Vec<Scored> {
    let mut left: Vec<Scored> = candidates.to_vec();
    let mut picked: Vec<Scored> = Vec::with_capacity(k);
    while picked.len() < k && !left.is_empty() {
        let value = |c: &Scored| {
            let redundancy = picked
                .iter()
                .map(|p| dot(index.vector(p.item), index.vector(c.item)))
                .fold(f32::NEG_INFINITY, f32::max);
            let redundancy = if picked.is_empty() { 0.0 } else { redundancy };
            lambda * c.score - (1.0 - lambda) * redundancy
        };
        let best = (0..left.len())
            .max_by(|&a, &b| value(&left[a]).total_cmp(&value(&left[b])).then(b.cmp(&a)))
            .expect("left is not empty");
        picked.push(left.remove(best));
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::ExactIndex;

    #[test]
    fn low_lambda_prefers_a_different_item_to_a_near_copy() {
        // Items 0 and 1 are near copies, 2 is different and a little less relevant.
        let index = ExactIndex::new(&[vec![1.0, 0.0], vec![0.99, 0.05], vec![0.6, 0.8]]).unwrap();
        let cands = [
            Scored {
                item: 0,
                score: 0.9,
            },
            Scored {
                item: 1,
                score: 0.89,
            },
            Scored {
                item: 2,
                score: 0.7,
            },
        ];
        let ids = |v: Vec<Scored>| v.iter().map(|s| s.item).collect::<Vec<_>>();
        assert_eq!(ids(mmr(&index, &cands, 2, 1.0)), vec![0, 1]);
        assert_eq!(ids(mmr(&index, &cands, 2, 0.5)), vec![0, 2]);
    }
}
