//! Normalized discounted cumulative gain.

/// nDCG@k of a list whose items have gains `ranked` (in list order), against the best
/// possible list drawn from `all` (the gains of every candidate). Linear gains and a
/// `log2(rank + 1)` discount, as `sklearn.metrics.ndcg_score`. 0 when no candidate has gain.
pub fn ndcg_at_k(ranked: &[f64], all: &[f64], k: usize) -> f64 {
    let dcg = |gains: &[f64]| -> f64 {
        gains
            .iter()
            .take(k)
            .enumerate()
            .map(|(r, g)| g / ((r + 2) as f64).log2())
            .sum()
    };
    let mut ideal = all.to_vec();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let best = dcg(&ideal);
    if best <= 0.0 {
        0.0
    } else {
        dcg(ranked) / best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_value() {
        // list gains 1, 3 of candidates {3, 2, 1}; k = 2:
        // DCG = 1 + 3/log2(3); IDCG = 3 + 2/log2(3).
        let l3 = 3f64.log2();
        let want = (1.0 + 3.0 / l3) / (3.0 + 2.0 / l3);
        assert!((ndcg_at_k(&[1.0, 3.0], &[3.0, 2.0, 1.0], 2) - want).abs() < 1e-12);
        assert_eq!(ndcg_at_k(&[3.0, 2.0], &[1.0, 2.0, 3.0], 2), 1.0);
        assert_eq!(ndcg_at_k(&[0.0], &[0.0, 0.0], 1), 0.0);
    }
}
