//! Tokenization exactly as sentence-transformers feeds its Transformer module: `tokenizer.json`
//! with its embedded padding/truncation replaced by ST's (no padding here, because batches are
//! packed; right-side `longest_first` truncation to `max_seq_length`, special tokens counted).

use crate::error::{Error, Result};
use crate::fast_wordpiece::FastWordPiece;
use std::path::Path;
use tokenizers::{
    EncodeInput, PostProcessor, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
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
    /// `None` for transformers (special tokens added); for static models, how their texts
    /// are read.
    static_rules: Option<StaticRules>,
}

/// How Model2Vec tokenizes for a static model: no special tokens, texts first cut to
/// `max_length × median token length` characters (a cheap bound on the work for very long
/// texts), unknown tokens dropped after truncation.
struct StaticRules {
    unk: Option<u32>,
    median_token_chars: usize,
    /// The ASCII fast path, for BERT tokenizers.
    fast: Option<FastWordPiece>,
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
        // The `tokenizers` crate panics instead of failing on some malformed files (0.22
        // `expect`s its decoder's untagged deserialization to succeed, so a decoder nested
        // past serde_json's recursion limit panics): a damaged file must be an error here.
        let mut inner = std::panic::catch_unwind(|| Tokenizer::from_file(&path))
            .map_err(|_| {
                Error::Tokenizer(format!(
                    "{}: the tokenizers library could not parse this file",
                    path.display()
                ))
            })?
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        inner.with_padding(None);
        // It also panics when encoding with a post-processor template that names a special
        // token the file does not define (0.22 checks that only for templates built in
        // code). The template is the same for every text: one text and one pair encoded
        // here make such a file an error when it loads, not a panic at its first request.
        let probe = std::panic::AssertUnwindSafe(|| {
            let _ = inner.encode_fast("a", true);
            let _ = inner.encode_fast(("a", "b"), true);
        });
        if std::panic::catch_unwind(probe).is_err() {
            return Err(Error::Tokenizer(format!(
                "{}: the tokenizers library cannot encode with this file's post-processor",
                path.display()
            )));
        }
        let mut tokenizer = Self {
            inner,
            lowercase,
            max_length,
            eos: EosHandling::NotNeeded,
            static_rules: None,
        };
        tokenizer.set_max_length(max_length)?;
        Ok(tokenizer)
    }

    /// Loads `tokenizer.json` from `dir` for a static model (see [`StaticRules`]).
    pub fn load_static(dir: &Path, max_length: usize) -> Result<Self> {
        let mut tokenizer = Self::load(dir, max_length, false)?;
        // The unknown token as Model2Vec finds it: the model's `unk_token` (WordPiece, BPE,
        // WordLevel) or `unk_id` (Unigram).
        let model = serde_json::to_value(tokenizer.inner.get_model())
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let unk = match model.get("unk_token").and_then(serde_json::Value::as_str) {
            Some(token) => tokenizer.inner.token_to_id(token),
            None => model
                .get("unk_id")
                .and_then(serde_json::Value::as_u64)
                .and_then(|id| u32::try_from(id).ok()),
        };
        let mut lengths: Vec<usize> = tokenizer
            .inner
            .get_vocab(true)
            .keys()
            .map(|t| t.chars().count())
            .collect();
        lengths.sort_unstable();
        // NumPy's median (the mean of the two middle values of an even count), then int().
        let n = lengths.len();
        let median_token_chars = match n {
            0 => 1,
            _ if n % 2 == 1 => lengths[n / 2],
            _ => (lengths[n / 2 - 1] + lengths[n / 2]) / 2,
        };
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("tokenizer.json"))
                .map_err(|e| Error::io(dir.join("tokenizer.json"), e))?,
        )
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
        tokenizer.static_rules = Some(StaticRules {
            unk,
            median_token_chars,
            fast: FastWordPiece::from_json(&json),
        });
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
        // `tokenizers` subtracts these from the limit unchecked (an overflow panic).
        let added = self.added_tokens(false);
        if added + reserved > max_length {
            return Err(Error::Tokenizer(format!(
                "the post-processor of tokenizer.json adds {added} special tokens to a text, \
                 more than the limit of {max_length} tokens"
            )));
        }
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

    /// One token as the model sees it alone: with the special tokens the tokenizer's
    /// post-processor puts around a text (`[CLS] id [SEP]` for BERT).
    pub fn wrap_single(&self, id: u32) -> Result<Vec<u32>> {
        let token = self.inner.id_to_token(id).unwrap_or_default();
        let alone =
            tokenizers::Encoding::from_tokens(vec![tokenizers::Token::new(id, token, (0, 0))], 0);
        let wrapped = self
            .inner
            .post_process(alone, None, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(wrapped.get_ids().to_vec())
    }

    /// Special tokens the post-processor puts around a text, or around a pair of texts.
    fn added_tokens(&self, pair: bool) -> usize {
        self.inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(pair))
    }

    /// `text` through the tokenizer's normalizer only (lowercasing, accents...).
    pub fn normalize(&self, text: &str) -> Result<String> {
        use tokenizers::Normalizer;
        let mut normalized = tokenizers::NormalizedString::from(text);
        if let Some(n) = self.inner.get_normalizer() {
            n.normalize(&mut normalized)
                .map_err(|e| Error::Tokenizer(e.to_string()))?;
        }
        Ok(normalized.get().to_string())
    }

    /// The words the tokenizer's normalizer and pre-tokenizer make of `text`, before the
    /// model splits them into pieces.
    pub fn pre_tokenize(&self, text: &str) -> Result<Vec<String>> {
        use tokenizers::PreTokenizer;
        let mut pre = tokenizers::PreTokenizedString::from(self.normalize(text)?);
        if let Some(p) = self.inner.get_pre_tokenizer() {
            p.pre_tokenize(&mut pre)
                .map_err(|e| Error::Tokenizer(e.to_string()))?;
        }
        Ok(pre
            .get_splits(
                tokenizers::OffsetReferential::Original,
                tokenizers::OffsetType::Byte,
            )
            .into_iter()
            .map(|(piece, _, _)| piece.to_string())
            .collect())
    }

    /// Every token of the vocabulary, added tokens included.
    pub fn vocabulary(&self) -> Vec<String> {
        self.inner.get_vocab(true).into_keys().collect()
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Tokenizes texts (in parallel), each prefixed with `prompt`.
    pub fn encode_batch(&self, texts: &[&str], prompt: &str) -> Result<Vec<Encoded>> {
        if let Some(rules) = &self.static_rules {
            return self.encode_static(texts, prompt, rules);
        }
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

    /// [`encode_batch`](Self::encode_batch) for a static model ([`StaticRules`]): ASCII texts
    /// of a BERT tokenizer through [`FastWordPiece`], the rest through `tokenizers`.
    fn encode_static(
        &self,
        texts: &[&str],
        prompt: &str,
        rules: &StaticRules,
    ) -> Result<Vec<Encoded>> {
        use rayon::prelude::*;
        let char_limit = self.max_length.saturating_mul(rules.median_token_chars);
        let one = |text: &&str| -> Result<Encoded> {
            let joined;
            let mut s: &str = if prompt.is_empty() {
                text
            } else {
                joined = format!("{prompt}{text}");
                &joined
            };
            if let Some((cut, _)) = s.char_indices().nth(char_limit) {
                s = &s[..cut];
            }
            let mut ids = Vec::with_capacity(s.len() / 3);
            let mut truncated = false;
            if rules.fast.as_ref().is_some_and(|f| f.encode(s, &mut ids)) {
                // `tokenizers` truncates before the unknown tokens are dropped.
                truncated = ids.len() > self.max_length;
                ids.truncate(self.max_length);
            } else {
                let e = self
                    .inner
                    .encode_fast(s, false)
                    .map_err(|e| Error::Tokenizer(e.to_string()))?;
                ids.extend_from_slice(e.get_ids());
                truncated |= !e.get_overflowing().is_empty();
            }
            if let Some(unk) = rules.unk {
                ids.retain(|&id| id != unk);
            }
            Ok(Encoded {
                type_ids: vec![0; ids.len()],
                ids,
                truncated,
            })
        };
        if texts.len() == 1 {
            return Ok(vec![one(&texts[0])?]);
        }
        texts.par_iter().with_min_len(64).map(one).collect()
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
        // `tokenizers` subtracts these from the limit unchecked (an overflow panic).
        let added = self.added_tokens(true);
        if added > self.max_length {
            return Err(Error::Tokenizer(format!(
                "the post-processor of tokenizer.json adds {added} special tokens to a pair, \
                 more than the limit of {} tokens",
                self.max_length
            )));
        }
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
        // Less the end token a transformer's tokenizer appends (a static model's adds none).
        let end_token = usize::from(self.static_rules.is_none());
        Ok(enc[0].ids.len().saturating_sub(end_token))
    }
}
