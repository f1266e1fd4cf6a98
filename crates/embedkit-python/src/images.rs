//! Image models for `embedkit.ImageEncoder` (python/embedkit/images.py): files, or decoded RGB
//! pixels (what a PIL image holds), through torchvision's preprocessing and the network.

use crate::errors;
use crate::matrix;
use embedkit_vision::decode::RgbImage;
use numpy::PyArray2;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;

/// A loaded image network (immutable: threads share it without a lock).
#[pyclass(frozen, module = "embedkit._embedkit")]
pub struct ImageModel {
    inner: embedkit_vision::ImageModel,
}

/// Embeddings and class logits of a batch, as NumPy matrices.
type Outputs<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray2<f32>>);

impl ImageModel {
    fn outputs<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        embedding: Vec<f32>,
        logits: Vec<f32>,
    ) -> Outputs<'py> {
        let dims = self.inner.dimensions();
        let classes = self.inner.network().classes();
        (
            matrix::to_numpy(py, matrix::from_flat(embedding, n, dims)),
            matrix::to_numpy(py, matrix::from_flat(logits, n, classes)),
        )
    }
}

#[pymethods]
impl ImageModel {
    /// Loads a weights file (`.safetensors`, `.pth`) or a folder holding one; `arch` (e.g.
    /// `resnet50`) is checked against what the weights hold.
    #[new]
    #[pyo3(signature = (path, *, arch = None))]
    fn new(py: Python<'_>, path: PathBuf, arch: Option<&str>) -> PyResult<Self> {
        let inner = py
            .detach(|| embedkit_vision::ImageModel::load(&path, arch))
            .map_err(errors::vision)?;
        Ok(Self { inner })
    }

    /// Width of the embeddings.
    #[getter]
    fn dimensions(&self) -> usize {
        self.inner.dimensions()
    }

    /// The weights file in use.
    #[getter]
    fn weights(&self) -> PathBuf {
        self.inner.weights().to_path_buf()
    }

    /// Embeddings and logits of image files, decoded in parallel with inference.
    fn run_files<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        batch_size: usize,
    ) -> PyResult<Outputs<'py>> {
        let (embedding, logits) = py
            .detach(|| {
                let (mut embedding, mut logits) = (Vec::new(), Vec::new());
                self.inner.run_files(&paths, batch_size, |_, out| {
                    embedding.extend_from_slice(&out.embedding);
                    logits.extend_from_slice(&out.logits);
                    Ok(())
                })?;
                Ok((embedding, logits))
            })
            .map_err(errors::vision)?;
        Ok(self.outputs(py, paths.len(), embedding, logits))
    }

    /// Embeddings and logits of decoded images: each `(pixels, width, height)` with
    /// `height × width × 3` RGB bytes, row-major (`numpy.asarray(pil_image.convert("RGB"))`).
    fn run_pixels<'py>(
        &self,
        py: Python<'py>,
        images: Vec<(Vec<u8>, usize, usize)>,
        batch_size: usize,
    ) -> PyResult<Outputs<'py>> {
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        let n = images.len();
        let (embedding, logits) = py.detach(|| {
            let (mut embedding, mut logits) = (Vec::new(), Vec::new());
            for chunk in images.chunks(batch_size) {
                let prepared = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, (data, width, height))| {
                        if data.len() != width * height * 3 || *width == 0 || *height == 0 {
                            return Err(PyValueError::new_err(format!(
                                "image {i}: expected {height} × {width} × 3 RGB bytes, got {}",
                                data.len()
                            )));
                        }
                        Ok(self.inner.prepare(&RgbImage {
                            width: *width,
                            height: *height,
                            data: data.clone(),
                        }))
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                let out = self.inner.run(&prepared).map_err(errors::vision)?;
                embedding.extend_from_slice(&out.embedding);
                logits.extend_from_slice(&out.logits);
            }
            Ok::<_, PyErr>((embedding, logits))
        })?;
        Ok(self.outputs(py, n, embedding, logits))
    }

    /// The `k` most probable classes of each row of `logits`: `(index, label, probability)`;
    /// NaN or infinite logits are an error (the model's fault), never a ranking.
    fn top_k(&self, logits: Vec<f32>, k: usize) -> PyResult<Vec<Vec<(usize, String, f32)>>> {
        let classes = self.inner.network().classes();
        if !logits.len().is_multiple_of(classes) {
            return Err(PyValueError::new_err(format!(
                "logits must hold rows of {classes} values"
            )));
        }
        Ok(self
            .inner
            .classify(&logits, k)
            .map_err(errors::vision)?
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|s| (s.index, s.label, s.score))
                    .collect()
            })
            .collect())
    }
}
