//! The saved-model file: JSON with the classifier and the embedding model it needs.

use super::Classifier;
use crate::error::{invalid, io_error, Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format tag written in every file.
pub const FORMAT: &str = "embedkit-classifier/1";

/// A classifier and what produced its training vectors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedClassifier {
    /// Always [`FORMAT`].
    pub format: String,
    /// The embedding model (folder, hub id, `openai:NAME`) or vector file the classifier was
    /// trained on; inputs must be embedded the same way.
    pub embedding_model: String,
    /// The classifier (its `dimensions` is the embedding width it needs).
    pub classifier: Classifier,
}

impl SavedClassifier {
    /// Wraps a trained classifier.
    pub fn new(embedding_model: impl Into<String>, classifier: Classifier) -> Self {
        Self {
            format: FORMAT.into(),
            embedding_model: embedding_model.into(),
            classifier,
        }
    }

    /// Writes the JSON file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec(self).map_err(|source| Error::Json {
            context: path.display().to_string(),
            source,
        })?;
        std::fs::write(path, json).map_err(io_error(path))
    }

    /// Reads a file written by [`SavedClassifier::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(io_error(path))?;
        let saved: Self = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            context: format!("{} is not an embedkit classifier", path.display()),
            source,
        })?;
        if saved.format != FORMAT {
            return Err(invalid(format!(
                "{}: format {:?}, this version reads {FORMAT:?}",
                path.display(),
                saved.format
            )));
        }
        Ok(saved)
    }
}
