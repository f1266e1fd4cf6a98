//! The sentence-embedding pipeline: prompt → tokenize → length-sorted packed batches →
//! transformer → pooling → Dense → Normalize → Matryoshka dimensions, results in input order.

use crate::arch::{self, Encoder, PackedBatch};
use crate::dense::Dense;
use crate::error::{Error, Result};
use crate::folder::ModelFolder;
use crate::hub;
use crate::pooling::Pooling;
use crate::static_embedding::StaticEmbedding;
use crate::tokenize::{Encoded, EosHandling, TextTokenizer};
use crate::weights::Precision;
use embedkit_core::{vector, EmbedOptions, Prompt, Prompts, Similarity};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

/// A loaded sentence-embedding model.
pub struct SentenceEmbedder {
    folder: ModelFolder,
    tokenizer: TextTokenizer,
    encoder: Box<dyn Encoder>,
    dense: Vec<Dense>,
    prompts: Prompts,
    /// A static model's table (also in `encoder`), for its fast path.
    static_table: Option<Arc<StaticEmbedding>>,
}

/// What `embedkit info` shows about a model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    /// Folder the model was loaded from.
    pub path: String,
    /// `model_type` of the transformer.
    pub architecture: String,
    /// Width of the transformer's token vectors.
    pub hidden_size: usize,
    /// Width of the final embedding.
    pub dimensions: usize,
    /// Token limit per input.
    pub max_seq_length: usize,
    /// Pooling modes, concatenated.
    pub pooling: Vec<&'static str>,
    /// Whether prompt tokens are pooled.
    pub include_prompt: bool,
    /// Dense layers after pooling.
    pub dense_layers: usize,
    /// Whether the output is L2-normalized.
    pub normalize: bool,
    /// Named prompts.
    pub prompts: std::collections::BTreeMap<String, String>,
    /// Prompt used when none is named.
    pub default_prompt_name: Option<String>,
    /// Similarity function.
    pub similarity: String,
    /// Padding side the tokenizer config asks for.
    pub padding_side: String,
    /// How the end-of-sequence token is appended, for last-token models.
    pub eos: Option<String>,
    /// Memory held by the transformer's weights, in bytes.
    pub weight_bytes: usize,
    /// Defaults that were guessed.
    pub notes: Vec<String>,
}

impl SentenceEmbedder {
    /// Loads a model from a local folder or a hub id (`org/name`, downloaded into the
    /// Hugging Face cache; see [`hub`]).
    pub fn load(spec: &str) -> Result<Self> {
        Self::load_with(spec, Precision::Auto)
    }

    /// [`SentenceEmbedder::load`], keeping the weights in `precision`.
    pub fn load_with(spec: &str, precision: Precision) -> Result<Self> {
        let dir = hub::resolve(spec)?;
        Self::from_folder_with(&dir, precision)
    }

    /// Loads a model from a local folder.
    pub fn from_folder(dir: &Path) -> Result<Self> {
        Self::from_folder_with(dir, Precision::Auto)
    }

    /// [`SentenceEmbedder::from_folder`], keeping the weights in `precision`.
    pub fn from_folder_with(dir: &Path, precision: Precision) -> Result<Self> {
        let folder = ModelFolder::read(dir)?;
        let mut folder = folder;
        let (mut tokenizer, encoder, static_table): (_, Box<dyn Encoder>, _) =
            if folder.static_embedding {
                let tokenizer =
                    TextTokenizer::load_static(&folder.transformer_dir, folder.max_seq_length)?;
                let table = Arc::new(StaticEmbedding::load(
                    &folder.transformer_dir.join("model.safetensors"),
                    tokenizer.vocab_size(),
                )?);
                if folder.pooling.dimension == 0 {
                    // No Pooling module and no hidden size in a config: the table's width.
                    folder.pooling.dimension = table.hidden_size();
                }
                (tokenizer, Box::new(table.clone()), Some(table))
            } else {
                let tokenizer = TextTokenizer::load(
                    &folder.transformer_dir,
                    folder.max_seq_length,
                    folder.do_lower_case,
                )?;
                (tokenizer, arch::load(&folder, precision)?, None)
            };
        if let Some(eos) = encoder.required_eos() {
            if let EosHandling::Appended(id) = tokenizer.require_eos(eos)? {
                folder.notes.push(format!(
                    "tokenizer.json does not append the end-of-sequence token {id}: embedkit appends it, as Qwen3-Embedding's fixed tokenizer does"
                ));
            }
        }
        if folder.pooling.dimension != encoder.hidden_size() {
            return Err(Error::config(
                folder.root.join("1_Pooling/config.json"),
                format!(
                    "pooling dimension {} differs from the model's hidden size {}",
                    folder.pooling.dimension,
                    encoder.hidden_size()
                ),
            ));
        }
        let dense = folder
            .dense_dirs
            .iter()
            .map(|d| Dense::load(d))
            .collect::<Result<Vec<_>>>()?;
        for note in &folder.notes {
            tracing::warn!("{}: {note}", dir.display());
        }
        let prompts = Prompts {
            named: folder.prompts.clone(),
            default_name: folder.default_prompt_name.clone(),
        };
        Ok(Self {
            folder,
            tokenizer,
            encoder,
            dense,
            prompts,
            static_table,
        })
    }

    /// Width of the embeddings (before any `dimensions` truncation).
    pub fn dimensions(&self) -> usize {
        self.dense
            .last()
            .map_or(self.folder.pooling.output_dimension(), Dense::out_features)
    }

    /// Whether the model's own Normalize module makes every vector unit-length.
    pub fn normalizes(&self) -> bool {
        self.folder.normalize
    }

    /// The model's similarity function.
    pub fn similarity(&self) -> Similarity {
        self.folder.similarity
    }

    /// Token limit per input.
    pub fn max_seq_length(&self) -> usize {
        self.tokenizer.max_length()
    }

    /// Changes the token limit per input (as `model.max_seq_length = n` in
    /// sentence-transformers). Models with learned position tables cannot go beyond them.
    pub fn set_max_seq_length(&mut self, n: usize) -> Result<()> {
        if let Some(limit) = self.encoder.max_positions() {
            if n > limit {
                return Err(Error::InvalidInput(format!(
                    "max length {n} is beyond this model's {limit} positions"
                )));
            }
        }
        self.tokenizer.set_max_length(n)
    }

    /// The pooling module.
    pub fn pooling(&self) -> &Pooling {
        &self.folder.pooling
    }

    /// Description of the loaded model.
    pub fn info(&self) -> ModelInfo {
        let f = &self.folder;
        ModelInfo {
            path: f.root.display().to_string(),
            architecture: self.encoder.model_type().to_string(),
            hidden_size: self.encoder.hidden_size(),
            dimensions: self.dimensions(),
            max_seq_length: self.max_seq_length(),
            pooling: f.pooling.modes.iter().map(|m| m.name()).collect(),
            include_prompt: f.pooling.include_prompt,
            dense_layers: self.dense.len(),
            normalize: f.normalize,
            prompts: f.prompts.clone(),
            default_prompt_name: f.default_prompt_name.clone(),
            similarity: f.similarity.to_string(),
            padding_side: f.padding_side.clone(),
            eos: match self.tokenizer.eos() {
                EosHandling::NotNeeded => None,
                EosHandling::PostProcessor(id) => Some(format!(
                    "token {id} appended by the tokenizer's post-processor"
                )),
                EosHandling::Appended(id) => Some(format!("token {id} appended by embedkit")),
            },
            weight_bytes: self.encoder.weight_bytes(),
            notes: f.notes.clone(),
        }
    }

    /// The model's named prompts and default prompt.
    pub fn prompts(&self) -> &Prompts {
        &self.prompts
    }

    /// The prompt text that `prompt` stands for (see [`Prompts::text`]).
    pub fn prompt_text(&self, prompt: &Prompt) -> Result<String> {
        self.prompts
            .text(prompt)
            .map_err(|e| Error::InvalidInput(e.message))
    }

    /// The token ids the model sees for each text (prompt, special tokens, truncation).
    pub fn tokenize(&self, texts: &[&str], prompt: &Prompt) -> Result<Vec<Encoded>> {
        self.tokenizer
            .encode_batch(texts, &self.prompt_text(prompt)?)
    }

    /// Embeds `texts`; rows come back in input order.
    pub fn embed(&self, texts: &[&str], options: &EmbedOptions) -> Result<Vec<Vec<f32>>> {
        self.embed_with_progress(texts, options, |_| {})
    }

    /// Like [`embed`](Self::embed), calling `progress(n)` after each batch of `n` texts.
    pub fn embed_with_progress(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>> {
        self.embed_until(texts, options, |n| {
            progress(n);
            ControlFlow::Continue(())
        })
    }

    /// Like [`embed_with_progress`](Self::embed_with_progress), but `progress` may stop the
    /// work after any batch (a Ctrl-C seen by a caller that keeps the model running outside
    /// its interpreter lock): the call then ends with [`Error::Stopped`].
    pub fn embed_until(
        &self,
        texts: &[&str],
        options: &EmbedOptions,
        mut progress: impl FnMut(usize) -> ControlFlow<()>,
    ) -> Result<Vec<Vec<f32>>> {
        self.check_dimensions(options.dimensions)?;
        if options.batch_size == 0 {
            return Err(Error::InvalidInput("batch size must be at least 1".into()));
        }
        let prepared = self.prepare(texts, &options.prompt)?;
        if let Some(table) = &self.static_table {
            return self.embed_static(table, &prepared, options, progress);
        }
        let encoded = &prepared.inputs;

        // Longest first, like sentence-transformers, so each batch holds similar lengths.
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].ids.len()));

        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(options.batch_size) {
            let batch: Vec<Sequence> = chunk
                .iter()
                .map(|&i| Sequence {
                    encoded: &encoded[i],
                    prompt_tokens: prepared.prompt_tokens,
                })
                .collect();
            let vectors = self.forward(&batch)?;
            for (v, &i) in vectors.into_iter().zip(chunk) {
                out[i] = self.finish(v, options.dimensions, options.normalize)?;
            }
            if progress(chunk.len()).is_break() {
                return Err(Error::Stopped);
            }
        }
        Ok(out)
    }

    /// A static model's [`embed_until`](Self::embed_until): each text's mean row, in
    /// parallel, without the packed token rows of a transformer batch (the same bits).
    fn embed_static(
        &self,
        table: &StaticEmbedding,
        prepared: &Prepared,
        options: &EmbedOptions,
        mut progress: impl FnMut(usize) -> ControlFlow<()>,
    ) -> Result<Vec<Vec<f32>>> {
        use rayon::prelude::*;
        let mut out = Vec::with_capacity(prepared.inputs.len());
        // No forward pass to size: the batch only paces progress, and chunks big enough to
        // share among the threads keep their start-up cost small.
        for chunk in prepared.inputs.chunks(options.batch_size.max(1024)) {
            let vectors = chunk
                .par_iter()
                .with_min_len(64)
                .map(|e| {
                    let mut v = table.mean(&e.ids)?;
                    for d in &self.dense {
                        v = d.forward(&v)?;
                    }
                    if self.folder.normalize {
                        vector::normalize(&mut v);
                    }
                    self.finish(v, options.dimensions, options.normalize)
                })
                .collect::<Result<Vec<_>>>()?;
            out.extend(vectors);
            if progress(chunk.len()).is_break() {
                return Err(Error::Stopped);
            }
        }
        Ok(out)
    }

    /// Fails unless `dimensions` (if given) is between 1 and the model's width.
    pub fn check_dimensions(&self, dimensions: Option<usize>) -> Result<()> {
        let full = self.dimensions();
        match dimensions {
            Some(d) if d == 0 || d > full => Err(Error::InvalidInput(format!(
                "dimensions must be between 1 and {full} for this model, got {d}"
            ))),
            _ => Ok(()),
        }
    }

    /// Tokenizes texts with a prompt: the first step of [`embed`](Self::embed), exposed so a
    /// server can tokenize off its request threads and batch many requests together.
    pub fn prepare(&self, texts: &[&str], prompt: &Prompt) -> Result<Prepared> {
        let prompt = self.prompt_text(prompt)?;
        let inputs = self.tokenizer.encode_batch(texts, &prompt)?;
        // A transformer pools over at least one token, and a tokenizer.json whose
        // post-processor adds no special tokens gives an empty text none. (A static model
        // gives such a text a zero vector.)
        if self.static_table.is_none() && inputs.iter().any(|e| e.ids.is_empty()) {
            return Err(Error::Tokenizer(
                "tokenizer.json gives no tokens for a text (its post-processor adds no special \
                 tokens), and the model needs at least one"
                    .into(),
            ));
        }
        Ok(Prepared {
            prompt_tokens: self.tokenizer.prompt_length(&prompt)?,
            inputs,
        })
    }

    /// One forward pass over `batch` (packed, no padding), then pooling and the model's own
    /// Dense / Normalize modules. Returns one vector per sequence, in order.
    pub fn forward(&self, batch: &[Sequence<'_>]) -> Result<Vec<Vec<f32>>> {
        let mut packed = PackedBatch::default();
        for s in batch {
            packed.push(&s.encoded.ids, &s.encoded.type_ids);
        }
        let hidden = self.encoder.forward(&packed)?;
        batch
            .iter()
            .zip(&packed.sequences)
            .map(|(s, rows)| {
                let mut v = self
                    .folder
                    .pooling
                    .pool(&hidden, rows.clone(), s.prompt_tokens);
                for d in &self.dense {
                    v = d.forward(&v)?;
                }
                if self.folder.normalize {
                    vector::normalize(&mut v);
                }
                Ok(v)
            })
            .collect()
    }

    /// The mean of the transformer's token vectors over every position of each sequence
    /// (special tokens included), before any pooling module: how static-model distillation
    /// embeds each vocabulary token (see [`crate::distill`]).
    pub fn mean_token_states(&self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let mut packed = PackedBatch::default();
        for ids in sequences {
            packed.push(ids, &vec![0; ids.len()]);
        }
        let hidden = self.encoder.forward(&packed)?;
        let mean = Pooling {
            modes: vec![crate::pooling::PoolingMode::Mean],
            dimension: self.encoder.hidden_size(),
            include_prompt: true,
        };
        Ok(packed
            .sequences
            .iter()
            .map(|rows| mean.pool(&hidden, rows.clone(), 0))
            .collect())
    }

    /// The folder the model was read from.
    pub(crate) fn folder(&self) -> &ModelFolder {
        &self.folder
    }

    /// The model's tokenizer.
    pub(crate) fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Per-request finishing of a [`forward`](Self::forward) output: optional normalization,
    /// then Matryoshka `dimensions`. A non-finite value anywhere in the model's output is
    /// [`Error::NonFinite`], even one that `dimensions` would cut off: the model is broken
    /// either way, and a vector must never reach a caller as NaN (JSON `null`).
    pub fn finish(
        &self,
        mut v: Vec<f32>,
        dimensions: Option<usize>,
        normalize: bool,
    ) -> Result<Vec<f32>> {
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite);
        }
        if normalize {
            vector::normalize(&mut v);
        }
        if let Some(d) = dimensions {
            vector::truncate_and_normalize(&mut v, d);
        }
        Ok(v)
    }
}

/// Texts tokenized for one model with one prompt.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// One entry per text.
    pub inputs: Vec<Encoded>,
    /// Leading prompt tokens of every input (for pooling that excludes the prompt).
    pub prompt_tokens: usize,
}

/// One sequence of a forward pass.
#[derive(Debug, Clone, Copy)]
pub struct Sequence<'a> {
    /// Its tokens.
    pub encoded: &'a Encoded,
    /// How many leading tokens are the prompt.
    pub prompt_tokens: usize,
}
