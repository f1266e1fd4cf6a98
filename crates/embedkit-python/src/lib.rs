//! `embedkit._embedkit`: the native half of the `embedkit` Python package.
//!
//! The classes users import (`embedkit.SentenceTransformer`, `embedkit.CrossEncoder`,
//! `embedkit.KeyedVectors`, `embedkit.ImageEncoder`, `embedkit.langchain.*`) are Python
//! (`python/embedkit/`): they give
//! sentence-transformers', gensim's and LangChain's signatures and return types. This crate is
//! what they call: it loads models through the same code as the CLI and the server, runs
//! them with the GIL released (so Python threads embed in parallel), and hands results back
//! as NumPy arrays built from one contiguous buffer.
//!
//! * [`sentence`]: sentence-embedding models (`SentenceModel`).
//! * [`cross_encoder`]: rerankers (`CrossEncoderModel`).
//! * [`words`]: word vectors (`WordVectors`).
//! * [`images`]: image models (`ImageModel`).
//! * [`errors`]: embedkit's errors as Python exceptions.
//! * [`hub`]: where models are found (the `HF_*` settings and the callers' overrides).
//! * [`matrix`]: row vectors into one NumPy matrix.

mod cross_encoder;
mod errors;
mod hub;
mod images;
mod matrix;
mod sentence;
mod words;

use pyo3::prelude::*;

/// Sets how many threads the models use (default: one per core). Call before the first
/// model runs; a second call is an error.
#[pyfunction]
fn set_threads(n: usize) -> PyResult<()> {
    embedkit_models::set_threads(n).map_err(errors::model)
}

#[pymodule]
fn _embedkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    m.add_class::<sentence::SentenceModel>()?;
    m.add_class::<cross_encoder::CrossEncoderModel>()?;
    m.add_class::<words::WordVectors>()?;
    m.add_class::<images::ImageModel>()?;
    Ok(())
}
