//! The error type of image model loading, decoding and inference.

use std::path::PathBuf;

/// Everything that can go wrong between a weights file, an image and a vector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The weights file is damaged, of an unknown format, or lacks a tensor.
    #[error("bad weights {path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The state dict does not describe a supported network, or not the one asked for.
    #[error("architecture: {0}")]
    Architecture(String),
    /// An image could not be decoded or is outside the accepted limits.
    #[error("image {source_name}: {message}")]
    Image {
        /// The file name (or `<memory>`).
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A request the model cannot serve (empty batch, bad sizes...).
    #[error("{0}")]
    InvalidInput(String),
    /// The network's output (`embeddings` or `class scores`) held NaN or infinity: its
    /// weights, or an overflow inside it, are at fault, not the image.
    #[error("the model produced a non-finite value (NaN or infinity) in its {0}")]
    NonFinite(&'static str),
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
    pub(crate) fn weights(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Self::Weights {
            path: path.into(),
            message: message.to_string(),
        }
    }
    pub(crate) fn arch(message: impl ToString) -> Self {
        Self::Architecture(message.to_string())
    }
}
