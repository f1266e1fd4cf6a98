//! `embedkit search`: a question against a vector store collection.

use super::index::StoreArgs;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The question (text collections).
    #[arg(required_unless_present = "image", conflicts_with = "image")]
    pub query: Option<String>,
    /// Search an image collection with this image: its nearest images.
    #[arg(long, conflicts_with_all = ["hybrid", "keyword"])]
    pub image: Option<PathBuf>,
    /// Number of chunks to return.
    #[arg(long, short, default_value_t = 5)]
    pub k: usize,
    /// Only documents whose metadata has key=value (repeatable: all must hold).
    #[arg(long)]
    pub filter: Vec<String>,
    /// Fuse BM25 keyword ranking with the vector ranking (reciprocal rank fusion): better
    /// for rare exact terms such as names and codes.
    #[arg(long, conflicts_with = "keyword")]
    pub hybrid: bool,
    /// BM25 keyword search only (no model needed).
    #[arg(long)]
    pub keyword: bool,
    /// Model (default: the collection's; another one is an error).
    #[arg(long, short)]
    pub model: Option<String>,
    /// Base URL for openai:NAME models.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Environment variable holding the API key for openai:NAME models.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Score every stored vector instead of searching the approximate (HNSW) index that
    /// collections of 5,000 chunks and more are searched through.
    #[arg(long)]
    pub exact: bool,
    /// Rerank: retrieve --rerank-candidates chunks (by the search chosen), rescore each chunk's
    /// text with this cross-encoder (folder or hub id) and keep the -k best by its score.
    #[arg(long, value_name = "MODEL", conflicts_with = "image")]
    pub rerank: Option<String>,
    /// Chunks retrieved for --rerank (default 50, or -k if larger; at least -k).
    #[arg(long, value_name = "N", requires = "rerank")]
    pub rerank_candidates: Option<usize>,
    /// Print a JSON array [{"id","chunk","score","text","metadata"}], best first.
    #[arg(long)]
    pub json: bool,
}
