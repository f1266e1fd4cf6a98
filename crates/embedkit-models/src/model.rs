//! One type for every model spec the tools accept: a local folder or hub id
//! ([`SentenceEmbedder`]), `infersent:DIR` for an InferSent encoder ([`InferSent`]), or
//! `openai:NAME` for a remote OpenAI-compatible API.

use crate::embedder::SentenceEmbedder;
use crate::error::{Error, Result};
use crate::infersent::{self, InferSent};
use crate::remote::{OpenAiEmbedder, RemoteOptions};
use crate::weights::Precision;
use embedkit_core::{
    vector, EmbedError, EmbedErrorKind, EmbedOptions, Embedder, Prompt, Prompts, Similarity,
};
use std::sync::Arc;

/// Prefix of remote model specs.
pub const REMOTE_PREFIX: &str = "openai:";

/// A local or remote embedding model.
pub enum Model {
    /// Runs here. Shared, so a server can hand the model it serves to the vector store too.
    Local(Arc<SentenceEmbedder>),
    /// Runs behind an OpenAI-compatible API.
    Remote(OpenAiEmbedder),
    /// An InferSent BiLSTM over word vectors, run here.
    InferSent(Arc<InferSent>),
}

impl Model {
    /// Loads `spec`: `openai:NAME` is remote, `infersent:DIR` an InferSent folder, anything
    /// else a folder or hub id.
    pub fn load(spec: &str, remote: &RemoteOptions) -> Result<Self> {
        Self::load_with(spec, remote, Precision::Auto)
    }

    /// [`Model::load`], keeping a local model's weights in `precision` (a remote model has no
    /// weights here, and InferSent keeps f32: it is ignored for both).
    pub fn load_with(spec: &str, remote: &RemoteOptions, precision: Precision) -> Result<Self> {
        if let Some(dir) = spec.strip_prefix(infersent::PREFIX) {
            if dir.is_empty() {
                return Err(Error::InvalidInput(
                    "infersent: needs a folder, e.g. infersent:models/infersent2".into(),
                ));
            }
            return Ok(Self::InferSent(Arc::new(InferSent::load(
                std::path::Path::new(dir),
            )?)));
        }
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
            Self::Remote(_) | Self::InferSent(_) => Similarity::Cosine,
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
            Self::InferSent(m) => return m.embed_with_progress(texts, options, progress),
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

impl From<Error> for EmbedError {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::InvalidInput(_) => EmbedErrorKind::InvalidInput,
            Error::Stopped => EmbedErrorKind::Stopped,
            // Non-finite outputs, like every other failure past the input, are the model's.
            _ => EmbedErrorKind::Model,
        };
        EmbedError::with_kind(kind, e)
    }
}

/// A local model through the seam: its prompts, its tokenizer's counts, the whole pipeline.
impl Embedder for SentenceEmbedder {
    fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(SentenceEmbedder::embed_with_progress(
            self, texts, options, progress,
        )?)
    }

    fn dimensions(&self) -> Option<usize> {
        Some(SentenceEmbedder::dimensions(self))
    }

    fn similarity(&self) -> Similarity {
        SentenceEmbedder::similarity(self)
    }

    fn normalizes(&self) -> bool {
        SentenceEmbedder::normalizes(self)
    }

    fn prompts(&self) -> Prompts {
        SentenceEmbedder::prompts(self).clone()
    }

    fn max_input_tokens(&self) -> Result<usize, EmbedError> {
        Ok(self.max_seq_length() - self.special_tokens()?)
    }

    fn count_tokens(&self, pieces: &[&str]) -> Result<Vec<usize>, EmbedError> {
        let special = self.special_tokens()?;
        Ok(self
            .tokenize(pieces, &Prompt::None)?
            .iter()
            .map(|e| {
                if e.truncated {
                    self.max_seq_length() + 1
                } else {
                    e.ids.len() - special
                }
            })
            .collect())
    }
}

impl SentenceEmbedder {
    /// Special tokens the tokenizer adds to every input ([CLS] and [SEP], an end token...).
    fn special_tokens(&self) -> Result<usize> {
        Ok(self.tokenize(&[""], &Prompt::None)?[0].ids.len())
    }
}

impl Embedder for Model {
    fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(Model::embed_with_progress(self, texts, options, progress)?)
    }

    fn dimensions(&self) -> Option<usize> {
        match self {
            Self::Local(m) => Some(m.dimensions()),
            Self::InferSent(m) => Some(m.dimensions()),
            Self::Remote(_) => None,
        }
    }

    fn similarity(&self) -> Similarity {
        Model::similarity(self)
    }

    fn normalizes(&self) -> bool {
        match self {
            Self::Local(m) => Embedder::normalizes(m.as_ref()),
            // OpenAI-compatible APIs return unit vectors.
            Self::Remote(_) => true,
            Self::InferSent(m) => Embedder::normalizes(m.as_ref()),
        }
    }

    fn prompts(&self) -> Prompts {
        match self {
            Self::Local(m) => m.prompts().clone(),
            Self::Remote(_) | Self::InferSent(_) => Prompts::default(),
        }
    }

    fn max_input_tokens(&self) -> Result<usize, EmbedError> {
        match self {
            Self::Local(m) => Embedder::max_input_tokens(m.as_ref()),
            Self::InferSent(m) => Embedder::max_input_tokens(m.as_ref()),
            // Remote APIs take thousands of tokens; chunks that size retrieve poorly anyway.
            Self::Remote(_) => Ok(8192),
        }
    }

    fn count_tokens(&self, pieces: &[&str]) -> Result<Vec<usize>, EmbedError> {
        match self {
            Self::Local(m) => Embedder::count_tokens(m.as_ref(), pieces),
            Self::InferSent(m) => Embedder::count_tokens(m.as_ref(), pieces),
            // No tokenizer for remote models: about 4/3 tokens per word, as for English BPE.
            Self::Remote(_) => Ok(pieces
                .iter()
                .map(|p| (p.split_whitespace().count() * 4).div_ceil(3))
                .collect()),
        }
    }
}
