//! Arguments of `embedkit words supervised` (fastText text classification).

use super::words::TokenizerName;
use clap::{Args, Subcommand};
use embedkit_words::tokenizer::Segmenter;
use embedkit_words::train::supervised::SupervisedConfig;
use std::path::PathBuf;
use std::sync::LazyLock;

/// fastText's `supervised` defaults (`SupervisedConfig::default()`), which the arguments
/// below show and take.
pub static SUPERVISED: LazyLock<SupervisedConfig> = LazyLock::new(SupervisedConfig::default);

#[derive(Debug, Args)]
pub struct SupervisedArgs {
    #[command(subcommand)]
    pub command: SupervisedCommand,
}

/// Hyperparameters of supervised training (fastText's defaults).
#[derive(Debug, Args)]
pub struct HyperArgs {
    /// Vector dimension.
    #[arg(long, default_value_t = SUPERVISED.dim)]
    pub dim: usize,
    /// Starting learning rate.
    #[arg(long, default_value_t = SUPERVISED.lr)]
    pub lr: f32,
    /// Passes over the examples.
    #[arg(long, default_value_t = SUPERVISED.epochs)]
    pub epoch: usize,
    /// Longest word n-gram (1: words only).
    #[arg(long, default_value_t = SUPERVISED.word_ngrams)]
    pub word_ngrams: usize,
    /// Hash buckets for word n-grams.
    #[arg(long, default_value_t = SUPERVISED.bucket)]
    pub bucket: usize,
    /// Ignore words rarer than this.
    #[arg(long, default_value_t = SUPERVISED.min_count)]
    pub min_count: u64,
    /// Start from these word vectors (.vec, word2vec or GloVe text; dimension = --dim).
    #[arg(long)]
    pub pretrained: Option<PathBuf>,
    /// Random seed (with --threads 1 the run is reproducible).
    #[arg(long, default_value_t = SUPERVISED.seed)]
    pub seed: u64,
    #[command(flatten)]
    pub tokenizer: TextTokenizer,
}

/// How the text of an example becomes words.
#[derive(Debug, Args)]
pub struct TextTokenizer {
    /// jieba segments Chinese text into words (the model does not record it: give the same
    /// --tokenizer to predict and test).
    #[arg(long, value_enum, default_value_t)]
    pub tokenizer: TokenizerName,
}

impl TextTokenizer {
    pub fn segmenter(&self) -> Option<Segmenter> {
        (self.tokenizer == TokenizerName::Jieba).then(|| Segmenter::new(self.tokenizer.into()))
    }
}

#[derive(Debug, Subcommand)]
pub enum SupervisedCommand {
    /// Train a classifier on `__label__X text` lines; writes a fastText .bin.
    Train {
        /// Training data, one example per line.
        #[arg(long, short)]
        input: PathBuf,
        /// The model file (.bin).
        #[arg(long, short)]
        output: PathBuf,
        #[command(flatten)]
        h: HyperArgs,
    },
    /// The k most probable labels of each text (arguments, else lines of standard input).
    Predict {
        /// A supervised fastText .bin (ours or fastText's).
        #[arg(long, short)]
        model: PathBuf,
        /// Labels per text.
        #[arg(short, default_value_t = 1)]
        k: usize,
        /// Only labels at least this probable.
        #[arg(long, default_value_t = 0.0)]
        threshold: f32,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        tokenizer: TextTokenizer,
        texts: Vec<String>,
    },
    /// Precision and recall at k on labelled lines, as fastText's `test`.
    Test {
        #[arg(long, short)]
        model: PathBuf,
        #[arg(long, short)]
        input: PathBuf,
        #[arg(short, default_value_t = 1)]
        k: usize,
        #[arg(long, default_value_t = 0.0)]
        threshold: f32,
        #[command(flatten)]
        tokenizer: TextTokenizer,
    },
    /// k-fold cross-validation (scikit-learn's StratifiedKFold on the first label): accuracy.
    Cv {
        #[arg(long, short)]
        input: PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        #[command(flatten)]
        h: HyperArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
