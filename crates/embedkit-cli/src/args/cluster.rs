//! Arguments of `embedkit cluster`.

use super::vectors::SourceArgs;
use clap::Args;
use embedkit_apps::cluster::KMeansOptions;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Items: .jsonl with "text" (or "embedding") and optional "id", "label"; or one text per
    /// line.
    #[arg(long, short, required_unless_present = "store")]
    pub input: Option<PathBuf>,
    /// Take the items and their vectors from a store collection instead (a file path,
    /// sqlite://PATH or postgres://...; a document's vector is the mean of its chunks').
    #[arg(long, conflicts_with_all = ["input", "model", "vectors", "word_vectors"])]
    pub store: Option<String>,
    /// The collection of --store (default: "default").
    #[arg(long, short, requires = "store")]
    pub collection: Option<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Clusters (default: the k in 2..=--k-max with the best silhouette).
    #[arg(long, short)]
    pub k: Option<usize>,
    /// Largest k tried when choosing k.
    #[arg(long, default_value_t = 10)]
    pub k_max: usize,
    /// Seed of the k-means++ draws: the same seed gives the same clusters.
    #[arg(long, default_value_t = KMeansOptions::default().seed)]
    pub seed: u64,
    /// Central members listed per cluster.
    #[arg(long, default_value_t = 3)]
    pub central: usize,
    /// Write {"id", "cluster"} JSON lines here.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}
