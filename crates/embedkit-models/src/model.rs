//! One type for every model spec the tools accept: a local folder or hub id
//! ([`SentenceEmbedder`]), or `openai:NAME` for a remote OpenAI-compatible API.

use crate::embedder::{EmbedOptions, Prompt, SentenceEmbedder};
use crate::error::{Error, Result};
use crate::remote::{OpenAiEmbedder, RemoteOptions};
use crate::weights::Precision;
use embedkit_core::{vector, EmbedError, Embedder, Similarity};
use std::sync::Arc;

/// Prefix of remote model specs.
pub const REMOTE_PREFIX: &str = "openai:";

/// A local or remote embedding model.
pub enum Model {
    /// Runs here. Shared, so a server can hand the model it serves to the vector store too.
    Local(Arc<SentenceEmbedder>),
    /// Runs behind an OpenAI-compatible API.
    Remote(OpenAiEmbedder),
}

impl Model {
    /// Loads `spec`: `openai:NAME` is remote, anything else a folder or hub id.
    pub fn load(spec: &str, remote: &RemoteOptions) -> Result<Self> {
        Self::load_with(spec, remote, Precision::Auto)
    }

    /// [`Model::load`], keeping a local model's weights in `precision` (a remote model has no
    /// weights here: it is ignored).
    pub fn load_with(spec: &str, remote: &RemoteOptions, precision: Precision) -> Result<Self> {
        match spec.strip_prefix(REMOTE_PREFIX) {
            Some(name) if !name.is_empty() => {
                Ok(Self::Remote(OpenAiEmbedder::from_options(name, remote)))
            }
            Some(_) => Err(Error::InvalidInput(
                "openai: needs a model name, e.g. openai:text-embedding-3-small".into(),
            )),
            None => Ok(Self::Local(Arc::new(SentenceEmbedder::load_with(
                spec, precision,
            )?))),
        }
    }

    /// The model's similarity function (remote APIs return unit vectors: cosine).
    pub fn similarity(&self) -> Similarity {
        match self {
            Self::Local(m) => m.similarity(),
            Self::Remote(_) => Similarity::Cosine,
        }
    }

    /// Embeds `texts` with `options`, calling `progress(n)` after each batch of `n` texts.
    pub fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        let remote = match self {
            Self::Local(m) => return m.embed_with_progress(texts, options, progress),
            Self::Remote(r) => r,
        };
        let prompt = match &options.prompt {
            Prompt::Default | Prompt::None => String::new(),
            Prompt::Text(t) => t.clone(),
            Prompt::Named(n) => {
                return Err(Error::InvalidInput(format!(
                    "remote models have no named prompts ({n:?}); give the text with --prompt"
                )))
            }
        };
        if options.dimensions == Some(0) || options.batch_size == 0 {
            return Err(Error::InvalidInput(
                "dimensions and batch size must be at least 1".into(),
            ));
        }
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(options.batch_size) {
            let prompted: Vec<String> = chunk.iter().map(|t| format!("{prompt}{t}")).collect();
            let refs: Vec<&str> = prompted.iter().map(String::as_str).collect();
            for mut v in remote.embed(&refs, options.dimensions)? {
                if options.normalize {
                    vector::normalize(&mut v);
                }
                out.push(v);
            }
            progress(chunk.len());
        }
        Ok(out)
    }
}

/// The model's prompt called `role` (`query`, `document`) when it defines one, else its
/// default prompt: what sentence-transformers' `encode_query` / `encode_document` use.
fn role_prompt(m: &SentenceEmbedder, role: &str) -> Prompt {
    let named = Prompt::Named(role.into());
    match m.prompt_text(&named) {
        Ok(_) => named,
        Err(_) => Prompt::Default,
    }
}

/// LangChain's shape: `embed_documents` for passages (the `document` prompt, if any),
/// `embed_query` for a question (the `query` prompt, e.g. BGE's or Qwen3's instruction).
impl Embedder for SentenceEmbedder {
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let options = EmbedOptions {
            prompt: role_prompt(self, "document"),
            ..Default::default()
        };
        self.embed(texts, &options).map_err(EmbedError::from_error)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let options = EmbedOptions {
            prompt: role_prompt(self, "query"),
            ..Default::default()
        };
        let mut v = self
            .embed(&[text], &options)
            .map_err(EmbedError::from_error)?;
        Ok(v.remove(0))
    }

    fn dimensions(&self) -> Option<usize> {
        Some(SentenceEmbedder::dimensions(self))
    }
}

impl Embedder for Model {
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        match self {
            Self::Local(m) => m.embed_documents(texts),
            Self::Remote(r) => r.embed(texts, None).map_err(EmbedError::from_error),
        }
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        match self {
            Self::Local(m) => m.embed_query(text),
            Self::Remote(_) => Ok(self.embed_documents(&[text])?.remove(0)),
        }
    }

    fn dimensions(&self) -> Option<usize> {
        match self {
            Self::Local(m) => Some(m.dimensions()),
            Self::Remote(_) => None,
        }
    }
}
