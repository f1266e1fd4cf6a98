//! Command-line arguments (the raw, parsed form; commands resolve them).
//!
//! The rule for where argument structs live: every clap argument struct and enum is under
//! `args/` (this module: [`Cli`], [`Command`] and the groups several commands share; one
//! file per command family for the rest, e.g. [`words`], [`classify`]). `commands/*`
//! import from `args`, never the reverse: an argument type never names anything in
//! `commands`. Default values that belong to a library (trainer settings, options) are
//! read from that library, not written out again here.

pub mod classify;
pub mod cluster;
pub mod distill;
pub mod fasttext;
pub mod image;
pub mod index;
pub mod plot;
pub mod recommend;
pub mod rerank;
pub mod search;
pub mod sentences;
pub mod serve;
pub mod shell;
pub mod vectors;
pub mod words;

pub use sentences::{BenchArgs, EmbedArgs, InfoArgs, SimilarityArgs};
pub use serve::ServeArgs;

use clap::{Args, Parser, Subcommand};

/// Text, words and images into vectors, on the CPU.
#[derive(Debug, Parser)]
#[command(name = "embedkit", version, max_term_width = 100)]
pub struct Cli {
    /// Worker threads for inference (default: one per core).
    #[arg(long, global = true, env = "EMBEDKIT_THREADS")]
    pub threads: Option<usize>,
    /// No progress bar.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Embed texts with a sentence-embedding model.
    Embed(EmbedArgs),
    /// Print the model's similarity matrix of two or more texts.
    Similarity(SimilarityArgs),
    /// Describe a model: architecture, dimensions, max length, pooling, prompts.
    Info(InfoArgs),
    /// Measure embedding throughput (and batch-1 latency) on a file of texts.
    Bench(BenchArgs),
    /// Serve models over an OpenAI-compatible HTTP API.
    Serve(ServeArgs),
    /// Embed or classify images with ResNet, VGG or MobileNetV2 (torchvision weights).
    Image(image::ImageArgs),
    /// Add documents to a vector store collection (chunked, embedded), list or delete them.
    Index(index::IndexArgs),
    /// Search a vector store collection with a question.
    Search(search::SearchArgs),
    /// Order documents by a cross-encoder's (reranker's) score for a query.
    Rerank(rerank::RerankArgs),
    /// Distill a model into a static one (Model2Vec format): a vector per token, no transformer.
    Distill(distill::DistillArgs),
    /// Train, evaluate and apply classifiers on embeddings.
    Classify(classify::ClassifyArgs),
    /// Recommend similar items, or items for users from their interactions.
    Recommend(recommend::RecommendArgs),
    /// Cluster items with k-means++ (k given or chosen by silhouette).
    Cluster(cluster::ClusterArgs),
    /// Draw a 2-D map of the vectors (PCA or t-SNE) as PNG / SVG.
    Plot(plot::PlotArgs),
    /// Word vectors (word2vec, GloVe, fastText): query, evaluate, train.
    Words(words::WordsArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a folder.
    Man(shell::ManArgs),
}

/// Which model, and how to prompt it.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model folder, hub id such as sentence-transformers/all-MiniLM-L6-v2, or
    /// openai:NAME for a remote OpenAI-compatible API.
    #[arg(long, short)]
    pub model: String,
    /// Base URL of the API for openai:NAME models (default: OPENAI_BASE_URL, else OpenAI's).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Environment variable holding the API key for openai:NAME models.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Use the model's named prompt (e.g. query).
    #[arg(long, conflicts_with = "prompt")]
    pub prompt_name: Option<String>,
    /// Put this literal text in front of every input.
    #[arg(long, conflicts_with = "instruction")]
    pub prompt: Option<String>,
    /// Task instruction for instruction-tuned models (Qwen3-Embedding, E5-instruct): inputs
    /// become "Instruct: TEXT\nQuery:" followed by the text. Use it for queries only.
    #[arg(long, conflicts_with = "prompt_name")]
    pub instruction: Option<String>,
    /// Keep the first N dimensions and re-normalize (Matryoshka).
    #[arg(long)]
    pub dimensions: Option<usize>,
    /// L2-normalize the embeddings even if the model does not.
    #[arg(long)]
    pub normalize: bool,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Token limit per input (default: the model's max_seq_length); longer inputs are cut.
    #[arg(long)]
    pub max_length: Option<usize>,
    /// How to keep the weights: auto (as stored: bf16 files stay bf16), f32, bf16 (half the
    /// memory; products still accumulate in f32) or int8 (dynamic quantization, approximate).
    #[arg(long, default_value = "auto")]
    pub precision: embedkit_models::Precision,
}
