//! Where the vectors of `classify`, `recommend`, `cluster` and `plot` come from: a model that
//! embeds the item texts, word vectors averaged over each text, an `.npy` file with one row
//! per item, or `"embedding"` fields in the items themselves.

use crate::args::ModelArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use embedkit_apps::data::{attach_vectors, read_npy, Item};
use embedkit_apps::{vectors_for, AveragedWords, StoredVectors, VectorSource};
use embedkit_core::EmbedError;
use embedkit_models::{EmbedOptions, Model};
use std::path::PathBuf;

/// How the name of averaged word vectors starts (in saved classifiers and plot titles).
const WORDS_PREFIX: &str = "words:";

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
        let (model, word_vectors) = match model.strip_prefix(WORDS_PREFIX) {
            Some(path) => (None, Some(PathBuf::from(path))),
            None => (Some(model), None),
        };
        Self {
            model,
            vectors: None,
            word_vectors,
            ..self.clone()
        }
    }

    fn model_args(&self, spec: &str) -> ModelArgs {
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

/// A loaded model embedding item texts, with the progress bar of `embedkit embed`.
struct CliModel {
    model: Model,
    options: EmbedOptions,
    quiet: bool,
    id: String,
}

impl VectorSource for CliModel {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> Option<usize> {
        None
    }

    fn vectors(&self, items: &[Item]) -> embedkit_apps::Result<Vec<Vec<f32>>> {
        let texts: Vec<String> = embedkit_apps::texts_of(items)?
            .into_iter()
            .map(str::to_string)
            .collect();
        super::embed_texts(&self.model, &texts, &self.options, self.quiet).map_err(|e| {
            EmbedError {
                message: crate::error_text(&e),
                source: None,
            }
            .into()
        })
    }
}

/// Vectors for `items` and the name of what made them (recorded in saved classifiers).
pub fn item_vectors(
    a: &SourceArgs,
    items: &mut [Item],
    quiet: bool,
) -> Result<(Vec<Vec<f32>>, String)> {
    if let Some(path) = &a.vectors {
        let rows = read_npy(path)?;
        attach_vectors(items, rows).with_context(|| format!("{}", path.display()))?;
    }
    if let Some(path) = &a.word_vectors {
        if a.dimensions.is_some() {
            bail!("--dimensions applies to --model, not to --word-vectors");
        }
        let source = AveragedWords::load(path)?;
        let vectors = vectors_for(&source, items)?;
        return Ok((vectors, format!("{WORDS_PREFIX}{}", path.display())));
    }
    let source: Box<dyn VectorSource> = match (&a.model, &a.vectors) {
        (Some(spec), _) => {
            let args = a.model_args(spec);
            Box::new(CliModel {
                model: super::load_model(&args)?,
                options: super::embed_options(&args),
                quiet,
                id: spec.clone(),
            })
        }
        (None, Some(path)) => Box::new(StoredVectors::new(path.display().to_string())),
        (None, None) if items.iter().all(|i| i.embedding.is_some()) => {
            Box::new(StoredVectors::new("stored vectors"))
        }
        (None, None) => {
            bail!("give --model to embed the texts, --word-vectors FILE to average word vectors, or --vectors FILE.npy (or items with \"embedding\")")
        }
    };
    let vectors = vectors_for(source.as_ref(), items)?;
    Ok((vectors, source.model_id().to_string()))
}
