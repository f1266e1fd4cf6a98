//! Classifiers on embeddings: multinomial logistic regression (L2, L-BFGS) and k-NN,
//! stratified k-fold cross-validation, and saved models that remember the embedding model
//! they need.

mod cv;
mod knn;
mod lbfgs;
mod logistic;
mod metrics;
mod saved;

pub use cv::{cross_validate, stratified_folds, stratified_folds_by_label, CrossValidation};
pub use knn::Knn;
pub use logistic::LogisticRegression;
pub use metrics::{ClassScores, Evaluation};
pub use saved::{SavedClassifier, FORMAT};

use crate::error::{invalid, Result};
use crate::linalg::check_matrix;
use serde::{Deserialize, Serialize};

/// Which classifier to train.
#[derive(Debug, Clone, PartialEq)]
pub enum ClassifierKind {
    /// Logistic regression with inverse regularization strength `c` (scikit-learn's `C`).
    Logistic {
        /// Inverse L2 strength (1.0 is scikit-learn's default).
        c: f64,
    },
    /// Vote of the `k` most similar training examples.
    Knn {
        /// Neighbours.
        k: usize,
    },
}

impl std::fmt::Display for ClassifierKind {
    /// The classifier in words: `logistic regression (C=1)`, `10-NN`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Logistic { c } => write!(f, "logistic regression (C={c})"),
            Self::Knn { k } => write!(f, "{k}-NN"),
        }
    }
}

/// A trained model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Trained {
    /// Logistic regression.
    Logistic(LogisticRegression),
    /// k nearest neighbours.
    Knn(Knn),
}

/// A trained classifier with its class names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classifier {
    /// Class names, sorted; predictions are indices into this.
    pub labels: Vec<String>,
    /// Width of the vectors it takes.
    pub dimensions: usize,
    /// The model.
    pub model: Trained,
}

/// Sorted distinct labels, and each example's index among them; refuses one-class data.
pub(crate) fn index_labels(labels: &[String]) -> Result<(Vec<String>, Vec<usize>)> {
    let mut names = labels.to_vec();
    names.sort();
    names.dedup();
    match names.len() {
        0 => return Err(invalid("no examples to train on")),
        1 => {
            return Err(invalid(format!(
                "only one class (\"{}\") in {} examples: a classifier needs at least two",
                names[0],
                labels.len()
            )))
        }
        _ => {}
    }
    let targets = labels
        .iter()
        .map(|l| names.binary_search(l).expect("every label is in names"))
        .collect();
    Ok((names, targets))
}

impl Classifier {
    /// Trains on `vectors` (finite, all the same width) with their `labels`.
    pub fn train(kind: &ClassifierKind, vectors: &[Vec<f32>], labels: &[String]) -> Result<Self> {
        let dimensions = check_matrix(vectors, "training vectors")?;
        if vectors.len() != labels.len() {
            return Err(invalid(format!(
                "{} vectors but {} labels",
                vectors.len(),
                labels.len()
            )));
        }
        let (names, targets) = index_labels(labels)?;
        let model = match *kind {
            ClassifierKind::Logistic { c } => {
                if !(c > 0.0 && c.is_finite()) {
                    return Err(invalid(format!("C must be a positive number, not {c}")));
                }
                Trained::Logistic(LogisticRegression::fit(vectors, &targets, names.len(), c))
            }
            ClassifierKind::Knn { k } => {
                if k == 0 || k > vectors.len() {
                    return Err(invalid(format!(
                        "k = {k}, but k-NN needs 1 <= k <= {} (the training examples)",
                        vectors.len()
                    )));
                }
                Trained::Knn(Knn::fit(vectors, &targets, k))
            }
        };
        Ok(Self {
            labels: names,
            dimensions,
            model,
        })
    }

    /// Score of each class for one vector (probabilities, or k-NN vote shares).
    pub fn scores(&self, x: &[f32]) -> Vec<f64> {
        match &self.model {
            Trained::Logistic(m) => m.probabilities(x),
            Trained::Knn(m) => m.votes(x, self.labels.len()),
        }
    }

    /// Index (into `labels`) of the best class.
    pub fn predict(&self, x: &[f32]) -> usize {
        let s = self.scores(x);
        (0..s.len())
            .max_by(|a, b| s[*a].total_cmp(&s[*b]).then(b.cmp(a)))
            .unwrap_or(0)
    }

    /// Checks vectors about to be classified: right width, finite.
    pub fn check_input(&self, vectors: &[Vec<f32>]) -> Result<()> {
        let dim = check_matrix(vectors, "vectors to classify")?;
        if dim != self.dimensions {
            return Err(invalid(format!(
                "the classifier takes {}-dimensional vectors, these have {dim} (was it trained \
                 with another model?)",
                self.dimensions
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_described_in_words() {
        assert_eq!(
            ClassifierKind::Logistic { c: 1.0 }.to_string(),
            "logistic regression (C=1)"
        );
        assert_eq!(
            ClassifierKind::Logistic { c: 0.25 }.to_string(),
            "logistic regression (C=0.25)"
        );
        assert_eq!(ClassifierKind::Knn { k: 10 }.to_string(), "10-NN");
    }

    #[test]
    fn one_class_data_and_bad_k_are_refused_with_a_reason() {
        let x = vec![vec![1.0_f32, 0.0], vec![0.0, 1.0]];
        let same = vec!["pos".to_string(), "pos".to_string()];
        let err = Classifier::train(&ClassifierKind::Logistic { c: 1.0 }, &x, &same)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only one class"), "{err}");
        let two = vec!["a".to_string(), "b".to_string()];
        let err = Classifier::train(&ClassifierKind::Knn { k: 5 }, &x, &two)
            .unwrap_err()
            .to_string();
        assert!(err.contains("k = 5"), "{err}");
        let nan = vec![vec![1.0_f32, f32::NAN], vec![0.0, 1.0]];
        let err = Classifier::train(&ClassifierKind::Logistic { c: 1.0 }, &nan, &two)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("non-finite") && err.contains("vector 0"),
            "{err}"
        );
    }
}
