//! Accuracy, per-class precision / recall / F1, macro-F1 and the confusion matrix.

use serde::Serialize;

/// Scores of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassScores {
    /// The class.
    pub label: String,
    /// Share of the predictions of this class that are right (0 when never predicted).
    pub precision: f64,
    /// Share of this class's examples found.
    pub recall: f64,
    /// Harmonic mean of the two (0 when both are 0).
    pub f1: f64,
    /// Examples of this class.
    pub support: usize,
}

/// How predictions compare with the truth.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Class names, in the order of the matrix.
    pub labels: Vec<String>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Share of right predictions.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Per-class scores.
    pub classes: Vec<ClassScores>,
}

impl Evaluation {
    /// Scores predicted class indices against true ones.
    pub fn new(labels: &[String], truth: &[usize], predicted: &[usize]) -> Self {
        let k = labels.len();
        let mut confusion = vec![vec![0usize; k]; k];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let total = truth.len().max(1) as f64;
        let right: usize = (0..k).map(|i| confusion[i][i]).sum();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let classes: Vec<ClassScores> = (0..k)
            .map(|c| {
                let predicted_c: usize = (0..k).map(|t| confusion[t][c]).sum();
                let support: usize = confusion[c].iter().sum();
                let precision = ratio(confusion[c][c], predicted_c);
                let recall = ratio(confusion[c][c], support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassScores {
                    label: labels[c].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        Self {
            labels: labels.to_vec(),
            accuracy: right as f64 / total,
            macro_f1: classes.iter().map(|c| c.f1).sum::<f64>() / k.max(1) as f64,
            confusion,
            classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_scores() {
        // truth a a a b b c, predicted a a b b c c
        // a: P 2/2 R 2/3 F1 .8; b: P 1/2 R 1/2 F1 .5; c: P 1/2 R 1/1 F1 2/3
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let e = Evaluation::new(&labels, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        assert_eq!(
            e.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((e.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((e.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }
}
