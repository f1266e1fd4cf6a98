//! `embedkit recommend`: similar items, or items for users.

use super::vectors::SourceArgs;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// Items: .jsonl with "id" and "text" (or "embedding"), or one text per line (ids are
    /// line numbers).
    #[arg(long, required_unless_present = "store")]
    pub items: Option<PathBuf>,
    /// Take the items and their vectors from a store collection instead (a file path,
    /// sqlite://PATH or postgres://...; see `embedkit index add`), and find neighbours
    /// through its index: HNSW on large SQLite collections, pgvector's on PostgreSQL.
    #[arg(long, conflicts_with_all = ["items", "model", "vectors", "word_vectors"])]
    pub store: Option<String>,
    /// The collection of --store (default: "default").
    #[arg(long, short, requires = "store")]
    pub collection: Option<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Items to find similar ones for (ids; default: every item). Item-to-item mode.
    #[arg(long)]
    pub item: Vec<String>,
    /// Interaction log, .jsonl lines {"user", "item", "time"?}: recommends to users instead.
    #[arg(long)]
    pub interactions: Option<PathBuf>,
    /// Users to recommend to (default: every user in the log).
    #[arg(long, requires = "interactions")]
    pub user: Vec<String>,
    /// Recommendations per item or user.
    #[arg(long, short, default_value_t = 5)]
    pub k: usize,
    /// A user's interaction this many steps older weighs half as much in their profile.
    #[arg(long, default_value_t = 5.0)]
    pub half_life: f64,
    /// Diversify user recommendations with MMR (1 = relevance only, lower = more variety).
    #[arg(long)]
    pub mmr: Option<f32>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}
