//! Everything that can go wrong in a store, worded for the person who typed the command.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL names no backend this build has.
    #[error("unsupported store URL {0:?} (expected a file path, sqlite://PATH or postgres://...)")]
    UnsupportedUrl(String),
    /// The file exists but is not a store (or is damaged).
    #[error("{path} is not a readable embedkit store ({why}); it may be corrupted or another kind of file")]
    Corrupt {
        /// The file.
        path: String,
        /// What the database engine said.
        why: String,
    },
    /// No collection by that name.
    #[error("unknown collection {name:?} (existing: {existing})")]
    UnknownCollection {
        /// The name asked for.
        name: String,
        /// The names there are, comma-separated, or `none`.
        existing: String,
    },
    /// A collection exists with other settings.
    #[error("collection {name:?} was created with {field} {existing}, not {requested}")]
    CollectionMismatch {
        /// The collection.
        name: String,
        /// Which setting differs.
        field: &'static str,
        /// What the collection has.
        existing: String,
        /// What was asked for.
        requested: String,
    },
    /// Text asked of an image collection, or an image of a text collection.
    #[error("collection {name:?} holds {holds} embeddings (model {model}); it cannot take {asked} input: add {holds}s to it and search it with {holds} queries")]
    Modality {
        /// The collection.
        name: String,
        /// Its model.
        model: String,
        /// What it holds.
        holds: crate::Modality,
        /// What was given.
        asked: crate::Modality,
    },
    /// A vector of the wrong width.
    #[error("collection {collection:?} holds {expected}-dimensional vectors, got {got}")]
    Dimensions {
        /// The collection.
        collection: String,
        /// Its width.
        expected: usize,
        /// The width given.
        got: usize,
    },
    /// A `key=value` filter that does not parse.
    #[error(
        "malformed filter {0:?}: expected key=value with a key of letters, digits, '_', '-' or '.'"
    )]
    Filter(String),
    /// Any other bad input (names, JSON, files).
    #[error("{0}")]
    InvalidInput(String),
    /// Reading an input file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The model failed, or an input (a prompt name, an image file) could not be embedded.
    #[error(transparent)]
    Embed(#[from] embedkit_core::EmbedError),
    /// The database engine failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database server cannot be reached, or refused the connection.
    #[error("cannot connect to the store at {url}: {why}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// What the driver or server said.
        why: String,
    },
    /// PostgreSQL failed.
    #[error("PostgreSQL error: {}", crate::backend::postgres::error_text(.0))]
    Postgres(#[from] postgres::Error),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
