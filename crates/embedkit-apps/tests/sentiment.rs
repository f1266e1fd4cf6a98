//! Acceptance: sentiment on pang_lee_polarity.cor with all-MiniLM-L6-v2, 5-fold
//! cross-validation, against scikit-learn's LogisticRegression on sentence-transformers
//! embeddings with the same folds (`bench/apps_reference.py`: `cross_val_score`'s default
//! StratifiedKFold(5) gives 0.730, per fold 0.8 0.7 0.625 0.725 0.8).

mod common;

use embedkit_apps::classify::{cross_validate, Classifier, ClassifierKind, SavedClassifier};
use embedkit_apps::data::parse_fasttext;
use embedkit_apps::{vectors_for, TextEmbedding};

const SKLEARN_ACCURACY: f64 = 0.73;
const SKLEARN_FOLDS: [f64; 5] = [0.8, 0.7, 0.625, 0.725, 0.8];

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn polarity_logistic_regression_matches_scikit_learn() {
    let model = common::minilm();
    let items = parse_fasttext(&common::latin1("pang_lee_polarity.cor"), "polarity").unwrap();
    assert_eq!(items.len(), 200);
    let vectors = vectors_for(&TextEmbedding::new(&model, "all-MiniLM-L6-v2"), &items).unwrap();
    let labels: Vec<String> = items.iter().map(|i| i.label.clone().unwrap()).collect();

    let cv = cross_validate(
        &ClassifierKind::Logistic { c: 1.0 },
        &vectors,
        &labels,
        5,
        None,
    )
    .unwrap();
    let acc = cv.overall.accuracy;
    eprintln!(
        "logistic: accuracy {acc:.3} macro-F1 {:.3} folds {:?}",
        cv.overall.macro_f1, cv.fold_accuracies
    );
    assert!(
        (acc - SKLEARN_ACCURACY).abs() <= 0.03,
        "accuracy {acc} vs scikit-learn {SKLEARN_ACCURACY}"
    );
    // Same folds, same optimum: each fold within one of its 40 examples of scikit-learn's.
    for (ours, theirs) in cv.fold_accuracies.iter().zip(SKLEARN_FOLDS) {
        assert!(
            (ours - theirs).abs() <= 1.0 / 40.0 + 1e-9,
            "{:?}",
            cv.fold_accuracies
        );
    }
    assert_eq!(cv.overall.labels, ["neg", "pos"]);
    let total: usize = cv.overall.confusion.iter().flatten().sum();
    assert_eq!(total, 200);

    // k-NN is a weaker but real classifier on the same vectors: clearly above chance.
    let knn = cross_validate(&ClassifierKind::Knn { k: 10 }, &vectors, &labels, 5, None).unwrap();
    eprintln!("knn: accuracy {:.3}", knn.overall.accuracy);
    assert!(knn.overall.accuracy > 0.6, "{}", knn.overall.accuracy);

    // A saved model predicts what the trained one does.
    let clf = Classifier::train(&ClassifierKind::Logistic { c: 1.0 }, &vectors, &labels).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    SavedClassifier::new("all-MiniLM-L6-v2", clf.clone())
        .save(&path)
        .unwrap();
    let back = SavedClassifier::load(&path).unwrap();
    assert_eq!(back.embedding_model, "all-MiniLM-L6-v2");
    assert_eq!(back.classifier.dimensions, 384);
    for v in &vectors {
        assert_eq!(back.classifier.predict(v), clf.predict(v));
    }
}
