//! Where the vectors of `classify`, `recommend`, `cluster` and `plot` come from
//! ([`SourceArgs`]).

use super::ModelArgs;
use clap::Args;
use embedkit_apps::AveragedWords;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Model that embeds the item texts: folder, hub id, or openai:NAME. Not needed when the
    /// items carry "embedding" or --vectors is given.
    #[arg(long, short)]
    pub model: Option<String>,
    /// One vector per item, in item order (.npy float32 matrix, e.g. from `embedkit embed`).
    #[arg(long, conflicts_with = "model")]
    pub vectors: Option<PathBuf>,
    /// Embed each text as the mean vector of its words (word2vec text or binary, GloVe text,
    /// fastText .vec or .bin: the format is detected). Words are the lowercased runs of
    /// letters and digits; words the file lacks are skipped (a fastText .bin gives them
    /// vectors from their character n-grams); a text with no known word is an error.
    #[arg(long, conflicts_with_all = ["model", "vectors"])]
    pub word_vectors: Option<PathBuf>,
    /// Base URL of the API for openai:NAME models (default: OPENAI_BASE_URL, else OpenAI's).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Environment variable holding the API key for openai:NAME models.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Keep the first N dimensions and re-normalize (Matryoshka).
    #[arg(long)]
    pub dimensions: Option<usize>,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
}

impl SourceArgs {
    /// The same source with another model (a saved classifier names its own: a model, or
    /// `words:FILE` for averaged word vectors).
    pub fn with_model(&self, model: String) -> Self {
        let (model, word_vectors) = match AveragedWords::path_in(&model) {
            Some(path) => (None, Some(path)),
            None => (Some(model), None),
        };
        Self {
            model,
            vectors: None,
            word_vectors,
            ..self.clone()
        }
    }

    pub fn model_args(&self, spec: &str) -> ModelArgs {
        ModelArgs {
            model: spec.to_string(),
            base_url: self.base_url.clone(),
            api_key_env: self.api_key_env.clone(),
            prompt_name: None,
            prompt: None,
            instruction: None,
            dimensions: self.dimensions,
            normalize: false,
            batch_size: self.batch_size,
            max_length: None,
            precision: embedkit_models::Precision::Auto,
        }
    }
}
