//! Arguments of `embedkit classify`.

use super::vectors::SourceArgs;
use clap::{Args, Subcommand, ValueEnum};
use embedkit_apps::classify::ClassifierKind;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    #[command(subcommand)]
    pub action: ClassifyAction,
}

#[derive(Debug, Subcommand)]
pub enum ClassifyAction {
    /// Train on labelled examples and save the classifier as JSON.
    Train(TrainArgs),
    /// k-fold cross-validation: accuracy, macro-F1, per-class scores, confusion matrix.
    Eval(EvalArgs),
    /// Label texts (or items with vectors) with a saved classifier.
    Predict(PredictArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Multinomial logistic regression with L2 (scikit-learn's LogisticRegression).
    Logistic,
    /// Similarity-weighted vote of the k nearest examples.
    Knn,
}

#[derive(Debug, Args)]
pub struct ModelChoice {
    /// Classifier.
    #[arg(long, value_enum, default_value_t = Kind::Logistic)]
    pub classifier: Kind,
    /// Inverse L2 strength of logistic regression (scikit-learn's C).
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Neighbours of k-NN.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
}

impl ModelChoice {
    pub fn kind(&self) -> ClassifierKind {
        match self.classifier {
            Kind::Logistic => ClassifierKind::Logistic { c: self.c },
            Kind::Knn => ClassifierKind::Knn { k: self.k },
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled examples: fastText lines "__label__X text", .csv/.tsv with label,text
    /// columns, or .jsonl with "label" and "text" (or "embedding").
    #[arg(long, short)]
    pub input: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub choice: ModelChoice,
    /// Where to save the classifier (JSON).
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled examples (as for train).
    #[arg(long, short)]
    pub input: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub choice: ModelChoice,
    /// Folds (scikit-learn's StratifiedKFold, in file order).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Shuffle each class with this seed before dealing the folds.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A classifier saved by `classify train`.
    #[arg(long)]
    pub classifier: PathBuf,
    /// Items to label: .jsonl ("text" or "embedding"), or one text per line.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Texts to label.
    pub texts: Vec<String>,
}
