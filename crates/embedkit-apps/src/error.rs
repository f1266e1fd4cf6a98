//! The one error type of the crate.

use std::path::PathBuf;

/// Why an application could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input (data, labels, parameters) cannot be used; the message says why.
    #[error("{0}")]
    InvalidInput(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A saved model or data line is not the JSON expected.
    #[error("{context}: {source}")]
    Json {
        /// Which file or line.
        context: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A CSV file could not be parsed.
    #[error("{context}: {source}")]
    Csv {
        /// Which file.
        context: String,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// An `.npy` file could not be read or written.
    #[error("{path}: {source}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: embedkit_core::npy::NpyError,
    },
    /// A word-vector file could not be read.
    #[error("{context}: {error}")]
    Words {
        /// Which file.
        context: String,
        /// The cause, shown in this error's message (its own message already names its
        /// cause, so it is not chained a second time).
        error: embedkit_words::WordsError,
    },
    /// The vector store failed.
    #[error(transparent)]
    Store(#[from] embedkit_store::Error),
    /// The model producing the vectors failed.
    #[error("embedding failed: {0}")]
    Embed(#[from] embedkit_core::EmbedError),
    /// Drawing a plot failed.
    #[error("plot: {0}")]
    Plot(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidInput(msg.into())
}

pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
