//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong reading, querying or training word vectors.
#[derive(Debug, thiserror::Error)]
pub enum WordsError {
    /// An I/O error, with the file it happened on when known.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// An I/O error on a stream.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file is not a valid word-vector file of the expected format.
    #[error("malformed {format} file: {message}")]
    Malformed {
        /// Which format was being read.
        format: &'static str,
        /// What is wrong, with the line or record number.
        message: String,
    },
    /// A query word has no vector.
    #[error("word not in vocabulary: {0}")]
    UnknownWord(String),
    /// A bad argument (empty query, zero dimension, ...).
    #[error("{0}")]
    Invalid(String),
}

/// The crate's result type.
pub type Result<T, E = WordsError> = std::result::Result<T, E>;

pub(crate) fn malformed(format: &'static str, message: impl Into<String>) -> WordsError {
    WordsError::Malformed {
        format,
        message: message.into(),
    }
}
