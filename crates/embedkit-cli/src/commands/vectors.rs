//! Where the vectors of `classify`, `recommend`, `cluster` and `plot` come from: a model that
//! embeds the item texts, word vectors averaged over each text, an `.npy` file with one row
//! per item, or `"embedding"` fields in the items themselves.

use crate::args::vectors::SourceArgs;
use anyhow::{bail, Context, Result};
use embedkit_apps::data::{attach_vectors, read_npy, Item};
use embedkit_apps::{vectors_for, AveragedWords, StoredVectors, VectorSource};
use embedkit_core::EmbedError;
use embedkit_models::{EmbedOptions, Model};

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
        super::embed_texts(&self.model, &texts, &self.options, self.quiet)
            .map_err(|e| EmbedError::from_error(Failed(crate::error_text(&e))).into())
    }
}

/// A failure of embedding, as one line (its causes already in it).
#[derive(Debug)]
struct Failed(String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failed {}

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
        return Ok((vectors, AveragedWords::name(path)));
    }
    let source: Box<dyn VectorSource> = match (&a.model, &a.vectors) {
        (Some(spec), _) => {
            let args = a.model_args(spec);
            let model = super::load_model(&args)?;
            Box::new(CliModel {
                options: super::embed_options(&args, &model),
                model,
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
