//! Sentence-embedding models for `embedkit.SentenceTransformer` (python/embedkit/sentence.py).

use crate::errors;
use crate::matrix;
use embedkit_core::{InputRole, Prompt, Prompts};
use embedkit_models::{EmbedOptions, Precision, SentenceEmbedder};
use numpy::PyArray2;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::RwLock;

/// A loaded model. Encoding takes a read lock, so any number of Python threads embed at once
/// (each with the GIL released); only `max_seq_length = n` takes the write lock.
#[pyclass(frozen, module = "embedkit._embedkit")]
pub struct SentenceModel {
    inner: RwLock<SentenceEmbedder>,
    path: PathBuf,
}

fn poisoned<T>(_: T) -> PyErr {
    PyValueError::new_err("the model is unusable: an earlier call failed while changing it")
}

fn role(name: Option<&str>) -> PyResult<Option<InputRole>> {
    match name {
        None => Ok(None),
        Some("query") => Ok(Some(InputRole::Query)),
        Some("document") => Ok(Some(InputRole::Document)),
        Some(other) => Err(PyValueError::new_err(format!(
            "role must be \"query\" or \"document\", got {other:?}"
        ))),
    }
}

#[pymethods]
impl SentenceModel {
    /// Loads a model folder, or a hub id through the Hugging Face cache (`HF_ENDPOINT`,
    /// `HF_HOME`, `HF_HUB_OFFLINE`, `HF_TOKEN`, as the CLI and the server), with the GIL
    /// released while files are read or downloaded.
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
        let (model, path) = py
            .detach(|| {
                let path = hub.resolve(spec)?;
                SentenceEmbedder::from_folder_with(&path, precision).map(|m| (m, path))
            })
            .map_err(errors::model)?;
        Ok(Self {
            inner: RwLock::new(model),
            path,
        })
    }

    /// Embeds `texts` into an `n × d` float32 matrix (d = `truncate_dim` when given).
    ///
    /// `prompts` / `default_prompt_name` are the caller's (sentence-transformers lets users
    /// change them on the model). The prompt is chosen by [`Prompts::choose`], the rule the
    /// CLI, the server and the store follow: `prompt` (text) wins over `prompt_name`; with
    /// neither, `role` ("query" / "document", as `encode_query` / `encode_document`) picks the
    /// model's prompt for it, else the default prompt applies. Vectors are truncated to
    /// `truncate_dim`, then L2-normalized when `normalize` is set (sentence-transformers'
    /// order). `progress(n)` is called after each batch of `n` texts; an exception it raises,
    /// or a signal (Ctrl-C), stops the call after that batch.
    #[pyo3(signature = (texts, *, prompts, default_prompt_name = None, prompt_name = None, prompt = None, role = None, normalize = false, truncate_dim = None, batch_size = 32, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        prompts: BTreeMap<String, String>,
        default_prompt_name: Option<String>,
        prompt_name: Option<String>,
        prompt: Option<String>,
        role: Option<&str>,
        normalize: bool,
        truncate_dim: Option<usize>,
        batch_size: usize,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let role = self::role(role)?;
        if truncate_dim == Some(0) {
            return Err(PyValueError::new_err("truncate_dim must be at least 1"));
        }
        let prompts = Prompts {
            named: prompts,
            default_name: default_prompt_name,
        };
        let explicit = prompt.map(Prompt::Text).or(prompt_name.map(Prompt::Named));
        let prompt_text = prompts
            .text(&prompts.choose(explicit, role))
            .map_err(|e| PyValueError::new_err(e.message))?;
        let progress = progress.map(Bound::unbind);
        let mut callback_error = None;
        let result = py.detach(|| {
            let model = self.inner.read().map_err(poisoned)?;
            let options = EmbedOptions {
                prompt: Prompt::Text(prompt_text),
                dimensions: None,
                normalize: false,
                batch_size,
            };
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            // After each batch: the progress callback, and Python's signal handlers, so that
            // Ctrl-C stops a long call (after the batch in flight) instead of being held
            // until every text is done.
            let rows = model.embed_until(&refs, &options, |n| {
                let outcome = Python::attach(|py| {
                    py.check_signals()?;
                    match &progress {
                        Some(cb) => cb.call1(py, (n,)).map(drop),
                        None => Ok(()),
                    }
                });
                match outcome {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        callback_error = Some(e);
                        ControlFlow::Break(())
                    }
                }
            });
            if let Some(e) = callback_error.take() {
                return Err(e);
            }
            let rows = rows.map_err(errors::model)?;
            // sentence-transformers slices `[..., :truncate_dim]`: a larger value keeps all.
            let width = truncate_dim.map_or(model.dimensions(), |d| d.min(model.dimensions()));
            Ok::<_, PyErr>(matrix::flatten(rows, width, normalize))
        })?;
        Ok(matrix::to_numpy(py, result))
    }

    /// Width of the model's vectors.
    #[getter]
    fn dimensions(&self) -> PyResult<usize> {
        Ok(self.inner.read().map_err(poisoned)?.dimensions())
    }

    /// Token limit per input (longer inputs are truncated).
    #[getter]
    fn get_max_seq_length(&self) -> PyResult<usize> {
        Ok(self.inner.read().map_err(poisoned)?.max_seq_length())
    }

    /// Changes the token limit per input; waits (GIL released) for running encodes.
    #[setter]
    fn set_max_seq_length(&self, py: Python<'_>, n: usize) -> PyResult<()> {
        py.detach(|| {
            let mut model = self.inner.write().map_err(poisoned)?;
            model.set_max_seq_length(n).map_err(errors::model)
        })
    }

    /// The model's named prompts (`config_sentence_transformers.json`).
    #[getter]
    fn prompts(&self) -> PyResult<BTreeMap<String, String>> {
        Ok(self.inner.read().map_err(poisoned)?.prompts().named.clone())
    }

    /// The prompt used when none is given.
    #[getter]
    fn default_prompt_name(&self) -> PyResult<Option<String>> {
        Ok(self
            .inner
            .read()
            .map_err(poisoned)?
            .prompts()
            .default_name
            .clone())
    }

    /// `cosine`, `dot`, `euclidean` or `manhattan`.
    #[getter]
    fn similarity_fn_name(&self) -> PyResult<String> {
        Ok(self
            .inner
            .read()
            .map_err(poisoned)?
            .similarity()
            .to_string())
    }

    /// Whether the model's own Normalize module makes every vector unit-length.
    #[getter]
    fn normalizes(&self) -> PyResult<bool> {
        Ok(self.inner.read().map_err(poisoned)?.normalizes())
    }

    /// The folder the model was loaded from.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// What `embedkit info` shows, as JSON.
    fn info_json(&self) -> PyResult<String> {
        let info = self.inner.read().map_err(poisoned)?.info();
        serde_json::to_string(&info).map_err(|e| PyValueError::new_err(e.to_string()))
    }
}
