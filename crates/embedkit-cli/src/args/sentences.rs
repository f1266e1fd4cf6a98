//! `embedkit embed`, `similarity`, `info` and `bench`: sentence models on texts.

use super::ModelArgs;
use clap::Args;
use std::path::PathBuf;

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
