//! `embedkit rerank`: documents ordered by a cross-encoder's score for a query.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RerankArgs {
    /// Cross-encoder folder or hub id: a transformers *ForSequenceClassification model with one
    /// label, e.g. cross-encoder/ms-marco-MiniLM-L-6-v2 or BAAI/bge-reranker-base.
    #[arg(long, short)]
    pub model: String,
    /// The question the documents are ranked for.
    #[arg(long)]
    pub query: String,
    /// Print only the N best documents (default: all).
    #[arg(long)]
    pub top_n: Option<usize>,
    /// Read documents from a file: .json (array of strings), .jsonl (strings or {"text": ...}),
    /// - (stdin, one per line), anything else one document per line.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Print a JSON array [{"index","score","document"}], best first.
    #[arg(long)]
    pub json: bool,
    /// (query, document) pairs per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// How to keep the weights: auto (as stored), f32, bf16 or int8 (approximate).
    #[arg(long, default_value = "auto")]
    pub precision: embedkit_models::Precision,
    /// Documents to rank.
    pub documents: Vec<String>,
}
