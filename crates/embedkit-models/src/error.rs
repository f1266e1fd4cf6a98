//! The error type of model loading and inference.

use std::path::PathBuf;

/// Everything that can go wrong between a model name and its vectors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A local path that should hold a model does not exist.
    #[error("model folder {0} does not exist (and it is not a hub id like org/name)")]
    MissingFolder(PathBuf),
    /// A file the model needs is missing.
    #[error("{path} is missing: {why}")]
    MissingFile {
        /// The file.
        path: PathBuf,
        /// What it was needed for.
        why: &'static str,
    },
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON config file does not parse or has unexpected values.
    #[error("bad config {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The weights file is damaged or lacks a tensor.
    #[error("bad weights {path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `config.json` names an architecture embedkit does not implement.
    #[error("unsupported architecture {0:?} (supported: bert, roberta/xlm-roberta, distilbert, mpnet, nomic_bert, qwen3)")]
    UnsupportedArchitecture(String),
    /// The tokenizer could not be loaded or failed on an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Downloading from the model hub failed.
    #[error("hub: {0}")]
    Hub(String),
    /// A remote embeddings API failed or answered an error.
    #[error("remote model: {0}")]
    Remote(String),
    /// The caller stopped the work before it was done.
    #[error("stopped before all texts were embedded")]
    Stopped,
    /// A request the model cannot serve (bad prompt name, dimensions, empty input...).
    #[error("{0}")]
    InvalidInput(String),
    /// The model's output held NaN or infinity: its weights (or an overflow inside it) are at
    /// fault, not the input, so callers report it as a model failure, never as bad input.
    #[error("the model produced a non-finite value (NaN or infinity)")]
    NonFinite,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn config(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Self::Config {
            path: path.into(),
            message: message.to_string(),
        }
    }
    pub(crate) fn weights(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Self::Weights {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
