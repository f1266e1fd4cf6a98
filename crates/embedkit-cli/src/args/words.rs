//! Arguments of `embedkit words`: querying, evaluating and training word vectors
//! (`words supervised` is in [`super::fasttext`]).

use clap::{Args, Subcommand};
use embedkit_words::eval;
use embedkit_words::format::Format;
use embedkit_words::tokenizer::Tokenizer;
use embedkit_words::train::fasttext::FastTextConfig;
use embedkit_words::train::glove::GloveConfig;
use embedkit_words::train::word2vec::Word2VecConfig;
use std::path::PathBuf;
use std::sync::LazyLock;

/// The trainers' own defaults (`Default` of their configs): the defaults of the arguments
/// below are read from them, and the commands fall back to them for the arguments whose
/// default depends on the algorithm.
pub static WORD2VEC: LazyLock<Word2VecConfig> = LazyLock::new(Word2VecConfig::default);
/// GloVe's defaults (see [`WORD2VEC`]).
pub static GLOVE: LazyLock<GloveConfig> = LazyLock::new(GloveConfig::default);
/// fastText's defaults (see [`WORD2VEC`]).
pub static FASTTEXT: LazyLock<FastTextConfig> = LazyLock::new(FastTextConfig::default);
/// Bytes in a megabyte of `--memory`.
pub const MEGABYTE: f64 = 1e6;

#[derive(Debug, Args)]
pub struct WordsArgs {
    #[command(subcommand)]
    pub command: WordsCommand,
}

/// The vectors to query.
#[derive(Debug, Args)]
pub struct VectorsArgs {
    /// Word vectors: word2vec text or binary, GloVe text, fastText .vec or .bin (detected).
    #[arg(long, short)]
    pub vectors: PathBuf,
    /// Force the format: word2vec, binary, glove or fasttext.
    #[arg(long)]
    pub format: Option<Format>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenizerName {
    /// Words are separated by whitespace; text is used as it is.
    #[default]
    Whitespace,
    /// Chinese word segmentation (jieba's dictionary and HMM, as Python's jieba.cut).
    Jieba,
}

impl From<TokenizerName> for Tokenizer {
    fn from(t: TokenizerName) -> Self {
        match t {
            TokenizerName::Whitespace => Tokenizer::Whitespace,
            TokenizerName::Jieba => Tokenizer::Jieba,
        }
    }
}

/// How query arguments become words of the vectors.
#[derive(Debug, Args)]
pub struct QueryTokenizer {
    /// Segment query arguments that are not words of the vectors (jieba for Chinese, as the
    /// vectors were trained). `similar` searches near the mean of a phrase's words; the other
    /// queries take one word per argument and reject a phrase, naming its words.
    #[arg(long, value_enum, default_value_t)]
    pub tokenizer: TokenizerName,
}

#[derive(Debug, Subcommand)]
pub enum WordsCommand {
    /// The nearest words by cosine similarity.
    Similar {
        #[command(flatten)]
        v: VectorsArgs,
        #[command(flatten)]
        t: QueryTokenizer,
        word: String,
        /// How many neighbours.
        #[arg(short, default_value_t = 10)]
        k: usize,
    },
    /// A is to B as C is to ? (3CosAdd: nearest to B - A + C; --cosmul for 3CosMul).
    Analogy {
        #[command(flatten)]
        v: VectorsArgs,
        #[command(flatten)]
        t: QueryTokenizer,
        a: String,
        b: String,
        c: String,
        #[arg(short, default_value_t = 10)]
        k: usize,
        /// Use 3CosMul (Levy & Goldberg) instead of 3CosAdd.
        #[arg(long)]
        cosmul: bool,
    },
    /// Cosine similarity of two words.
    Similarity {
        #[command(flatten)]
        v: VectorsArgs,
        #[command(flatten)]
        t: QueryTokenizer,
        word1: String,
        word2: String,
    },
    /// The word that does not fit with the others.
    DoesntMatch {
        #[command(flatten)]
        v: VectorsArgs,
        #[command(flatten)]
        t: QueryTokenizer,
        #[arg(required = true, num_args = 2..)]
        words: Vec<String>,
    },
    /// Print a word's vector (unseen words too, with a fastText .bin).
    Vector {
        #[command(flatten)]
        v: VectorsArgs,
        #[command(flatten)]
        t: QueryTokenizer,
        word: String,
    },
    /// Train word vectors on a text file (streamed; whitespace-separated words, or Chinese
    /// text segmented with --tokenizer jieba).
    Train(TrainArgs),
    /// fastText text classification: train, predict, test, cross-validate.
    Supervised(super::fasttext::SupervisedArgs),
    /// WordSim-353 / SimLex-999 Spearman and Google analogy accuracy.
    Eval {
        #[command(flatten)]
        v: VectorsArgs,
        /// Tab-separated word-pair files (`word1 word2 score`), e.g. wordsim353.tsv.
        #[arg(long = "pairs")]
        pairs: Vec<PathBuf>,
        /// Google analogy questions (questions-words.txt).
        #[arg(long)]
        analogies: Option<PathBuf>,
        /// Search only the N most frequent words (word2vec's compute-accuracy uses 30000).
        #[arg(long, default_value_t = eval::ANALOGY_RESTRICT)]
        restrict: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Algo {
    Word2vec,
    Glove,
    /// fastText: word2vec over character n-grams; writes .bin and .vec.
    Fasttext,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// Predict each context word from the centre word.
    Skipgram,
    /// Predict the centre word from the mean of its context.
    Cbow,
}

impl Arch {
    /// The architecture of a config's `skip_gram`.
    pub fn of(skip_gram: bool) -> Self {
        if skip_gram {
            Self::Skipgram
        } else {
            Self::Cbow
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training algorithm.
    #[arg(long, value_enum, default_value_t = Algo::Word2vec)]
    pub algo: Algo,
    /// Training text (whitespace-separated words; a line is a sentence).
    #[arg(long)]
    pub corpus: PathBuf,
    /// How to split the corpus into words: whitespace, or jieba for Chinese (the corpus is
    /// segmented once, on all threads, into a temporary copy that training streams).
    #[arg(long, value_enum, default_value_t)]
    pub tokenizer: TokenizerName,
    /// Where to write the vectors.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Output format: word2vec (text), binary or glove (default: binary for .bin, else text).
    #[arg(long)]
    pub format: Option<Format>,
    /// word2vec / fastText architecture.
    #[arg(long, value_enum, default_value_t = Arch::of(WORD2VEC.skip_gram))]
    pub model: Arch,
    /// Vector dimension (default 100 word2vec, 50 GloVe).
    #[arg(long)]
    pub dim: Option<usize>,
    /// Maximum context distance (default 5 word2vec, shrunk at random per word; 15 GloVe).
    #[arg(long)]
    pub window: Option<usize>,
    /// Negative samples (0: none).
    #[arg(long, default_value_t = WORD2VEC.negative)]
    pub negative: usize,
    /// Hierarchical softmax.
    #[arg(long)]
    pub hs: bool,
    /// Subsampling threshold for frequent words (0: off; default 1e-3 word2vec, 1e-4 fastText).
    #[arg(long)]
    pub sample: Option<f64>,
    /// Ignore words rarer than this.
    #[arg(long, default_value_t = WORD2VEC.min_count)]
    pub min_count: u64,
    /// Passes over the corpus (default 5 word2vec, 25 GloVe).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Starting learning rate (default 0.025 skip-gram, 0.05 CBOW and GloVe).
    #[arg(long)]
    pub alpha: Option<f32>,
    /// GloVe: megabytes the whole run may hold (counting and shuffling spill to temporary
    /// files, training streams the shuffled pairs from disk).
    #[arg(long, default_value_t = GLOVE.memory as f64 / MEGABYTE)]
    pub memory: f64,
    /// GloVe: cut-off of the weighting f(x) = min(1, (x/x_max)^power).
    #[arg(long, default_value_t = GLOVE.x_max)]
    pub x_max: f64,
    /// GloVe: exponent of the weighting.
    #[arg(long, default_value_t = GLOVE.alpha)]
    pub power: f64,
    /// fastText: shortest character n-gram.
    #[arg(long, default_value_t = FASTTEXT.minn)]
    pub minn: usize,
    /// fastText: longest character n-gram (0: none).
    #[arg(long, default_value_t = FASTTEXT.maxn)]
    pub maxn: usize,
    /// fastText: hash buckets for the character n-grams.
    #[arg(long, default_value_t = FASTTEXT.bucket)]
    pub bucket: usize,
    /// Random seed (with --threads 1 the run is reproducible).
    #[arg(long, default_value_t = WORD2VEC.seed)]
    pub seed: u64,
}
