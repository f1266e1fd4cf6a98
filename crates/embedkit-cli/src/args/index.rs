//! `embedkit index`: documents into a vector store collection.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where the store is and which collection.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Store: a file path, sqlite://PATH, or postgres://... (default ./embedkit.db).
    #[arg(
        long,
        env = "EMBEDKIT_STORE",
        hide_env_values = true,
        default_value = "embedkit.db"
    )]
    pub store: String,
    /// Collection name.
    #[arg(long, short, default_value = "default")]
    pub collection: String,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub command: IndexCommand,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Chunk, embed and store documents (text, Markdown, JSONL {"id","text","metadata"};
    /// folders are walked), or images with an image model (PNG, JPEG, WebP, GIF, BMP; one
    /// document per image, id = path relative to the folder). Re-running skips unchanged
    /// documents. Prints one line per committed batch: `committed N` means the first N input
    /// documents are stored.
    Add(AddArgs),
    /// List collections with their settings and sizes.
    List(ListArgs),
    /// Delete documents by id or by metadata filter.
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Model (folder, hub id or openai:NAME; or an image network: a .pth / .safetensors file
    /// or a folder holding one); needed when the collection is new, and must match the
    /// collection's otherwise.
    #[arg(long, short)]
    pub model: Option<String>,
    /// Most model tokens per chunk (default: the model's limit).
    #[arg(long)]
    pub chunk_size: Option<usize>,
    /// Model tokens repeated between neighbouring chunks (whole sentences).
    #[arg(long, default_value_t = 32)]
    pub chunk_overlap: usize,
    /// Every line of a text file is a document (id FILE:LINE).
    #[arg(long)]
    pub lines: bool,
    /// Distance of a new collection: cosine, dot or l2 (default: the model's similarity).
    #[arg(long)]
    pub distance: Option<String>,
    /// Vector storage of a new collection: f32, f16 or int8.
    #[arg(long, default_value = "f32")]
    pub storage: String,
    /// Chunks per forward pass and per committed transaction.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Base URL for openai:NAME models.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Environment variable holding the API key for openai:NAME models.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Ingest only shard I of N of the inputs (e.g. 2/3), so N machines can fill one
    /// PostgreSQL collection at once: a document's shard is decided by its id alone.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<embedkit_store::Shard>,
    /// Image collections: store the name of each image's folder as its "label" metadata.
    #[arg(long)]
    pub label_from_folder: bool,
    /// Files or folders.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Store: a file path, sqlite://PATH, or postgres://...
    #[arg(
        long,
        env = "EMBEDKIT_STORE",
        hide_env_values = true,
        default_value = "embedkit.db"
    )]
    pub store: String,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Document ids.
    pub ids: Vec<String>,
    /// Delete the documents whose metadata has key=value (repeatable: all must hold).
    #[arg(long)]
    pub filter: Vec<String>,
}
