//! Stratified k-fold cross-validation.
//!
//! The folds are scikit-learn's `StratifiedKFold(k)` (without shuffling) exactly, so that
//! scores compare with `cross_val_score(..., cv=k)` on the same examples: each class's
//! examples, in file order, are cut into consecutive blocks, one per fold, with the block sizes
//! scikit-learn allocates (every fold gets the class mix of the whole set). With a seed, each
//! class's examples are shuffled first.

use super::{Classifier, ClassifierKind, Evaluation};
use crate::error::{invalid, Result};
use crate::rng::Rng;

/// The result of cross-validation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrossValidation {
    /// Folds used.
    pub folds: usize,
    /// Accuracy on each held-out fold.
    pub fold_accuracies: Vec<f64>,
    /// Scores of all held-out predictions together.
    pub overall: Evaluation,
}

/// Fold of each example (class indices in `targets`).
pub fn stratified_folds(targets: &[usize], k: usize, seed: Option<u64>) -> Result<Vec<usize>> {
    if k < 2 {
        return Err(invalid("cross-validation needs at least 2 folds"));
    }
    if k > targets.len() {
        return Err(invalid(format!(
            "{k} folds but only {} examples",
            targets.len()
        )));
    }
    // scikit-learn numbers classes by first appearance, sorts those numbers, and gives fold f
    // as many examples of class c as there are in every k-th place of the sorted list from f.
    let mut first_seen: Vec<usize> = Vec::new();
    for &t in targets {
        if !first_seen.contains(&t) {
            first_seen.push(t);
        }
    }
    let mut order: Vec<usize> = targets
        .iter()
        .map(|t| first_seen.iter().position(|c| c == t).expect("seen"))
        .collect();
    order.sort_unstable();
    let mut rng = seed.map(Rng::new);
    let mut folds = vec![0; targets.len()];
    for (encoded, &class) in first_seen.iter().enumerate() {
        let mut members: Vec<usize> = (0..targets.len())
            .filter(|&i| targets[i] == class)
            .collect();
        if let Some(rng) = rng.as_mut() {
            rng.shuffle(&mut members);
        }
        let mut members = members.into_iter();
        for f in 0..k {
            let share = order
                .iter()
                .skip(f)
                .step_by(k)
                .filter(|&&c| c == encoded)
                .count();
            for i in members.by_ref().take(share) {
                folds[i] = f;
            }
        }
    }
    Ok(folds)
}

/// Fold of each example given by its label (class names, any strings): each distinct label
/// is a class, numbered as it first appears, and [`stratified_folds`] deals the folds.
pub fn stratified_folds_by_label<S: AsRef<str>>(
    labels: &[S],
    k: usize,
    seed: Option<u64>,
) -> Result<Vec<usize>> {
    let mut names: Vec<&str> = Vec::new();
    let targets: Vec<usize> = labels
        .iter()
        .map(|l| {
            let l = l.as_ref();
            names.iter().position(|n| *n == l).unwrap_or_else(|| {
                names.push(l);
                names.len() - 1
            })
        })
        .collect();
    stratified_folds(&targets, k, seed)
}

/// Trains on k-1 folds and predicts the held-out one, k times.
pub fn cross_validate(
    kind: &ClassifierKind,
    vectors: &[Vec<f32>],
    labels: &[String],
    k: usize,
    seed: Option<u64>,
) -> Result<CrossValidation> {
    let (names, targets) = super::index_labels(labels)?;
    let folds = stratified_folds(&targets, k, seed)?;
    let mut predicted = vec![0; targets.len()];
    let mut fold_accuracies = Vec::with_capacity(k);
    for fold in 0..k {
        let (train, test): (Vec<usize>, Vec<usize>) =
            (0..targets.len()).partition(|&i| folds[i] != fold);
        let train_x: Vec<Vec<f32>> = train.iter().map(|&i| vectors[i].clone()).collect();
        let train_y: Vec<String> = train.iter().map(|&i| labels[i].clone()).collect();
        let model = Classifier::train(kind, &train_x, &train_y)
            .map_err(|e| invalid(format!("fold {}: {e} (use fewer folds)", fold + 1)))?;
        let mut right = 0;
        for &i in &test {
            let p = model.predict(&vectors[i]);
            // The fold's model may know fewer classes than the whole set: map back by name.
            let global = names
                .iter()
                .position(|n| *n == model.labels[p])
                .expect("a fold's labels are a subset of all labels");
            predicted[i] = global;
            right += usize::from(global == targets[i]);
        }
        fold_accuracies.push(right as f64 / test.len().max(1) as f64);
    }
    Ok(CrossValidation {
        folds: k,
        fold_accuracies,
        overall: Evaluation::new(&names, &targets, &predicted),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_match_scikit_learn_stratified_k_fold() {
        // Fold of each example from scikit-learn 1.9's StratifiedKFold(3).split(X, y).
        let folds = stratified_folds(&[0, 0, 0, 1, 1, 1, 0], 3, None).unwrap();
        assert_eq!(folds, vec![0, 0, 1, 0, 1, 2, 2]);
        let y = [1, 1, 0, 2, 0, 2, 2, 1, 0, 0, 2];
        let folds = stratified_folds(&y, 3, None).unwrap();
        assert_eq!(folds, vec![0, 1, 0, 0, 0, 1, 1, 2, 1, 2, 2]);
        assert!(stratified_folds(&[0, 1], 3, None).is_err());
        let a = stratified_folds(&[0; 10], 2, Some(7)).unwrap();
        assert_eq!(a, stratified_folds(&[0; 10], 2, Some(7)).unwrap());
        assert_eq!(a.iter().filter(|&&f| f == 0).count(), 5);
    }

    #[test]
    fn folds_by_label_are_the_folds_of_the_class_numbers() {
        let y = [1, 1, 0, 2, 0, 2, 2, 1, 0, 0, 2];
        let names = ["b", "c", "a"];
        let labels: Vec<&str> = y.iter().map(|&c| names[c]).collect();
        assert_eq!(
            stratified_folds_by_label(&labels, 3, None).unwrap(),
            stratified_folds(&y, 3, None).unwrap()
        );
        assert_eq!(
            stratified_folds_by_label(&labels, 3, Some(5)).unwrap(),
            stratified_folds(&y, 3, Some(5)).unwrap()
        );
        assert!(stratified_folds_by_label(&["x"], 2, None).is_err());
    }
}
