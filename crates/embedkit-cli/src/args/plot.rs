//! Arguments of `embedkit plot`.

use super::vectors::SourceArgs;
use clap::{Args, ValueEnum};
use embedkit_apps::cluster::KMeansOptions;
use embedkit_apps::plot::TsneOptions;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum Method {
    /// Principal components: global layout, exact, fast.
    Pca,
    /// t-SNE (exact): local neighbourhoods, for up to a few thousand points.
    Tsne,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Items: .jsonl with "text" (or "embedding") and optional "id", "label"; or one text per
    /// line.
    #[arg(long, short, conflicts_with = "words")]
    pub input: Option<PathBuf>,
    /// Words (or short texts) to map, e.g. --words apple banana car bus.
    #[arg(long, num_args = 1..)]
    pub words: Vec<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Projection.
    #[arg(long, value_enum, default_value_t = Method::Pca)]
    pub method: Method,
    /// t-SNE perplexity (lowered for small sets).
    #[arg(long, default_value_t = TsneOptions::default().perplexity)]
    pub perplexity: f64,
    /// Colour by k-means clusters with this k, even when the items have labels (default:
    /// labels if every item has one, else clusters with k chosen by silhouette).
    #[arg(long)]
    pub clusters: Option<usize>,
    /// Seed of the clustering.
    #[arg(long, default_value_t = KMeansOptions::default().seed)]
    pub seed: u64,
    /// Output files, .png or .svg (repeat for both).
    #[arg(long, short, required = true)]
    pub output: Vec<PathBuf>,
    /// Title.
    #[arg(long)]
    pub title: Option<String>,
    /// Image size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1000x750")]
    pub size: String,
    /// TrueType/OpenType font for PNG text (e.g. a CJK font); SVG text uses the viewer's fonts.
    #[arg(long)]
    pub font: Option<PathBuf>,
}
