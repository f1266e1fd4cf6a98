//! Tokenization exactly as sentence-transformers feeds its Transformer module: `tokenizer.json`
//! with its embedded padding/truncation replaced by ST's (no padding here, because batches are
//! packed; right-side `longest_first` truncation to `max_seq_length`, special tokens counted).

use crate::error::{Error, Result};
use std::path::Path;
use tokenizers::{
    EncodeInput, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

/// Token ids of one text, ready for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Vocabulary ids, special tokens included.
    pub ids: Vec<u32>,
    /// Segment ids (all 0 for single texts).
    pub type_ids: Vec<u32>,
    /// Whether the text was cut to fit the model's maximum length.
    pub truncated: bool,
}

/// A `tokenizer.json` configured for one model folder.
pub struct TextTokenizer {
    inner: Tokenizer,
    lowercase: bool,
    max_length: usize,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` from `dir`, truncating to `max_length` tokens.
    pub fn load(dir: &Path, max_length: usize, lowercase: bool) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        if !path.is_file() {
            return Err(Error::MissingFile {
                path,
                why: "embedkit reads the fast-tokenizer file",
            });
        }
        let mut inner = Tokenizer::from_file(&path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Self {
            inner,
            lowercase,
            max_length,
        })
    }

    /// Token limit per text, special tokens included.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Tokenizes texts (in parallel), each prefixed with `prompt`.
    pub fn encode_batch(&self, texts: &[&str], prompt: &str) -> Result<Vec<Encoded>> {
        let inputs: Vec<EncodeInput> = texts
            .iter()
            .map(|t| {
                let s = format!("{prompt}{t}");
                EncodeInput::Single(if self.lowercase { s.to_lowercase() } else { s }.into())
            })
            .collect();
        let encodings = self
            .inner
            .encode_batch(inputs, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(encodings
            .into_iter()
            .map(|e| Encoded {
                ids: e.get_ids().to_vec(),
                type_ids: e.get_type_ids().to_vec(),
                truncated: !e.get_overflowing().is_empty(),
            })
            .collect())
    }

    /// How many leading tokens a prompt occupies, counted as sentence-transformers does:
    /// the tokenized prompt with special tokens, minus one (its closing special token).
    pub fn prompt_length(&self, prompt: &str) -> Result<usize> {
        if prompt.is_empty() {
            return Ok(0);
        }
        let enc = self.encode_batch(&[""], prompt)?;
        Ok(enc[0].ids.len().saturating_sub(1))
    }
}
