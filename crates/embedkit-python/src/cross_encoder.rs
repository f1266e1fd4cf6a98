//! Cross-encoders (rerankers) for `embedkit.CrossEncoder` (python/embedkit/cross_encoder.py).

use crate::errors;
use crate::matrix;
use embedkit_models::{CrossEncoder, Precision};
use numpy::PyArray2;
use pyo3::prelude::*;
use std::path::PathBuf;

/// A loaded cross-encoder (immutable: threads share it without a lock).
#[pyclass(frozen, module = "embedkit._embedkit")]
pub struct CrossEncoderModel {
    inner: CrossEncoder,
}

#[pymethods]
impl CrossEncoderModel {
    /// Loads a cross-encoder folder or hub id, with the GIL released.
    #[new]
    #[pyo3(signature = (spec, *, precision = "auto", cache_folder = None, token = None, offline = false))]
    fn new(
        py: Python<'_>,
        spec: &str,
        precision: &str,
        cache_folder: Option<PathBuf>,
        token: Option<String>,
        offline: bool,
    ) -> PyResult<Self> {
        let precision: Precision = precision.parse().map_err(errors::model)?;
        let hub = crate::hub::with_overrides(cache_folder, token, offline);
        let inner = py
            .detach(|| CrossEncoder::from_folder_with(&hub.resolve(spec)?, precision))
            .map_err(errors::model)?;
        Ok(Self { inner })
    }

    /// Scores of (query, document) pairs: an `n × labels` matrix, through the model's
    /// activation when `activate` is set, else the raw logits.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        pairs: Vec<(String, String)>,
        batch_size: usize,
        activate: bool,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let labels = self.inner.labels();
        let rows = py
            .detach(|| {
                let refs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect();
                if activate {
                    self.inner.predict(&refs, batch_size)
                } else {
                    self.inner.logits(&refs, batch_size)
                }
            })
            .map_err(errors::model)?;
        Ok(matrix::to_numpy(py, matrix::flatten(rows, labels, false)))
    }

    /// Number of labels (1 for rerankers).
    #[getter]
    fn labels(&self) -> usize {
        self.inner.labels()
    }

    /// Token limit of one pair.
    #[getter]
    fn max_length(&self) -> usize {
        self.inner.max_length()
    }

    /// `sigmoid` or `identity`.
    #[getter]
    fn activation(&self) -> &'static str {
        match self.inner.activation() {
            embedkit_models::cross_encoder::ScoreActivation::Sigmoid => "sigmoid",
            embedkit_models::cross_encoder::ScoreActivation::Identity => "identity",
        }
    }

    /// The folder the model was loaded from.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }
}
