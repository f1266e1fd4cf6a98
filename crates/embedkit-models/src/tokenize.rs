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

/// How the end-of-sequence token that last-token pooling relies on gets appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EosHandling {
    /// The model needs none.
    NotNeeded,
    /// `tokenizer.json`'s post-processor appends it (the fixed Qwen3-Embedding tokenizer).
    PostProcessor(u32),
    /// The tokenizer lacks that post-processor; embedkit appends it after truncating one
    /// token shorter, so the result is the same.
    Appended(u32),
}

/// A `tokenizer.json` configured for one model folder.
pub struct TextTokenizer {
    inner: Tokenizer,
    lowercase: bool,
    max_length: usize,
    eos: EosHandling,
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
        let mut tokenizer = Self {
            inner,
            lowercase,
            max_length,
            eos: EosHandling::NotNeeded,
        };
        tokenizer.set_max_length(max_length)?;
        Ok(tokenizer)
    }

    /// Changes the token limit (special tokens included), like assigning
    /// `SentenceTransformer.max_seq_length`.
    pub fn set_max_length(&mut self, max_length: usize) -> Result<()> {
        if max_length < 2 {
            return Err(Error::InvalidInput(format!(
                "max length must be at least 2 tokens, got {max_length}"
            )));
        }
        // When embedkit appends the EOS itself, the tokenizer must stop one token earlier.
        let reserved = usize::from(matches!(self.eos, EosHandling::Appended(_)));
        self.inner
            .with_truncation(Some(TruncationParams {
                max_length: max_length - reserved,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        self.max_length = max_length;
        Ok(())
    }

    /// Makes every encoding end with `eos`, through the post-processor if it already does so,
    /// else by appending it here.
    pub fn require_eos(&mut self, eos: u32) -> Result<EosHandling> {
        let probe = self.encode_batch(&["a"], "")?;
        if probe[0].ids.last() == Some(&eos) {
            self.eos = EosHandling::PostProcessor(eos);
        } else {
            self.eos = EosHandling::Appended(eos);
            self.set_max_length(self.max_length)?;
        }
        Ok(self.eos)
    }

    /// How the end-of-sequence token is handled.
    pub fn eos(&self) -> EosHandling {
        self.eos
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
        // One text (a search query) is encoded on this thread: `encode_batch` hands even a
        // single input to rayon's pool, and waking a pool thread costs more than encoding it.
        // The `_fast` variants skip the tokens' byte offsets, which nothing here reads (~20%
        // of the tokenizer's time on a 30-token sentence).
        let encodings = match <[EncodeInput; 1]>::try_from(inputs) {
            Ok([input]) => self.inner.encode_fast(input, true).map(|e| vec![e]),
            Err(inputs) => self.inner.encode_batch_fast(inputs, true),
        }
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(encodings
            .into_iter()
            .map(|e| {
                let mut enc = Encoded {
                    ids: e.get_ids().to_vec(),
                    type_ids: e.get_type_ids().to_vec(),
                    truncated: !e.get_overflowing().is_empty(),
                };
                if let EosHandling::Appended(eos) = self.eos {
                    enc.ids.push(eos);
                    enc.type_ids.push(0);
                }
                enc
            })
            .collect())
    }

    /// Tokenizes (query, document) pairs (in parallel) as one input each, the way
    /// cross-encoders read them: `[CLS] query [SEP] document [SEP]` for BERT, `<s> query
    /// </s></s> document </s>` for RoBERTa, with segment ids, truncated `longest_first` to the
    /// token limit (the longer text loses tokens first), as transformers' tokenizers do.
    pub fn encode_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<Encoded>> {
        let case = |t: &str| {
            if self.lowercase {
                t.to_lowercase()
            } else {
                t.to_string()
            }
        };
        let inputs: Vec<EncodeInput> = pairs
            .iter()
            .map(|(a, b)| EncodeInput::Dual(case(a).into(), case(b).into()))
            .collect();
        let encodings = self
            .inner
            .encode_batch_fast(inputs, true)
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
