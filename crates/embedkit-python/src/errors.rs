//! embedkit's errors as the Python exceptions the mirrored libraries raise, with the same
//! messages as the CLI: bad arguments are `ValueError`, missing files `FileNotFoundError`,
//! other file and network trouble `OSError` (as `SentenceTransformer(...)` raises for a model
//! it cannot fetch), unknown words `KeyError` (as gensim's `KeyedVectors`).

use embedkit_models::Error as ModelError;
use embedkit_vision::Error as VisionError;
use embedkit_words::WordsError;
use pyo3::exceptions::{PyFileNotFoundError, PyKeyError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// A sentence-model error.
pub fn model(e: ModelError) -> PyErr {
    let message = e.to_string();
    match e {
        ModelError::MissingFolder(_) | ModelError::MissingFile { .. } => {
            PyFileNotFoundError::new_err(message)
        }
        ModelError::Io { .. } | ModelError::Hub(_) | ModelError::Remote(_) => {
            PyOSError::new_err(message)
        }
        ModelError::InvalidInput(_) | ModelError::Tokenizer(_) => PyValueError::new_err(message),
        // A model folder that is there but cannot be used (config, weights, architecture).
        _ => PyRuntimeError::new_err(message),
    }
}

/// A word-vector error.
pub fn words(e: WordsError) -> PyErr {
    let message = e.to_string();
    match e {
        WordsError::File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        WordsError::File { .. } | WordsError::Io(_) => PyOSError::new_err(message),
        // gensim: KeyError("Key 'xyz' not present").
        WordsError::UnknownWord(w) => PyKeyError::new_err(format!("Key '{w}' not present")),
        WordsError::Malformed { .. } | WordsError::Invalid(_) => PyValueError::new_err(message),
    }
}

/// An image-model error.
pub fn vision(e: VisionError) -> PyErr {
    let message = e.to_string();
    match e {
        VisionError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        VisionError::Io { .. } => PyOSError::new_err(message),
        VisionError::InvalidInput(_) | VisionError::Image { .. } => PyValueError::new_err(message),
        _ => PyRuntimeError::new_err(message),
    }
}
