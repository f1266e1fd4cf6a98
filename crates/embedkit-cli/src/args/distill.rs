//! `embedkit distill`: a static (Model2Vec) model from a sentence-embedding model.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DistillArgs {
    /// Sentence-embedding model folder or hub id to distill, e.g.
    /// sentence-transformers/all-MiniLM-L6-v2.
    #[arg(long, short)]
    pub model: String,
    /// Folder to write the static model into (created if needed).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Width of the static vectors (PCA components); at most the model's width.
    #[arg(long, default_value_t = 256, conflicts_with = "no_pca")]
    pub dims: usize,
    /// Keep the model's width and axes (no PCA).
    #[arg(long)]
    pub no_pca: bool,
    /// SIF coefficient a: each token's row is scaled by a / (a + p), p its Zipf probability.
    #[arg(long, default_value_t = 1e-4)]
    pub sif: f64,
    /// Store the table as float32 instead of float16.
    #[arg(long)]
    pub float32: bool,
    /// Words to add to the vocabulary, one per line (WordPiece and WordLevel tokenizers):
    /// each becomes a token of its own, embedded as the model reads it.
    #[arg(long)]
    pub vocabulary: Option<PathBuf>,
    /// Vocabulary tokens per forward pass.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// How to keep the model's weights while distilling: auto, f32, bf16 or int8.
    #[arg(long, default_value = "auto")]
    pub precision: embedkit_models::Precision,
}
