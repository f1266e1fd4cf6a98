//! Command-line arguments (the raw, parsed form; commands resolve them).
//!
//! The rule for where argument structs live: every clap argument struct and enum is under
//! `args/` (this module: [`Cli`], [`Command`] and the groups several commands share; one
//! file per command family for the rest, e.g. [`words`], [`classify`]). `commands/*`
//! import from `args`, never the reverse: an argument type never names anything in
//! `commands`. Default values that belong to a library (trainer settings, options) are
//! read from that library, not written out again here.
//!
//! (Still here, to move under the same rule: the model/serve groups below, and `Image`,
//! `Index`, `Search` and `Recommend`, whose structs are still in their command modules.)

pub mod classify;
pub mod cluster;
pub mod fasttext;
pub mod plot;
pub mod vectors;
pub mod words;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// embedkit: text, words and images into vectors.
#[derive(Debug, Parser)]
#[command(name = "embedkit", version, about, max_term_width = 100)]
pub struct Cli {
    /// Worker threads for inference (default: one per core).
    #[arg(long, global = true)]
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
    Image(crate::commands::image::ImageArgs),
    /// Add documents to a vector store collection (chunked, embedded), list or delete them.
    Index(crate::commands::index::IndexArgs),
    /// Search a vector store collection with a question.
    Search(crate::commands::search::SearchArgs),
    /// Train, evaluate and apply classifiers on embeddings.
    Classify(classify::ClassifyArgs),
    /// Recommend similar items, or items for users from their interactions.
    Recommend(crate::commands::recommend::RecommendArgs),
    /// Cluster items with k-means++ (k given or chosen by silhouette).
    Cluster(cluster::ClusterArgs),
    /// Draw a 2-D map of the vectors (PCA or t-SNE) as PNG / SVG.
    Plot(plot::PlotArgs),
    /// Word vectors (word2vec, GloVe, fastText): query, evaluate, train.
    Words(words::WordsArgs),
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

#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Read texts from a file: .json (array of strings), .jsonl (strings or {"text": ...}),
    /// - (stdin, one per line), anything else one text per line.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Write a .json array of arrays, a .npy float32 matrix, or .jsonl lines (default:
    /// JSON lines on stdout).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Texts to embed.
    pub texts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SimilarityArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print the matrix as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also draw the matrix as a heat map (.png or .svg).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Texts to compare (at least two).
    #[arg(required = true, num_args = 2..)]
    pub texts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Model folder, or hub id.
    #[arg(long, short)]
    pub model: String,
    /// Load the weights in this precision (auto, f32, bf16, int8) to see their memory.
    #[arg(long, default_value = "auto")]
    pub precision: embedkit_models::Precision,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Texts, one per line.
    #[arg(long)]
    pub texts: PathBuf,
    /// Timed passes over all texts; the fastest is reported.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Also time this many single-text calls and report p50/p99 latency.
    #[arg(long, default_value_t = 0)]
    pub latency: usize,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Model folder or hub id; repeat to serve several models.
    #[arg(long, short, required = true)]
    pub model: Vec<String>,
    /// Name clients put in the request's "model" field, one per --model in the same order
    /// (default: the folder name, or the hub id).
    #[arg(long)]
    pub served_model_name: Vec<String>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one; the address is printed on stdout).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Require this key as "Authorization: Bearer KEY".
    #[arg(long, env = "EMBEDKIT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Token budget of one forward pass (requests are packed up to it).
    #[arg(long, default_value_t = 16384)]
    pub max_batch_tokens: usize,
    /// Most inputs in one request.
    #[arg(long, default_value_t = 2048)]
    pub max_client_batch: usize,
    /// Requests admitted at once; more are answered 429.
    #[arg(long, default_value_t = 512)]
    pub max_concurrent_requests: usize,
    /// Largest request body, in MiB (413 above).
    #[arg(long, default_value_t = 32)]
    pub max_body_mb: usize,
    /// Embed empty strings instead of answering 400 (OpenAI answers 400).
    #[arg(long)]
    pub allow_empty: bool,
    /// Allow browsers from this origin ("*" for any); CORS is off otherwise.
    #[arg(long)]
    pub cors_allow_origin: Option<String>,
    /// Base URL of the API behind openai:NAME models (default: OPENAI_BASE_URL, else OpenAI's).
    #[arg(long)]
    pub upstream_base_url: Option<String>,
    /// Environment variable holding the key for the upstream API.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub upstream_api_key_env: String,
    /// Vectors cached per openai:NAME model (0 disables the cache).
    #[arg(long, default_value_t = 65536)]
    pub cache_entries: usize,
    /// How local models keep their weights: auto (as stored), f32, bf16 (half the memory) or
    /// int8 (dynamic quantization, approximate).
    #[arg(long, default_value = "auto")]
    pub precision: embedkit_models::Precision,
    /// Vector store (file path or sqlite://PATH) to serve under /v1/collections: add
    /// documents, search, delete, with the served models.
    #[arg(long)]
    pub store: Option<String>,
}
